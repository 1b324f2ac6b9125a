import assert from 'node:assert/strict';
import { test } from 'node:test';
import { analyzePython, analyzePythonDocument, findRunTargets } from '../../server/src/python/analyzePython';

const ODD_INPUTS: Array<[string, string]> = [
  ['empty', ''],
  ['partial call', 'import torch.nn as nn\nx = nn.LSTM(4,\n'],
  ['unclosed class', 'import torch.nn as nn\nclass A(nn.Module\n    def f(self'],
  ['syntax soup', ')))(((:::\n\tdef def class import from as\n@@@\n'],
  ['binary-ish', String.fromCharCode(...Array.from({ length: 2000 }, (_, i) => (i * 7919) % 65536).filter((c) => c < 0xd800 || c > 0xdfff))],
  ['lone surrogates and NUL', 'x = "\ud800"\u0000\udfff import torch.nn as nn\nnn.LSTM(1, 2)'],
  ['BOM and CRLF', '\ufeffimport torch.nn as nn\r\nclass A(nn.Module):\r\n    pass\r\nnn.GRU(1, 2)\r\n'],
  ['deep nesting', `${'('.repeat(3000)}1${')'.repeat(3000)}`],
  ['only a pragma', '# ane: inputs=(('],
];

test('odd and broken input never throws and still finds what it can', async () => {
  for (const [label, text] of ODD_INPUTS) {
    const errors: unknown[] = [];
    const findings = await analyzePython(text, 'odd.py', { onRuleError: (_id, e) => errors.push(e) });
    assert.ok(Array.isArray(findings), label);
    assert.deepEqual(errors, [], label);
    for (const f of findings) assert.ok(f.line >= 1 && f.column >= 1 && f.endLine >= f.line, label);
    await findRunTargets(text);
  }
  // The partial call still yields the LSTM finding through tree-sitter's error recovery.
  const partial = await analyzePython('import torch.nn as nn\nrnn = nn.LSTM(4, 8)\nclass Broken(nn.Module\n', 'p.py');
  assert.ok(partial.some((f) => f.rule === 'ANE026' && f.line === 2));
  const crlf = await analyzePython(ODD_INPUTS[6]![1], 'c.py');
  assert.deepEqual(crlf.filter((f) => f.rule === 'ANE026').map((f) => [f.line, f.column]), [[4, 1]]);
});

test('a 1 MB file is analysed without crashing, in reasonable time', async () => {
  const block = [
    'import torch.nn as nn',
    'import coremltools as ct',
    'class Block{i}(nn.Module):',
    '    def __init__(self):',
    '        super().__init__()',
    '        self.norm = nn.LayerNorm(768, eps=1e-12)',
    '        self.fc = nn.Linear(768, 3072)',
    '        self.rnn = nn.GRU(8, 8)',
    '    def forward(self, x):',
    '        B, S, C = x.shape',
    '        return self.fc(self.norm(x))',
    '',
  ].join('\n');
  const parts: string[] = [];
  let size = 0;
  for (let i = 0; size < 1024 * 1024; i++) {
    const chunk = block.replace('{i}', String(i));
    parts.push(chunk);
    size += chunk.length;
  }
  const text = parts.join('\n');
  const started = performance.now();
  const result = await analyzePythonDocument(text, 'big.py');
  const wall = performance.now() - started;
  const blocks = parts.length;
  assert.equal(result.findings.filter((f) => f.rule === 'ANE026').length, blocks);
  assert.equal(result.findings.filter((f) => f.rule === 'ANE021').length, blocks);
  assert.equal(result.targets.classes.length, blocks);
  // Generous bound for a 2-core CI box; the measured figure is printed for the report.
  assert.ok(wall < 20_000, `took ${wall.toFixed(0)} ms`);
  console.log(`# 1 MB (${blocks} classes): parse ${result.parseMs.toFixed(0)} ms, rules ${result.analyzeMs.toFixed(0)} ms, wall ${wall.toFixed(0)} ms`);
});
