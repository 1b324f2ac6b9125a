// One positive and one negative case per rule of the catalog (the six original rules have their own
// files too), plus the chip-dependent variants. Each positive case checks the message names the
// concrete thing (value, layer, limit, chip).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../helpers';
import { RULES } from '../../server/src/python/rules/index';
import { findingsOf, moduleSource as M, py } from './analyze';

interface Case { rule: string; pos: string; match: RegExp; neg: string; chip?: string; severity?: string }

const CT = ['import coremltools as ct', 'import numpy as np'];

const CASES: Case[] = [
  // precision
  { rule: 'ANE002', pos: M([], ['m = (x > 0).float()', 'return x * m']), match: /in `M\.forward` casts to fp32/, neg: M([], ['m = (x > 0).to(x.dtype)', 'return x * m']) },
  { rule: 'ANE002', pos: M([], ['b = torch.zeros(4, dtype=torch.float32)', 'return x + b']), match: /creates a float32 tensor/, neg: M(['self.b = torch.zeros(4, dtype=torch.float32)'], ['return x + self.b']) },
  { rule: 'ANE004', pos: M([], ['return x ** 2']), match: /`x \*\* 2` in `M\.forward` squares an unnormalised activation.*256/, neg: M([], ['s = x.abs().amax(-1, keepdim=True)', 'return (x / s) ** 2']) },
  { rule: 'ANE005', pos: M([], ['return x.masked_fill(x > 0, float("-inf"))']), match: /Mask value `float\("-inf"\)`.*-1e4/, neg: M([], ['return x.masked_fill(x > 0, -1e4)']) },
  { rule: 'ANE005', pos: M([], ['return x.masked_fill(x > 0, torch.finfo(torch.float32).min)']), match: /torch\.finfo\(torch\.float32\)\.min/, neg: M([], ['return x.masked_fill(x > 0, torch.finfo(x.dtype).min)']) },
  { rule: 'ANE005', pos: M([], ['return x.masked_fill(x > 0, -1e9)']), match: /-1e9.*not representable in fp16/, neg: M([], ['return x.masked_fill(x > 0, -40000.0)']) },
  { rule: 'ANE006', pos: py('import coremltools as ct', 'c = ct.optimize.coreml.OpLinearQuantizerConfig(mode="linear_symmetric", granularity="per_block", block_size=32)'), match: /per-block scales are meant for the GPU/, neg: py('import coremltools as ct', 'c = ct.optimize.coreml.OpLinearQuantizerConfig(mode="linear_symmetric", granularity="per_channel")') },
  { rule: 'ANE006', chip: 'M1', pos: py('import coremltools.optimize as cto', 'm = cto.coreml.experimental.linear_quantize_activations(model, cfg, data)'), match: /no faster int8-int8 path on M1/, neg: py('import coremltools.optimize as cto', 'm = cto.coreml.experimental.linear_quantize_activations(model, cfg, data)') },
  { rule: 'ANE008', pos: py(...CT, 'm = ct.convert(t, inputs=[ct.TensorType(name="x", shape=(1, 3, 224, 224))])'), match: /Model input "x".*is fp32 \(no dtype\)/, neg: py(...CT, 'm = ct.convert(t, inputs=[ct.TensorType(name="x", shape=(1, 3, 224, 224), dtype=np.float16)])') },
  { rule: 'ANE037', pos: M([], ['v = x.pow(2).mean(-1, keepdim=True)', 'return x * torch.rsqrt(v + 1e-6)']), match: /Manual RMSNorm in `M\.forward`/, neg: M(['self.n = nn.RMSNorm(64)'], ['return self.n(x)']) },
  // The rules' own fix, dividing by the max-abs before squaring, must not be flagged.
  { rule: 'ANE037', pos: M([], ['v = (x ** 2).mean(1, keepdim=True)', 'return x * torch.rsqrt(v + 1e-5)']), match: /Manual RMSNorm/, neg: M([], ['s = x.abs().amax(dim=1, keepdim=True)', 'v = ((x / s) ** 2).mean(dim=1, keepdim=True)', 'return (x / s) * torch.rsqrt(v + 1e-5)']) },
  { rule: 'ANE004', pos: M([], ['return (x ** 2).sum(1)']), match: /squares an unnormalised activation/, neg: M([], ['return ((x / x.abs().amax(1, keepdim=True)) ** 2).sum(1)']) },
  // layout
  { rule: 'ANE010', pos: py(...CT, 'i = ct.TensorType(name="x", shape=(1, 512, 64, 1))'), match: /last axis 1 is 2 bytes in fp16, padded to 64.*32× memory/, neg: py(...CT, 'i = ct.TensorType(name="x", shape=(1, 512, 1, 64))') },
  { rule: 'ANE011', pos: py('import torch', 'model = model.to(memory_format=torch.channels_last)'), match: /channels_last is a PyTorch memory format only/, neg: py('import torch', 'model = model.to(torch.float16)') },
  { rule: 'ANE011', pos: M([], ['return x.permute(0, 2, 3, 1)']), match: /converts NCHW → NHWC/, neg: M([], ['return x.flatten(1)']) },
  { rule: 'ANE012', pos: M([], ['return x @ x.transpose(-2, -1)']), match: /swaps the last axis with axis -2/, neg: M([], ['return x.transpose(1, 2)']) },
  { rule: 'ANE013', pos: M([], ['return x.view(1, 2, 3, 4, 5, 6)']), match: /rank-6 tensor; the ANE supports rank ≤ 5/, neg: M([], ['return x.view(1, 2, 3, 4, 30)']) },
  { rule: 'ANE014', chip: 'M1', pos: M(['self.lm_head = nn.Linear(4096, 32000)']), match: /out_features=32000.*above the M1 ANE limit of 16384/, neg: M(['self.lm_head = nn.Linear(4096, 32000)']) },
  { rule: 'ANE014', pos: py(...CT, 'i = ct.TensorType(shape=(1, 64, 1, 70000))'), match: /spatial dim 70000 above the M4 ANE limit of 65536/, neg: py(...CT, 'i = ct.TensorType(shape=(1, 64, 1, 60000))') },
  { rule: 'ANE017', pos: M(['self.c = nn.Conv2d(48, 96, 3, groups=5)']), match: /groups=5 does not divide in_channels=48/, severity: 'error', neg: M(['self.c = nn.Conv2d(48, 96, 3, groups=4)']) },
  { rule: 'ANE017', pos: M(['self.c = nn.Conv2d(64, 24, 1)']), match: /out channels 24 pad to 32.*25% of the lanes idle/, severity: 'info', neg: M(['self.c = nn.Conv2d(64, 32, 1)']) },
  // ops
  { rule: 'ANE022', pos: M(['self.attn = nn.MultiheadAttention(512, 8)']), match: /nn\.MultiheadAttention in `M\.__init__` is fused attention/, neg: M(['self.q = nn.Conv2d(512, 512, 1)'], ['return torch.einsum("bchq,bkhc->bkhq", x, x)']) },
  { rule: 'ANE022', pos: M([], ['return F.scaled_dot_product_attention(x, x, x)']), match: /F\.scaled_dot_product_attention/, neg: M([], ['return torch.softmax(x, dim=1)']) },
  { rule: 'ANE023', pos: M([], ['m = torch.tril(torch.ones(8, 8))', 'return x + m']), match: /torch\.tril in `M\.forward` builds a mask.*band_part/, neg: M(['self.register_buffer("m", torch.tril(torch.ones(8, 8)))'], ['return x + self.m']) },
  { rule: 'ANE024', pos: M(['self.emb = nn.Embedding(32000, 512)']), match: /nn\.Embedding\(32000, 512\).*gather lookup/, neg: M(['self.proj = nn.Conv2d(512, 512, 1)']) },
  { rule: 'ANE024', pos: M([], ['return torch.gather(x, 1, x.long())']), match: /torch\.gather in `M\.forward` is a gather/, neg: M([], ['return x[:, 0:4]']) },
  { rule: 'ANE025', pos: M([], ['x[x > 0] = 0', 'return x']), match: /In-place assignment `x\[x > 0\] = 0`.*scatter/, neg: M([], ['return torch.where(x > 0, torch.zeros_like(x), x)']) },
  { rule: 'ANE025', pos: M([], ['return x.scatter(1, x.long(), 1.0)']), match: /\.scatter\(\).*no ANE path/, neg: M([], ['return x.clone()']) },
  { rule: 'ANE027', pos: M([], ['if x.sum() > 0:', '    return x', 'return -x']), match: /`if x\.sum\(\) > 0` in `M\.forward` branches on tensor values/, neg: M([], ['if x.shape[1] > 3:', '    return x', 'return -x']) },
  { rule: 'ANE027', pos: py('import torch', '@torch.jit.script', 'def f(x):', '    if bool(x.sum() > 0):', '        return x', '    return -x'), match: /@torch\.jit\.script on `f`/, severity: 'error', neg: py('import torch', 'def f(x):', '    return torch.where(x > 0, x, -x)') },
  { rule: 'ANE031', pos: M(['self.c = nn.Conv1d(64, 64, kernel_size=31)']), match: /nn\.Conv1d kernel width 31 exceeds the M4 ANE cap of 16/, neg: M(['self.c = nn.Conv1d(64, 64, kernel_size=15)']) },
  { rule: 'ANE031', chip: 'M1', pos: M(['self.c = nn.Conv2d(64, 64, (1, 15))']), match: /kernel width 15 exceeds the M1 ANE cap of 13/, neg: M(['self.c = nn.Conv2d(64, 64, (15, 1))']) },
  { rule: 'ANE032', pos: M(['self.c = nn.Conv1d(1, 64, 10, stride=5)']), match: /stride 5 has the factor 5/, neg: M(['self.c = nn.Conv1d(1, 64, 10, stride=4)']) },
  { rule: 'ANE033', pos: M(['self.c = nn.Conv2d(64, 64, 3, dilation=12)']), match: /dilation=12.*factor it into a chain of 2s and 3s \(2·2·3\)/, neg: M(['self.c = nn.Conv2d(64, 64, 3, dilation=1)']) },
  { rule: 'ANE034', pos: M(['self.c = nn.Conv3d(3, 64, 3)']), match: /nn\.Conv3d in `M\.__init__` is a 3-D op/, neg: M(['self.c = nn.Conv2d(3, 64, 3)']) },
  { rule: 'ANE035', pos: M([], ['return F.interpolate(x, scale_factor=2, mode="bicubic")']), match: /mode="bicubic"\) has no ANE resize path/, severity: 'error', neg: M([], ['return F.interpolate(x, scale_factor=2, mode="bilinear")']) },
  { rule: 'ANE035', pos: M([], ['return F.interpolate(x, scale_factor=1.5)']), match: /scale_factor=1\.5 is not an integer/, neg: M([], ['return F.interpolate(x, scale_factor=2)']) },
  { rule: 'ANE035', chip: 'M1', pos: M([], ['return F.interpolate(x, scale_factor=2)']), match: /on M1: resize has no texture engine before M2/, neg: M([], ['return F.pixel_shuffle(x, 2)']) },
  { rule: 'ANE035', pos: M([], ['return F.grid_sample(x, x)']), match: /F\.grid_sample.*Core ML runs it on the CPU/, severity: 'error', neg: M([], ['return F.avg_pool2d(x, 2)']) },
  { rule: 'ANE036', pos: M([], ['return torch.roll(x, shifts=3, dims=1)']), match: /torch\.roll in `M\.forward` is a cyclic shift/, neg: M([], ['return torch.cat([x[:, 3:], x[:, :3]], dim=1)']) },
  { rule: 'ANE039', pos: M([], ['return x.argmax(-1)']), match: /\.argmax\(\) in `M\.forward` runs on the CPU/, neg: M([], ['return x.max(-1, keepdim=True).values']) },
  { rule: 'ANE040', pos: M([], ['return torch.remainder(x, 2.0)']), match: /torch\.remainder.*lowers to MIL mod, which has no ANE path/, neg: M([], ['return x - 2.0 * torch.floor(x / 2.0)']) },
  { rule: 'ANE040', chip: 'M1', pos: M([], ['return torch.sin(x)']), match: /MIL sin.*before M3 \(target M1\)/, neg: M([], ['return torch.sin(x)']) },
  { rule: 'ANE044', chip: 'M1', pos: M(['self.p = nn.ReflectionPad2d(1)']), match: /reflect padding has no native path on M1/, neg: M(['self.p = nn.ZeroPad2d(1)']) },
  { rule: 'ANE044', pos: M(['self.c = nn.Conv2d(3, 8, 3, padding=1, padding_mode="reflect")']), match: /reflect padding runs on the M4 texture engine/, severity: 'info', neg: M(['self.c = nn.Conv2d(3, 8, 3, padding=1)']) },
  { rule: 'ANE045', pos: M([], ['return torchvision.ops.nms(x, x, 0.5)'], ['import torchvision']), match: /non-maximum suppression/, neg: M([], ['return x'], ['import torchvision']) },
  // conversion and deployment
  { rule: 'ANE016', pos: py(...CT, 'import torch.nn as nn', 'ln = nn.LayerNorm(2048)', 's = ct.EnumeratedShapes(shapes=[(1, 64), (1, 128)])'), match: /EnumeratedShapes with a LayerNorm in this file \(line 4\)/, neg: py(...CT, 's = ct.EnumeratedShapes(shapes=[(1, 64), (1, 128)])') },
  { rule: 'ANE047', pos: py(...CT, 'm = ct.convert(t, convert_to="neuralnetwork")'), match: /old NeuralNetwork format/, neg: py(...CT, 'm = ct.convert(t, convert_to="mlprogram")') },
  { rule: 'ANE047', pos: py(...CT, 'm = ct.convert(t, minimum_deployment_target=ct.target.iOS14)'), match: /below iOS 15\/macOS 12/, neg: py(...CT, 'm = ct.convert(t, minimum_deployment_target=ct.target.iOS17)') },
  { rule: 'ANE048', pos: M(['self.a = nn.Linear(16384, 65536)']), match: /`M` has ≥ 2 GiB of fp16 weights.*above the ANE's ~1 GB per-model limit on iOS/, neg: M(['self.a = nn.Linear(4096, 4096)']) },
  { rule: 'ANE051', pos: py(...CT, 'm = ct.convert(t, states=[ct.StateType(wrapped_type=ct.TensorType(shape=(1, 8, 256)), name="k")])'), match: /makes a stateful model with 1 state/, neg: py(...CT, 'm = ct.convert(t)') },
  { rule: 'ANE052', pos: py(...CT, 's = ct.StateType(wrapped_type=ct.TensorType(shape=(1, 8, 270)), name="k")'), match: /last dimension 270 is not a multiple of 32.*pad it to 288/, neg: py(...CT, 's = ct.StateType(wrapped_type=ct.TensorType(shape=(1, 8, 256)), name="k")') },
  { rule: 'ANE054', pos: py(...CT, 's = ct.EnumeratedShapes(shapes=[(1, n) for n in range(8, 2048, 8)])'), match: /with 255 shapes exceeds coremltools' limit of 128/, neg: py(...CT, 's = ct.EnumeratedShapes(shapes=[(1, n) for n in range(64, 1024, 64)])') },
];

for (const c of CASES) {
  test(`${c.rule}${c.chip ? ` (${c.chip})` : ''}: flags ${c.match.source.slice(0, 50)}`, async () => {
    const hits = await findingsOf(c.rule, c.pos, c.chip);
    assert.equal(hits.length, 1, `${c.rule} positive case:\n${c.pos}\n${JSON.stringify(hits)}`);
    assert.match(hits[0]!.message, c.match);
    if (c.severity) assert.equal(hits[0]!.severity, c.severity);
    // The negative case: the same idea written the ANE way (or for a chip where it is fine).
    const negChip = c.chip === 'M1' && c.pos === c.neg ? 'M4' : c.chip;
    assert.deepEqual(await findingsOf(c.rule, c.neg, negChip), [], `${c.rule} negative case:\n${c.neg}`);
  });
}

test('catalog: at least 30 rules, each with a positive case, a docs page and a message-bearing explanation', () => {
  assert.ok(RULES.length >= 30, `${RULES.length} rules`);
  const covered = new Set([...CASES.map((c) => c.rule), 'ANE001', 'ANE005', 'ANE015', 'ANE021', 'ANE026', 'ANE046']);
  for (const r of RULES) {
    assert.ok(covered.has(r.id), `${r.id} has no positive/negative case`);
    assert.ok(existsSync(join(ROOT, 'docs', 'rules', `${r.id}.md`)), `docs/rules/${r.id}.md is missing`);
    assert.match(r.explanation, /\*\*Fix:\*\*/, `${r.id} explanation has no fix`);
  }
  assert.equal(new Set(RULES.map((r) => r.id)).size, RULES.length, 'rule ids are unique');
});

test('chip-dependent rules name the chip and follow the configured target', async () => {
  const conv = M(['self.c = nn.Conv1d(64, 64, kernel_size=14)']);
  assert.equal((await findingsOf('ANE031', conv, 'M1')).length, 1);
  assert.equal((await findingsOf('ANE031', conv, 'M4')).length, 0);
  assert.equal((await findingsOf('ANE031', conv, 'M5')).length, 0);
  const head = M(['self.h = nn.Linear(512, 50000)']);
  assert.match((await findingsOf('ANE014', head, 'M1'))[0]!.message, /M1 ANE limit of 16384/);
  assert.deepEqual(await findingsOf('ANE014', head, 'M5'), []);
});

test('module-scope rules skip __init__-only helpers, training branches and loss code', async () => {
  const src = py(
    'import torch', 'import torch.nn as nn',
    'class M(nn.Module):',
    '    def __init__(self):', '        super().__init__()', '        self.define_table()',
    '    def define_table(self):', '        self.t = torch.arange(8).float()',
    '    def compute_loss(self, x):', '        return x.float().sum()',
    '    def forward(self, x):',
    '        if self.training:', '            x = x.float()',
    '        return x',
  );
  assert.deepEqual(await findingsOf('ANE002', src), []);
});
