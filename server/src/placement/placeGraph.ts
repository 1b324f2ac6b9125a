// Placement (contract 2): which device each op of a graph lands on, and why when it is not the ANE.
// A table of MIL ops with no ANE path (../shared/docs/ane-knowledge.md §2 and rules ANE023–ANE045),
// plus the shape limits that can be checked from the IR alone. Pure: returns a new graph.
import type { ChipParams } from '../../../common/chips';
import type { Dim, GraphIR, OpNode, Placement } from '../../../common/graphIR';
import type { Severity } from '../../../common/findings';
import { constantShapes, refinePlacement } from './modelRules';

interface OffAneEntry { rule: string; reason: string }

const RECURRENT = 'recurrent layers have no ANE path (Apple, coremltools #1780); unroll them or keep them in a separate CPU model';
const CONTROL = 'control flow has no ANE code generation; branch or loop outside the model, or unroll at export';
const SCATTER = 'scatter falls off the ANE; use select (torch.where) with a precomputed mask';
const GATHER = 'Core ML runs gather/embedding lookups on the CPU; move them to the model boundary';
const BAND_PART = 'band_part (tril/triu) has no ANE path; precompute the mask on the host';
const NO_PATH = 'no ANE path for this op; precompute it or replace it with supported ops';

/** MIL ops that never run on the ANE, whatever the chip. */
const OFF_ANE: Record<string, OffAneEntry> = {
  lstm: { rule: 'ANE026', reason: RECURRENT },
  gru: { rule: 'ANE026', reason: RECURRENT },
  rnn: { rule: 'ANE026', reason: RECURRENT },
  cond: { rule: 'ANE027', reason: CONTROL },
  while_loop: { rule: 'ANE027', reason: CONTROL },
  call: { rule: 'ANE027', reason: CONTROL },
  scatter: { rule: 'ANE025', reason: SCATTER },
  scatter_nd: { rule: 'ANE025', reason: SCATTER },
  scatter_along_axis: { rule: 'ANE025', reason: SCATTER },
  gather: { rule: 'ANE024', reason: GATHER },
  gather_along_axis: { rule: 'ANE024', reason: GATHER },
  gather_nd: { rule: 'ANE024', reason: GATHER },
  band_part: { rule: 'ANE023', reason: BAND_PART },
  non_maximum_suppression: { rule: 'ANE045', reason: 'non-maximum suppression is not placed on the ANE; end the model at boxes and scores' },
  reduce_argmax: { rule: 'ANE039', reason: 'Core ML never places arg-reductions on the ANE; return logits and reduce on the CPU' },
  reduce_argmin: { rule: 'ANE039', reason: 'Core ML never places arg-reductions on the ANE; return logits and reduce on the CPU' },
  mod: { rule: 'ANE040', reason: NO_PATH },
  logical_and: { rule: 'ANE040', reason: 'no ANE path; use minimum/mul on 0/1 tensors instead' },
  logical_or: { rule: 'ANE040', reason: 'no ANE path; use maximum on 0/1 tensors instead' },
  logical_xor: { rule: 'ANE040', reason: 'no ANE path; use not_equal on 0/1 tensors instead' },
  reduce_prod: { rule: 'ANE040', reason: NO_PATH },
  tan: { rule: 'ANE040', reason: NO_PATH }, asin: { rule: 'ANE040', reason: NO_PATH },
  acos: { rule: 'ANE040', reason: NO_PATH }, sinh: { rule: 'ANE040', reason: NO_PATH },
  cosh: { rule: 'ANE040', reason: NO_PATH }, asinh: { rule: 'ANE040', reason: NO_PATH },
  acosh: { rule: 'ANE040', reason: NO_PATH }, atanh: { rule: 'ANE040', reason: NO_PATH },
  one_hot: { rule: 'ANE040', reason: NO_PATH }, non_zero: { rule: 'ANE040', reason: NO_PATH },
  range_1d: { rule: 'ANE040', reason: 'range_1d has no ANE path; precompute positions on the host' },
  shape: { rule: 'ANE040', reason: 'shape-dependent ops have no ANE path; export with static shapes' },
  reverse_sequence: { rule: 'ANE040', reason: NO_PATH },
  sliding_windows: { rule: 'ANE040', reason: NO_PATH },
  random_normal: { rule: 'ANE040', reason: NO_PATH }, random_bernoulli: { rule: 'ANE040', reason: NO_PATH },
  random_categorical: { rule: 'ANE040', reason: NO_PATH },
  make_list: { rule: 'ANE040', reason: NO_PATH }, list_read: { rule: 'ANE040', reason: NO_PATH },
  list_write: { rule: 'ANE040', reason: NO_PATH }, list_gather: { rule: 'ANE040', reason: NO_PATH },
  list_scatter: { rule: 'ANE040', reason: NO_PATH }, list_length: { rule: 'ANE040', reason: NO_PATH },
};

