// Entry point of the Python source analysis (contract 6): parse once with tree-sitter, run every
// rule, check `# ane:` pragmas, and find run targets. Syntax errors never make it throw: tree-sitter
// recovers, rules see whatever well-formed parts remain, and a rule that trips on odd code is skipped.
import type { Node, Tree } from 'web-tree-sitter';
import type { Finding, Severity } from '../../../common/findings';
import { lineAt, lineStarts, splitBlocks, type Block } from './blocks';
import { AnalysisContext, className, definitionName, INDEXED_TYPES, indexedTypes, moduleScopeAssignments, NodeIndex, topLevelFunctions } from './context';
import { collectTypedImportParts } from './resolve';
import { blockFacts0, blockFacts1, fileFacts0, fileFacts1, moduleAssignmentIndex, placeClasses, renderCitation, withSignature, type BlockFacts0, type BlockFacts1, type ClassHeader, type FileFacts0, type FileFacts1 } from './fileFacts';
import { initPythonParser, parsePython, type EditedTrees } from './parser';
import { isPragmaLine, pragmaAbove } from './pragmas';
import { collectSuppressions, isSuppressed, mergeSuppressions, type Suppressions } from './suppressions';
import { PRAGMA_RULE_ID, RULE_GATES, RULES } from './rules/index';
import { sequenceEvidence } from './rules/ane021LinearOnSequence';
import { anchorRow, collectRunTargets, statementRow, type RunTargets } from './runTargets';

export type { RunTargetClass, RunTargetConvert, RunTargets } from './runTargets';
export { initPythonParser } from './parser';

export interface AnalyzeOptions {
  /** Chip id (common/chips.ts); reserved for chip-dependent rules. */
  chip?: string;
  /** Called when a rule throws on odd input; the rule's findings are dropped, the others kept. */
  onRuleError?: (ruleId: string, error: unknown) => void;
  /**
   * The previous tree of this document, already `edit()`ed to match `text` (or two of them, the edits
   * described exactly and widened: parser.ts): tree-sitter then reparses only the changed region. The caller
   * still owns (and deletes) them.
   */
  oldTree?: Tree | EditedTrees;
  /** Keep the new tree and return it in `tree` (the caller deletes it) for the next incremental parse. */
  keepTree?: boolean;
  /** Rule ids whose rules are skipped entirely (configuration `ignore`), to save their time. */
  skipRules?: ReadonlySet<string>;
  /**
   * Collect run targets (code lenses, `ane-lens run`); default true. `check` only needs findings, and
   * tracing every convert call back to its model is a tenth of the analysis time on large files.
   * 'lazy' (with `keepTree`): `targets` is computed on first read, from the kept tree, so the caller
   * must read it before it edits or deletes that tree (the language server reads it for code lenses).
   */
  runTargets?: boolean | 'lazy';
  /** Block results of earlier versions of this document (language server): unchanged blocks are reused. */
  cache?: AnalysisCache;
  /** Build quick fixes (default true); `check` has no use for them. Not with `cache`, whose blocks keep theirs. */
  fixes?: boolean;
}

/** A mechanical edit that fixes one finding (1-based range, like the finding). */
export interface QuickFix {
  finding: Finding;
  title: string;
  range: { line: number; column: number; endLine: number; endColumn: number };
  newText: string;
  /** The one clearly right fix (shown first, applied by "fix all"); false for fixes that need care. */
  preferred: boolean;
}

export interface PythonAnalysis {
  findings: Finding[];
  /** Quick fixes, each pointing at its finding (same object as in `findings`). */
  fixes: QuickFix[];
  targets: RunTargets;
  /** Milliseconds spent parsing and analysing (for logs and the perf test). */
  parseMs: number;
  analyzeMs: number;
  /** Only with `keepTree`. */
  tree?: Tree;
  /** Findings silenced by `# ane: ignore` comments (for counts). */
  suppressed: number;
}

/** Findings for one Python file (1-based positions, UTF-16 columns like the editor). */
export async function analyzePython(text: string, file: string, options: AnalyzeOptions = {}): Promise<Finding[]> {
  return (await analyzePythonDocument(text, file, { runTargets: false, ...options })).findings;
}

