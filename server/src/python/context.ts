// Everything the rules share about one parsed file, computed once: import bindings, simple
// assignments, every call with its resolved callee, and the nn.Module subclasses.
import type { Node, Tree } from 'web-tree-sitter';
import { DEFAULT_CHIP } from '../../../common/chips';
import type { FileFacts0, FileFacts1 } from './fileFacts';
import type { ImportResolver } from './resolve';
import { ASSIGNED_NAME, DEF_NAME, PYTHON_NAME, unparen } from './syntax';

// Methods that are not part of the inference graph: losses, target assignment, state-dict hooks, init helpers.
const NOT_TRACED = /loss|^assign_targets|^_load_from_state_dict$|^load_state_dict$|^reset_parameters$|init_weights|^extra_repr$|^__repr__$|^train$|^eval$|^_init_|^define_/;
const TRAINING_BRANCH = /^\(?\s*self\.training\s*\)?$|\btargets? is not None\b/;

export interface ResolvedCall {
  readonly node: Node;
  /** Canonical dotted callee (`torch.nn.LSTM`), or undefined when not imported. */
  readonly callee: string | undefined;
  /** Attribute called (`float` in `x.float()`, `qkv` in `self.qkv(x)`), undefined for plain names. */
  readonly method: string | undefined;
  /** Source text of the call (for cheap keyword pre-filters). */
  readonly text: string;
}

/** A resolved call whose text is sliced when first read: most calls are ruled out by callee alone. */
class CallSite implements ResolvedCall {
  private textValue: string | undefined;
  constructor(readonly node: Node, readonly callee: string | undefined, readonly method: string | undefined, private readonly source: string, text?: string) {
    this.textValue = text;
  }

  get text(): string {
    // endIndex is a call into wasm: paid only for the calls a rule looks at closely.
    return (this.textValue ??= this.source.slice(this.node.startIndex, this.node.endIndex));
  }
}

/**
 * Method name of a call, stored on the Node object itself while resolving calls (rules/util.ts reads
 * it): a WeakMap entry per call cost more than the rest of the call resolution.
 */
export const CALL_METHOD = Symbol('callMethod');
export type NodeWithMethod = Node & { [CALL_METHOD]?: string | null };

