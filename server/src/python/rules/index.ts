// The registry of Python source rules, in catalog order.
import { ANE001 } from './ane001Fp32Precision';
import { ANE005 } from './ane005LayerNormEps';
import { ANE015 } from './ane015RangeDim';
import { ANE021 } from './ane021LinearOnSequence';
import { ANE026 } from './ane026Recurrent';
import { ANE046 } from './ane046ComputeUnits';
import type { Rule } from './rule';

export type { Rule, RuleHit } from './rule';
export { ruleDocUri } from './ruleDocs';

export const PRAGMA_RULE_ID = 'ANE-PRAGMA';

/** Metadata for pragma syntax problems, so hovers and docs treat them like any rule. */
export const PRAGMA_RULE: Omit<Rule, 'check'> = {
  id: PRAGMA_RULE_ID,
  severity: 'error',
  title: 'Malformed or misplaced `# ane:` pragma',
  explanation:
    '`# ane:` pragmas tell ANE Lens the input shapes (`# ane: inputs=(1, 3, 224, 224), (1, 128)`) or the module a ' +
    '`ct.convert` call converts (`# ane: module=Net`). They must sit directly above the class (or its decorators) ' +
    'or the convert statement, with positive integer dimensions. A malformed pragma is an error rather than being ' +
    'ignored, because running with guessed shapes would give misleading timings.',
};

export const RULES: readonly Rule[] = [ANE001, ANE005, ANE015, ANE021, ANE026, ANE046];

export function findRule(id: string): Omit<Rule, 'check'> | undefined {
  return id === PRAGMA_RULE_ID ? PRAGMA_RULE : RULES.find((r) => r.id === id);
}
