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
}

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
  'assignment', 'call', 'comment', 'binary_operator', 'subscript', 'if_statement', 'while_statement', 'for_statement',
  'decorator', 'unary_operator'] as const;
type IndexedType = (typeof INDEXED_TYPES)[number];

export class AnalysisContext {
  readonly root: Node;
  readonly imports: ImportResolver;
  readonly calls: ResolvedCall[];
  readonly lines: string[];
  private readonly assignments = new Map<string, Node[]>();
  private readonly index = new Map<IndexedType, Node[]>();
  private moduleClassList: ModuleClass[] | undefined;
  private moduleClassById: Map<number, ModuleClass> | undefined;

  /** Target chip id (common/chips.ts) for chip-dependent rules. */
  readonly chip: string;

  constructor(readonly tree: Tree, readonly text: string, chip = DEFAULT_CHIP) {
    this.chip = chip;
    this.root = tree.rootNode;
    this.lines = text.split(/\r\n|\r|\n/);
    for (const type of INDEXED_TYPES) this.index.set(type, []);
    const all = this.root.descendantsOfType([...INDEXED_TYPES]);
    for (const node of all) this.index.get(node.type as IndexedType)?.push(node);
    this.imports = new ImportResolver(all);
    for (const assign of this.nodes('assignment')) {
      const left = assign.childForFieldName('left');
      const right = assign.childForFieldName('right');
      if (left?.type === 'identifier' && right) {
        const list = this.assignments.get(left.text) ?? [];
        list.push(right);
        this.assignments.set(left.text, list);
      }
    }
    this.calls = this.nodes('call').map((node) => ({
      node,
      callee: this.imports.resolve(node.childForFieldName('function')),
    }));
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
    let best: Node | undefined;
    for (const rhs of list) {
      if (rhs.startIndex < use.startIndex && !(use.startIndex >= rhs.startIndex && use.endIndex <= rhs.endIndex)) best = rhs;
    }
    return best;
  }

  /** Class definitions that derive from nn.Module, directly, through aliases, or via another such class in this file. */
  moduleClasses(): ModuleClass[] {
    if (this.moduleClassList) return this.moduleClassList;
    const classes = this.nodes('class_definition');
    const found = new Map<string, ModuleClass>();
    const local = new Map<string, Node>();
    for (const cls of classes) {
      const name = cls.childForFieldName('name');
      if (name) local.set(name.text, cls);
    }
    // Fixed point: a class deriving from a local module class is a module class too, wherever it is defined.
    let changed = true;
    while (changed) {
      changed = false;
      for (const cls of classes) {
        const name = cls.childForFieldName('name')?.text;
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
      const n = c.childForFieldName('name')?.text;
      return n !== undefined && found.get(n)?.node === c;
    }).map((c) => found.get(c.childForFieldName('name')!.text)!);
    return this.moduleClassList;
  }

  /** The module class whose body contains `node`, innermost first. */
  moduleClassOf(node: Node): ModuleClass | undefined {
    this.moduleClassById ??= new Map(this.moduleClasses().map((c) => [c.node.id, c]));
    for (let p = node.parent; p; p = p.parent) {
      if (p.type === 'class_definition') {
        const hit = this.moduleClassById.get(p.id);
        if (hit) return hit;
      }
    }
    return undefined;
  }

  /**
   * Where `node` sits inside an nn.Module class: the class and the name of the method directly in its
   * body that contains it (`__init__`, `forward`, a helper), or undefined outside module classes.
   * Rules about ops that end up in the traced graph look at methods other than `__init__`.
   */
  moduleMethodOf(node: Node): { cls: ModuleClass; method: string } | undefined {
    let method: Node | undefined;
    for (let p = node.parent; p; p = p.parent) {
      if (p.type === 'function_definition') method = p;
      else if (p.type === 'class_definition') {
        const cls = this.moduleClassOf(method ?? node);
        if (!cls || cls.node.id !== p.id || !method) return undefined;
        return { cls, method: method.childForFieldName('name')?.text ?? '' };
      }
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
    for (let p = node.parent; p && p.id !== m.cls.node.id; p = p.parent) {
      if (p.type !== 'block' || p.parent?.type !== 'if_statement') continue;
      const stmt = p.parent;
      if (stmt.childForFieldName('consequence')?.id !== p.id) continue;
      if (TRAINING_BRANCH.test(stmt.childForFieldName('condition')?.text ?? '')) return false;
    }
    return true;
  }

  private graphFunctionNames: Set<string> | undefined;

  /**
   * True when `node` is inside a top-level function that module code calls (directly or through other
   * such functions): torchvision's `shifted_window_attention` is traced like a forward.
   */
  private inGraphFunction(node: Node): boolean {
    let top: Node | undefined;
    for (let p = node.parent; p; p = p.parent) {
      if (p.type === 'function_definition') top = p;
      else if (p.type === 'class_definition') return false;
    }
    const name = top?.childForFieldName('name')?.text;
    if (!name) return false;
    if (!this.graphFunctionNames) {
      const topLevel = new Map<string, Node>();
      for (const fn of this.nodes('function_definition')) {
        const parent = fn.parent?.type === 'decorated_definition' ? fn.parent.parent : fn.parent;
        if (parent?.type === 'module') topLevel.set(fn.childForFieldName('name')?.text ?? '', fn);
      }
      const found = new Set<string>();
      const queue: Node[] = [];
      for (const call of this.calls) {
        const fn = call.node.childForFieldName('function');
        if (fn?.type !== 'identifier' || !topLevel.has(fn.text) || found.has(fn.text)) continue;
        if (this.moduleMethodOf(call.node) && this.inModuleCompute(call.node)) { found.add(fn.text); queue.push(topLevel.get(fn.text)!); }
      }
      while (queue.length) {
        const fnNode = queue.pop()!;
        for (const call of fnNode.descendantsOfType('call')) {
          const fn = call.childForFieldName('function');
          if (fn?.type === 'identifier' && topLevel.has(fn.text) && !found.has(fn.text)) { found.add(fn.text); queue.push(topLevel.get(fn.text)!); }
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
    for (const call of cls.node.childForFieldName('body')?.descendantsOfType('call') ?? []) {
      const fn = call.childForFieldName('function');
      if (fn?.type !== 'attribute' || fn.childForFieldName('object')?.text !== 'self') continue;
      const name = fn.childForFieldName('attribute')?.text;
      if (!name) continue;
      let method = '';
      for (let p = call.parent; p && p.id !== cls.node.id; p = p.parent) {
        if (p.type === 'function_definition') method = p.childForFieldName('name')?.text ?? '';
      }
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