/** Run targets (module classes with pragmas, ct.convert calls) of one Python file. */
export async function findRunTargets(text: string): Promise<RunTargets> {
  return (await analyzePythonDocument(text, '<memory>')).targets;
}

/** Findings and run targets from a single parse (what the language server uses). */
export async function analyzePythonDocument(text: string, file: string, options: AnalyzeOptions = {}): Promise<PythonAnalysis> {
  const parser = await initPythonParser();
  const t0 = performance.now();
  const tree = parsePython(parser, text, options.oldTree);
  const t1 = performance.now();
  try {
    const run = analyzeBlocks(tree, text, file, options);
    let findings = run.findings;
    let fixes = run.fixes;
    const noTargets: RunTargets = { classes: [], convertCalls: [] };
    let targets = noTargets;
    const lazyTargets = options.runTargets === 'lazy' && options.keepTree === true;
    const targetsNow = (): RunTargets => {
      try {
        return run.targets();
      } catch (error) {
        options.onRuleError?.(PRAGMA_RULE_ID, error);
        return noTargets;
      }
    };
    if (options.runTargets !== false && !lazyTargets) targets = targetsNow();
    const before = findings.length;
    const suppressions = run.suppressions;
    if (suppressions.file !== undefined || suppressions.lines.size > 0) {
      findings = findings.filter((f) => !isSuppressed(suppressions, f));
      const kept = new Set(findings);
      fixes = fixes.filter((f) => kept.has(f.finding));
    }
    findings.sort((a, b) => a.line - b.line || a.column - b.column || a.rule.localeCompare(b.rule));
    const result: PythonAnalysis = {
      findings, fixes, targets, parseMs: t1 - t0, analyzeMs: performance.now() - t1,
      suppressed: before - findings.length, ...(options.keepTree ? { tree } : {}),
    };
    if (lazyTargets) {
      let computed: RunTargets | undefined;
      Object.defineProperty(result, 'targets', { enumerable: true, get: () => (computed ??= targetsNow()) });
    }
    return result;
  } finally {
    // Trees live in wasm memory; free them or a long editing session leaks.
    if (!options.keepTree) tree.delete();
  }
}

/**
 * What one block contributes to the file's analysis; reused while its text and the file facts hold. A block
 * that moved (lines added or removed above it) has its positions shifted, and messages that quote a line
 * are filled in again from the current facts.
 */
interface BlockResult {
  /** Interned signatures of the file facts the result was computed with. */
  signature0: number;
  signature1: number;
  /** The block's first row when the positions below were computed. */
  row: number;
  findings: Finding[];
  fixes: QuickFix[];
  suppressions: Suppressions;
  /** Findings whose message quotes the line of a file fact (RuleHit.citesLine), with their templates. */
  cited: Array<{ finding: Finding; template: string; key: string }>;
  /** The stage-1 facts the quoted lines were filled in from (unchanged facts need no second look). */
  quotedFrom?: FileFacts1;
}

interface CachedBlock {
  facts0: BlockFacts0;
  facts1?: { signature0: number; value: BlockFacts1 };
  result?: BlockResult;
  /** Run targets (code lenses), computed when first asked for, under the same facts as `result`. */
  targets?: { signature0: number; signature1: number; row: number; value: RunTargets };
  /** The analysis that last used this entry (entries unused for two analyses are dropped). */
  used: number;
}

/**
 * Per-document memory of block results, for the language server: after a one-line edit only the edited
 * block is analysed again, unless the edit changed a file-wide fact (an import, a class header, a
 * module-level assignment...), in which case every block is. Results never depend on the cache.
 */
export class AnalysisCache {
  /**
   * `transient`: one analysis only (no document to come back to): nothing is stored, and no signature is
   * computed or compared.
   */
  constructor(private readonly transient = false) {}

  private readonly blocks = new Map<string, CachedBlock>();
  private settings = '';
  private analyses = 0;
  /** Blocks analysed (rules run) by the last analysis, of `lastBlockCount` (for tests and logs). */
  lastAnalysed = 0;
  lastBlockCount = 0;

  private readonly signatures = new Map<string, number>();
  private lastFile0: { signatures: string[]; facts: FileFacts0 } | undefined;
  private lastFile1: { signatures: string[]; rows: readonly number[]; facts: FileFacts1 } | undefined;

