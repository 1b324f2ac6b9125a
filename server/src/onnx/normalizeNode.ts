// One ONNX node → MIL-vocabulary ops (contract 3 in the team brief, docs/graph-ir.md), with shape
// inference for the ops we normalize and constant folding of torch's shape subgraphs.
import type { AttrValue, Dim, DType, TensorType } from '../../../common/graphIR';
import {
  asFolded, castValues, foldConcat, foldElementwise, foldGather, foldRange, foldScatterND, foldSlice, foldTranspose, resolveSlice,
  type AxisSlice, type Folded,
} from './constantFolding';
import type { GraphBuilder } from './graphBuilder';
import { int64ToNumber, OnnxAttrType, type OnnxAttribute, type OnnxGraph, type OnnxNode } from './onnxSchema';
import { broadcastShapes, dimOp, isStatic, matmulShape, normAxis, product, samePadding, windowOut, type Shape } from './shapes';
import { arithDims, productDims, resolveReshapeSymbolic } from './symbolicDims';
import { constValues, decodeTensor, MAX_DECODED_ELEMENTS, milDtype } from './tensorData';

/** Largest finite fp32: clip bounds that ONNX leaves open (JSON has no Infinity). */
const FLT_MAX = 3.4028234663852886e38;
const utf8 = new TextDecoder();

/** ONNX op types with a direct MIL name and no attribute rewriting. Elementwise unless listed in SHAPE_FREE. */
const UNARY: Record<string, string> = {
  Relu: 'relu', Sigmoid: 'sigmoid', Tanh: 'tanh', Exp: 'exp', Sqrt: 'sqrt', Abs: 'abs', Log: 'log', Erf: 'erf',
  Floor: 'floor', Ceil: 'ceil', Round: 'round', Sign: 'sign', Sin: 'sin', Cos: 'cos', Tan: 'tan', Asin: 'asin',
  Acos: 'acos', Atan: 'atan', Sinh: 'sinh', Cosh: 'cosh', Asinh: 'asinh', Acosh: 'acosh', Atanh: 'atanh',
  Reciprocal: 'inverse', Softplus: 'softplus', Softsign: 'softsign', Not: 'logical_not', Elu: 'elu',
  LeakyRelu: 'leaky_relu', Selu: 'elu', Celu: 'elu', ThresholdedRelu: 'thresholded_relu', Mish: 'mish',
  IsNaN: 'isnan', IsInf: 'isinf',
};
const BINARY: Record<string, string> = {
  Add: 'add', Sub: 'sub', Mul: 'mul', Div: 'real_div', Pow: 'pow', Max: 'maximum', Min: 'minimum', Mod: 'mod',
  And: 'logical_and', Or: 'logical_or', Xor: 'logical_xor', Equal: 'equal', Greater: 'greater', Less: 'less',
  GreaterOrEqual: 'greater_equal', LessOrEqual: 'less_equal', PRelu: 'prelu', BitShift: 'bit_shift',
};
const COMPARISONS = new Set(['Equal', 'Greater', 'Less', 'GreaterOrEqual', 'LessOrEqual', 'And', 'Or', 'Xor']);
const REDUCE: Record<string, string> = {
  ReduceMean: 'reduce_mean', ReduceSum: 'reduce_sum', ReduceMax: 'reduce_max', ReduceMin: 'reduce_min',
  ReduceProd: 'reduce_prod', ReduceL1: 'reduce_l1_norm', ReduceL2: 'reduce_l2_norm',
  ReduceSumSquare: 'reduce_sum_square', ReduceLogSum: 'reduce_log_sum', ReduceLogSumExp: 'reduce_log_sum_exp',
};
/** Everything else we recognise: kept as one op under its MIL name (attributes copied as they are). */
const PASS_THROUGH: Record<string, string> = {
  LSTM: 'lstm', GRU: 'gru', RNN: 'rnn', If: 'cond', Loop: 'while_loop', Scan: 'while_loop',
  ScatterND: 'scatter_nd', ScatterElements: 'scatter_along_axis', Scatter: 'scatter_along_axis',
  GatherElements: 'gather_along_axis', GatherND: 'gather_nd', NonMaxSuppression: 'non_maximum_suppression',
  TopK: 'topk', Trilu: 'band_part', Einsum: 'einsum', CumSum: 'cumsum', OneHot: 'one_hot', NonZero: 'non_zero',
  DepthToSpace: 'depth_to_space', SpaceToDepth: 'space_to_depth', InstanceNormalization: 'instance_norm',
  LRN: 'local_response_norm', LpNormalization: 'l2_norm', GridSample: 'resample', RoiAlign: 'crop_resize',
  ArgMax: 'reduce_argmax', ArgMin: 'reduce_argmin', Tile: 'tile', Where: 'select', Range: 'range_1d',
  ConvTranspose: 'conv_transpose', RandomUniform: 'random_uniform', RandomNormal: 'random_normal',
  RandomUniformLike: 'random_uniform', RandomNormalLike: 'random_normal', ReverseSequence: 'reverse_sequence',
  Expand: 'tile', Shape: 'shape', Size: 'shape', ConstantOfShape: 'fill', Compress: 'non_zero', Unique: 'unique',
  SequenceConstruct: 'make_list', SequenceAt: 'list_read', SequenceInsert: 'list_write', Hardmax: 'hardmax',
  MaxUnpool: 'max_unpool', LpPool: 'l2_pool', GlobalLpPool: 'l2_pool', MeanVarianceNormalization: 'mvn',
  QuantizeLinear: 'quantize', DequantizeLinear: 'dequantize',
};

interface Attrs {
  has(name: string): boolean;
  i(name: string, def: number): number;
  f(name: string, def: number): number;
  s(name: string, def: string): string;
  ints(name: string): number[] | undefined;
  floats(name: string): number[] | undefined;
  raw(name: string): OnnxAttribute | undefined;
}

function attrsOf(node: OnnxNode): Attrs {
  const byName = new Map<string, OnnxAttribute>();
  for (const a of node.attribute ?? []) if (a.name) byName.set(a.name, a);
  return {
    has: (n) => byName.has(n),
    i: (n, def) => (byName.get(n)?.i !== undefined ? int64ToNumber(byName.get(n)!.i) : def),
    f: (n, def) => byName.get(n)?.f ?? def,
    s: (n, def) => {
      const s = byName.get(n)?.s;
      return s && s.length > 0 ? utf8.decode(s) : def;
    },
    ints: (n) => byName.get(n)?.ints?.map(int64ToNumber),
    floats: (n) => byName.get(n)?.floats,
    raw: (n) => byName.get(n),
  };
}

/** All attributes as IR attr values, for pass-through ops (tensors and graphs are summarised, not copied). */
function genericAttrs(node: OnnxNode): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = {};
  for (const a of node.attribute ?? []) {
    if (!a.name) continue;
    switch (a.type) {
      case OnnxAttrType.FLOAT: out[a.name] = a.f ?? 0; break;
      case OnnxAttrType.INT: out[a.name] = int64ToNumber(a.i); break;
      case OnnxAttrType.STRING: out[a.name] = utf8.decode(a.s ?? new Uint8Array()); break;
      case OnnxAttrType.FLOATS: out[a.name] = [...(a.floats ?? [])]; break;
      case OnnxAttrType.INTS: out[a.name] = (a.ints ?? []).map(int64ToNumber); break;
      case OnnxAttrType.STRINGS: out[a.name] = (a.strings ?? []).map((s) => utf8.decode(s)); break;
      default: break;
    }
  }
  return out;
}

/** Ops inside a subgraph attribute, recursively (If/Loop/Scan bodies). */
export function countSubgraphOps(g: OnnxGraph | undefined, depth = 0): number {
  if (!g || depth > 64) return 0;
  let n = 0;
  for (const node of g.node ?? []) {
    n++;
    for (const a of node.attribute ?? []) {
      if (a.g) n += countSubgraphOps(a.g, depth + 1);
      for (const sg of a.graphs ?? []) n += countSubgraphOps(sg, depth + 1);
    }
  }
  return n;
}

export class NodeCtx {
  readonly attrs: Attrs;
  readonly opType: string;
  readonly name: string;
  readonly inputs: string[];
  readonly outputs: string[];

