// End to end through the real side-process: a small CNN exported by torch.onnx runs on the simulator
// with a given input, and its fp16 output matches PyTorch's fp32 output within fp16 tolerance.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { SideProcessClient } from '../../native/host/supervisor';
import { readNpyFile } from '../../native/host/npy';
import { distFile, findTorchPython, FIXTURES, NO_TORCH } from '../helpers';

const python = findTorchPython();

test('a torch-exported CNN runs through SideProcessClient with inputNpy/saveOutputsTo and matches PyTorch in fp16 tolerance',
  { skip: python ? false : NO_TORCH, timeout: 120_000 }, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'ane-lens-onnxrun-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    execFileSync(python!, [join(FIXTURES, 'make_small_cnn.py'), dir], { stdio: ['ignore', 'ignore', 'pipe'] });

    const client = new SideProcessClient({ scriptPath: distFile('sideprocess.js') });
    t.after(() => client.dispose());
    const progress: string[] = [];
    const outDir = join(dir, 'out');
    const started = Date.now();
    const report = await client.run({
      target: { kind: 'onnx', path: join(dir, 'small_cnn.onnx') },
      backend: 'sim',
      chip: 'm4',
      inputNpy: { input: join(dir, 'input.npy') },
      saveOutputsTo: outDir,
    }, undefined, (p) => progress.push(p.message));
    t.diagnostic(`run took ${Date.now() - started} ms (${report.layers.length} layers)`);

    assert.ok(progress.some((m) => m.includes('simulated M4')), `progress: ${progress.join(' | ')}`);
    assert.equal(report.chip, 'M4');
    assert.equal(report.model.format, 'onnx');
    // The exporter emits 20 nodes for this model (BatchNormalization kept, Gemm for the classifier).
    const ops = new Set(report.layers.map((l) => l.op));
    for (const op of ['conv', 'batch_norm', 'relu', 'sigmoid', 'mul', 'add', 'reduce_mean', 'reshape', 'linear']) {
      assert.ok(ops.has(op), `missing ${op} in ${[...ops].join(', ')}`);
    }
    assert.ok(report.layers.some((l) => l.originalOp === 'Gemm'));
    assert.ok(report.layers.some((l) => l.originalOp === 'GlobalAveragePool' && l.op === 'reduce_mean'));
    assert.equal(report.aneResidency, 1);
    assert.equal(report.aneTimeShare, 1);
    assert.equal(report.segments, 1);
    assert.ok(report.totalMs > 0);
    assert.equal(report.firstOverflowLayer, null);
    for (const layer of report.layers) {
      assert.equal(layer.device, 'ane', layer.name);
      // ONNX layers point at their line in the model's MIL view (the timing panel opens it there).
      assert.equal(layer.source?.file, join(dir, 'small_cnn.onnx'), layer.name);
      assert.ok(Number.isInteger(layer.source?.line) && layer.source!.line > 1, `${layer.name}: line ${layer.source?.line}`);
      assert.equal(layer.notExecuted, undefined, `${layer.name}: ${layer.notExecuted}`);
      assert.ok(layer.numerics, `${layer.name} has numerics`);
      assert.ok(layer.flops > 0 || ['reshape'].includes(layer.op), `${layer.name} flops`);
      assert.ok(layer.estMs > 0, `${layer.name} estMs`);
    }
    // The first layer carries the ANE dispatch cost of the only segment.
    assert.ok(report.layers[0].estMs >= 0.095);

    const got = readNpyFile(join(outDir, 'logits.npy'));
    const want = readNpyFile(join(dir, 'expected.npy'));
    assert.deepEqual(got.shape, [1, 10]);
    assert.deepEqual(report.outputs.map((o) => [o.name, o.shape]), [['logits', [1, 10]]]);
    // fp16 keeps 11 significant bits (relative rounding 2^-11 ≈ 4.9e-4 per op). Over ~20 chained ops the
    // rounding errors add up to a few 1e-3 of the output's scale; 1e-2·max|ref| leaves room for that while a
    // real bug (wrong padding, groups, BN statistics, layout) moves outputs by O(max|ref|). The 1e-3 floor
    // covers logits close to zero.
    let maxRef = 0;
    let maxErr = 0;
    for (let i = 0; i < want.data.length; i++) {
      maxRef = Math.max(maxRef, Math.abs(want.data[i]));
      maxErr = Math.max(maxErr, Math.abs(got.data[i] - want.data[i]));
    }
    const tolerance = 1e-2 * maxRef + 1e-3;
    t.diagnostic(`max abs error vs PyTorch ${maxErr.toExponential(3)} (tolerance ${tolerance.toExponential(3)}, max|ref| ${maxRef.toFixed(4)})`);
    assert.ok(maxRef > 0.01, 'reference output is not degenerate');
    assert.ok(maxErr <= tolerance, `max abs error ${maxErr} > ${tolerance}`);
    assert.ok(report.outputs[0].maxAbsError <= tolerance, 'executor fp16-vs-fp32 error within tolerance');
  });
