// Placement rules that need what model files carry beyond the op table in placeGraph.ts: the program
// kind (ML program vs the old NeuralNetwork format vs non-neural Core ML models), resolved conv/pool
// attributes, dtypes, and the chip generation. ../shared/docs/ane-knowledge.md §1 (ANE001, ANE003,
// ANE028–ANE035, ANE044) and §2 (op support per chip, NeuralNetwork layer types observed off the ANE).
// `refinePlacement` runs after the generic table: it may move an op off the ANE, or back onto it when the
// generic table does not know an op that the format does (NeuralNetwork `linear` activations).
import { nativeFrom, type ChipParams } from '../../../common/chips';
import type { GraphIR, OpNode, Placement } from '../../../common/graphIR';

const NN_PREFIX = 'NeuralNetwork.';
const MODEL_OP_PREFIX = 'CoreML.';

/** ANE-capable ops the generic table does not list (§2: linear_activation is native). */
const EXTRA_ANE_OPS = new Set(['linear_activation', 'softplus_parametric']);

/** NeuralNetwork layers of the Core ML 3 generation observed not to run on the ANE (ANE029). */
const NN_OFF_ANE = /^(addBroadcastable|multiplyBroadcastable|subtractBroadcastable|divideBroadcastable|maxBroadcastable|minBroadcastable|powBroadcastable|floorDivBroadcastable|modBroadcastable|concatND|splitND|loadConstantND|batchedMatmul)$/;

const RESIZE_OPS = new Set(['resize', 'resize_bilinear', 'resize_nearest_neighbor', 'upsample_bilinear', 'upsample_nearest_neighbor', 'crop_resize', 'resample', 'affine']);
const SHAPE_ONLY = new Set(['cast', 'const', 'shape', 'identity']);

/** The first ANE tier (M1-class: 13-wide kernels, pooling windows up to 29). */
function isFirstTier(chip: ChipParams): boolean {
  return chip.ane.maxKernelWidth <= 13;
}

export type ProgramKind = 'mlprogram' | 'neuralnetwork' | 'other';

export function programKind(graph: GraphIR, op: OpNode): ProgramKind {
  if (op.originalOp.startsWith(NN_PREFIX)) return 'neuralnetwork';
  if (op.originalOp.startsWith(MODEL_OP_PREFIX)) return 'other';
  return graph.format === 'mlpackage' || graph.format === 'mil' || graph.format === 'mlmodel' ? 'mlprogram' : 'other';
}

function numbers(v: unknown): number[] | undefined {
  return Array.isArray(v) && v.every((x) => typeof x === 'number') ? (v as number[]) : undefined;
}

function kernelOf(op: OpNode, graph: GraphIR, constShapes: Map<string, number[]>): number[] | undefined {
  const k = numbers(op.attrs.kernel_sizes);
  if (k) return k;
  const w = constShapes.get(op.inputs[1] ?? '');
  return w && w.length >= 3 ? w.slice(2) : undefined;
}

interface Ctx { graph: GraphIR; chip: ChipParams; constShapes: Map<string, number[]> }

function cpu(rule: string | undefined, reason: string): Placement {
  return rule ? { device: 'cpu', rule, reason } : { device: 'cpu', reason };
}

function layerRule(op: OpNode, ctx: Ctx): Placement | undefined {
  const layer = op.originalOp.slice(NN_PREFIX.length);
  if (layer === 'custom') return cpu('ANE028', `custom layer ${op.attrs.class_name || ''} runs in app code on the CPU (or GPU via Metal), never on the ANE; implement it with built-in layers`.replace('  ', ' '));
  if (NN_OFF_ANE.test(layer)) return cpu('ANE029', `NeuralNetwork layer ${layer} (Core ML 3 "ND"/broadcastable family) was observed not to run on the ANE; convert to an ML program or use the legacy add/multiply/concat/innerProduct layers`);
  const dil = numbers(op.attrs.dilations);
  if (layer === 'convolution' && dil?.some((d) => d > 1)) return cpu('ANE033', `dilated convolution (dilation ${dil.join('x')}) did not run on the ANE in NeuralNetwork models; factor the dilation or convert to an ML program`);
  if (layer === 'pooling') {
    const k = numbers(op.attrs.kernel_sizes) ?? [];
    const s = numbers(op.attrs.strides) ?? [];
    if (k.some((x) => x > 13)) return cpu('ANE031', `pooling kernel ${k.join('x')} is wider than 13, which NeuralNetwork pooling on the ANE rejects; use global pooling or a reduction`);
    if (s.some((x) => x > 2)) return cpu('ANE032', `pooling stride ${s.join('x')} is above 2, which NeuralNetwork pooling on the ANE rejects; pool with stride 2 twice`);
  }
  if (layer === 'upsample') {
    const f = [op.attrs.scale_factor_height, op.attrs.scale_factor_width].filter((x): x is number => typeof x === 'number');
    if (f.some((x) => x > 2)) return cpu('ANE035', `upsample factor ${f.join('x')} is above 2, which the ANE accepted only as 2; chain ×2 upsamples`);
  }
  return undefined;
}

