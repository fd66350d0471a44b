/**
 * Picks an LRP rule and its parameters for one layer, as the text the engine and CLI read
 * (`epsilon:0.25`, `alpha-beta:2,1`, `z-box:-1,1`, `deep-taylor:origin`).
 */
import * as vscode from 'vscode';
import { checkAlphaBeta, DEFAULT_RULE_PARAMS, DEFAULT_SIGN_MU, parseRule, type RuleName } from '../../shared/ruleSpec';
import type { RuleParamValues } from '../../shared/protocol';

// Partial: a rule the engine adds later still shows up, just without a description.
const RULE_HELP: Partial<Record<RuleName, string>> = {
  'lrp-0': 'z-rule, no stabilizer (conservative, noisy)',
  epsilon: 'ε-stabilized denominator (absorbs weak / contradictory relevance)',
  gamma: 'favours positive contributions by γ·w⁺',
  'alpha-beta': 'positive and negative parts weighted α and β (α − β = 1)',
  'z-plus': 'positive contributions only (DTD for ReLU nets)',
  flat: 'spreads relevance evenly over the receptive field',
  'w-square': 'by squared weights (DTD nearest root, unbounded inputs)',
  'z-box': 'z^B for the first layer with bounded inputs',
  sign: 'SIGN-μ for the first layer: input factor ±1 by a threshold μ, so dark pixels count too',
  'deep-taylor': 'Deep Taylor with a chosen root point',
  pass: 'passes relevance through unchanged',
  'norm-identity': 'LayerNorm with σ held constant, ε-rule on the rest (AttnLRP, CP-LRP)',
  'softmax-taylor': 'attention softmax by its Taylor expansion (AttnLRP)',
  'held-constant': 'attention weights held constant: no relevance through them (CP-LRP)',
  'bilinear-uniform': 'product of two activations: half of each term to each factor (AttnLRP)',
  'bilinear-value': 'attention weights held constant: all relevance to the values (CP-LRP)',
};

function numberValidator(v: string): string | undefined {
  return v.trim() !== '' && Number.isFinite(Number(v)) ? undefined : vscode.l10n.t('Enter a number');
}

async function askNumber(prompt: string, value: number | undefined, allowEmpty = false): Promise<string | undefined> {
  return vscode.window.showInputBox({
    prompt, value: value === undefined ? '' : String(value),
    validateInput: (v) => (allowEmpty && v.trim() === '' ? undefined : numberValidator(v)),
  });
}

/** Returns the rule text, '' to reset to the composite's rule, or undefined when dismissed. */
export async function pickRule(layer: string, currentRule: string, params: RuleParamValues, rules: readonly RuleName[]): Promise<string | undefined> {
  const reset = vscode.l10n.t('Use the composite’s rule');
  const items: (vscode.QuickPickItem & { rule?: RuleName })[] = [
    ...rules.map((r) => ({ label: r, rule: r, description: currentRule.split(':')[0] === r ? vscode.l10n.t('current') : undefined, detail: RULE_HELP[r] ? vscode.l10n.t(RULE_HELP[r]) : undefined })),
    { label: reset, kind: vscode.QuickPickItemKind.Default },
  ];
  const pick = await vscode.window.showQuickPick(items, { title: vscode.l10n.t('Rule for layer {0}', layer) });
  if (!pick) return undefined;
  if (!pick.rule) return '';
  let text: string;
  switch (pick.rule) {
    case 'epsilon': {
      const e = await askNumber(vscode.l10n.t('ε for {0}', layer), params.epsilon ?? DEFAULT_RULE_PARAMS.epsilon);
      if (e === undefined) return undefined;
      text = `epsilon:${Number(e)}`;
      break;
    }
    case 'gamma': {
      const g = await askNumber(vscode.l10n.t('γ for {0}', layer), params.gamma ?? DEFAULT_RULE_PARAMS.gamma);
      if (g === undefined) return undefined;
      text = `gamma:${Number(g)}`;
      break;
    }
    case 'alpha-beta': {
      const a = await vscode.window.showInputBox({
        prompt: vscode.l10n.t('α for {0} (β = α − 1)', layer), value: String(params.alpha ?? DEFAULT_RULE_PARAMS.alpha),
        validateInput: (v) => numberValidator(v) ?? (Number(v) >= 1 ? undefined : vscode.l10n.t('α must be at least 1')),
      });
      if (a === undefined) return undefined;
      checkAlphaBeta(Number(a), Number(a) - 1);
      text = `alpha-beta:${Number(a)},${Number(a) - 1}`;
      break;
    }
    case 'z-plus': {
      const b = await vscode.window.showQuickPick([{ label: 'bias', description: vscode.l10n.t('keep positive bias') }, { label: 'nobias', description: vscode.l10n.t('ignore the bias') }],
        { title: vscode.l10n.t('z⁺ bias for {0}', layer) });
      if (!b) return undefined;
      text = b.label === 'nobias' ? 'z-plus:nobias' : 'z-plus';
      break;
    }
    case 'z-box': {
      const low = await askNumber(vscode.l10n.t('z^B lower input bound (empty: from the model card)'), params.low, true);
      if (low === undefined) return undefined;
      if (low.trim() === '') {
        text = 'z-box';
        break;
      }
      const high = await askNumber(vscode.l10n.t('z^B upper input bound'), params.high);
      if (high === undefined) return undefined;
      text = `z-box:${Number(low)},${Number(high)}`;
      break;
    }
    case 'sign': {
      const mu = await askNumber(vscode.l10n.t('SIGN-μ threshold for {0} (0: plain SIGN)', layer), DEFAULT_SIGN_MU);
      if (mu === undefined) return undefined;
      text = `sign:${Number(mu)}`;
      break;
    }
    case 'deep-taylor': {
      const root = await vscode.window.showQuickPick([
        { label: 'nearest', description: 'w² rule' }, { label: 'origin', description: 'z-rule' },
        { label: 'lrp', description: 'z⁺ rule' }, { label: 'bounded', description: 'z^B rule' },
      ], { title: vscode.l10n.t('Deep Taylor root point for {0}', layer) });
      if (!root) return undefined;
      text = `deep-taylor:${root.label}`;
      break;
    }
    default:
      text = pick.rule;
  }
  parseRule(text); // the same parser the engine uses: never hand it text it would refuse
  return text;
}
