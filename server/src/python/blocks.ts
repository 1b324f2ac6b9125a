// The unit of incremental analysis: a file split into top-level blocks (a class, a function, a run of
// imports and other module statements), each with the comment lines directly above it, so a class's
// `# ane:` pragma travels with the class. Blocks partition the file's lines; a node belongs to the block
// its start falls in. A block's findings are a function of its text and the file-wide facts (fileFacts.ts),
// up to where the block starts (positions shift with it), which is what lets the language server reuse
// them after an edit elsewhere.
import type { Node } from 'web-tree-sitter';

export interface Block {
  /** Offsets into the file text: [startIndex, endIndex) is the block's share of the lines. */
  startIndex: number;
  endIndex: number;
  /** 0-based row of the block's first line. */
  startRow: number;
  /**
   * The text that determines the block's findings: its lines, and beyond them to the end of its last
   * statement when that runs on (a trailing comment the parser hung on the statement).
   */
  key: string;
}

const COMMENT_LINE = /^[ \t]*#/;
/** Statements that get a block of their own; runs of other module statements share one. */
const DEFINITIONS = new Set(['class_definition', 'function_definition', 'decorated_definition']);

/** Offsets where each line starts (rows as tree-sitter counts them: after every `\n`). */
export function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return starts;
}

/** Line `row` without its line break ('' past the end): one line, not a split of the whole file. */
export function lineAt(text: string, starts: readonly number[], row: number): string {
  if (row < 0 || row >= starts.length) return '';
  let end = row + 1 < starts.length ? starts[row + 1]! - 1 : text.length;
  if (end > starts[row]! && text.charCodeAt(end - 1) === 13) end--;
  return text.slice(starts[row]!, end);
}

/** Splits a parsed file into blocks, in document order. An empty file is one empty block. */
export function splitBlocks(root: Node, text: string, starts: readonly number[] = lineStarts(text)): Block[] {
  const heads: Array<{ row: number; end: number; simple: boolean }> = [];
  for (const stmt of root.namedChildren) {
    // A node's type is a call into wasm: read once (this runs on every keystroke, over every statement).
    const type = stmt.type;
    if (type === 'comment') continue;
    const row = stmt.startPosition.row;
    const simple = !DEFINITIONS.has(type);
    const last = heads[heads.length - 1];
    // `a = 1; b = 2` and statements recovered from odd code that share a line stay in one block, and so
    // does a run of imports or other module statements: a block costs a little bookkeeping of its own.
    if (last && (row <= rowOf(starts, last.end - 1) || (simple && last.simple))) {
      last.end = Math.max(last.end, stmt.endIndex);
      last.simple &&= simple;
      continue;
    }
    let first = row;
    const floor = last ? last.row + 1 : 0;
    while (first - 1 >= floor && COMMENT_LINE.test(lineAt(text, starts, first - 1))) first--;
    heads.push({ row: first, end: stmt.endIndex, simple });
  }
  if (heads.length === 0) return [{ startIndex: 0, endIndex: text.length, startRow: 0, key: text }];
  heads[0]!.row = 0; // the file's first lines (a licence header) go with the first block
  return heads.map((h, i) => {
    const startIndex = starts[h.row]!;
    const endIndex = i + 1 < heads.length ? starts[heads[i + 1]!.row]! : text.length;
    return { startIndex, endIndex, startRow: h.row, key: text.slice(startIndex, Math.max(endIndex, h.end)) };
  });
}

/** Row of offset `i` (binary search over line starts). */
export function rowOf(starts: readonly number[], i: number): number {
  let lo = 0;
  let hi = starts.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (starts[mid]! <= i) lo = mid + 1;
    else hi = mid;
  }
  return Math.max(0, lo - 1);
}
