// NeuralNetwork (.mlmodel, spec ≤ 5 era; also its classifier/regressor forms) → graph IR. Each layer is
// one op named in MIL vocabulary; `originalOp` keeps the layer type as "NeuralNetwork.<type>" so the
// placement rules for old-format layers (ANE029 and friends) can tell the two formats apart. For analysis,
// weights are never decoded (the schema leaves WeightParams out) and weight constants carry their shape only;
// a run decodes them (nnWeights.ts) for the layers the executor computes.
// Shapes: NeuralNetwork files store no intermediate shapes, so the common layers' shapes are inferred
// (legacy layers work on (C, H, W), shown as (1, C, H, W)); a layer whose shape rule is unknown gets no shape.
import type { AttrValue, ConstantDecl, Dim, DType, OpNode, TensorType, ValueDecl } from '../../../common/graphIR';
import { ModelReadError } from '../onnx/readOnnx';
import { int64ToNumber, type Int64, type PbNeuralNetwork } from './coremlSchema';
import { checkDims, type OpView } from './milProgram';
import { decodeWeight, type PbWeightParams, type WeightPacker } from './nnWeights';

export const NN_PREFIX = 'NeuralNetwork.';

const SIMPLE: Record<string, string> = {
  l2normalize: 'l2_norm', lrn: 'local_response_norm', crop: 'crop', resizeBilinear: 'resize_bilinear',
  cropResize: 'crop_resize', add: 'add', multiply: 'mul', average: 'add', max: 'maximum', min: 'minimum', dot: 'matmul',
  loadConstant: 'const', loadConstantND: 'const', split: 'split', sequenceRepeat: 'tile', simpleRecurrent: 'rnn', gru: 'gru',
  uniDirectionalLSTM: 'lstm', biDirectionalLSTM: 'lstm', custom: 'custom', copy: 'identity', branch: 'cond',
  loop: 'while_loop', loopBreak: 'while_loop', loopContinue: 'while_loop', rangeStatic: 'range_1d',
  rangeDynamic: 'range_1d', clip: 'clip', ceil: 'ceil', floor: 'floor', sign: 'sign', round: 'round', exp2: 'exp2',
  sin: 'sin', cos: 'cos', tan: 'tan', asin: 'asin', acos: 'acos', atan: 'atan', sinh: 'sinh', cosh: 'cosh',
  tanh: 'tanh', asinh: 'asinh', acosh: 'acosh', atanh: 'atanh', erf: 'erf', gelu: 'gelu', equal: 'equal',
  notEqual: 'not_equal', lessThan: 'less', lessEqual: 'less_equal', greaterThan: 'greater',
  greaterEqual: 'greater_equal', logicalOr: 'logical_or', logicalXor: 'logical_xor', logicalNot: 'logical_not',
  logicalAnd: 'logical_and', modBroadcastable: 'mod', minBroadcastable: 'minimum', maxBroadcastable: 'maximum',
  addBroadcastable: 'add', powBroadcastable: 'pow', divideBroadcastable: 'real_div', floorDivBroadcastable: 'floor_div',
  multiplyBroadcastable: 'mul', subtractBroadcastable: 'sub', tile: 'tile', stack: 'stack', gather: 'gather',
  scatter: 'scatter', gatherND: 'gather_nd', scatterND: 'scatter_nd', softmaxND: 'softmax',
  gatherAlongAxis: 'gather_along_axis', scatterAlongAxis: 'scatter_along_axis', reverse: 'reverse',
  reverseSeq: 'reverse_sequence', splitND: 'split', concatND: 'concat', transpose: 'transpose',
  sliceStatic: 'slice_by_index', sliceDynamic: 'slice_by_index', slidingWindows: 'sliding_windows', topK: 'topk',
  argMin: 'reduce_argmin', argMax: 'reduce_argmax', embeddingND: 'gather', embedding: 'gather', batchedMatmul: 'matmul',
  getShape: 'shape', fillLike: 'fill_like', fillStatic: 'fill', fillDynamic: 'fill', broadcastToLike: 'tile',
  broadcastToStatic: 'tile', broadcastToDynamic: 'tile', squeeze: 'squeeze', expandDims: 'expand_dims',
  flattenTo2D: 'flatten2d', reshapeLike: 'reshape_like', reshapeStatic: 'reshape', reshapeDynamic: 'reshape',
  rankPreservingReshape: 'reshape', constantPad: 'pad', randomNormalLike: 'random_normal',
  randomNormalStatic: 'random_normal', randomNormalDynamic: 'random_normal', randomUniformLike: 'random_uniform',
  randomUniformStatic: 'random_uniform', randomUniformDynamic: 'random_uniform',
  randomBernoulliLike: 'random_bernoulli', randomBernoulliStatic: 'random_bernoulli',
  randomBernoulliDynamic: 'random_bernoulli', categoricalDistribution: 'random_categorical',
  reduceL1: 'reduce_l1_norm', reduceL2: 'reduce_l2_norm', reduceMax: 'reduce_max', reduceMin: 'reduce_min',
  reduceSum: 'reduce_sum', reduceProd: 'reduce_prod', reduceMean: 'reduce_mean', reduceLogSum: 'reduce_log_sum',
  reduceSumSquare: 'reduce_sum_square', reduceLogSumExp: 'reduce_log_sum_exp', whereNonZero: 'non_zero',
  matrixBandPart: 'band_part', lowerTriangular: 'band_part', upperTriangular: 'band_part',
  whereBroadcastable: 'select', layerNormalization: 'layer_norm', NonMaximumSuppression: 'non_maximum_suppression',
  oneHot: 'one_hot', cumSum: 'cumsum', clampedReLU: 'clamped_relu', argSort: 'argsort', pooling3d: 'max_pool',
  globalPooling3d: 'reduce_mean', sliceBySize: 'slice_by_size', convolution3d: 'conv', flatten: 'reshape',
  reshape: 'reshape', permute: 'transpose', concat: 'concat', slice: 'slice_by_index', softmax: 'softmax', mvn: 'instance_norm',
  bias: 'add', scale: 'mul',
};
const ACTIVATIONS: Record<string, string> = {
  linear: 'linear_activation', ReLU: 'relu', leakyReLU: 'leaky_relu', thresholdedReLU: 'thresholded_relu',
  PReLU: 'prelu', tanh: 'tanh', scaledTanh: 'scaled_tanh', sigmoid: 'sigmoid', sigmoidHard: 'sigmoid_hard',
  ELU: 'elu', softsign: 'softsign', softplus: 'softplus', parametricSoftplus: 'softplus_parametric',
};
const UNARY = ['sqrt', 'rsqrt', 'inverse', 'pow', 'exp', 'log', 'abs', 'threshold'];
const REDUCE = ['reduce_sum', 'reduce_mean', 'reduce_prod', 'reduce_log_sum', 'reduce_sum_square', 'reduce_l1_norm', 'reduce_l2_norm', 'reduce_max', 'reduce_min', 'reduce_argmax'];

