// Small helpers over tree-sitter-python nodes shared by the resolver, the rules and run-target discovery.
import type { Node } from 'web-tree-sitter';

/** Arguments of a call split into positional and keyword, in source order. */
export interface CallArgs {
  positional: Node[];
  keywords: Map<string, KeywordArgument>;
}

/** `name=value` in a call; the value node is fetched when first asked for (most keywords are never read). */
export class KeywordArgument {
  private valueNode: Node | undefined;
  constructor(readonly node: Node) {}

  get value(): Node {
    // Broken code can leave the value out; the keyword itself then stands in (it evaluates to nothing).
    return (this.valueNode ??= this.node.childForFieldName('value') ?? this.node);
  }
}

/**
 * The text a tree was parsed from, kept on the tree (parsePython): with it, a node's first characters are a
 * string read, where asking the node for its type or text is a call into wasm.
 */
const SOURCE = Symbol('source');
type TreeWithSource = Node['tree'] & { [SOURCE]?: string };

export function attachSource(tree: Node['tree'], text: string): void {
  (tree as TreeWithSource)[SOURCE] = text;
}

/** The source of the node's tree, if parsePython parsed it. */
export function sourceOf(node: Node): string | undefined {
  return (node.tree as TreeWithSource)[SOURCE];
}

/** A Python identifier (letters of any script, `_`, digits after the first character). */
export const PYTHON_NAME = '[\\p{L}\\p{Nl}_][\\p{L}\\p{Nl}\\p{Mn}\\p{Mc}\\p{Nd}\\p{Pc}]*';
/** `name = ...` or `name: T = ...` at the start of a statement; group 1 is the name. */
export const ASSIGNED_NAME = new RegExp(`^(${PYTHON_NAME})\\s*(?::[^=\\n]*)?=(?!=)`, 'u');
/** `def name(` / `async def name[` at the start of a function definition; group 1 is the name. */
export const DEF_NAME = new RegExp(`^(?:async[ \\t]+)?def[ \\t]+(${PYTHON_NAME})(?=[ \\t]*[(\\[])`, 'u');
/** A name at `lastIndex` (sticky). */
export const NAME_AT = new RegExp(PYTHON_NAME, 'uy');

const argsCache = new WeakMap<Node, CallArgs>();

/** Arguments of a call (cached per node: many rules ask for the same calls). */
export function callArgs(call: Node): CallArgs {
  let v = argsCache.get(call);
  if (!v) argsCache.set(call, (v = readCallArgs(call)));
  return v;
}

const KEYWORD_NAME = new RegExp(`^(${PYTHON_NAME})\\s*=`, 'u');
/** A name that runs to the end of the look-ahead window (a very long keyword?): the type decides. */
const NAME_TO_WINDOW_END = new RegExp(`^${PYTHON_NAME}\\s*$`, 'u');

function readCallArgs(call: Node): CallArgs {
  const positional: Node[] = [];
  const keywords = new Map<string, KeywordArgument>();
  const list = call.childForFieldName('arguments');
  if (!list || list.type !== 'argument_list') return { positional, keywords };
  const source = sourceOf(call);
  for (const arg of list.namedChildren) {
    // What an argument is shows in its first characters (each type read is a call into wasm): `name = ...`
    // with a single `=` is a keyword argument (`==` is a comparison, `:=` starts with `:`), and only `name==`,
    // `*`/`**`, `#` and names that run past the window need their type read; the rest are positional.
    const head = source?.slice(arg.startIndex, arg.startIndex + 64);
    const keyword = head === undefined ? null : KEYWORD_NAME.exec(head);
    const type = keyword && head![keyword[0].length] !== '=' ? 'keyword_argument'
      : head === undefined || keyword || head[0] === '*' || head[0] === '#' || NAME_TO_WINDOW_END.test(head) ? arg.type
        : 'positional';
    if (type === 'keyword_argument') {
      const name = (keyword ?? KEYWORD_NAME.exec(arg.text))?.[1];
      if (name !== undefined) keywords.set(name, new KeywordArgument(arg));
    } else if (type !== 'comment' && type !== 'list_splat' && type !== 'dictionary_splat') {
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
  // Only a node that starts with `(` can be a parenthesized expression: the source says so without wasm.
  const source = sourceOf(node);
  if (source !== undefined && source.charCodeAt(node.startIndex) !== 40) return node;
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
  // A tuple or list literal starts with `(` or `[`: the source rules out the rest without a wasm call.
  const source = sourceOf(n);
  if (source !== undefined && source[n.startIndex] !== '(' && source[n.startIndex] !== '[') return undefined;
  const type = n.type;
  if (type === 'tuple' || type === 'list') return n.namedChildren.filter((c) => source !== undefined ? source[c.startIndex] !== '#' : c.type !== 'comment');
  // `(1)` in a shape position is a parenthesized int, Python's one-tuple needs a comma.
  return undefined;
}
