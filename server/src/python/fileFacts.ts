// The file-wide facts a block's findings may depend on, built from per-block parts in two stages:
//  - stage 0 needs nothing but the block's own syntax: import bindings, class headers, module-scope
//    assignments, names bound to big literals;
//  - stage 1 needs the stage-0 facts (name resolution): calls from module code into top-level functions,
//    each module class's (B, S, C) sequence evidence, the first LayerNorm.
// Every cross-block read a rule makes goes through these facts, so a block whose text and facts are
// unchanged has unchanged findings (shifted if the block moved). Each stage has a signature; equal
// signatures mean equal facts.
// Block parts give rows relative to their block's first row and the file facts carry absolute rows computed
// from the blocks' current positions, while the signatures use only block-relative positions: an edit that
// adds a line above a block moves it without changing any signature.
import { ImportResolver, type ImportParts } from './resolve';

/**
 * Adds `signature`, computed on first read: a one-off analysis (the CLI) never compares signatures, so it
 * should not pay for them.
 */
export function withSignature<T extends object>(value: T, compute: () => string): T & { signature: string } {
  // A prototype getter keeps the objects in V8's fast mode (defineProperty on each would not).
  return Object.assign(new Signed(compute), value) as unknown as T & { signature: string };
}

class Signed {
  private value: string | undefined;
  constructor(private readonly compute: () => string) {}
  get signature(): string {
    return (this.value ??= this.compute());
  }
}

/** Torch classes that are themselves nn.Module subclasses users derive from. */
const MODULE_BASES = new Set(['torch.nn.Module', 'pytorch_lightning.LightningModule', 'lightning.LightningModule',
  'lightning.pytorch.LightningModule']);

export function isTorchModuleBase(name: string): boolean {
  if (MODULE_BASES.has(name)) return true;
  // Any torch.nn layer class (nn.Sequential, nn.TransformerEncoderLayer, nn.LSTM...) is an nn.Module.
  const m = /^torch\.nn\.([A-Z]\w*)$/.exec(name);
  return m !== null && m[1] !== 'Parameter';
}

const DOTTED = /^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*$/;
const IDENTIFIER = /^[A-Za-z_]\w*$/;

export interface ClassHeader {
  name: string;
  /** Row of the `class` keyword from the block's first row: identifies the class (two cannot start on one row). */
  row: number;
  /** Superclass expressions as written (keyword arguments and comments dropped). */
  bases: string[];
}

export interface BlockFacts0 {
  imports: ImportParts;
  classes: ClassHeader[];
  /** Module-scope `name = ...` statements; offsets relative to the block start. */
  moduleAssignments: Array<{ name: string; offset: number; text: string }>;
  /** Names assigned a literal of 5+ digits (`VOCAB = 32000`), for the literal-dimension rules' pre-filter. */
  bigNames: string[];
  /** The block mentions `linear` (ANE021 needs the sequence evidence of the file's classes only then). */
  mentionsLinear: boolean;
  /** Names of the functions defined at module level here. */
  topFunctions: string[];
  signature: string;
}

export function blockFacts0(imports: ImportParts, classes: ClassHeader[], moduleAssignments: BlockFacts0['moduleAssignments'], topFunctions: string[], blockText: string): BlockFacts0 {
  const bigNames = new Set<string>();
  for (const m of blockText.matchAll(/=[ \t]*\d{5,}\b/g)) {
    const before = blockText.slice(Math.max(0, m.index - 80), m.index);
    const name = /([A-Za-z_]\w*)[ \t]*$/.exec(before)?.[1];
    if (name) bigNames.add(name);
  }
  const facts = { imports, classes, moduleAssignments, bigNames: [...bigNames], mentionsLinear: /[Ll]inear/.test(blockText), topFunctions };
  // Offsets move with every edit above them and do not change what a lookup finds: not in the signature.
  return withSignature(facts, () => JSON.stringify([imports, classes, moduleAssignments.map((a) => [a.name, a.text]), facts.bigNames, facts.mentionsLinear, topFunctions]));
}