  constructor(readonly b: GraphBuilder, readonly node: OnnxNode, readonly opset: number, index: number) {
    this.attrs = attrsOf(node);
    this.opType = node.op_type ?? '';
    this.name = b.uniqueOpName(node.name || `${this.opType}_${index}`);
    this.inputs = (node.input ?? []).map((i) => (i ? b.resolve(i) : ''));
    this.outputs = node.output ?? [];
  }

  input(k: number): string { return this.inputs[k] ?? ''; }
  type(k: number): TensorType | undefined { const n = this.input(k); return n ? this.b.typeOf(n) : undefined; }
  shape(k: number): Shape | undefined { return this.type(k)?.shape; }
  dtype(k: number): DType { return this.type(k)?.dtype ?? 'unknown'; }
  values(k: number): number[] | undefined { const n = this.input(k); return n ? this.b.valuesOf(n) : undefined; }
  /** Constant or symbolic elements of a small integer input (shape arithmetic). */
  dims(k: number): Dim[] | undefined { return this.b.dimValuesOf(this.input(k)); }
  folded(k: number): Folded | undefined {
    const c = this.b.constOf(this.input(k));
    return c ? asFolded(c, constValues(c)) : undefined;
  }
  /** A constant operand that ONNX moved from an attribute to an input at `sinceOpset`. */
  attrOrInput(attr: string, k: number, sinceOpset: number): number[] | undefined {
    if (this.opset < sinceOpset || this.attrs.has(attr)) return this.attrs.ints(attr) ?? this.attrs.floats(attr);
    return this.values(k);
  }
  warn(message: string): void { this.b.warnings.push(`${this.name} (${this.opType}): ${message}`); }
  out(k = 0): string { return this.outputs[k] ?? ''; }
  fold(k: number, f: Folded): void { this.b.addConst(this.out(k), { dtype: f.dtype, dims: f.dims, values: f.values }); }
  emit(op: string, inputs: string[], outType: TensorType | undefined, attrs: Record<string, AttrValue> = {}, name = this.name, output = this.out(0)): void {
    this.b.emit(op, this.opType, name, inputs, [{ name: output, type: outType }], attrs);
  }
  /** An intermediate value of a multi-op expansion. */
  tmp(suffix: string): string { return this.b.fresh(`${this.out(0) || this.name}/${suffix}`); }
  subName(suffix: string): string { return this.b.uniqueOpName(`${this.name}/${suffix}`); }
}

function withShape(dtype: DType, shape: Shape | undefined): TensorType {
  return shape ? { dtype, shape } : { dtype };
}

/** Every non-empty input is a constant small enough to fold. */
function allFoldable(ctx: NodeCtx): Folded[] | undefined {
  const out: Folded[] = [];
  for (let k = 0; k < ctx.inputs.length; k++) {
    if (!ctx.input(k)) continue;
    const f = ctx.folded(k);
    if (!f) return undefined;
    out.push(f);
  }
  return out.length > 0 ? out : undefined;
}

const FOLD_BINARY: Record<string, (a: number, b: number) => number> = {
  Add: (a, b) => a + b, Sub: (a, b) => a - b, Mul: (a, b) => a * b, Pow: (a, b) => a ** b,
  Max: (a, b) => Math.max(a, b), Min: (a, b) => Math.min(a, b),
  Equal: (a, b) => +(a === b), Greater: (a, b) => +(a > b), Less: (a, b) => +(a < b),
  GreaterOrEqual: (a, b) => +(a >= b), LessOrEqual: (a, b) => +(a <= b),
  And: (a, b) => +(a !== 0 && b !== 0), Or: (a, b) => +(a !== 0 || b !== 0),
};
const FOLD_UNARY: Record<string, (a: number) => number> = {
  Neg: (a) => -a, Sqrt: Math.sqrt, Abs: Math.abs, Floor: Math.floor, Ceil: Math.ceil, Not: (a) => +(a === 0),
  Reciprocal: (a) => 1 / a, Exp: Math.exp, Relu: (a) => Math.max(0, a),
};

/** Emit a reshape (static target) or, for symbolic shapes, expand_dims/squeeze-free reshape with a note. */
function emitReshape(ctx: NodeCtx, input: string, shape: Shape | undefined, output: string, name: string): void {
  const dtype = ctx.b.typeOf(input)?.dtype ?? 'unknown';
  if (isStatic(shape) && shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    ctx.b.emit('reshape', ctx.opType, name, [input], [{ name: output, type: { dtype, shape } }], { shape });
  } else {
    ctx.warn(`output shape ${shape ? `(${shape.join(', ')})` : '(unknown)'} is not static; the reshape carries no shape attribute`);
    ctx.b.emit('reshape', ctx.opType, name, [input], [{ name: output, type: withShape(dtype, shape) }], {});
  }
}

function handleConstant(ctx: NodeCtx): boolean {
  const a = ctx.attrs;
  const t = a.raw('value')?.t;
  let folded: { dtype: DType; dims: number[]; values?: number[]; bytes?: Uint8Array; unavailable?: string } | undefined;
  if (t) folded = decodeTensor(t, `Constant ${ctx.name}`);
  else if (a.has('value_float')) folded = { dtype: 'fp32', dims: [], values: [a.f('value_float', 0)] };
  else if (a.has('value_floats')) { const v = a.floats('value_floats') ?? []; folded = { dtype: 'fp32', dims: [v.length], values: [...v] }; }
  else if (a.has('value_int')) folded = { dtype: 'int64', dims: [], values: [a.i('value_int', 0)] };
  else if (a.has('value_ints')) { const v = a.ints('value_ints') ?? []; folded = { dtype: 'int64', dims: [v.length], values: v }; }
  if (!folded) {
    ctx.warn('constant kind (sparse or string) is not supported');
    ctx.b.addConst(ctx.out(), { dtype: 'unknown', dims: [], unavailable: 'unsupported Constant kind' });
    return true;
  }
  ctx.b.addConst(ctx.out(), folded);
  return true;
}

