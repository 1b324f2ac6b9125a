// The registry of Python source rules, in catalog order.
import { ANE001 } from './ane001Fp32Precision';
import { ANE005 } from './ane005LayerNormEps';
import { ANE015 } from './ane015RangeDim';
import { ANE021 } from './ane021LinearOnSequence';
import { ANE026 } from './ane026Recurrent';
import { ANE046 } from './ane046ComputeUnits';
import { ANE047, ANE048, ANE051, ANE052, ANE016, ANE054 } from './conversion';
import { ANE010, ANE011, ANE012, ANE013, ANE014, ANE017 } from './layout';
import { ANE022, ANE023, ANE024, ANE025, ANE027, ANE031, ANE032, ANE033, ANE034, ANE035, ANE036, ANE039, ANE040, ANE044, ANE045 } from './ops';
import { ANE002, ANE004, ANE006, ANE008, ANE037 } from './precision';
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

export const RULES: readonly Rule[] = [
  ANE001, ANE002, ANE004, ANE005, ANE006, ANE008, ANE010, ANE011, ANE012, ANE013, ANE014, ANE015, ANE016, ANE017,
  ANE021, ANE022, ANE023, ANE024, ANE025, ANE026, ANE027, ANE031, ANE032, ANE033, ANE034, ANE035, ANE036, ANE037,
  ANE039, ANE040, ANE044, ANE045, ANE046, ANE047, ANE048, ANE051, ANE052, ANE054,
];

/**
 * Words without which a rule cannot fire: every name a rule matches appears in the source text (in an
 * import or at the use), so a rule whose gate does not match the file is skipped without touching the
 * tree. Rules with broad triggers (control flow, squares, subscripts, computed sizes) have no gate.
 */
export const RULE_GATES: Readonly<Record<string, RegExp>> = {
  ANE001: /compute_precision/, ANE006: /Quantizer|Palettizer|quantize_activations/, ANE008: /TensorType/,
  ANE010: /TensorType|ImageType|Shape/, ANE011: /channels_last|permute/, ANE012: /transpose|swapaxes|permute/,
  ANE013: /view|reshape|permute|expand/, ANE015: /RangeDim/, ANE016: /EnumeratedShapes/, ANE021: /[Ll]inear/,
  ANE022: /MultiheadAttention|scaled_dot_product_attention|Transformer|multi_head_attention_forward/, ANE023: /tril|triu/,
  ANE026: /LSTM|GRU|RNN/, ANE031: /Conv|[Pp]ool/, ANE032: /Conv|[Pp]ool/, ANE033: /Conv/, ANE034: /3d/,
  ANE035: /interpolate|[Uu]psampl|grid_sample|roi_align|RoIAlign/, ANE036: /roll/, ANE037: /sqrt/,
  ANE039: /argm|topk|sort|kthvalue|multinomial/,
  ANE040: /remainder|fmod|logical_|prod|tan|asin|acos|arcsin|arccos|sinh|cosh|one_hot|nonzero|cumprod|sin|cos/,
  ANE044: /[Pp]ad/, ANE045: /nms/, ANE046: /compute_units/, ANE047: /neuralnetwork|minimum_deployment_target/,
  ANE048: /Linear|Embedding|Conv/, ANE051: /states/, ANE052: /StateType/, ANE054: /EnumeratedShapes/,
};

/** Rule families, for docs and SARIF tags. */
export const FAMILY: Record<string, 'precision' | 'layout' | 'ops' | 'conversion'> = Object.fromEntries([
  ...['ANE001', 'ANE002', 'ANE004', 'ANE005', 'ANE006', 'ANE008', 'ANE037'].map((id) => [id, 'precision']),
  ...['ANE010', 'ANE011', 'ANE012', 'ANE013', 'ANE014', 'ANE017', 'ANE021'].map((id) => [id, 'layout']),
  ...['ANE022', 'ANE023', 'ANE024', 'ANE025', 'ANE026', 'ANE027', 'ANE031', 'ANE032', 'ANE033', 'ANE034', 'ANE035',
    'ANE036', 'ANE039', 'ANE040', 'ANE044', 'ANE045'].map((id) => [id, 'ops']),
  ...['ANE015', 'ANE016', 'ANE046', 'ANE047', 'ANE048', 'ANE051', 'ANE052', 'ANE054'].map((id) => [id, 'conversion']),
]);

export function findRule(id: string): Omit<Rule, 'check'> | undefined {
  return id === PRAGMA_RULE_ID ? PRAGMA_RULE : RULES.find((r) => r.id === id);
}