export interface FileFacts0 {
  imports: ImportResolver;
  /** Module classes by name: the first class of that name deriving (maybe through local classes) from nn.Module. */
  moduleClasses: Map<string, { row: number; base: string }>;
  /** The same, by block ordinal and row within the block (what does not move when lines are added above). */
  moduleClassOrigins: Map<string, { block: number; row: number; base: string }>;
  /** Module-scope assignments by name: block ordinal and absolute offset, in document order. */
  moduleAssignments: Map<string, Array<{ block: number; offset: number }>>;
  bigNames: RegExp | undefined;
  /** Names of the file's module-level functions (calls to anything else cannot reach a traced helper). */
  topFunctions: Set<string>;
  signature: string;
}

export function fileFacts0(blocks: readonly BlockFacts0[], blockStarts: readonly number[], blockRows: readonly number[]): FileFacts0 {
  const imports = new ImportResolver(blocks.map((b) => b.imports));
  const classes = blocks.flatMap((b, block) => b.classes.map((c) => ({ ...c, block })));
  const origins = new Map<string, { block: number; row: number; base: string }>();
  // Fixed point: a class deriving from a local module class is a module class too, wherever it is defined.
  let changed = true;
  while (changed) {
    changed = false;
    for (const cls of classes) {
      if (origins.has(cls.name)) continue;
      for (const base of cls.bases) {
        const path = base.replace(/\s+/g, '');
        const canonical = DOTTED.test(path) ? imports.resolveDotted(path) : undefined;
        const viaLocal = IDENTIFIER.test(path) && origins.has(path) && !imports.resolveName(path);
        if ((canonical && isTorchModuleBase(canonical)) || viaLocal) {
          origins.set(cls.name, { block: cls.block, row: cls.row, base });
          changed = true;
          break;
        }
      }
    }
  }
  const bigNames = [...new Set(blocks.flatMap((b) => b.bigNames))];
  return withSignature({
    imports, moduleClassOrigins: origins, moduleClasses: placeClasses(origins, blockRows),
    moduleAssignments: moduleAssignmentIndex(blocks, blockStarts), topFunctions: new Set(blocks.flatMap((b) => b.topFunctions)),
    bigNames: bigNames.length ? new RegExp(`\\b(${bigNames.join('|')})\\b`) : undefined,
  }, () => blocks.map((b) => b.signature).join('\n'));
}

/** Module classes with absolute rows, from their blocks' current first rows. */
export function placeClasses(origins: FileFacts0['moduleClassOrigins'], blockRows: readonly number[]): FileFacts0['moduleClasses'] {
  return new Map([...origins].map(([name, o]) => [name, { row: blockRows[o.block]! + o.row, base: o.base }]));
}

/** Module-scope assignments by name with their absolute offsets (which move with every edit above them). */
export function moduleAssignmentIndex(blocks: readonly BlockFacts0[], blockStarts: readonly number[]): FileFacts0['moduleAssignments'] {
  const index = new Map<string, Array<{ block: number; offset: number }>>();
  blocks.forEach((b, i) => {
    for (const a of b.moduleAssignments) {
      const list = index.get(a.name) ?? [];
      list.push({ block: i, offset: blockStarts[i]! + a.offset });
      index.set(a.name, list);
    }
  });
  return index;
}

/** The evidence that a module class processes (B, S, C) sequences, as the message quotes it. */
export interface SequenceEvidence { text: string; row: number }

export interface BlockFacts1 {
  /** Bare-name calls made from module compute code (forward and its helpers). */
  computeCalls: string[];
  /** Top-level functions defined here, with the bare names they call. */
  topFunctions: Array<{ name: string; calls: string[] }>;
  /** Module classes defined here: own sequence evidence, and the bare names they call (rows within the block). */
  classes: Array<{ name: string; row: number; evidence: SequenceEvidence | undefined; calls: Array<{ name: string; row: number }> }>;
  /** Row within the block of the first nn.LayerNorm / F.layer_norm call here. */
  layerNormRow: number | undefined;
  signature: string;
}

