// Checks the blob-backed constants of an ML program against their weight files (MIL blob storage v2,
// ../shared/docs/coreml-format.md §2.3) without reading the weights: 64 bytes of header per file and 64
// bytes of metadata per blob, read with positioned reads (neighbours coalesced), so a 2 GB weight.bin
// costs a few kilobytes. A run reads them (loadBlobs): the executor needs the values.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { dtypeSize, type ConstantDecl, type DType } from '../../../common/graphIR';
import { ModelReadError } from '../onnx/readOnnx';

const SENTINEL = 0xdeadbeef;
const HEADER_BYTES = 64;
const METADATA_BYTES = 64;
const MODEL_PATH = '@model_path/';

export interface BlobRef { constName: string; fileName: string; offset: number }

export interface BlobCheck {
  /** Weight files that exist and were validated. */
  files: string[];
  /** Blob references checked. */
  blobs: number;
  warnings: string[];
}

/** The file a BlobFileValue names, inside the spec's folder; refuses anything that leaves it. */
export function blobPath(specFile: string, modelDir: string, fileName: string): string {
  if (!fileName.startsWith(MODEL_PATH)) {
    throw new ModelReadError(specFile, `weight file "${fileName}" must start with ${MODEL_PATH}`);
  }
  const rel = fileName.slice(MODEL_PATH.length);
  if (!rel || isAbsolute(rel) || rel.includes('\0') || rel.split(/[\\/]/).includes('..')) {
    throw new ModelReadError(specFile, `weight file "${fileName}" leaves the model package`);
  }
  const full = resolve(modelDir, rel);
  const back = relative(modelDir, full);
  if (back.startsWith('..') || isAbsolute(back)) throw new ModelReadError(specFile, `weight file "${fileName}" leaves the model package`);
  return full;
}

/** Blob references grouped by the weight file they point into (each path checked to stay in the package). */
function refsByFile(specFile: string, modelDir: string, refs: BlobRef[]): Map<string, BlobRef[]> {
  const byFile = new Map<string, BlobRef[]>();
  const paths = new Map<string, string>();
  for (const r of refs) {
    let path = paths.get(r.fileName);
    if (path === undefined) {
      path = blobPath(specFile, modelDir, r.fileName);
      paths.set(r.fileName, path);
    }
    const list = byFile.get(path) ?? [];
    list.push(r);
    byFile.set(path, list);
  }
  return byFile;
}

export function checkBlobs(specFile: string, modelDir: string, refs: BlobRef[]): BlobCheck {
  const result: BlobCheck = { files: [], blobs: 0, warnings: [] };
  for (const [path, list] of refsByFile(specFile, modelDir, refs)) {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        result.warnings.push(`weights missing: ${relative(modelDir, path)} is not in the package, so ${list.length} weight constant(s) (e.g. "${list[0]!.constName}") cannot be checked; the model's ops are analysed without them, but it cannot run`);
        continue;
      }
      throw new ModelReadError(path, `cannot open weight file: ${code ?? (e as Error).message}`);
    }
    try {
      checkFile(path, fd, list);
      result.files.push(path);
      result.blobs += list.length;
    } finally {
      closeSync(fd);
    }
  }
  return result;
}

/** Blobs whose metadata lie this close together are checked with one read (small biases and norms). */
const GAP_BYTES = 4096;
const WINDOW_BYTES = 64 * 1024;

function checkFile(path: string, fd: number, refs: BlobRef[]): void {
  const size = fstatSync(fd).size;
  const head = Buffer.alloc(HEADER_BYTES);
  if (size < HEADER_BYTES || readSync(fd, head, 0, HEADER_BYTES, 0) !== HEADER_BYTES) {
    throw new ModelReadError(path, `weight file is ${size} bytes, shorter than its ${HEADER_BYTES}-byte header`);
  }
  const version = head.readUInt32LE(4);
  if (version !== 2) throw new ModelReadError(path, `weight file has storage version ${version}; only version 2 (MIL blob storage) is known`);
  for (const r of refs) {
    if (!Number.isSafeInteger(r.offset) || r.offset < HEADER_BYTES || r.offset + METADATA_BYTES > size) {
      throw new ModelReadError(path, `const "${r.constName}": blob offset ${r.offset} is outside the ${size}-byte weight file`);
    }
  }
  // In file order, neighbouring metadata blocks share one positioned read into one reused buffer: a model
  // with many small constants costs a few dozen reads instead of one per blob, and weights between blobs
  // farther apart than GAP_BYTES are never read.
  const sorted = refs.length > 1 ? [...refs].sort((a, b) => a.offset - b.offset) : refs;
  const buf = Buffer.allocUnsafe(Math.min(WINDOW_BYTES, size));
  for (let i = 0; i < sorted.length;) {
    const start = sorted[i]!.offset;
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1]!.offset - sorted[j]!.offset <= GAP_BYTES && sorted[j + 1]!.offset + METADATA_BYTES - start <= buf.length) j++;
    const want = sorted[j]!.offset + METADATA_BYTES - start;
    const got = readSync(fd, buf, 0, want, start);
    for (; i <= j; i++) {
      const r = sorted[i]!;
      const at = r.offset - start;
      if (at + METADATA_BYTES > got) {
        throw new ModelReadError(path, `const "${r.constName}": cannot read blob metadata at offset ${r.offset}`);
      }
      blobMetadata(path, size, r, buf, at);
    }
  }
}

interface BlobMetadata { dtype: number; dataSize: number; dataOffset: number }