const DOTTED = /^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*$/;
/** `self.name(` at `lastIndex` (sticky); group 1 is the name. */
const SELF_CALL = /self\s*\.\s*([A-Za-z_]\w*)\s*\(/y;
/** A dotted name and the `(` after it, at `lastIndex` (sticky). */
const DOTTED_CALL_HEAD = /[A-Za-z_]\w*(?:[ \t]*\.[ \t]*[A-Za-z_]\w*)*[ \t]*\(/y;
const ASCII_NAME = /^[A-Za-z_]\w*$/;
const SPACE = /\s/;

/** `text` without whitespace (most call heads have none, and then no new string is made). */
function withoutSpaces(text: string): string {
  return SPACE.test(text) ? text.replace(/\s+/g, '') : text;
}

/**
 * The dotted name (without spaces) that a call's text at `start` begins with, when `(` follows it; else
 * undefined. For the innermost call starting there (no call in its function) that name is the callee.
 */
export function dottedCallHead(text: string, start: number): string | undefined {
  DOTTED_CALL_HEAD.lastIndex = start;
  return DOTTED_CALL_HEAD.test(text) ? withoutSpaces(text.slice(start, DOTTED_CALL_HEAD.lastIndex - 1)) : undefined;
}

interface AssignmentEntry { node: Node; start: number; rhs?: Node | null; scope?: Node | null }

export interface ModuleClass {
  node: Node;
  name: string;
  /** The superclass expression that makes it a module (for messages). */
  base: string;
}

// Node types the analysis indexes, collected in one traversal: each descendantsOfType call walks the
// whole tree, which dominates the time on large files.
export const INDEXED_TYPES = ['import_statement', 'import_from_statement', 'class_definition', 'function_definition',
  'assignment', 'call', 'comment', 'if_statement', 'while_statement', 'for_statement', 'decorator'] as const;
// Every node accessor is a call into wasm (several µs each), which is what makes the analysis slower
// than the parse. So the index is one traversal, calls are resolved from their text, assignments are
// read lazily, and rare constructs (squares, subscripts) are found by regex over the source first.
export type IndexedType = (typeof INDEXED_TYPES)[number];

const TYPE_ORDINAL = new Map<string, number>(INDEXED_TYPES.map((t, i) => [t, i]));
const NO_NODES: readonly Node[] = Object.freeze([]);

/**
 * The indexed nodes of one block (or of the whole file), by type, in document order. A list is made when its
 * first node arrives: a Map and eleven lists per block were ~1 KB of garbage for each of a file's hundreds of
 * blocks, most of the lists empty.
 */
export class NodeIndex {
  private readonly lists: Array<Node[] | undefined> = new Array(INDEXED_TYPES.length).fill(undefined);

  get(type: IndexedType): readonly Node[] {
    return this.lists[TYPE_ORDINAL.get(type)!] ?? NO_NODES;
  }

  /** Adds `node`, whose type is `type` (see indexedTypes); nodes of other types are ignored. */
  add(node: Node, type: string): void {
    const i = TYPE_ORDINAL.get(type);
    if (i !== undefined) (this.lists[i] ??= []).push(node);
  }

  /** True when the block holds import statements and nothing else the analysis indexes (not even a comment). */
  importsOnly(): boolean {
    return this.lists.every((list, i) => list === undefined || INDEXED_TYPES[i] === 'import_statement' || INDEXED_TYPES[i] === 'import_from_statement');
  }
}

const NAME_END = '(?![\\p{L}\\p{Nl}\\p{Mn}\\p{Mc}\\p{Nd}\\p{Pc}])';
// Sticky patterns tried with `test` (no match array per node); the statement keywords are looked up by
// their first letter and tried one by one.
const KEYWORDS: ReadonlyArray<readonly [RegExp, IndexedType]> = ([
  ['import', 'import_statement'], ['from', 'import_from_statement'], ['class', 'class_definition'], ['def', 'function_definition'],
  ['if', 'if_statement'], ['while', 'while_statement'], ['for', 'for_statement'],
] as const).map(([word, type]) => [new RegExp(`${word}${NAME_END}`, 'uy'), type] as const);
const KEYWORDS_BY_LETTER = new Map<string, Array<readonly [RegExp, IndexedType]>>();
for (const k of KEYWORDS) {
  const letter = k[0].source[0]!;
  KEYWORDS_BY_LETTER.set(letter, [...(KEYWORDS_BY_LETTER.get(letter) ?? []), k]);
}
/** A dotted name and then `(`, `=` (not `==`), `:` (not `:=`) or `,`: the match ends just after that character. */
const DOTTED_THEN = new RegExp(`${PYTHON_NAME}(?:[ \\t]*\\.[ \\t]*${PYTHON_NAME})*[ \\t]*[(=:,](?!=)`, 'uy');

/** The indexed statement type that the text at `start` names by its keyword, `#` or `@`. */
function statementAt(text: string, start: number): IndexedType | undefined {
  const first = text[start];
  if (first === '#') return 'comment';
  if (first === '@') return 'decorator';
  for (const [pattern, type] of KEYWORDS_BY_LETTER.get(first ?? '') ?? []) {
    pattern.lastIndex = start;
    if (pattern.test(text)) return type;
  }
  return undefined;
}

/**
 * The types of `nodes`, the output of descendantsOfType(INDEXED_TYPES) (document order), read from the source
 * where its first characters decide: a `type` read is a call into wasm, and this was one per indexed node
 * (9,000 on a 5,000-line file). Among the indexed types a statement keyword, `#` or `@` names the type; any
 * other node is a call or an assignment. A call's text is its function and then `(`; an assignment's is its
 * target and then `=`, `:` or `,` — unless the target starts with a call (`f(x).y = 1`), and then that call
 * starts where the assignment does. So a node that shares its start with no other indexed node and starts
 * with a dotted name is a call if `(` follows the name and an assignment if `=`, `:` or `,` does. Nodes that
 * share a start are nested, each the first descendant of the one before (descendantsOfType is a pre-order
 * walk); an assignment is a statement, never inside a call, so all but the first of them are calls (method
 * chains: `super().__init__()`) and only the first has its type read, like any other node (`async`, a
 * parenthesized target, ...).
 */
export function indexedTypes(nodes: readonly Node[], text: string): string[] {
  const types = new Array<string>(nodes.length);
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i]!;
    const start = node.startIndex;
    let type: string | undefined = statementAt(text, start);
    if (type === undefined && i > 0 && nodes[i - 1]!.startIndex === start) {
      type = 'call';
    } else if (type === undefined && !(i + 1 < nodes.length && nodes[i + 1]!.startIndex === start)) {
      DOTTED_THEN.lastIndex = start;
      if (DOTTED_THEN.test(text)) type = text[DOTTED_THEN.lastIndex - 1] === '(' ? 'call' : 'assignment';
    }
    types[i] = type ?? node.type;
  }
  return types;
}