/** MIL ops with an ANE path (at least eligible). Anything outside this set and OFF_ANE is unknown. */
const ANE_OPS = new Set([
  'conv', 'conv_transpose', 'linear', 'matmul', 'einsum', 'scaled_dot_product_attention',
  'avg_pool', 'max_pool', 'l2_pool', 'batch_norm', 'layer_norm', 'instance_norm', 'l2_norm', 'local_response_norm',
  'softmax', 'add', 'sub', 'mul', 'real_div', 'maximum', 'minimum', 'pow', 'square', 'sqrt', 'rsqrt', 'inverse',
  'abs', 'floor_div', 'equal', 'not_equal', 'greater', 'greater_equal', 'less', 'less_equal', 'logical_not',
  'select', 'relu', 'relu6', 'leaky_relu', 'prelu', 'clamped_relu', 'clip', 'elu', 'sigmoid', 'sigmoid_hard',
  'tanh', 'scaled_tanh', 'gelu', 'silu', 'softplus', 'softsign', 'erf', 'exp', 'exp2', 'log', 'sign', 'ceil',
  'floor', 'round', 'threshold', 'thresholded_relu', 'atan', 'sin', 'cos', 'reduce_sum', 'reduce_mean',
  'reduce_max', 'reduce_min', 'reduce_sum_square', 'reduce_l1_norm', 'reduce_l2_norm', 'reduce_log_sum',
  'reduce_log_sum_exp', 'reshape', 'expand_dims', 'squeeze', 'flatten2d', 'reshape_like', 'transpose', 'concat',
  'split', 'stack', 'slice_by_size', 'slice_by_index', 'crop', 'slice_update', 'pad', 'tile', 'depth_to_space',
  'space_to_depth', 'pixel_shuffle', 'pixel_unshuffle', 'space_to_batch', 'batch_to_space', 'fill', 'fill_like',
  'identity', 'reverse', 'resize', 'resize_bilinear', 'resize_nearest_neighbor', 'upsample_bilinear',
  'upsample_nearest_neighbor', 'crop_resize', 'resample', 'affine', 'cast', 'quantize', 'dequantize',
  'constexpr_lut_to_dense', 'constexpr_affine_dequantize', 'constexpr_blockwise_shift_scale',
  'constexpr_sparse_to_dense', 'constexpr_lut_to_sparse', 'read_state', 'write_state', 'coreml_update_state',
  'topk', 'argsort', 'random_uniform', 'cumsum', 'const',
]);

/** Severity of a placement finding per rule (ane-knowledge.md §1): CPU segments from gather/NMS/argmax warn. */
const WARNING_RULES = new Set(['ANE024', 'ANE039', 'ANE045']);

export function placementSeverity(rule: string | undefined): Severity {
  if (!rule) return 'info';
  return WARNING_RULES.has(rule) ? 'warning' : 'error';
}

/** MAX rank the ANE accepts for any tensor. */
const MAX_RANK = 5;
/** Channels beyond this are rejected (ANE014). */
const MAX_CHANNELS = 65536;

function chipGeneration(chip: ChipParams): number {
  const m = /^[MA](\d+)/i.exec(chip.id);
  return m ? Number(m[1]) : Number.POSITIVE_INFINITY;
}

/** Device and reason for one op, or undefined when it goes to the ANE. */
function offAneReason(op: OpNode, chip: ChipParams): Placement | undefined {
  const table = OFF_ANE[op.op];
  if (table) return { device: 'cpu', reason: table.reason, rule: table.rule };
  // Chip-generation checks only for the few ops they concern: two regexes per op showed in a 4,000-op profile.
  const isM = () => /^M/i.test(chip.id);
  if ((op.op === 'sin' || op.op === 'cos') && isM() && chipGeneration(chip) < 3) {
    return { device: 'cpu', rule: 'ANE040', reason: `${op.op} runs on the ANE only from M3; ${chip.id} evaluates it on the host (precompute tables)` };
  }
  if ((op.op === 'topk' || op.op === 'argsort') && isM() && chipGeneration(chip) < 2) {
    return { device: 'cpu', rule: 'ANE039', reason: `${op.op} has no ANE path on ${chip.id} (M2 and later only)` };
  }
  if (op.op === 'conv' || op.op === 'conv_transpose') {
    const strides = op.attrs.strides;
    if (Array.isArray(strides) && strides.length === 3) {
      return { device: 'cpu', rule: 'ANE034', reason: '3-D convolution never lowers to the ANE; fold depth into channels or batch' };
    }
  }
  if (op.op === 'cast' && (op.attrs.dtype === 'int32' || op.attrs.dtype === 'int64')) {
    return { device: 'cpu', rule: 'ANE003', reason: 'integer compute is rejected on the ANE (cast to int32)' };
  }
  if (!ANE_OPS.has(op.op)) {
    return { device: 'cpu', rule: 'ANE028', reason: `op ${op.op} (${op.originalOp}) has no known ANE lowering; treated like a custom layer` };
  }
  return shapeLimit(op, chip);
}