  /**
   * A small id for a file-facts signature: blocks compare ids, not the long strings (comparing a 40 KB
   * signature per block costs more than analysing the edited block).
   */
  intern(facts: { signature: string }): number {
    if (this.transient) return 0;
    const signature = facts.signature;
    let id = this.signatures.get(signature);
    if (id === undefined) {
      if (this.signatures.size > 8) this.signatures.clear();
      this.signatures.set(signature, (id = ++this.nextSignature));
    }
    return id;
  }
  private nextSignature = 0;

  /** File facts (stage 0) from block facts, reused when no block's facts changed (only positions move). */
  file0(blocks: readonly BlockFacts0[], blockStarts: readonly number[], blockRows: readonly number[]): FileFacts0 {
    if (this.transient) return fileFacts0(blocks, blockStarts, blockRows);
    const signatures = blocks.map((b) => b.signature);
    const last = this.lastFile0;
    if (last && sameStrings(last.signatures, signatures)) {
      const { imports, moduleClassOrigins, bigNames, topFunctions } = last.facts;
      return withSignature({
        imports, moduleClassOrigins, bigNames, topFunctions, moduleClasses: placeClasses(moduleClassOrigins, blockRows),
        moduleAssignments: moduleAssignmentIndex(blocks, blockStarts),
      }, () => last.facts.signature);
    }
    const facts = fileFacts0(blocks, blockStarts, blockRows);
    this.lastFile0 = { signatures, facts };
    return facts;
  }

  /** File facts (stage 1), reused when no block's stage-1 facts changed and no block moved. */
  file1(blocks: readonly BlockFacts1[], blockRows: readonly number[]): FileFacts1 {
    if (this.transient) return fileFacts1(blocks, blockRows);
    const signatures = blocks.map((b) => b.signature);
    const last = this.lastFile1;
    if (last && sameStrings(last.signatures, signatures) && last.rows.every((r, i) => r === blockRows[i])) return last.facts;
    const facts = fileFacts1(blocks, blockRows);
    this.lastFile1 = { signatures, rows: blockRows, facts };
    return facts;
  }

  /** Starts an analysis with these settings; different settings invalidate everything. */
  begin(settings: string): number {
    if (settings !== this.settings) {
      this.blocks.clear();
      this.lastFile0 = this.lastFile1 = undefined;
      this.settings = settings;
    }
    return ++this.analyses;
  }

  get(block: Block, analysis: number): CachedBlock | undefined {
    if (this.transient) return undefined;
    const hit = this.blocks.get(block.key);
    if (hit) hit.used = analysis;
    return hit;
  }

  private last: Array<{ block: Block; entry: CachedBlock }> = [];

  /**
   * Entries for a file's blocks, by text (wherever the block now starts). An edit leaves the blocks before
   * it and after it as they were, so those are matched against the last analysis's blocks in order first (a
   * string compare each), and only the rest is looked up in the map (hashing every block's text on every
   * keystroke cost more than analysing the edited block).
   */
  lookup(blocks: readonly Block[], analysis: number): Array<CachedBlock | undefined> {
    const out: Array<CachedBlock | undefined> = new Array(blocks.length);
    if (this.transient) return out;
    const last = this.last;
    const same = (a: Block, b: Block) => a.key === b.key;
    let head = 0;
    while (head < blocks.length && head < last.length && same(blocks[head]!, last[head]!.block)) out[head] = last[head]!.entry, head++;
    for (let i = blocks.length - 1, j = last.length - 1; i >= head && j >= head && same(blocks[i]!, last[j]!.block); i--, j--) out[i] = last[j]!.entry;
    for (let i = 0; i < blocks.length; i++) {
      if (out[i]) out[i]!.used = analysis;
      else out[i] = this.get(blocks[i]!, analysis);
    }
    return out;
  }

  set(block: Block, entry: CachedBlock): void {
    if (this.transient) return;
    this.blocks.set(block.key, entry);
  }

  /** Drops entries neither this analysis nor the one before used (an undo finds its blocks again). */
  end(analysis: number, blocks: readonly Block[], entries: ReadonlyArray<CachedBlock | undefined>): void {
    if (this.transient) return;
    for (const [key, entry] of this.blocks) if (entry.used < analysis - 1) this.blocks.delete(key);
    this.last = blocks.map((block, i) => ({ block, entry: entries[i]! }));
  }
}

