import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findingsOf, py } from './analyze';

test('ANE046 flags CPU_ONLY in ct.convert and CPU_AND_GPU in ct.models.MLModel', async () => {
  const f = await findingsOf('ANE046', py(
    'import coremltools as ct',
    'a = ct.convert(m, compute_units=ct.ComputeUnit.CPU_ONLY)',
    'b = ct.models.MLModel("m.mlpackage", compute_units=ct.ComputeUnit.CPU_AND_GPU)',
  ));
  assert.equal(f.length, 2);
  assert.equal(f[0]!.severity, 'warning');
  assert.match(f[0]!.message, /ct\.convert excludes the Neural Engine \(CPU_ONLY\)/);
  assert.match(f[1]!.message, /ct\.models\.MLModel excludes the Neural Engine \(CPU_AND_GPU\)/);
  assert.equal(f[1]!.line, 3);
});

test('ANE046 resolves `from coremltools import ComputeUnit`', async () => {
  const f = await findingsOf('ANE046', py(
    'from coremltools import ComputeUnit, convert',
    'convert(m, compute_units=ComputeUnit.CPU_AND_GPU)',
  ));
  assert.equal(f.length, 1);
});

test('ANE046 is silent for ALL and CPU_AND_NE', async () => {
  const f = await findingsOf('ANE046', py(
    'import coremltools as ct',
    'ct.convert(m, compute_units=ct.ComputeUnit.ALL)',
    'ct.models.MLModel("m.mlpackage", compute_units=ct.ComputeUnit.CPU_AND_NE)',
  ));
  assert.deepEqual(f, []);
});
