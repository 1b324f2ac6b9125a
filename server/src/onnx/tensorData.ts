// ONNX TensorProto → little-endian bytes in a MIL dtype, and the small numeric views the reader needs for
// constant folding (shapes, axes, scalars). Large tensors are never expanded into JS number arrays.
import { dtypeSize, type DType } from '../../../common/graphIR';
import { DATA_LOCATION_EXTERNAL, int64ToNumber, OnnxDataType, type OnnxTensor } from './onnxSchema';

/** A constant known to the reader: from an initializer, a Constant node, or folding. */
export interface ConstTensor {
  dtype: DType;
  dims: number[];
  /** Little-endian bytes in `dtype`; absent for folded values until they are needed. */
  bytes?: Uint8Array;
  /** Decoded numbers, only for small tensors. */
  values?: number[];
  /** Why the bytes cannot be had (external data, unsupported dtype). */
  unavailable?: string;
}

/** Constants up to this many elements are decoded into numbers for folding and inline values. */
export const MAX_DECODED_ELEMENTS = 1 << 16;
/** A dimension beyond this is corrupt data, not a model (it would exceed any address space). */
const MAX_DIM = 2 ** 40;

export class TensorDataError extends Error {}

export function onnxDtypeName(t: number): string {
  const entry = Object.entries(OnnxDataType).find(([, v]) => v === t);
  return entry ? entry[0] : `type ${t}`;
}

/** MIL dtype for an ONNX elem_type; types we widen (bf16, unsigned) map to what they are widened to. */
export function milDtype(t: number | undefined): DType {
  switch (t) {
    case OnnxDataType.FLOAT: return 'fp32';
    case OnnxDataType.FLOAT16: return 'fp16';
    case OnnxDataType.DOUBLE: return 'fp64';
    case OnnxDataType.BFLOAT16: return 'fp32';
    case OnnxDataType.INT64: case OnnxDataType.UINT32: case OnnxDataType.UINT64: return 'int64';
    case OnnxDataType.INT32: case OnnxDataType.UINT16: return 'int32';
    case OnnxDataType.INT16: return 'int16';
    case OnnxDataType.INT8: return 'int8';
    case OnnxDataType.UINT8: return 'uint8';
    case OnnxDataType.BOOL: return 'bool';
    case OnnxDataType.STRING: return 'string';
    default: return 'unknown';
  }
}

