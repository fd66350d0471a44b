/**
 * The one source of the LRP rule parameters' defaults (DESIGN.md's ε, γ, α, β; SIGN-μ's threshold): the
 * engine, CLI help, panel placeholders, rule picker and validation read them from here, and
 * test/unit/names.test.ts fails when a literal copy appears elsewhere or the README states others.
 * A leaf module, so that validate.ts (which ruleSpec.ts imports) can use them too.
 */
export const DEFAULT_RULE_PARAMS: Readonly<{ epsilon: number; gamma: number; alpha: number; beta: number }> = {
  epsilon: 1e-6, gamma: 0.25, alpha: 2, beta: 1,
};

/** SIGN-μ's threshold when none is given: plain SIGN (sign(0) = +1). */
export const DEFAULT_SIGN_MU = 0;

/** A parameter value as help texts and the README write it: 1e-6, not 0.000001. */
export function paramText(v: number): string {
  return v !== 0 && Math.abs(v) < 1e-3 ? v.toExponential() : String(v);
}