/** Where a context sits in the file: its block's ordinal and offsets, or the whole file. */
export interface ContextScope {
  /** The block's ordinal among the file's blocks; undefined for a whole-file context. */
  block?: number;
  startIndex: number;
  endIndex: number;
}

/**
 * Offset of the `(` that opens a call's own argument list: the last bracket opened at depth 0, with
 * string literals skipped. -1 when the text does not end with that list (odd or unbalanced code).
 */
function argumentListStart(text: string): number {
  let depth = 0;
  let open = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"' || c === "'") {
      const triple = text.startsWith(c.repeat(3), i);
      const quote = triple ? c.repeat(3) : c;
      let j = i + quote.length;
      while (j < text.length && !text.startsWith(quote, j)) j += text[j] === '\\' ? 2 : 1;
      i = j + quote.length - 1;
    } else if (c === '#') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '(' || c === '[' || c === '{') {
      if (depth === 0 && c === '(') open = i;
      depth++;
    } else if (c === ')' || c === ']' || c === '}') {
      depth--;
    }
  }
  return depth === 0 && text.endsWith(')') ? open : -1;
}

/** The global-flag copy of each pattern nodesMatching searches with (compiled once, not once per block). */
const GLOBAL_REGEXPS = new Map<string, RegExp>();

/** Index of the last of the sorted `starts` strictly below `s`, or -1. */
function lastBefore(starts: readonly number[], s: number): number {
  let lo = 0;
  let hi = starts.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (starts[mid]! < s) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/** Index of the first range starting after `s` (ranges sorted by start). */
function upperBound(ranges: ReadonlyArray<{ start: number }>, s: number): number {
  let lo = 0;
  let hi = ranges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ranges[mid]!.start <= s) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class AnalysisContext {
  readonly root: Node;
  readonly imports: ImportResolver;
  readonly calls: ResolvedCall[];
  private readonly assignments = new Map<string, AssignmentEntry[]>();
  private moduleClassList: ModuleClass[] | undefined;
  private stage1: FileFacts1 | undefined;

  /** Target chip id (common/chips.ts) for chip-dependent rules. */
  readonly chip: string;

  /**
   * A context over one block of the file (rules see only its nodes; what they need from the rest of the
   * file comes from `facts`) or over the whole file. `lines` is the whole file's, rows are the file's.
   */
  constructor(
    readonly tree: Tree, readonly text: string, readonly lineAt: (row: number) => string, private readonly index: NodeIndex,
    readonly facts: FileFacts0, readonly scope: ContextScope, chip = DEFAULT_CHIP,
  ) {
    this.chip = chip;
    this.root = tree.rootNode;
    this.imports = facts.imports;
    for (const assign of this.nodes('assignment')) {
      // `name = ...` / `name: T = ...` from the text; the right-hand side node is fetched when asked.
      const m = ASSIGNED_NAME.exec(this.text.slice(assign.startIndex, assign.startIndex + 200));
      if (!m) continue;
      const list = this.assignments.get(m[1]!) ?? [];
      list.push({ node: assign, start: assign.startIndex });
      this.assignments.set(m[1]!, list);
    }
    const callNodes = this.nodes('call');
    this.calls = callNodes.map((node, k) => {
      const start = node.startIndex;
      // The innermost of calls sharing a start (descendantsOfType lists the outer ones first: `a(b).c(d)`)
      // has no call in its function, so a dotted name and `(` at its start are its callee and argument
      // list, and its text need not be read. Chains, subscripts and odd code read the text.
      const dotted = k + 1 < callNodes.length && callNodes[k + 1]!.startIndex === start ? undefined : dottedCallHead(this.text, start);
      if (dotted !== undefined) {
        const dot = dotted.lastIndexOf('.');
        const method = dot >= 0 ? dotted.slice(dot + 1) : undefined;
        (node as NodeWithMethod)[CALL_METHOD] = method ?? null;
        return new CallSite(node, this.imports.resolveDotted(dotted), method, this.text);
      }
      const text = this.text.slice(start, node.endIndex);
      const paren = argumentListStart(text);
      const head = paren > 0 ? withoutSpaces(text.slice(0, paren)) : '';
      let callee: string | undefined;
      let method: string | undefined;
      // The name after the head's last dot, if it is one (no match array per call: there are thousands).
      const dot = head.lastIndexOf('.');
      const tail = dot >= 0 ? head.slice(dot + 1) : '';
      const last = ASCII_NAME.test(tail) ? tail : undefined;
      if (DOTTED.test(head)) {
        callee = this.imports.resolveDotted(head);
        method = last;
      } else if (paren > 0 && last !== undefined) {
        // `a.b(c).d(e)`, `x[0].float()`: not a plain dotted path, but the called attribute is clear.
        method = last;
      } else {
        const fn = node.childForFieldName('function');
        callee = this.imports.resolve(fn);
        method = fn?.type === 'attribute' ? fn.childForFieldName('attribute')?.text : undefined;
      }
      (node as NodeWithMethod)[CALL_METHOD] = method ?? null;
      return new CallSite(node, callee, method, this.text, text);
    });
  }

  /** The second-stage file facts (call graph into top-level functions, sequence modules, first LayerNorm). */
  get facts1(): FileFacts1 {
    if (!this.stage1) throw new Error('internal: stage-1 file facts read before they were computed');
    return this.stage1;
  }

  set facts1(value: FileFacts1) {
    this.stage1 = value;
  }

  // This and the other per-context memos are made when first used: most blocks never need them.
  private nodeStarts: Map<IndexedType, number[]> | undefined;

  /** Indexed nodes of `type` inside `node` (document order), without walking its subtree. */
  nodesIn(type: IndexedType, node: Node): readonly Node[] {
    const list = this.nodes(type);
    const memo = (this.nodeStarts ??= new Map());
    let starts = memo.get(type);
    if (!starts) memo.set(type, (starts = list.map((n) => n.startIndex)));
    const [lo, end] = indexRangeWithin(starts, node);
    return list.slice(lo, end);
  }

  private callStarts: number[] | undefined;

  /** The calls inside `node` (document order), without walking its subtree. */
  callsIn(node: Node): ResolvedCall[] {
    this.callStarts ??= this.calls.map((c) => c.node.startIndex);
    const [lo, end] = indexRangeWithin(this.callStarts, node);
    return this.calls.slice(lo, end);
  }

  /**
   * Nodes of one of `types` around each regex match in the source (the match start, walking up a few
   * parents): a cheap way to find rare constructs without indexing every node of a common type.
   */
  nodesMatching(re: RegExp, types: readonly string[], offset: (m: RegExpExecArray) => number = (m) => m.index): Node[] {
    const key = `${re.flags}/${re.source}`;
    let global = GLOBAL_REGEXPS.get(key);
    if (!global) GLOBAL_REGEXPS.set(key, (global = new RegExp(re.source, re.flags.includes('g') ? re.flags : `${re.flags}g`)));
    global.lastIndex = 0;
    const slice = this.blockText();
    const offsets: number[] = [];
    for (let m = global.exec(slice); m; m = global.exec(slice)) {
      if (m[0].length === 0) global.lastIndex++;
      offsets.push(offset(m));
    }
    return this.nodesAt(offsets, types);
  }

  /**
   * The block's own source text: searches run over it alone, as a search from the block start through the
   * whole file would make the analysis quadratic in the number of blocks.
   */
  blockText(): string {
    const { startIndex, endIndex } = this.scope;
    // Several rules search it per block: sliced once.
    return (this.blockTextValue ??= startIndex === 0 && endIndex === this.text.length ? this.text : this.text.slice(startIndex, endIndex));
  }

  private blockTextValue: string | undefined;

  /** Like nodesMatching, at offsets into blockText() found some other way. */
  nodesAt(offsets: readonly number[], types: readonly string[]): Node[] {
    const out: Node[] = [];
    if (offsets.length === 0) return out;
    const seen = new Set<number>();
    const { startIndex, endIndex } = this.scope;
    for (const offset of offsets) {
      const at = startIndex + offset;
      let n: Node | null = this.root.descendantForIndex(at, at + 1);
      for (let i = 0; n && i < 4 && !types.includes(n.type); i++) n = n.parent;
      // Nodes belong to the block their start falls in.
      if (n && types.includes(n.type) && !seen.has(n.id) && n.startIndex >= startIndex && n.startIndex < endIndex) { seen.add(n.id); out.push(n); }
    }
    return out;
  }

  /** All nodes of one indexed type in this context's block (or file), in document order. */
  nodes(type: IndexedType): readonly Node[] {
    return this.index.get(type);
  }

  /** Canonical name of an expression, following a name through simple assignments (`p = ct.precision.FLOAT32`). */
  resolveValue(node: Node | null | undefined, depth = 0): string | undefined {
    if (!node) return undefined;
    const n = unparen(node);
    const direct = this.imports.resolve(n);
    if (direct || depth > 4 || n.type !== 'identifier') return direct;
    const rhs = this.assignedBefore(n.text, n);
    return rhs ? this.resolveValue(rhs, depth + 1) : undefined;
  }

  private scopeList: Array<{ node: Node; start: number; end: number; parent: number }> | undefined;
  private scopeStarts: number[] | undefined;
  private rhsByOffset: Map<number, Node | null> | undefined;

  /** Class and function definitions of this context (scopes) in document order, each with its enclosing one. */
  private scopes(): Array<{ node: Node; start: number; end: number; parent: number }> {
    if (this.scopeList) return this.scopeList;
    const nodes = [...this.nodes('class_definition'), ...this.nodes('function_definition')].sort((a, b) => a.startIndex - b.startIndex);
    const list: Array<{ node: Node; start: number; end: number; parent: number }> = [];
    const open: number[] = [];
    for (const node of nodes) {
      const start = node.startIndex;
      while (open.length && list[open[open.length - 1]!]!.end <= start) open.pop();
      list.push({ node, start, end: node.endIndex, parent: open.length ? open[open.length - 1]! : -1 });
      open.push(list.length - 1);
    }
    this.scopeStarts = list.map((x) => x.start);
    return (this.scopeList = list);
  }

  /**
   * The definitions containing offset `s`, outermost first: the last scope starting before `s`, then its
   * enclosing scopes, keeping those that reach past `s` (a binary search and the nesting depth, not a scan).
   */
  private containersOf(s: number): Node[] {
    const list = this.scopes();
    let i = lastBefore(this.scopeStarts!, s);
    const chain: Node[] = [];
    for (; i >= 0; i = list[i]!.parent) if (list[i]!.end > s) chain.push(list[i]!.node);
    return chain.reverse();
  }

  private scopeOf(entry: AssignmentEntry): Node | null {
    if (entry.scope === undefined) entry.scope = this.containersOf(entry.start).pop() ?? null;
    return entry.scope;
  }

  /** The last `name = ...` in `scope` (null: module scope) before `use`, as its right-hand side. */
  private lastAssignmentIn(list: readonly AssignmentEntry[], scope: Node | null, use: Node): Node | undefined {
    const at = use.startIndex;
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid]!.start < at) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo - 1; i >= 0; i--) {
      const entry = list[i]!;
      if (this.scopeOf(entry)?.id !== scope?.id) continue;
      if (entry.rhs === undefined) entry.rhs = entry.node.childForFieldName('right');
      const rhs = entry.rhs;
      if (!rhs) continue;
      // `x = f(x)`: the use inside the right-hand side refers to the previous binding.
      if (at >= rhs.startIndex && use.endIndex <= rhs.endIndex) continue;
      if (rhs.startIndex < at) return rhs;
    }
    return undefined;
  }

  /**
   * The right-hand side of the last `name = ...` before `use` that Python would bind it to: in the use's
   * own function (or class body), then in enclosing functions (class bodies are not visible from their
   * methods; a parameter of that name stops the search), then at module scope, in this block or an
   * earlier one. Textual order stands in for run-time order, which is right for straight-line model code.
   */
  assignedBefore(name: string, use: Node): Node | undefined {
    const list = this.assignments.get(name);
    // Most names looked up are parameters (`cin`, `dim`) that nothing assigns: no scope walk needed.
    if (!list && (this.scope.block === undefined || !this.facts.moduleAssignments.has(name))) return undefined;
    return this.bindingOf(name, use, list ?? []);
  }

  private bindingOf(name: string, use: Node, list: readonly AssignmentEntry[]): Node | undefined {
    const chain = this.containersOf(use.startIndex);
    for (let i = chain.length - 1; i >= 0; i--) {
      const scope = chain[i]!;
      if (i < chain.length - 1 && scope.type === 'class_definition') continue;
      const hit = this.lastAssignmentIn(list, scope, use);
      if (hit) return hit;
      if (scope.type === 'function_definition' && this.parametersOf(scope).has(name)) return undefined;
    }
    const local = this.lastAssignmentIn(list, null, use);
    if (local || this.scope.block === undefined) return local;
    const earlier = this.facts.moduleAssignments.get(name) ?? [];
    for (let i = earlier.length - 1; i >= 0; i--) {
      const entry = earlier[i]!;
      if (entry.block >= this.scope.block) continue;
      const rhs = this.rhsAt(entry.offset);
      if (rhs) return rhs;
    }
    return undefined;
  }

  private parameterSets: Map<number, Set<string>> | undefined;

  /** A function's parameter names (they shadow outer bindings), read once per function. */
  private parametersOf(fn: Node): Set<string> {
    let names = (this.parameterSets ??= new Map()).get(fn.id);
    if (!names) {
      const params = fn.childForFieldName('parameters')?.text ?? '';
      names = new Set([...params.matchAll(/(?:^|[(,])\s*\**\s*([A-Za-z_]\w*)/g)].map((m) => m[1]!));
      this.parameterSets!.set(fn.id, names);
    }
    return names;
  }

  /** The right-hand side of the assignment starting at `offset` (another block's module-scope assignment). */
  private rhsAt(offset: number): Node | undefined {
    let rhs = (this.rhsByOffset ??= new Map()).get(offset);
    if (rhs === undefined) {
      let n: Node | null = this.root.descendantForIndex(offset, offset + 1);
      while (n && !(n.type === 'assignment' && n.startIndex === offset)) n = n.parent;
      rhs = n?.childForFieldName('right') ?? null;
      this.rhsByOffset!.set(offset, rhs);
    }
    return rhs ?? undefined;
  }

  /** Module classes defined in this context (the file-wide fixed point is in the facts). */
  moduleClasses(): ModuleClass[] {
    if (this.moduleClassList) return this.moduleClassList;
    this.moduleClassList = [];
    for (const cls of this.nodes('class_definition')) {
      const name = className(cls, this.text);
      const known = name !== undefined ? this.facts.moduleClasses.get(name) : undefined;
      if (name !== undefined && known && known.row === cls.startPosition.row) this.moduleClassList.push({ node: cls, name, base: known.base });
    }
    return this.moduleClassList;
  }

  /** The module class whose body contains `node`, innermost first. */
  moduleClassOf(node: Node): ModuleClass | undefined {
    const s = node.startIndex;
    const classes = this.classRanges();
    // Ranges nest, so the innermost container is the last one starting at or before `s` that still covers it.
    for (let i = upperBound(classes, s) - 1; i >= 0; i--) {
      const c = classes[i]!;
      if (c.end > s && c.start < s) return c.cls;
    }
    return undefined;
  }

  private classRangeList: Array<{ start: number; end: number; cls: ModuleClass }> | undefined;
  private methodRangeList: Array<{ start: number; end: number; cls: ModuleClass; method: string }> | undefined;
  private trainingRanges: Array<{ start: number; end: number }> | undefined;
  private topFunctionRanges: Array<{ start: number; end: number; name: string }> | undefined;

  private classRanges(): Array<{ start: number; end: number; cls: ModuleClass }> {
    this.classRangeList ??= this.moduleClasses().map((cls) => ({ start: cls.node.startIndex, end: cls.node.endIndex, cls }))
      .sort((a, b) => a.start - b.start);
    return this.classRangeList;
  }

  /** Functions defined directly in module class bodies, by source range (computed once). */
  private methodRanges(): Array<{ start: number; end: number; cls: ModuleClass; method: string }> {
    if (this.methodRangeList) return this.methodRangeList;
    const list: Array<{ start: number; end: number; cls: ModuleClass; method: string }> = [];
    const functions = this.nodes('function_definition');
    for (const cls of this.moduleClasses()) {
      // A method is a `def` (decorated or not) at the column of the class body's statements: one inside an
      // `if`, a nested class or another function sits deeper. The index has every def already; reading the
      // body's statements instead was a call into wasm per statement.
      const body = cls.node.childForFieldName('body');
      if (!body) continue;
      if (this.text[body.startIndex] === '#') {
        // A comment opens the body, at whatever column: the statements themselves say where methods are.
        for (const child of body.namedChildren) {
          const fn = child.type === 'decorated_definition' ? child.childForFieldName('definition') : child;
          if (fn?.type === 'function_definition') list.push({ start: fn.startIndex, end: fn.endIndex, cls, method: definitionName(fn, this.text) ?? '' });
        }
        continue;
      }
      const column = body.startPosition.column;
      const { startIndex, endIndex } = cls.node;
      for (const fn of functions) {
        if (fn.startIndex <= startIndex || fn.startPosition.column !== column || fn.startPosition.row <= cls.node.startPosition.row) continue;
        if (fn.startIndex >= endIndex) break;
        list.push({ start: fn.startIndex, end: fn.endIndex, cls, method: definitionName(fn, this.text) ?? '' });
      }
    }
    this.methodRangeList = list.sort((a, b) => a.start - b.start);
    return this.methodRangeList;
  }

  /**
   * Where `node` sits inside an nn.Module class: the class and the name of the method directly in its
   * body that contains it (`__init__`, `forward`, a helper), or undefined outside module classes.
   * Rules about ops that end up in the traced graph look at methods other than `__init__`.
   */
  moduleMethodOf(node: Node): { cls: ModuleClass; method: string } | undefined {
    const s = node.startIndex;
    const methods = this.methodRanges();
    for (let i = upperBound(methods, s) - 1; i >= 0; i--) {
      const m = methods[i]!;
      if (m.end > s && m.start < s) {
        // A class nested inside this method that is itself not a module class: not module code.
        const inner = this.innermostClassStart(s);
        return inner !== undefined && inner > m.start && !this.classRanges().some((c) => c.start === inner) ? undefined : m;
      }
    }
    return undefined;
  }

  private allClassRanges: Array<{ start: number; end: number }> | undefined;

  /** Start of the innermost class_definition (any class) containing offset `s`. */
  private innermostClassStart(s: number): number | undefined {
    this.allClassRanges ??= this.nodes('class_definition').map((c) => ({ start: c.startIndex, end: c.endIndex }));
    const list = this.allClassRanges;
    for (let i = upperBound(list, s) - 1; i >= 0; i--) {
      if (list[i]!.start < s && list[i]!.end > s) return list[i]!.start;
    }
    return undefined;
  }

  /**
   * True when `node` is in code that is traced into the inference graph: a method of an nn.Module class
   * other than `__init__`, training/loss helpers, state-dict hooks and helpers called only from
   * `__init__`, and not under `if self.training:` (or a `targets is not None` training branch).
   */
  inModuleCompute(node: Node): boolean {
    const m = this.moduleMethodOf(node);
    if (!m) return this.inGraphFunction(node);
    if (!m || m.method === '__init__' || NOT_TRACED.test(m.method) || this.initOnlyMethods(m.cls).has(m.method)) return false;
    if (!this.trainingRanges) {
      this.trainingRanges = [];
      for (const stmt of this.nodes('if_statement')) {
        const cond = stmt.childForFieldName('condition');
        if (!cond || !TRAINING_BRANCH.test(cond.text)) continue;
        const body = stmt.childForFieldName('consequence');
        if (body) this.trainingRanges.push({ start: body.startIndex, end: body.endIndex });
      }
    }
    const s = node.startIndex;
    return !this.trainingRanges.some((r) => r.start <= s && r.end > s);
  }

  /**
   * True when `node` is inside a top-level function that module code calls (directly or through other
   * such functions): torchvision's `shifted_window_attention` is traced like a forward.
   */
  private inGraphFunction(node: Node): boolean {
    if (!this.topFunctionRanges) {
      this.topFunctionRanges = topLevelFunctions(this.nodes('function_definition'))
        .map((fn) => ({ start: fn.startIndex, end: fn.endIndex, name: definitionName(fn, this.text) ?? '' }));
    }
    const s = node.startIndex;
    const top = this.topFunctionRanges.find((r) => r.start < s && r.end > s);
    const name = top?.name;
    if (!name || this.innermostClassStart(s) !== undefined && this.innermostClassStart(s)! > top!.start) return false;
    return this.facts1.graphFunctions.has(name);
  }

  /**
   * Where traced code sits, for messages: `Cls.method` in a module class, or the name of a top-level
   * function that module code calls (torchvision's `shifted_window_attention`).
   */
  computeLabel(node: Node): string | undefined {
    const m = this.moduleMethodOf(node);
    if (m) return `${m.cls.name}.${m.method}`;
    if (!this.inGraphFunction(node)) return undefined;
    const s = node.startIndex;
    return this.topFunctionRanges!.find((r) => r.start < s && r.end > s)!.name;
  }

  /** The bare names (`helper` in `helper(x)`, not imported, not a method) called inside `node` (or everywhere). */
  bareCalls(node?: Node): ResolvedCall[] {
    return (node ? this.callsIn(node) : this.calls).filter((c) => c.method === undefined && c.callee === undefined && /^[A-Za-z_]/.test(c.text));
  }

  private initOnly: Map<number, Set<string>> | undefined;

  /** Methods of a module class whose every `self.m(...)` call site is in `__init__` (or another such method). */
  private initOnlyMethods(cls: ModuleClass): Set<string> {
    const cached = (this.initOnly ??= new Map()).get(cls.node.id);
    if (cached) return cached;
    const callers = new Map<string, Set<string>>();
    for (const call of this.callsIn(cls.node)) {
      // `self.name(...)`, read from the source at the call's start; the caller is the method range the call sits in.
      SELF_CALL.lastIndex = call.node.startIndex;
      const m = SELF_CALL.exec(this.text);
      if (!m) continue;
      const name = m[1]!;
      const method = this.moduleMethodOf(call.node)?.method ?? '';
      const set = callers.get(name) ?? new Set<string>();
      set.add(method);
      callers.set(name, set);
    }
    const result = new Set<string>();
    let changed = true;
    while (changed) {
      changed = false;
      for (const [name, from] of callers) {
        if (result.has(name) || name === '__init__') continue;
        if ([...from].every((f) => f === '__init__' || result.has(f))) { result.add(name); changed = true; }
      }
    }
    this.initOnly!.set(cls.node.id, result);
    return result;
  }
}

