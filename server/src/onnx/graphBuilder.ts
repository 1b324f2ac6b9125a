// The mutable state of one ONNX read: known value types, constants (for folding and for the blob),
// emitted MIL ops, and the aliases left by folded Identity/Dropout nodes.
import type { AttrValue, ConstantDecl, Dim, DType, OpNode, TensorType } from '../../../common/graphIR';
import { dtypeSize } from '../../../common/graphIR';
import type { Shape } from './shapes';
import { constBytes, constValues, elementCount, type ConstTensor } from './tensorData';

/** Offsets in the weights blob are aligned so the executor can view them as typed arrays. */
const BLOB_ALIGN = 64;
/** int constants up to this many elements are also inlined as `value` (shapes, axes, indices). */
const INLINE_INT_ELEMENTS = 64;

export class GraphBuilder {
  readonly types = new Map<string, TensorType>();
  readonly consts = new Map<string, ConstTensor>();
  /** value_info / graph output declarations, used where our inference has nothing better. */
  readonly declared = new Map<string, TensorType>();
  readonly graphOutputs = new Set<string>();
  /** Run-time shape tensors whose elements are known symbolically (see symbolicDims.ts). */
  readonly shapeValues = new Map<string, Dim[]>();
  readonly ops: OpNode[] = [];
  readonly warnings: string[] = [];
  private readonly aliases = new Map<string, string>();
  private readonly names = new Set<string>();
  private readonly opNames = new Set<string>();
  private counter = 0;

  isGraphOutput(name: string): boolean {
    return this.graphOutputs.has(name);
  }

  resolve(name: string): string {
    let n = name;
    for (let guard = 0; guard < 10_000 && this.aliases.has(n); guard++) n = this.aliases.get(n)!;
    return n;
  }

  alias(from: string, to: string): void {
    this.aliases.set(from, this.resolve(to));
  }

  typeOf(name: string): TensorType | undefined {
    const n = this.resolve(name);
    const c = this.consts.get(n);
    if (c) return { dtype: c.dtype, shape: c.dims };
    return this.types.get(n);
  }

  shapeOf(name: string): Shape | undefined {
    return this.typeOf(name)?.shape;
  }

  constOf(name: string): ConstTensor | undefined {
    return name ? this.consts.get(this.resolve(name)) : undefined;
  }

  /** Numbers of a small constant input, or undefined when the input is not a (small) constant. */
  valuesOf(name: string): number[] | undefined {
    const c = this.constOf(name);
    return c ? constValues(c) : undefined;
  }

  /** Elements of a small integer tensor: constant values, or symbolic shape values. */
  dimValuesOf(name: string): Dim[] | undefined {
    if (!name) return undefined;
    const c = this.constOf(name);
    if (c) {
      if (!c.dtype.startsWith('int') || c.dims.length > 1 || elementCount(c.dims) > 64) return undefined;
      return constValues(c);
    }
    return this.shapeValues.get(this.resolve(name));
  }

  /** Drop ops whose outputs nothing reads (the shape arithmetic left after symbolic folding). */
  removeDeadOps(outputs: readonly string[]): number {
    const live = new Set(outputs);
    const kept: OpNode[] = [];
    for (let k = this.ops.length - 1; k >= 0; k--) {
      const op = this.ops[k]!;
      if (!op.outputs.some((o) => live.has(o.name))) continue;
      kept.push(op);
      for (const i of op.inputs) if (i) live.add(i);
    }
    const removed = this.ops.length - kept.length;
    this.ops.splice(0, this.ops.length, ...kept.reverse());
    return removed;
  }

  /** A name not yet used by any op or value. */
  fresh(base: string): string {
    let name = base;
    while (this.names.has(name) || this.types.has(name) || this.consts.has(name)) name = `${base}_${++this.counter}`;
    this.names.add(name);
    return name;
  }

  reserve(name: string): void {
    this.names.add(name);
  }

  /** Op names are unique among ops (layer names key the run report). */
  uniqueOpName(base: string): string {
    let name = base;
    for (let k = 1; this.opNames.has(name); k++) name = `${base}_${k}`;
    this.opNames.add(name);
    return name;
  }

  addConst(name: string, c: ConstTensor): string {
    this.consts.set(name, c);
    this.names.add(name);
    return name;
  }

  /** A new scalar or small constant made by the reader (e.g. the -1 of Neg → mul). */
  makeConst(base: string, values: number[], dtype: DType, dims: number[] = []): string {
    return this.addConst(this.fresh(base), { dtype, dims, values });
  }