function shapeLimit(op: OpNode, chip: ChipParams): Placement | undefined {
  for (const out of op.outputs) {
    const shape = out.type.shape;
    if (!shape) continue;
    if (shape.length > MAX_RANK) {
      return { device: 'cpu', rule: 'ANE013', reason: `output ${out.name} has rank ${shape.length}; the ANE accepts at most rank ${MAX_RANK}` };
    }
    const big = spatialOverflow(shape, chip.ane.spatialLimit);
    if (big) return { device: 'cpu', rule: 'ANE014', reason: `output ${out.name} ${big}; split the op along that axis` };
  }
  return undefined;
}

/** The ANE's spatial axes are the last two (H, W) of a 3-D+ tensor, the last of a vector/matrix. */
function spatialOverflow(shape: Dim[], limit: number): string | undefined {
  const n = shape.length;
  // Plain loops and no per-call arrays in these per-op checks: once placement has seen graphs from several
  // readers, the callback style cost ~2 ms more per 4,000 ops.
  for (let k = Math.max(0, n >= 3 ? n - 2 : n - 1); k < n; k++) {
    const d = shape[k];
    if (typeof d === 'number' && d > limit) return `has extent ${d} on axis ${k}, above the ${limit} spatial limit of this chip`;
  }
  if (n >= 4 && typeof shape[1] === 'number' && shape[1] > MAX_CHANNELS) return `has ${shape[1]} channels, above the ${MAX_CHANNELS} limit`;
  return undefined;
}

function hasSymbolicShape(op: OpNode): boolean {
  for (const o of op.outputs) {
    const shape = o.type.shape;
    if (!shape) return true;
    for (let k = 0; k < shape.length; k++) if (typeof shape[k] !== 'number') return true;
  }
  return false;
}

/**
 * A copy of the op with its placement, written field by field: on a 4,000-op graph Object.assign({}, op, ...)
 * took ~1.2 ms and an object spread more (Node 20), a literal 0.1 ms. Fields keep the readers' order.
 */
function withPlacement(op: OpNode, placement: Placement): OpNode {
  const { name, op: type, originalOp, inputs, outputs, attrs, source } = op;
  return source === undefined
    ? { name, op: type, originalOp, inputs, outputs, attrs, placement }
    : { name, op: type, originalOp, inputs, outputs, attrs, source, placement };
}
// Compile-time guard for withPlacement: a field added to OpNode must be copied there too.
type CopiedFields = 'name' | 'op' | 'originalOp' | 'inputs' | 'outputs' | 'attrs' | 'source' | 'placement';
const everyFieldCopied: [Exclude<keyof OpNode, CopiedFields>] extends [never] ? true : never = true;
void everyFieldCopied;

export function placeGraph(graph: GraphIR, chip: ChipParams): GraphIR {
  let symbolic = 0;
  // Rules that need resolved attributes, dtypes and the source format (kernel width, resize on M1,
  // fp32 ML programs, NeuralNetwork layer types...) refine the table's verdict: modelRules.ts.
  const ctx = { graph, chip, constShapes: constantShapes(graph) };
  const ops = graph.ops.map((op) => {
    if (hasSymbolicShape(op)) symbolic++;
    return withPlacement(op, refinePlacement(op, offAneReason(op, chip) ?? { device: 'ane' }, ctx));
  });
  const warnings = [...graph.warnings];
  if (symbolic > 0) {
    warnings.push(`ANE015: ${symbolic} op(s) have non-static or unknown output shapes; the ANE needs static (or enumerated) shapes, so their placement assumes the default shape`);
  }
  return { ...graph, ops, warnings };
}

/** For docs and tests: the fixed table (op → rule). */
export function offAneTable(): ReadonlyArray<{ op: string; rule: string; reason: string }> {
  return Object.entries(OFF_ANE).map(([op, e]) => ({ op, ...e }));
}
