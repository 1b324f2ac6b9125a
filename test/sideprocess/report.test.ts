// Run report assembly from a placed graph and an executor result (no processes involved).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findChip } from '../../common/chips';
import type { Device, GraphIR } from '../../common/graphIR';
import { AddonRunResultSchema, type AddonRunResult } from '../../native/host/addon';
import { buildRunReport, countSegments } from '../../native/host/report';

function graph(devices: Device[]): GraphIR {
  return {
    schemaVersion: 1, name: 'g', format: 'pytorch', file: '/m.py', inputs: [{ name: 'x', type: { dtype: 'fp32', shape: [1, 4] } }],
    outputs: [`v${devices.length - 1}`], constants: [], warnings: ['from the reader'],
    ops: devices.map((device, i) => ({
      name: `op${i}`, op: device === 'cpu' ? 'lstm' : 'relu', originalOp: 'X', inputs: [i === 0 ? 'x' : `v${i - 1}`],
      outputs: [{ name: `v${i}`, type: { dtype: 'fp32', shape: [1, 4] } }], attrs: {},
      source: { file: '/m.py', line: 10 + i },
      placement: device === 'ane' ? { device } : { device, reason: 'recurrent', rule: 'ANE026' },
    })),
  };
}

function result(n: number, order: number[]): AddonRunResult {
  return AddonRunResultSchema.parse({
    order,
    layers: Array.from({ length: n }, (_, i) => ({
      name: `op${i}`, flops: 4, bytes: 128, estMs: i + 1, outputShape: [1, 4], executed: i !== 2,
      ...(i === 2 ? { notExecuted: 'no kernel' } : { numerics: { maxAbsError: i === 1 ? null : 0.001, maxRelError: 0.01, infCount: i === 1 ? 3 : 0, nanCount: 0 } }),
    })),
    totalMs: 10, peakActivationBytes: 64, firstOverflowLayer: 'op1',
    outputs: [{ name: 'v3', shape: [1, 4], maxAbsError: 0.5, maxRelError: null }],
  });
}

test('segments count maximal same-device runs', () => {
  assert.equal(countSegments([]), 0);
  assert.equal(countSegments(['ane', 'ane']), 1);
  assert.equal(countSegments(['ane', 'cpu', 'cpu', 'ane', 'gpu']), 4);
});

test('layers follow execution order with placement, costs, numerics and source; totals are derived', () => {
  // Graph order op0..op3, executed as op1, op0, op2, op3 (devices ane, ane, cpu, ane).
  const report = buildRunReport(graph(['ane', 'ane', 'cpu', 'ane']), findChip('M4'), result(4, [1, 0, 2, 3]));
  assert.deepEqual(report.layers.map((l) => l.name), ['op1', 'op0', 'op2', 'op3']);
  assert.equal(report.segments, 3);
  assert.equal(report.aneResidency, 0.75);
  assert.equal(report.aneTimeShare, (2 + 1 + 4) / 10);
  assert.equal(report.totalMs, 10);
  const lstm = report.layers[2];
  assert.deepEqual([lstm.device, lstm.rule, lstm.reason, lstm.notExecuted, lstm.numerics], ['cpu', 'ANE026', 'recurrent', 'no kernel', undefined]);
  assert.deepEqual(report.layers[0].source, { file: '/m.py', line: 11 });
  // An overflowed error (null in the executor's JSON) stays a finite number in the report.
  assert.equal(report.layers[0].numerics?.maxAbsError, Number.MAX_VALUE);
  assert.equal(report.layers[0].numerics?.infCount, 3);
  assert.equal(report.outputs[0].maxRelError, Number.MAX_VALUE);
  assert.equal(report.firstOverflowLayer, 'op1');
  assert.deepEqual(report.model, { name: 'g', format: 'pytorch', file: '/m.py' });
  assert.equal(report.warnings[0], 'from the reader');
  assert.match(report.warnings[1], /M4: the CPU roofline is an assumption/);
});

test('an all-ANE graph has residency 1, one segment and no roofline warning', () => {
  const report = buildRunReport(graph(['ane', 'ane', 'ane', 'ane']), findChip('m1'), result(4, [0, 1, 2, 3]));
  assert.equal(report.aneResidency, 1);
  assert.equal(report.aneTimeShare, 1);
  assert.equal(report.segments, 1);
  assert.equal(report.chip, 'M1');
  assert.deepEqual(report.warnings, ['from the reader']);
});

test('the executor result schema rejects malformed results', () => {
  assert.throws(() => AddonRunResultSchema.parse({ order: [0], layers: [], totalMs: -1 }));
});

test('a reason shared by every layer comes once at the top of the result and reaches each report layer', () => {
  // The addon writes { executed: false } layers without notExecuted, plus the shared reason at the top, when
  // no layer ran for one reason (execute: false); launchMs and transferMs are left out when 0.
  const shared = 'execution disabled (options.execute is false)';
  const parsed = AddonRunResultSchema.parse({
    order: [0, 1],
    layers: [0, 1].map((i) => ({ name: `op${i}`, flops: 4, bytes: 128, estMs: 1, outputShape: [1, 4], executed: false, ...(i === 0 ? { launchMs: 0.5 } : {}) })),
    totalMs: 2, peakActivationBytes: 64, firstOverflowLayer: null, outputs: [], notExecuted: shared,
  });
  const report = buildRunReport(graph(['ane', 'ane']), findChip('M4'), parsed);
  assert.deepEqual(report.layers.map((l) => [l.notExecuted, l.launchMs, l.transferMs]), [[shared, 0.5, undefined], [shared, undefined, undefined]]);
});
