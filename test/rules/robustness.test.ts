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

test('non-UTF-8 bytes decode like Python: PEP 263 cookie, BOM, invalid bytes as U+FFFD', async () => {
  const { decodePythonSource } = await import('../../server/src/python/sourceText');
  const latin1 = Buffer.concat([Buffer.from('# -*- coding: latin-1 -*-\n# caf'), Buffer.from([0xe9]), Buffer.from('\nimport torch.nn as nn\nr = nn.LSTM(4, 8)\n')]);
  const text = decodePythonSource(latin1);
  assert.match(text, /café/);
  assert.deepEqual((await analyzePython(text, 'l.py')).map((f) => [f.rule, f.line]), [['ANE026', 4]]);
  const broken = Buffer.concat([Buffer.from('import torch.nn as nn\n# '), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('\nr = nn.GRU(4, 8)\n')]);
  const t2 = decodePythonSource(broken);
  assert.ok(t2.includes('\ufffd'));
  assert.deepEqual((await analyzePython(t2, 'b.py')).map((f) => [f.rule, f.line]), [['ANE026', 3]]);
  assert.equal(decodePythonSource(Buffer.from('\ufeffx = 1\n')), 'x = 1\n');
  assert.equal(decodePythonSource(Buffer.from('# coding: no-such-codec\nx = 1\n')), '# coding: no-such-codec\nx = 1\n');
});

test('very long lines and incomplete code while typing: every rule survives, findings keep valid ranges', async () => {
  const long = `import torch.nn as nn\nx = [${'1, '.repeat(100_000)}]\nr = nn.LSTM(4, 8)  ${'#'.repeat(50_000)}\n`;
  const errors: unknown[] = [];
  const f = await analyzePython(long, 'long.py', { onRuleError: (_id, e) => errors.push(e) });
  assert.deepEqual(errors, []);
  assert.deepEqual(f.map((x) => [x.rule, x.line]), [['ANE026', 3]]);
  // Every prefix of a model being typed, character by character at the interesting spots.
  const model = [
    'import torch', 'import torch.nn as nn', 'import torch.nn.functional as F', 'import coremltools as ct',
    'class M(nn.Module):', '    def __init__(self):', '        super().__init__()',
    '        self.c = nn.Conv2d(48, 96, (1, 31), stride=5, dilation=12, groups=5, padding_mode="reflect")',
    '    def forward(self, x):', '        x = x.view(1, 2, 3, 4, 5, 6).permute(0, 2, 3, 1)',
    '        x[x > 0] = float("-inf")', '        return F.interpolate(x ** 2, scale_factor=1.5, mode="bicubic")',
    'm = ct.convert(t, inputs=[ct.TensorType(shape=(1, 512, 64, 1))], states=[ct.StateType(wrapped_type=ct.TensorType(shape=(1, 270)))])',
  ].join('\n');
  for (let end = 0; end <= model.length; end += 7) {
    const errs: string[] = [];
    await analyzePython(model.slice(0, end), 'typing.py', { onRuleError: (id, e) => errs.push(`${id}: ${String(e)}`) });
    assert.deepEqual(errs, [], `prefix of ${end} chars`);
  }
});