interface BlockRun {
  findings: Finding[];
  fixes: QuickFix[];
  suppressions: Suppressions;
  /** The file's run targets, block by block (cached blocks keep theirs). */
  targets: () => RunTargets;
}

/** Runs the rules block by block (reusing cached blocks), with the file-wide facts computed in two stages. */
function analyzeBlocks(tree: Tree, text: string, file: string, options: AnalyzeOptions): BlockRun {
  const cache = options.cache ?? new AnalysisCache(true);
  const skip = options.skipRules ?? new Set<string>();
  const analysis = cache.begin(JSON.stringify([file, options.chip ?? '', [...skip].sort(), options.fixes !== false]));
  const root = tree.rootNode;
  const starts = lineStarts(text);
  // Rules read a few lines (pragmas, suppression comments); splitting a 5,000-line file for them cost more
  // than analysing the edited block.
  const lineOf = (row: number) => lineAt(text, starts, row);
  const blocks = splitBlocks(root, text, starts);
  const entries = cache.lookup(blocks, analysis);

  // Node indexes of the blocks that need analysing: a range query each while they are few, one walk of the
  // whole tree once they are many (a file-wide fact changed, or nothing was cached).
  const indexes = new Map<number, NodeIndex>();
  let rangeQueries = 0;
  const eachIndexed = (nodes: Node[], visit: (node: Node, type: string) => void) => {
    const types = indexedTypes(nodes, text);
    nodes.forEach((node, n) => visit(node, types[n]!));
  };
  const indexAll = () => {
    const fresh = blocks.map((_, i) => (indexes.has(i) ? undefined : new NodeIndex()));
    let bi = 0;
    eachIndexed(root.descendantsOfType([...INDEXED_TYPES]), (node, type) => {
      while (bi + 1 < blocks.length && node.startIndex >= blocks[bi + 1]!.startIndex) bi++;
      const index = fresh[bi];
      if (index) index.add(node, type);
    });
    fresh.forEach((index, i) => index && indexes.set(i, index));
  };
  // Counted with a loop: `reduce` skips the holes a fresh (transient) lookup leaves, which counted 0.
  let missing = 0;
  for (let i = 0; i < entries.length; i++) if (!entries[i]) missing++;
  if (missing > 4) indexAll();
  const indexOf = (i: number): NodeIndex => {
    let index = indexes.get(i);
    if (index) return index;
    if (++rangeQueries > 8) {
      indexAll();
      return indexes.get(i)!;
    }
    index = new NodeIndex();
    const b = blocks[i]!;
    const end = i + 1 < blocks.length ? { row: blocks[i + 1]!.startRow, column: 0 } : undefined;
    eachIndexed(root.descendantsOfType([...INDEXED_TYPES], { row: b.startRow, column: 0 }, end), (node, type) => {
      if (node.startIndex >= b.startIndex && node.startIndex < b.endIndex) index!.add(node, type);
    });
    indexes.set(i, index);
    return index;
  };

  const facts0 = blocks.map((b, i) => {
    if (entries[i]) return entries[i]!.facts0;
    const entry: CachedBlock = { facts0: computeFacts0(indexOf(i), text, b), used: analysis };
    cache.set(b, entry);
    entries[i] = entry;
    return entry.facts0;
  });
  const blockRows = blocks.map((b) => b.startRow);
  const file0 = cache.file0(facts0, blocks.map((b) => b.startIndex), blockRows);
  const sig0 = cache.intern(file0);
  const importText = importTextOf(file0);

  const contexts = new Map<number, AnalysisContext>();
  const contextOf = (i: number): AnalysisContext => {
    let ctx = contexts.get(i);
    if (!ctx) {
      const b = blocks[i]!;
      ctx = new AnalysisContext(tree, text, lineOf, indexOf(i), file0, { block: i, startIndex: b.startIndex, endIndex: b.endIndex }, options.chip);
      contexts.set(i, ctx);
    }
    return ctx;
  };

  const mayNeedEvidence = /[Ll]inear/.test(importText) || facts0.some((f) => f.mentionsLinear);
  const facts1 = entries.map((entry, i) => {
    const e = entry!;
    if (e.facts1?.signature0 !== sig0) e.facts1 = { signature0: sig0, value: computeFacts1(contextOf(i), blocks[i]!.startRow, mayNeedEvidence) };
    return e.facts1.value;
  });
  const file1 = cache.file1(facts1, blockRows);
  const sig1 = cache.intern(file1);

  const findings: Finding[] = [];
  const fixes: QuickFix[] = [];
  const suppressions: Suppressions[] = [];
  let analysed = 0;
  // Rules whose trigger words are absent are skipped (RULE_GATES). The words a rule needs are at the use or in
  // an import (`from torch.nn import LSTM as L`), so testing the block's text and the imports is enough; when
  // most blocks are analysed, one test per rule over the whole file first rules out most of them at once.
  const current = (r: { signature0: number; signature1: number } | undefined) => r !== undefined && r.signature0 === sig0 && r.signature1 === sig1;
  const stale = entries.reduce((n, e) => n + (current(e!.result) ? 0 : 1), 0);
  const fileGates = stale > 8 ? new Set(RULES.filter((r) => gateOpen(r.id, text, importText)).map((r) => r.id)) : undefined;
  entries.forEach((entry, i) => {
    const e = entry!;
    const row = blocks[i]!.startRow;
    if (!current(e.result)) {
      analysed++;
      if (indexOf(i).importsOnly()) {
        // Every rule fires on a node of its block, and an import statement holds none they look at.
        e.result = { signature0: sig0, signature1: sig1, row, findings: [], fixes: [], suppressions: collectSuppressions([], () => ''), cited: [] };
      } else {
        const ctx = contextOf(i);
        ctx.facts1 = file1;
        e.result = { signature0: sig0, signature1: sig1, row, quotedFrom: file1, ...runRules(ctx, fileGates ? (id) => fileGates.has(id) : (id) => gateOpen(id, blocks[i]!.key, importText), file, options) };
      }
    } else {
      // Moved blocks are shifted; quoted lines are filled in from the facts of this analysis.
      e.result = placeResult(e.result!, row, file1);
    }
    const result = e.result!;
    findings.push(...result.findings);
    fixes.push(...result.fixes);
    suppressions.push(result.suppressions);
  });
  cache.lastAnalysed = analysed;
  cache.lastBlockCount = blocks.length;
  cache.end(analysis, blocks, entries);

  return {
    findings, fixes, suppressions: mergeSuppressions(suppressions),
    targets: () => {
      const classes: RunTargets['classes'] = [];
      const convertCalls: RunTargets['convertCalls'] = [];
      entries.forEach((entry, i) => {
        const e = entry!;
        const row = blocks[i]!.startRow;
        if (e.targets?.signature0 !== sig0 || e.targets.signature1 !== sig1) {
          const ctx = contextOf(i);
          ctx.facts1 = file1;
          e.targets = { signature0: sig0, signature1: sig1, row, value: collectRunTargets(ctx) };
        } else if (e.targets.row !== row) {
          e.targets = { ...e.targets, row, value: shiftTargets(e.targets.value, row - e.targets.row) };
        }
        classes.push(...e.targets.value.classes);
        convertCalls.push(...e.targets.value.convertCalls);
      });
      return { classes, convertCalls };
    },
  };
}

