// How an edit of the text is described to tree-sitter before an incremental parse. Any description whose
// changed range covers the real change is true (what lies between is unchanged on both sides), and all give
// the same tree; they differ in how much tree-sitter reparses. The exact range is the worst choice for
// Python in a common case: an edit next to the zero-width NEWLINE/INDENT/DEDENT tokens of the external
// scanner (typing at the start of a line, a backspace at the end of a block's last line, a `def` line's
// colon) leaves the scanner states tree-sitter compares before reusing a subtree unequal, and it then skips
// the large subtrees that follow instead of descending into them: the rest of the file is parsed again
// (~80 ms instead of ~2 ms in a 5,000-line file). Reaching to the next line that starts at column 0 makes
// the first reuse after the edit happen where the scanner state is the plain module-level one, which
// matches. Measured over every start-of-line, end-of-line and mid-line edit (tree-sitter progress checks,
// docs/quality.md): 3.6x less parse work on the bench file (p90 2,957 -> 840 checks), 10-12% less on
// torch.nn's module.py and torchvision's roi_heads.py, p50 within a few checks everywhere. In the few cases
// where the exact range is the cheap one (typing after the last token of a class), it still wins: the server
// keeps both edited trees and parses them in turn (parser.ts, EditedTrees).
import type { Edit } from 'web-tree-sitter';

/** What web-tree-sitter's Edit is built from: offsets and points of the change's start and both ends. */
export type EditRange = ConstructorParameters<typeof Edit>[0];

/**
 * How far past the edit the description may reach for a column-0 line. Inside a long class the next one
 * can be thousands of lines away, and everything up to it would be reparsed: beyond this, the description
 * ends with the edited line instead (over the same edits of module.py, whose one class is 1,900 lines,
 * reaching 64 KiB took 2.4x the exact range's parse work; 4 KiB took 10% less).
 */
const TOP_LEVEL_REACH = 4096;

/** A line break followed by code at column 0 (not indentation, a blank line or a comment). */
const TOP_LEVEL_LINE = /\n[^\s#]/;

/**
 * `edit` (of `before`, the whole text before the change) described as reaching to the start of the next
 * line that begins at column 0 within TOP_LEVEL_REACH, or else to the end of the last line it touches.
 */
export function widenEdit(before: string, edit: EditRange): EditRange {
  const lineEnd = before.indexOf('\n', edit.oldEndIndex);
  // On the last line there is nothing after the edit to reuse.
  if (lineEnd < 0) return edit;
  const next = TOP_LEVEL_LINE.exec(before.slice(lineEnd, lineEnd + TOP_LEVEL_REACH));
  const end = lineEnd + (next ? next.index : 0) + 1;
  let rows = 0;
  for (let i = lineEnd; i >= 0 && i < end; i = before.indexOf('\n', i + 1)) rows++;
  return {
    startIndex: edit.startIndex,
    startPosition: edit.startPosition,
    oldEndIndex: end,
    newEndIndex: edit.newEndIndex + (end - edit.oldEndIndex),
    // `end` starts a line, on both sides of the edit.
    oldEndPosition: { row: edit.oldEndPosition.row + rows, column: 0 },
    newEndPosition: { row: edit.newEndPosition.row + rows, column: 0 },
  };
}