export function blockFacts1(parts: Omit<BlockFacts1, 'signature'>): BlockFacts1 {
  return withSignature(parts, () => JSON.stringify(parts));
}

export interface FileFacts1 {
  /** Top-level functions module code calls, directly or through each other (traced like forward). */
  graphFunctions: Set<string>;
  /** Sequence evidence per module class name, including classes only used inside a sequence module (absolute rows). */
  sequences: Map<string, { classRow: number; evidence: SequenceEvidence }>;
  firstLayerNormRow: number | undefined;
  signature: string;
}

export function fileFacts1(blocks: readonly BlockFacts1[], blockRows: readonly number[]): FileFacts1 {
  const topLevel = new Map<string, string[]>();
  for (const b of blocks) for (const f of b.topFunctions) topLevel.set(f.name, f.calls);
  const graphFunctions = new Set<string>();
  const queue: string[] = [];
  for (const b of blocks) {
    for (const name of b.computeCalls) {
      if (topLevel.has(name) && !graphFunctions.has(name)) { graphFunctions.add(name); queue.push(name); }
    }
  }
  while (queue.length) {
    for (const name of topLevel.get(queue.pop()!) ?? []) {
      if (topLevel.has(name) && !graphFunctions.has(name)) { graphFunctions.add(name); queue.push(name); }
    }
  }

  // Rows as (block, row within it) for the signature, absolute for the messages.
  type At = { block: number; row: number };
  const abs = (at: At) => blockRows[at.block]! + at.row;
  const classes = blocks.flatMap((b, block) => b.classes.map((c) => ({ ...c, block })));
  const sequences = new Map<string, { cls: At; evidence: { text: string } & At }>();
  for (const c of classes) if (c.evidence) sequences.set(c.name, { cls: c, evidence: { text: c.evidence.text, block: c.block, row: c.evidence.row } });
  // A feed-forward block built by a transformer block sees the same (B, S, C) tensors.
  const byName = new Map(classes.map((c) => [c.name, c]));
  const byPlace = new Map(classes.map((c) => [abs(c), c]));
  let changed = true;
  while (changed) {
    changed = false;
    for (const [name, { cls }] of [...sequences]) {
      const user = byPlace.get(abs(cls))!;
      for (const call of user.calls) {
        if (sequences.has(call.name)) continue;
        const used = byName.get(call.name);
        if (used) {
          sequences.set(used.name, { cls: used, evidence: { text: `it is used by sequence module \`${name}\``, block: user.block, row: call.row } });
          changed = true;
        }
      }
    }
  }

  let firstLayerNorm: At | undefined;
  blocks.some((b, block) => b.layerNormRow !== undefined && (firstLayerNorm = { block, row: b.layerNormRow }));
  return withSignature({
    graphFunctions,
    sequences: new Map([...sequences].map(([name, s]) => [name, { classRow: abs(s.cls), evidence: { text: s.evidence.text, row: abs(s.evidence) } }])),
    firstLayerNormRow: firstLayerNorm && abs(firstLayerNorm),
    // Where evidence or the LayerNorm sits only fills in quoted lines (fileFacts.renderCitation), which are
    // refreshed on every analysis: the signature leaves those positions out.
  }, () => JSON.stringify([[...graphFunctions].sort(), [...sequences].map(([n, q]) => [n, q.cls.block, q.cls.row, q.evidence.text]), firstLayerNorm !== undefined]));
}

/** The 0-based row a finding's `citesLine` key names (rule.ts), from the current facts. */
export function citedRow(facts: FileFacts1, key: string): number | undefined {
  if (key === 'layerNorm') return facts.firstLayerNormRow;
  if (key.startsWith('sequence:')) return facts.sequences.get(key.slice('sequence:'.length))?.evidence.row;
  return undefined;
}

/** A message with its `{line}` filled in. */
export function renderCitation(template: string, facts: FileFacts1, key: string): string {
  const row = citedRow(facts, key);
  return template.replace('{line}', row === undefined ? '?' : String(row + 1));
}

