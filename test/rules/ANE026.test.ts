import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findingsOf, py } from './analyze';

test('ANE026 flags nn.LSTM via `import torch.nn as nn` with the exact range', async () => {
  const f = await findingsOf('ANE026', py(
    'import torch.nn as nn',
    'class M(nn.Module):',
    '    def __init__(self):',
    '        super().__init__()',
    '        self.rnn = nn.LSTM(128, 256, batch_first=True)',
  ));
  assert.equal(f.length, 1);
  assert.deepEqual([f[0]!.line, f[0]!.column, f[0]!.endLine, f[0]!.endColumn], [5, 20, 5, 55]);
  assert.equal(f[0]!.severity, 'error');
  assert.match(f[0]!.message, /^LSTM \(`nn\.LSTM\(128, 256, batch_first=True\)`\) has no Neural Engine path/);
});

test('ANE026 resolves every alias form', async () => {
  const cases: Array<[string, string]> = [
    ['import torch', 'torch.nn.GRU(4, 8)'],
    ['from torch import nn', 'nn.RNN(4, 8)'],
    ['from torch.nn import LSTMCell', 'LSTMCell(4, 8)'],
    ['from torch.nn import GRUCell as Cell', 'Cell(4, 8)'],
    ['import torch.nn', 'torch.nn.RNNCell(4, 8)'],
    ['from torch.nn.modules.rnn import LSTM', 'LSTM(4, 8)'],
    ['from torch.nn import *', 'LSTM(4, 8)'],
  ];
  for (const [imp, expr] of cases) {
    const f = await findingsOf('ANE026', py(imp, `layer = ${expr}`));
    assert.equal(f.length, 1, `${imp} / ${expr}`);
    assert.equal(f[0]!.line, 2);
  }
});

test('ANE026 ignores a user class named LSTM and names that are not torch', async () => {
  const f = await findingsOf('ANE026', py(
    'import torch.nn as nn',
    'from mylib import GRU',
    'class LSTM(nn.Module):',
    '    pass',
    'a = LSTM(4, 8)',
    'b = GRU(4, 8)',
    'c = other.nn.LSTM(4, 8)',
  ));
  assert.deepEqual(f, []);
});

test('ANE026 flags a class that subclasses nn.GRU', async () => {
  const f = await findingsOf('ANE026', py('from torch import nn', 'class MyGRU(nn.GRU):', '    pass'));
  assert.equal(f.length, 1);
  assert.match(f[0]!.message, /MyGRU.*GRU/);
});

test('ANE026 columns count UTF-16 code units, like the editor (non-ASCII and astral characters before the call)', async () => {
  const f = await findingsOf('ANE026', py('import torch.nn as nn', 's = "héllo😀"; r = nn.LSTM(1, 2)'));
  assert.equal(f.length, 1);
  // 's = "héllo😀"; r = ' is 19 UTF-16 units (é is 1, 😀 is 2), so the call starts at column 20.
  assert.deepEqual([f[0]!.column, f[0]!.endColumn], [20, 33]);
});
