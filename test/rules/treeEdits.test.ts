// How edits are described to tree-sitter (treeEdits.ts): the widened description parses to exactly the tree
// of a fresh parse, node for node and position for position, and it spares the whole-file reparses the exact
// description causes next to Python's zero-width NEWLINE/INDENT/DEDENT tokens.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Parser, Tree } from 'web-tree-sitter';
import { initPythonParser, parsePython, type ParseWork } from '../../server/src/python/parser';
import { widenEdit, type EditRange } from '../../server/src/python/treeEdits';
import { pointAt } from '../helpers';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Edit } = require('web-tree-sitter') as typeof import('web-tree-sitter');


/** Every node with its type, offsets and points, in document order. */
function dump(tree: Tree): string[] {
  const out: string[] = [];
  const c = tree.walk();
  for (;;) {
    const p = c.startPosition;
    const q = c.endPosition;
    out.push(`${c.nodeType} ${c.startIndex}-${c.endIndex} ${p.row}:${p.column}-${q.row}:${q.column}`);
    if (c.gotoFirstChild()) continue;
    while (!c.gotoNextSibling()) if (!c.gotoParent()) { c.delete(); return out; }
  }
}

/** A model file like the benchmark's: many small classes, each block ending in a line people type at. */
function generated(classes: number): string {
  const lines = ['import torch', 'import torch.nn as nn', 'import torch.nn.functional as F', ''];
  for (let i = 0; i < classes; i++) {
    lines.push(
      `class ConvBlock${i}(nn.Module):`, '    def __init__(self, cin=64, cout=128):', '        super().__init__()',
      '        self.conv = nn.Conv2d(cin, cout, kernel_size=3, stride=1, padding=1)', '        self.down = nn.Conv2d(cout, cout, kernel_size=3, stride=2, padding=1, groups=8)',
      '', '    def forward(self, x):', '        y = F.relu(self.conv(x))', '        return self.down(y) + 1.0', '',
    );
  }
  return lines.join('\n');
}

interface Change { start: number; end: number; insert: string }

/** The exact description of replacing [start, end) of `before` by `insert`, and the text after it. */
function exactEdit(before: string, { start, end, insert }: Change): { after: string; edit: EditRange } {
  const after = before.slice(0, start) + insert + before.slice(end);
  return {
    after,
    edit: {
      startIndex: start, oldEndIndex: end, newEndIndex: start + insert.length,
      startPosition: pointAt(before, start), oldEndPosition: pointAt(before, end), newEndPosition: pointAt(after, start + insert.length),
    },
  };
}

/** `text`'s tree twice, with `changes` (applied in turn) described exactly and widened; and the text after them. */
function editedTrees(parser: Parser, text: string, changes: Change[]): { exact: Tree; wide: Tree; after: string } {
  const exact = parsePython(parser, text);
  const wide = exact.copy();
  let after = text;
  for (const change of changes) {
    const { after: next, edit } = exactEdit(after, change);
    exact.edit(new Edit(edit));
    wide.edit(new Edit(widenEdit(after, edit)));
    after = next;
  }
  return { exact, wide, after };
}

/** Parses `changes` incrementally from `text`'s tree with one description; returns the tree, the text and tree-sitter's progress checks. */
function reparse(parser: Parser, text: string, changes: Change[], widen: boolean): { tree: Tree; after: string; checks: number } {
  const { exact, wide, after } = editedTrees(parser, text, changes);
  let checks = 0;
  const tree = parser.parse(after, widen ? wide : exact, { progressCallback: () => { checks++; return false; } })!;
  exact.delete();
  wide.delete();
  return { tree, after, checks };
}

test('widened edits reparse to the fresh tree, positions included: every line, single edits and bursts', async () => {
  const parser = await initPythonParser();
  const text = generated(3) + '\ns = "café ✓ 🚀"  # non-ASCII before the last lines\n# a comment at column 0\nx = 1';
  let checked = 0;
  let offset = 0;
  for (const line of text.split('\n')) {
    const end = offset + line.length;
    const indent = line.length - line.trimStart().length;
    const bursts: Change[][] = [
      [{ start: end, end, insert: 'x' }], [{ start: Math.max(offset, end - 1), end, insert: '' }], [{ start: end, end, insert: '\n    ' }],
      [{ start: offset + indent, end: offset + indent, insert: 'x' }], [{ start: offset + (line.length >> 1), end: offset + (line.length >> 1), insert: ':' }],
      // Two keystrokes in one batch, and a deletion across a line break.
      [{ start: end, end, insert: 'y' }, { start: end + 1, end: end + 1, insert: ')' }], [{ start: Math.max(0, offset - 1), end: offset + indent, insert: '' }],
    ];
    for (const changes of bursts) {
      const exact = reparse(parser, text, changes, false);
      const widened = reparse(parser, text, changes, true);
      const fresh = parsePython(parser, widened.after);
      const expected = dump(fresh);
      const what = `${JSON.stringify(changes)} on ${JSON.stringify(line)}`;
      assert.deepEqual(dump(widened.tree), expected, `widened: ${what}`);
      assert.deepEqual(dump(exact.tree), expected, `exact: ${what}`);
      // And both, as the server parses them (widened under an allowance, exact, widened to the end).
      const trees = editedTrees(parser, text, changes);
      const both = parsePython(parser, trees.after, trees);
      assert.deepEqual(dump(both), expected, `both: ${what}`);
      for (const t of [exact.tree, widened.tree, fresh, both, trees.exact, trees.wide]) t.delete();
      checked++;
    }
    offset = end + 1;
  }
  assert.ok(checked > 200, `${checked} edits checked`);
});

