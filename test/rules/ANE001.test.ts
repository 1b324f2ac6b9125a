import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findingsOf, py } from './analyze';

test('ANE001 flags compute_precision=ct.precision.FLOAT32', async () => {
  const f = await findingsOf('ANE001', py(
    'import coremltools as ct',
    'm = ct.convert(traced, convert_to="mlprogram", compute_precision=ct.precision.FLOAT32)',
  ));
  assert.equal(f.length, 1);
  assert.equal(f[0]!.severity, 'error');
  assert.equal(f[0]!.line, 2);
  assert.equal(f[0]!.column, 48);
  assert.match(f[0]!.message, /compute_precision=ct\.precision\.FLOAT32/);
});

test('ANE001 resolves `from coremltools import precision`, deep imports and a variable', async () => {
  const sources = [
    py('import coremltools as ct', 'from coremltools import precision', 'ct.convert(m, compute_precision=precision.FLOAT32)'),
    py('import coremltools', 'coremltools.converters.convert(m, compute_precision=coremltools.precision.FLOAT32)'),
    py('from coremltools import convert, precision as P', 'convert(m, compute_precision=P.FLOAT32)'),
    py('import coremltools as ct', 'p = ct.precision.FLOAT32', 'ct.convert(m, compute_precision=p)'),
  ];
  for (const source of sources) assert.equal((await findingsOf('ANE001', source)).length, 1, source);
});

test('ANE001 is silent for FLOAT16, the default, and a look-alike API', async () => {
  const sources = [
    py('import coremltools as ct', 'ct.convert(m, compute_precision=ct.precision.FLOAT16)'),
    py('import coremltools as ct', 'ct.convert(m)'),
    py('import mytools as ct', 'ct.convert(m, compute_precision=ct.precision.FLOAT32)'),
  ];
  for (const source of sources) assert.deepEqual(await findingsOf('ANE001', source), [], source);
});
