// ONNX for analysis without the weights: a wire-level pass over the file with positioned reads that
// copies everything except large initializer payloads, which it turns into external-data references
// pointing back into the same file (location = the file's own name, offset, length). The ONNX reader then
// sees ordinary external initializers: their types and shapes are known, their bytes are never read.
// Peak memory is the model's structure plus a read window, not its weights.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { WeightedGraph } from '../../../common/graphIR';
import { ModelReadError, readOnnxBytes } from '../onnx/readOnnx';

/** Payloads at least this big stay in the file. Smaller ones (shapes, axes, scales) are kept for folding. */
export const LAZY_MIN_PAYLOAD = 64 * 1024;
const WINDOW = 1 << 20;
const MAX_BYTES = 2 ** 31;

class FileCursor {
  private buf = Buffer.alloc(WINDOW);
  private start = 0;
  private len = 0;
  constructor(private readonly fd: number, readonly size: number, private readonly file: string) {}

  private fill(pos: number): void {
    this.start = pos;
    this.len = readSync(this.fd, this.buf, 0, Math.min(WINDOW, this.size - pos), pos);
  }

  byte(pos: number): number {
    if (pos >= this.size) throw new ModelReadError(this.file, `truncated protobuf at byte ${pos}`);
    if (pos < this.start || pos >= this.start + this.len) this.fill(pos);
    return this.buf[pos - this.start]!;
  }

  varint(pos: number): [number, number] {
    let value = 0;
    let scale = 1;
    for (let k = 0; k < 10; k++) {
      const b = this.byte(pos++);
      value += (b & 127) * scale;
      scale *= 128;
      if (b < 128) return [value, pos];
    }
    throw new ModelReadError(this.file, `invalid varint at byte ${pos}`);
  }

  copy(pos: number, length: number): Buffer {
    const out = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      const n = readSync(this.fd, out, done, length - done, pos + done);
      if (n <= 0) throw new ModelReadError(this.file, `truncated protobuf at byte ${pos + done}`);
      done += n;
    }
    return out;
  }
}

function varintBytes(n: number): number[] {
  const out: number[] = [];
  while (n > 127) { out.push((n % 128) | 128); n = Math.floor(n / 128); }
  out.push(n);
  return out;
}

function field(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from(varintBytes((tag << 3) | 2)), Buffer.from(varintBytes(content.length)), content]);
}

interface Stats { tensors: number; bytes: number }

/** One field: its number, wire type, where its payload starts/ends, and where the whole field ends. */
function nextField(c: FileCursor, pos: number, end: number, file: string) {
  const [key, p1] = c.varint(pos);
  const num = Math.floor(key / 8);
  const wire = key % 8;
  let dataStart = p1;
  let dataEnd: number;
  switch (wire) {
    case 0: dataEnd = c.varint(p1)[1]; break;
    case 1: dataEnd = p1 + 8; break;
    case 5: dataEnd = p1 + 4; break;
    case 2: {
      const [len, p2] = c.varint(p1);
      dataStart = p2;
      dataEnd = p2 + len;
      break;
    }
    default: throw new ModelReadError(file, `unsupported protobuf wire type ${wire} at byte ${pos}`);
  }
  if (dataEnd > end || num === 0) throw new ModelReadError(file, `truncated or corrupt protobuf at byte ${pos}`);
  return { num, wire, dataStart, dataEnd };
}

function tensor(c: FileCursor, start: number, end: number, file: string, self: string, stats: Stats): Buffer {
  const parts: Buffer[] = [];
  let pos = start;
  let dropped: { offset: number; length: number } | undefined;
  while (pos < end) {
    const f = nextField(c, pos, end, file);
    // raw_data (9) and packed fixed-width float_data (4) / double_data (10) are little-endian raw bytes,
    // exactly what an external-data reference describes.
    if (f.wire === 2 && (f.num === 9 || f.num === 4 || f.num === 10) && f.dataEnd - f.dataStart >= LAZY_MIN_PAYLOAD && !dropped) {
      dropped = { offset: f.dataStart, length: f.dataEnd - f.dataStart };
    } else parts.push(c.copy(pos, f.dataEnd - pos));
    pos = f.dataEnd;
  }
  if (dropped) {
    stats.tensors++;
    stats.bytes += dropped.length;
    const entry = (k: string, v: string) => field(13, Buffer.concat([field(1, Buffer.from(k)), field(2, Buffer.from(v))]));
    parts.push(entry('location', self), entry('offset', String(dropped.offset)), entry('length', String(dropped.length)), Buffer.from([14 << 3, 1]));
  }
  return Buffer.concat(parts);
}

function graph(c: FileCursor, start: number, end: number, file: string, self: string, stats: Stats): Buffer {
  const parts: Buffer[] = [];
  let pos = start;
  while (pos < end) {
    const f = nextField(c, pos, end, file);
    if (f.num === 5 && f.wire === 2) parts.push(field(5, tensor(c, f.dataStart, f.dataEnd, file, self, stats)));
    else parts.push(c.copy(pos, f.dataEnd - pos));
    pos = f.dataEnd;
  }
  return Buffer.concat(parts);
}

/** The model's bytes with large initializer payloads replaced by references into the file itself. */
export function stripOnnxWeights(file: string): { bytes: Buffer; stats: Stats } {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    throw new ModelReadError(file, `cannot open: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    const size = fstatSync(fd).size;
    if (size === 0) throw new ModelReadError(file, 'empty file');
    if (size > MAX_BYTES) throw new ModelReadError(file, `${(size / 2 ** 30).toFixed(1)} GiB is larger than a protobuf message can be (2 GiB); not an ONNX model file`);
    const c = new FileCursor(fd, size, file);
    const stats: Stats = { tensors: 0, bytes: 0 };
    const self = basename(file);
    const parts: Buffer[] = [];
    let pos = 0;
    while (pos < size) {
      const f = nextField(c, pos, size, file);
      if (f.num === 7 && f.wire === 2) parts.push(field(7, graph(c, f.dataStart, f.dataEnd, file, self, stats)));
      else parts.push(c.copy(pos, f.dataEnd - pos));
      pos = f.dataEnd;
    }
    return { bytes: Buffer.concat(parts), stats };
  } finally {
    closeSync(fd);
  }
}

/** readOnnxFile's graph, without ever holding the weights in memory. */
export function readOnnxLazy(file: string): WeightedGraph {
  const { bytes, stats } = stripOnnxWeights(file);
  const result = readOnnxBytes(bytes, file, { modelDir: dirname(file) });
  result.graph.file = file;
  result.graph.name = basename(file).replace(/\.onnx$/i, '') || result.graph.name;
  if (stats.tensors > 0) {
    result.graph.warnings.push(`weights not loaded: ${stats.tensors} initializer(s), ${(stats.bytes / 2 ** 20).toFixed(1)} MiB, stay in the file (analysis needs only their shapes)`);
  }
  return result;
}
