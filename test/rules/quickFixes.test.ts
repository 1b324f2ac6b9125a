// The mechanical quick fixes: applying each one's edit to the source removes its finding.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { analyzePythonDocument } from '../../server/src/python/analyzePython';
import { moduleSource as M, py } from './analyze';

const CT = ['import coremltools as ct', 'import numpy as np'];

const CASES: Array<{ rule: string; src: string; expect: string; preferred?: boolean }> = [
  { rule: 'ANE001', src: py(...CT, 'm = ct.convert(t, compute_precision=ct.precision.FLOAT32)'), expect: 'compute_precision=ct.precision.FLOAT16' },
  { rule: 'ANE002', src: M([], ['m = (x > 0).float()', 'return x * m']), expect: 'm = (x > 0).to(x.dtype)' },
  { rule: 'ANE002', src: M([], ['b = torch.zeros(4, dtype=torch.float32)', 'return x + b']), expect: 'torch.zeros(4, dtype=x.dtype)' },
  { rule: 'ANE005', src: M(['self.n = nn.LayerNorm(64, eps=1e-12)']), expect: 'nn.LayerNorm(64, eps=1e-5)' },
  { rule: 'ANE005', src: M([], ['return x.masked_fill(x > 0, float("-inf"))']), expect: 'x.masked_fill(x > 0, -1e4)' },
  { rule: 'ANE006', src: py('import coremltools as ct', 'c = ct.optimize.coreml.OpLinearQuantizerConfig(granularity="per_block")'), expect: 'granularity="per_channel"' },
  { rule: 'ANE008', src: py(...CT, 'm = ct.convert(t, inputs=[ct.TensorType(name="x", shape=(1, 3, 8, 8))])'), expect: 'ct.TensorType(name="x", shape=(1, 3, 8, 8), dtype=np.float16)' },
  { rule: 'ANE021', src: M(['self.q = nn.Linear(512, 512, bias=False)'], ['B, S, C = x.shape', 'return self.q(x)']), expect: 'nn.Conv2d(512, 512, kernel_size=1, bias=False)', preferred: false },
  { rule: 'ANE035', src: M([], ['return F.interpolate(x, scale_factor=2, mode="bicubic")']), expect: 'mode="bilinear"' },
  { rule: 'ANE044', src: M(['self.c = nn.Conv2d(3, 8, 3, padding=1, padding_mode="reflect")']), expect: 'padding_mode="zeros"' },
  { rule: 'ANE046', src: py(...CT, 'm = ct.convert(t, compute_units=ct.ComputeUnit.CPU_ONLY)'), expect: 'ct.ComputeUnit.CPU_AND_NE' },
  { rule: 'ANE047', src: py(...CT, 'm = ct.convert(t, convert_to="neuralnetwork")'), expect: 'convert_to="mlprogram"' },
];

function apply(text: string, r: { line: number; column: number; endLine: number; endColumn: number }, newText: string): string {
  const lines = text.split('\n');
  const offset = (line: number, col: number) => lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0) + col - 1;
  return text.slice(0, offset(r.line, r.column)) + newText + text.slice(offset(r.endLine, r.endColumn));
}

for (const c of CASES) {
  test(`quick fix for ${c.rule}: ${c.expect}`, async () => {
    const before = await analyzePythonDocument(c.src, 'q.py');
    const fix = before.fixes.find((f) => f.finding.rule === c.rule);
    assert.ok(fix, `${c.rule} has a fix; findings: ${JSON.stringify(before.findings.map((f) => f.rule))}`);
    assert.equal(fix.preferred, c.preferred ?? true);
    const fixed = apply(c.src, fix.range, fix.newText);
    assert.ok(fixed.includes(c.expect), fixed);
    const after = await analyzePythonDocument(fixed, 'q.py');
    if (c.rule !== 'ANE021') assert.deepEqual(after.findings.filter((f) => f.rule === c.rule), [], fixed);
  });
}

test('quick fixes cover at least 8 rules', () => {
  assert.ok(new Set(CASES.map((c) => c.rule)).size >= 8);
});