function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * A block's result placed at `row` under the current facts: positions shifted if the block moved, quoted
 * lines filled in again. The same object when nothing changed (so its findings keep their diagnostics).
 */
function placeResult(result: BlockResult, row: number, facts: FileFacts1): BlockResult {
  const by = row - result.row;
  if (by === 0 && (result.cited.length === 0 || result.quotedFrom === facts)) return result;
  const stale = result.cited.filter((c) => renderCitation(c.template, facts, c.key) !== c.finding.message);
  if (by === 0 && stale.length === 0) return { ...result, quotedFrom: facts };
  const messages = new Map(result.cited.map((c) => [c.finding, renderCitation(c.template, facts, c.key)]));
  const placed = new Map<Finding, Finding>(result.findings.map((f) => [f, by === 0 && !messages.has(f) ? f
    : { ...f, line: f.line + by, endLine: f.endLine + by, message: messages.get(f) ?? f.message }]));
  return {
    ...result, row, findings: [...placed.values()],
    fixes: result.fixes.map((x) => (by === 0 ? { ...x, finding: placed.get(x.finding)! }
      : { ...x, finding: placed.get(x.finding)!, range: { ...x.range, line: x.range.line + by, endLine: x.range.endLine + by } })),
    suppressions: by === 0 ? result.suppressions
      : { file: result.suppressions.file, lines: new Map([...result.suppressions.lines].map(([line, rules]) => [line + by, rules])) },
    cited: result.cited.map((c) => ({ ...c, finding: placed.get(c.finding)! })),
    quotedFrom: facts,
  };
}

