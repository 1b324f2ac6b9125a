import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePragmaLine } from '../../server/src/python/pragmas';
import { findingsOf, py } from './analyze';

test('pragma parser accepts inputs with several shapes, module, and both', () => {
  assert.deepEqual(parsePragmaLine('# ane: inputs=(1, 3, 224, 224), (1, 128)'), { ok: true, value: { inputs: [[1, 3, 224, 224], [1, 128]] } });
  assert.deepEqual(parsePragmaLine('#ane:module=Net'), { ok: true, value: { module: 'Net' } });
  assert.deepEqual(parsePragmaLine('    # ane: module=Net, inputs=[1,8]'), { ok: true, value: { module: 'Net', inputs: [[1, 8]] } });
  assert.deepEqual(parsePragmaLine('# ane: inputs=(1, 8), module=Net'), { ok: true, value: { inputs: [[1, 8]], module: 'Net' } });
  assert.equal(parsePragmaLine('# a normal comment'), undefined);
});

test('pragma parser rejects malformed pragmas with a message at the bad token', () => {
  const cases: Array<[string, RegExp, number]> = [
    ['# ane: inputs=(1, 3, x)', /expected a dimension/, 21],
    ['# ane: inputs=(1, 0)', /dimension `0` must be a positive integer/, 18],
    ['# ane: inputs=(1, 2.5)', /dimension `2\.5` must be a positive integer/, 18],
    ['# ane: inputs=(1, 3', /unclosed shape/, 14],
    ['# ane: inputs=()', /at least one dimension/, 15],
    ['# ane: input=(1, 3)', /unknown pragma key `input`/, 7],
    ['# ane: inputs (1, 3)', /expected `=` after `inputs`/, 14],
    ['# ane:', /empty `# ane:` pragma/, 6],
    ['# ane: inputs=1, 3', /expected a shape like/, 14],
    ['# ane: inputs=(1,), inputs=(2,)', /`inputs` is given twice/, 20],
  ];
  for (const [line, message, start] of cases) {
    const parsed = parsePragmaLine(line);
    assert.ok(parsed && !parsed.ok, line);
    assert.match(parsed.error.message, message, line);
    assert.equal(parsed.error.start, start, line);
  }
});

test('a malformed pragma is an ANE-PRAGMA error; a detached one is a warning', async () => {
  const f = await findingsOf('ANE-PRAGMA', py(
    'import torch.nn as nn',
    '# ane: inputs=(1, -3)',
    'class A(nn.Module):',
    '    pass',
    '',
    '# ane: inputs=(1, 3)',
    '',
    'x = 1',
  ));
  assert.equal(f.length, 2);
  assert.deepEqual([f[0]!.line, f[0]!.column, f[0]!.severity], [2, 19, 'error']);
  assert.match(f[0]!.message, /dimension `-3` must be a positive integer/);
  assert.deepEqual([f[1]!.line, f[1]!.severity], [6, 'warning']);
  assert.match(f[1]!.message, /has no effect/);
});
