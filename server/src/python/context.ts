// Everything the rules share about one parsed file, computed once: import bindings, simple
// assignments, every call with its resolved callee, and the nn.Module subclasses.
import type { Node, Tree } from 'web-tree-sitter';
import { DEFAULT_CHIP } from '../../../common/chips';
import { ImportResolver } from './resolve';
import { unparen } from './syntax';

// Methods that are not part of the inference graph: losses, target assignment, state-dict hooks, init helpers.
const NOT_TRACED = /loss|^assign_targets|^_load_from_state_dict$|^load_state_dict$|^reset_parameters$|init_weights|^extra_repr$|^__repr__$|^train$|^eval$|^_init_|^define_/;
const TRAINING_BRANCH = /^\(?\s*self\.training\s*\)?$|\btargets? is not None\b/;

export interface ResolvedCall {
  node: Node;
  /** Canonical dotted callee (`torch.nn.LSTM`), or undefined when not imported. */
  callee: string | undefined;
  /** Attribute called (`float` in `x.float()`, `qkv` in `self.qkv(x)`), undefined for plain names. */
  method: string | undefined;
  /** Source text of the call (for cheap keyword pre-filters). */
  text: string;
}

/**
 * Method name of a call, stored on the Node object itself while resolving calls (rules/util.ts reads
 * it): a WeakMap entry per call cost more than the rest of the call resolution.
 */
export const CALL_METHOD = Symbol('callMethod');
export type NodeWithMethod = Node & { [CALL_METHOD]?: string | null };

const DOTTED = /^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*$/;

interface AssignmentEntry { node: Node; start: number; rhs?: Node | null }

export interface ModuleClass {
  node: Node;
  name: string;
  /** The superclass expression that makes it a module (for messages). */
  base: string;
}

// Torch classes that are themselves nn.Module subclasses users derive from.
const MODULE_BASES = new Set(['torch.nn.Module', 'pytorch_lightning.LightningModule', 'lightning.LightningModule',
  'lightning.pytorch.LightningModule']);

function isTorchModuleBase(name: string): boolean {
  if (MODULE_BASES.has(name)) return true;
  // Any torch.nn layer class (nn.Sequential, nn.TransformerEncoderLayer, nn.LSTM...) is an nn.Module.
  const m = /^torch\.nn\.([A-Z]\w*)$/.exec(name);
  return m !== null && m[1] !== 'Parameter';
}

// Node types the analysis indexes, collected in one traversal: each descendantsOfType call walks the
// whole tree, which dominates the time on large files.
const INDEXED_TYPES = ['import_statement', 'import_from_statement', 'class_definition', 'function_definition',
  'assignment', 'call', 'comment', 'if_statement', 'while_statement', 'for_statement', 'decorator'] as const;
