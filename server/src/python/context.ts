// Everything the rules share about one parsed file, computed once: import bindings, simple
// assignments, every call with its resolved callee, and the nn.Module subclasses.
import type { Node, Tree } from 'web-tree-sitter';
import { ImportResolver } from './resolve';
import { unparen } from './syntax';

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
  'assignment', 'call', 'comment'] as const;
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

  constructor(readonly tree: Tree, readonly text: string) {
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
}
