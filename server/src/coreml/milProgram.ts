// A MIL program in memory (one function's block tree), shared by the two sources of MIL the project
// reads: the protobuf `mlProgram` inside .mlmodel/.mlpackage and the compiled `model.mil` text. This
// file turns it into the graph IR: `const` ops become constants whose small values are resolved so
// conv strides, pads, groups, axes and dtypes are known; everything else becomes an op in MIL vocabulary.
import type { AttrValue, ConstantDecl, DType, OpNode, TensorType, ValueDecl } from '../../../common/graphIR';
import { ModelReadError } from '../onnx/readOnnx';

/** A literal or blob-backed constant. */
export interface MilValue {
  type: TensorType;
  /** Element values when stored inline (rank 0 = one element). Booleans as true/false. */
  values?: Array<number | string | boolean>;
  /** Where the bytes live when they are in a weights file. */
  blob?: { fileName: string; offset: number };
  /** Inline but too large to keep (only its type matters for analysis). */
  elided?: boolean;
}
export type MilBinding = { name: string } | { value: MilValue };
export interface MilOp {
  type: string;
  /** The op's `name` attribute, else its first output's name (coremltools < 7 only names consts). */
  name: string;
  inputs: Array<[param: string, bindings: MilBinding[]]>;
  outputs: ValueDecl[];
  blocks: MilBlock[];
  /** Attributes other than `name` (a const's `val`). */
  attrs: Record<string, MilValue>;
  /** 1-based line in the text the op came from (model.mil only). */
  line?: number;
}
export interface MilBlock { label: string; inputs: ValueDecl[]; outputs: string[]; ops: MilOp[] }
export interface MilFunction { name: string; opset: string; inputs: ValueDecl[]; block: MilBlock }

/** Dimensions above this are corrupt or hostile, not a model (2^31 elements along one axis). */
export const MAX_DIM = 2 ** 31;
/** Block nesting (cond inside while_loop inside ...) deeper than this is refused. */
export const MAX_BLOCK_DEPTH = 64;
/** Inline constants with more elements than this keep only their type. */
export const MAX_INLINE_VALUES = 256;

/** How a value is shown and analysed, per op, beside the IR (parameter names, nesting). */
export interface OpView {
  /** MIL parameter name per IR input (same length as op.inputs). */
  params: string[];
  /** Labels of the blocks this op is nested in, outermost first ([] at function level). */
  path: string[];
  /** Inline literals and resolved consts shown in the printed program, in parameter order (rendered by the view). */
  literals: Array<[param: string, value: MilValue]>;
  /** Show the IR attributes instead (NeuralNetwork layers and pipeline stages have no MIL literals). */
  showAttrs?: boolean;
}

export interface MilGraphParts {
  inputs: ValueDecl[];
  outputs: string[];
  ops: OpNode[];
  views: OpView[];
  constants: ConstantDecl[];
  /** Every blob-backed const (validated against the weights file, never read). */
  blobs: Array<{ constName: string; fileName: string; offset: number }>;
  /** Ops per MIL type including `const`, as coremltools counts them. */
  histogram: Record<string, number>;
  totalOps: number;
  /** Output names of nested blocks, by label (for rendering `} -> (...)`). */
  blockOutputs: Record<string, string[]>;
  warnings: string[];
}

/** Parameters that carry tensors (IR inputs, in contract order); anything else bound to a const is an attr. */
const TENSOR_PARAMS: Record<string, string[]> = {
  conv: ['x', 'weight', 'bias'], conv_transpose: ['x', 'weight', 'bias'], linear: ['x', 'weight', 'bias'],
  matmul: ['x', 'y'], batch_norm: ['x', 'mean', 'variance', 'gamma', 'beta'], instance_norm: ['x', 'gamma', 'beta'],
  layer_norm: ['x', 'gamma', 'beta'], concat: ['values'], stack: ['values'], select: ['cond', 'a', 'b'],
  gather: ['x', 'indices'], gather_along_axis: ['x', 'indices'], gather_nd: ['x', 'indices'],
  scatter: ['data', 'indices', 'updates'], scatter_nd: ['data', 'indices', 'updates'],
  scatter_along_axis: ['data', 'indices', 'updates'], prelu: ['x', 'alpha'], einsum: ['values'],
  scaled_dot_product_attention: ['query', 'key', 'value', 'attn_mask'], cond: ['pred'], while_loop: ['loop_vars'],
  lstm: ['x', 'initial_h', 'initial_c', 'weight_ih', 'weight_hh', 'bias'], gru: ['x', 'initial_h', 'weight_ih', 'weight_hh', 'bias'],
  rnn: ['x', 'initial_h', 'weight_ih', 'weight_hh', 'bias'], slice_update: ['x', 'update'],
  // Compressed weights: every tensor is an input, whatever its size (small ones would otherwise become attributes).
  constexpr_affine_dequantize: ['quantized_data', 'zero_point', 'scale'], constexpr_lut_to_dense: ['lut', 'indices'],
};
const DEFAULT_TENSOR_PARAMS = ['x', 'y', 'data', 'input'];

