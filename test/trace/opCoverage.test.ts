// Breadth of the PyTorch tracer's op mapping (test/fixtures/pytorch/zoo.py), checked where it matters:
// executable graphs compute what PyTorch computes, the rest is placed and reported, never a crash.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { RunReport } from '../../common/runReport';
import type { RunParams } from '../../common/sideProcessProtocol';
import { readNpyFile } from '../../native/host/npy';
import { SideProcessClient } from '../../native/host/supervisor';
import { distFile, findTorchPython, FIXTURES, NO_TORCH } from '../helpers';

const python = findTorchPython();
const ZOO = join(FIXTURES, 'pytorch', 'zoo.py');
/** Modules compared numerically with PyTorch: class → input shape. */
const COMPARED: Record<string, number[]> = { Audio1d: [2, 4, 32], Vision: [1, 3, 16, 16], Branchy: [1, 3, 8, 8], Attention: [6, 2, 16], Functional: [1, 4, 8, 8], JitSlicing: [2, 5, 8],
  SplitEinsum: [1, 16, 1, 8], EinsumHeads: [1, 16, 1, 8], Decoder: [1, 4, 8, 8], JitDecoder1d: [1, 2, 32],
  JitNormed: [2, 4, 16], MaskedAttention: [2, 6, 16], ShiftedWindows: [1, 4, 10, 4], Rolled: [1, 2, 3, 5],
  Normalized: [2, 5, 8], JitNormalized: [2, 5, 8], Casts: [2, 3, 8], JitCasts: [2, 3, 8], Elementwise: [2, 3, 8], JitElementwise: [2, 3, 8] };

function params(className: string, shape: number[], extra: Partial<RunParams> = {}): RunParams {
  return { target: { kind: 'pytorch', file: ZOO, className, inputShapes: [shape], pythonPath: python ?? 'python3' }, backend: 'sim', chip: 'M4', ...extra };
}

function maxErr(got: Float32Array, want: Float32Array): { err: number; ref: number } {
  let err = 0;
  let ref = 0;
  for (let i = 0; i < want.length; i++) {
    ref = Math.max(ref, Math.abs(want[i]));
    err = Math.max(err, Math.abs(got[i] - want[i]));
  }
  return { err, ref };
}

