// The cost model against the published ANE micro-benchmarks (../shared/docs/ane-knowledge.md §4 rows 18, 19,
// 21, 22), one parameter set for all (native/src/cost.cpp, docs/native.md "Cost model"). Each error is printed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { convStack, NO_ADDON, simulate } from './simGraphs';

interface Row { id: string; chip: string; n: number; c: number; h: number; w: number; k: number; measuredMs: number; what: string }

const ROWS: Row[] = [
  { id: '18a', chip: 'M4', n: 128, c: 512, h: 64, w: 64, k: 1, measuredMs: 14.8, what: '128 stacked 1x1 conv 512 ch 64x64' },
  { id: '18b', chip: 'M4', n: 64, c: 512, h: 64, w: 64, k: 1, measuredMs: 7.5, what: '64 stacked 1x1 conv 512 ch 64x64' },
  { id: '19', chip: 'M5', n: 1, c: 256, h: 1, w: 64, k: 1, measuredMs: 0.07, what: '1x1 conv 256->256, spatial 64' },
  ...[16, 32, 64, 128, 256].map((s, i) => ({
    id: `21@${s}`, chip: 'M1', n: 1, c: 64, h: s, w: s, k: 3, measuredMs: [0.231, 0.248, 0.395, 1.062, 3.814][i]!, what: `3x3 conv 64 ch @${s}x${s}`,
  })),
  { id: '22a', chip: 'M1', n: 1, c: 256, h: 28, w: 28, k: 3, measuredMs: 0.507, what: '3x3 conv C256 @28x28' },
  { id: '22b', chip: 'M1', n: 1, c: 512, h: 32, w: 32, k: 1, measuredMs: 0.444, what: '1x1 conv C512 @32x32' },
  { id: '22c', chip: 'M1', n: 1, c: 1024, h: 16, w: 16, k: 1, measuredMs: 0.686, what: '1x1 conv C1024 @16x16' },
  { id: '22d', chip: 'M1', n: 1, c: 2048, h: 8, w: 8, k: 1, measuredMs: 1.047, what: '1x1 conv C2048 @8x8' },
];

const TOLERANCE = 0.35;

test('cost model reproduces §4 rows 18, 19, 21, 22 within ±35% with one parameter set', { skip: NO_ADDON }, (t) => {
  const failures: string[] = [];
  for (const row of ROWS) {
    const { report } = simulate(convStack(row.n, row.c, row.h, row.w, row.k), row.chip);
    assert.equal(report.aneResidency, 1, `${row.id}: every conv on the ANE`);
    assert.equal(report.segments, 1, `${row.id}: one ANE program`);
    const err = report.totalMs / row.measuredMs - 1;
    const line = `row ${row.id.padEnd(6)} ${row.chip} ${row.what.padEnd(36)} predicted ${report.totalMs.toFixed(4)} ms, measured ${row.measuredMs} ms, error ${(err * 100).toFixed(1)}%`;
    t.diagnostic(line);
    console.log(line);
    if (Math.abs(err) > TOLERANCE) failures.push(line);
  }
  assert.deepEqual(failures, []);
});