function opRule(op: OpNode, ctx: Ctx): Placement | undefined {
  const { chip } = ctx;
  const first = isFirstTier(chip);
  if (op.op === 'conv' || op.op === 'conv_transpose') {
    const k = kernelOf(op, ctx.graph, ctx.constShapes);
    if (k && k.length === 2) {
      const [kh, kw] = k as [number, number];
      const capW = chip.ane.maxKernelWidth;
      const capH = chip.ane.maxKernelHeight;
      if (kw > capW) return cpu('ANE031', `kernel width ${kw} is above the ${capW} the ${chip.id} ANE accepts; decompose it (k = k1 + k2 - 1) or put the long axis on height`);
      if (kh > capH) return cpu('ANE031', `kernel height ${kh} is above the ${capH} the ${chip.id} ANE accepts; decompose the kernel`);
    }
    const groups = op.attrs.groups;
    const w = ctx.constShapes.get(op.inputs[1] ?? '');
    if (typeof groups === 'number' && groups > 1 && w && w[0]! % groups !== 0) {
      return cpu('ANE017', `groups ${groups} does not divide the ${w[0]} output channels`);
    }
  }
  if (op.op === 'avg_pool' || op.op === 'max_pool' || op.op === 'l2_pool') {
    const k = numbers(op.attrs.kernel_sizes) ?? [];
    const cap = first ? 29 : 31;
    if (k.some((x) => x > cap)) return cpu('ANE031', `pooling window ${k.join('x')} is above the ${cap} the ${chip.id} ANE accepts; use reduce_mean/reduce_max over the axes`);
  }
  if (RESIZE_OPS.has(op.op)) {
    if (op.op === 'resample' || op.op === 'crop_resize' || op.op === 'affine') {
      return cpu('ANE035', `${op.op} was observed on the CPU under Core ML (coremltools #1875); keep sampling at the model boundary`);
    }
    if (!nativeFrom(chip, 'resize_bilinear')) return cpu('ANE035', `${op.op} needs the texture engine, which the ${chip.id} ANE lacks (software fallback); use pixel_shuffle or a transposed conv`);
    const mode = op.attrs.sampling_mode ?? op.attrs.mode;
    if (typeof mode === 'string' && /cubic/i.test(mode)) return cpu('ANE035', `resize mode ${mode} has no ANE path; use bilinear or nearest`);
  }
  if (op.op === 'pad') {
    const mode = typeof op.attrs.mode === 'string' ? op.attrs.mode : 'constant';
    const pad = numbers(op.attrs.pad);
    const rank = op.outputs[0]?.type.shape?.length;
    if (pad && rank && rank >= 3) {
      const c = rank - 3;
      if ((pad[2 * c] ?? 0) > 0 || (pad[2 * c + 1] ?? 0) > 0) return cpu('ANE044', 'channel padding is not supported on the ANE; concatenate zeros instead');
    }
    if (mode !== 'constant' && !nativeFrom(chip, 'resize_bilinear')) return cpu('ANE044', `${mode} padding needs the texture engine, which the ${chip.id} ANE lacks; use constant padding`);
  }
  if (op.op === 'random_uniform' && !nativeFrom(chip, 'random_uniform')) {
    return cpu('ANE040', `random_uniform runs on the ANE only from M3/A17; ${chip.id} evaluates it on the host`);
  }
  return undefined;
}

/** The model-file rules for one op already placed by the generic table. */
export function refinePlacement(op: OpNode, current: Placement, ctx: Ctx): Placement {
  const kind = programKind(ctx.graph, op);
  if (kind === 'other' && op.originalOp.startsWith(MODEL_OP_PREFIX)) {
    const type = op.originalOp.slice(MODEL_OP_PREFIX.length);
    return { device: 'cpu', reason: `cannot run on the ANE: ${type} is not a neural network (Core ML evaluates it on the CPU)` };
  }
  if (typeof op.attrs.parent_op === 'string') {
    return cpu('ANE027', `inside the blocks of control-flow op ${op.attrs.parent_op}, which has no ANE code generation; branch or loop outside the model`);
  }
  if (kind === 'neuralnetwork') {
    const nn = layerRule(op, ctx);
    if (nn) return nn;
  }
  if (current.device !== 'ane') {
    if (current.rule === 'ANE028' && EXTRA_ANE_OPS.has(op.op)) return opRule(op, ctx) ?? { device: 'ane' };
    return current;
  }
  const rule = opRule(op, ctx);
  if (rule) return rule;
  if (kind === 'mlprogram' && !SHAPE_ONLY.has(op.op)) {
    const out = op.outputs[0]?.type.dtype;
    if (out === 'fp32' || out === 'fp64') {
      return { device: 'gpu', rule: 'ANE001', reason: 'fp32 compute: an ML program runs fp32-typed ops on the GPU/CPU, never on the ANE; convert with compute_precision=ct.precision.FLOAT16' };
    }
    if (out === 'int32' || out === 'int64') {
      return cpu('ANE003', `integer compute (${out} output) is rejected on the ANE; keep index math at the model boundary or precompute it`);
    }
  }
  return current;
}

export function constantShapes(graph: GraphIR): Map<string, number[]> {
  const m = new Map<string, number[]>();
  for (const c of graph.constants) {
    if (c.type.shape && c.type.shape.every((d) => typeof d === 'number')) m.set(c.name, c.type.shape as number[]);
  }
  return m;
}
