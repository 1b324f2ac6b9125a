// Decoded protobuf MILSpec.Program → the in-memory MilFunction (milProgram.ts). Picks the entry function
// (ModelDescription.defaultFunctionName, else "main", else the only one) and its active block
// (block_specializations[opset]).
import type { Dim, TensorType, ValueDecl } from '../../../common/graphIR';
import { ModelReadError } from '../onnx/readOnnx';
import { int64ToNumber, milDataType, type PbBlock, type PbNamedValueType, type PbProgram, type PbTensorValue, type PbValue, type PbValueType } from './coremlSchema';
import { checkDims, MAX_BLOCK_DEPTH, MAX_INLINE_VALUES, type MilBinding, type MilBlock, type MilFunction, type MilOp, type MilValue } from './milProgram';

export function valueTypeOf(file: string, what: string, t: PbValueType | undefined): TensorType {
  const tt = t?.tensorType ?? t?.stateType?.wrappedType?.tensorType;
  if (!tt) return { dtype: 'unknown' };
  const dtype = milDataType(tt.dataType);
  const rank = int64ToNumber(tt.rank);
  const dims = tt.dimensions ?? [];
  if (dims.length === 0 && rank === 0) return { dtype, shape: [] };
  const shape: Dim[] = [];
  const sizes: number[] = [];
  dims.forEach((d, k) => {
    if (d.constant) {
      const n = int64ToNumber(d.constant.size);
      sizes.push(n);
      shape.push(n);
    } else shape.push(`is${k}`);
  });
  checkDims(file, what, sizes);
  if (shape.length > 64) throw new ModelReadError(file, `${what} has rank ${shape.length} (impossible)`);
  return { dtype, shape };
}

function tensorValues(t: PbTensorValue | undefined, type: TensorType): MilValue['values'] | 'elided' | undefined {
  if (!t) return undefined;
  const limit = (n: number) => n > MAX_INLINE_VALUES;
  if (t.floats) return limit(t.floats.values?.length ?? 0) ? 'elided' : [...(t.floats.values ?? [])];
  if (t.doubles) return limit(t.doubles.values?.length ?? 0) ? 'elided' : [...(t.doubles.values ?? [])];
  if (t.ints) return limit(t.ints.values?.length ?? 0) ? 'elided' : [...(t.ints.values ?? [])];
  if (t.longInts) return limit(t.longInts.values?.length ?? 0) ? 'elided' : (t.longInts.values ?? []).map(int64ToNumber);
  if (t.bools) return limit(t.bools.values?.length ?? 0) ? 'elided' : [...(t.bools.values ?? [])];
  if (t.strings) return limit(t.strings.values?.length ?? 0) ? 'elided' : [...(t.strings.values ?? [])];
  if (t.bytes) {
    const b = t.bytes.values ?? new Uint8Array(0);
    if (b.length > MAX_INLINE_VALUES * 2) return 'elided';
    const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    switch (type.dtype) {
      case 'int8': return Array.from(b, (x) => (x << 24) >> 24);
      case 'uint8': return Array.from(b);
      case 'fp16': return Array.from({ length: b.length >> 1 }, (_, k) => halfToFloat(view.getUint16(k * 2, true)));
      default: return 'elided';
    }
  }
  return undefined;
}

export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? Number.NaN : s * Number.POSITIVE_INFINITY;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

export function milValueOf(file: string, what: string, v: PbValue | undefined): MilValue | undefined {
  if (!v) return undefined;
  const type = valueTypeOf(file, what, v.type);
  if (v.blobFileValue) {
    return { type, blob: { fileName: v.blobFileValue.fileName ?? '', offset: int64ToNumber(v.blobFileValue.offset) } };
  }
  const imm = v.immediateValue;
  if (!imm) return { type };
  if (imm.tensor) {
    const vals = tensorValues(imm.tensor, type);
    if (vals === 'elided') return { type, elided: true };
    return { type, values: vals };
  }
  // Tuples/lists/dicts (buildInfo and the like): analysis needs only that they exist.
  return { type, elided: true };
}

function decls(file: string, list: PbNamedValueType[] | undefined, what: string): ValueDecl[] {
  return (list ?? []).map((n, k) => {
    const name = n.name ?? '';
    if (!name) throw new ModelReadError(file, `${what} #${k} has no name`);
    return { name, type: valueTypeOf(file, `value "${name}"`, n.type) };
  });
}

function stringAttr(v: PbValue | undefined): string | undefined {
  const s = v?.immediateValue?.tensor?.strings?.values?.[0];
  return typeof s === 'string' && s ? s : undefined;
}

function blockOf(file: string, b: PbBlock, label: string, depth: number): MilBlock {
  if (depth > MAX_BLOCK_DEPTH) throw new ModelReadError(file, `blocks are nested more than ${MAX_BLOCK_DEPTH} deep`);
  const ops: MilOp[] = (b.operations ?? []).map((o, k) => {
    const type = o.type ?? '';
    if (!type) throw new ModelReadError(file, `operation #${k} in block ${label || 'main'} has no type`);
    const outputs = decls(file, o.outputs, `output of ${type} #${k}`);
    const name = stringAttr(o.attributes?.name) ?? outputs[0]?.name ?? `${type}_${k}`;
    const inputs: MilOp['inputs'] = Object.entries(o.inputs ?? {}).map(([param, arg]) => [
      param,
      (arg.arguments ?? []).map((bd): MilBinding => {
        if (bd.name) return { name: bd.name };
        const value = milValueOf(file, `argument ${param} of "${name}"`, bd.value);
        if (!value) throw new ModelReadError(file, `argument ${param} of "${name}" binds nothing`);
        return { value };
      }),
    ]);
    const attrs: Record<string, MilValue> = {};
    for (const [key, val] of Object.entries(o.attributes ?? {})) {
      if (key === 'name') continue;
      const mv = milValueOf(file, `attribute ${key} of "${name}"`, val);
      if (mv) attrs[key] = mv;
    }
    const blocks = (o.blocks ?? []).map((nb, j) => blockOf(file, nb, `${name}_${type === 'cond' ? (j === 0 ? 'true' : 'false') : j === 0 && type === 'while_loop' ? 'cond' : j === 1 && type === 'while_loop' ? 'body' : `block${j}`}`, depth + 1));
    return { type, name, inputs, outputs, blocks, attrs };
  });
  return { label, inputs: decls(file, b.inputs, 'block input'), outputs: b.outputs ?? [], ops };
}

export function programFunction(file: string, program: PbProgram, preferred?: string): MilFunction {
  const functions = program.functions ?? {};
  const names = Object.keys(functions);
  if (names.length === 0) throw new ModelReadError(file, 'the ML program has no functions');
  const name = preferred && functions[preferred] ? preferred : functions.main ? 'main' : names[0]!;
  const fn = functions[name]!;
  const specs = fn.block_specializations ?? {};
  const opset = fn.opset ?? '';
  const block = specs[opset] ?? Object.values(specs)[0];
  if (!block) throw new ModelReadError(file, `function "${name}" has no block for opset "${opset}"`);
  return { name, opset, inputs: decls(file, fn.inputs, `input of function ${name}`), block: blockOf(file, block, '', 0) };
}
