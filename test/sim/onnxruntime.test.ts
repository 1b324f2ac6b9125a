// The fp16 executor against onnxruntime-node (fp32, CPU) on real torch exports with random weights:
// torchvision mobilenet_v3_small and resnet18, an nn.TransformerEncoderLayer, and a model built to overflow
// fp16 at a known layer. Exports are made here with torch (skipped without it).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { findChip } from '../../common/chips';
import { buildRunReport, devicesOf } from '../../native/host/report';
import { readOnnxFile } from '../../server/src/onnx/readOnnx';
import { placeGraph } from '../../server/src/placement/placeGraph';
import { findTorchPython, NO_TORCH, ROOT } from '../helpers';
import { getAddon, NO_ADDON } from './simGraphs';

const python = findTorchPython();
const skip = NO_ADDON || (python ? false : NO_TORCH);
let dir = '';

before(() => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'ane-ort-'));
  execFileSync(python!, [join(ROOT, 'test', 'sim', 'export_models.py'), dir, 'mobilenet_v3_small', 'resnet18', 'transformer_layer', 'overflow'], { stdio: 'pipe', timeout: 180_000 });
});
after(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

function normalish(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const u = s / 2 ** 32;
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const v = s / 2 ** 32;
    out[i] = Math.sqrt(-2 * Math.log(u + 1e-12)) * Math.cos(2 * Math.PI * v);
  }
  return out;
}

async function compare(name: string, shape: number[], input?: Float32Array) {
  const file = join(dir, `${name}.onnx`);
  const x = input ?? normalish(shape.reduce((a, b) => a * b, 1), 42);
  const session = await ort.InferenceSession.create(file, { intraOpNumThreads: 2, interOpNumThreads: 1, executionProviders: ['cpu'] });
  const expected = (await session.run({ input: new ort.Tensor('float32', x, shape) })).output!.data as Float32Array;
  const { graph, weights } = readOnnxFile(file);
  const chip = findChip('M4');
  const placed = placeGraph(graph, chip);
  const { result, outputs } = getAddon().run(placed, weights, { chip, devices: devicesOf(placed), seed: 1, execute: true, threads: 2 }, { input: x });
  const report = buildRunReport(placed, chip, result);
  const got = outputs[graph.outputs[0]!];
  assert.ok(got, `${name}: output computed (${report.layers.filter((l) => l.notExecuted).map((l) => `${l.name}: ${l.notExecuted}`).join('; ')})`);
  assert.equal(got.fp16.length, expected.length);
  let scale = 0, err16 = 0, err32 = 0;
  for (let i = 0; i < expected.length; i++) {
    scale = Math.max(scale, Math.abs(expected[i]!));
    err16 = Math.max(err16, Math.abs(got.fp16[i]! - expected[i]!));
    err32 = Math.max(err32, Math.abs(got.fp32[i]! - expected[i]!));
  }
  return { report, scale, err16: err16 / scale, err32: err32 / scale };
}

for (const [name, shape] of [['mobilenet_v3_small', [1, 3, 224, 224]], ['resnet18', [1, 3, 224, 224]], ['transformer_layer', [1, 32, 128]]] as const) {
  test(`${name}: fp16 executor matches onnxruntime-node within fp16 tolerance`, { skip }, async (t) => {
    const { report, scale, err16, err32 } = await compare(name, [...shape]);
    t.diagnostic(`${name}: max |out| ${scale.toPrecision(4)}, fp32 path error ${err32.toExponential(2)}, fp16 path error ${err16.toExponential(2)} (relative to max |out|)`);
    assert.ok(report.layers.every((l) => l.notExecuted === undefined), 'every layer executed');
    assert.equal(report.firstOverflowLayer, null);
    assert.ok(err32 < 1e-4, `fp32 reference path differs from onnxruntime by ${err32}`);
    assert.ok(err16 < 2e-2, `fp16 path differs from onnxruntime by ${err16}`);
  });
}

test('a model built to overflow fp16 is caught at the right layer', { skip }, async () => {
  const { report } = await compare('overflow', [1, 32], new Float32Array(32).fill(1));
  assert.match(report.firstOverflowLayer ?? '', /fc2/);
  const fc1 = report.layers.find((l) => /fc1/.test(l.name))!;
  const fc2 = report.layers.find((l) => l.name === report.firstOverflowLayer)!;
  assert.equal(fc1.numerics!.infCount, 0);
  assert.equal(fc2.numerics!.infCount, 32);
});