export function checkDims(file: string, what: string, dims: Array<number>): void {
  for (const d of dims) {
    if (!Number.isFinite(d) || d < 0 || d > MAX_DIM) {
      throw new ModelReadError(file, `${what} has an impossible dimension ${d} (the limit is 2^31)`);
    }
  }
}

export function literalText(v: MilValue): string {
  if (v.blob) return `BLOBFILE(offset=${v.blob.offset})`;
  if (!v.values) return v.elided ? `<${(v.type.shape ?? []).join('x')} ${v.type.dtype}>` : '?';
  const item = (x: number | string | boolean) => (typeof x === 'string' ? JSON.stringify(x) : typeof x === 'boolean' ? (x ? 'True' : 'False') : String(x));
  if (!v.type.shape || v.type.shape.length === 0) return v.values.length === 1 ? item(v.values[0]!) : `[${v.values.map(item).join(', ')}]`;
  return `[${v.values.map(item).join(', ')}]`;
}

function attrOf(v: MilValue): AttrValue | undefined {
  if (!v.values) return undefined;
  const scalar = !v.type.shape || v.type.shape.length === 0;
  const vals = v.values;
  if (scalar && vals.length === 1) return vals[0]!;
  if (vals.every((x) => typeof x === 'number')) return vals as number[];
  if (vals.every((x) => typeof x === 'string')) return vals as string[];
  if (vals.every((x) => typeof x === 'boolean')) return (vals as boolean[]).map((b) => (b ? 1 : 0));
  return undefined;
}

function isNumeric(dtype: DType): boolean {
  return dtype !== 'string' && dtype !== 'unknown';
}

/** Padding for pad_type "same" (and "same_lower"), from the input size, kernel, strides and dilations. */
function samePad(inShape: TensorType | undefined, kernel: number[], strides: number[], dilations: number[], lower: boolean): number[] | undefined {
  const shape = inShape?.shape;
  if (!shape || shape.length < 2 + kernel.length) return undefined;
  const pad: number[] = [];
  for (let k = 0; k < kernel.length; k++) {
    const n = shape[shape.length - kernel.length + k];
    if (typeof n !== 'number') return undefined;
    const s = strides[k] ?? 1;
    const d = dilations[k] ?? 1;
    const total = Math.max((Math.ceil(n / s) - 1) * s + (kernel[k]! - 1) * d + 1 - n, 0);
    const small = Math.floor(total / 2);
    pad.push(lower ? total - small : small, lower ? small : total - small);
  }
  return pad;
}

