import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findingsOf, py } from './analyze';

const ENCODER = py(
  'import torch.nn as nn',
  'import torch.nn.functional as F',
  '',
  'class Block(nn.Module):',
  '    def __init__(self, d_model=768):',
  '        super().__init__()',
  '        self.norm = nn.LayerNorm(d_model)',
  '        self.attn = nn.MultiheadAttention(d_model, 12, batch_first=True)',
  '        self.ffn = FeedForward(d_model)',
  '',
  '    def forward(self, x):',
  '        x = x + self.attn(self.norm(x), x, x)[0]',
  '        return x + self.ffn(x)',
  '',
  'class FeedForward(nn.Module):',
  '    def __init__(self, d):',
  '        super().__init__()',
  '        self.up = nn.Linear(d, 4 * d)',
  '        self.down = nn.Linear(3072, 768, bias=False)',
  '',
  '    def forward(self, x):',
  '        return self.down(F.gelu(self.up(x)))',
);

test('ANE021 flags Linear in a transformer FFN used by a sequence block, naming sizes and the conv fix', async () => {
  const f = await findingsOf('ANE021', ENCODER);
  assert.equal(f.length, 2);
  assert.equal(f[0]!.severity, 'warning');
  assert.equal(f[0]!.line, 18);
  assert.match(f[0]!.message, /^nn\.Linear\(d, 4 \* d\) in sequence module `FeedForward`/);
  assert.match(f[0]!.message, /used by sequence module `Block`/);
  assert.match(f[1]!.message, /nn\.Linear\(3072, 768, bias=False\).*nn\.Conv2d\(3072, 768, kernel_size=1, bias=False\) on \(B, C, 1, S\)/);
});

test('ANE021 finds sequence evidence: (B, S, C) unpacking, view(B, S, ...), transpose(1, 2), seq args, pragma', async () => {
  const bodies: Array<[string, string[]]> = [
    ['unpacking', ['    def forward(self, x):', '        B, S, C = x.shape', '        return self.fc(x)']],
    ['view', ['    def forward(self, x):', '        return self.fc(x).view(b, t, 12, 64)']],
    ['transpose', ['    def forward(self, x):', '        return self.fc(x.transpose(1, 2))']],
    ['seq arg', ['    def forward(self, hidden_states):', '        return self.fc(hidden_states)']],
    ['embedding', ['    def build(self):', '        self.emb = torch.nn.Embedding(1000, 256)']],
  ];
  for (const [label, body] of bodies) {
    const f = await findingsOf('ANE021', py(
      'import torch',
      'class M(torch.nn.Module):',
      '    def __init__(self):',
      '        super().__init__()',
      '        self.fc = torch.nn.Linear(256, 256)',
      ...body,
    ));
    assert.equal(f.length, 1, label);
  }
  const pragma = await findingsOf('ANE021', py(
    'from torch.nn import Module, Linear as L',
    '# ane: inputs=(1, 128, 768)',
    'class Proj(Module):',
    '    def __init__(self):',
    '        super().__init__()',
    '        self.fc = L(768, 768)',
  ));
  assert.equal(pragma.length, 1);
  assert.match(pragma[0]!.message, /rank-3/);
});

test('ANE021 flags F.linear in a sequence module', async () => {
  const f = await findingsOf('ANE021', py(
    'import torch.nn as nn',
    'from torch.nn import functional as F',
    'class Attn(nn.Module):',
    '    def forward(self, tokens):',
    '        return F.linear(tokens, self.w_q)',
  ));
  assert.equal(f.length, 1);
  assert.match(f[0]!.message, /F\.linear\(self\.w_q\).*F\.conv2d/);
});

test('ANE021 does not fire on a CNN classifier head after flatten', async () => {
  const f = await findingsOf('ANE021', py(
    'import torch',
    'import torch.nn as nn',
    'class Net(nn.Module):',
    '    def __init__(self):',
    '        super().__init__()',
    '        self.conv = nn.Conv2d(3, 512, 3)',
    '        self.bn = nn.BatchNorm2d(512)',
    '        self.pool = nn.AdaptiveAvgPool2d(1)',
    '        self.fc = nn.Linear(512, 10)',
    '    def forward(self, x):',
    '        x = self.pool(torch.relu(self.bn(self.conv(x))))',
    '        return self.fc(torch.flatten(x, 1))',
    'head = nn.Linear(512, 10)',
  ));
  assert.deepEqual(f, []);
});

test('ANE021 ignores `typing.Sequence` annotations and a variable named seq in a CNN (torchvision style)', async () => {
  const f = await findingsOf('ANE021', py(
    'from typing import Sequence',
    'import torch.nn as nn',
    'class ShuffleLike(nn.Module):',
    '    def __init__(self, stages: Sequence[int], num_classes: int = 1000):',
    '        super().__init__()',
    '        seq = nn.Sequential(nn.Conv2d(3, 24, 3), nn.ReLU())',
    '        self.stages = seq',
    '        self.fc = nn.Linear(1024, num_classes)',
    '    def forward(self, x):',
    '        return self.fc(self.stages(x).mean([2, 3]))',
  ));
  assert.deepEqual(f, []);
});

test('ANE021: a LayerNorm in a CNN head is not sequence evidence, attention in a hybrid still is', async () => {
  const cnn = await findingsOf('ANE021', py(
    'import torch.nn as nn',
    'class Net(nn.Module):',
    '    def __init__(self):',
    '        super().__init__()',
    '        self.stem = nn.Conv2d(3, 8, 3)',
    '        self.head = nn.Sequential(nn.Flatten(), nn.Linear(128, 16))',
    '        self.norm = nn.LayerNorm(16)',
  ));
  assert.deepEqual(cnn, []);
  const hybrid = await findingsOf('ANE021', py(
    'import torch.nn as nn',
    'class ViTish(nn.Module):',
    '    def __init__(self):',
    '        super().__init__()',
    '        self.patch = nn.Conv2d(3, 768, 16, stride=16)',
    '        self.attn = nn.MultiheadAttention(768, 12)',
    '        self.mlp = nn.Linear(768, 3072)',
  ));
  assert.equal(hybrid.length, 1);
  assert.match(hybrid[0]!.message, /evidence: nn\.MultiheadAttention, line 6/);
});
