// web-tree-sitter is patched at install (patches/, applied by patch-package): its Node keeps the wasm handle in a
// named field instead of at index 0, and nodes cross into wasm through DataView reads and writes. The analysis'
// speed depends on the patch being applied, and everything on the marshalling being right.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Node } from 'web-tree-sitter';
import { initPythonParser, parsePython } from '../../server/src/python/parser';
import { FIXTURES } from '../helpers';

test('the web-tree-sitter patch is applied: nodes carry no indexed element', async () => {
  const tree = parsePython(await initPythonParser(), 'x = f(1)\n');
  try {
    const node = tree.rootNode.namedChildren[0]!;
    assert.equal(Object.prototype.hasOwnProperty.call(node, '0'), false,
      'Node objects still store the wasm handle at index 0: run `npx patch-package` (npm ci does it in postinstall)');
  } finally {
    tree.delete();
  }
});

test('nodes survive the round trip into wasm: every accessor agrees with a tree cursor walk', async () => {
  const parser = await initPythonParser();
  const text = readFileSync(join(FIXTURES, 'python', 'ane_transformer_block.py'), 'utf8');
  const tree = parsePython(parser, text);
  try {
    const describe = (n: Node) => [n.id, n.type, n.startIndex, n.endIndex, n.startPosition.row, n.startPosition.column,
      n.endPosition.row, n.endPosition.column, n.text].join('|');
    const walked: string[] = [];
    const cursor = tree.walk();
    for (let more = true; more;) {
      if (cursor.currentNode.isNamed) walked.push(describe(cursor.currentNode));
      if (cursor.gotoFirstChild()) continue;
      while (!cursor.gotoNextSibling()) {
        if (!cursor.gotoParent()) { more = false; break; }
      }
    }
    cursor.delete();
    // The same nodes reached by the other unmarshalling paths: child lists, field lookups and parents.
    const listed: string[] = [];
    const visit = (n: Node) => {
      listed.push(describe(n));
      for (const c of n.namedChildren) {
        assert.equal(c.parent?.id, n.id, `parent of ${c.type} at ${c.startIndex}`);
        visit(c);
      }
    };
    visit(tree.rootNode);
    assert.ok(walked.length > 100, `walked ${walked.length} named nodes`);
    assert.deepEqual(listed, walked);
    for (const call of tree.rootNode.descendantsOfType('call')) {
      const fn = call.childForFieldName('function')!;
      assert.equal(fn.startIndex, call.startIndex);
      assert.equal(text.slice(call.startIndex, call.endIndex), call.text);
    }
  } finally {
    tree.delete();
  }
});
