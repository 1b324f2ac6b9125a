import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyRunArgument, lensForCursor, modelRunTarget } from '../../client/src/runArgs';
import type { RunLensArgs } from '../../common/commands';

test('classifyRunArgument: lens args, URIs, nothing, and garbage', () => {
  const lens: RunLensArgs = { uri: 'file:///ws/model.py', line: 12, kind: 'module', className: 'Net', inputShapes: [[1, 3, 224, 224]], pragmaLine: 11 };
  assert.deepEqual(classifyRunArgument(lens), { kind: 'lens', args: lens });
  const uri = { scheme: 'file', fsPath: '/ws/resnet.onnx', path: '/ws/resnet.onnx', extra: 1 };
  assert.deepEqual(classifyRunArgument(uri), { kind: 'uri', uri });
  assert.deepEqual(classifyRunArgument(undefined), { kind: 'active' });
  for (const [bad, why] of [
    [{ uri: 'file:///a.py', line: 0, kind: 'module' }, /line/],
    [{ uri: 'file:///a.py', line: 3, kind: 'class' }, /kind/],
    [{ uri: 'file:///a.py', line: 3, kind: 'module', inputShapes: [[1, -3]] }, /inputShapes/],
    [{ uri: 'file:///a.py', line: 3, kind: 'convert', reason: 5 }, /reason/],
    ['file:///a.onnx', /not an object/],
  ] as const) {
    const result = classifyRunArgument(bad);
    assert.equal(result.kind, 'invalid');
    if (result.kind === 'invalid') assert.match(result.message, why);
  }
});

test('lensForCursor picks the nearest lens at or above the cursor', () => {
  const lens = (line: number): RunLensArgs => ({ uri: 'file:///m.py', line, kind: 'module', className: `C${line}` });
  const lenses = [lens(30), lens(5), lens(18)];
  assert.equal(lensForCursor(lenses, 20)?.line, 18);
  assert.equal(lensForCursor(lenses, 18)?.line, 18);
  assert.equal(lensForCursor(lenses, 99)?.line, 30);
  assert.equal(lensForCursor(lenses, 2)?.line, 5, 'cursor above every class: the first one');
  assert.equal(lensForCursor([], 3), undefined);
  assert.deepEqual(modelRunTarget('/a/B.ONNX'), { kind: 'onnx', path: '/a/B.ONNX' });
  assert.deepEqual(modelRunTarget('/a/m.mlpackage'), { kind: 'coreml', path: '/a/m.mlpackage' });
  assert.deepEqual(modelRunTarget('/a/m.mlmodel'), { kind: 'coreml', path: '/a/m.mlmodel' });
  assert.deepEqual(modelRunTarget('/a/c.mlmodelc/model.mil'), { kind: 'coreml', path: '/a/c.mlmodelc/model.mil' });
  assert.equal(modelRunTarget('/a/b.onnx.txt'), undefined);
});