describe('tracer op coverage', { skip: python ? false : NO_TORCH, timeout: 240_000 }, () => {
  let client: SideProcessClient;
  let dir: string;
  before(() => {
    client = new SideProcessClient({ scriptPath: distFile('sideprocess.js') });
    dir = mkdtempSync(join(tmpdir(), 'ane-lens-zoo-'));
    // PyTorch outputs for seed-0 weights (the tracer seeds the same way before constructing the module).
    const lines = ['import sys, numpy as np, torch', `sys.path.insert(0, ${JSON.stringify(join(FIXTURES, 'pytorch'))})`, 'import zoo'];
    for (const [name, shape] of Object.entries(COMPARED)) {
      lines.push(
        'torch.manual_seed(0)', `m = zoo.${name}().eval()`, `x = torch.randn(${shape.join(', ')})`,
        'with torch.no_grad(): y = m(x)',
        `np.save(${JSON.stringify(join(dir, `${name}.x.npy`))}, x.numpy())`,
        `np.save(${JSON.stringify(join(dir, `${name}.y.npy`))}, y.numpy())`,
      );
    }
    execFileSync(python!, ['-c', lines.join('\n')], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } });
  });
  after(() => {
    client.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  async function compared(name: string): Promise<RunReport> {
    const out = join(dir, `${name}.out`);
    const report = await client.run(params(name, COMPARED[name], { inputNpy: { x: join(dir, `${name}.x.npy`) }, saveOutputsTo: out }));
    for (const l of report.layers) assert.equal(l.notExecuted, undefined, `${name}/${l.name} (${l.op}): ${l.notExecuted}`);
    assert.equal(report.outputs.length, 1);
    const got = readNpyFile(join(out, `${report.outputs[0].name}.npy`));
    const want = readNpyFile(join(dir, `${name}.y.npy`));
    assert.deepEqual(got.shape, want.shape);
    const { err, ref } = maxErr(got.data, want.data);
    // fp16 tolerance, as argued in test/sideprocess/onnxRun.test.ts.
    assert.ok(err <= 1e-2 * ref + 1e-3, `${name}: max abs error ${err} vs max|ref| ${ref}`);
    return report;
  }

  test('Conv1d (as a 2-D conv with H=1), BatchNorm1d, GELU, SiLU, Hardswish, folded Dropout/Identity match PyTorch', async () => {
    const r = await compared('Audio1d');
    const ops = r.layers.map((l) => `${l.op}:${l.originalOp}`);
    assert.deepEqual(ops, [
      'reshape:nn.Conv1d', 'conv:nn.Conv1d', 'reshape:nn.Conv1d', 'batch_norm:nn.BatchNorm1d', 'gelu:nn.GELU', 'silu:nn.SiLU',
      'add:nn.Hardswish', 'clip:nn.Hardswish', 'mul:nn.Hardswish', 'mul:nn.Hardswish', 'tanh:torch.tanh', 'real_div:operator.truediv',
      'sub:operator.sub', 'reduce_mean:Tensor.mean',
    ]);
    assert.ok(!ops.some((o) => o.includes('Dropout') || o.includes('Identity')));
  });

  test("pools, padding='same', cat, flatten, transpose, matmul, softmax, permute, sum and F.* match PyTorch", async () => {
    const r = await compared('Vision');
    const ops = new Set(r.layers.map((l) => l.op));
    for (const op of ['conv', 'clip', 'max_pool', 'avg_pool', 'concat', 'reshape', 'transpose', 'matmul', 'softmax', 'reduce_sum', 'reduce_mean', 'relu', 'add', 'sigmoid']) {
      assert.ok(ops.has(op), `missing ${op}`);
    }
    assert.equal(r.layers.find((l) => l.originalOp === 'F.max_pool2d')?.source?.line, 41);
  });

  test('F.conv2d on a Parameter, F.pad reflect, chunk, stack, interpolate/Upsample, None/Ellipsis/step slicing, clamp match PyTorch', async () => {
    const r = await compared('Functional');
    assert.deepEqual(r.layers.map((l) => l.op), [
      'pad', 'conv', 'split', 'mul', 'reshape', 'reshape', 'concat', 'reshape', 'upsample_nearest_neighbor', 'upsample_nearest_neighbor', 'add',
      'slice_by_index', 'reshape', 'reshape', 'leaky_relu', 'clip',
    ]);
  });

  test('data-dependent control flow falls back to torch.jit.trace, with a warning naming the line', async () => {
    const r = await compared('Branchy');
    assert.ok(r.warnings.some((w) => w.startsWith('Branchy.forward line 91 (zoo.py:91): data-dependent control flow cannot be traced') && w.includes('torch.jit.trace')), r.warnings.join('\n'));
    assert.deepEqual(r.layers.map((l) => [l.name, l.op, l.source?.line]), [
      ['conv', 'conv', 86], ['relu_2', 'relu', 90], ['mul_3', 'mul', 92], ['mean_4', 'reduce_mean', 93], ['fc', 'linear', 87],
    ]);
  });

  test('the jit fallback maps slice, select and a full sum, and matches PyTorch', async () => {
    const r = await compared('JitSlicing');
    assert.deepEqual(r.layers.map((l) => `${l.op}:${l.originalOp}`), [
      'tanh:aten::tanh', 'mul:aten::mul', 'slice_by_index:aten::slice', 'slice_by_index:aten::select', 'reshape:aten::select',
      'linear:aten::linear', 'slice_by_index:aten::slice', 'slice_by_index:aten::slice', 'slice_by_index:aten::slice',
      'reduce_sum:aten::sum', 'add:aten::add',
    ]);
  });

  test('nn.MultiheadAttention (sequence- and batch-first, with and without weights) decomposes into ops that match PyTorch', async () => {
    const r = await compared('Attention');
    const attn = r.layers.filter((l) => l.originalOp === 'nn.MultiheadAttention');
    assert.ok(attn.every((l) => l.source?.line === 102 || l.source?.line === 103));
    assert.deepEqual([...new Set(attn.map((l) => l.op))].sort(), ['linear', 'matmul', 'mul', 'reduce_mean', 'reshape', 'softmax', 'transpose']);
    assert.equal(attn.filter((l) => l.op === 'reduce_mean').length, 1, 'only the first call returns attention weights');
  });

  test("Apple's split-einsum attention (heads in a loop: jit fallback; one head: fx) runs on the ANE and matches PyTorch", async () => {
    for (const name of ['SplitEinsum', 'EinsumHeads']) {
      const r = await compared(name);
      const ops = r.layers.map((l) => l.op);
      assert.equal(ops.filter((o) => o === 'einsum').length, name === 'SplitEinsum' ? 4 : 2, `${name}: ${ops.join(', ')}`);
      if (name === 'SplitEinsum') assert.ok(ops.includes('split'), `${name} maps the head split: ${ops.join(', ')}`);
      assert.equal(r.aneResidency, 1, `${name}: ${r.layers.filter((l) => l.device !== 'ane').map((l) => `${l.name} ${l.op} ${l.device}`).join(', ')}`);
    }
  });

  test('GroupNorm (as instance_norm per group), PReLU, GLU and ConvTranspose 1-D/2-D, through fx and the jit fallback, match PyTorch', async () => {
    for (const name of ['Decoder', 'JitDecoder1d']) {
      const r = await compared(name);
      const ops = new Set(r.layers.map((l) => l.op));
      for (const op of ['conv', 'instance_norm', 'prelu', 'split', 'sigmoid', 'conv_transpose']) assert.ok(ops.has(op), `${name}: no ${op} in ${[...ops].join(', ')}`);
      assert.equal(r.aneResidency, 1, name);
    }
  });

  test('nn.MultiheadAttention with masks known at trace time decomposes with one additive mask and matches PyTorch', async () => {
    const r = await compared('MaskedAttention');
    assert.ok(!r.layers.some((l) => l.op === 'multihead_attention'), r.layers.map((l) => l.op).join(', '));
    assert.equal(r.layers.filter((l) => l.name.endsWith('_masked')).length, 2, 'one mask add per attention');
    // The padding mask's -inf is in both paths by construction: not an fp16 overflow.
    assert.equal(r.firstOverflowLayer, null);
  });

  test('jit fallback: weight norm folded before tracing, max/amin reductions and elementwise max match PyTorch', async () => {
    const r = await compared('JitNormed');
    const ops = r.layers.map((l) => l.op);
    for (const op of ['conv', 'reduce_max', 'maximum', 'reduce_min']) assert.ok(ops.includes(op), `no ${op} in ${ops.join(', ')}`);
  });

  test('a torch.fx.wrap function fx cannot trace into (Swin-style windows) falls back to jit: pad, roll, constant mask and bias fold, match PyTorch', async () => {
    const r = await compared('ShiftedWindows');
    const ops = r.layers.map((l) => l.op);
    assert.ok(!ops.includes('unknown'), ops.join(', '));
    assert.equal(ops.filter((o) => o === 'pad').length, 1, ops.join(', '));
    // Two rolls over two axes each: per axis, the tail and head slices and their concat.
    assert.equal(ops.filter((o) => o === 'concat').length, 4, ops.join(', '));
    assert.ok(r.warnings.some((w) => w.includes('shifted_windows') && w.includes('torch.jit.trace')), r.warnings.join('\n'));
    // The mask and the gathered bias are constants: no op computes them.
    assert.ok(!ops.includes('gather') && !ops.includes('select'), ops.join(', '));
  });

  test('torch.roll through fx (two axes, one axis, flattened) is slices and concats and matches PyTorch', async () => {
    const r = await compared('Rolled');
    const rolls = r.layers.filter((l) => l.originalOp === 'torch.roll' || l.originalOp === 'Tensor.roll');
    assert.deepEqual([...new Set(rolls.map((l) => l.op))].sort(), ['concat', 'reshape', 'slice_by_index']);
    assert.equal(rolls.filter((l) => l.op === 'concat').length, 4);
  });

  test('F.normalize, p-norms, clamp_min/max and expand_as (cosine attention), through fx and the jit fallback, match PyTorch', async () => {
    for (const name of ['Normalized', 'JitNormalized']) {
      const r = await compared(name);
      const ops = r.layers.map((l) => l.op);
      assert.equal(ops.filter((o) => o === 'reduce_l2_norm').length, 3, `${name}: ${ops.join(', ')}`);
      for (const op of ['clip', 'tile', 'real_div']) assert.ok(ops.includes(op), `${name}: no ${op} in ${ops.join(', ')}`);
    }
  });

  test('dtype conversions (bool mask to float, truncation through int, no-op .to), a window built in forward and an empty concat piece, through fx and jit, match PyTorch', async () => {
    for (const name of ['Casts', 'JitCasts']) {
      const r = await compared(name);
      const casts = r.layers.filter((l) => l.op === 'cast');
      // (x > 0).to(x.dtype), (x * 4).int(), .float(); x.to(torch.float32) and .type_as(x) of a float are the input itself.
      assert.equal(casts.length, 3, `${name}: ${r.layers.map((l) => l.op).join(', ')}`);
      assert.ok(!r.layers.some((l) => l.originalOp?.includes('hann_window')), `${name}: the window is a constant`);
      assert.ok(!r.layers.some((l) => l.op === 'concat'), `${name}: a concat with one non-empty piece is that piece`);
    }
  });

  test('comparisons, logical mask ops, where/masked_fill, floor/ceil/sign, remainder and floor division, sin/cos, through fx and jit, match PyTorch', async () => {
    for (const name of ['Elementwise', 'JitElementwise']) {
      const r = await compared(name);
      const ops = new Set(r.layers.map((l) => l.op));
      for (const op of ['greater', 'greater_equal', 'less', 'equal', 'not_equal', 'logical_and', 'logical_or', 'logical_xor', 'logical_not',
        'select', 'floor', 'ceil', 'sign', 'floor_div', 'mod', 'sin', 'cos', 'square']) assert.ok(ops.has(op), `${name}: no ${op} in ${[...ops].join(', ')}`);
    }
  });

  test('Embedding → gather (CPU, ANE024), GRU/RNN on the CPU (ANE026); from the GRU on, costed but not executed', async () => {
    const r = await client.run(params('Sequence', [2, 10]));
    const by = new Map(r.layers.map((l) => [l.name, l]));
    assert.equal(by.get('embed')?.op, 'gather');
    assert.equal(by.get('embed')?.rule, 'ANE024');
    assert.equal(by.get('attn')?.op, 'linear');
    assert.equal(by.get('attn')?.originalOp, 'nn.MultiheadAttention');
    assert.equal(by.get('attn_weights'), undefined, 'unused attention weights are pruned');
    assert.equal(by.get('gru')?.op, 'gru');
    assert.equal(by.get('gru')?.rule, 'ANE026');
    assert.equal(by.get('rnn')?.op, 'rnn');
    assert.equal(by.get('rnn')?.device, 'cpu');
    assert.equal(by.get('norm')?.op, 'layer_norm');
    assert.equal(by.get('fc')?.source?.line, 59);
    const gru = r.layers.findIndex((l) => l.name === 'gru');
    for (const [i, l] of r.layers.entries()) {
      assert.ok(l.estMs > 0, `${l.name} is costed`);
      if (i >= gru) assert.ok(l.notExecuted, `${l.name} (at or after the GRU, which has no kernel) is not executed`);
    }
  });

  test('torchvision MobileNetV3-small and EfficientNet-B0 trace completely and compute what PyTorch computes', async (t) => {
    try {
      execFileSync(python!, ['-c', 'import torchvision'], { stdio: 'ignore' });
    } catch {
      t.skip('skipped: torchvision is not installed for this Python');
      return;
    }
    const file = join(FIXTURES, 'pytorch', 'tvmodels.py');
    const lines = ['import sys, numpy as np, torch', `sys.path.insert(0, ${JSON.stringify(join(FIXTURES, 'pytorch'))})`, 'import tvmodels'];
    for (const name of ['MobileNetV3Small', 'EfficientNetB0']) {
      lines.push('torch.manual_seed(0)', `m = tvmodels.${name}().eval()`, 'x = torch.randn(1, 3, 64, 64)', 'with torch.no_grad(): y = m(x)',
        `np.save(${JSON.stringify(join(dir, `${name}.x.npy`))}, x.numpy())`, `np.save(${JSON.stringify(join(dir, `${name}.y.npy`))}, y.numpy())`);
    }
    execFileSync(python!, ['-c', lines.join('\n')], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } });
    for (const name of ['MobileNetV3Small', 'EfficientNetB0']) {
      const out = join(dir, `${name}.out`);
      const started = Date.now();
      const r = await client.run({
        target: { kind: 'pytorch', file, className: name, inputShapes: [[1, 3, 64, 64]], pythonPath: python! }, backend: 'sim', chip: 'M4',
        inputNpy: { x: join(dir, `${name}.x.npy`) }, saveOutputsTo: out,
      });
      t.diagnostic(`${name}: ${r.layers.length} layers, trace + run ${Date.now() - started} ms, estimated ${r.totalMs.toFixed(3)} ms on M4`);
      assert.ok(!r.layers.some((l) => l.op === 'unknown'), `${name}: ${r.layers.filter((l) => l.op === 'unknown').map((l) => l.originalOp).join(', ')}`);
      for (const l of r.layers) assert.equal(l.notExecuted, undefined, `${name}/${l.name}: ${l.notExecuted}`);
      assert.equal(r.aneResidency, 1);
      const { err, ref } = maxErr(readNpyFile(join(out, `${r.outputs[0].name}.npy`)).data, readNpyFile(join(dir, `${name}.y.npy`)).data);
      // 80+ chained convs: fp16 rounding accumulates further than in the small nets, hence 2e-2. The
      // executor's own fp16-vs-fp32 error must account for nearly all of it, i.e. its fp32 path is PyTorch's.
      assert.ok(ref > 0.05, `${name}: reference output is not degenerate (${ref})`);
      assert.ok(err <= 2e-2 * ref + 1e-3, `${name}: max abs error ${err} vs max|ref| ${ref}`);
      assert.ok(Math.abs(err - r.outputs[0].maxAbsError) <= 1e-3 * ref, `${name}: error vs PyTorch ${err}, fp16 vs fp32 ${r.outputs[0].maxAbsError}`);
    }
  });

  test('functions with no mapping become unknown ops carrying the original name; x.size() folds to a constant', async () => {
    const r = await client.run(params('Oddities', [2, 6]));
    assert.deepEqual(r.layers.map((l) => [l.op, l.originalOp, l.source?.line]), [
      ['linear', 'nn.Linear', 74], ['unknown', 'torch.cumsum', 77], ['unknown', 'torch.flip', 78], ['add', 'operator.add', 78],
    ]);
  });
});
