// Re-fuse the decompositions torch.onnx.export emits before opset 17 (LayerNorm) and for nn.GELU (erf
// form), the way coremltools' fuse passes do, so the IR shows — and placement, cost and numerics see — one
// layer_norm / gelu instead of 5–9 elementwise ops. Patterns only match when every intermediate value is
// private to the pattern, so nothing else in the graph can observe the rewrite.
import type { OpNode } from '../../../common/graphIR';
import type { GraphBuilder } from './graphBuilder';
import { constValues } from './tensorData';

interface Index {
  producer: Map<string, OpNode>;
  users: Map<string, OpNode[]>;
}

function index(ops: readonly OpNode[]): Index {
  const producer = new Map<string, OpNode>();
  const users = new Map<string, OpNode[]>();
  for (const op of ops) {
    for (const o of op.outputs) producer.set(o.name, op);
    for (const i of op.inputs) if (i) (users.get(i) ?? users.set(i, []).get(i)!).push(op);
  }
  return { producer, users };
}

function scalarOf(b: GraphBuilder, name: string): number | undefined {
  const c = b.constOf(name);
  if (!c || c.dims.some((d) => d !== 1)) return undefined;
  return constValues(c)?.[0];
}

/** The single op reading `value`, when it is the only reader and the value is not a graph output. */
function soleUser(ix: Index, b: GraphBuilder, value: string): OpNode | undefined {
  const users = ix.users.get(value) ?? [];
  return users.length === 1 && !b.isGraphOutput(value) ? users[0] : undefined;
}

/** The operand of a binary op that is not `value` (commutative ops only). */
function other(op: OpNode, value: string): string | undefined {
  if (op.inputs.length !== 2) return undefined;
  if (op.inputs[0] === value) return op.inputs[1];
  if (op.inputs[1] === value) return op.inputs[0];
  return undefined;
}

function commonPrefix(names: string[]): string {
  let prefix = names[0] ?? '';
  for (const n of names) while (!n.startsWith(prefix)) prefix = prefix.slice(0, -1);
  return prefix.slice(0, prefix.lastIndexOf('/') + 1);
}

interface Match { ops: OpNode[]; replacement: OpNode }

/**
 * mean = reduce_mean(x, A); d = x - mean; v = reduce_mean(d², A); y = d / sqrt(v + eps) [* gamma] [+ beta]
 * with A the trailing axes → layer_norm(x, gamma?, beta?, axes A, epsilon eps).
 */
function matchLayerNorm(b: GraphBuilder, ix: Index, mean: OpNode): Match | undefined {
  if (mean.op !== 'reduce_mean' || mean.attrs.keep_dims !== true || !Array.isArray(mean.attrs.axes)) return undefined;
  const x = mean.inputs[0]!;
  const rank = b.typeOf(x)?.shape?.length;
  const axes = mean.attrs.axes as number[];
  if (rank === undefined || axes.length === 0 || !axes.every((a, k) => a === rank - axes.length + k)) return undefined;
  const sub = soleUser(ix, b, mean.outputs[0]!.name);
  if (!sub || sub.op !== 'sub' || sub.inputs[0] !== x || sub.inputs[1] !== mean.outputs[0]!.name) return undefined;
  const d = sub.outputs[0]!.name;
  const dUsers = ix.users.get(d) ?? [];
  if (dUsers.length !== 2 || b.isGraphOutput(d)) return undefined;
  const square = dUsers.find((u) => (u.op === 'pow' && u.inputs[0] === d && scalarOf(b, u.inputs[1]!) === 2) || (u.op === 'mul' && u.inputs[0] === d && u.inputs[1] === d));
  const div = dUsers.find((u) => u.op === 'real_div' && u.inputs[0] === d);
  if (!square || !div) return undefined;
  const varOp = soleUser(ix, b, square.outputs[0]!.name);
  if (!varOp || varOp.op !== 'reduce_mean' || varOp.attrs.keep_dims !== true || JSON.stringify(varOp.attrs.axes) !== JSON.stringify(axes)) return undefined;
  const addEps = soleUser(ix, b, varOp.outputs[0]!.name);
  const epsName = addEps?.op === 'add' ? other(addEps, varOp.outputs[0]!.name) : undefined;
  const epsilon = epsName !== undefined ? scalarOf(b, epsName) : undefined;
  if (!addEps || epsilon === undefined) return undefined;
  const sqrt = soleUser(ix, b, addEps.outputs[0]!.name);
  if (!sqrt || sqrt.op !== 'sqrt' || div.inputs[1] !== sqrt.outputs[0]!.name || soleUser(ix, b, sqrt.outputs[0]!.name) !== div) return undefined;
  const ops = [mean, sub, square, varOp, addEps, sqrt, div];
  let last = div;
  let gamma = '';
  let beta = '';
  const affineLen = (name: string) => {
    const c = b.constOf(name);
    const width = b.typeOf(x)?.shape?.[rank - 1];
    return c && axes.length === 1 && c.dims.length === 1 && c.dims[0] === width;
  };
  const mul = soleUser(ix, b, last.outputs[0]!.name);
  const g = mul?.op === 'mul' ? other(mul, last.outputs[0]!.name) : undefined;
  if (mul && g && affineLen(g)) { gamma = g; ops.push(mul); last = mul; }
  const add = soleUser(ix, b, last.outputs[0]!.name);
  const be = add?.op === 'add' ? other(add, last.outputs[0]!.name) : undefined;
  if (add && be && affineLen(be)) { beta = be; ops.push(add); last = add; }
  const inputs = [x, gamma, beta];
  while (inputs.length > 1 && !inputs[inputs.length - 1]) inputs.pop();
  const prefix = commonPrefix(ops.map((o) => o.name));
  return {
    ops,
    replacement: {
      name: b.uniqueOpName(prefix ? `${prefix}LayerNorm` : `${mean.name}/layer_norm`),
      op: 'layer_norm',
      originalOp: `LayerNormalization (decomposed: ${ops.map((o) => o.originalOp).join(', ')})`,
      inputs,
      outputs: last.outputs,
      attrs: { axes, epsilon },
    },
  };
}