// Every node accessor is a call into wasm (several µs each), which is what makes the analysis slower
// than the parse. So the index is one traversal, calls are resolved from their text, assignments are
// read lazily, and rare constructs (squares, subscripts) are found by regex over the source first.
type IndexedType = (typeof INDEXED_TYPES)[number];

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
  readonly lines: string[];
  private readonly assignments = new Map<string, AssignmentEntry[]>();
  private readonly index = new Map<IndexedType, Node[]>();
  private moduleClassList: ModuleClass[] | undefined;

  /** Target chip id (common/chips.ts) for chip-dependent rules. */
  readonly chip: string;

  constructor(readonly tree: Tree, readonly text: string, chip = DEFAULT_CHIP) {
    this.chip = chip;
    this.root = tree.rootNode;
    this.lines = text.split(/\r\n|\r|\n/);
    for (const type of INDEXED_TYPES) this.index.set(type, []);
    const all = this.root.descendantsOfType([...INDEXED_TYPES]);
    for (const node of all) this.index.get(node.type as IndexedType)?.push(node);
    // Only the statements the resolver reads (every `.type` check is a wasm call).
    this.imports = new ImportResolver([...this.nodes('import_statement'), ...this.nodes('import_from_statement'),
      ...this.nodes('class_definition'), ...this.nodes('function_definition')]);
    for (const assign of this.nodes('assignment')) {
      // `name = ...` / `name: T = ...` from the text; the right-hand side node is fetched when asked.
      const m = /^([A-Za-z_]\w*)\s*(?::[^=\n]*)?=(?!=)/.exec(this.text.slice(assign.startIndex, assign.startIndex + 200));
      if (!m) continue;
      const list = this.assignments.get(m[1]!) ?? [];
      list.push({ node: assign, start: assign.startIndex });
      this.assignments.set(m[1]!, list);
    }
    this.calls = this.nodes('call').map((node) => {
      const text = this.text.slice(node.startIndex, node.endIndex);
      const paren = argumentListStart(text);
      const head = paren > 0 ? text.slice(0, paren).replace(/\s+/g, '') : '';
      let callee: string | undefined;
      let method: string | undefined;
      const last = /\.([A-Za-z_]\w*)$/.exec(head);
      if (DOTTED.test(head)) {
        callee = this.imports.resolveDotted(head);
        method = last?.[1];
      } else if (paren > 0 && last) {
        // `a.b(c).d(e)`, `x[0].float()`: not a plain dotted path, but the called attribute is clear.
        method = last[1];
      } else {
        const fn = node.childForFieldName('function');
        callee = this.imports.resolve(fn);
        method = fn?.type === 'attribute' ? fn.childForFieldName('attribute')?.text : undefined;
      }
      (node as NodeWithMethod)[CALL_METHOD] = method ?? null;
      return { node, callee, method, text };
    });
  }

  private nodeStarts = new Map<IndexedType, number[]>();

  /** Indexed nodes of `type` inside `node` (document order), without walking its subtree. */
  nodesIn(type: IndexedType, node: Node): readonly Node[] {
    const list = this.nodes(type);
    let starts = this.nodeStarts.get(type);
    if (!starts) this.nodeStarts.set(type, (starts = list.map((n) => n.startIndex)));
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
    const out: Node[] = [];
    const seen = new Set<number>();
    const global = new RegExp(re.source, re.flags.includes('g') ? re.flags : `${re.flags}g`);
    for (let m = global.exec(this.text); m; m = global.exec(this.text)) {
      if (m[0].length === 0) global.lastIndex++;
      const at = offset(m);
      let n: Node | null = this.root.descendantForIndex(at, at + 1);
      for (let i = 0; n && i < 4 && !types.includes(n.type); i++) n = n.parent;
      if (n && types.includes(n.type) && !seen.has(n.id)) { seen.add(n.id); out.push(n); }
    }
    return out;
  }

  /** All nodes of one indexed type in document order. */
  nodes(type: IndexedType): readonly Node[] {
    return this.index.get(type) ?? [];
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

  /**
   * The right-hand side of the last `name = ...` textually before `use` (scope-insensitive: good
   * enough for scripts and keeps the analysis linear).
   */
  assignedBefore(name: string, use: Node): Node | undefined {
    const list = this.assignments.get(name);
    if (!list) return undefined;
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
      if (entry.rhs === undefined) entry.rhs = entry.node.childForFieldName('right');
      const rhs = entry.rhs;
      if (!rhs) continue;
      // `x = f(x)`: the use inside the right-hand side refers to the previous binding.
      if (at >= rhs.startIndex && use.endIndex <= rhs.endIndex) continue;
      if (rhs.startIndex < at) return rhs;
    }
    return undefined;
  }


  /** Class definitions that derive from nn.Module, directly, through aliases, or via another such class in this file. */
  moduleClasses(): ModuleClass[] {
    if (this.moduleClassList) return this.moduleClassList;
    const classes = this.nodes('class_definition');
    const found = new Map<string, ModuleClass>();
    // Each class's name read once (from the text when it is plain `class Name`), not on every pass.
    const names = new Map<Node, string | undefined>();
    for (const cls of classes) {
      const m = /^class[ \t]+([A-Za-z_]\w*)[ \t]*[(:]/.exec(this.text.slice(cls.startIndex, cls.startIndex + 200));
      names.set(cls, m ? m[1] : cls.childForFieldName('name')?.text);
    }
    // Fixed point: a class deriving from a local module class is a module class too, wherever it is defined.
    let changed = true;
    while (changed) {
      changed = false;
      for (const cls of classes) {
        const name = names.get(cls);
        if (!name || found.has(name)) continue;
        const supers = cls.childForFieldName('superclasses');
        if (!supers) continue;
        for (const base of supers.namedChildren) {
          if (base.type === 'keyword_argument' || base.type === 'comment') continue;
          const canonical = this.imports.resolve(base);
          const viaLocal = base.type === 'identifier' && found.has(base.text) && !this.imports.resolveName(base.text);
          if ((canonical && isTorchModuleBase(canonical)) || viaLocal) {
            found.set(name, { node: cls, name, base: base.text });
            changed = true;
            break;
          }
        }
      }
    }
    this.moduleClassList = classes.filter((c) => {
      const n = names.get(c);
      return n !== undefined && found.get(n)?.node === c;
    }).map((c) => found.get(names.get(c)!)!);
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
    for (const cls of this.moduleClasses()) {
      for (const child of cls.node.childForFieldName('body')?.namedChildren ?? []) {
        const fn = child.type === 'decorated_definition' ? child.childForFieldName('definition') : child;
        if (fn?.type !== 'function_definition') continue;
        list.push({ start: fn.startIndex, end: fn.endIndex, cls, method: fn.childForFieldName('name')?.text ?? '' });
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

  private graphFunctionNames: Set<string> | undefined;

  /**
   * True when `node` is inside a top-level function that module code calls (directly or through other
   * such functions): torchvision's `shifted_window_attention` is traced like a forward.
   */
  private inGraphFunction(node: Node): boolean {
    if (!this.topFunctionRanges) {
      this.topFunctionRanges = [];
      for (const child of this.root.namedChildren) {
        const fn = child.type === 'decorated_definition' ? child.childForFieldName('definition') : child;
        if (fn?.type === 'function_definition') this.topFunctionRanges.push({ start: fn.startIndex, end: fn.endIndex, name: fn.childForFieldName('name')?.text ?? '' });
      }
    }
    const s = node.startIndex;
    const top = this.topFunctionRanges.find((r) => r.start < s && r.end > s);
    const name = top?.name;
    if (!name || this.innermostClassStart(s) !== undefined && this.innermostClassStart(s)! > top!.start) return false;
    if (!this.graphFunctionNames) {
      const topLevel = new Map<string, Node>();
      for (const fn of this.nodes('function_definition')) {
        const parent = fn.parent?.type === 'decorated_definition' ? fn.parent.parent : fn.parent;
        if (parent?.type === 'module') topLevel.set(fn.childForFieldName('name')?.text ?? '', fn);
      }
      const found = new Set<string>();
      const queue: Node[] = [];
      for (const call of this.calls) {
        const name = call.method === undefined && call.callee === undefined ? /^[A-Za-z_]\w*/.exec(call.text)?.[0] : undefined;
        if (!name || !topLevel.has(name) || found.has(name)) continue;
        if (this.moduleMethodOf(call.node) && this.inModuleCompute(call.node)) { found.add(name); queue.push(topLevel.get(name)!); }
      }
      while (queue.length) {
        const fnNode = queue.pop()!;
        for (const call of this.callsIn(fnNode)) {
          const name = call.method === undefined && call.callee === undefined ? /^[A-Za-z_]\w*/.exec(call.text)?.[0] : undefined;
          if (name && topLevel.has(name) && !found.has(name)) { found.add(name); queue.push(topLevel.get(name)!); }
        }
      }
      this.graphFunctionNames = found;
    }
    return this.graphFunctionNames.has(name);
  }

  private initOnly = new Map<number, Set<string>>();

  /** Methods of a module class whose every `self.m(...)` call site is in `__init__` (or another such method). */
  private initOnlyMethods(cls: ModuleClass): Set<string> {
    const cached = this.initOnly.get(cls.node.id);
    if (cached) return cached;
    const callers = new Map<string, Set<string>>();
    for (const call of this.callsIn(cls.node)) {
      // `self.name(...)`, read from the text; the caller is the method range the call sits in.
      const m = /^self\s*\.\s*([A-Za-z_]\w*)\s*\($/.exec(call.text.slice(0, call.text.indexOf('(') + 1));
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
    this.initOnly.set(cls.node.id, result);
    return result;
  }
}

/**
 * [first, end) of the sorted start offsets that fall inside `node`: a binary search, so rules can ask for the
 * nodes of one class or function without walking its subtree through the wasm boundary.
 */
function indexRangeWithin(starts: readonly number[], node: Node): [number, number] {
  const from = node.startIndex;
  const to = node.endIndex;
  let lo = 0;
  let hi = starts.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (starts[mid]! < from) lo = mid + 1;
    else hi = mid;
  }
  let end = lo;
  while (end < starts.length && starts[end]! < to) end++;
  return [lo, end];
}
