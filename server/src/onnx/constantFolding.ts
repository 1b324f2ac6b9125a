// Constant folding for the shape-computing subgraphs torch.onnx.export leaves behind
// (Shape → Gather → Unsqueeze → Concat → Reshape, ConstantOfShape, Cast, Range, small arithmetic, and the
// Mod / ScatterND of window padding and masks built by index assignment).
// Works only on small constants (MAX_DECODED_ELEMENTS); anything larger stays an op.
import type { DType } from '../../../common/graphIR';
import { normAxis, product } from './shapes';
import { elementCount, MAX_DECODED_ELEMENTS, type ConstTensor } from './tensorData';

export interface Folded { dtype: DType; dims: number[]; values: number[] }

function strides(dims: readonly number[]): number[] {
  const s = new Array<number>(dims.length).fill(1);
  for (let k = dims.length - 2; k >= 0; k--) s[k] = s[k + 1]! * dims[k + 1]!;
  return s;
}

export function broadcastStatic(a: readonly number[], b: readonly number[]): number[] | undefined {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let k = 0; k < rank; k++) {
    const da = a[a.length - rank + k] ?? 1;
    const db = b[b.length - rank + k] ?? 1;
    if (da !== db && da !== 1 && db !== 1) return undefined;
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** Index into `dims` (right-aligned inside `outDims`) for a flat output index, honouring broadcasting. */
function broadcastIndex(flat: number, outDims: readonly number[], outStrides: readonly number[], dims: readonly number[], inStrides: readonly number[]): number {
  let idx = 0;
  const offset = outDims.length - dims.length;
  for (let k = 0; k < outDims.length; k++) {
    const coord = Math.floor(flat / outStrides[k]!) % outDims[k]!;
    const j = k - offset;
    if (j >= 0 && dims[j] !== 1) idx += coord * inStrides[j]!;
  }
  return idx;
}

export function foldElementwise(inputs: Folded[], dtype: DType, f: (...xs: number[]) => number): Folded | undefined {
  let dims: number[] | undefined = [];
  for (const i of inputs) dims = dims && broadcastStatic(dims, i.dims);
  if (!dims || product(dims) > MAX_DECODED_ELEMENTS) return undefined;
  const n = product(dims);
  const os = strides(dims);
  const ins = inputs.map((i) => strides(i.dims));
  const values = new Array<number>(n);
  for (let k = 0; k < n; k++) {
    values[k] = f(...inputs.map((inp, j) => inp.values[broadcastIndex(k, dims!, os, inp.dims, ins[j]!)]!));
  }
  return { dtype, dims, values: castValues(values, dtype) };
}

export function castValues(values: number[], dtype: DType): number[] {
  switch (dtype) {
    case 'int64': case 'int32': case 'int16': case 'int8': case 'uint8':
      return values.map((v) => (Number.isFinite(v) ? Math.trunc(v) : 0));
    case 'bool': return values.map((v) => (v !== 0 ? 1 : 0));
    case 'fp32': return values.map((v) => Math.fround(v));
    default: return values;
  }
}

export function foldGather(data: Folded, indices: Folded, axisAttr: number): Folded | undefined {
  const axis = normAxis(axisAttr, data.dims.length);
  if (axis < 0 || axis >= data.dims.length) return undefined;
  const outer = product(data.dims.slice(0, axis));
  const extent = data.dims[axis]!;
  const inner = product(data.dims.slice(axis + 1));
  const dims = [...data.dims.slice(0, axis), ...indices.dims, ...data.dims.slice(axis + 1)];
  if (product(dims) > MAX_DECODED_ELEMENTS) return undefined;
  const values: number[] = [];
  for (let o = 0; o < outer; o++) {
    for (const rawIdx of indices.values) {
      const idx = rawIdx < 0 ? rawIdx + extent : rawIdx;
      if (idx < 0 || idx >= extent) return undefined;
      for (let i = 0; i < inner; i++) values.push(data.values[(o * extent + idx) * inner + i]!);
    }
  }
  return { dtype: data.dtype, dims, values };
}

/** ONNX ScatterND on constants: `data` with the slices `indices` names replaced (or combined, per `reduction`)
 *  by `updates`. torch exports in-place index assignment of a constant (Swin's shifted-window mask) this way. */
export function foldScatterND(data: Folded, indices: Folded, updates: Folded, reduction: string): Folded | undefined {
  const k = indices.dims[indices.dims.length - 1];
  if (k === undefined || k > data.dims.length) return undefined;
  const slice = product(data.dims.slice(k));
  const tuples = product(indices.dims.slice(0, -1));
  if (updates.values.length !== tuples * slice) return undefined;
  const combine: Record<string, (old: number, u: number) => number> = {
    none: (_old, u) => u, add: (old, u) => old + u, mul: (old, u) => old * u, max: Math.max, min: Math.min,
  };
  const f = combine[reduction];
  if (!f) return undefined;
  const st = strides(data.dims);
  const values = [...data.values];
  for (let t = 0; t < tuples; t++) {
    let offset = 0;
    for (let j = 0; j < k; j++) {
      const extent = data.dims[j]!;
      const raw = indices.values[t * k + j]!;
      const idx = raw < 0 ? raw + extent : raw;
      if (!Number.isInteger(idx) || idx < 0 || idx >= extent) return undefined;
      offset += idx * st[j]!;
    }
    for (let e = 0; e < slice; e++) values[offset + e] = f(values[offset + e]!, updates.values[t * slice + e]!);
  }
  return { dtype: data.dtype, dims: data.dims, values };
}

export function foldConcat(inputs: Folded[], axisAttr: number): Folded | undefined {
  const first = inputs[0];
  if (!first) return undefined;
  const rank = first.dims.length;
  const axis = normAxis(axisAttr, rank);
  if (axis < 0 || axis >= rank || inputs.some((i) => i.dims.length !== rank)) return undefined;
  const outer = product(first.dims.slice(0, axis));
  const values: number[] = [];
  for (let o = 0; o < outer; o++) {
    for (const inp of inputs) {
      const chunk = product(inp.dims.slice(axis));
      for (let k = 0; k < chunk; k++) values.push(inp.values[o * chunk + k]!);
    }
  }
  const dims = [...first.dims];
  dims[axis] = inputs.reduce((s, i) => s + i.dims[axis]!, 0);
  return { dtype: first.dtype, dims, values };
}

/** Resolved per-axis slice: begin, stride and output length. */
export interface AxisSlice {
  begin: number;
  stride: number;
  /** -1 when the axis is symbolic: then begin/end are the raw (possibly negative) ONNX values. */
  length: number;
  /** Raw end for a symbolic axis; absent means "to the end". */
  end?: number;
}

/** ONNX Slice clamping rules for one axis (negative indices, out-of-range ends, negative steps). */
export function resolveSlice(dim: number, start: number, end: number, step: number): AxisSlice {
  const norm = (v: number) => (v < 0 ? v + dim : v);
  let s = norm(start);
  let e = norm(end);
  if (step > 0) {
    s = Math.max(0, Math.min(dim, s));
    e = Math.max(0, Math.min(dim, e));
  } else {
    s = Math.max(-1, Math.min(dim - 1, s));
    e = Math.max(-1, Math.min(dim - 1, e));
  }
  const length = Math.max(0, Math.ceil((e - s) / step));
  return { begin: s, stride: step, length };
}

export function foldSlice(data: Folded, slices: AxisSlice[]): Folded {
  const dims = slices.map((s) => s.length);
  const inStrides = strides(data.dims);
  const n = product(dims);
  const os = strides(dims);
  const values = new Array<number>(n);
  for (let k = 0; k < n; k++) {
    let idx = 0;
    for (let a = 0; a < dims.length; a++) {
      const coord = Math.floor(k / os[a]!) % dims[a]!;
      idx += (slices[a]!.begin + coord * slices[a]!.stride) * inStrides[a]!;
    }
    values[k] = data.values[idx]!;
  }
  return { dtype: data.dtype, dims, values };
}

export function foldTranspose(data: Folded, perm: number[]): Folded {
  const dims = perm.map((p) => data.dims[p]!);
  const inStrides = strides(data.dims);
  const os = strides(dims);
  const n = product(dims);
  const values = new Array<number>(n);
  for (let k = 0; k < n; k++) {
    let idx = 0;
    for (let a = 0; a < dims.length; a++) idx += (Math.floor(k / os[a]!) % dims[a]!) * inStrides[perm[a]!]!;
    values[k] = data.values[idx]!;
  }
  return { dtype: data.dtype, dims, values };
}

export function foldRange(start: number, limit: number, delta: number, dtype: DType): Folded | undefined {
  if (delta === 0 || !Number.isFinite(start) || !Number.isFinite(limit)) return undefined;
  const n = Math.max(0, Math.ceil((limit - start) / delta));
  if (n > MAX_DECODED_ELEMENTS) return undefined;
  const values = Array.from({ length: n }, (_, k) => start + k * delta);
  return { dtype, dims: [n], values: castValues(values, dtype) };
}

export function asFolded(c: ConstTensor, values: number[] | undefined): Folded | undefined {
  if (!values || values.length !== elementCount(c.dims)) return undefined;
  return { dtype: c.dtype, dims: c.dims, values };
}
