import assert from 'node:assert/strict';
import { test } from 'node:test';
import { analyzePython } from '../../server/src/python/analyzePython';
import { ignoreEdit } from '../../server/src/python/suppressions';
import { py } from './analyze';

const rules = async (src: string) => (await analyzePython(src, 's.py')).map((f) => `${f.line}:${f.rule}`);

test('# ane: ignore[...] silences the listed rules on its line only', async () => {
  const src = py(
    'import torch.nn as nn',
    'a = nn.LSTM(4, 8)  # ane: ignore[ANE026]',
    'b = nn.LSTM(4, 8)  # ane: ignore[ane005, ANE026 ]',
    'c = nn.LSTM(4, 8)  # ane: ignore[ANE005]',
    'd = nn.LSTM(4, 8)',
  );
  assert.deepEqual(await rules(src), ['4:ANE026', '5:ANE026']);
});

test('bare # ane: ignore silences every rule on the line, also on the last line of a multi-line call', async () => {
  const src = py('import torch.nn as nn', 'a = nn.LSTM(4, 8)  # ane: ignore', 'b = nn.LSTM(', '    4, 8)  # ane: ignore', 'c = nn.GRU(4, 8)');
  assert.deepEqual(await rules(src), ['5:ANE026']);
});

test('# ane: ignore-file and # ane: ignore-file[RULE] on their own line', async () => {
  const body = ['import torch.nn as nn', 'a = nn.LSTM(4, 8)', 'n = nn.LayerNorm(8, eps=1e-12)'];
  assert.deepEqual(await rules(py('# ane: ignore-file', ...body)), []);
  assert.deepEqual(await rules(py('# ane: ignore-file[ANE026]', ...body)), ['4:ANE005']);
  // A trailing ignore-file after code is not file-wide (it would be too easy to silence a file by accident).
  assert.deepEqual(await rules(py(...body.slice(0, 2), 'x = 1  # ane: ignore-file', body[2]!)), ['2:ANE026', '4:ANE005']);
});

test('ignore comments are not reported as misplaced # ane: pragmas', async () => {
  const src = py('import torch.nn as nn', '# ane: ignore-file[ANE005]', 'a = nn.LSTM(4, 8)  # ane: ignore[ANE026]');
  assert.deepEqual(await rules(src), []);
});

test('ignoreEdit appends a comment or extends the existing list', () => {
  assert.deepEqual(ignoreEdit('x = nn.LSTM(4, 8)   ', 'ANE026'), { start: 17, end: 20, newText: '  # ane: ignore[ANE026]' });
  const line = 'x = nn.LSTM(4, 8)  # ane: ignore[ANE005]';
  const e = ignoreEdit(line, 'ANE026');
  assert.equal(line.slice(0, e.start) + e.newText + line.slice(e.end), 'x = nn.LSTM(4, 8)  # ane: ignore[ANE005, ANE026]');
  const empty = 'x = 1  # ane: ignore[]';
  const e2 = ignoreEdit(empty, 'ANE026');
  assert.equal(empty.slice(0, e2.start) + e2.newText + empty.slice(e2.end), 'x = 1  # ane: ignore[ANE026]');
});