/** Layer types of the Core ML 3 ("ND"/broadcastable) generation; shapes keep their given rank there. */
const ND_LAYER = /(ND|Broadcastable|Static|Dynamic|Like)$|^(transpose|batchedMatmul|squeeze|expandDims|layerNormalization)$/;

export interface NNParts {
  inputs: ValueDecl[];
  ops: OpNode[];
  views: OpView[];
  constants: ConstantDecl[];
  histogram: Record<string, number>;
  updatableLayers: number;
}

const n = (v: Int64 | undefined) => int64ToNumber(v);
const nums = (v: Int64[] | undefined) => (v ?? []).map(n);

function staticShape(t: TensorType | undefined): number[] | undefined {
  if (!t?.shape || t.shape.some((d) => typeof d !== 'number')) return undefined;
  return t.shape as number[];
}

function broadcast(shapes: Array<number[] | undefined>): number[] | undefined {
  if (shapes.some((s) => !s)) return undefined;
  const rank = Math.max(...shapes.map((s) => s!.length));
  const out: number[] = [];
  for (let k = 0; k < rank; k++) {
    let d = 1;
    for (const s of shapes) {
      const v = s![s!.length - rank + k] ?? 1;
      if (v !== 1) d = v;
    }
    out.push(d);
  }
  return out;
}