/** Fold the node into constants when every input is a small constant. True when folded. */
function tryFold(ctx: NodeCtx): boolean {
  const op = ctx.opType;
  const a = ctx.attrs;
  if (op === 'Shape') {
    const shape = ctx.shape(0);
    if (!isStatic(shape)) return false;
    const rank = shape.length;
    const start = normAxis(a.i('start', 0), rank);
    const end = a.has('end') ? normAxis(a.i('end', rank), rank) : rank;
    const values = shape.slice(Math.max(0, start), Math.min(rank, end));
    ctx.fold(0, { dtype: 'int64', dims: [values.length], values });
    return true;
  }
  if (op === 'Size') {
    const shape = ctx.shape(0);
    if (!isStatic(shape)) return false;
    ctx.fold(0, { dtype: 'int64', dims: [], values: [product(shape)] });
    return true;
  }
  if (op === 'ConstantOfShape') {
    const dims = ctx.values(0);
    if (!dims || dims.some((d) => !Number.isInteger(d) || d < 0) || product(dims) > MAX_DECODED_ELEMENTS) return false;
    const t = a.raw('value')?.t;
    const fill = t ? decodeTensor(t, `ConstantOfShape ${ctx.name} value`) : undefined;
    const dtype = fill?.dtype ?? 'fp32';
    const v = fill ? (constValues(fill)?.[0] ?? 0) : 0;
    ctx.fold(0, { dtype, dims, values: new Array<number>(product(dims)).fill(v) });
    return true;
  }
  const ins = allFoldable(ctx);
  if (!ins) return false;
  const first = ins[0]!;
  switch (op) {
    case 'Identity': case 'Dropout': ctx.fold(0, first); return true;
    case 'Cast': {
      const dtype = milDtype(a.i('to', 1));
      if (dtype === 'unknown' || dtype === 'string') return false;
      ctx.fold(0, { dtype, dims: first.dims, values: castValues(first.values, dtype) });
      return true;
    }
    case 'Gather': {
      const indices = ctx.folded(1);
      const f = indices && foldGather(first, indices, a.i('axis', 0));
      if (!f) return false;
      ctx.fold(0, f);
      return true;
    }
    case 'ScatterND': {
      if (ins.length !== 3) return false;
      const f = foldScatterND(ins[0]!, ins[1]!, ins[2]!, a.s('reduction', 'none'));
      if (!f) return false;
      ctx.fold(0, f);
      return true;
    }
    case 'Concat': {
      const f = foldConcat(ins, a.i('axis', 0));
      if (!f) return false;
      ctx.fold(0, f);
      return true;
    }
    case 'Unsqueeze': case 'Squeeze': case 'Reshape': case 'Flatten': {
      const shape = staticReshapeTarget(ctx, first.dims);
      if (!shape) return false;
      ctx.fold(0, { dtype: first.dtype, dims: shape, values: first.values });
      return true;
    }
    case 'Transpose': {
      const perm = a.ints('perm') ?? first.dims.map((_, k) => first.dims.length - 1 - k);
      ctx.fold(0, foldTranspose(first, perm));
      return true;
    }
    case 'Slice': {
      const slices = sliceSpec(ctx, first.dims);
      if (!slices || !isStatic(slices.dims)) return false;
      ctx.fold(0, foldSlice(first, slices.axes));
      return true;
    }
    case 'Range': {
      const [s, l, d] = ins.map((i) => i.values[0] ?? NaN);
      const f = foldRange(s!, l!, d!, first.dtype);
      if (!f) return false;
      ctx.fold(0, f);
      return true;
    }
    case 'Div': {
      const isInt = first.dtype.startsWith('int');
      const f = foldElementwise(ins, first.dtype, (x, y) => (isInt ? Math.trunc(x / y) : x / y));
      if (!f) return false;
      ctx.fold(0, f);
      return true;
    }
    case 'Mod': {
      // fmod = 0: the remainder takes the divisor's sign (Python's %), as torch exports `x % window`;
      // fmod = 1: the dividend's (C's fmod). Shape arithmetic such as Swin's window padding goes through it.
      const cStyle = ctx.attrs.i('fmod', 0) === 1;
      const f = foldElementwise(ins, first.dtype, (x, y) => (cStyle ? x % y : x - y * Math.floor(x / y)));
      if (!f) return false;
      ctx.fold(0, f);
      return true;
    }
    case 'Where': {
      if (ins.length !== 3) return false;
      const f = foldElementwise(ins, ins[1]!.dtype, (c, x, y) => (c !== 0 ? x : y));
      if (!f) return false;
      ctx.fold(0, f);
      return true;
    }
    case 'Expand': {
      const target = ctx.values(1);
      if (!target || target.some((d) => !Number.isInteger(d) || d < 0) || product(target) > MAX_DECODED_ELEMENTS) return false;
      const f = foldElementwise([first, { dtype: first.dtype, dims: target, values: new Array<number>(product(target)).fill(0) }], first.dtype, (x) => x);
      if (!f) return false;
      ctx.fold(0, f);
      return true;
    }
    default: break;
  }
  const bin = FOLD_BINARY[op];
  if (bin && ins.length >= 2) {
    const dtype = COMPARISONS.has(op) ? 'bool' : first.dtype;
    let acc: Folded | undefined = first;
    for (const next of ins.slice(1)) acc = acc && foldElementwise([acc, next], dtype, bin);
    if (!acc) return false;
    ctx.fold(0, acc);
    return true;
  }
  const un = FOLD_UNARY[op];
  if (un && ins.length === 1) {
    const f = foldElementwise([first], first.dtype, un);
    if (!f) return false;
    ctx.fold(0, f);
    return true;
  }
  return false;
}

/** Static output shape of Reshape/Flatten/Squeeze/Unsqueeze for an input shape, or undefined. */
function staticReshapeTarget(ctx: NodeCtx, input: Shape | undefined): number[] | undefined {
  const s = reshapeTarget(ctx, input);
  return isStatic(s) ? s : undefined;
}

function reshapeTarget(ctx: NodeCtx, input: Shape | undefined): Shape | undefined {
  const a = ctx.attrs;
  switch (ctx.opType) {
    case 'Reshape': {
      const target = ctx.opset < 5 ? a.ints('shape') : ctx.dims(1);
      return target ? resolveReshapeSymbolic(input, target, a.i('allowzero', 0) === 1) : undefined;
    }
    case 'Flatten': {
      if (!input) return undefined;
      const axis = normAxis(a.i('axis', 1), input.length);
      const lead = input.slice(0, axis);
      const rest = input.slice(axis);
      return [productDims(lead), productDims(rest)];
    }
    case 'Squeeze': {
      if (!input) return undefined;
      const axes = ctx.attrOrInput('axes', 1, 13)?.map((x) => normAxis(x, input.length));
      if (!axes) {
        if (!isStatic(input)) return undefined;
        return input.filter((d) => d !== 1);
      }
      return input.filter((_, k) => !axes.includes(k));
    }
    case 'Unsqueeze': {
      if (!input) return undefined;
      const raw = ctx.attrOrInput('axes', 1, 13);
      if (!raw) return undefined;
      const rank = input.length + raw.length;
      const axes = raw.map((x) => normAxis(x, rank));
      const out: Shape = [];
      let k = 0;
      for (let d = 0; d < rank; d++) out.push(axes.includes(d) ? 1 : input[k++] ?? '?');
      return out;
    }
    default: return undefined;
  }
}

/** Slice parameters resolved against the input shape (all axes), from attrs (<10) or inputs (≥10). */
function sliceSpec(ctx: NodeCtx, input: Shape | undefined): { axes: AxisSlice[]; dims: Shape } | undefined {
  if (!input) return undefined;
  const a = ctx.attrs;
  const starts = ctx.opset < 10 ? a.ints('starts') : ctx.values(1);
  const ends = ctx.opset < 10 ? a.ints('ends') : ctx.values(2);
  const rawAxes = ctx.opset < 10 ? a.ints('axes') : (ctx.input(3) ? ctx.values(3) : undefined);
  const steps = ctx.opset < 10 ? undefined : (ctx.input(4) ? ctx.values(4) : undefined);
  if (!starts || !ends) return undefined;
  if (ctx.opset >= 10 && ((ctx.input(3) && !rawAxes) || (ctx.input(4) && !steps))) return undefined;
  const rank = input.length;
  const axes = (rawAxes ?? starts.map((_, k) => k)).map((x) => normAxis(x, rank));
  const result: AxisSlice[] = input.map((d) => ({ begin: 0, stride: 1, length: typeof d === 'number' ? d : -1 }));
  const dims: Shape = [...input];
  for (let k = 0; k < axes.length; k++) {
    const axis = axes[k]!;
    const dim = input[axis];
    const step = steps?.[k] ?? 1;
    if (dim === undefined || step === 0) return undefined;
    if (typeof dim !== 'number') {
      // Symbolic axis: only a full-range slice keeps a known (symbolic) extent.
      if (starts[k] === 0 && ends[k]! >= 2 ** 31 - 1 && step === 1) continue;
      const toEnd = step > 0 ? ends[k]! >= 2 ** 31 - 1 : ends[k]! <= -(2 ** 31);
      result[axis] = toEnd ? { begin: starts[k]!, stride: step, length: -1 } : { begin: starts[k]!, stride: step, length: -1, end: ends[k]! };
      dims[axis] = '?';
      continue;
    }
    result[axis] = resolveSlice(dim, starts[k]!, ends[k]!, step);
    dims[axis] = result[axis]!.length;
  }
  return { axes: result, dims };
}

/** Convert a 1-D window op input (N, C, L) to 2-D (N, C, 1, L): the ANE and our executor are 2-D. */
function liftTo2d(ctx: NodeCtx, x: string): string {
  const s = ctx.b.shapeOf(x);
  const lifted = ctx.tmp('as2d');
  const shape = s ? [s[0]!, s[1]!, 1, s[2]!] : undefined;
  emitReshape(ctx, x, shape, lifted, ctx.subName('to2d'));
  return lifted;
}

function lowerTo1d(ctx: NodeCtx, y2d: string, output: string): void {
  const s = ctx.b.shapeOf(y2d);
  const shape = s ? [s[0]!, s[1]!, s[3]!] : undefined;
  emitReshape(ctx, y2d, shape, output, ctx.subName('to1d'));
}

