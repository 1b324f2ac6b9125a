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
 * Progress checks the exact description may take after the widened one ran out of its four times larger
 * allowance. About 4% of a full parse: twice what a typical incremental parse takes (~2%: 60 checks in the
 * 5,000-line bench file, 18 in 1,500 lines).
 */
function exactAllowance(text: string): number {
  return Math.max(40, Math.ceil(text.length / 1750));
}

/**
 * Parses Python source. Tree-sitter recovers from syntax errors, so partial code still yields a tree.
 * With EditedTrees: the widened description first, under an allowance of progress checks; if it runs out, the
 * exact one under a quarter of that; if that runs out too, the widened one again, to the end. Each attempt
 * starts afresh: a cancelled parse that is resumed can recover from syntax errors differently from one that
 * ran uninterrupted (1 edit in 450 of a random session did), so every tree returned is an uninterrupted
 * parse of one description, which gives the tree of a fresh parse. Widened first because the edits it
 * spares are the common ones (typing at a line's start, a backspace at a block's end): trying the exact
 * range first cost each of those the allowance, and the LSP p50 on the bench file 0.6-1.9 ms.
 */
export function parsePython(parser: Parser, text: string, old?: Tree | EditedTrees, work?: ParseWork): Tree {
  let tree: Tree | null;
  if (!old) {
    tree = parser.parse(text);
  } else if (!('wide' in old)) {
    tree = parser.parse(shortReads(text), old);
  } else {
    tree = parseEither(parser, text, old, work);
  }
  if (!tree) throw new Error('tree-sitter returned no tree');
  attachSource(tree, text);
  return tree;
}

function parseEither(parser: Parser, text: string, old: EditedTrees, work?: ParseWork): Tree | null {
  const read = shortReads(text);
  const allowance = exactAllowance(text);
  let checks = 0;
  // web-tree-sitter hands the callback's result to tree-sitter, where true cancels (its typings say void).
  const within = (limit: number) => {
    let n = 0;
    return () => (checks++, ++n > limit);
  };
  try {
    const wide = parser.parse(read, old.wide, { progressCallback: within(4 * allowance) });
    if (wide) return wide;
    // A cancelled parse would be resumed by the next call: start afresh.
    parser.reset();
    const exact = parser.parse(read, old.exact, { progressCallback: within(allowance) });
    if (exact) return exact;
    parser.reset();
    return parser.parse(read, old.wide, { progressCallback: within(Infinity) });
  } finally {
    if (work) work.checks = checks;
  }
}