function shiftTargets(targets: RunTargets, by: number): RunTargets {
  const pragma = <T extends { pragmaLine?: number }>(t: T): T => (t.pragmaLine === undefined ? t : { ...t, pragmaLine: t.pragmaLine + by });
  return {
    classes: targets.classes.map((c) => pragma({ ...c, line: c.line + by })),
    convertCalls: targets.convertCalls.map((c) => pragma({ ...c, line: c.line + by })),
  };
}

function gateOpen(rule: string, text: string, importText: string): boolean {
  const gate = RULE_GATES[rule];
  return !gate || gate.test(text) || gate.test(importText);
}

const importTexts = new WeakMap<object, string>();

/** The import bindings as text, for rule gates (`L torch.nn.LSTM`). */
function importTextOf(facts: FileFacts0): string {
  let t = importTexts.get(facts.imports);
  if (t === undefined) importTexts.set(facts.imports, (t = [...facts.imports.bindings].map(([k, v]) => `${k} ${v}`).join('\n')));
  return t;
}

function computeFacts0(index: NodeIndex, text: string, block: Block): BlockFacts0 {
  const imports = collectTypedImportParts((['import_statement', 'import_from_statement', 'class_definition', 'function_definition'] as const)
    .map((type) => [type, index.get(type)] as const), text);
  const classes: ClassHeader[] = [];
  for (const cls of index.get('class_definition')) {
    const name = className(cls, text);
    if (name === undefined) continue;
    const bases = (cls.childForFieldName('superclasses')?.namedChildren ?? [])
      .filter((b) => b.type !== 'keyword_argument' && b.type !== 'comment').map((b) => b.text);
    classes.push({ name, row: cls.startPosition.row - block.startRow, bases });
  }
  const assignments = moduleScopeAssignments(index, text).map(({ name, node }) => ({
    name, offset: node.startIndex - block.startIndex, text: text.slice(node.startIndex, node.endIndex),
  }));
  const topFunctions = topLevelFunctions(index.get('function_definition')).map((fn) => definitionName(fn, text) ?? '');
  return blockFacts0(imports, classes, assignments, topFunctions, block.key);
}

const LAYER_NORMS = new Set(['torch.nn.LayerNorm', 'torch.nn.functional.layer_norm']);

/** Stage-1 facts of a block, rows counted from its first row (`firstRow`). */
function computeFacts1(ctx: AnalysisContext, firstRow: number, withEvidence: boolean): BlockFacts1 {
  const bareName = (c: { text: string }) => /^[A-Za-z_]\w*/.exec(c.text)![0];
  // Only calls to the file's own module-level functions can make a helper traced code.
  const known = ctx.facts.topFunctions;
  const computeCalls = ctx.bareCalls().map((c) => ({ c, name: bareName(c) }))
    .filter(({ c, name }) => known.has(name) && ctx.moduleMethodOf(c.node) && ctx.inModuleCompute(c.node)).map(({ name }) => name);
  const topFunctions = topLevelFunctions(ctx.nodes('function_definition'))
    .map((fn) => ({ name: definitionName(fn, ctx.text) ?? '', calls: ctx.bareCalls(fn).map(bareName).filter((n) => known.has(n)) }));
  // Sequence evidence only matters to ANE021, which needs a Linear somewhere in the file.
  const classes = withEvidence ? ctx.moduleClasses().map((cls) => {
    const evidence = sequenceEvidence(cls, ctx);
    return {
      name: cls.name, row: cls.node.startPosition.row - firstRow,
      evidence: evidence && { text: evidence.text, row: evidence.node.startPosition.row - firstRow },
      calls: ctx.bareCalls(cls.node).map((c) => ({ name: bareName(c), row: c.node.startPosition.row - firstRow }))
        .filter((c) => !ctx.imports.resolveName(c.name)),
    };
  }) : [];
  const layerNorm = ctx.calls.find((c) => c.callee !== undefined && LAYER_NORMS.has(c.callee));
  return blockFacts1({ computeCalls, topFunctions, classes, layerNormRow: layerNorm && layerNorm.node.startPosition.row - firstRow });
}