/** Begin/end pads per spatial axis from pads/auto_pad. */
function windowPads(ctx: NodeCtx, spatial: Shape, kernel: number[], strides: number[], dilations: number[]): Array<[number, number]> {
  const a = ctx.attrs;
  const n = kernel.length;
  const autoPad = a.s('auto_pad', 'NOTSET');
  if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    return kernel.map((k, i) => {
      const d = spatial[i];
      if (typeof d !== 'number') { ctx.warn(`${autoPad} on a symbolic axis: padding assumed 0`); return [0, 0]; }
      return samePadding(d, k, strides[i]!, dilations[i]!, autoPad === 'SAME_UPPER');
    });
  }
  if (autoPad === 'VALID') return kernel.map(() => [0, 0]);
  const pads = a.ints('pads') ?? new Array<number>(2 * n).fill(0);
  return kernel.map((_, i) => [pads[i] ?? 0, pads[i + n] ?? 0]);
}

function handleConv(ctx: NodeCtx): void {
  const a = ctx.attrs;
  let x = ctx.input(0);
  let w = ctx.input(1);
  const xs = ctx.shape(0);
  const ws = ctx.shape(1);
  const rank = xs?.length ?? ws?.length;
  if (rank === undefined) {
    ctx.warn('input rank unknown; conv kept without shape');
    ctx.emit('conv', ctx.inputs, { dtype: ctx.dtype(0) }, genericAttrs(ctx.node));
    return;
  }
  const nSpatial = rank - 2;
  let kernel = a.ints('kernel_shape') ?? (ws ? ws.slice(2).map((d) => (typeof d === 'number' ? d : 1)) : []);
  let strides = a.ints('strides') ?? new Array<number>(nSpatial).fill(1);
  let dilations = a.ints('dilations') ?? new Array<number>(nSpatial).fill(1);
  const spatial = xs ? xs.slice(2) : new Array<string>(nSpatial).fill('?');
  let pads = windowPads(ctx, spatial, kernel, strides, dilations);
  const groups = a.i('group', 1);
  const is1d = nSpatial === 1;
  let sp = spatial;
  if (is1d) {
    x = liftTo2d(ctx, x);
    const wc = ctx.b.constOf(w);
    if (wc && ws && isStatic(ws)) {
      w = ctx.b.addConst(ctx.b.fresh(`${w}/as2d`), { ...wc, dims: [ws[0]!, ws[1]!, 1, ws[2]!] });
    } else {
      const w2 = ctx.tmp('weight2d');
      emitReshape(ctx, w, ws ? [ws[0]!, ws[1]!, 1, ws[2]!] : undefined, w2, ctx.subName('weight_to2d'));
      w = w2;
    }
    kernel = [1, kernel[0]!];
    strides = [1, strides[0]!];
    dilations = [1, dilations[0]!];
    pads = [[0, 0], pads[0]!];
    sp = [1, spatial[0]!];
  }
  const outSpatial = sp.map((d, i) => windowOut(d, kernel[i]!, strides[i]!, pads[i]![0], pads[i]![1], dilations[i]!, false));
  const outShape: Shape = [xs?.[0] ?? '?', ws?.[0] ?? '?', ...outSpatial];
  const attrs: Record<string, AttrValue> = {
    strides, dilations, groups,
    pad: pads.flatMap(([b, e]) => [b, e]),
  };
  const inputs = [x, w, ctx.input(2)].filter((v, k) => k < 2 || v);
  if (is1d) {
    const y2 = ctx.tmp('conv2d');
    ctx.emit('conv', inputs, { dtype: ctx.dtype(0), shape: outShape }, attrs, ctx.name, y2);
    lowerTo1d(ctx, y2, ctx.out());
  } else {
    ctx.emit('conv', inputs, { dtype: ctx.dtype(0), shape: outShape }, attrs);
  }
}

function handlePool(ctx: NodeCtx, op: 'avg_pool' | 'max_pool'): void {
  const a = ctx.attrs;
  const xs = ctx.shape(0);
  const kernel = a.ints('kernel_shape') ?? [];
  const n = kernel.length;
  let x = ctx.input(0);
  let strides = a.ints('strides') ?? new Array<number>(n).fill(1);
  const dilations = a.ints('dilations') ?? new Array<number>(n).fill(1);
  if (dilations.some((d) => d !== 1)) ctx.warn('dilated pooling is not expressible in MIL pooling; dilations ignored');
  const spatial = xs ? xs.slice(2) : new Array<string>(n).fill('?');
  let pads = windowPads(ctx, spatial, kernel, strides, dilations);
  const ceil = a.i('ceil_mode', 0) === 1;
  let k2 = kernel;
  let sp = spatial;
  const is1d = n === 1;
  if (is1d) {
    x = liftTo2d(ctx, x);
    k2 = [1, kernel[0]!];
    strides = [1, strides[0]!];
    pads = [[0, 0], pads[0]!];
    sp = [1, spatial[0]!];
  }
  const outSpatial = sp.map((d, i) => windowOut(d, k2[i]!, strides[i]!, pads[i]![0], pads[i]![1], 1, ceil));
  const outShape: Shape | undefined = xs ? [xs[0]!, xs[1]!, ...outSpatial] : undefined;
  const attrs: Record<string, AttrValue> = {
    kernel_sizes: k2, strides, pad: pads.flatMap(([b, e]) => [b, e]), ceil_mode: ceil,
  };
  if (op === 'avg_pool') attrs.exclude_padding_from_average = a.i('count_include_pad', 0) === 0;
  if (is1d) {
    const y2 = ctx.tmp('pool2d');
    ctx.emit(op, [x], withShape(ctx.dtype(0), outShape), attrs, ctx.name, y2);
    lowerTo1d(ctx, y2, ctx.out());
  } else {
    ctx.emit(op, [x], withShape(ctx.dtype(0), outShape), attrs);
  }
  if (ctx.outputs.length > 1 && ctx.outputs[1]) ctx.warn('MaxPool indices output is not produced');
}

/** Transpose a 2-D constant's bytes (Gemm with transB=0 → linear weight (out, in)). */
function transposedConst(ctx: NodeCtx, name: string): string | undefined {
  const c = ctx.b.constOf(name);
  if (!c || c.dims.length !== 2 || c.unavailable || !c.bytes) return undefined;
  const [rows, cols] = c.dims as [number, number];
  const size = c.bytes.byteLength / Math.max(1, rows * cols);
  const out = new Uint8Array(c.bytes.byteLength);
  for (let r = 0; r < rows; r++) {
    for (let k = 0; k < cols; k++) out.set(c.bytes.subarray((r * cols + k) * size, (r * cols + k + 1) * size), (k * rows + r) * size);
  }
  return ctx.b.addConst(ctx.b.fresh(`${name}/transposed`), { dtype: c.dtype, dims: [cols, rows], bytes: out });
}

function handleGemm(ctx: NodeCtx): void {
  const a = ctx.attrs;
  const alpha = a.f('alpha', 1);
  const beta = a.f('beta', 1);
  const transA = a.i('transA', 0) === 1;
  const transB = a.i('transB', 0) === 1;
  const A = ctx.input(0);
  const B = ctx.input(1);
  const C = ctx.input(2);
  const dtype = ctx.dtype(0);
  const outShape = matmulShape(ctx.shape(0), ctx.shape(1), transA, transB);
  const bConst = ctx.b.constOf(B);
  const cShape = C ? ctx.shape(2) : undefined;
  const n = outShape?.[1];
  const biasOk = !C || (beta === 1 && !!ctx.b.constOf(C) && !!cShape && typeof n === 'number'
    && product(cShape.map((d) => (typeof d === 'number' ? d : NaN))) === n && (cShape.length === 1 || (cShape.length === 2 && cShape[0] === 1)));
  if (!transA && alpha === 1 && bConst && biasOk) {
    const weight = transB ? B : transposedConst(ctx, B);
    if (weight) {
      let bias = '';
      if (C) {
        const cc = ctx.b.constOf(C)!;
        bias = cc.dims.length === 1 ? C : ctx.b.addConst(ctx.b.fresh(`${C}/1d`), { ...cc, dims: [n as number] });
      }
      ctx.emit('linear', bias ? [A, weight, bias] : [A, weight], withShape(dtype, outShape));
      return;
    }
  }
  // General case: matmul, then the scalings and the bias as separate elementwise ops.
  let y = C || alpha !== 1 ? ctx.tmp('matmul') : ctx.out();
  ctx.b.emit('matmul', 'Gemm', ctx.name, [A, B], [{ name: y, type: withShape(dtype, outShape) }], { transpose_x: transA, transpose_y: transB });
  if (alpha !== 1) {
    const scaled = C ? ctx.tmp('alpha') : ctx.out();
    ctx.b.emit('mul', 'Gemm', ctx.subName('alpha'), [y, ctx.b.makeConst(`${ctx.name}/alpha`, [alpha], 'fp32')], [{ name: scaled, type: withShape(dtype, outShape) }]);
    y = scaled;
  }
  if (C) {
    let c = C;
    if (beta !== 1) {
      c = ctx.tmp('beta');
      ctx.b.emit('mul', 'Gemm', ctx.subName('beta'), [C, ctx.b.makeConst(`${ctx.name}/beta`, [beta], 'fp32')], [{ name: c, type: withShape(dtype, cShape) }]);
    }
    ctx.b.emit('add', 'Gemm', ctx.subName('bias'), [y, c], [{ name: ctx.out(), type: withShape(dtype, broadcastShapes(outShape, cShape)) }]);
  }
}

