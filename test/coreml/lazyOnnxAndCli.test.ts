import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseGraphIR } from '../../common/graphIR';
import { readOnnxLazy, stripOnnxWeights } from '../../server/src/coreml/lazyOnnx';
import { ModelReadError, readOnnxFile } from '../../server/src/onnx/readOnnx';
import { buildModel, floatTensor, int64Tensor, node, valueInfo } from '../onnx/onnxBuild';
import { DIST, SHARED_MODELS } from '../helpers';

/** x (1, 256) → MatMul with a 256×256 weight (256 KiB: left in the file) → Reshape by a small shape tensor (kept). */
function model(): Uint8Array {
  return buildModel({
    inputs: [valueInfo('x', [1, 256])], outputs: [valueInfo('y', [16, 16])],
    initializers: [floatTensor('w', [256, 256]), int64Tensor('shape', [16, 16])],
    nodes: [node({ op: 'MatMul', inputs: ['x', 'w'], outputs: ['m'] }), node({ op: 'Reshape', inputs: ['m', 'shape'], outputs: ['y'] })],
  });
}

test('lazy ONNX: big initializers stay in the file as references, small ones fold; same ops and shapes as the full read', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ane-lens-lazy-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'm.onnx');
  const bytes = model();
  writeFileSync(file, bytes);
  const { bytes: stripped, stats } = stripOnnxWeights(file);
  assert.deepEqual(stats, { tensors: 1, bytes: 256 * 256 * 4 });
  assert.ok(stripped.length < 4096, `${stripped.length} bytes left`);
  const lazy = readOnnxLazy(file).graph;
  parseGraphIR(lazy, file);
  const full = readOnnxFile(file).graph;
  assert.deepEqual(lazy.ops.map((o) => [o.op, o.attrs, o.outputs]), full.ops.map((o) => [o.op, o.attrs, o.outputs]));
  const w = lazy.constants.find((c) => c.name === 'w')!;
  assert.deepEqual(w.type, { dtype: 'fp32', shape: [256, 256] });
  assert.match(w.unavailable ?? '', /m\.onnx/);
  assert.match(lazy.warnings.join('\n'), /weights not loaded: 1 initializer\(s\), 0\.3 MiB/);
  // Truncations of the file through the lazy path: one clean error each, or a read.
  for (let k = 1; k < 16; k++) {
    const cut = join(dir, `cut${k}.onnx`);
    writeFileSync(cut, bytes.subarray(0, Math.floor((bytes.length * k) / 16)));
    try {
      readOnnxLazy(cut);
    } catch (e) {
      assert.ok(e instanceof ModelReadError && e.message.startsWith(cut) && !e.message.includes('\n'), String(e));
    }
  }
});

const cli = join(DIST, 'cli.js');
const mosaic = join(SHARED_MODELS, 'coreml', 'Mosaic.mlpackage');
const skipCli = !existsSync(cli) ? 'skipped: dist/cli.js is not built (npm run build)' : !existsSync(mosaic) ? `skipped: ${mosaic} is absent` : false;

test('ane-lens inspect --format json (docs/inspect.md) and check on Core ML models', { skip: skipCli }, () => {
  const r = spawnSync(process.execPath, [cli, 'inspect', mosaic, '--chip', 'M1', '--format', 'json'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.schemaVersion, 1);
  assert.equal(j.format, 'mlpackage');
  assert.equal(j.chip, 'M1');
  assert.deepEqual(j.inputs, [{ name: 'sub_2', dtype: 'fp32', shape: [1, 512, 512, 3] }]);
  assert.deepEqual(j.outputs, [{ name: 'ArgMax', dtype: 'int32', shape: [1, 512, 512] }]);
  assert.equal(j.ops.length, 165);
  const argmax = j.ops.find((o: { type: string }) => o.type === 'reduce_argmax');
  assert.deepEqual(Object.keys(argmax).sort(), ['device', 'inputs', 'line', 'name', 'originalType', 'outputs', 'reason', 'rule', 'type']);
  assert.equal(argmax.device, 'cpu');
  assert.deepEqual(argmax.inputs, ['transpose_158']);
  const { ops, aneOps, aneResidency, segments } = j.summary;
  assert.deepEqual([ops, aneOps, segments], [165, 158, 10]);
  assert.equal(aneResidency, Math.round((158 / 165) * 10000) / 10000);
  const text = spawnSync(process.execPath, [cli, 'inspect', mosaic], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(text.status, 0);
  assert.match(text.stdout, /^\/\/ Mosaic: mlProgram \(spec v6\), 165 ops — M4: 164\/165 on the ANE/);
  assert.match(text.stdout, /ANE residency 164\/165 ops \(99\.4%\), 2 segment\(s\), 1 transfer point\(s\) on M4\n$/);
  const check = spawnSync(process.execPath, [cli, 'check', join(SHARED_MODELS, 'coreml'), '--format', 'json'], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(check.status, 1, check.stderr);
  const findings = JSON.parse(check.stdout) as Array<{ file: string; rule: string; line: number; severity: string; message: string }>;
  const files = new Set(findings.map((f) => f.file.split('/').pop()));
  for (const f of ['Mosaic.mlpackage', 'MobileBERT-spec-only.mlpackage', 'NeuralMcNeuralNet.mlmodel', 'onehot_simple.mlmodel']) assert.ok(files.has(f), `${f} in ${[...files].join(', ')}`);
  const lines = text.stdout.split('\n');
  const argmaxFinding = findings.find((f) => f.rule === 'ANE039' && f.file.endsWith('Mosaic.mlpackage'))!;
  assert.match(lines[argmaxFinding.line - 1]!, /= reduce_argmax\(/, 'check lines point into the MIL view that inspect prints');
  assert.ok(findings.some((f) => f.severity === 'warning' && /weights missing/.test(f.message)));
});