/**
 * [first, end) of the sorted start offsets that fall inside `node`: a binary search, so rules can ask for the
 * nodes of one class or function without walking its subtree through the wasm boundary.
 */
function indexRangeWithin(starts: readonly number[], node: Node): [number, number] {
  const to = node.endIndex;
  const lo = lastBefore(starts, node.startIndex) + 1;
  let end = lo;
  while (end < starts.length && starts[end]! < to) end++;
  return [lo, end];
}

/** A function's name, from the text when it is a plain `def name` header. */
export function definitionName(fn: Node, text: string): string | undefined {
  const m = DEF_NAME.exec(text.slice(fn.startIndex, fn.startIndex + 200));
  return m ? m[1] : fn.childForFieldName('name')?.text;
}

/** A class's name, from the text when it is a plain `class Name` header. */
export function className(cls: Node, text: string): string | undefined {
  const m = /^class[ \t]+([A-Za-z_]\w*)[ \t]*[(:]/.exec(text.slice(cls.startIndex, cls.startIndex + 200));
  return m ? m[1] : cls.childForFieldName('name')?.text;
}

/** Module-scope `name = ...` statements among an index's assignments (outside every class and function). */
export function moduleScopeAssignments(index: NodeIndex, text: string): Array<{ name: string; node: Node }> {
  let scopes: Array<{ start: number; end: number }> | undefined;
  const out: Array<{ name: string; node: Node }> = [];
  for (const assign of index.get('assignment')) {
    const m = ASSIGNED_NAME.exec(text.slice(assign.startIndex, assign.startIndex + 200));
    if (!m) continue;
    // A statement in column 0 is outside every class and function body (those are indented); the others are
    // looked up in the scopes' ranges, read once (each `endIndex` is a call into wasm).
    if (assign.startPosition.column !== 0) {
      scopes ??= [...index.get('class_definition'), ...index.get('function_definition')].map((n) => ({ start: n.startIndex, end: n.endIndex }));
      const s = assign.startIndex;
      if (scopes.some((r) => r.start < s && r.end > s)) continue;
    }
    out.push({ name: m[1]!, node: assign });
  }
  return out;
}

/** Function definitions directly at module level (possibly decorated). */
export function topLevelFunctions(functions: readonly Node[]): Node[] {
  return functions.filter((fn) => {
    // Python's indentation: a module-level `def` starts in column 0 (checked first: `.parent` calls into wasm).
    if (fn.startPosition.column !== 0) return false;
    // Read once: each `.parent` is a walk down from the root, past every earlier top-level statement.
    const parent = fn.parent;
    return (parent?.type === 'decorated_definition' ? parent.parent : parent)?.type === 'module';
  });
}
