// Text scans that stand in for regexes or whole-file splits on the analysis's hot path: each must find
// exactly what the simple form finds, or rules would silently change.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { lineAt, lineStarts } from '../../server/src/python/blocks';
import { selfProducts } from '../../server/src/python/rules/precision';
import { numericLiteralValue } from '../../server/src/python/values';
import { initPythonParser, parsePython } from '../../server/src/python/parser';
import { callArgs } from '../../server/src/python/syntax';
import { ROOT } from '../helpers';

const SELF_PRODUCT = /(?<![\w.])([A-Za-z_][\w.]*)\s*\*\s*\1(?![\w.(\[])/g;

function byRegex(text: string): number[] {
  const out: number[] = [];
  SELF_PRODUCT.lastIndex = 0;
  for (let m = SELF_PRODUCT.exec(text); m; m = SELF_PRODUCT.exec(text)) out.push(m.index);
  return out;
}

test('selfProducts finds the `a * a` products the regex finds, at the same offsets', () => {
  const cases: Array<[string, number[]]> = [
    ['y = x*x', [4]],
    ['y = x * x + 1', [4]],
    ['y = self.h * self.h', [4]],
    ['y = x *\n  x', [4]],
    ['y = x*xy', []], // a longer name on the right
    ['y = x*x(1)', []], // a call on the right
    ['y = x*x[0]', []], // a subscript on the right
    ['y = x.y*x', []],
    ['y = x**x', []], // power, not a product
    ['y = a**2*a', []],
    ['y = x*x*x', [4]], // matches do not overlap
    ['y = h * h + 2*h*h', [4, 14]],
    ['y = 2x*2x', []], // not a name
    ['', []],
    ['*', []],
    ['x*', []],
  ];
  for (const [text, want] of cases) {
    assert.deepEqual(selfProducts(text), want, text);
    assert.deepEqual(byRegex(text), want, `regex on ${text}`);
  }
  // And on real model code.
  const dirs = [join(ROOT, 'examples'), '/usr/lib/python3/dist-packages/torchvision/models'];
  let files = 0;
  for (const dir of dirs.filter((d) => existsSync(d))) {
    for (const name of readdirSync(dir).filter((n) => n.endsWith('.py'))) {
      const text = readFileSync(join(dir, name), 'utf8');
      assert.deepEqual(selfProducts(text), byRegex(text), name);
      files++;
    }
  }
  assert.ok(files > 0);
});

test('lineAt gives the line without its break, for \\n and \\r\\n files, and "" past the end', () => {
  for (const eol of ['\n', '\r\n']) {
    const text = ['a = 1', '', '# c', 'b = 2'].join(eol);
    const starts = lineStarts(text);
    assert.deepEqual([0, 1, 2, 3].map((r) => lineAt(text, starts, r)), ['a = 1', '', '# c', 'b = 2']);
    assert.equal(lineAt(text, starts, 4), '');
    assert.equal(lineAt(text, starts, -1), '');
  }
  const trailing = 'x\n';
  assert.deepEqual([0, 1].map((r) => lineAt(trailing, lineStarts(trailing), r)), ['x', '']);
});

test('numericLiteralValue reads plain literals the way the tree evaluation does, and leaves the rest to it', () => {
  const values: Array<[string, number | undefined | null]> = [
    ['1e-12', 1e-12], ['1.0E-12', 1e-12], ['-1', -1], ['+3', 3], ['1_000', 1000], ['1.', 1], ['.5', 0.5],
    ['0x1F', 31], ['-0x10', -16], ['0o17', 15], ['0b101', 5], ['-0', -0], ['1e400', undefined],
    ['1j', null], ['(1)', null], ['- 1', null], ['x', null], ['1 + 2', null], ['"1"', null], ['True', null], ['', null],
  ];
  for (const [text, want] of values) assert.equal(numericLiteralValue(text), want, text);
});

test('constants are followed through names, also non-ASCII ones', async () => {
  const { analyzePython } = await import('../../server/src/python/analyzePython');
  for (const name of ['eps', 'größe', 'ε', 'e_ü2']) {
    const src = ['import torch.nn as nn', `${name} = 1e-12`, 'class M(nn.Module):', '    def __init__(self):', '        super().__init__()', `        self.n = nn.LayerNorm(8, eps=${name})`, ''].join('\n');
    const findings = await analyzePython(src, 'm.py');
    assert.ok(findings.some((f) => f.rule === 'ANE005' && f.message.includes('eps=1e-12')), `${name}: ${findings.map((f) => f.message).join(' | ')}`);
  }
});

test('call arguments: keywords (also non-ASCII ones) apart from positionals, splats and comments', async () => {
  const parser = await initPythonParser();
  const src = 'f(64, x, (a), *rest, größe=3, ε = 1e-5, **kw,  # note\n  y == 1, g=h(2))\n';
  const call = parsePython(parser, src).rootNode.descendantsOfType('call')[0]!;
  const args = callArgs(call);
  assert.deepEqual(args.positional.map((n) => n.text), ['64', 'x', '(a)', 'y == 1']);
  assert.deepEqual([...args.keywords].map(([k, v]) => `${k}=${v.value.text}`), ['größe=3', 'ε=1e-5', 'g=h(2)']);
});

test('methods of a module class are the defs directly in its body (not under an if, not in a nested class)', async () => {
  const { analyzePython } = await import('../../server/src/python/analyzePython');
  const src = (opening: string) => ['import torch', 'import torch.nn as nn', '', 'class M(nn.Module):', ...opening ? [opening] : [],
    '    def __init__(self):', '        super().__init__()', '        self.x = torch.ones(3).float()',
    '    if True:', '        def helper(self, x):', '            return x.float()',
    '    @staticmethod', '    def größe(x):', '        return x.float()',
    '    def forward(self, x):', '        class Inner:', '            def f(self, y):', '                return y.float()',
    '        return x.float() + self.helper(x)', ''].join('\n');
  for (const opening of ['', '        # a comment opens the body, deeper than the statements']) {
    const text = src(opening);
    const flagged = (await analyzePython(text, 'm.py')).filter((f) => f.rule === 'ANE002').map((f) => text.split('\n')[f.line - 1]!.trim());
    // In größe and forward; not in __init__, not in the def under `if`, not in Inner.f.
    assert.deepEqual(flagged, ['return x.float()', 'return x.float() + self.helper(x)'], opening);
  }
});

test('class and function names of any script are read whole from the headers', async () => {
  const { collectImportParts } = await import('../../server/src/python/resolve');
  const parser = await initPythonParser();
  const src = 'class Größe(nn.Module):\n    pass\n\ndef größe():\n    pass\n\nasync def π_2[T](x):\n    pass\n\nclass Plain:\n    pass\n';
  const root = parsePython(parser, src).rootNode;
  const nodes = root.descendantsOfType(['class_definition', 'function_definition']);
  assert.deepEqual(collectImportParts(nodes, src).definitions, ['Größe', 'größe', 'π_2', 'Plain']);
});
