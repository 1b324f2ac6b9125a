import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findChip } from '../../common/chips';
import type { GraphIR, OpNode } from '../../common/graphIR';
import { placeGraph } from '../../server/src/placement/placeGraph';
import { summarizePlacement } from '../../server/src/placement/segments';

function graph(format: GraphIR['format'], ops: OpNode[], constants: GraphIR['constants'] = []): GraphIR {
  return { schemaVersion: 1, name: 'g', format, inputs: [{ name: 'x', type: { dtype: 'fp16', shape: [1, 8, 64, 64] } }], outputs: [ops.at(-1)!.outputs[0]!.name], constants, ops, warnings: [] };
}
const out = (name: string, dtype: 'fp16' | 'fp32' | 'int32' = 'fp16', shape = [1, 8, 64, 64]) => [{ name, type: { dtype, shape } }];
const op = (name: string, type: string, inputs: string[], attrs: OpNode['attrs'] = {}, o = out(name), originalOp = type): OpNode => ({ name, op: type, originalOp, inputs, outputs: o, attrs });
const rules = (g: GraphIR, chip: string) => placeGraph(g, findChip(chip)).ops.map((o) => o.placement?.rule ?? o.placement?.device);

test('conv kernel width per chip tier (ANE031), from attrs or from the weight constant', () => {
  const w = { name: 'w', type: { dtype: 'fp16' as const, shape: [8, 8, 1, 15] } };
  const g = graph('mlpackage', [op('c', 'conv', ['x', 'w'], { strides: [1, 1], groups: 1 })], [w]);
  assert.deepEqual(rules(g, 'M1'), ['ANE031']);
  assert.deepEqual(rules(g, 'M4'), ['ane']);
  const wide = graph('onnx', [op('c', 'conv', ['x', 'w'], { kernel_sizes: [1, 17] })], [w]);
  assert.deepEqual(rules(wide, 'M4'), ['ANE031']);
});

test('resize needs M2+, pad modes and channel padding (ANE035, ANE044), fp32/int32 compute in ML programs only', () => {
  const g = graph('mlpackage', [
    op('r', 'resize_bilinear', ['x']),
    op('p', 'pad', ['r'], { mode: 'reflect', pad: [0, 0, 0, 0, 1, 1, 1, 1] }),
    op('q', 'pad', ['p'], { mode: 'constant', pad: [0, 0, 1, 1, 0, 0, 0, 0] }),
    op('f', 'relu', ['q'], {}, out('f', 'fp32')),
    op('i', 'add', ['f'], {}, out('i', 'int32')),
    op('k', 'cast', ['i'], { dtype: 'fp16' }),
  ]);
  assert.deepEqual(rules(g, 'M1'), ['ANE035', 'ANE044', 'ANE044', 'ANE001', 'ANE003', 'ane']);
  assert.deepEqual(rules(g, 'M4'), ['ane', 'ane', 'ANE044', 'ANE001', 'ANE003', 'ane']);
  assert.deepEqual(rules({ ...g, format: 'onnx' }, 'M4'), ['ane', 'ane', 'ANE044', 'ane', 'ane', 'ane']);
  assert.equal(placeGraph(g, findChip('M4')).ops[3]!.placement?.device, 'gpu');
});

test('NeuralNetwork layers: dilation, pooling kernel/stride, non-neural stages; segments and transfers', () => {
  const nn = (name: string, type: string, layer: string, inputs: string[], attrs: OpNode['attrs']) => op(name, type, inputs, attrs, out(name), `NeuralNetwork.${layer}`);
  const g = graph('mlmodel', [
    nn('a', 'conv', 'convolution', ['x'], { dilations: [2, 2] }),
    nn('b', 'max_pool', 'pooling', ['a'], { kernel_sizes: [2, 2], strides: [2, 2] }),
    nn('c', 'avg_pool', 'pooling', ['b'], { kernel_sizes: [14, 14], strides: [1, 1] }),
    nn('d', 'relu', 'activation', ['c'], {}),
    op('e', 'glmClassifier', ['d'], {}, out('e'), 'CoreML.glmClassifier'),
  ]);
  const placed = placeGraph(g, findChip('M4'));
  assert.deepEqual(placed.ops.map((o) => o.placement?.rule ?? o.placement?.device), ['ANE033', 'ane', 'ANE031', 'ane', 'cpu']);
  assert.equal(placed.ops[4]!.placement?.reason, 'cannot run on the ANE: glmClassifier is not a neural network (Core ML evaluates it on the CPU)');
  const s = summarizePlacement(placed);
  assert.deepEqual(s.segments.map((x) => [x.device, x.ops]), [['cpu', 1], ['ane', 1], ['cpu', 1], ['ane', 1], ['cpu', 1]]);
  assert.deepEqual(s.transfers.map((t) => `${t.from}->${t.to}`), ['a->b', 'b->c', 'c->d', 'd->e']);
  assert.equal(s.aneResidency, 0.4);
});