function handleSoftmax(ctx: NodeCtx, logAfter: boolean): void {
  const xs = ctx.shape(0);
  const dtype = ctx.dtype(0);
  const legacy = ctx.opset < 13;
  const axisRaw = ctx.attrs.i('axis', legacy ? 1 : -1);
  const rank = xs?.length;
  const finish = (y: string) => {
    if (!logAfter) return;
    ctx.b.emit('log', ctx.opType, ctx.subName('log'), [y], [{ name: ctx.out(), type: withShape(dtype, xs) }]);
  };
  const softOut = logAfter ? ctx.tmp('softmax') : ctx.out();
  if (rank === undefined) {
    ctx.warn('input rank unknown; softmax axis taken as given');
    ctx.emit('softmax', [ctx.input(0)], { dtype }, { axis: axisRaw }, ctx.name, softOut);
    finish(softOut);
    return;
  }
  const axis = normAxis(axisRaw, rank);
  // Before opset 13 Softmax works on the input flattened to 2-D at `axis`: one softmax over all trailing
  // axes together. That equals a plain softmax when `axis` is the last axis or every later axis is 1;
  // otherwise it becomes reshape → softmax(last) → reshape.
  const trailing = xs!.slice(axis + 1);
  if (!legacy || axis === rank - 1 || trailing.every((d) => d === 1)) {
    ctx.emit('softmax', [ctx.input(0)], withShape(dtype, xs), { axis }, ctx.name, softOut);
  } else if (isStatic(xs)) {
    const flat = ctx.tmp('flat');
    emitReshape(ctx, ctx.input(0), [product(xs.slice(0, axis)), product(xs.slice(axis))], flat, ctx.subName('flatten'));
    const soft = ctx.tmp('flat_softmax');
    ctx.emit('softmax', [flat], { dtype, shape: [product(xs.slice(0, axis)), product(xs.slice(axis))] }, { axis: 1 }, ctx.name, soft);
    emitReshape(ctx, soft, xs, softOut, ctx.subName('unflatten'));
  } else {
    ctx.warn(`opset ${ctx.opset} softmax over trailing axes from ${axis} on a symbolic shape: approximated by softmax on axis ${axis}`);
    ctx.emit('softmax', [ctx.input(0)], withShape(dtype, xs), { axis }, ctx.name, softOut);
  }
  finish(softOut);
}

function handleReduce(ctx: NodeCtx, op: string): void {
  const xs = ctx.shape(0);
  const a = ctx.attrs;
  const keep = a.i('keepdims', 1) === 1;
  // ReduceSum moved axes to an input at opset 13; the other reductions at opset 18.
  const since = ctx.opType === 'ReduceSum' ? 13 : 18;
  let axes = ctx.attrOrInput('axes', 1, since);
  if (ctx.opset >= since && ctx.input(1) && !axes) {
    ctx.warn('axes input is not constant');
    ctx.emit(op, [ctx.input(0)], { dtype: ctx.dtype(0) }, { keep_dims: keep });
    return;
  }
  if (!axes || axes.length === 0) {
    if (a.i('noop_with_empty_axes', 0) === 1) {
      ctx.emit('identity', [ctx.input(0)], ctx.type(0));
      return;
    }
    axes = xs ? xs.map((_, k) => k) : undefined;
  }
  const rank = xs?.length;
  const norm = axes && rank !== undefined ? axes.map((x) => normAxis(x, rank)) : axes;
  const outShape = xs && norm ? (keep ? xs.map((d, k) => (norm.includes(k) ? 1 : d)) : xs.filter((_, k) => !norm.includes(k))) : undefined;
  const attrs: Record<string, AttrValue> = { keep_dims: keep };
  if (norm) attrs.axes = norm;
  ctx.emit(op, [ctx.input(0)], withShape(ctx.dtype(0), outShape), attrs);
}

function handleArgReduce(ctx: NodeCtx, op: string): void {
  const xs = ctx.shape(0);
  const keep = ctx.attrs.i('keepdims', 1) === 1;
  const axis = xs ? normAxis(ctx.attrs.i('axis', 0), xs.length) : ctx.attrs.i('axis', 0);
  const outShape = xs ? (keep ? xs.map((d, k) => (k === axis ? 1 : d)) : xs.filter((_, k) => k !== axis)) : undefined;
  ctx.emit(op, [ctx.input(0)], withShape('int64', outShape), { axis, keep_dims: keep });
}

function handleClip(ctx: NodeCtx): void {
  let lo = -FLT_MAX;
  let hi = FLT_MAX;
  if (ctx.opset < 11) {
    lo = ctx.attrs.f('min', -FLT_MAX);
    hi = ctx.attrs.f('max', FLT_MAX);
  } else {
    const minName = ctx.input(1);
    const maxName = ctx.input(2);
    const min = minName ? ctx.values(1) : undefined;
    const max = maxName ? ctx.values(2) : undefined;
    if ((minName && !min) || (maxName && !max)) {
      ctx.warn('clip bounds are not constant; kept as inputs');
      ctx.emit('clip', ctx.inputs, ctx.type(0));
      return;
    }
    if (min?.[0] !== undefined) lo = min[0];
    if (max?.[0] !== undefined) hi = max[0];
  }
  lo = Math.max(lo, -FLT_MAX);
  hi = Math.min(hi, FLT_MAX);
  if (lo === 0 && hi === FLT_MAX) ctx.emit('relu', [ctx.input(0)], ctx.type(0));
  else ctx.emit('clip', [ctx.input(0)], ctx.type(0), { alpha: lo, beta: hi });
}

function handleSlice(ctx: NodeCtx): void {
  const xs = ctx.shape(0);
  const spec = sliceSpec(ctx, xs);
  if (!spec) {
    ctx.warn('slice parameters are not constant');
    ctx.emit('slice_by_index', ctx.inputs, { dtype: ctx.dtype(0) });
    return;
  }
  const begin = spec.axes.map((s) => s.begin);
  const stride = spec.axes.map((s) => s.stride);
  // end is exclusive; with a negative stride reaching index 0 it would be -1, which MIL reads as "last",
  // so such axes set end_mask instead.
  // Symbolic axes keep ONNX's raw (Python-style, possibly negative) indices, with end_mask when they
  // run to the end.
  const end = spec.axes.map((s) => (s.length < 0 ? (s.end ?? 0) : s.begin + s.length * s.stride));
  const endMask = spec.axes.map((s) => (s.length < 0 ? (s.end === undefined ? 1 : 0) : s.begin + s.length * s.stride < 0 ? 1 : 0));
  const attrs: Record<string, AttrValue> = { begin, end: end.map((e, k) => (endMask[k] ? 0 : e)), stride };
  if (endMask.some((m) => m)) attrs.end_mask = endMask;
  ctx.emit('slice_by_index', [ctx.input(0)], withShape(ctx.dtype(0), spec.dims), attrs);
}

