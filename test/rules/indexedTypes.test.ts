// The index reads node types from the source where its first characters decide (context.ts indexedTypes), and
// call arguments tell keywords from the source (syntax.ts callArgs). Both must agree with the types tree-sitter
// reports, on real code and on the broken code of someone typing. Calls take their callee from the dotted name at
// their start (context.ts dottedCallHead), which must be the call's function node.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Node, Tree } from 'web-tree-sitter';
import { dottedCallHead, INDEXED_TYPES, indexedTypes } from '../../server/src/python/context';
import { initPythonParser, parsePython } from '../../server/src/python/parser';
import { callArgs } from '../../server/src/python/syntax';
import { FIXTURES, ROOT, rng } from '../helpers';

/** Constructs where a call and an assignment start together, keywords that look like names, and the like. */
const TRICKY = `
import torch, torch.nn as nn
from torch import (nn,
    Tensor)
@torch.no_grad()
@decorate
class classify(nn.Module):  # a class named like a keyword prefix
    if_ready: bool = True
    def define(self, x, *args, from_=1, **kw):
        f(x).y = 1
        f(x)(y)[0] = g(h(z))
        a, b = c(d), e
        self.w: torch.Tensor = nn.Parameter(torch.zeros(3))
        (p, q) = [r(), s()]
        *first, last = t()
        x[k(0)] = v(k = 1, j == 2, m := 3, **kw)
        async_ = await_(1)
        for_each(x); while_(y); import_(z)
        print (x) if x else y
        lambda_ = lambda: f()
        "sep".join(str(i) for i in range(3))
        u = f"{fmt(x)!r:>{width(y)}}"
        for i in r(3):
            while cond(i): pass
            if check(i) == 1: break
        return fn(
            # a comment among the arguments
            x=1, y ==2, z=3)
    async def run(self):
        async for x in aiter(y):
            await go(x)
`;

function corpus(): Array<[string, string]> {
  const files: Array<[string, string]> = [['tricky.py', TRICKY]];
  const dirs = [join(ROOT, 'examples'), join(FIXTURES), '/usr/lib/python3/dist-packages/torchvision/models'];
  for (const dir of dirs) {
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.py')).sort().slice(0, 12)) files.push([f, readFileSync(join(dir, f), 'utf8')]);
  }
  // Typing leaves code broken: cut each file short and drop characters here and there (seeded).
  const random = rng(7);
  const broken: Array<[string, string]> = [];
  for (const [name, text] of files) {
    for (let k = 0; k < 3; k++) {
      let t = text.slice(0, Math.floor(random() * text.length));
      for (let d = 0; d < 8 && t.length > 1; d++) {
        const at = Math.floor(random() * t.length);
        t = t.slice(0, at) + t.slice(at + 1 + Math.floor(random() * 3));
      }
      broken.push([`${name} (broken ${k})`, t]);
    }
  }
  return [...files, ...broken];
}

/** Parses each corpus file and hands its tree to `visit` (freed afterwards). */
async function eachTree(visit: (name: string, text: string, tree: Tree) => void): Promise<void> {
  const parser = await initPythonParser();
  for (const [name, text] of corpus()) {
    const tree = parsePython(parser, text);
    try {
      visit(name, text, tree);
    } finally {
      tree.delete();
    }
  }
}

