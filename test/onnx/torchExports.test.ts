// The reader on real torch.onnx.export output (torch-gated): a CNN, a transformer encoder layer and an
// LSTM model, exported once in one Python process to keep the test quick.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { findChip } from '../../common/chips';
import { parseGraphIR, type GraphIR } from '../../common/graphIR';
import { readOnnxFile } from '../../server/src/onnx/readOnnx';
import { placeGraph } from '../../server/src/placement/placeGraph';
import { findTorchPython, NO_TORCH } from '../helpers';

const EXPORT_SCRIPT = `
import sys, torch
from torch import nn
out = sys.argv[1]
torch.manual_seed(0)

class Cnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.c2 = nn.Conv1d(8, 8, 3, padding=1)
        self.pool = nn.AvgPool2d(2, ceil_mode=True)
        self.fc = nn.Linear(8 * 5 * 5, 4)
    def forward(self, x):
        x = torch.relu(self.bn(self.c1(x)))
        b, c, h, w = x.shape
        x = self.c2(x.reshape(b, c, h * w)).reshape(b, c, h, w)
        x = nn.functional.hardswish(self.pool(x))
        x = nn.functional.interpolate(x, scale_factor=1.0, mode='nearest')
        return self.fc(x.flatten(1))

class Lstm(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(16, 32, batch_first=True)
        self.fc = nn.Linear(32, 5)
    def forward(self, x):
        y, _ = self.lstm(x)
        return self.fc(y[:, -1])

enc = nn.TransformerEncoderLayer(d_model=32, nhead=4, dim_feedforward=64, batch_first=True).eval()
torch.onnx.export(Cnn().eval(), torch.randn(1, 3, 9, 9), out + '/cnn.onnx', opset_version=11)
torch.onnx.export(enc, torch.randn(2, 10, 32), out + '/encoder.onnx', opset_version=14)
torch.onnx.export(Lstm().eval(), torch.randn(1, 12, 16), out + '/lstm.onnx', opset_version=13)
torch.onnx.export(enc, torch.randn(2, 10, 32), out + '/encoder_dyn.onnx', opset_version=17, input_names=['x'],
                  dynamic_axes={'x': {0: 'batch', 1: 'seq'}})
`;

const python = findTorchPython();

describe('torch.onnx.export models', { skip: python ? false : NO_TORCH }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'ane-torch-onnx-'));
  const chip = findChip('M4');
  const graphs: Record<string, GraphIR> = {};
  before(() => {
    execFileSync(python!, ['-c', EXPORT_SCRIPT, dir], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 180_000 });
    for (const name of ['cnn', 'encoder', 'lstm', 'encoder_dyn']) {
      const { graph } = readOnnxFile(join(dir, `${name}.onnx`));
      graphs[name] = parseGraphIR(graph, name);
    }
  });

  test('CNN: every op normalized, all static shapes, everything on the ANE', () => {
    const g = graphs.cnn!;
    const ops = g.ops.map((o) => o.op);
    for (const expected of ['conv', 'relu', 'avg_pool', 'sigmoid_hard', 'linear']) assert.ok(ops.includes(expected), `${expected} in ${ops.join(', ')}`);
    assert.ok(!ops.some((o) => o.startsWith('onnx.') || o === 'shape' || o === 'gather'), `no leftover shape arithmetic: ${ops.join(', ')}`);
    for (const op of g.ops) {
      for (const out of op.outputs) assert.ok(out.type.shape?.every((d) => typeof d === 'number'), `${op.name} ${out.name} has a static shape`);
    }
    // Conv1d on (1, 8, 81) was lifted to 2-D with H = 1.
    const conv1d = g.ops.filter((o) => o.op === 'conv')[1]!;
    assert.deepEqual(conv1d.outputs[0]!.type.shape, [1, 8, 1, 81]);
    // AvgPool 2 with ceil_mode on 9×9 → 5×5.
    assert.deepEqual(g.ops.find((o) => o.op === 'avg_pool')!.outputs[0]!.type.shape, [1, 8, 5, 5]);
    const placed = placeGraph(g, chip);
    assert.ok(placed.ops.every((o) => o.placement?.device === 'ane'), placed.ops.filter((o) => o.placement?.device !== 'ane').map((o) => `${o.name}:${o.op}`).join(', '));
  });

  test('transformer encoder layer: matmul/softmax/layer-norm pieces with resolved reshapes', () => {
    const g = graphs.encoder!;
    const ops = new Set(g.ops.map((o) => o.op));
    for (const expected of ['matmul', 'softmax', 'transpose', 'reshape', 'add']) assert.ok(ops.has(expected), `${expected} in ${[...ops].join(', ')}`);
    for (const r of g.ops.filter((o) => o.op === 'reshape')) {
      assert.ok(Array.isArray(r.attrs.shape) && (r.attrs.shape as number[]).every((d) => d > 0), `${r.name} has a resolved shape ${JSON.stringify(r.attrs.shape)}`);
    }
    const last = g.ops[g.ops.length - 1]!;
    assert.deepEqual(last.outputs[0]!.type.shape, [2, 10, 32]);
  });

  test('dynamic-axes encoder: symbolic shapes everywhere, no leftover shape arithmetic, layer_norm at opset 17', () => {
    const g = graphs.encoder_dyn!;
    const ops = g.ops.map((o) => o.op);
    assert.ok(!ops.some((o) => ['shape', 'gather', 'cast', 'concat', 'fill'].includes(o)), ops.join(', '));
    assert.equal(ops.filter((o) => o === 'layer_norm').length, 2);
    assert.deepEqual(g.ops[g.ops.length - 1]!.outputs[0]!.type.shape, ['batch', 'seq', 32]);
    const placed = placeGraph(g, chip);
    assert.ok(placed.ops.every((o) => o.placement?.device === 'ane'));
    assert.ok(placed.warnings.some((w) => w.startsWith('ANE015')));
  });

  test('LSTM model: lstm on the CPU with ANE026, the head after it on the ANE', () => {
    const placed = placeGraph(graphs.lstm!, chip);
    const lstm = placed.ops.find((o) => o.op === 'lstm');
    assert.ok(lstm, placed.ops.map((o) => o.op).join(', '));
    assert.equal(lstm.originalOp, 'LSTM');
    assert.deepEqual(lstm.placement, { device: 'cpu', rule: 'ANE026', reason: lstm.placement!.reason });
    assert.deepEqual(lstm.outputs[0]!.type.shape, [12, 1, 1, 32]);
    assert.equal(placed.ops.find((o) => o.op === 'linear' || o.op === 'matmul')?.placement?.device, 'ane');
  });
});