export function elementCount(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

function checkedDims(t: OnnxTensor, label: string): number[] {
  const dims = (t.dims ?? []).map(int64ToNumber);
  for (const d of dims) {
    if (!Number.isInteger(d) || d < 0 || d > MAX_DIM) throw new TensorDataError(`${label} has an invalid dimension ${d}`);
  }
  if (elementCount(dims) > Number.MAX_SAFE_INTEGER) throw new TensorDataError(`${label} has an absurd element count`);
  return dims;
}

/** Decode one TensorProto. `label` names it in errors. External data is reported, never read. */
export function decodeTensor(t: OnnxTensor, label: string): ConstTensor {
  const dims = checkedDims(t, label);
  const onnxType = t.data_type ?? 0;
  const dtype = milDtype(onnxType);
  const count = elementCount(dims);
  if (t.data_location === DATA_LOCATION_EXTERNAL) {
    const location = t.external_data?.find((e) => e.key === 'location')?.value ?? '(no location)';
    return { dtype, dims, unavailable: `external data in "${location}" is not loaded` };
  }
  if (dtype === 'unknown' || dtype === 'string') {
    return { dtype, dims, unavailable: `${onnxDtypeName(onnxType)} tensors are not supported` };
  }
  const size = dtypeSize(dtype);
  const raw = t.raw_data;
  if (raw && raw.length > 0) {
    const srcSize = onnxType === OnnxDataType.BFLOAT16 || onnxType === OnnxDataType.UINT16 ? 2
      : onnxType === OnnxDataType.UINT32 ? 4 : size;
    if (raw.length !== count * srcSize) {
      throw new TensorDataError(`${label}: raw_data holds ${raw.length} bytes but dims ${JSON.stringify(dims)} need ${count * srcSize}`);
    }
    if (srcSize === size && onnxType !== OnnxDataType.UINT64) return { dtype, dims, bytes: raw.slice() };
    return { dtype, dims, bytes: widenRaw(raw, onnxType, count) };
  }
  // Typed repeated fields: which one carries the data depends on the type (see the ONNX TensorProto docs).
  let typed: ArrayLike<number> | undefined;
  switch (onnxType) {
    case OnnxDataType.FLOAT: typed = t.float_data; break;
    case OnnxDataType.DOUBLE: typed = t.double_data; break;
    case OnnxDataType.INT64: typed = t.int64_data?.map(int64ToNumber); break;
    case OnnxDataType.UINT32: case OnnxDataType.UINT64: typed = t.uint64_data?.map(int64ToNumber); break;
    case OnnxDataType.BFLOAT16: typed = t.int32_data?.map(bf16BitsToFloat); break;
    case OnnxDataType.FLOAT16: {
      // int32_data carries the raw binary16 bit patterns.
      const bits = t.int32_data ?? [];
      if (bits.length !== count) throw new TensorDataError(`${label}: has ${bits.length} values but dims need ${count}`);
      const out = new Uint16Array(count);
      for (let k = 0; k < count; k++) out[k] = bits[k]! & 0xffff;
      return { dtype, dims, bytes: new Uint8Array(out.buffer) };
    }
    default: typed = t.int32_data; break;
  }
  const len = typed?.length ?? 0;
  if (len !== count) throw new TensorDataError(`${label}: has ${len} values but dims ${JSON.stringify(dims)} need ${count}`);
  return { dtype, dims, bytes: encodeValues(typed ?? [], dtype) };
}

function bf16BitsToFloat(bits: number): number {
  const b = new Uint32Array([(bits & 0xffff) << 16]);
  return new Float32Array(b.buffer)[0]!;
}

function widenRaw(raw: Uint8Array, onnxType: number, count: number): Uint8Array {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const values = new Array<number>(count);
  for (let k = 0; k < count; k++) {
    switch (onnxType) {
      case OnnxDataType.BFLOAT16: values[k] = bf16BitsToFloat(view.getUint16(k * 2, true)); break;
      case OnnxDataType.UINT16: values[k] = view.getUint16(k * 2, true); break;
      case OnnxDataType.UINT32: values[k] = view.getUint32(k * 4, true); break;
      default: values[k] = Number(view.getBigUint64(k * 8, true)); break;
    }
  }
  return encodeValues(values, milDtype(onnxType));
}

/** Numbers → little-endian bytes of `dtype`. */
export function encodeValues(values: ArrayLike<number>, dtype: DType): Uint8Array {
  const n = values.length;
  switch (dtype) {
    case 'fp32': return new Uint8Array(Float32Array.from(values).buffer);
    case 'fp64': return new Uint8Array(Float64Array.from(values).buffer);
    case 'fp16': {
      const out = new Uint16Array(n);
      for (let k = 0; k < n; k++) out[k] = floatToHalfBits(values[k]!);
      return new Uint8Array(out.buffer);
    }
    case 'int64': {
      const out = new BigInt64Array(n);
      for (let k = 0; k < n; k++) out[k] = BigInt(Math.trunc(clampInt64(values[k]!)));
      return new Uint8Array(out.buffer);
    }
    case 'int32': return new Uint8Array(Int32Array.from(values, (v) => Math.trunc(v)).buffer);
    case 'int16': return new Uint8Array(Int16Array.from(values, (v) => Math.trunc(v)).buffer);
    case 'int8': return new Uint8Array(Int8Array.from(values, (v) => Math.trunc(v)).buffer);
    case 'uint8': return Uint8Array.from(values, (v) => Math.trunc(v));
    case 'bool': return Uint8Array.from(values, (v) => (v !== 0 ? 1 : 0));
    default: throw new TensorDataError(`cannot encode values as ${dtype}`);
  }
}

function clampInt64(v: number): number {
  if (Number.isNaN(v)) return 0;
  return Math.max(-(2 ** 63), Math.min(2 ** 63 - 1024, v));
}

/** Little-endian bytes → numbers (int64 beyond 2^53 lose precision, which shapes never need). */
export function decodeBytes(bytes: Uint8Array, dtype: DType): number[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const size = dtypeSize(dtype);
  const n = size > 0 ? Math.floor(bytes.byteLength / size) : 0;
  const out = new Array<number>(n);
  for (let k = 0; k < n; k++) {
    const o = k * size;
    switch (dtype) {
      case 'fp32': out[k] = view.getFloat32(o, true); break;
      case 'fp64': out[k] = view.getFloat64(o, true); break;
      case 'fp16': out[k] = halfBitsToFloat(view.getUint16(o, true)); break;
      case 'int64': out[k] = Number(view.getBigInt64(o, true)); break;
      case 'int32': out[k] = view.getInt32(o, true); break;
      case 'int16': out[k] = view.getInt16(o, true); break;
      case 'int8': out[k] = view.getInt8(o); break;
      default: out[k] = view.getUint8(o); break;
    }
  }
  return out;
}

/** Values of a constant when it is small enough to fold, else undefined. */
export function constValues(c: ConstTensor): number[] | undefined {
  if (c.values) return c.values;
  if (!c.bytes || elementCount(c.dims) > MAX_DECODED_ELEMENTS) return undefined;
  c.values = decodeBytes(c.bytes, c.dtype);
  return c.values;
}

/** Bytes of a constant, encoding folded values on first use. */
export function constBytes(c: ConstTensor): Uint8Array | undefined {
  if (c.bytes) return c.bytes;
  if (c.values && !c.unavailable) c.bytes = encodeValues(c.values, c.dtype);
  return c.bytes;
}

export function halfBitsToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** IEEE binary16 bits, round to nearest even (via Math.fround-free integer arithmetic on the fp32 bits). */
export function floatToHalfBits(v: number): number {
  const f = new Float32Array([v]);
  const x = new Uint32Array(f.buffer)[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let r = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    if (rem > half || (rem === half && (r & 1))) r++;
    return sign | r;
  }
  let r = mant >>> 13;
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (r & 1))) {
    r++;
    if (r === 0x400) { r = 0; e++; if (e >= 31) return sign | 0x7c00; }
  }
  return sign | (e << 10) | r;
}