test('indexed node types read from the source match tree-sitter, on real and broken code', async () => {
  let checked = 0;
  let fromText = 0;
  await eachTree((name, text, tree) => {
    const nodes = tree.rootNode.descendantsOfType([...INDEXED_TYPES]);
    // Count the wasm reads indexedTypes still makes: the saving is the point.
    let reads = 0;
    for (const n of nodes) {
      const proto = Object.getPrototypeOf(n) as object;
      const getter = Object.getOwnPropertyDescriptor(proto, 'type')!.get!;
      Object.defineProperty(n, 'type', { get: () => (reads++, getter.call(n) as string) });
    }
    const types = indexedTypes(nodes, text);
    const truth = nodes.map((n) => Object.getOwnPropertyDescriptor(Object.getPrototypeOf(n), 'type')!.get!.call(n) as string);
    for (let i = 0; i < nodes.length; i++) {
      assert.equal(types[i], truth[i], `${name}: node at ${nodes[i]!.startIndex} (${JSON.stringify(text.slice(nodes[i]!.startIndex, nodes[i]!.startIndex + 30))})`);
    }
    checked += nodes.length;
    fromText += nodes.length - reads;
  });
  assert.ok(checked > 2000, `only ${checked} nodes checked`);
  // Most types come from the text (a call into wasm saved each); the shared starts and `async` are read.
  assert.ok(fromText > checked * 0.8, `${fromText} of ${checked} types read from the text`);
});

test('call arguments: keywords and positionals from the source match the argument nodes\' types', async () => {
  let calls = 0;
  let keywordHeads = 0;
  await eachTree((name, text, tree) => {
    const intact = !name.includes('(broken');
    for (const call of tree.rootNode.descendantsOfType('call')) {
      const got = callArgs(call);
      const list = call.childForFieldName('arguments');
      const expected = { keywords: [] as string[], positional: [] as number[] };
      if (list?.type === 'argument_list') {
        for (const arg of list.namedChildren as Node[]) {
          // Even in broken code, an argument that reads `name = ...` is a keyword argument: callArgs takes
          // that from the text without asking.
          if (/^[A-Za-z_]\w*\s*=(?!=)/.test(text.slice(arg.startIndex, arg.startIndex + 64))) {
            assert.equal(arg.type, 'keyword_argument', `${name}: ${JSON.stringify(arg.text.slice(0, 40))}`);
            keywordHeads++;
          }
          if (arg.type === 'keyword_argument') {
            const key = arg.childForFieldName('name')?.text;
            if (key !== undefined) expected.keywords.push(key);
          } else if (!['comment', 'list_splat', 'dictionary_splat'].includes(arg.type)) {
            expected.positional.push(arg.startIndex);
          }
        }
      }
      if (!intact) continue;
      const where = `${name}: ${JSON.stringify(call.text.slice(0, 60))}`;
      assert.deepEqual([...got.keywords.keys()].sort(), [...new Set(expected.keywords)].sort(), where);
      assert.deepEqual(got.positional.map((n) => n.startIndex), expected.positional, where);
      calls++;
    }
  });
  assert.ok(calls > 1000, `only ${calls} calls checked`);
  assert.ok(keywordHeads > 500, `only ${keywordHeads} keyword arguments checked`);
});

test('callees from the dotted name at a call\'s start match the call\'s function node, on real and broken code', async () => {
  let fromHead = 0;
  let calls = 0;
  await eachTree((name, text, tree) => {
    const all = tree.rootNode.descendantsOfType('call');
    for (let k = 0; k < all.length; k++) {
      const call = all[k]!;
      calls++;
      // Only the innermost of the calls sharing a start takes its callee from the head (context.ts).
      if (k + 1 < all.length && all[k + 1]!.startIndex === call.startIndex) continue;
      const head = dottedCallHead(text, call.startIndex);
      if (head === undefined) continue;
      const fn = call.childForFieldName('function');
      const where = `${name}: ${JSON.stringify(text.slice(call.startIndex, call.startIndex + 60))}`;
      assert.ok(fn, where);
      assert.equal(fn.startIndex, call.startIndex, where);
      assert.equal(fn.text.replace(/\s+/g, ''), head, where);
      assert.equal(text[call.childForFieldName('arguments')!.startIndex], '(', where);
      fromHead++;
    }
  });
  assert.ok(fromHead > 2000, `only ${fromHead} callees checked`);
  assert.ok(fromHead > calls * 0.6, `${fromHead} of ${calls} callees came from the head`);
});