test('widened edits spare the whole-file reparses of typing at a line start or a block end', async () => {
  const parser = await initPythonParser();
  const text = generated(150); // 1,500 lines
  let full = 0;
  parser.parse(text, null, { progressCallback: () => { full++; return false; } })!.delete();
  const mid = text.length >> 1;
  const cases: Array<{ name: string; change: Change }> = [
    { name: 'backspace at the end of a class', change: { start: text.indexOf(' + 1.0', mid) + 5, end: text.indexOf(' + 1.0', mid) + 6, insert: '' } },
    { name: 'typing at the start of a line', change: { start: text.indexOf('super()', mid), end: text.indexOf('super()', mid), insert: 'x' } },
    { name: 'the last character of __init__ typed over', change: { start: text.indexOf('groups=8)', mid) + 8, end: text.indexOf('groups=8)', mid) + 9, insert: ')' } },
  ];
  for (const { name, change } of cases) {
    const exact = reparse(parser, text, [change], false);
    const widened = reparse(parser, text, [change], true);
    assert.deepEqual(dump(widened.tree), dump(exact.tree), name);
    // The exact description redoes most of a full parse (what this test is about: if tree-sitter stops
    // doing that, this fails and the widening can go)...
    assert.ok(exact.checks > full / 3, `${name}: exact ${exact.checks} of a full parse's ${full} checks`);
    // ...the widened one a small part.
    assert.ok(widened.checks < full / 10, `${name}: widened ${widened.checks} of ${full}`);
    exact.tree.delete();
    widened.tree.delete();
  }
});

test('widenEdit reaches the next column-0 line nearby, else only the end of the edited line', () => {
  const small = 'class A:\n    def f(self):\n        return 1\n\n    # note\nclass B:\n    pass\n';
  const at = small.indexOf('return 1') + 'return 1'.length;
  const { edit } = exactEdit(small, { start: at, end: at, insert: 'x' });
  const widened = widenEdit(small, edit);
  // Past the blank line and the indented comment, to `class B` (row 5).
  assert.equal(widened.oldEndIndex, small.indexOf('class B'));
  assert.deepEqual(widened.oldEndPosition, { row: 5, column: 0 });
  assert.deepEqual(widened.newEndPosition, { row: 5, column: 0 });
  assert.equal(widened.newEndIndex, small.indexOf('class B') + 1);
  assert.deepEqual([widened.startIndex, widened.startPosition], [edit.startIndex, edit.startPosition]);

  // A long class: the next column-0 line is over 4 KiB away, so the description ends with the edited line.
  const long = `class Big:\n    def f(self):\n        return 1\n${'        x = 1\n'.repeat(400)}class C:\n    pass\n`;
  const at2 = long.indexOf('return 1') + 3;
  const { edit: edit2 } = exactEdit(long, { start: at2, end: at2 + 1, insert: '' });
  const widened2 = widenEdit(long, edit2);
  assert.equal(widened2.oldEndIndex, long.indexOf('\n', at2) + 1);
  assert.deepEqual(widened2.oldEndPosition, { row: 3, column: 0 });
  assert.equal(widened2.newEndIndex, widened2.oldEndIndex - 1);

  // On the last line (no line break after the edit) there is nothing to reach for.
  const last = 'x = 1\ny = 2';
  const { edit: edit3 } = exactEdit(last, { start: 8, end: 8, insert: '3' });
  assert.deepEqual(widenEdit(last, edit3), edit3);
});

test('parsing both descriptions costs about the cheaper one, either way round', async () => {
  const parser = await initPythonParser();
  const text = generated(150);
  let full = 0;
  parser.parse(text, null, { progressCallback: () => { full++; return false; } })!.delete();
  const mid = text.length >> 1;
  const end = text.indexOf(' + 1.0', mid) + ' + 1.0'.length;
  const cases: Array<{ name: string; change: Change; cheaper: 'exact' | 'wide' }> = [
    // `1.0:` at the end of a class: the widened description reparses the rest of the file, the exact one not.
    { name: 'typing after the last 1.0 of a class', change: { start: end, end, insert: ':' }, cheaper: 'exact' },
    // A backspace there: the other way round.
    { name: 'backspace at the end of a class', change: { start: end - 1, end, insert: '' }, cheaper: 'wide' },
  ];
  for (const { name, change, cheaper } of cases) {
    const exact = reparse(parser, text, [change], false);
    const wide = reparse(parser, text, [change], true);
    const [cheap, dear] = cheaper === 'exact' ? [exact, wide] : [wide, exact];
    assert.ok(cheap.checks < full / 10 && dear.checks > full / 3, `${name}: exact ${exact.checks}, widened ${wide.checks} of ${full}`);
    const trees = editedTrees(parser, text, [change]);
    const work: ParseWork = { checks: 0 };
    const tree = parsePython(parser, trees.after, trees, work);
    assert.deepEqual(dump(tree), dump(cheap.tree), name);
    // The cheaper one plus at most an allowance of the other: well under the dearer one and a whole-file parse.
    assert.ok(work.checks < Math.min(dear.checks, full / 3), `${name}: both took ${work.checks} (exact ${exact.checks}, widened ${wide.checks}, full ${full})`);
    // The parser that lost is reset: the next document parses from scratch, not from its half-done parse.
    const other = parsePython(parser, 'def f(a, b):\n    return a @ b\n');
    assert.equal(other.rootNode.toString(), '(module (function_definition name: (identifier) parameters: (parameters (identifier) (identifier)) body: (block (return_statement (binary_operator left: (identifier) right: (identifier))))))', name);
    for (const t of [exact.tree, wide.tree, tree, trees.exact, trees.wide, other]) t.delete();
  }
});