function handleSplit(ctx: NodeCtx): void {
  const xs = ctx.shape(0);
  const rank = xs?.length ?? 0;
  const axis = normAxis(ctx.attrs.i('axis', 0), rank);
  let sizes = ctx.attrOrInput('split', 1, 13);
  const dim = xs?.[axis];
  const nOut = ctx.outputs.length;
  if (!sizes && typeof dim === 'number') {
    const chunk = Math.ceil(dim / nOut);
    sizes = Array.from({ length: nOut }, (_, k) => Math.max(0, Math.min(chunk, dim - k * chunk)));
  }
  const attrs: Record<string, AttrValue> = { axis };
  if (sizes) attrs.split_sizes = sizes;
  ctx.b.emit('split', ctx.opType, ctx.name, [ctx.input(0)], ctx.outputs.map((o, k) => ({
    name: o,
    type: withShape(ctx.dtype(0), xs && sizes ? xs.map((d, j) => (j === axis ? sizes![k]! : d)) : undefined),
  })), attrs);
}

function handlePad(ctx: NodeCtx): void {
  const xs = ctx.shape(0);
  const a = ctx.attrs;
  const mode = a.s('mode', 'constant');
  const raw = ctx.opset < 11 ? (a.ints('pads') ?? a.ints('paddings')) : ctx.values(1);
  const value = ctx.opset < 11 ? a.f('value', 0) : (ctx.input(2) ? (ctx.values(2)?.[0] ?? 0) : 0);
  const rank = xs?.length;
  if (!raw || rank === undefined) {
    ctx.warn('pads are not constant or the input rank is unknown');
    ctx.emit('pad', [ctx.input(0)], { dtype: ctx.dtype(0) }, { mode });
    return;
  }
  const axesIn = ctx.opset >= 18 && ctx.input(3) ? ctx.values(3)?.map((x) => normAxis(x, rank)) : undefined;
  const axes = axesIn ?? Array.from({ length: rank }, (_, k) => k);
  const n = axes.length;
  const perAxis = new Array<number>(2 * rank).fill(0);
  axes.forEach((ax, k) => { perAxis[2 * ax] = raw[k] ?? 0; perAxis[2 * ax + 1] = raw[k + n] ?? 0; });
  const outShape = xs!.map((d, k) => dimOp(d, (v) => v + perAxis[2 * k]! + perAxis[2 * k + 1]!, '?'));
  const milMode = mode === 'edge' ? 'replicate' : mode;
  ctx.emit('pad', [ctx.input(0)], withShape(ctx.dtype(0), outShape), { pad: perAxis, mode: milMode, constant_val: value });
}

function handleResize(ctx: NodeCtx): void {
  const xs = ctx.shape(0);
  const a = ctx.attrs;
  const mode = a.s('mode', 'nearest');
  let scales: number[] | undefined;
  let sizes: number[] | undefined;
  if (ctx.opType === 'Upsample') {
    scales = ctx.opset < 9 ? a.floats('scales') : ctx.values(1);
  } else if (ctx.opset < 11) {
    scales = ctx.values(1);
  } else {
    const s = ctx.input(2) ? ctx.values(2) : undefined;
    scales = s && s.length > 0 ? s : undefined;
    sizes = ctx.input(3) ? ctx.values(3) : undefined;
  }
  if (!scales && sizes && isStatic(xs)) scales = sizes.map((s, k) => s / xs[k]!);
  const rank = xs?.length;
  if (!scales || rank !== 4 || scales[0] !== 1 || scales[1] !== 1) {
    ctx.warn('only 4-D resizes with constant spatial scales are normalized');
    ctx.emit(mode === 'nearest' ? 'resize_nearest_neighbor' : 'resize_bilinear', [ctx.input(0)], { dtype: ctx.dtype(0) }, genericAttrs(ctx.node));
    return;
  }
  const [sh, sw] = [scales[2]!, scales[3]!];
  const outShape = sizes && sizes.length === 4 ? sizes : xs!.map((d, k) => dimOp(d, (v) => Math.floor(v * scales![k]!), '?'));
  const attrs: Record<string, AttrValue> = { scale_factor_height: sh, scale_factor_width: sw };
  if (mode === 'nearest') {
    ctx.emit('upsample_nearest_neighbor', [ctx.input(0)], withShape(ctx.dtype(0), outShape), attrs);
  } else {
    const ctm = a.s('coordinate_transformation_mode', 'half_pixel');
    attrs.align_corners = ctm === 'align_corners';
    attrs.sampling_mode = ctm === 'align_corners' ? 'STRICT_ALIGN_CORNERS' : ctm === 'asymmetric' ? 'OFFSET_CORNERS' : 'DEFAULT';
    if (typeof outShape[2] === 'number') attrs.target_size_height = outShape[2];
    if (typeof outShape[3] === 'number') attrs.target_size_width = outShape[3];
    if (mode !== 'linear') ctx.warn(`resize mode "${mode}" approximated as bilinear`);
    ctx.emit('resize_bilinear', [ctx.input(0)], withShape(ctx.dtype(0), outShape), attrs);
  }
}

function handleRecurrent(ctx: NodeCtx, op: string): void {
  const a = ctx.attrs;
  const xs = ctx.shape(0);
  const hidden = a.i('hidden_size', 0) || undefined;
  const dirs = a.s('direction', 'forward') === 'bidirectional' ? 2 : 1;
  const batchFirst = a.i('layout', 0) === 1;
  const h = hidden ?? '?';
  let yShape: Shape | undefined;
  let stateShape: Shape | undefined;
  if (xs && xs.length === 3) {
    const [seq, batch] = batchFirst ? [xs[1]!, xs[0]!] : [xs[0]!, xs[1]!];
    yShape = batchFirst ? [batch, seq, dirs, h] : [seq, dirs, batch, h];
    stateShape = batchFirst ? [batch, dirs, h] : [dirs, batch, h];
  }
  const dtype = ctx.dtype(0);
  ctx.b.emit(op, ctx.opType, ctx.name, ctx.inputs, ctx.outputs.map((o, k) => ({
    name: o, type: withShape(dtype, k === 0 ? yShape : stateShape),
  })).filter((o) => o.name), genericAttrs(ctx.node));
}

function handleGather(ctx: NodeCtx): void {
  const data = ctx.shape(0);
  const idx = ctx.shape(1);
  const axis = data ? normAxis(ctx.attrs.i('axis', 0), data.length) : ctx.attrs.i('axis', 0);
  const outShape = data && idx ? [...data.slice(0, axis), ...idx, ...data.slice(axis + 1)] : undefined;
  ctx.emit('gather', [ctx.input(0), ctx.input(1)], withShape(ctx.dtype(0), outShape), { axis });
}

function handlePassThrough(ctx: NodeCtx, op: string): void {
  const attrs = genericAttrs(ctx.node);
  let subgraphs = 0;
  for (const at of ctx.node.attribute ?? []) {
    if (at.g) { subgraphs++; attrs[`${at.name}_ops`] = countSubgraphOps(at.g); }
    for (const g of at.graphs ?? []) { subgraphs++; attrs[`${at.name}_ops`] = countSubgraphOps(g); }
  }
  if (subgraphs > 0) {
    attrs.subgraphs = subgraphs;
    ctx.warn(`${subgraphs} subgraph(s) with ${countSubgraphOps({ node: [ctx.node] }) - 1} op(s) are counted, not expanded`);
  }
  const unary = ['Mish', 'IsNaN', 'IsInf', 'Hardmax', 'InstanceNormalization', 'LRN', 'LpNormalization', 'MeanVarianceNormalization', 'CumSum', 'QuantizeLinear', 'DequantizeLinear'];
  const sameShape = unary.includes(ctx.opType) ? ctx.shape(0) : undefined;
  ctx.b.emit(op, ctx.opType, ctx.name, ctx.inputs, ctx.outputs.filter((o) => o).map((o) => ({
    name: o, type: sameShape ? { dtype: ctx.dtype(0), shape: sameShape } : undefined,
  })), attrs);
}

/** snake_case of an ONNX op type with no MIL counterpart, marked so placement treats it as unknown. */
function unmappedName(opType: string, domain: string): string {
  const snake = opType.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
  return domain && domain !== 'ai.onnx' ? `${domain}.${snake}` : `onnx.${snake}`;
}

