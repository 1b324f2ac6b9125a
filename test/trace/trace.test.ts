// The PyTorch path through the real side-process: ane_trace.py traces fixture modules, the report keeps
// op types and source lines, an LSTM lands on the CPU (ANE026), and untraceable modules fail with the line.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SideProcessErrorCodes, type RunParams } from '../../common/sideProcessProtocol';
import type { RunReport } from '../../common/runReport';
import { readNpyFile } from '../../native/host/npy';
import { SideProcessClient } from '../../native/host/supervisor';
import { distFile, findTorchPython, FIXTURES, NO_TORCH } from '../helpers';
import { rejection } from '../sideprocess/rejection';

const python = findTorchPython();
const FILE = join(FIXTURES, 'pytorch', 'tracenet.py');
const BLOCKS = join(FIXTURES, 'pytorch', 'blocks.py');

function pytorch(className: string, inputShapes: number[][], extra: Partial<RunParams> = {}): RunParams {
  return { target: { kind: 'pytorch', file: FILE, className, inputShapes, pythonPath: python ?? 'python3' }, backend: 'sim', chip: 'M4', ...extra };
}


describe('PyTorch tracing through the side-process', { skip: python ? false : NO_TORCH, timeout: 180_000 }, () => {
  let client: SideProcessClient;
  let dir: string;
  before(() => {
    client = new SideProcessClient({ scriptPath: distFile('sideprocess.js') });
    dir = mkdtempSync(join(tmpdir(), 'ane-lens-trace-'));
  });
  after(() => {
    client.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  test('modules, functional calls and tensor methods map to MIL ops with their source lines; output matches PyTorch', async (t) => {
    // PyTorch's own output for the same seed-0 weights and input, to check the traced graph computes the same thing.
    const script = [
      'import sys, numpy as np, torch',
      `sys.path.insert(0, ${JSON.stringify(join(FIXTURES, 'pytorch'))})`,
      'import tracenet',
      'torch.manual_seed(0)',
      'm = tracenet.TraceNet().eval()',
      'x = torch.randn(1, 3, 32, 32)',
      'with torch.no_grad(): y = m(x)',
      `np.save(${JSON.stringify(join(dir, 'x.npy'))}, x.numpy())`,
      `np.save(${JSON.stringify(join(dir, 'y.npy'))}, y.numpy())`,
    ].join('\n');
    execFileSync(python!, ['-c', script], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } });

    const started = Date.now();
    const report = await client.run(pytorch('TraceNet', [[1, 3, 32, 32]], { inputNpy: { x: join(dir, 'x.npy') }, saveOutputsTo: join(dir, 'out'), seed: 0 }));
    t.diagnostic(`trace + run took ${Date.now() - started} ms`);
    const rows = report.layers.map((l) => [l.op, l.originalOp, l.source ? `${basename(l.source.file)}:${l.source.line}` : '-']);
    assert.deepEqual(rows, [
      ['conv', 'nn.Conv2d', 'tracenet.py:12'], // self.stem = ... in __init__
      ['relu', 'F.relu', 'tracenet.py:22'], // forward line
      ['conv', 'nn.Conv2d', 'blocks.py:8'], // block.conv: followed into ConvBlock's file
      ['batch_norm', 'nn.BatchNorm2d', 'blocks.py:9'],
      ['clip', 'nn.ReLU6', 'blocks.py:10'],
      ['add', 'operator.add', 'tracenet.py:23'],
      ['avg_pool', 'F.adaptive_avg_pool2d', 'tracenet.py:24'],
      ['reshape', 'nn.Flatten', 'tracenet.py:15'], // element 0 of the inline nn.Sequential(...)
      ['linear', 'nn.Linear', 'tracenet.py:16'],
      ['layer_norm', 'nn.LayerNorm', 'tracenet.py:18'],
      ['sigmoid', 'torch.sigmoid', 'tracenet.py:27'],
      ['mul', 'operator.mul', 'tracenet.py:27'],
      ['reshape', 'Tensor.view', 'tracenet.py:28'], // y.size(0) folded to a constant
    ]);
    assert.equal(report.layers[2].source?.file, BLOCKS);
    assert.equal(report.model.format, 'pytorch');
    assert.equal(report.model.file, FILE);
    assert.equal(report.aneResidency, 1);
    for (const l of report.layers) assert.equal(l.notExecuted, undefined, `${l.name}: ${l.notExecuted}`);

    const got = readNpyFile(join(dir, 'out', 'view.npy'));
    const want = readNpyFile(join(dir, 'y.npy'));
    assert.deepEqual(got.shape, [1, 4, 4]);
    let maxRef = 0;
    let maxErr = 0;
    for (let i = 0; i < want.data.length; i++) {
      maxRef = Math.max(maxRef, Math.abs(want.data[i]));
      maxErr = Math.max(maxErr, Math.abs(got.data[i] - want.data[i]));
    }
    // Same fp16 tolerance argument as test/sideprocess/onnxRun.test.ts.
    assert.ok(maxErr <= 1e-2 * maxRef + 1e-3, `max abs error ${maxErr} vs max|ref| ${maxRef}`);
  });

  test('an LSTM is traced as one lstm op placed on the CPU (ANE026); what follows is costed but not executed', async () => {
    const report: RunReport = await client.run(pytorch('SeqNet', [[1, 7, 12]]));
    const byName = new Map(report.layers.map((l) => [l.name, l]));
    const lstm = byName.get('lstm');
    assert.ok(lstm, `layers: ${[...byName.keys()].join(', ')}`);
    assert.equal(lstm.op, 'lstm');
    assert.equal(lstm.originalOp, 'nn.LSTM');
    assert.equal(lstm.device, 'cpu');
    assert.equal(lstm.rule, 'ANE026');
    assert.ok(lstm.reason && lstm.reason.length > 0);
    assert.equal(lstm.source?.line, 35);
    assert.ok(lstm.notExecuted);
    assert.equal(byName.get('proj')?.source?.line, 34);
    assert.equal(byName.get('tanh')?.source?.line, 39);
    assert.equal(byName.get('out')?.source?.line, 36);
    const sm = report.layers.at(-1)!;
    assert.equal(sm.op, 'softmax');
    assert.equal(sm.source?.line, 42);
    assert.ok(sm.notExecuted, 'downstream of the LSTM is not executed');
    assert.ok(report.layers.some((l) => l.op === 'slice_by_index' && l.source?.line === 41), 'seq[:, -1, :] is a slice');
    assert.equal(lstm.fallback, 'unsupported');
    // Every other layer could run on the ANE; the segmenter may still keep small ones on the CPU for cost,
    // and then it must say so. Residency and segments follow from the devices.
    for (const l of report.layers) {
      if (l !== lstm && l.device !== 'ane') assert.equal(l.fallback, 'cost', `${l.name} is on ${l.device} without a cost reason`);
    }
    const ane = report.layers.filter((l) => l.device === 'ane').length;
    assert.equal(report.aneResidency, ane / report.layers.length);
    const runs = report.layers.filter((l, i) => i === 0 || l.device !== report.layers[i - 1].device).length;
    assert.equal(report.segments, runs);
    assert.ok(report.warnings.some((w) => w.includes('CPU roofline')));
  });

  test('an untraceable module fails with TraceFailed naming the line', async () => {
    const e = await rejection(client.run(pytorch('Untraceable', [[2, 4]])));
    assert.equal(e.code, SideProcessErrorCodes.TraceFailed);
    assert.match(e.message, /Untraceable\.forward line 51 \(tracenet\.py:51\): data-dependent control flow cannot be traced/);
    assert.doesNotMatch(e.message, /\n/);
  });

  test('a module whose __init__ needs arguments fails with a clear message', async () => {
    const e = await rejection(client.run(pytorch('NeedsArgs', [[1, 4]])));
    assert.equal(e.code, SideProcessErrorCodes.TraceFailed);
    assert.match(e.message, /NeedsArgs\.__init__ needs arguments \(width\)/);
  });

  test('a trace past timeoutMs is stopped and its Python process killed', async () => {
    const slow = join(FIXTURES, 'pytorch', 'slow_import.py');
    const started = Date.now();
    const e = await rejection(client.run({ ...pytorch('Slow', [[1, 4]]), target: { kind: 'pytorch', file: slow, className: 'Slow', inputShapes: [[1, 4]], pythonPath: python! }, timeoutMs: 3000 }));
    assert.equal(e.code, SideProcessErrorCodes.Timeout);
    assert.match(e.message, /exceeded its time limit of 3000 ms while tracing Slow with /);
    assert.ok(Date.now() - started < 15_000);
    // SIGKILL is delivered at once, but the process table may take a moment to drop the entry.
    const alive = () => readdirSync('/proc').filter((p) => /^\d+$/.test(p)).some((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(slow);
      } catch {
        return false;
      }
    });
    for (let i = 0; i < 50 && alive(); i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(alive(), false, 'no python process is still tracing slow_import.py');
  });

  test('forward() parameters beyond the given shapes keep their defaults', async () => {
    const one = await client.run(pytorch('WithDefaults', [[1, 4]]));
    assert.deepEqual(one.layers.map((l) => l.op), ['linear', 'mul']);
    const two = await client.run(pytorch('WithDefaults', [[1, 4], [1, 4]]));
    assert.deepEqual(two.layers.map((l) => l.op), ['linear', 'mul', 'mul']);
    const many = await rejection(client.run(pytorch('WithDefaults', [[1, 4], [1, 4], [1], [1]])));
    assert.match(many.message, /WithDefaults\.forward takes 1 to 3 input\(s\) \(x, mask, scale\) but 4 shape\(s\) were given/);
  });

  test('a missing class and a wrong number of input shapes are reported as such', async () => {
    const missing = await rejection(client.run(pytorch('Nope', [[1, 4]])));
    assert.match(missing.message, /tracenet\.py defines no class Nope/);
    const shapes = await rejection(client.run(pytorch('TraceNet', [[1, 3, 32, 32], [1, 4]])));
    assert.match(shapes.message, /takes 1 input\(s\) \(x\) but 2 shape\(s\) were given/);
  });
});