  /**
   * Merge our inferred type with a declared one: our static dims win, declared dims fill symbols,
   * and a declared shape is taken whole when ranks disagree (the file knows better than our guess).
   */
  settle(name: string, inferred: TensorType | undefined): TensorType {
    const declared = this.declared.get(name);
    if (!inferred) return declared ?? { dtype: 'unknown' };
    if (!declared) return inferred;
    const dtype = inferred.dtype !== 'unknown' ? inferred.dtype : declared.dtype;
    if (!inferred.shape) return { dtype, shape: declared.shape };
    if (!declared.shape) return { dtype, shape: inferred.shape };
    if (declared.shape.length !== inferred.shape.length) {
      this.warnings.push(`value "${name}": inferred rank ${inferred.shape.length} differs from declared rank ${declared.shape.length}; using the declared shape`);
      return { dtype, shape: declared.shape };
    }
    // A symbol we derived ("batch*4") says more than an exporter's generated name; "?" says less.
    return { dtype, shape: inferred.shape.map((d, k) => (typeof d === 'number' || d !== '?' ? d : declared.shape![k]!)) };
  }

  emit(op: string, originalOp: string, name: string, inputs: string[], outputs: Array<{ name: string; type?: TensorType }>, attrs: Record<string, AttrValue> = {}): OpNode {
    const clean = this.cleanAttrs(name, attrs);
    const node: OpNode = {
      name,
      op,
      originalOp,
      inputs: inputs.map((i) => (i ? this.resolve(i) : '')),
      outputs: outputs.map((o) => {
        const type = cleanType(this.settle(o.name, o.type));
        this.types.set(o.name, type);
        return { name: o.name, type };
      }),
      attrs: clean,
    };
    this.opNames.add(name);
    this.ops.push(node);
    return node;
  }

  /**
   * Corrupt files can decode into NaN or infinite attribute numbers, which JSON cannot carry; they are
   * clamped (NaN → 0) with a warning rather than producing an IR that fails validation downstream.
   */
  private cleanAttrs(name: string, attrs: Record<string, AttrValue>): Record<string, AttrValue> {
    let bad = false;
    const fix = (v: number) => {
      if (Number.isFinite(v)) return v;
      bad = true;
      return Number.isNaN(v) ? 0 : v > 0 ? Number.MAX_VALUE : -Number.MAX_VALUE;
    };
    const out: Record<string, AttrValue> = {};
    for (const [k, v] of Object.entries(attrs)) {
      if (typeof v === 'number') out[k] = fix(v);
      else if (Array.isArray(v) && v.every((x) => typeof x === 'number')) out[k] = (v as number[]).map(fix);
      else out[k] = v;
    }
    if (bad) this.warnings.push(`${name}: non-finite attribute values were clamped`);
    return out;
  }

  /**
   * Constants referenced by the ops or the graph outputs, in first-use order, with their bytes packed
   * into one blob. Constants only used by folding (Reshape shapes, Slice starts...) are dropped.
   */
  finishConstants(outputs: string[]): { constants: ConstantDecl[]; weights: Uint8Array } {
    const used: string[] = [];
    const seen = new Set<string>();
    const use = (n: string) => {
      if (n && this.consts.has(n) && !seen.has(n)) { seen.add(n); used.push(n); }
    };
    for (const op of this.ops) op.inputs.forEach(use);
    outputs.forEach(use);
    let size = 0;
    const placed: Array<{ decl: ConstantDecl; bytes?: Uint8Array }> = [];
    for (const name of used) {
      const c = this.consts.get(name)!;
      const decl: ConstantDecl = { name, type: { dtype: c.dtype, shape: c.dims } };
      const count = elementCount(c.dims);
      const values = (c.dtype === 'int32' || c.dtype === 'int64') && count <= INLINE_INT_ELEMENTS ? constValues(c)
        : count === 1 ? constValues(c) : undefined;
      if (values && values.every(Number.isFinite)) decl.value = values;
      if (c.unavailable) {
        decl.unavailable = c.unavailable;
        placed.push({ decl });
        continue;
      }
      const bytes = constBytes(c);
      if (!bytes || bytes.byteLength !== count * dtypeSize(c.dtype)) {
        decl.unavailable = `no data for ${c.dtype} constant`;
        placed.push({ decl });
        continue;
      }
      size = Math.ceil(size / BLOB_ALIGN) * BLOB_ALIGN;
      decl.data = { offset: size, byteLength: bytes.byteLength };
      size += bytes.byteLength;
      placed.push({ decl, bytes });
    }
    const weights = new Uint8Array(size);
    for (const p of placed) if (p.bytes && p.decl.data) weights.set(p.bytes, p.decl.data.offset);
    return { constants: placed.map((p) => p.decl), weights };
  }
}

/** A dimension our arithmetic made impossible (negative, fractional, beyond 2^53, missing) becomes a symbol. */
function cleanType(t: TensorType): TensorType {
  if (!t.shape) return t;
  const shape = t.shape.map((d) => (typeof d === 'string' || (Number.isSafeInteger(d) && d >= 0) ? d : '?'));
  return { dtype: t.dtype, shape };
}
