// Loads tree-sitter (web-tree-sitter + the Python grammar, both wasm) once per process.
// The wasm files sit next to the bundle in dist/ (copied by scripts/build.mjs); bundled tests and
// tools run from elsewhere, so we also look in node_modules above this file and the working dir.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { attachSource } from './syntax';
import type { Parser, Tree } from 'web-tree-sitter';

// Loaded with require so esbuild (format cjs) bundles the package's CommonJS build: its ESM build
// locates its wasm through import.meta.url, which is undefined in a cjs bundle.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const TreeSitter = require('web-tree-sitter') as typeof import('web-tree-sitter');

const RUNTIME_WASM = 'web-tree-sitter.wasm';
const PYTHON_WASM = 'tree-sitter-python.wasm';

let loading: Promise<Parser> | undefined;
let ready: Parser | undefined;

function candidateDirs(): string[] {
  const dirs: string[] = [];
  const here = typeof __dirname === 'string' ? __dirname : process.cwd();
  dirs.push(here);
  // Walk up to the filesystem root: dist/, out/test/rules/, the repo root's node_modules.
  for (let dir = here, i = 0; i < 12; i++) {
    dirs.push(join(dir, 'dist'));
    dirs.push(join(dir, 'node_modules', 'web-tree-sitter'));
    dirs.push(join(dir, 'node_modules', 'tree-sitter-python'));
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  dirs.push(join(process.cwd(), 'dist'));
  dirs.push(join(process.cwd(), 'node_modules', 'web-tree-sitter'));
  dirs.push(join(process.cwd(), 'node_modules', 'tree-sitter-python'));
  return dirs;
}

/** Absolute path of a wasm file, or a clear error listing where we looked. */
export function locateWasm(name: string): string {
  const dirs = candidateDirs();
  for (const dir of dirs) {
    const file = join(dir, name);
    if (existsSync(file)) return file;
  }
  throw new Error(`ANE Lens: cannot find ${name} (looked next to the bundle and in node_modules: ${dirs.slice(0, 4).join(', ')}, ...)`);
}

/** Initialises tree-sitter and the Python grammar once; later calls share the same promise. */
export function initPythonParser(): Promise<Parser> {
  if (!loading) {
    loading = (async () => {
      const runtime = locateWasm(RUNTIME_WASM);
      await TreeSitter.Parser.init({ locateFile: () => runtime });
      const python = await TreeSitter.Language.load(locateWasm(PYTHON_WASM));
      const parser = new TreeSitter.Parser();
      parser.setLanguage(python);
      ready = parser;
      return parser;
    })();
    // Let a later call retry after a failure instead of caching the rejection forever.
    loading.catch(() => { loading = undefined; });
  }
  return loading;
}

/** The parser if initPythonParser() has finished, else undefined. */
export function loadedParser(): Parser | undefined {
  return ready;
}

/**
 * UTF-16 units handed to tree-sitter per read in an incremental parse. Given a string, web-tree-sitter
 * copies 5,120 units from every position the parser reads at; an incremental parse reads at a few hundred
 * scattered positions after edits that upset the indentation (a `def` line typed at), so those copies were
 * about a fifth of its time. A full parse reads front to back and keeps the large reads.
 */
const INCREMENTAL_READ_UNITS = 512;

/** A reader over `text` in short slices (tree-sitter reads again where a slice splits a surrogate pair). */
function shortReads(text: string): (index: number) => string {
  return (index) => text.slice(index, index + INCREMENTAL_READ_UNITS);
}

/**
 * A document's previous tree twice, edited to match the new text with the edits described two ways
 * (treeEdits.ts): widened to the next column-0 line, which spares most whole-file reparses, and exact,
 * which is cheap in the few cases where the widened one is not (typing `x` after a class's last `1.0`).
 */
export interface EditedTrees {
  wide: Tree;
  exact: Tree;
}

/** Tree-sitter's progress checks in an incremental parse (about one per 70-85 characters of a full parse). */
export interface ParseWork {
  checks: number;
}

/**
 * Progress checks per slice of the exact description when the two are alternated; the widened one gets four
 * times as many. About 4% of a full parse: twice what a typical incremental parse takes (~2%: 60 checks in the
 * 5,000-line bench file, 18 in 1,500 lines).
 */
function exactSlice(text: string): number {
  return Math.max(40, Math.ceil(text.length / 1750));
}

let second: Parser | undefined;

/**
 * Parses Python source. Tree-sitter recovers from syntax errors, so partial code still yields a tree.
 * With EditedTrees, the two descriptions are parsed in alternating slices by two parsers, each resuming where
 * its last slice stopped, and the first to finish wins: the cost is about the cheaper one's (the wide one's
 * plus a quarter while it is the cheaper). Either gives the tree of a fresh parse.
 */
export function parsePython(parser: Parser, text: string, old?: Tree | EditedTrees, work?: ParseWork): Tree {
  let tree: Tree | null;
  if (!old) {
    tree = parser.parse(text);
  } else if (!('wide' in old)) {
    tree = parser.parse(shortReads(text), old);
  } else {
    tree = parseAlternating(parser, text, old, work);
  }
  if (!tree) throw new Error('tree-sitter returned no tree');
  attachSource(tree, text);
  return tree;
}

function parseAlternating(parser: Parser, text: string, old: EditedTrees, work?: ParseWork): Tree {
  const exactParser = (second ??= newParserLike(parser));
  const read = shortReads(text);
  const slice = exactSlice(text);
  let checks = 0;
  try {
    for (;;) {
      // web-tree-sitter hands the callback's result to tree-sitter, where true cancels (its typings say
      // void); a cancelled parse resumes on the next call to the same parser.
      let n = 0;
      const wide = parser.parse(read, old.wide, { progressCallback: () => (checks++, ++n > 4 * slice) });
      if (wide) return wide;
      n = 0;
      const exact = exactParser.parse(read, old.exact, { progressCallback: () => (checks++, ++n > slice) });
      if (exact) return exact;
    }
  } finally {
    // Drop the loser's half-done parse: the next call to that parser must start afresh (on another text).
    parser.reset();
    exactParser.reset();
    if (work) work.checks = checks;
  }
}

function newParserLike(parser: Parser): Parser {
  const p = new TreeSitter.Parser();
  p.setLanguage(parser.language);
  return p;
}
