// Import-alias resolution: maps the names bound by `import` / `from ... import` statements to the
// canonical dotted names the rules match on, so `nn.LSTM`, `LSTM` (from torch.nn) and
// `torch.nn.modules.rnn.LSTM` all become `torch.nn.LSTM`. Names that are not imported (a user's own
// `class LSTM`) resolve to nothing, which is what keeps the rules free of false positives.
import type { Node } from 'web-tree-sitter';
import { PYTHON_NAME, unparen } from './syntax';

// coremltools re-exports these at the top level; deep import paths are normalised to `coremltools.X`.
const COREML_TOP = new Set([
  'convert', 'RangeDim', 'TensorType', 'ImageType', 'Shape', 'EnumeratedShapes', 'precision', 'ComputeUnit',
  'StateType', 'ReshapeFrequency',
]);

// Names a star import may bring in that the rules care about; `from torch.nn import *` binds these.
const STAR_MEMBERS: Record<string, Set<string>> = {
  'torch.nn': new Set(['Module', 'LSTM', 'GRU', 'RNN', 'LSTMCell', 'GRUCell', 'RNNCell', 'Linear', 'LayerNorm',
    'MultiheadAttention', 'Embedding', 'Conv1d', 'Conv2d', 'Sequential', 'ModuleList', 'Transformer',
    'TransformerEncoderLayer', 'TransformerDecoderLayer', 'RMSNorm']),
  'torch.nn.functional': new Set(['linear', 'layer_norm', 'scaled_dot_product_attention']),
  coremltools: new Set([...COREML_TOP]),
};

/** Normalises a dotted name to the form the rules match (deep module paths → public path). */
export function canonicalize(dotted: string): string {
  let c = canonical.get(dotted);
  if (c === undefined) {
    // The same few dozen paths come up in every block; bounded for files that spell thousands.
    if (canonical.size > 4096) canonical.clear();
    canonical.set(dotted, (c = canonicalForm(dotted)));
  }
  return c;
}

const canonical = new Map<string, string>();

function canonicalForm(dotted: string): string {
  const parts = dotted.split('.');
  if (parts[0] === 'torch' && parts[1] === 'nn' && parts[2] === 'modules' && parts.length >= 5) {
    return ['torch', 'nn', ...parts.slice(4)].join('.');
  }
  if (parts[0] === 'coremltools' && parts.length > 2) {
    const top = parts.findIndex((p, i) => i > 0 && COREML_TOP.has(p));
    if (top > 1) return ['coremltools', ...parts.slice(top)].join('.');
    if (parts[1] === 'models' && parts[2] === 'model' && parts[3] === 'MLModel') return 'coremltools.models.MLModel';
  }
  return dotted;
}

/**
 * What one part of a file (a top-level block) contributes to import resolution, as plain data: blocks
 * are analysed and cached separately, and the file's resolver is rebuilt from the parts of all of them.
 */
export interface ImportParts {
  /** `import a.b` / `import a.b as c` bindings, in document order. */
  plain: Array<[local: string, target: string]>;
  /** `from m import x [as y]` bindings, in document order. */
  from: Array<[local: string, target: string]>;
  /** Modules star-imported (`from torch.nn import *`), canonical. */
  stars: string[];
  /** Names of classes and functions defined here (they shadow star imports). */
  definitions: string[];
}

/** The import bindings and definitions among `nodes` (import statements, class/function definitions; others ignored). */
export function collectImportParts(nodes: readonly Node[], text?: string): ImportParts {
  const parts: ImportParts = { plain: [], from: [], stars: [], definitions: [] };
  for (const stmt of nodes) addStatement(stmt, stmt.type, parts, text); // type read once: each read is a call into wasm
  return parts;
}

/** collectImportParts over statements whose types are known (an index's lists), without reading them. */
export function collectTypedImportParts(groups: ReadonlyArray<readonly [type: string, nodes: readonly Node[]]>, text: string): ImportParts {
  const parts: ImportParts = { plain: [], from: [], stars: [], definitions: [] };
  for (const [type, nodes] of groups) for (const stmt of nodes) addStatement(stmt, type, parts, text);
  return parts;
}

function addStatement(stmt: Node, type: string, parts: ImportParts, text?: string): void {
  if (type === 'import_statement') addImport(stmt, parts);
  else if (type === 'import_from_statement') addFromImport(stmt, parts);
  else if (type === 'class_definition' || type === 'function_definition') {
    // The name from the source text when the header is plain (a tree accessor is a call into wasm).
    const header = text !== undefined ? DEFINITION.exec(text.slice(stmt.startIndex, stmt.startIndex + 200))?.[1] : undefined;
    const name = header ?? stmt.childForFieldName('name')?.text;
    if (name) parts.definitions.push(name);
  }
}

/** `class Name` / `def name` / `async def name`, the name ending where the header goes on. */
const DEFINITION = new RegExp(`^(?:class|(?:async[ \\t]+)?def)[ \\t]+(${PYTHON_NAME})(?=[ \\t]*[(:\\[])`, 'u');