/** The 64-byte metadata record of blob `r` at `buf[at]`, checked against the file's `size`. */
function blobMetadata(path: string, size: number, r: BlobRef, buf: Buffer, at: number): BlobMetadata {
  const sentinel = buf.readUInt32LE(at);
  if (sentinel !== SENTINEL) {
    throw new ModelReadError(path, `const "${r.constName}": no blob at offset ${r.offset} (sentinel 0x${sentinel.toString(16)}, expected 0xdeadbeef)`);
  }
  const dataSize = Number(buf.readBigUInt64LE(at + 8));
  const dataOffset = Number(buf.readBigUInt64LE(at + 16));
  if (!Number.isSafeInteger(dataOffset) || !Number.isSafeInteger(dataSize) || dataOffset < r.offset + METADATA_BYTES || dataOffset + dataSize > size) {
    throw new ModelReadError(path, `const "${r.constName}": blob data (${dataSize} bytes at offset ${dataOffset}) runs past the end of the ${size}-byte weight file`);
  }
  return { dtype: buf.readUInt32LE(at + 4), dataSize, dataOffset };
}

/** BlobDataType (coreml-format.md §2.3) names; the ones the executor reads map to their IR dtype. */
const BLOB_TYPE_NAMES = ['', 'fp16', 'fp32', 'uint8', 'int8', 'bfloat16', 'int16', 'uint16', 'int4', 'uint1', 'uint2', 'uint4', 'uint3', 'uint6', 'int32', 'uint32', 'float8e4m3fn', 'float8e5m2'];
const BLOB_DTYPES: Record<number, DType> = { 1: 'fp16', 2: 'fp32', 3: 'uint8', 4: 'int8', 6: 'int16', 14: 'int32' };
/** A run refuses models whose weights would not fit in one buffer this size. */
export const MAX_RUN_WEIGHT_BYTES = 2 ** 31;

/**
 * For a run: the payloads of the blob-backed constants, read into one buffer that `constants` then point into
 * (`data`), each at a 64-byte aligned offset. A blob whose dtype the executor cannot read, or whose size does
 * not match its constant's type, keeps `unavailable` with the reason, so the ops reading it are costed but
 * not executed. Missing weight files leave their constants unavailable too (checkBlobs warns about them).
 */
export function loadBlobs(specFile: string, modelDir: string, refs: BlobRef[], constants: ConstantDecl[]): Uint8Array {
  const byName = new Map(constants.map((c) => [c.name, c]));
  const plan: Array<{ path: string; ref: BlobRef; meta: BlobMetadata; decl: ConstantDecl; at: number }> = [];
  let total = 0;
  const meta = Buffer.alloc(METADATA_BYTES);
  for (const [path, list] of refsByFile(specFile, modelDir, refs)) {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch {
      // checkBlobs has warned about the missing file; each constant says it too.
      for (const ref of list) {
        const decl = byName.get(ref.constName);
        if (decl) decl.unavailable = `its weight file ${relative(modelDir, path)} is not in the package`;
      }
      continue;
    }
    try {
      const size = fstatSync(fd).size;
      for (const ref of list) {
        const decl = byName.get(ref.constName);
        if (!decl) continue;
        if (!Number.isSafeInteger(ref.offset) || ref.offset + METADATA_BYTES > size || readSync(fd, meta, 0, METADATA_BYTES, ref.offset) !== METADATA_BYTES) {
          throw new ModelReadError(path, `const "${ref.constName}": blob offset ${ref.offset} is outside the ${size}-byte weight file`);
        }
        const m = blobMetadata(path, size, ref, meta, 0);
        const dtype = BLOB_DTYPES[m.dtype];
        const count = decl.type.shape?.reduce<number>((n, d) => n * (typeof d === 'number' ? d : NaN), 1);
        if (dtype === undefined) {
          decl.unavailable = `its blob holds ${BLOB_TYPE_NAMES[m.dtype] || `BlobDataType ${m.dtype}`} values, which the simulator does not read`;
          continue;
        }
        if (dtype !== decl.type.dtype) {
          decl.unavailable = `its blob holds ${dtype} values, not the ${decl.type.dtype} its constant declares`;
          continue;
        }
        if (count === undefined || !Number.isSafeInteger(count) || count * dtypeSize(dtype) !== m.dataSize) {
          decl.unavailable = `its blob holds ${m.dataSize} bytes, not the ${decl.type.dtype} shape (${(decl.type.shape ?? []).join(', ')}) it is declared with`;
          continue;
        }
        total = align64(total);
        plan.push({ path, ref, meta: m, decl, at: total });
        total += m.dataSize;
        if (total > MAX_RUN_WEIGHT_BYTES) {
          throw new ModelReadError(specFile, `the weights of this model are over ${MAX_RUN_WEIGHT_BYTES >> 20} MiB; the simulator runs models up to that size`);
        }
      }
    } finally {
      closeSync(fd);
    }
  }
  const weights = new Uint8Array(total);
  let fd = -1;
  let open = '';
  try {
    for (const p of plan) {
      if (p.path !== open) {
        if (fd >= 0) closeSync(fd);
        fd = openSync(p.path, 'r');
        open = p.path;
      }
      if (readSync(fd, weights, p.at, p.meta.dataSize, p.meta.dataOffset) !== p.meta.dataSize) {
        throw new ModelReadError(p.path, `const "${p.ref.constName}": cannot read its ${p.meta.dataSize} bytes of weights`);
      }
      p.decl.data = { offset: p.at, byteLength: p.meta.dataSize };
      delete p.decl.unavailable;
    }
  } finally {
    if (fd >= 0) closeSync(fd);
  }
  return weights;
}

function align64(n: number): number {
  return Math.ceil(n / 64) * 64;
}

/** Join a package-relative path for messages. */
export function packageRelative(pkg: string, path: string): string {
  return join('.', relative(pkg, path));
}