/** Every rule over one block, then its pragma findings and suppression comments. */
function runRules(ctx: AnalysisContext, active: (rule: string) => boolean, file: string, options: AnalyzeOptions): Omit<BlockResult, 'signature0' | 'signature1' | 'row'> {
  const findings: Finding[] = [];
  const cited: BlockResult['cited'] = [];
  const fixes: QuickFix[] = [];
  for (const rule of RULES) {
    if (options.skipRules?.has(rule.id) || !active(rule.id)) continue;
    try {
      for (const hit of rule.check(ctx)) {
        const message = hit.citesLine ? renderCitation(hit.message, ctx.facts1, hit.citesLine) : hit.message;
        const finding = toFinding(file, hit.node, rule.id, hit.severity ?? rule.severity, message);
        findings.push(finding);
        if (hit.citesLine) cited.push({ finding, template: hit.message, key: hit.citesLine });
        const fix = options.fixes === false ? undefined : typeof hit.fix === 'function' ? hit.fix() : hit.fix;
        if (fix) {
          const { line, column, endLine, endColumn } = toFinding(file, fix.node, rule.id, rule.severity, '');
          fixes.push({ finding, title: fix.title, range: { line, column, endLine, endColumn }, newText: fix.newText, preferred: fix.preferred !== false });
        }
      }
    } catch (error) {
      options.onRuleError?.(rule.id, error);
    }
  }
  try {
    findings.push(...pragmaFindings(ctx, file));
  } catch (error) {
    options.onRuleError?.(PRAGMA_RULE_ID, error);
  }
  return { findings, fixes, suppressions: collectSuppressions(ctx.nodes('comment'), ctx.lineAt), cited };
}

function toFinding(file: string, node: Node, rule: string, severity: Severity, message: string): Finding {
  return {
    file,
    line: node.startPosition.row + 1,
    column: node.startPosition.column + 1,
    endLine: node.endPosition.row + 1,
    endColumn: node.endPosition.column + 1,
    rule,
    severity,
    message,
  };
}

/** Malformed pragmas (error, at the bad token) and pragmas attached to nothing (warning). */
function pragmaFindings(ctx: AnalysisContext, file: string): Finding[] {
  const comments = ctx.nodes('comment').filter((c) => isPragmaLine(c.text));
  if (comments.length === 0) return [];
  const attached = new Set<number>();
  const anchors = [
    ...ctx.nodes('class_definition').map(anchorRow),
    ...ctx.calls.filter((c) => c.callee === 'coremltools.convert').map((c) => statementRow(c.node)),
  ];
  for (const row of anchors) {
    const pragma = pragmaAbove(ctx.lineAt, row);
    if (pragma) attached.add(pragma.row);
  }
  const findings: Finding[] = [];
  for (const comment of comments) {
    const row = comment.startPosition.row;
    const lineText = ctx.lineAt(row);
    const onOwnLine = lineText.slice(0, comment.startPosition.column).trim() === '';
    const parse = onOwnLine ? pragmaAbove(ctx.lineAt, row + 1)?.parse : undefined;
    if (parse && !parse.ok) {
      findings.push({
        file, line: row + 1, column: parse.error.start + 1, endLine: row + 1,
        endColumn: Math.min(parse.error.end, lineText.length) + 1,
        rule: PRAGMA_RULE_ID, severity: 'error', message: `Malformed \`# ane:\` pragma: ${parse.error.message}.`,
      });
    } else if (!attached.has(row)) {
      findings.push({
        file, line: row + 1, column: comment.startPosition.column + 1, endLine: row + 1,
        endColumn: comment.endPosition.column + 1, rule: PRAGMA_RULE_ID, severity: 'warning',
        message: 'This `# ane:` pragma has no effect: put it directly above an nn.Module class (or its decorators) or a ct.convert statement, with no blank line between.',
      });
    }
  }
  return findings;
}
