// Reader-level decoder for MILSpec.Program (field numbers: ../shared/docs/coreml-format.md §1.3) straight
// into the in-memory MilFunction, with no intermediate message tree. It reads only what analysis uses
// (op types, argument bindings, output types, `name` and const `val` attributes, nested blocks) and skips
// everything else by advancing the cursor: docStrings, program/function/block attributes, non-entry
// functions, large inline tensors (only their element count is walked past). 64-bit varints are read as
// plain numbers (no Long objects). This is what keeps reading a spec well under a generic decode.
import protobuf from 'protobufjs';
import type { Dim, DType, TensorType, ValueDecl } from '../../../common/graphIR';
import { ModelReadError } from '../onnx/readOnnx';
import { milDataType } from './coremlSchema';
import { MAX_BLOCK_DEPTH, MAX_DIM, MAX_INLINE_VALUES, type MilBinding, type MilBlock, type MilFunction, type MilOp, type MilValue } from './milProgram';

type Reader = protobuf.Reader;
const LEN = 2;
const MAX_TYPE_DEPTH = 16;
/** Value.immediateValue(3) → tensor(1) → strings(4) → values(1). */
const STRING_PATH = [3, 1, 4, 1];

class Fail extends Error {}

/** A varint of up to 64 bits as a number (exact below 2^53, which is all the reader accepts). */
function varint(r: Reader): number {
  let value = 0;
  let scale = 1;
  for (let k = 0; k < 10; k++) {
    if (r.pos >= r.len) throw new Fail('truncated varint');
    const b = r.buf[r.pos++]!;
    value += (b & 127) * scale;
    if (b < 128) return value;
    scale *= 128;
  }
  throw new Fail('invalid varint');
}

/** The end offset of a length-delimited field whose tag has just been read. */
function sub(r: Reader): number {
  const n = r.uint32();
  const end = r.pos + n;
  if (end > r.len) throw new Fail(`length ${n} runs past the end of the data`);
  return end;
}

function skip(r: Reader, wire: number): void {
  r.skipType(wire);
}

class MilDecoder {
  constructor(private readonly file: string) {}

  private dimsError(name: string, d: number): never {
    throw new ModelReadError(this.file, `value "${name}" has an impossible dimension ${d} (the limit is 2^31)`);
  }

  /** ValueType → TensorType (lists, tuples and dicts are "unknown" for analysis). */
  valueType(r: Reader, end: number, depth: number): TensorType {
    if (depth > MAX_TYPE_DEPTH) throw new Fail('types nested too deeply');
    let t: TensorType = { dtype: 'unknown' };
    while (r.pos < end) {
      const tag = r.uint32();
      const f = tag >>> 3;
      if (f === 1 && (tag & 7) === LEN) t = this.tensorType(r, sub(r));
      else if (f === 5 && (tag & 7) === LEN) {
        const e = sub(r);
        while (r.pos < e) {
          const tg = r.uint32();
          if (tg >>> 3 === 1 && (tg & 7) === LEN) t = this.valueType(r, sub(r), depth + 1);
          else skip(r, tg & 7);
        }
      } else skip(r, tag & 7);
    }
    return t;
  }

  private tensorType(r: Reader, end: number): TensorType {
    let dtype: DType = 'unknown';
    const shape: Dim[] = [];
    let rank = 0;
    while (r.pos < end) {
      const tag = r.uint32();
      const f = tag >>> 3;
      if (f === 1 && (tag & 7) === 0) dtype = milDataType(r.int32());
      else if (f === 2 && (tag & 7) === 0) rank = varint(r);
      else if (f === 3 && (tag & 7) === LEN) {
        const e = sub(r);
        let dim: Dim = `is${shape.length}`;
        while (r.pos < e) {
          const tg = r.uint32();
          if (tg >>> 3 === 1 && (tg & 7) === LEN) {
            const ce = sub(r);
            let size = 0;
            while (r.pos < ce) {
              const t2 = r.uint32();
              if (t2 >>> 3 === 1 && (t2 & 7) === 0) size = varint(r);
              else skip(r, t2 & 7);
            }
            dim = size;
          } else skip(r, tg & 7);
        }
        if (shape.length >= 64) throw new Fail('a tensor type has more than 64 dimensions');
        shape.push(dim);
      } else skip(r, tag & 7);
    }
    void rank;
    return { dtype, shape };
  }