function convOut(inp: number, k: number, s: number, d: number, padTotal: number, same: boolean): number {
  if (same) return Math.ceil(inp / s);
  return Math.floor((inp + padTotal - (k - 1) * d - 1) / s) + 1;
}

function samePads(inp: number, k: number, s: number, d: number, topLeftHeavy: boolean): [number, number] {
  const total = Math.max((Math.ceil(inp / s) - 1) * s + (k - 1) * d + 1 - inp, 0);
  const small = Math.floor(total / 2);
  return topLeftHeavy ? [total - small, small] : [small, total - small];
}

/** `prefix` names the ops of a pipeline stage; values keep their feature names, which connect the stages. */
export function neuralNetworkToGraph(file: string, nn: PbNeuralNetwork, inputs: ValueDecl[], prefix = '', known?: Map<string, TensorType>, weights?: WeightPacker): NNParts {
  const parts: NNParts = { inputs, ops: [], views: [], constants: [], histogram: {}, updatableLayers: 0 };
  const types = known ?? new Map<string, TensorType>();
  const layers = nn.layers ?? [];
  const nd = layers.some((l) => l.layer && ND_LAYER.test(l.layer));
  for (const i of inputs) {
    let t = i.type;
    const s = staticShape(t);
    // Legacy layers address (C, H, W); show them NCHW like MIL does.
    if (!nd && s && s.length === 3) t = { ...t, shape: [1, ...s] };
    else if (!nd && s && s.length === 1) t = { ...t, shape: [1, s[0]!, 1, 1] };
    types.set(i.name, t);
  }
  /**
   * A weight constant: with its values when this is a run and the layer's weights are read (`value`: its
   * WeightParams, or why they are not used), else its shape only.
   */
  const addConst = (name: string, shape: number[], dtype: DType = 'fp32', value?: { weight?: PbWeightParams } | { notRead: string }) => {
    const decl: ConstantDecl = { name, type: { dtype, shape }, unavailable: 'NeuralNetwork (.mlmodel) weights are not read for this layer: it is placed and costed, not executed' };
    if (weights && value) {
      const w = 'notRead' in value ? { problem: value.notRead } : decodeWeight(value.weight, shape.reduce((a, b) => a * b, 1));
      if ('bytes' in w) {
        decl.type.dtype = w.dtype;
        decl.data = weights.add(w.bytes);
        delete decl.unavailable;
      } else {
        decl.unavailable = w.problem;
      }
    }
    parts.constants.push(decl);
    return name;
  };

  layers.forEach((layer, k) => {
    const type = layer.layer;
    const name = `${prefix}${layer.name || `layer_${k}`}`;
    if (!type) throw new ModelReadError(file, `layer "${name}" has no type (unknown or corrupt layer)`);
    parts.histogram[type] = (parts.histogram[type] ?? 0) + 1;
    if (layer.isUpdatable) parts.updatableLayers++;
    const p = (layer[type] ?? {}) as Record<string, unknown>;
    const ins = layer.input ?? [];
    for (const i of ins) {
      if (!types.has(i)) throw new ModelReadError(file, `layer "${name}" (${type}) reads "${i}", which no earlier layer or input provides`);
    }
    const inShape = staticShape(types.get(ins[0] ?? ''));
    const attrs: Record<string, AttrValue> = {};
    const opInputs = [...ins];
    const params = ins.map((_, j) => (j === 0 ? 'x' : j === 1 ? 'y' : `x${j}`));
    let op = SIMPLE[type] ?? type;
    let out: number[] | undefined;
    const dtype = types.get(ins[0] ?? '')?.dtype ?? 'fp32';

    switch (type) {
      case 'convolution': case 'convolution3d': {
        const cp = p as { outputChannels?: Int64; kernelChannels?: Int64; nGroups?: Int64; kernelSize?: Int64[]; stride?: Int64[]; dilationFactor?: Int64[]; valid?: { paddingAmounts?: { borderAmounts?: Array<{ startEdgeSize?: Int64; endEdgeSize?: Int64 }> } }; same?: { asymmetryMode?: number }; isDeconvolution?: boolean; hasBias?: boolean; outputShape?: Int64[] };
        const spatial = type === 'convolution3d' ? 3 : 2;
        const kernel = nums(cp.kernelSize); while (kernel.length < spatial) kernel.push(kernel.length ? kernel[0]! : 3);
        const strides = nums(cp.stride); while (strides.length < spatial) strides.push(1);
        const dil = nums(cp.dilationFactor); while (dil.length < spatial) dil.push(1);
        const groups = Math.max(n(cp.nGroups), 1);
        const cout = n(cp.outputChannels);
        const cin = n(cp.kernelChannels);
        checkDims(file, `layer "${name}"`, [cout, cin, ...kernel, ...strides, ...dil]);
        op = cp.isDeconvolution ? 'conv_transpose' : 'conv';
        const cw = cp as { weights?: PbWeightParams; bias?: PbWeightParams };
        const notRead = { notRead: 'deconvolution weights are not read yet' };
        opInputs.push(addConst(`${name}_weight`, [cout, cin, ...kernel], 'fp32', cp.isDeconvolution ? notRead : { weight: cw.weights }));
        params.push('weight');
        if (cp.hasBias) { opInputs.push(addConst(`${name}_bias`, [cout], 'fp32', cp.isDeconvolution ? notRead : { weight: cw.bias })); params.push('bias'); }
        const pad: number[] = [];
        if (cp.same && inShape) {
          for (let a = 0; a < spatial; a++) pad.push(...samePads(inShape[inShape.length - spatial + a]!, kernel[a]!, strides[a]!, dil[a]!, cp.same.asymmetryMode === 1));
        } else {
          const b = cp.valid?.paddingAmounts?.borderAmounts ?? [];
          for (let a = 0; a < spatial; a++) pad.push(n(b[a]?.startEdgeSize), n(b[a]?.endEdgeSize));
        }
        Object.assign(attrs, { strides, dilations: dil, groups, kernel_sizes: kernel, pad_type: cp.same ? 'same' : 'valid' });
        if (pad.length === spatial * 2) attrs.pad = pad;
        if (cp.isDeconvolution) {
          const os = nums(cp.outputShape);
          if (inShape && os.length === spatial) out = [inShape[0]!, cout, ...os];
          else if (inShape) out = [inShape[0]!, cout, ...kernel.map((kk, a) => (inShape[inShape.length - spatial + a]! - 1) * strides[a]! + kk)];
        } else if (inShape && inShape.length >= spatial + 1) {
          out = [inShape[0]!, cout, ...kernel.map((kk, a) => convOut(inShape[inShape.length - spatial + a]!, kk, strides[a]!, dil[a]!, (pad[2 * a] ?? 0) + (pad[2 * a + 1] ?? 0), false))];
          if (cp.same) out = [inShape[0]!, cout, ...kernel.map((_, a) => Math.ceil(inShape[inShape.length - spatial + a]! / strides[a]!))];
        }
        break;
      }
      case 'pooling': {
        const pp = p as { type?: number; kernelSize?: Int64[]; stride?: Int64[]; valid?: { paddingAmounts?: { borderAmounts?: Array<{ startEdgeSize?: Int64; endEdgeSize?: Int64 }> } }; same?: unknown; includeLastPixel?: { paddingAmounts?: Int64[] }; avgPoolExcludePadding?: boolean; globalPooling?: boolean };
        const kind = pp.type ?? 0;
        if (pp.globalPooling) {
          op = kind === 0 ? 'reduce_max' : 'reduce_mean';
          Object.assign(attrs, { axes: [-2, -1], keep_dims: true });
          if (inShape) out = [...inShape.slice(0, -2), 1, 1];
          break;
        }
        op = kind === 0 ? 'max_pool' : kind === 1 ? 'avg_pool' : 'l2_pool';
        const kernel = nums(pp.kernelSize); while (kernel.length < 2) kernel.push(1);
        const strides = nums(pp.stride); while (strides.length < 2) strides.push(1);
        checkDims(file, `layer "${name}"`, [...kernel, ...strides]);
        let pad = [0, 0, 0, 0];
        if (pp.same && inShape) pad = [...samePads(inShape[inShape.length - 2]!, kernel[0]!, strides[0]!, 1, false), ...samePads(inShape[inShape.length - 1]!, kernel[1]!, strides[1]!, 1, false)];
        else if (pp.valid) { const b = pp.valid.paddingAmounts?.borderAmounts ?? []; pad = [n(b[0]?.startEdgeSize), n(b[0]?.endEdgeSize), n(b[1]?.startEdgeSize), n(b[1]?.endEdgeSize)]; }
        else if (pp.includeLastPixel) { const a = nums(pp.includeLastPixel.paddingAmounts); pad = [a[0] ?? 0, a[0] ?? 0, a[1] ?? 0, a[1] ?? 0]; }
        Object.assign(attrs, { kernel_sizes: kernel, strides, pad, ceil_mode: !!pp.includeLastPixel, exclude_padding_from_average: !!pp.avgPoolExcludePadding });
        if (inShape && inShape.length >= 3) {
          const round = pp.includeLastPixel ? Math.ceil : Math.floor;
          const hw = [0, 1].map((a) => (pp.same ? Math.ceil(inShape[inShape.length - 2 + a]! / strides[a]!) : round((inShape[inShape.length - 2 + a]! + pad[2 * a]! + pad[2 * a + 1]! - kernel[a]!) / strides[a]!) + 1));
          out = [...inShape.slice(0, -2), ...hw];
        }
        break;
      }
      case 'activation': {
        const which = typeof p.NonlinearityType === 'string' && ACTIVATIONS[p.NonlinearityType] ? p.NonlinearityType : 'linear';
        op = ACTIVATIONS[which]!;
        attrs.mode = which;
        const lk = (p as { leakyReLU?: { alpha?: number } }).leakyReLU;
        if (lk) attrs.alpha = lk.alpha ?? 0;
        const lin = (p as { linear?: { alpha?: number; beta?: number } }).linear;
        if (which === 'linear') Object.assign(attrs, { alpha: lin?.alpha ?? 0, beta: lin?.beta ?? 0 });
        out = inShape;
        break;
      }
      case 'innerProduct': {
        const ip = p as { inputChannels?: Int64; outputChannels?: Int64; hasBias?: boolean };
        const cin = n(ip.inputChannels); const cout = n(ip.outputChannels);
        checkDims(file, `layer "${name}"`, [cin, cout]);
        op = 'linear';
        const iw = ip as { weights?: PbWeightParams; bias?: PbWeightParams };
        opInputs.push(addConst(`${name}_weight`, [cout, cin], 'fp32', { weight: iw.weights })); params.push('weight');
        if (ip.hasBias) { opInputs.push(addConst(`${name}_bias`, [cout], 'fp32', { weight: iw.bias })); params.push('bias'); }
        if (inShape) out = nd ? [...inShape.slice(0, -1), cout] : [inShape[0]!, cout, 1, 1];
        if (!nd && inShape?.length === 4) {
          // A legacy innerProduct reads the channels of (N, C, 1, 1): as a linear over the last axis that is
          // (N, C) → (N, Cout), between two reshapes, so the graph's shapes hold where it is executed.
          const flat = `${name}_flatten`;
          const flatShape = [inShape[0]!, inShape[1]! * inShape[2]! * inShape[3]!];
          types.set(flat, { dtype, shape: flatShape });
          parts.ops.push({ name: flat, op: 'reshape', originalOp: `${NN_PREFIX}${type}`, inputs: [ins[0]!], outputs: [{ name: flat, type: { dtype, shape: flatShape } }], attrs: { shape: flatShape } });
          parts.views.push({ params: ['x'], path: [], literals: [], showAttrs: true });
          const product = `${name}_linear`;
          const productShape = [inShape[0]!, cout];
          parts.ops.push({ name: product, op: 'linear', originalOp: `${NN_PREFIX}${type}`, inputs: [flat, ...opInputs.slice(1)], outputs: [{ name: product, type: { dtype, shape: productShape } }], attrs: {} });
          parts.views.push({ params: [...params], path: [], literals: [], showAttrs: true });
          op = 'reshape';
          opInputs.splice(0, opInputs.length, product);
          params.splice(0, params.length, 'x');
          attrs.shape = out!;
        }
        break;
      }
      case 'embedding': {
        const ep = p as { inputDim?: Int64; outputChannels?: Int64 };
        opInputs.push(addConst(`${name}_weight`, [n(ep.outputChannels), n(ep.inputDim)])); params.push('weight');
        break;
      }
      case 'batchnorm': {
        const bp = p as { channels?: Int64; instanceNormalization?: boolean; epsilon?: number };
        op = bp.instanceNormalization ? 'instance_norm' : 'batch_norm';
        attrs.epsilon = bp.epsilon ?? 1e-5;
        const c = n(bp.channels);
        if (!bp.instanceNormalization) {
          const bw = bp as Record<string, PbWeightParams | undefined>;
          // computeMeanVar: statistics of the input itself, which batch_norm (stored mean and variance) is not.
          const stats = (w: string) => (bp as { computeMeanVar?: boolean }).computeMeanVar && (w === 'mean' || w === 'variance') ? { notRead: 'computeMeanVar batchnorm is not executed yet' } : { weight: bw[w] };
          for (const w of ['mean', 'variance', 'gamma', 'beta']) { opInputs.push(addConst(`${name}_${w}`, [c], 'fp32', stats(w))); params.push(w); }
        }
        out = inShape;
        break;
      }
      case 'unary': {
        const up = p as { type?: number; alpha?: number };
        op = UNARY[up.type ?? 0] ?? 'unary';
        if (op === 'pow' || op === 'threshold') attrs.alpha = up.alpha ?? 0;
        out = inShape;
        break;
      }
      case 'padding': {
        const pp = p as { constant?: { value?: number }; reflection?: unknown; replication?: unknown; paddingAmounts?: { borderAmounts?: Array<{ startEdgeSize?: Int64; endEdgeSize?: Int64 }> } };
        op = 'pad';
        const kind = (pp as { PaddingType?: string }).PaddingType;
        attrs.mode = kind === 'reflection' ? 'reflect' : kind === 'replication' ? 'replicate' : 'constant';
        const b = pp.paddingAmounts?.borderAmounts ?? [];
        const amounts = [n(b[0]?.startEdgeSize), n(b[0]?.endEdgeSize), n(b[1]?.startEdgeSize), n(b[1]?.endEdgeSize)];
        checkDims(file, `layer "${name}"`, amounts);
        attrs.pad = [0, 0, 0, 0, ...amounts];
        if (attrs.mode === 'constant') attrs.constant_val = pp.constant?.value ?? 0;
        if (inShape && inShape.length === 4) out = [inShape[0]!, inShape[1]!, inShape[2]! + amounts[0]! + amounts[1]!, inShape[3]! + amounts[2]! + amounts[3]!];
        break;
      }
      case 'upsample': {
        const up = p as { scalingFactor?: Int64[]; fractionalScalingFactor?: number[]; mode?: number; linearUpsampleMode?: number };
        const f = up.fractionalScalingFactor?.length ? up.fractionalScalingFactor : nums(up.scalingFactor);
        const [sh, sw] = [f[0] ?? 1, f[1] ?? f[0] ?? 1];
        checkDims(file, `layer "${name}"`, [sh, sw]);
        op = up.mode === 1 ? 'upsample_bilinear' : 'upsample_nearest_neighbor';
        Object.assign(attrs, { scale_factor_height: sh, scale_factor_width: sw });
        // The spec's linear modes as MIL sampling modes: DEFAULT spaces samples (Xin − Xin/Xout)/(Xout − 1) apart
        // from 0, ALIGN_CORNERS_TRUE (Xin − 1)/(Xout − 1), ALIGN_CORNERS_FALSE Xin/Xout from half a step in.
        if (up.mode === 1) attrs.sampling_mode = ['DEFAULT', 'STRICT_ALIGN_CORNERS', 'UNALIGN_CORNERS'][up.linearUpsampleMode ?? 0] ?? 'DEFAULT';
        if (inShape && inShape.length >= 2) out = [...inShape.slice(0, -2), Math.floor(inShape[inShape.length - 2]! * sh), Math.floor(inShape[inShape.length - 1]! * sw)];
        break;
      }
      case 'reduce': {
        const rp = p as { mode?: number; axis?: number };
        op = REDUCE[rp.mode ?? 0] ?? 'reduce_sum';
        const axes = [[-3, -2, -1], [-3], [-2], [-1], [-2, -1]][rp.axis ?? 0] ?? [-3, -2, -1];
        Object.assign(attrs, { axes, keep_dims: true });
        if (inShape) out = inShape.map((d, a) => (axes.includes(a - inShape.length) ? 1 : d));
        break;
      }
      case 'flatten': case 'flattenTo2D':
        if (inShape) out = type === 'flatten' && !nd ? [inShape[0]!, inShape.slice(1).reduce((a, b) => a * b, 1), 1, 1] : [inShape[0]!, inShape.slice(1).reduce((a, b) => a * b, 1)];
        if (out) attrs.shape = out;
        break;
      case 'reshapeStatic': case 'reshape': {
        const target = nums((p as { targetShape?: Int64[] }).targetShape);
        checkDims(file, `layer "${name}"`, target);
        if (target.length > 0) {
          out = type === 'reshape' && !nd && target.length === 3 ? [1, ...target] : target.length === 4 && type === 'reshape' ? target.slice(1).length === 3 ? [1, ...target.slice(1)] : target : target;
          attrs.shape = out;
        }
        break;
      }
      case 'transpose': case 'permute': {
        const perm = nums((p as { axes?: Int64[]; axis?: Int64[] }).axes ?? (p as { axis?: Int64[] }).axis);
        attrs.perm = perm;
        if (inShape && perm.length === inShape.length && perm.every((a) => a < inShape.length)) out = perm.map((a) => inShape[a]!);
        break;
      }
      case 'concat': case 'concatND': {
        const axis = type === 'concat' ? ((p as { sequenceConcat?: boolean }).sequenceConcat ? 0 : 1) : n((p as { axis?: Int64 }).axis);
        attrs.axis = axis;
        const shapes = ins.map((i) => staticShape(types.get(i)));
        if (shapes.every((s) => s) && shapes[0]) {
          const r = shapes[0].length; const ax = axis < 0 ? axis + r : axis;
          out = shapes[0].map((d, a) => (a === ax ? shapes.reduce((acc, s) => acc + s![a]!, 0) : d));
        }
        params.splice(0, params.length, ...ins.map(() => 'values'));
        break;
      }
      case 'softmax': case 'softmaxND':
        attrs.axis = type === 'softmax' ? -3 : n((p as { axis?: Int64 }).axis);
        out = inShape;
        break;
      case 'reorganizeData': {
        const rp = p as { mode?: number; blockSize?: Int64 };
        const b = n(rp.blockSize);
        checkDims(file, `layer "${name}"`, [b]);
        op = rp.mode === 0 ? 'space_to_depth' : rp.mode === 2 ? 'pixel_shuffle' : 'depth_to_space';
        attrs.block_size = b;
        if (inShape && inShape.length === 4 && b > 0) out = op === 'space_to_depth' ? [inShape[0]!, inShape[1]! * b * b, Math.floor(inShape[2]! / b), Math.floor(inShape[3]! / b)] : [inShape[0]!, Math.floor(inShape[1]! / (b * b)), inShape[2]! * b, inShape[3]! * b];
        break;
      }
      case 'custom':
        attrs.class_name = (p as { className?: string }).className ?? '';
        break;
      case 'clip':
        Object.assign(attrs, { alpha: (p as { minVal?: number }).minVal ?? 0, beta: (p as { maxVal?: number }).maxVal ?? 0 });
        out = inShape;
        break;
      case 'gelu':
        attrs.mode = ['EXACT', 'TANH_APPROXIMATION', 'SIGMOID_APPROXIMATION'][(p as { mode?: number }).mode ?? 0] ?? 'EXACT';
        out = inShape;
        break;
      case 'layerNormalization': {
        const lp = p as { normalizedShape?: Int64[]; eps?: number };
        const ns = nums(lp.normalizedShape);
        Object.assign(attrs, { axes: ns.map((_, a) => a - ns.length), epsilon: lp.eps ?? 0 });
        out = inShape;
        break;
      }
      case 'splitND': {
        const sp = p as { axis?: Int64; numSplits?: Int64; splitSizes?: Int64[] };
        Object.assign(attrs, { axis: n(sp.axis), split_sizes: nums(sp.splitSizes) });
        break;
      }
      case 'loadConstantND': case 'loadConstant': {
        const shape = nums((p as { targetShape?: Int64[] }).targetShape);
        checkDims(file, `layer "${name}"`, shape);
        if (shape.length) out = shape;
        // For a run the values are the op's input (the executor's const copies it out).
        if (weights && type === 'loadConstantND' && shape.length) {
          opInputs.push(addConst(`${name}_data`, shape, 'fp32', { weight: (p as { data?: PbWeightParams }).data }));
          params.push('data');
        }
        break;
      }
      case 'batchedMatmul': {
        const bp = p as { transposeA?: boolean; transposeB?: boolean; weightMatrixFirstDimension?: Int64; weightMatrixSecondDimension?: Int64; hasBias?: boolean };
        Object.assign(attrs, { transpose_x: !!bp.transposeA, transpose_y: !!bp.transposeB });
        if (ins.length === 1) {
          op = 'linear';
          const a = n(bp.weightMatrixFirstDimension); const b = n(bp.weightMatrixSecondDimension);
          opInputs.push(addConst(`${name}_weight`, [b, a])); params.push('weight');
          if (inShape) out = [...inShape.slice(0, -1), b];
        }
        break;
      }
      case 'scale': {
        const sp = p as { shapeScale?: Int64[]; hasBias?: boolean; shapeBias?: Int64[]; scale?: PbWeightParams };
        // The op is the multiply; a scale layer's bias (an add after it) is not in the graph, so it is not executed then.
        opInputs.push(addConst(`${name}_scale`, nums(sp.shapeScale), 'fp32', sp.hasBias ? { notRead: 'a scale layer with a bias is not executed yet' } : { weight: sp.scale })); params.push('y');
        out = inShape;
        break;
      }
      case 'bias': case 'lrn': case 'l2normalize': case 'mvn': case 'copy': case 'sign': case 'ceil': case 'floor': case 'round':
      case 'exp2': case 'sin': case 'cos': case 'tan': case 'asin': case 'acos': case 'atan': case 'sinh': case 'cosh': case 'tanh':
      case 'asinh': case 'acosh': case 'atanh': case 'erf': case 'clampedReLU': case 'logicalNot': case 'cumSum':
        out = inShape;
        break;
      case 'add': case 'multiply': case 'average': case 'max': case 'min': case 'addBroadcastable': case 'multiplyBroadcastable':
      case 'subtractBroadcastable': case 'divideBroadcastable': case 'maxBroadcastable': case 'minBroadcastable':
      case 'powBroadcastable': case 'floorDivBroadcastable': case 'modBroadcastable': case 'equal': case 'notEqual':
      case 'lessThan': case 'lessEqual': case 'greaterThan': case 'greaterEqual': case 'logicalAnd': case 'logicalOr': case 'logicalXor':
        out = ins.length > 1 ? broadcast(ins.map((i) => staticShape(types.get(i)))) : inShape;
        break;
      default:
        break;
    }
    const outNames = layer.output ?? [];
    if (outNames.length === 0) throw new ModelReadError(file, `layer "${name}" (${type}) has no output`);
    // Stored output tensors (spec 4+ may carry them) beat inference.
    const stored = layer.outputTensor?.[0];
    if (stored && stored.dimValue && stored.dimValue.length > 0 && stored.dimValue.every((d) => n(d) > 0)) out = nums(stored.dimValue);
    if (out) checkDims(file, `output of layer "${name}"`, out);
    const outputs: ValueDecl[] = outNames.map((o, j) => {
      const t: TensorType = j === 0 && out ? { dtype, shape: out as Dim[] } : { dtype };
      types.set(o, t);
      return { name: o, type: t };
    });
    if (layer.isUpdatable) attrs.updatable = true;
    parts.ops.push({ name, op, originalOp: `${NN_PREFIX}${type}`, inputs: opInputs, outputs, attrs });
    parts.views.push({ params, path: [], literals: [], showAttrs: true });
  });
  return parts;
}
