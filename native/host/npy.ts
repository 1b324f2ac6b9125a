// Minimal .npy reader/writer for run inputs and saved outputs. Only what ANE Lens exchanges: little-endian
// f2/f4/f8/i4/i8 in C order, header versions 1.0/2.0/3.0. Anything else is refused with a message that
// names the file and the problem, because silently reinterpreting bytes would give plausible garbage.
import { readFileSync, writeFileSync } from 'node:fs';

export class NpyError extends Error {}

export type NpyDtype = '<f2' | '<f4' | '<f8' | '<i4' | '<i8';
const SUPPORTED: Record<NpyDtype, number> = { '<f2': 2, '<f4': 4, '<f8': 8, '<i4': 4, '<i8': 8 };

export interface NpyArray {
  dtype: NpyDtype;
  shape: number[];
  /** Values converted to float32 (what the executor consumes). */
  data: Float32Array;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

export function readNpyFile(path: string): NpyArray {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new NpyError(`${path}: cannot read: ${(e as Error).message}`);
  }
  return parseNpy(bytes, path);
}

export function parseNpy(bytes: Uint8Array, label: string): NpyArray {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) throw new NpyError(`${label}: not a .npy file (bad magic)`);
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let headerStart: number;
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw new NpyError(`${label}: truncated .npy header`);
    headerLen = view.getUint32(8, true);
    headerStart = 12;
  } else {
    throw new NpyError(`${label}: unsupported .npy format version ${major}.${bytes[7]}`);
  }
  const dataStart = headerStart + headerLen;
  if (dataStart > bytes.length) throw new NpyError(`${label}: truncated .npy header`);
  const header = Buffer.from(bytes.buffer, bytes.byteOffset + headerStart, headerLen).toString(major === 3 ? 'utf8' : 'latin1');

  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw new NpyError(`${label}: malformed .npy header: ${header.trim()}`);
  }
  if (fortran === 'True') throw new NpyError(`${label}: Fortran-order arrays are not supported; save with np.ascontiguousarray`);
  // '|' (not applicable) and '=' (native) byte orders never occur for these dtypes on disk from numpy, but
  // '<' is required: a big-endian file would be read wrong.
  if (!(descr in SUPPORTED)) {
    throw new NpyError(`${label}: unsupported dtype '${descr}'; supported: ${Object.keys(SUPPORTED).join(', ')}`);
  }
  const dtype = descr as NpyDtype;
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s.length > 0).map((s) => {
    const n = Number(s.replace(/L$/, ''));
    if (!Number.isInteger(n) || n < 0) throw new NpyError(`${label}: bad shape entry '${s}'`);
    return n;
  });
  const count = shape.reduce((a, b) => a * b, 1);
  const itemSize = SUPPORTED[dtype];
  if (bytes.length - dataStart < count * itemSize) {
    throw new NpyError(`${label}: data is truncated: shape (${shape.join(', ')}) needs ${count * itemSize} bytes, file has ${bytes.length - dataStart}`);
  }
  const data = new Float32Array(count);
  const dv = new DataView(bytes.buffer, bytes.byteOffset + dataStart, count * itemSize);
  for (let i = 0; i < count; i++) {
    switch (dtype) {
      case '<f2': data[i] = halfToFloat(dv.getUint16(i * 2, true)); break;
      case '<f4': data[i] = dv.getFloat32(i * 4, true); break;
      case '<f8': data[i] = dv.getFloat64(i * 8, true); break;
      case '<i4': data[i] = dv.getInt32(i * 4, true); break;
      case '<i8': data[i] = Number(dv.getBigInt64(i * 8, true)); break;
    }
  }
  return { dtype, shape, data };
}

/** Encode float32 values as a .npy ('<f4', C order). Uses v1.0 unless the header needs v2.0. */
export function encodeNpyFloat32(data: Float32Array, shape: readonly number[]): Buffer {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new NpyError(`shape (${shape.join(', ')}) holds ${count} values, got ${data.length}`);
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // numpy aligns the data to 64 bytes; the header ends with '\n' and is padded with spaces.
  let version = 1;
  let prefix = 10;
  let total = Math.ceil((prefix + dict.length + 1) / 64) * 64;
  if (total - prefix > 0xffff) {
    version = 2;
    prefix = 12;
    total = Math.ceil((prefix + dict.length + 1) / 64) * 64;
  }
  const headerLen = total - prefix;
  const out = Buffer.alloc(total + count * 4);
  out.set(MAGIC, 0);
  out[6] = version;
  out[7] = 0;
  if (version === 1) out.writeUInt16LE(headerLen, 8);
  else out.writeUInt32LE(headerLen, 8);
  out.write(dict.padEnd(headerLen - 1, ' ') + '\n', prefix, 'latin1');
  for (let i = 0; i < count; i++) out.writeFloatLE(data[i], total + i * 4);
  return out;
}

export function writeNpyFloat32(path: string, data: Float32Array, shape: readonly number[]): void {
  writeFileSync(path, encodeNpyFloat32(data, shape));
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}