  namedValueType(r: Reader, end: number): ValueDecl {
    let name = '';
    let type: TensorType = { dtype: 'unknown' };
    while (r.pos < end) {
      const tag = r.uint32();
      const f = tag >>> 3;
      if (f === 1 && (tag & 7) === LEN) name = r.string();
      else if (f === 2 && (tag & 7) === LEN) type = this.valueType(r, sub(r), 0);
      else skip(r, tag & 7);
    }
    if (type.shape) for (const d of type.shape) if (typeof d === 'number' && d > MAX_DIM) this.dimsError(name, d);
    return { name, type };
  }

  /** TensorValue: element values up to MAX_INLINE_VALUES, else only "elided". */
  private tensorValue(r: Reader, end: number, type: TensorType): Pick<MilValue, 'values' | 'elided'> {
    let values: Array<number | string | boolean> | undefined;
    let elided = false;
    while (r.pos < end) {
      const tag = r.uint32();
      const kind = tag >>> 3;
      if ((tag & 7) !== LEN) { skip(r, tag & 7); continue; }
      const e = sub(r);
      const vals: Array<number | string | boolean> = [];
      while (r.pos < e) {
        const tg = r.uint32();
        const wire = tg & 7;
        if (tg >>> 3 !== 1) { skip(r, wire); continue; }
        if (vals.length > MAX_INLINE_VALUES) { elided = true; skip(r, wire); continue; }
        const readOne = () => {
          switch (kind) {
            case 1: vals.push(r.float()); break;
            case 2: vals.push(r.int32()); break;
            case 3: vals.push(r.bool()); break;
            case 5: { const v = varint(r); vals.push(v >= 2 ** 63 ? v - 2 ** 64 : v); break; }
            case 6: vals.push(r.double()); break;
            default: throw new Fail('bad tensor value');
          }
        };
        if (kind === 4) vals.push(r.string());
        else if (kind === 7) {
          const bytes = r.bytes();
          if (bytes.length > MAX_INLINE_VALUES * 2) elided = true;
          else vals.push(...rawValues(bytes, type.dtype));
        } else if (wire === LEN) {
          const pe = sub(r);
          while (r.pos < pe) {
            if (vals.length > MAX_INLINE_VALUES) { elided = true; r.pos = pe; break; }
            readOne();
          }
        } else readOne();
      }
      values = vals;
    }
    if (elided || (values && values.length > MAX_INLINE_VALUES)) return { elided: true };
    return { values };
  }

  /** `typeKnown`: the caller has the type already (a const's output), so the Value's own copy is skipped. */
  value(r: Reader, end: number, typeKnown?: TensorType): MilValue {
    let type: TensorType = typeKnown ?? { dtype: 'unknown' };
    let imm: { start: number; end: number } | undefined;
    let blob: MilValue['blob'];
    while (r.pos < end) {
      const tag = r.uint32();
      const f = tag >>> 3;
      if ((tag & 7) !== LEN) { skip(r, tag & 7); continue; }
      if (f === 2) { if (typeKnown) skip(r, LEN); else type = this.valueType(r, sub(r), 0); }
      else if (f === 3) { const e = sub(r); imm = { start: r.pos, end: e }; r.pos = e; }
      else if (f === 5) {
        const e = sub(r);
        let fileName = '';
        let offset = 0;
        while (r.pos < e) {
          const tg = r.uint32();
          if (tg >>> 3 === 1 && (tg & 7) === LEN) fileName = r.string();
          else if (tg >>> 3 === 2 && (tg & 7) === 0) offset = varint(r);
          else skip(r, tg & 7);
        }
        blob = { fileName, offset };
      } else skip(r, tag & 7);
    }
    if (type.shape) for (const d of type.shape) if (typeof d === 'number' && d > MAX_DIM) this.dimsError('(a constant)', d);
    if (blob) return { type, blob };
    if (!imm) return { type };
    // ImmediateValue: tensor = 1; tuples/lists/dicts only need to exist.
    const save = r.pos;
    r.pos = imm.start;
    let out: MilValue = { type, elided: true };
    while (r.pos < imm.end) {
      const tag = r.uint32();
      if (tag >>> 3 === 1 && (tag & 7) === LEN) out = { type, ...this.tensorValue(r, sub(r), type) };
      else skip(r, tag & 7);
    }
    r.pos = Math.max(save, imm.end);
    return out;
  }