/** Normalize one node into the builder. */
export function normalizeNode(b: GraphBuilder, node: OnnxNode, opset: number, index: number): void {
  const ctx = new NodeCtx(b, node, opset, index);
  const sv = node.domain && node.domain !== 'ai.onnx' ? undefined : shapeValueOf(ctx);
  if (sv && ctx.out() && sv.values.every((d) => typeof d === 'number')) {
    // Shape arithmetic that turned out fully static (e.g. the channel count of a dynamic-batch tensor).
    b.addConst(ctx.out(), { dtype: sv.dtype, dims: sv.scalar ? [] : [sv.values.length], values: sv.values as number[] });
    return;
  }
  normalizeInto(ctx);
  if (sv && ctx.out() && !b.consts.has(ctx.out())) b.shapeValues.set(ctx.out(), sv.values);
}

interface ShapeValue { values: Dim[]; scalar: boolean; dtype: DType }

function isScalar(ctx: NodeCtx, k: number): boolean {
  return ctx.shape(k)?.length === 0;
}

/**
 * Follow run-time shape tensors symbolically (Shape of a tensor with symbolic dims and the integer
 * arithmetic torch applies to it), so a Reshape fed by them still gets a known output shape, and
 * whatever part is static folds to constants.
 */
function shapeValueOf(ctx: NodeCtx): ShapeValue | undefined {
  const intType = (k: number): DType => { const d = ctx.dtype(k); return d.startsWith('int') ? d : 'int64'; };
  const make = (values: Dim[] | undefined, scalar: boolean, dtype: DType): ShapeValue | undefined =>
    values && values.length <= 64 && values.every((d) => d !== undefined) ? { values, scalar, dtype } : undefined;
  switch (ctx.opType) {
    case 'Shape': {
      const shape = ctx.shape(0);
      if (!shape) return undefined;
      const rank = shape.length;
      const start = Math.max(0, normAxis(ctx.attrs.i('start', 0), rank));
      const end = ctx.attrs.has('end') ? normAxis(ctx.attrs.i('end', rank), rank) : rank;
      return make(shape.slice(start, Math.min(rank, end)), false, 'int64');
    }
    case 'Gather': {
      const data = ctx.dims(0);
      const idx = ctx.values(1);
      const idxConst = ctx.b.constOf(ctx.input(1));
      if (!data || !idx || !idxConst || idxConst.dims.length > 1 || (ctx.shape(0)?.length ?? 0) !== 1) return undefined;
      const picked = idx.map((i) => data[i < 0 ? i + data.length : i]);
      return make(picked as Dim[], idxConst.dims.length === 0, intType(0));
    }
    case 'Unsqueeze':
      return isScalar(ctx, 0) ? make(ctx.dims(0), false, intType(0)) : undefined;
    case 'Squeeze':
      return ctx.shape(0)?.length === 1 && ctx.dims(0)?.length === 1 ? make(ctx.dims(0), true, intType(0)) : undefined;
    case 'Cast': {
      const to = milDtype(ctx.attrs.i('to', 1));
      return to.startsWith('int') ? make(ctx.dims(0), isScalar(ctx, 0), to) : undefined;
    }
    case 'Identity':
      return make(ctx.dims(0), isScalar(ctx, 0), intType(0));
    case 'Reshape': case 'Flatten':
      return (ctx.shape(0)?.length ?? 2) <= 1 && ctx.opType === 'Reshape' && ctx.values(1)?.length === 1
        ? make(ctx.dims(0), false, intType(0)) : undefined;
    case 'Concat': {
      const parts = ctx.inputs.filter((i) => i).map((i) => ctx.b.dimValuesOf(i));
      if (parts.length === 0 || !parts.every((p) => p)) return undefined;
      if (!ctx.inputs.filter((i) => i).every((i) => ctx.b.shapeOf(i)?.length === 1)) return undefined;
      return make(parts.flat() as Dim[], false, intType(0));
    }
    case 'Slice': {
      const data = ctx.dims(0);
      if (!data || ctx.shape(0)?.length !== 1) return undefined;
      const spec = sliceSpec(ctx, [data.length]);
      const s = spec?.axes[0];
      if (!s || s.length < 0) return undefined;
      return make(Array.from({ length: s.length }, (_, k) => data[s.begin + k * s.stride]!), false, intType(0));
    }
    case 'Add': case 'Sub': case 'Mul': case 'Div': {
      const x = ctx.dims(0);
      const y = ctx.dims(1);
      if (!x || !y || (x.length !== y.length && x.length !== 1 && y.length !== 1)) return undefined;
      if (!ctx.dtype(0).startsWith('int') || !ctx.dtype(1).startsWith('int')) return undefined;
      const n = Math.max(x.length, y.length);
      const values = Array.from({ length: n }, (_, k) => arithDims(ctx.opType, x[x.length === 1 ? 0 : k]!, y[y.length === 1 ? 0 : k]!));
      return make(values, isScalar(ctx, 0) && isScalar(ctx, 1), intType(0));
    }
    default: return undefined;
  }
}