/** y = (x * (erf(x / √2) + 1)) * 0.5 (torch's export of nn.GELU()) → gelu(x, EXACT). */
function matchGelu(b: GraphBuilder, ix: Index, div: OpNode): Match | undefined {
  if (div.op !== 'real_div') return undefined;
  const x = div.inputs[0]!;
  const s = scalarOf(b, div.inputs[1]!);
  if (s === undefined || Math.abs(s - Math.SQRT2) > 1e-5) return undefined;
  const erf = soleUser(ix, b, div.outputs[0]!.name);
  if (!erf || erf.op !== 'erf') return undefined;
  const plusOne = soleUser(ix, b, erf.outputs[0]!.name);
  const one = plusOne?.op === 'add' ? other(plusOne, erf.outputs[0]!.name) : undefined;
  if (!plusOne || one === undefined || scalarOf(b, one) !== 1) return undefined;
  const mulX = soleUser(ix, b, plusOne.outputs[0]!.name);
  if (!mulX || mulX.op !== 'mul' || other(mulX, plusOne.outputs[0]!.name) !== x) return undefined;
  const half = soleUser(ix, b, mulX.outputs[0]!.name);
  const h = half?.op === 'mul' ? other(half, mulX.outputs[0]!.name) : undefined;
  if (!half || h === undefined || scalarOf(b, h) !== 0.5) return undefined;
  const ops = [div, erf, plusOne, mulX, half];
  const prefix = commonPrefix(ops.map((o) => o.name));
  return {
    ops,
    replacement: {
      name: b.uniqueOpName(prefix ? `${prefix}Gelu` : `${div.name}/gelu`),
      op: 'gelu',
      originalOp: `Gelu (decomposed: ${ops.map((o) => o.originalOp).join(', ')})`,
      inputs: [x],
      outputs: half.outputs,
      attrs: { mode: 'EXACT' },
    },
  };
}

/** Apply the fusions in place; returns how many patterns were fused. */
export function fusePatterns(b: GraphBuilder): number {
  const ix = index(b.ops);
  const removed = new Set<OpNode>();
  const replacementAt = new Map<OpNode, OpNode>();
  let fused = 0;
  for (const op of b.ops) {
    if (removed.has(op)) continue;
    const m = matchLayerNorm(b, ix, op) ?? matchGelu(b, ix, op);
    if (!m || m.ops.some((o) => removed.has(o))) continue;
    for (const o of m.ops) removed.add(o);
    // The fused op takes the place of the pattern's last op, where all its inputs are already defined.
    replacementAt.set(m.ops[m.ops.length - 1]!, m.replacement);
    fused++;
  }
  if (fused === 0) return 0;
  const next: OpNode[] = [];
  for (const op of b.ops) {
    const r = replacementAt.get(op);
    if (r) next.push(r);
    else if (!removed.has(op)) next.push(op);
  }
  b.ops.splice(0, b.ops.length, ...next);
  return fused;
}