  /** The first string of a Value's immediate tensor (Value.immediateValue.tensor.strings.values[0]). */
  private stringValue(r: Reader, end: number): string | undefined {
    let out: string | undefined;
    const walk = (e: number, depth: number): void => {
      while (r.pos < e) {
        const tag = r.uint32();
        if (tag >>> 3 === STRING_PATH[depth] && (tag & 7) === LEN) {
          if (depth === STRING_PATH.length - 1) { if (out === undefined) out = r.string(); else skip(r, LEN); }
          else walk(sub(r), depth + 1);
        } else skip(r, tag & 7);
      }
    };
    walk(end, 0);
    r.pos = end;
    return out;
  }

  private binding(r: Reader, end: number): MilBinding {
    let b: MilBinding | undefined;
    while (r.pos < end) {
      const tag = r.uint32();
      const f = tag >>> 3;
      if (f === 1 && (tag & 7) === LEN) b = { name: r.string() };
      else if (f === 2 && (tag & 7) === LEN) b = { value: this.value(r, sub(r)) };
      else skip(r, tag & 7);
    }
    if (!b) throw new Fail('an argument binds nothing');
    return b;
  }

  private operation(r: Reader, end: number, depth: number, index: number, blockLabel: string): MilOp {
    let type = '';
    let name = '';
    const inputs: MilOp['inputs'] = [];
    const outputs: ValueDecl[] = [];
    const blockRanges: Array<[number, number]> = [];
    const attrs: Record<string, MilValue> = {};
    while (r.pos < end) {
      const tag = r.uint32();
      const f = tag >>> 3;
      if ((tag & 7) !== LEN) { skip(r, tag & 7); continue; }
      if (f === 1) type = r.string();
      else if (f === 2) {
        const e = sub(r);
        let key = '';
        const bindings: MilBinding[] = [];
        while (r.pos < e) {
          const tg = r.uint32();
          if (tg >>> 3 === 1 && (tg & 7) === LEN) key = r.string();
          else if (tg >>> 3 === 2 && (tg & 7) === LEN) {
            const ae = sub(r);
            while (r.pos < ae) {
              const t2 = r.uint32();
              if (t2 >>> 3 === 1 && (t2 & 7) === LEN) bindings.push(this.binding(r, sub(r)));
              else skip(r, t2 & 7);
            }
          } else skip(r, tg & 7);
        }
        inputs.push([key, bindings]);
      } else if (f === 3) outputs.push(this.namedValueType(r, sub(r)));
      else if (f === 4) { const e = sub(r); blockRanges.push([r.pos, e]); r.pos = e; }
      else if (f === 5) {
        const e = sub(r);
        let key = '';
        while (r.pos < e) {
          const tg = r.uint32();
          if (tg >>> 3 === 1 && (tg & 7) === LEN) key = r.string();
          else if (tg >>> 3 === 2 && (tg & 7) === LEN) {
            const ve = sub(r);
            // Writers put the key first. A const is named by its output, so its `name` is skipped unread;
            // other ops' names take a path that builds no type objects.
            if (key === 'name') {
              if (type === 'const') r.pos = ve;
              else { const s = this.stringValue(r, ve); if (s) name = s; }
            } else attrs[key] = this.value(r, ve, type === 'const' && key === 'val' && outputs.length === 1 ? outputs[0]!.type : undefined);
          } else skip(r, tg & 7);
        }
      } else skip(r, LEN);
    }
    if (!type) throw new ModelReadError(this.file, `operation #${index} in block ${blockLabel || 'main'} has no type`);
    if (!name) name = outputs[0]?.name || `${type}_${index}`;
    const blocks: MilBlock[] = blockRanges.map(([s, e], j) => {
      const label = `${name}_${type === 'cond' ? (j === 0 ? 'true' : 'false') : type === 'while_loop' ? (j === 0 ? 'cond' : 'body') : `block${j}`}`;
      const save = r.pos;
      r.pos = s;
      const b = this.block(r, e, label, depth + 1);
      r.pos = save;
      return b;
    });
    return { type, name, inputs, outputs, blocks, attrs };
  }

