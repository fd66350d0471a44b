/**
 * What the user chose: the active model and image, method, composite, parameters, explained class,
 * display options, and per-model rule overrides. Kept in workspaceState so a window reload restores
 * the same explanation; the webview keeps only UI state (selected layer, open sections) itself.
 */
import * as vscode from 'vscode';
import {
  DEFAULT_DISPLAY, isDisplayOptions, isMethodId, type DisplayOptions, type ExplainSpec, type MethodId, type MethodParamValues, type RuleParamValues,
} from '../../shared/protocol';
import type { LensSettings } from '../config';
import { SETTING_DEFAULTS } from '../../shared/settings';

interface Persisted {
  modelPath?: string;
  imagePath?: string;
  method?: MethodId;
  composite?: string;
  params?: RuleParamValues;
  methodParams?: MethodParamValues;
  targetClass?: number | 'top';
  display?: DisplayOptions;
  /** model path -> layer name -> rule text */
  rules?: Record<string, Record<string, string>>;
  compareMethods?: MethodId[];
}

const KEY = 'relevanceLens.state.v1';

export type StateChange = 'model' | 'image' | 'explain' | 'display' | 'rules';

export class LensState implements vscode.Disposable {
  private data: Persisted;
  private readonly emitter = new vscode.EventEmitter<StateChange>();
  readonly onDidChange = this.emitter.event;

  constructor(private readonly memento: vscode.Memento, settings: LensSettings) {
    this.data = memento.get<Persisted>(KEY) ?? {};
    this.data.method = isMethodId(this.data.method) ? this.data.method : settings.defaultMethod;
    this.data.composite ??= settings.defaultComposite;
    if (!isDisplayOptions(this.data.display)) this.data.display = { ...DEFAULT_DISPLAY, colormap: settings.colormap };
  }

  get modelPath(): string | undefined { return this.data.modelPath; }
  get imagePath(): string | undefined { return this.data.imagePath; }
  get method(): MethodId { return this.data.method ?? SETTING_DEFAULTS.defaultMethod; }
  get composite(): string { return this.data.composite ?? SETTING_DEFAULTS.defaultComposite; }
  get params(): RuleParamValues { return this.data.params ?? {}; }
  get methodParams(): MethodParamValues { return this.data.methodParams ?? {}; }
  get targetClass(): number | 'top' { return this.data.targetClass ?? 'top'; }
  get display(): DisplayOptions { return this.data.display ?? DEFAULT_DISPLAY; }
  get compareMethods(): MethodId[] { return this.data.compareMethods ?? ['lrp', 'gradient', 'gradient-x-input', 'guided-backprop']; }

  /** Rule overrides of the active model. */
  get rules(): Record<string, string> {
    return (this.data.modelPath && this.data.rules?.[this.data.modelPath]) || {};
  }

  setModel(modelPath: string): void {
    if (modelPath === this.data.modelPath) return;
    // A new model has other classes: explain its top class.
    this.update({ modelPath, targetClass: 'top' }, 'model');
  }

  setImage(imagePath: string): void {
    this.update({ imagePath, targetClass: 'top' }, 'image');
  }

  setMethod(method: MethodId): void {
    this.update({ method }, 'explain');
  }

  setComposite(composite: string): void {
    this.update({ composite }, 'rules');
  }

  setParams(params: RuleParamValues): void {
    this.update({ params }, 'rules');
  }

  setMethodParams(methodParams: MethodParamValues): void {
    this.update({ methodParams }, 'explain');
  }

  setTarget(targetClass: number | 'top'): void {
    this.update({ targetClass }, 'explain');
  }

  setDisplay(display: DisplayOptions): void {
    this.update({ display }, 'display');
  }

  setCompareMethods(compareMethods: MethodId[]): void {
    this.update({ compareMethods }, undefined);
  }

  /** '' removes the override (the composite's rule applies again). */
  setRule(layer: string, rule: string): void {
    const model = this.data.modelPath;
    if (!model) return;
    const all = { ...(this.data.rules ?? {}) };
    const forModel = { ...(all[model] ?? {}) };
    if (rule) forModel[layer] = rule;
    else delete forModel[layer];
    all[model] = forModel;
    this.update({ rules: all }, 'rules');
  }

  /**
   * Puts back the choices an explanation was made with (after its successor was cancelled). Returns
   * what changed: 'rules' (composite, parameters or overrides: the layer list changes too), 'explain'
   * (method, its parameters or the class), or undefined.
   */
  restoreFrom(spec: ExplainSpec): 'rules' | 'explain' | undefined {
    const model = this.data.modelPath;
    if (!model || spec.modelPath !== model) return undefined;
    const same = (a: unknown, b: unknown) => JSON.stringify(a ?? {}) === JSON.stringify(b ?? {});
    const rulesChanged = spec.composite !== this.composite || !same(spec.params, this.params) || !same(spec.rules, this.rules);
    const explainChanged = spec.method !== this.method || !same(spec.methodParams, this.methodParams) || spec.targetClass !== this.targetClass;
    if (!rulesChanged && !explainChanged) return undefined;
    const change = rulesChanged ? 'rules' : 'explain';
    this.update({
      method: spec.method, composite: spec.composite, params: spec.params, methodParams: spec.methodParams ?? {}, targetClass: spec.targetClass,
      rules: { ...(this.data.rules ?? {}), [model]: { ...spec.rules } },
    }, change);
    return change;
  }

  /** Every choice back to the defaults (model and image stay): the integration suite's starting point. */
  resetChoices(defaults: { defaultMethod: MethodId; defaultComposite: string; colormap: DisplayOptions['colormap'] }): void {
    const rules = { ...(this.data.rules ?? {}) };
    if (this.data.modelPath) delete rules[this.data.modelPath];
    this.update({
      method: defaults.defaultMethod, composite: defaults.defaultComposite, params: {}, methodParams: {}, targetClass: 'top',
      display: { ...DEFAULT_DISPLAY, colormap: defaults.colormap }, rules,
    }, 'rules');
  }

  clearRules(): void {
    const model = this.data.modelPath;
    if (!model || !this.data.rules?.[model]) return;
    const all = { ...this.data.rules };
    delete all[model];
    this.update({ rules: all }, 'rules');
  }

  private update(patch: Partial<Persisted>, change: StateChange | undefined): void {
    this.data = { ...this.data, ...patch };
    void this.memento.update(KEY, this.data);
    if (change) this.emitter.fire(change);
  }

  dispose(): void {
    this.emitter.dispose();
  }
}
