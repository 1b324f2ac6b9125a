import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findingsOf, py } from './analyze';

test('ANE015 flags a bounded RangeDim and names its bounds and default', async () => {
  const f = await findingsOf('ANE015', py(
    'import coremltools as ct',
    'shape = ct.Shape(shape=(1, ct.RangeDim(lower_bound=16, upper_bound=512, default=128), 768))',
  ));
  assert.equal(f.length, 1);
  assert.equal(f[0]!.severity, 'warning');
  assert.match(f[0]!.message, /ct\.RangeDim\(16…512\): only the default size \(128\) runs on the Neural Engine/);
});

test('ANE015 gives an unbounded RangeDim a sharper message', async () => {
  const f = await findingsOf('ANE015', py('from coremltools import RangeDim', 'd = RangeDim(1)'));
  assert.equal(f.length, 1);
  assert.match(f[0]!.message, /^Unbounded ct\.RangeDim\(lower_bound=1, upper_bound=-1\): ML programs reject unbounded ranges/);
});

test('ANE015 is silent for fixed shapes and EnumeratedShapes', async () => {
  const f = await findingsOf('ANE015', py(
    'import coremltools as ct',
    'a = ct.TensorType(shape=(1, 128, 768))',
    'b = ct.EnumeratedShapes(shapes=[(1, 64), (1, 128)], default=(1, 128))',
    'def RangeDim(*a): pass',
    'c = RangeDim(1, 10)',
  ));
  assert.deepEqual(f, []);
});