  block(r: Reader, end: number, label: string, depth: number): MilBlock {
    if (depth > MAX_BLOCK_DEPTH) throw new ModelReadError(this.file, `blocks are nested more than ${MAX_BLOCK_DEPTH} deep`);
    const inputs: ValueDecl[] = [];
    const outputs: string[] = [];
    const ops: MilOp[] = [];
    while (r.pos < end) {
      const tag = r.uint32();
      const f = tag >>> 3;
      if ((tag & 7) !== LEN) { skip(r, tag & 7); continue; }
      if (f === 1) inputs.push(this.namedValueType(r, sub(r)));
      else if (f === 2) outputs.push(r.string());
      else if (f === 3) ops.push(this.operation(r, sub(r), depth, ops.length, label));
      else skip(r, LEN);
    }
    return { label, inputs, outputs, ops };
  }

  /** Map<string, Message> entries of a message: key → [start, end) of the value. */
  entries(r: Reader, end: number, field: number, into: Map<string, [number, number]>, others?: (f: number, wire: number) => boolean): void {
    while (r.pos < end) {
      const tag = r.uint32();
      const f = tag >>> 3;
      if (f === field && (tag & 7) === LEN) {
        const e = sub(r);
        let key = '';
        let range: [number, number] = [r.pos, r.pos];
        while (r.pos < e) {
          const tg = r.uint32();
          if (tg >>> 3 === 1 && (tg & 7) === LEN) key = r.string();
          else if (tg >>> 3 === 2 && (tg & 7) === LEN) { const ve = sub(r); range = [r.pos, ve]; r.pos = ve; }
          else skip(r, tg & 7);
        }
        into.set(key, range);
      } else if (!others || !others(f, tag & 7)) skip(r, tag & 7);
    }
  }
}

function rawValues(bytes: Uint8Array, dtype: DType): number[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case 'int8': return Array.from(bytes, (x) => (x << 24) >> 24);
    case 'uint8': case 'bool': return Array.from(bytes);
    case 'fp16': return Array.from({ length: bytes.length >> 1 }, (_, k) => halfToFloat(view.getUint16(k * 2, true)));
    default: return [];
  }
}

export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? Number.NaN : s * Number.POSITIVE_INFINITY;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** The entry function of a serialized MILSpec.Program (`preferred`, else "main", else the first). */
export function decodeProgram(file: string, bytes: Uint8Array, preferred?: string): MilFunction {
  const d = new MilDecoder(file);
  const r = protobuf.Reader.create(bytes);
  try {
    const functions = new Map<string, [number, number]>();
    d.entries(r, r.len, 2, functions);
    if (functions.size === 0) throw new ModelReadError(file, 'the ML program has no functions');
    const name = preferred && functions.has(preferred) ? preferred : functions.has('main') ? 'main' : functions.keys().next().value!;
    const [fs, fe] = functions.get(name)!;
    r.pos = fs;
    const inputs: ValueDecl[] = [];
    let opset = '';
    const blocks = new Map<string, [number, number]>();
    d.entries(r, fe, 3, blocks, (f, wire) => {
      if (f === 1 && wire === LEN) { inputs.push(d.namedValueType(r, sub(r))); return true; }
      if (f === 2 && wire === LEN) { opset = r.string(); return true; }
      return false;
    });
    for (const [k, i] of inputs.entries()) if (!i.name) throw new ModelReadError(file, `input #${k} of function ${name} has no name`);
    const range = blocks.get(opset) ?? blocks.values().next().value;
    if (!range) throw new ModelReadError(file, `function "${name}" has no block for opset "${opset}"`);
    r.pos = range[0];
    const block = d.block(r, range[1], '', 0);
    return { name, opset, inputs, block };
  } catch (e) {
    if (e instanceof ModelReadError) throw e;
    if (e instanceof RangeError && /call stack/i.test(e.message)) throw new ModelReadError(file, 'the ML program is nested too deeply');
    throw new ModelReadError(file, `corrupt ML program (${(e as Error).message})`);
  }
}
