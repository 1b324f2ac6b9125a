// Keeps each open document's last syntax tree in step with the editor's incremental changes
// (tree.edit for every content change), so the next parse reuses the unchanged parts of the tree.
// A tree is only ever used for the exact document version it was edited to; anything else (a
// full-content change, an edit that arrived while an analysis ran) drops it and the next parse is full.
import type { TextDocumentContentChangeEvent } from 'vscode-languageserver';
import { TextDocument } from 'vscode-languageserver-textdocument';
import type { Point, Tree } from 'web-tree-sitter';
import type { EditedTrees } from '../python/parser';
import { widenEdit } from '../python/treeEdits';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Edit } = require('web-tree-sitter') as typeof import('web-tree-sitter');

/** `exact` is the tree as parsed, edited exactly; `wide` a copy edited with widened descriptions (treeEdits.ts). */
interface State { exact: Tree; wide: Tree; version: number }

/** Where the inserted text ends, starting at `start` (tree-sitter points count UTF-16 code units here). */
function endOf(start: Point, text: string): Point {
  let row = start.row;
  let lastBreak = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10 || (c === 13 && text.charCodeAt(i + 1) !== 10)) { row++; lastBreak = i; }
  }
  return lastBreak < 0 ? { row, column: start.column + text.length } : { row, column: text.length - lastBreak - 1 };
}

function free(s: State): void {
  s.exact.delete();
  s.wide.delete();
}

export class TreeTracker {
  private readonly states = new Map<string, State>();

  /** Applies `changes` to `document` (like TextDocument.update) and mirrors them onto the tracked tree. */
  applyChanges(document: TextDocument, changes: TextDocumentContentChangeEvent[], version: number): TextDocument {
    const state = this.states.get(document.uri);
    let inSync = state !== undefined && state.version === document.version;
    let doc = document;
    for (const change of changes) {
      if (inSync && state && 'range' in change) {
        const startIndex = doc.offsetAt(change.range.start);
        const oldEndIndex = doc.offsetAt(change.range.end);
        // offsetAt clamps; use the clamped positions so indices and points agree.
        const start = doc.positionAt(startIndex);
        const oldEnd = doc.positionAt(oldEndIndex);
        const startPosition = { row: start.line, column: start.character };
        const edit = {
          startIndex, oldEndIndex, newEndIndex: startIndex + change.text.length,
          startPosition, oldEndPosition: { row: oldEnd.line, column: oldEnd.character }, newEndPosition: endOf(startPosition, change.text),
        };
        state.exact.edit(new Edit(edit));
        // Also described as reaching further than it does, which spares tree-sitter whole-file reparses.
        state.wide.edit(new Edit(widenEdit(doc.getText(), edit)));
      } else {
        inSync = false;
      }
      doc = TextDocument.update(doc, [change], version);
    }
    if (state) {
      if (inSync) state.version = version;
      else this.forget(document.uri);
    }
    return doc;
  }

  /** The edited trees for exactly this version of the document, if there are. */
  treeFor(uri: string, version: number): EditedTrees | undefined {
    const s = this.states.get(uri);
    return s && s.version === version ? s : undefined;
  }

  /**
   * Takes ownership of the tree parsed from `version`; frees the previous one. If the document has
   * moved on meanwhile (`currentVersion` differs) the tree cannot be edited to match, so it is freed.
   */
  store(uri: string, tree: Tree, version: number, currentVersion: number | undefined): void {
    const old = this.states.get(uri);
    // Freed after the diagnostics are out: freeing a large tree is off the edit → diagnostics path.
    if (old && old.exact !== tree) setImmediate(() => free(old));
    // A shallow copy: tree-sitter copies the nodes an edit changes, so the two stay independent.
    if (currentVersion === version) this.states.set(uri, { exact: tree, wide: tree.copy(), version });
    else { this.states.delete(uri); tree.delete(); }
  }

  forget(uri: string): void {
    const s = this.states.get(uri);
    if (s) free(s);
    this.states.delete(uri);
  }

  clear(): void {
    for (const s of this.states.values()) free(s);
    this.states.clear();
  }
}
