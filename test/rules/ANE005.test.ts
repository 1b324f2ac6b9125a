import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findingsOf, py } from './analyze';

test('ANE005 flags nn.LayerNorm(eps=1e-12) and says it rounds to 0 in fp16', async () => {
  const f = await findingsOf('ANE005', py('import torch.nn as nn', 'ln = nn.LayerNorm(768, eps=1e-12)'));
  assert.equal(f.length, 1);
  assert.equal(f[0]!.severity, 'warning');
  assert.deepEqual([f[0]!.line, f[0]!.column, f[0]!.endColumn], [2, 24, 33]);
  assert.match(f[0]!.message, /nn\.LayerNorm eps=1e-12 rounds to 0 in fp16/);
});

test('ANE005 evaluates 10**-12, 1.0E-12, a positional eps, float("1e-12") and a named constant', async () => {
  const sources = [
    py('from torch import nn', 'nn.LayerNorm(768, eps=10**-12)'),
    py('from torch import nn', 'nn.LayerNorm(768, eps=1.0E-12)'),
    py('from torch.nn import LayerNorm', 'LayerNorm(768, 1e-12)'),
    py('import torch', 'torch.nn.LayerNorm(768, eps=float("1e-12"))'),
    py('import torch.nn as nn', 'EPS = 1e-12', 'nn.LayerNorm(768, eps=EPS)'),
    py('import torch.nn.functional as F', 'y = F.layer_norm(x, (768,), None, None, 1e-12)'),
    py('from torch.nn import functional as F', 'y = F.layer_norm(x, (768,), eps=1e-10)'),
  ];
  for (const source of sources) assert.equal((await findingsOf('ANE005', source)).length, 1, source);
});

test('ANE005 reports the fp16 subnormal an eps just under the threshold becomes', async () => {
  const f = await findingsOf('ANE005', py('import torch.nn as nn', 'nn.LayerNorm(8, eps=5e-8)'));
  assert.equal(f.length, 1);
  assert.match(f[0]!.message, /becomes the fp16 subnormal 5\.96e-8/);
});

test('ANE005 is silent for safe or unknown eps', async () => {
  const f = await findingsOf('ANE005', py(
    'import torch.nn as nn',
    'a = nn.LayerNorm(768)',
    'b = nn.LayerNorm(768, eps=1e-5)',
    'c = nn.LayerNorm(768, eps=1e-7)',
    'd = nn.LayerNorm(768, eps=config.layer_norm_eps)',
    'e = MyNorm(768, eps=1e-12)',
  ));
  assert.deepEqual(f, []);
});