function addImport(stmt: Node, parts: ImportParts): void {
  for (const item of stmt.childrenForFieldName('name')) {
    if (item.type === 'dotted_name') {
      // `import torch.nn` binds `torch` (and makes torch.nn reachable through it).
      const first = item.namedChild(0);
      if (first) parts.plain.push([first.text, first.text]);
    } else if (item.type === 'aliased_import') {
      const name = item.childForFieldName('name');
      const alias = item.childForFieldName('alias');
      if (name && alias) parts.plain.push([alias.text, dotted(name)]);
    }
  }
}

function addFromImport(stmt: Node, parts: ImportParts): void {
  const moduleNode = stmt.childForFieldName('module_name');
  // Relative imports (`from . import x`) point into the user's own package: never torch/coremltools.
  if (!moduleNode || moduleNode.type !== 'dotted_name') return;
  const module = dotted(moduleNode);
  if (stmt.namedChildren.some((c) => c.type === 'wildcard_import')) {
    parts.stars.push(canonicalize(module));
    return;
  }
  for (const item of stmt.childrenForFieldName('name')) {
    if (item.type === 'dotted_name') {
      parts.from.push([item.text, `${module}.${dotted(item)}`]);
    } else if (item.type === 'aliased_import') {
      const name = item.childForFieldName('name');
      const alias = item.childForFieldName('alias');
      if (name && alias) parts.from.push([alias.text, `${module}.${dotted(name)}`]);
    }
  }
}

export class ImportResolver {
  /** Local name → fully qualified dotted name it is bound to. */
  readonly bindings = new Map<string, string>();
  private readonly starModules: string[] = [];
  /** Names the file defines itself (classes, functions); they shadow star imports. */
  private readonly localDefinitions = new Set<string>();

  /**
   * `source`: the file's import statements and class/function definitions (any order, extra types
   * ignored), or the import parts of every block of the file in document order. Scope-insensitive, like
   * most Python linters' alias tracking: plain imports bind first, `from` imports override them.
   */
  constructor(source: readonly Node[] | readonly ImportParts[]) {
    const parts = (source.length > 0 && 'plain' in source[0]! ? source : [collectImportParts(source as readonly Node[])]) as readonly ImportParts[];
    for (const p of parts) for (const [local, target] of p.plain) this.bindings.set(local, target);
    for (const p of parts) for (const [local, target] of p.from) this.bindings.set(local, target);
    for (const p of parts) this.starModules.push(...p.stars);
    for (const p of parts) for (const d of p.definitions) this.localDefinitions.add(d);
  }

  /** The first local name bound to `target` (`np` for numpy), or undefined. */
  aliasOf(target: string): string | undefined {
    for (const [local, bound] of this.bindings) if (bound === target) return local;
    return undefined;
  }

  /** The canonical dotted name of a bare identifier, or undefined if it is not imported. */
  resolveName(name: string): string | undefined {
    const bound = this.bindings.get(name);
    if (bound) return canonicalize(bound);
    if (this.localDefinitions.has(name)) return undefined;
    for (const module of this.starModules) {
      if (STAR_MEMBERS[module]?.has(name)) return `${module}.${name}`;
    }
    return undefined;
  }

  /** Canonical name of a dotted path given as text (`nn.LSTM`, `torch.nn.functional.pad`). */
  resolveDotted(path: string): string | undefined {
    // Every call's head goes through here, and heads repeat (`nn.Conv2d`, `self.proj`, `F.relu`).
    if (this.dottedCache.has(path)) return this.dottedCache.get(path);
    const resolved = this.resolveDottedOnce(path);
    if (this.dottedCache.size > 4096) this.dottedCache.clear();
    this.dottedCache.set(path, resolved);
    return resolved;
  }

  private readonly dottedCache = new Map<string, string | undefined>();

  private resolveDottedOnce(path: string): string | undefined {
    const dot = path.indexOf('.');
    const root = this.resolveName(dot < 0 ? path : path.slice(0, dot));
    if (!root) return undefined;
    return dot < 0 ? root : canonicalize(`${root}${path.slice(dot)}`);
  }

  /**
   * Canonical dotted name of an expression like `nn.LSTM`, `ct.precision.FLOAT32` or `F.linear`;
   * undefined when its root name is not imported or the expression is not a plain dotted path.
   */
  resolve(node: Node | null | undefined): string | undefined {
    if (!node) return undefined;
    const n = unparen(node);
    if (n.type === 'identifier') return this.resolveName(n.text);
    if (n.type === 'attribute') {
      const object = n.childForFieldName('object');
      const attribute = n.childForFieldName('attribute');
      if (!object || !attribute) return undefined;
      const base = this.resolve(object);
      return base ? canonicalize(`${base}.${attribute.text}`) : undefined;
    }
    return undefined;
  }
}

function dotted(node: Node): string {
  // dotted_name children are identifiers separated by '.'; text may contain spaces/comments in odd code.
  return node.namedChildren.filter((c) => c.type === 'identifier').map((c) => c.text).join('.');
}