test('a Python that is not there, or has no torch, gives TraceFailed with the interpreter named', { timeout: 60_000 }, async (t) => {
  const client = new SideProcessClient({ scriptPath: distFile('sideprocess.js') });
  t.after(() => client.dispose());
  const absent = await rejection(client.run({ ...pytorch('TraceNet', [[1, 3, 32, 32]]), target: { kind: 'pytorch', file: FILE, className: 'TraceNet', inputShapes: [[1, 3, 32, 32]], pythonPath: '/nonexistent/python3' } }));
  assert.equal(absent.code, SideProcessErrorCodes.TraceFailed);
  assert.match(absent.message, /cannot run Python \/nonexistent\/python3: not found/);

  // The pyenv python3 first on PATH usually lacks torch; when it has it, this half has nothing to show.
  let noTorch: string | undefined;
  try {
    execFileSync('python3', ['-c', 'import importlib.util, sys; sys.exit(0 if importlib.util.find_spec("torch") is None else 1)'], { stdio: 'ignore' });
    noTorch = 'python3';
  } catch {
    noTorch = undefined;
  }
  if (!noTorch) {
    t.diagnostic('skipped: every python3 here has torch, so the "cannot import torch" message is not exercised');
    return;
  }
  const e = await rejection(client.run({ ...pytorch('TraceNet', [[1, 3, 32, 32]]), target: { kind: 'pytorch', file: FILE, className: 'TraceNet', inputShapes: [[1, 3, 32, 32]], pythonPath: noTorch } }));
  assert.equal(e.code, SideProcessErrorCodes.TraceFailed);
  assert.match(e.message, /^cannot import torch with \S+: ModuleNotFoundError/);
});
