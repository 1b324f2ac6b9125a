// Small matchers shared by the rule families: method names, string arguments, (h, w) pairs.
import type { Node } from 'web-tree-sitter';
import { CALL_METHOD, type AnalysisContext, type NodeWithMethod, type ResolvedCall } from '../context';
import { callArgs, sequenceElements, unparen } from '../syntax';
import { evalNumber } from '../values';

// Per-node caches: the same Node objects (ctx.calls) are asked by many rules, and every accessor is a
// call into the wasm tree.
const receiverCache = new WeakMap<Node, Node | null>();

/** `x.float()` → "float"; undefined for plain-name calls. */
export function methodName(call: Node): string | undefined {
  const known = (call as NodeWithMethod)[CALL_METHOD];
  if (known !== undefined) return known ?? undefined;
  const fn = call.childForFieldName('function');
  const m = fn?.type === 'attribute' ? fn.childForFieldName('attribute')?.text : undefined;
  (call as NodeWithMethod)[CALL_METHOD] = m ?? null;
  return m;
}

/** The receiver of a method call (`mask` in `mask.float()`). */
export function receiver(call: Node): Node | undefined {
  let r = receiverCache.get(call);
  if (r === undefined) {
    const fn = call.childForFieldName('function');
    r = fn?.type === 'attribute' ? fn.childForFieldName('object') : null;
    receiverCache.set(call, r);
  }
  return r ?? undefined;
}

/** Literal string value (`'reflect'`, `"bicubic"`), following one simple assignment. */
export function stringValue(node: Node | null | undefined, ctx: AnalysisContext): string | undefined {
  if (!node) return undefined;
  const n = unparen(node);
  const type = n.type; // each read is a call into wasm: once per node
  if (type === 'string') {
    let value = '';
    for (const c of n.namedChildren) {
      const part = c.type;
      if (part === 'interpolation') return undefined;
      if (part === 'string_content') value += c.text;
    }
    return value;
  }
  if (type === 'identifier') {
    const rhs = ctx.assignedBefore(n.text, n);
    return rhs && rhs.type === 'string' ? stringValue(rhs, ctx) : undefined;
  }
  return undefined;
}

/** An int or an int tuple as [first, last] (`3` → [3, 3], `(1, 7)` → [1, 7]); undefined when not literal. */
export function pairValue(node: Node | null | undefined, ctx: AnalysisContext): number[] | undefined {
  if (!node) return undefined;
  const elements = sequenceElements(node);
  if (elements) {
    const values = elements.map((e) => evalNumber(e, ctx));
    if (values.length === 0 || values.some((v) => v === undefined)) return undefined;
    return values as number[];
  }
  const v = evalNumber(node, ctx);
  return v === undefined ? undefined : [v];
}

/** Calls whose canonical callee is in `names`. */
export function callsTo(ctx: AnalysisContext, names: ReadonlySet<string> | ReadonlyMap<string, unknown>): ResolvedCall[] {
  return ctx.calls.filter((c) => c.callee !== undefined && names.has(c.callee));
}

/** `torch.nn.Conv2d` → `nn.Conv2d`, `torch.nn.functional.pad` → `F.pad`, `torch.roll` → `torch.roll`. */
export function shortName(callee: string): string {
  if (callee.startsWith('torch.nn.functional.')) return `F.${callee.slice(20)}`;
  if (callee.startsWith('torch.nn.')) return `nn.${callee.slice(9)}`;
  if (callee.startsWith('coremltools.')) return `ct.${callee.slice(12)}`;
  return callee;
}

/** Prime factors of n (n ≥ 2). */
export function primeFactors(n: number): number[] {
  const out: number[] = [];
  let m = n;
  for (let p = 2; p * p <= m; p++) while (m % p === 0) { out.push(p); m /= p; }
  if (m > 1) out.push(m);
  return out;
}

/** The value node of a keyword argument in a call's argument list. */
export function keywordNode(call: Node, name: string): { node: Node; value: Node } | undefined {
  // The keyword's name is in the call's text, or it is not there (reading the arguments is wasm calls).
  if (!call.text.includes(name)) return undefined;
  const kw = callArgs(call).keywords.get(name);
  return kw ? { node: kw.node, value: kw.value } : undefined;
}