function normalizeInto(ctx: NodeCtx): void {
  const b = ctx.b;
  const node = ctx.node;
  const op = ctx.opType;
  const domain = node.domain ?? '';
  if (domain && domain !== 'ai.onnx') {
    handlePassThrough(ctx, unmappedName(op, domain));
    return;
  }
  if (op === 'Constant') { handleConstant(ctx); return; }
  if (tryFold(ctx)) return;
  const dtype = ctx.dtype(0);
  const a = ctx.attrs;

  switch (op) {
    case 'Identity': case 'Dropout':
      // A folded identity renames its output to its input, unless the output is a graph output whose name must survive.
      if (b.isGraphOutput(ctx.out())) ctx.emit('identity', [ctx.input(0)], ctx.type(0));
      else b.alias(ctx.out(), ctx.input(0));
      if (op === 'Dropout' && ctx.outputs[1]) ctx.warn('Dropout mask output is not produced');
      return;
    case 'Conv': handleConv(ctx); return;
    case 'Gemm': handleGemm(ctx); return;
    case 'MatMul':
      ctx.emit('matmul', [ctx.input(0), ctx.input(1)], withShape(dtype, matmulShape(ctx.shape(0), ctx.shape(1))), { transpose_x: false, transpose_y: false });
      return;
    case 'Softmax': handleSoftmax(ctx, false); return;
    case 'LogSoftmax': handleSoftmax(ctx, true); return;
    case 'BatchNormalization': {
      const [x, scale, bias, mean, variance] = [0, 1, 2, 3, 4].map((k) => ctx.input(k));
      ctx.emit('batch_norm', [x!, mean!, variance!, scale!, bias!], ctx.type(0), { epsilon: a.f('epsilon', 1e-5) });
      return;
    }
    case 'LayerNormalization': {
      const xs = ctx.shape(0);
      const rank = xs?.length;
      let axis = a.i('axis', -1);
      if (rank !== undefined && (normAxis(axis, rank) < 0 || normAxis(axis, rank) >= rank)) {
        ctx.warn(`axis ${axis} is outside rank ${rank}; normalizing over the last axis`);
        axis = -1;
      }
      const axes = rank !== undefined ? Array.from({ length: rank - normAxis(axis, rank) }, (_, k) => normAxis(axis, rank) + k) : [axis];
      const inputs = [ctx.input(0), ctx.input(1), ctx.input(2)];
      while (inputs.length > 1 && !inputs[inputs.length - 1]) inputs.pop();
      ctx.b.emit('layer_norm', op, ctx.name, inputs, [{ name: ctx.out(), type: ctx.type(0) }], { axes, epsilon: a.f('epsilon', 1e-5) });
      return;
    }
    case 'GlobalAveragePool': case 'GlobalMaxPool': {
      const xs = ctx.shape(0);
      const axes = xs ? xs.slice(2).map((_, k) => k + 2) : [2, 3];
      ctx.emit(op === 'GlobalAveragePool' ? 'reduce_mean' : 'reduce_max', [ctx.input(0)],
        withShape(dtype, xs?.map((d, k) => (k >= 2 ? 1 : d))), { axes, keep_dims: true });
      return;
    }
    case 'AveragePool': handlePool(ctx, 'avg_pool'); return;
    case 'MaxPool': handlePool(ctx, 'max_pool'); return;
    case 'Flatten': case 'Reshape': case 'Squeeze': case 'Unsqueeze':
      emitReshape(ctx, ctx.input(0), reshapeTarget(ctx, ctx.shape(0)), ctx.out(), ctx.name);
      return;
    case 'Transpose': {
      const xs = ctx.shape(0);
      const perm = a.ints('perm') ?? (xs ? xs.map((_, k) => xs.length - 1 - k) : undefined);
      ctx.emit('transpose', [ctx.input(0)], withShape(dtype, xs && perm ? perm.map((p) => xs[p]!) : undefined), perm ? { perm } : {});
      return;
    }
    case 'Concat': {
      const shapes = ctx.inputs.map((_, k) => ctx.shape(k));
      const first = shapes.find((s) => s);
      const axis = first ? normAxis(a.i('axis', 0), first.length) : a.i('axis', 0);
      let outShape: Shape | undefined;
      if (first && shapes.every((s) => s && s.length === first.length)) {
        const total = shapes.map((s) => s![axis]!);
        outShape = first.map((d, k) => (k === axis ? (total.every((t) => typeof t === 'number') ? (total as number[]).reduce((x, y) => x + y, 0) : '?') : d));
      }
      ctx.emit('concat', ctx.inputs.filter((i) => i), withShape(dtype, outShape), { axis });
      return;
    }
    case 'Split': handleSplit(ctx); return;
    case 'Slice': handleSlice(ctx); return;
    case 'Pad': handlePad(ctx); return;
    case 'Resize': case 'Upsample': handleResize(ctx); return;
    case 'Clip': handleClip(ctx); return;
    case 'Gather': handleGather(ctx); return;
    case 'Neg':
      ctx.emit('mul', [ctx.input(0), b.makeConst(`${ctx.name}/minus_one`, [-1], dtype === 'unknown' ? 'fp32' : dtype)], ctx.type(0));
      return;
    case 'Gelu': {
      const approx = a.s('approximate', 'none');
      ctx.emit('gelu', [ctx.input(0)], ctx.type(0), { mode: approx === 'tanh' ? 'TANH_APPROXIMATION' : 'EXACT' });
      return;
    }
    case 'HardSigmoid':
      ctx.emit('sigmoid_hard', [ctx.input(0)], ctx.type(0), { alpha: a.f('alpha', 0.2), beta: a.f('beta', 0.5) });
      return;
    case 'HardSwish': {
      const hs = ctx.tmp('hard_sigmoid');
      ctx.b.emit('sigmoid_hard', op, ctx.subName('sigmoid_hard'), [ctx.input(0)], [{ name: hs, type: ctx.type(0) }], { alpha: 1 / 6, beta: 0.5 });
      ctx.emit('mul', [ctx.input(0), hs], ctx.type(0));
      return;
    }
    case 'Cast': {
      const to = milDtype(a.i('to', 1));
      ctx.emit('cast', [ctx.input(0)], withShape(to, ctx.shape(0)), { dtype: to });
      return;
    }
    case 'Sum': case 'Mean': {
      // Variadic sums become a chain of adds (then a scale for Mean).
      const ins = ctx.inputs.filter((i) => i);
      let acc = ins[0]!;
      let shape = ctx.b.shapeOf(acc);
      for (let k = 1; k < ins.length; k++) {
        shape = broadcastShapes(shape, ctx.b.shapeOf(ins[k]!));
        const last = k === ins.length - 1 && op === 'Sum';
        const next = last ? ctx.out() : ctx.tmp(`sum${k}`);
        ctx.b.emit('add', op, k === 1 ? ctx.name : ctx.subName(`add${k}`), [acc, ins[k]!], [{ name: next, type: withShape(dtype, shape) }]);
        acc = next;
      }
      if (op === 'Mean' || ins.length === 1) {
        ctx.b.emit('mul', op, ins.length === 1 ? ctx.name : ctx.subName('mean'), [acc, b.makeConst(`${ctx.name}/inv_n`, [1 / ins.length], 'fp32')], [{ name: ctx.out(), type: withShape(dtype, shape) }]);
      }
      return;
    }
    default: break;
  }
  if (REDUCE[op]) { handleReduce(ctx, REDUCE[op]!); return; }
  if (op === 'ArgMax' || op === 'ArgMin') { handleArgReduce(ctx, PASS_THROUGH[op]!); return; }
  if (UNARY[op]) {
    const attrs: Record<string, AttrValue> = {};
    if (op === 'Elu' || op === 'LeakyRelu' || op === 'Celu') attrs.alpha = a.f('alpha', op === 'LeakyRelu' ? 0.01 : 1);
    if (op === 'Selu') { attrs.alpha = a.f('alpha', 1.67326319217681884765625); attrs.gamma = a.f('gamma', 1.05070102214813232421875); }
    if (op === 'ThresholdedRelu') attrs.alpha = a.f('alpha', 1);
    const outDtype = op === 'IsNaN' || op === 'IsInf' || op === 'Not' ? 'bool' : dtype;
    ctx.emit(UNARY[op]!, [ctx.input(0)], withShape(outDtype, ctx.shape(0)), attrs);
    return;
  }
  if (BINARY[op]) {
    const ins = ctx.inputs.filter((i) => i);
    const mil = BINARY[op]!;
    const outDtype = COMPARISONS.has(op) ? 'bool' : dtype;
    if (ins.length <= 2) {
      ctx.emit(mil, ins, withShape(outDtype, broadcastShapes(ctx.shape(0), ins[1] ? ctx.b.shapeOf(ins[1]) : ctx.shape(0))));
      return;
    }
    // Variadic Max/Min: a chain of binary ops.
    let acc = ins[0]!;
    let shape = ctx.b.shapeOf(acc);
    for (let k = 1; k < ins.length; k++) {
      shape = broadcastShapes(shape, ctx.b.shapeOf(ins[k]!));
      const next = k === ins.length - 1 ? ctx.out() : ctx.tmp(`${mil}${k}`);
      ctx.b.emit(mil, op, k === 1 ? ctx.name : ctx.subName(`${mil}${k}`), [acc, ins[k]!], [{ name: next, type: withShape(outDtype, shape) }]);
      acc = next;
    }
    return;
  }
  switch (op) {
    case 'LSTM': case 'GRU': case 'RNN': handleRecurrent(ctx, PASS_THROUGH[op]!); return;
    case 'Where': {
      const shape = broadcastShapes(broadcastShapes(ctx.shape(0), ctx.shape(1)), ctx.shape(2));
      ctx.emit('select', ctx.inputs, withShape(ctx.dtype(1), shape));
      return;
    }
    case 'Shape': {
      const rank = ctx.shape(0)?.length;
      ctx.emit('shape', [ctx.input(0)], withShape('int64', rank !== undefined ? [rank] : undefined));
      return;
    }
    case 'ConstantOfShape': {
      const t = a.raw('value')?.t;
      const fillDtype = t ? decodeTensor(t, `ConstantOfShape ${ctx.name} value`).dtype : 'fp32';
      const shape = ctx.dims(0);
      ctx.emit('fill', [ctx.input(0)], withShape(fillDtype, shape), genericAttrs(ctx.node));
      return;
    }
    case 'Expand': {
      const target = ctx.dims(1);
      const xs = ctx.shape(0);
      const outShape = target ? broadcastShapes(xs, target) : undefined;
      // MIL has no broadcast-to; tile carries the per-axis repetition when the shapes are static.
      if (isStatic(xs) && isStatic(outShape) && xs.length === outShape.length) {
        ctx.emit('tile', [ctx.input(0)], { dtype, shape: outShape }, { reps: outShape.map((d, k) => d / xs[k]!) });
      } else {
        ctx.emit('tile', ctx.inputs, withShape(dtype, outShape), {});
        ctx.warn('expand with a rank change or symbolic shape: tile without resolved reps');
      }
      return;
    }
    default: break;
  }
  if (PASS_THROUGH[op]) { handlePassThrough(ctx, PASS_THROUGH[op]!); return; }
  b.warnings.push(`${ctx.name}: ONNX op ${op} has no MIL counterpart; kept as ${unmappedName(op, domain)}`);
  handlePassThrough(ctx, unmappedName(op, domain));
}