export function milToGraph(file: string, fn: MilFunction): MilGraphParts {
  const parts: MilGraphParts = {
    inputs: fn.inputs, outputs: fn.block.outputs, ops: [], views: [], constants: [], blobs: [],
    histogram: {}, totalOps: 0, blockOutputs: {}, warnings: [],
  };
  const consts = new Map<string, MilValue>();
  const types = new Map<string, TensorType>();
  for (const i of fn.inputs) types.set(i.name, i.type);
  const usedConsts = new Set<string>();

  const constFromBinding = (b: MilBinding): MilValue | undefined => ('value' in b ? b.value : consts.get(b.name));

  const visit = (block: MilBlock, path: string[], parent?: string) => {
    if (path.length > MAX_BLOCK_DEPTH) {
      throw new ModelReadError(file, `blocks are nested more than ${MAX_BLOCK_DEPTH} deep (at ${path.slice(0, 3).join(' > ')} > ...)`);
    }
    for (const bi of block.inputs) types.set(bi.name, bi.type);
    for (const op of block.ops) {
      parts.totalOps++;
      parts.histogram[op.type] = (parts.histogram[op.type] ?? 0) + 1;
      // A const's output is typed through `consts` (same type object), so most of a program's names go
      // into one Map, not two: first-time hashing of long fresh name strings is the hot spot here.
      for (let k = op.type === 'const' ? 1 : 0; k < op.outputs.length; k++) types.set(op.outputs[k]!.name, op.outputs[k]!.type);
      if (op.type === 'const') {
        const val = op.attrs.val;
        if (!val) throw new ModelReadError(file, `const "${op.name}" has no value`);
        const out = op.outputs[0]?.name ?? op.name;
        const outType = op.outputs[0]?.type;
        // The decoder already gives a const's value its output type; copy only when they differ.
        consts.set(out, !outType || val.type === outType ? val : { ...val, type: outType });
        if (val.blob) parts.blobs.push({ constName: out, fileName: val.blob.fileName, offset: val.blob.offset });
        continue;
      }
      emitOp(op, path, parent);
      op.blocks.forEach((b, k) => {
        const label = b.label || `${op.name}_block${k}`;
        parts.blockOutputs[label] = b.outputs;
        visit(b, [...path, label], op.name);
      });
    }
  };

  const emitOp = (op: MilOp, path: string[], parent: string | undefined) => {
    const tensorParams = TENSOR_PARAMS[op.type] ?? DEFAULT_TENSOR_PARAMS;
    const inputs: string[] = [];
    const params: string[] = [];
    const literals: Array<[string, MilValue]> = [];
    const attrs: Record<string, AttrValue> = {};
    const rank = (p: string): number => {
      const k = tensorParams.indexOf(p);
      return k < 0 ? tensorParams.length : k;
    };
    let sorted = true;
    for (let k = 1; k < op.inputs.length && sorted; k++) sorted = rank(op.inputs[k - 1]![0]) <= rank(op.inputs[k]![0]);
    const ordered = sorted ? op.inputs : [...op.inputs].sort((a, b) => rank(a[0]) - rank(b[0]));
    let inlineCount = 0;
    for (const [param, bindings] of ordered) {
      const isTensor = tensorParams.includes(param);
      if (!isTensor && bindings.length === 1) {
        const c = constFromBinding(bindings[0]!);
        const a = c ? attrOf(c) : undefined;
        if (c && a !== undefined) {
          attrs[param] = a;
          literals.push([param, c]);
          if ('name' in bindings[0]!) usedConsts.add(bindings[0].name);
          continue;
        }
      }
      for (const b of bindings) {
        let name: string;
        if ('name' in b) {
          name = b.name;
          if (consts.has(name)) usedConsts.add(name);
          else if (!types.has(name)) throw new ModelReadError(file, `op "${op.name}" (${op.type}) reads "${name}", which nothing before it defines`);
        } else {
          // An inline literal argument: give it a const of its own so the IR stays name-based.
          name = `${op.name}_${param}_inline${inlineCount++}`;
          consts.set(name, b.value);
          usedConsts.add(name);
        }
        inputs.push(name);
        params.push(param);
      }
    }
    // Contract attrs (docs: conv pad is [top,bottom,left,right]; reshape carries its static output shape).
    if ((op.type === 'conv' || op.type === 'conv_transpose' || op.type === 'avg_pool' || op.type === 'max_pool' || op.type === 'l2_pool')) {
      const spatial = op.type.endsWith('pool') ? (Array.isArray(attrs.kernel_sizes) ? attrs.kernel_sizes.length : 2) : weightSpatial(types.get(inputs[1] ?? '') ?? consts.get(inputs[1] ?? '')?.type);
      if (op.type.startsWith('conv') && spatial > 0) {
        const w = (types.get(inputs[1]!) ?? consts.get(inputs[1]!)?.type)?.shape;
        if (w) attrs.kernel_sizes = w.slice(2).map((d) => (typeof d === 'number' ? d : 0));
      }
      const ones = new Array<number>(spatial).fill(1);
      if (!Array.isArray(attrs.strides)) attrs.strides = ones;
      if (!Array.isArray(attrs.dilations) && op.type.startsWith('conv')) attrs.dilations = ones;
      if (op.type.startsWith('conv') && typeof attrs.groups !== 'number') attrs.groups = 1;
      const padType = typeof attrs.pad_type === 'string' ? attrs.pad_type : 'valid';
      if (padType === 'valid') attrs.pad = new Array<number>(spatial * 2).fill(0);
      else if (padType === 'same' || padType === 'same_lower') {
        const kernel = Array.isArray(attrs.kernel_sizes) ? (attrs.kernel_sizes as number[]) : [];
        const p = samePad(types.get(inputs[0] ?? '') ?? consts.get(inputs[0] ?? '')?.type, kernel, attrs.strides as number[], (attrs.dilations as number[] | undefined) ?? ones, padType === 'same_lower');
        if (p) attrs.pad = p;
      }
    }
    if (op.type === 'reshape') {
      const out = op.outputs[0]?.type.shape;
      if (out && out.every((d) => typeof d === 'number')) attrs.shape = out as number[];
    }
    const node: OpNode = { name: op.name, op: op.type, originalOp: op.type, inputs, outputs: op.outputs, attrs };
    if (op.blocks.length > 0) node.attrs.blocks = op.blocks.map((b, k) => b.label || `${op.name}_block${k}`);
    // Ops inside cond/while_loop blocks: placement keeps them with their control-flow op.
    if (parent) node.attrs.parent_op = parent;
    parts.ops.push(node);
    parts.views.push({ params, path, literals });
  };

  visit({ ...fn.block, label: '' }, []);
  for (const o of fn.block.outputs) {
    if (!types.has(o) && !consts.has(o)) throw new ModelReadError(file, `function "${fn.name}" returns "${o}", which its block does not define`);
  }
  for (const name of usedConsts) {
    const c = consts.get(name)!;
    const decl: ConstantDecl = { name, type: c.type };
    const numeric = c.values && c.values.length <= MAX_INLINE_VALUES && isNumeric(c.type.dtype) && c.values.every((x) => typeof x !== 'string');
    if (numeric) decl.value = c.values!.every((x) => typeof x === 'number') ? (c.values as number[]) : c.values!.map((x) => (x ? 1 : 0));
    else if (c.blob) decl.unavailable = `stored in ${c.blob.fileName.replace('@model_path/', '')} (validated, not loaded: analysis needs no weight values)`;
    else decl.unavailable = 'inline value not kept (only its type matters for analysis)';
    parts.constants.push(decl);
  }
  return parts;
}

function weightSpatial(t: TensorType | undefined): number {
  return t?.shape ? Math.max(t.shape.length - 2, 0) : 2;
}
