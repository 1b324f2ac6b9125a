// Small helpers over tree-sitter-python nodes shared by the resolver, the rules and run-target discovery.
import type { Node } from 'web-tree-sitter';

/** Arguments of a call split into positional and keyword, in source order. */
export interface CallArgs {
  positional: Node[];
  keywords: Map<string, { name: Node; value: Node; node: Node }>;
}

const argsCache = new WeakMap<Node, CallArgs>();

/** Arguments of a call (cached per node: many rules ask for the same calls). */
export function callArgs(call: Node): CallArgs {
  let v = argsCache.get(call);
  if (!v) argsCache.set(call, (v = readCallArgs(call)));
  return v;
}

function readCallArgs(call: Node): CallArgs {
  const positional: Node[] = [];
  const keywords = new Map<string, { name: Node; value: Node; node: Node }>();
  const list = call.childForFieldName('arguments');
  if (!list || list.type !== 'argument_list') return { positional, keywords };
  for (const arg of list.namedChildren) {
    if (arg.type === 'keyword_argument') {
      const name = arg.childForFieldName('name');
      const value = arg.childForFieldName('value');
      if (name && value) keywords.set(name.text, { name, value, node: arg });
    } else if (arg.type === 'comment') {
      continue;
    } else if (arg.type !== 'list_splat' && arg.type !== 'dictionary_splat') {
      positional.push(arg);
    }
  }
  return { positional, keywords };
}

/** A call argument by keyword, or by position when the parameter can also be passed positionally. */
export function argument(args: CallArgs, keyword: string, position?: number): Node | undefined {
  const kw = args.keywords.get(keyword);
  if (kw) return kw.value;
  if (position !== undefined) return args.positional[position];
  return undefined;
}

/** Strips redundant parentheses: ((x)) → x. */
export function unparen(node: Node): Node {
  let current = node;
  while (current.type === 'parenthesized_expression' && current.namedChildCount === 1 && current.namedChild(0)) {
    current = current.namedChild(0)!;
  }
  return current;
}

/** The innermost enclosing node of one of the given types, or null. */
export function enclosing(node: Node, types: readonly string[]): Node | null {
  for (let p = node.parent; p; p = p.parent) if (types.includes(p.type)) return p;
  return null;
}

/** Short one-line rendering of a node for messages (long argument lists are elided). */
export function snippet(node: Node, max = 60): string {
  const flat = node.text.replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}

/** Elements of a tuple/list literal, or undefined if the node is not one. */
export function sequenceElements(node: Node): Node[] | undefined {
  const n = unparen(node);
  if (n.type === 'tuple' || n.type === 'list') return n.namedChildren.filter((c) => c.type !== 'comment');
  // `(1)` in a shape position is a parenthesized int, Python's one-tuple needs a comma.
  return undefined;
}
