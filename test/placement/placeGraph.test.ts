import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findChip } from '../../common/chips';
import { GRAPH_IR_VERSION, parseGraphIR, type GraphIR, type OpNode } from '../../common/graphIR';
import { offAneTable, placeGraph, placementSeverity } from '../../server/src/placement/placeGraph';

const M4 = findChip('M4');
const M1 = findChip('M1');

function op(name: string, type: string, shape: Array<number | string> = [1, 8, 1, 64], attrs: OpNode['attrs'] = {}): OpNode {
  return { name, op: type, originalOp: type, inputs: ['x'], outputs: [{ name: `${name}:0`, type: { dtype: 'fp16', shape } }], attrs };
}

function graph(ops: OpNode[]): GraphIR {
  return {
    schemaVersion: GRAPH_IR_VERSION, name: 'g', format: 'mil', inputs: [{ name: 'x', type: { dtype: 'fp16', shape: [1, 8, 1, 64] } }],
    outputs: [ops[ops.length - 1]!.outputs[0]!.name], constants: [], ops, warnings: [],
  };
}

test('ops with no ANE path go to the CPU with the rule from ane-knowledge.md', () => {
  const cases: Array<[string, string]> = [
    ['lstm', 'ANE026'], ['gru', 'ANE026'], ['rnn', 'ANE026'], ['cond', 'ANE027'], ['while_loop', 'ANE027'],
    ['scatter_nd', 'ANE025'], ['scatter_along_axis', 'ANE025'], ['gather', 'ANE024'], ['gather_nd', 'ANE024'],
    ['band_part', 'ANE023'], ['mod', 'ANE040'], ['logical_and', 'ANE040'], ['logical_or', 'ANE040'],
    ['logical_xor', 'ANE040'], ['reduce_prod', 'ANE040'], ['non_maximum_suppression', 'ANE045'],
    ['reduce_argmax', 'ANE039'], ['onnx.string_normalizer', 'ANE028'],
  ];
  const placed = placeGraph(graph(cases.map(([t], k) => op(`op${k}`, t))), M4);
  cases.forEach(([type, rule], k) => {
    const p = placed.ops[k]!.placement;
    assert.equal(p?.device, 'cpu', type);
    assert.equal(p?.rule, rule, type);
    assert.ok(p?.reason && p.reason.length > 10, `${type} has a reason`);
  });
  for (const { op: type, rule } of offAneTable()) assert.match(rule, /^ANE0\d\d$/, type);
});

test('supported ops stay on the ANE with no reason; the input graph is not mutated', () => {
  const g = graph(['conv', 'linear', 'matmul', 'softmax', 'layer_norm', 'reshape', 'add', 'relu', 'gelu', 'reduce_mean'].map((t, k) => op(`op${k}`, t)));
  const placed = placeGraph(g, M4);
  assert.ok(placed.ops.every((o) => o.placement?.device === 'ane' && o.placement.reason === undefined));
  assert.ok(g.ops.every((o) => o.placement === undefined), 'pure');
  parseGraphIR(placed, 'placed');
});

test('shape limits: rank > 5 is ANE013, spatial extents above the chip limit are ANE014', () => {
  const placed = placeGraph(graph([
    op('rank6', 'reshape', [1, 2, 3, 4, 5, 6]),
    op('wide_m4', 'conv', [1, 8, 1, 70_000]),
    op('ok_m4', 'conv', [1, 8, 1, 20_000]),
    op('channels', 'conv', [1, 70_000, 1, 8]),
  ]), M4);
  assert.equal(placed.ops[0]!.placement?.rule, 'ANE013');
  assert.equal(placed.ops[1]!.placement?.rule, 'ANE014');
  assert.equal(placed.ops[2]!.placement?.device, 'ane', '20000 fits the M4 limit of 65536');
  assert.equal(placed.ops[3]!.placement?.rule, 'ANE014');
  const onM1 = placeGraph(graph([op('ok_m4', 'conv', [1, 8, 1, 20_000])]), M1);
  assert.equal(onM1.ops[0]!.placement?.rule, 'ANE014', '20000 exceeds the M1 limit of 16384');
});

test('chip-dependent ops and special cases', () => {
  const g = graph([op('s', 'sin'), op('t', 'topk'), op('c3', 'conv', [1, 8, 4, 4, 4], { strides: [1, 1, 1] }), op('ci', 'cast', [1, 8], { dtype: 'int32' })]);
  const m1 = placeGraph(g, M1);
  assert.deepEqual(m1.ops.map((o) => o.placement?.rule), ['ANE040', 'ANE039', 'ANE034', 'ANE003']);
  const m4 = placeGraph(g, M4);
  assert.deepEqual(m4.ops.map((o) => o.placement?.device), ['ane', 'ane', 'cpu', 'cpu']);
});

test('symbolic shapes add one ANE015 note; severities follow the rule catalog', () => {
  const placed = placeGraph(graph([op('a', 'relu', ['batch', 8, 1, 64]), op('b', 'relu')]), M4);
  assert.equal(placed.warnings.filter((w) => w.startsWith('ANE015')).length, 1);
  assert.equal(placementSeverity('ANE026'), 'error');
  assert.equal(placementSeverity('ANE024'), 'warning');
  assert.equal(placementSeverity(undefined), 'info');
});

test('placement is fast on a large graph', () => {
  const big = graph(Array.from({ length: 20_000 }, (_, k) => op(`op${k}`, k % 7 === 0 ? 'gather' : 'conv')));
  const t0 = performance.now();
  const placed = placeGraph(big, M4);
  const ms = performance.now() - t0;
  assert.equal(placed.ops.filter((o) => o.placement?.device === 'cpu').length, Math.ceil(20_000 / 7));
  assert.ok(ms < 2000, `${ms.toFixed(0)} ms for 20k ops`);
});
