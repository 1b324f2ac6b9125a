import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, ftruncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseGraphIR, type GraphIR, type OpNode } from '../../common/graphIR';
import { ModelReadError, readOnnxBytes, readOnnxFile } from '../../server/src/onnx/readOnnx';
import { decodeBytes } from '../../server/src/onnx/tensorData';
import { ROOT } from '../helpers';
import { buildModel, floatTensor, int64Tensor, node, valueInfo, type ModelSpec } from './onnxBuild';

const CONVNET = join(ROOT, 'examples', 'convnet.onnx');

function read(spec: ModelSpec) {
  const r = readOnnxBytes(buildModel(spec), 'test.onnx');
  parseGraphIR(r.graph, 'reader output');
  return r;
}

function op(g: GraphIR, type: string): OpNode {
  const found = g.ops.find((o) => o.op === type);
  assert.ok(found, `no ${type} op in ${g.ops.map((o) => o.op).join(', ')}`);
  return found;
}

function shapeOf(g: GraphIR, value: string) {
  for (const o of g.ops) for (const out of o.outputs) if (out.name === value) return out.type.shape;
  return undefined;
}

test('convnet.onnx: normalized ops, inferred shapes, constants inside the blob', () => {
  const { graph, weights } = readOnnxFile(CONVNET);
  parseGraphIR(graph, CONVNET);
  assert.equal(graph.name, 'convnet');
  assert.deepEqual(graph.inputs, [{ name: 'image', type: { dtype: 'fp32', shape: [1, 3, 64, 64] } }]);
  assert.deepEqual(graph.ops.map((o) => o.op), ['conv', 'relu', 'conv', 'relu', 'max_pool', 'conv', 'relu', 'reduce_mean', 'reshape', 'linear', 'softmax']);
  const conv2 = graph.ops[2]!;
  assert.deepEqual(conv2.attrs, { strides: [2, 2], dilations: [1, 1], groups: 1, pad: [1, 1, 1, 1] });
  assert.deepEqual(conv2.outputs[0]!.type.shape, [1, 32, 32, 32]);
  assert.deepEqual(op(graph, 'reduce_mean').attrs, { axes: [2, 3], keep_dims: true });
  assert.deepEqual(op(graph, 'reshape').attrs, { shape: [1, 32] });
  assert.deepEqual(op(graph, 'softmax').outputs[0]!.type.shape, [1, 10]);
  for (const c of graph.constants) {
    assert.ok(c.data, `${c.name} has bytes`);
    assert.ok(c.data.offset % 64 === 0 && c.data.offset + c.data.byteLength <= weights.length);
  }
  const w = graph.constants.find((c) => c.name === 'classifier.weight')!;
  assert.deepEqual(w.type.shape, [10, 32]);
});

test('Reshape resolves 0 and -1; constant Shape→Gather→Unsqueeze→Concat subgraphs fold away', () => {
  const { graph } = read({
    nodes: [
      node({ op: 'Shape', inputs: ['x'], outputs: ['s'] }),
      node({ op: 'Gather', inputs: ['s', 'zero'], outputs: ['b'], attrs: { axis: 0 } }),
      node({ op: 'Unsqueeze', inputs: ['b', 'axes0'], outputs: ['b1'] }),
      node({ op: 'Concat', inputs: ['b1', 'minus1'], outputs: ['target'], attrs: { axis: 0 } }),
      node({ op: 'Reshape', inputs: ['x', 'target'], outputs: ['flat'] }),
      node({ op: 'Reshape', inputs: ['flat', 'zero_keep'], outputs: ['y'] }),
    ],
    inputs: [valueInfo('x', [2, 3, 4, 5])],
    outputs: [valueInfo('y', undefined)],
    initializers: [int64Tensor('zero', [0], []), int64Tensor('axes0', [0]), int64Tensor('minus1', [-1]), int64Tensor('zero_keep', [0, 4, -1])],
  });
  assert.deepEqual(graph.ops.map((o) => o.op), ['reshape', 'reshape']);
  assert.deepEqual(graph.ops[0]!.attrs, { shape: [2, 60] });
  assert.deepEqual(graph.ops[1]!.attrs, { shape: [2, 4, 15] });
  assert.equal(graph.constants.length, 0, 'folded shape constants are not emitted');
});

test('Conv 1-D with SAME_UPPER becomes reshape → 2-D conv → reshape', () => {
  const { graph, weights } = read({
    nodes: [node({ op: 'Conv', inputs: ['x', 'w'], outputs: ['y'], attrs: { auto_pad: 'SAME_UPPER', strides: [2], kernel_shape: [4] } })],
    inputs: [valueInfo('x', [1, 2, 9])],
    outputs: [valueInfo('y', undefined)],
    initializers: [floatTensor('w', [3, 2, 4])],
  });
  assert.deepEqual(graph.ops.map((o) => o.op), ['reshape', 'conv', 'reshape']);
  const conv = op(graph, 'conv');
  // out = ceil(9/2) = 5; total pad = (5-1)*2 + 4 - 9 = 3 → 1 before, 2 after (SAME_UPPER).
  assert.deepEqual(conv.attrs.pad, [0, 0, 1, 2]);
  assert.deepEqual(conv.attrs.strides, [1, 2]);
  assert.deepEqual(conv.outputs[0]!.type.shape, [1, 3, 1, 5]);
  assert.deepEqual(shapeOf(graph, 'y'), [1, 3, 5]);
  const w = graph.constants.find((c) => c.name === conv.inputs[1])!;
  assert.deepEqual(w.type.shape, [3, 2, 1, 4]);
  assert.equal(w.data!.byteLength, 3 * 2 * 4 * 4);
  assert.ok(weights.length >= w.data!.byteLength);
});

test('Gemm: transB=1 → linear; transB=0 → linear with a transposed weight; alpha≠1 → matmul + mul + add', () => {
  const base = (attrs: Record<string, number | { float: number }>): ModelSpec => ({
    nodes: [node({ op: 'Gemm', inputs: ['x', 'w', 'b'], outputs: ['y'], attrs })],
    inputs: [valueInfo('x', [2, 3])],
    outputs: [valueInfo('y', undefined)],
    initializers: [floatTensor('w', attrs.transB === 1 ? [4, 3] : [3, 4], Array.from({ length: 12 }, (_, k) => k)), floatTensor('b', [4])],
  });
  const a = read(base({ transB: 1 }));
  assert.deepEqual(a.graph.ops.map((o) => o.op), ['linear']);
  assert.deepEqual(a.graph.ops[0]!.outputs[0]!.type.shape, [2, 4]);
  const b = read(base({ transB: 0 }));
  assert.deepEqual(b.graph.ops.map((o) => o.op), ['linear']);
  const wt = b.graph.constants.find((c) => c.name === b.graph.ops[0]!.inputs[1])!;
  assert.deepEqual(wt.type.shape, [4, 3]);
  const values = decodeBytes(b.weights.subarray(wt.data!.offset, wt.data!.offset + wt.data!.byteLength), 'fp32');
  assert.deepEqual(values.slice(0, 3), [0, 4, 8], 'row 0 of Wᵀ is column 0 of W');
  const c = read(base({ transB: 1, alpha: { float: 2 } } as never));
  assert.deepEqual(c.graph.ops.map((o) => o.op), ['matmul', 'mul', 'add']);
  assert.equal(c.graph.ops[0]!.attrs.transpose_y, true);
});

test('Softmax before opset 13 flattens at axis; from 13 it is a plain axis', () => {
  const spec = (opset: number): ModelSpec => ({
    opset,
    nodes: [node({ op: 'Softmax', inputs: ['x'], outputs: ['y'], attrs: { axis: 1 } })],
    inputs: [valueInfo('x', [2, 3, 4])],
    outputs: [valueInfo('y', undefined)],
  });
  const old = read(spec(11)).graph;
  assert.deepEqual(old.ops.map((o) => o.op), ['reshape', 'softmax', 'reshape']);
  assert.deepEqual(old.ops[0]!.attrs, { shape: [2, 12] });
  assert.deepEqual(old.ops[1]!.attrs, { axis: 1 });
  assert.deepEqual(shapeOf(old, 'y'), [2, 3, 4]);
  const modern = read(spec(13)).graph;
  assert.deepEqual(modern.ops.map((o) => [o.op, o.attrs.axis]), [['softmax', 1]]);
});

test('Clip reads bounds from attributes (opset < 11) and inputs (≥ 11); 0..inf becomes relu', () => {
  const old = read({
    opset: 6,
    nodes: [node({ op: 'Clip', inputs: ['x'], outputs: ['y'], attrs: { min: { float: 0 }, max: { float: 6 } } })],
    inputs: [valueInfo('x', [1, 4])], outputs: [valueInfo('y', undefined)],
  }).graph;
  assert.deepEqual(old.ops[0]!.attrs, { alpha: 0, beta: 6 });
  const modern = read({
    opset: 13,
    nodes: [node({ op: 'Clip', inputs: ['x', 'lo'], outputs: ['y'] })],
    inputs: [valueInfo('x', [1, 4])], outputs: [valueInfo('y', undefined)],
    initializers: [floatTensor('lo', [], [0])],
  }).graph;
  assert.equal(modern.ops[0]!.op, 'relu');
});

test('ReduceMean axes from the attribute (opset 13) and from the input (opset 18)', () => {
  const common = { inputs: [valueInfo('x', [2, 3, 4])], outputs: [valueInfo('y', undefined)] };
  const a = read({ ...common, opset: 13, nodes: [node({ op: 'ReduceMean', inputs: ['x'], outputs: ['y'], attrs: { axes: [-1], keepdims: 0 } })] }).graph;
  assert.deepEqual(a.ops[0]!.attrs, { keep_dims: false, axes: [2] });
  assert.deepEqual(shapeOf(a, 'y'), [2, 3]);
  const b = read({ ...common, opset: 18, initializers: [int64Tensor('ax', [1])], nodes: [node({ op: 'ReduceMean', inputs: ['x', 'ax'], outputs: ['y'] })] }).graph;
  assert.deepEqual(b.ops[0]!.attrs, { keep_dims: true, axes: [1] });
  assert.deepEqual(shapeOf(b, 'y'), [2, 1, 4]);
});

test('Slice, Pad, Split, Transpose, Concat, Resize get MIL attrs and shapes', () => {
  const { graph } = read({
    opset: 13,
    nodes: [
      node({ op: 'Slice', inputs: ['x', 'st', 'en', 'ax', 'stp'], outputs: ['s'] }),
      node({ op: 'Pad', inputs: ['s', 'pads'], outputs: ['p'], attrs: { mode: 'reflect' } }),
      node({ op: 'Split', inputs: ['p'], outputs: ['a', 'b'], attrs: { axis: 1 } }),
      node({ op: 'Transpose', inputs: ['a'], outputs: ['t'], attrs: { perm: [0, 1, 3, 2] } }),
      node({ op: 'Concat', inputs: ['t', 't'], outputs: ['c'], attrs: { axis: -1 } }),
      node({ op: 'Resize', inputs: ['c', '', 'scales'], outputs: ['y'], attrs: { mode: 'nearest' } }),
    ],
    inputs: [valueInfo('x', [1, 4, 8, 8])],
    outputs: [valueInfo('y', undefined)],
    initializers: [
      int64Tensor('st', [1, -1]), int64Tensor('en', [4, -9]), int64Tensor('ax', [2, 3]), int64Tensor('stp', [1, -2]),
      int64Tensor('pads', [0, 0, 1, 0, 0, 0, 1, 0]), floatTensor('scales', [4], [1, 1, 2, 2]),
    ],
  });
  const slice = op(graph, 'slice_by_index');
  assert.deepEqual(slice.attrs.begin, [0, 0, 1, 7]);
  assert.deepEqual(slice.attrs.stride, [1, 1, 1, -2]);
  assert.deepEqual(slice.outputs[0]!.type.shape, [1, 4, 3, 4]);
  const pad = op(graph, 'pad');
  assert.deepEqual(pad.attrs, { pad: [0, 0, 0, 0, 1, 1, 0, 0], mode: 'reflect', constant_val: 0 });
  assert.deepEqual(op(graph, 'split').attrs, { axis: 1, split_sizes: [2, 2] });
  assert.deepEqual(shapeOf(graph, 'b'), [1, 2, 5, 4]);
  assert.deepEqual(shapeOf(graph, 't'), [1, 2, 4, 5]);
  assert.deepEqual(shapeOf(graph, 'c'), [1, 2, 4, 10]);
  const up = op(graph, 'upsample_nearest_neighbor');
  assert.deepEqual(up.attrs, { scale_factor_height: 2, scale_factor_width: 2 });
  assert.deepEqual(up.outputs[0]!.type.shape, [1, 2, 8, 20]);
});

test('Identity and Dropout fold; recurrent, control flow and unknown ops pass through with originalOp', () => {
  const thenBranch = { name: 'then', node: [node({ op: 'Relu', inputs: ['x'], outputs: ['r'] }), node({ op: 'Neg', inputs: ['r'], outputs: ['n'] })], output: [valueInfo('n', undefined)] };
  const { graph } = read({
    nodes: [
      node({ op: 'Identity', inputs: ['x'], outputs: ['i'] }),
      node({ op: 'Dropout', inputs: ['i'], outputs: ['d'] }),
      node({ op: 'LSTM', inputs: ['d', 'W', 'R'], outputs: ['ys', 'yh'], attrs: { hidden_size: 5 } }),
      node({ op: 'If', inputs: ['cond'], outputs: ['z'], attrs: { then_branch: { graph: thenBranch }, else_branch: { graph: thenBranch } } }),
      node({ op: 'FancyOp', inputs: ['d'], outputs: ['f'], domain: 'com.example' }),
    ],
    inputs: [valueInfo('x', [7, 1, 3]), valueInfo('cond', [], 9)],
    outputs: [valueInfo('ys', undefined), valueInfo('z', undefined), valueInfo('f', undefined)],
    initializers: [floatTensor('W', [1, 20, 3]), floatTensor('R', [1, 20, 5])],
  });
  const lstm = op(graph, 'lstm');
  assert.equal(lstm.originalOp, 'LSTM');
  assert.equal(lstm.inputs[0], 'x', 'Identity/Dropout were folded into aliases');
  assert.deepEqual(lstm.outputs.map((o) => o.type.shape), [[7, 1, 1, 5], [1, 1, 5]]);
  const cond = op(graph, 'cond');
  assert.equal(cond.attrs.subgraphs, 2);
  assert.equal(cond.attrs.then_branch_ops, 2);
  assert.ok(graph.warnings.some((w) => w.includes('subgraph')));
  const custom = graph.ops.find((o) => o.originalOp === 'FancyOp')!;
  assert.equal(custom.op, 'com.example.fancy_op');
});

test('graph outputs that are Identity outputs keep their names', () => {
  const { graph } = read({
    nodes: [node({ op: 'Relu', inputs: ['x'], outputs: ['r'] }), node({ op: 'Identity', inputs: ['r'], outputs: ['out'] })],
    inputs: [valueInfo('x', [1, 2])], outputs: [valueInfo('out', [1, 2])],
  });
  assert.deepEqual(graph.outputs, ['out']);
  assert.deepEqual(graph.ops.map((o) => o.op), ['relu', 'identity']);
});

test('symbolic dims stay symbols; value_info fills what inference cannot', () => {
  const { graph } = read({
    nodes: [node({ op: 'MatMul', inputs: ['x', 'w'], outputs: ['y'] }), node({ op: 'NonZero', inputs: ['y'], outputs: ['nz'] })],
    inputs: [valueInfo('x', ['batch', 'seq', 4])],
    outputs: [valueInfo('nz', undefined, 7)],
    valueInfo: [valueInfo('nz', [3, 'n'], 7)],
    initializers: [floatTensor('w', [4, 6])],
  });
  assert.deepEqual(shapeOf(graph, 'y'), ['batch', 'seq', 6]);
  assert.deepEqual(graph.ops[1]!.outputs[0]!.type, { dtype: 'int64', shape: [3, 'n'] });
});

test('int64 initializers are inlined as value; bytes copied into the blob', () => {
  const { graph } = read({
    nodes: [node({ op: 'Gather', inputs: ['table', 'idx'], outputs: ['y'], attrs: { axis: 0 } })],
    inputs: [valueInfo('idx', [2], 7)],
    outputs: [valueInfo('y', undefined)],
    initializers: [floatTensor('table', [5, 3])],
  });
  assert.deepEqual(op(graph, 'gather').outputs[0]!.type.shape, [2, 3]);
  const shapeConst = read({
    nodes: [node({ op: 'Add', inputs: ['x', 'k'], outputs: ['y'] })],
    inputs: [valueInfo('x', [3], 7)], outputs: [valueInfo('y', undefined)],
    initializers: [int64Tensor('k', [1, 2, 3])],
  }).graph.constants[0]!;
  assert.deepEqual(shapeConst.value, [1, 2, 3]);
  assert.equal(shapeConst.data!.byteLength, 24);
});

test('cycles, dangling inputs, missing graph and duplicate producers are ModelReadErrors naming the file', () => {
  const cyc = buildModel({
    nodes: [node({ op: 'Relu', inputs: ['b'], outputs: ['a'] }), node({ op: 'Relu', inputs: ['a'], outputs: ['b'] })],
    inputs: [valueInfo('x', [1])], outputs: [valueInfo('b', undefined)],
  });
  assert.throws(() => readOnnxBytes(cyc, 'cyc.onnx'), (e: Error) => e instanceof ModelReadError && /^cyc\.onnx: .*cycle/.test(e.message));
  const dangling = buildModel({ nodes: [node({ op: 'Relu', inputs: ['ghost'], outputs: ['y'] })], inputs: [], outputs: [valueInfo('y', undefined)] });
  assert.throws(() => readOnnxBytes(dangling, 'd.onnx'), /d\.onnx: node "y" reads "ghost"/);
  assert.throws(() => readOnnxBytes(new Uint8Array([0x08, 0x07]), 'nograph.onnx'), /nograph\.onnx: no graph/);
  assert.throws(() => readOnnxBytes(new Uint8Array(), 'empty.onnx'), /empty\.onnx: empty file/);
  const dup = buildModel({
    nodes: [node({ op: 'Relu', inputs: ['x'], outputs: ['y'] }), node({ op: 'Relu', inputs: ['x'], outputs: ['y'], name: 'again' })],
    inputs: [valueInfo('x', [1])], outputs: [valueInfo('y', undefined)],
  });
  assert.throws(() => readOnnxBytes(dup, 'dup.onnx'), /produced more than once/);
  const badRaw = buildModel({
    nodes: [node({ op: 'Add', inputs: ['x', 'w'], outputs: ['y'] })],
    inputs: [valueInfo('x', [4])], outputs: [valueInfo('y', undefined)],
    initializers: [{ name: 'w', dims: [4], data_type: 1, raw_data: new Uint8Array(6) }],
  });
  assert.throws(() => readOnnxBytes(badRaw, 'raw.onnx'), /raw\.onnx: initializer "w": raw_data holds 6 bytes/);
  assert.throws(() => readOnnxFile(join(ROOT, 'no-such.onnx')), /no-such\.onnx: cannot open: ENOENT/);
  assert.throws(() => readOnnxFile(ROOT), /not a file/);
});

test('external data: reported unavailable inside the folder, refused when it escapes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ane-onnx-'));
  const spec = (location: string): ModelSpec => ({
    nodes: [node({ op: 'Add', inputs: ['x', 'w'], outputs: ['y'] })],
    inputs: [valueInfo('x', [4])], outputs: [valueInfo('y', undefined)],
    initializers: [{ name: 'w', dims: [4], data_type: 1, data_location: 1, external_data: [{ key: 'location', value: location }, { key: 'offset', value: '0' }] }],
  });
  writeFileSync(join(dir, 'ok.onnx'), buildModel(spec('weights.bin')));
  const w = readOnnxFile(join(dir, 'ok.onnx')).graph.constants[0]!;
  assert.match(w.unavailable!, /external data in "weights\.bin"/);
  assert.equal(w.data, undefined);
  writeFileSync(join(dir, 'evil.onnx'), buildModel(spec('../../etc/passwd')));
  assert.throws(() => readOnnxFile(join(dir, 'evil.onnx')), /evil\.onnx: initializer "w": external data location "\.\.\/\.\.\/etc\/passwd" leaves the model's folder/);
  writeFileSync(join(dir, 'abs.onnx'), buildModel(spec('/etc/passwd')));
  assert.throws(() => readOnnxFile(join(dir, 'abs.onnx')), /must be a relative path/);
});

test('truncated and bit-flipped files only ever give ModelReadError', () => {
  const good = readFileSync(CONVNET);
  const cuts = [1, 2, 7, 16, 100, 1000, 5000, good.length >> 2, good.length >> 1, good.length - 100, good.length - 3, good.length - 1];
  let errors = 0;
  for (const n of cuts) {
    try {
      const r = readOnnxBytes(good.subarray(0, n), `cut${n}.onnx`);
      parseGraphIR(r.graph, 'truncated');
    } catch (e) {
      assert.ok(e instanceof ModelReadError, `cut at ${n}: ${(e as Error).stack}`);
      assert.match(e.message, new RegExp(`^cut${n}\\.onnx: `));
      errors++;
    }
  }
  assert.ok(errors >= cuts.length - 1, 'nearly every truncation is detected');
  // Deterministic pseudo-random byte flips: reading may succeed (a flipped float is still a float) or
  // fail, but never with anything other than ModelReadError, and never hang.
  let seed = 12345;
  const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const t0 = Date.now();
  // The CNN exercises weights and windows; a small dynamic-axes graph exercises the symbolic shape code.
  const dynamic = buildModel({
    opset: 13,
    nodes: [
      node({ op: 'Shape', inputs: ['x'], outputs: ['s'] }),
      node({ op: 'Gather', inputs: ['s', 'zero'], outputs: ['b'], attrs: { axis: 0 } }),
      node({ op: 'Unsqueeze', inputs: ['b', 'axes0'], outputs: ['bu'] }),
      node({ op: 'Concat', inputs: ['bu', 'minus1'], outputs: ['t'], attrs: { axis: 0 } }),
      node({ op: 'Reshape', inputs: ['x', 't'], outputs: ['r'] }),
      node({ op: 'Softmax', inputs: ['r'], outputs: ['y'], attrs: { axis: -1 } }),
    ],
    inputs: [valueInfo('x', ['batch', 4, 8])], outputs: [valueInfo('y', undefined)],
    initializers: [int64Tensor('zero', [0], []), int64Tensor('axes0', [0]), int64Tensor('minus1', [-1])],
  });
  for (let trial = 0; trial < 600; trial++) {
    const source = trial % 2 === 0 ? good : dynamic;
    const bad = Uint8Array.from(source);
    const flips = 1 + Math.floor(rand() * 8);
    for (let k = 0; k < flips; k++) bad[Math.floor(rand() * bad.length)] ^= 1 << Math.floor(rand() * 8);
    try {
      const r = readOnnxBytes(bad, 'flip.onnx');
      parseGraphIR(r.graph, 'flipped');
    } catch (e) {
      assert.ok(e instanceof ModelReadError, `trial ${trial}: ${(e as Error).stack}`);
    }
  }
  assert.ok(Date.now() - t0 < 20_000, 'fuzzing stays fast');
});

test('a file beyond the protobuf size limit is refused without being read', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ane-onnx-big-'));
  const file = join(dir, 'huge.onnx');
  // A sparse 3 GiB file: no disk use, and reading it would take seconds and gigabytes.
  const fd = openSync(file, 'w');
  try {
    ftruncateSync(fd, 3 * 2 ** 30);
  } finally {
    closeSync(fd);
  }
  const t0 = performance.now();
  assert.throws(() => readOnnxFile(file), /huge\.onnx: 3\.0 GiB is larger than a protobuf message can be/);
  assert.ok(performance.now() - t0 < 1000);
  rmSync(dir, { recursive: true, force: true });
});

test('typed data fields, fp16 bit patterns, bf16 widening and Constant nodes decode to the right bytes', () => {
  const { graph, weights } = read({
    nodes: [
      node({ op: 'Constant', inputs: [], outputs: ['shape'], attrs: { value_ints: [2, -1] } }),
      node({ op: 'Reshape', inputs: ['x', 'shape'], outputs: ['r'] }),
      node({ op: 'Add', inputs: ['r', 'f32'], outputs: ['a'] }),
      node({ op: 'Mul', inputs: ['a', 'f16'], outputs: ['m'] }),
      node({ op: 'Sub', inputs: ['m', 'bf16'], outputs: ['s'] }),
      node({ op: 'Div', inputs: ['s', 'f64'], outputs: ['y'] }),
    ],
    inputs: [valueInfo('x', [4])],
    outputs: [valueInfo('y', undefined)],
    initializers: [
      { name: 'f32', dims: [2], data_type: 1, float_data: [1.5, -2] },
      { name: 'f16', dims: [2], data_type: 10, int32_data: [0x3c00, 0xc000] },
      { name: 'bf16', dims: [1], data_type: 16, raw_data: new Uint8Array([0x80, 0x3f]) },
      { name: 'f64', dims: [1], data_type: 11, double_data: [0.25] },
    ],
  });
  assert.deepEqual(op(graph, 'reshape').attrs, { shape: [2, 2] });
  const values = (name: string) => {
    const c = graph.constants.find((k) => k.name === name)!;
    return { dtype: c.type.dtype, v: decodeBytes(weights.subarray(c.data!.offset, c.data!.offset + c.data!.byteLength), c.type.dtype) };
  };
  assert.deepEqual(values('f32'), { dtype: 'fp32', v: [1.5, -2] });
  assert.deepEqual(values('f16'), { dtype: 'fp16', v: [1, -2] });
  assert.deepEqual(values('bf16'), { dtype: 'fp32', v: [1] });
  assert.deepEqual(values('f64'), { dtype: 'fp64', v: [0.25] });
  assert.deepEqual(graph.constants.find((k) => k.name === 'f64')!.value, [0.25], 'scalars are inlined');
});

test('dynamic axes: shape arithmetic folds to symbols and constants, then the chain is dropped', () => {
  const { graph } = read({
    nodes: [
      node({ op: 'Shape', inputs: ['x'], outputs: ['s'] }),
      node({ op: 'Gather', inputs: ['s', 'zero'], outputs: ['batch'], attrs: { axis: 0 } }),
      node({ op: 'Gather', inputs: ['s', 'one'], outputs: ['chan'], attrs: { axis: 0 } }),
      node({ op: 'Mul', inputs: ['batch', 'two'], outputs: ['b2'] }),
      node({ op: 'Div', inputs: ['chan', 'two'], outputs: ['half'] }),
      node({ op: 'Unsqueeze', inputs: ['b2', 'axes0'], outputs: ['b2u'] }),
      node({ op: 'Unsqueeze', inputs: ['half', 'axes0'], outputs: ['halfu'] }),
      node({ op: 'Concat', inputs: ['b2u', 'halfu', 'minus1'], outputs: ['target'], attrs: { axis: 0 } }),
      node({ op: 'Reshape', inputs: ['x', 'target'], outputs: ['y'] }),
      node({ op: 'Slice', inputs: ['y', 'st', 'en', 'ax'], outputs: ['z'] }),
    ],
    inputs: [valueInfo('x', ['batch', 4, 8])],
    outputs: [valueInfo('z', undefined)],
    initializers: [int64Tensor('zero', [0], []), int64Tensor('one', [1], []), int64Tensor('two', [2], []), int64Tensor('axes0', [0]), int64Tensor('minus1', [-1]),
      int64Tensor('st', [1]), int64Tensor('en', [3]), int64Tensor('ax', [1])],
  });
  assert.deepEqual(graph.ops.map((o) => o.op), ['reshape', 'slice_by_index'], 'Shape/Gather/Mul/Concat are gone');
  assert.deepEqual(shapeOf(graph, 'y'), ['2*batch', 2, 8]);
  assert.equal(graph.ops[0]!.attrs.shape, undefined, 'a symbolic reshape carries no static shape');
  const slice = graph.ops[1]!;
  assert.deepEqual(slice.outputs[0]!.type.shape, ['2*batch', 1, 8]);
  assert.deepEqual(slice.attrs.end_mask, [1, 0, 0], 'the symbolic axis runs to its end');
});

test("Mod and ScatterND on constants fold (Swin's window padding and shifted-window mask), so Pad and Add get static operands", () => {
  const { graph, weights } = read({
    nodes: [
      // pad_r = (window - W % window) % window with Python's % (fmod 0); C's fmod 1 keeps the dividend's sign.
      node({ op: 'Mod', inputs: ['w', 'window'], outputs: ['r'], attrs: { fmod: 0 } }),
      node({ op: 'Sub', inputs: ['window', 'r'], outputs: ['gap'] }),
      node({ op: 'Mod', inputs: ['gap', 'window'], outputs: ['pad_r'], attrs: { fmod: 0 } }),
      node({ op: 'Mod', inputs: ['minus7', 'three'], outputs: ['c_mod'], attrs: { fmod: 1 } }),
      node({ op: 'Mod', inputs: ['minus7', 'three'], outputs: ['py_mod'], attrs: { fmod: 0 } }),
      node({ op: 'Concat', inputs: ['zeros6', 'pad_r', 'zero1'], outputs: ['pads'], attrs: { axis: 0 } }),
      node({ op: 'Pad', inputs: ['x', 'pads'], outputs: ['padded'], attrs: { mode: 'constant' } }),
      // A mask built by index assignment: zeros with two slices set, as torch exports `mask[a:b] = k`.
      node({ op: 'ScatterND', inputs: ['mask0', 'idx', 'upd'], outputs: ['mask'] }),
      node({ op: 'Add', inputs: ['padded', 'mask'], outputs: ['y'] }),
      node({ op: 'Add', inputs: ['c_mod', 'py_mod'], outputs: ['mods'] }),
    ],
    inputs: [valueInfo('x', [1, 2, 5])],
    outputs: [valueInfo('y', undefined), valueInfo('mods', undefined, 7)],
    initializers: [int64Tensor('w', [5]), int64Tensor('window', [4]), int64Tensor('minus7', [-7]), int64Tensor('three', [3]),
      int64Tensor('zeros6', [0, 0, 0, 0, 0]), int64Tensor('zero1', [0]),
      floatTensor('mask0', [2, 8], new Array(16).fill(0)), int64Tensor('idx', [1, 3, 0, 6], [2, 2]), floatTensor('upd', [2], [5, -2])],
  });
  // W = 5, window 4: (4 - 5 % 4) % 4 = 3 columns of padding on the right of the last axis.
  const pad = op(graph, 'pad');
  assert.deepEqual(pad.attrs.pad, [0, 0, 0, 0, 0, 3]);
  assert.deepEqual(shapeOf(graph, 'padded'), [1, 2, 8]);
  const add = graph.ops.find((o) => o.outputs[0]!.name === 'y')!;
  const mask = graph.constants.find((c) => c.name === add.inputs[1]);
  assert.ok(mask, `the mask is a constant: ${add.inputs.join(', ')}`);
  const data = mask.value ?? Array.from(new Float32Array(weights.slice(mask.data!.offset, mask.data!.offset + mask.data!.byteLength).buffer));
  const expected = new Array(16).fill(0);
  expected[1 * 8 + 3] = 5;
  expected[0 * 8 + 6] = -2;
  assert.deepEqual(data, expected);
  assert.ok(!graph.ops.some((o) => o.op === 'mod' || o.op === 'scatter_nd'), graph.ops.map((o) => o.op).join(', '));
  // -7 fmod 3 = -1 (C), -7 mod 3 = 2 (Python): their sum, 1, is folded too.
  const mods = graph.constants.find((c) => c.name === 'mods') ?? graph.constants.find((c) => graph.outputs.includes(c.name));
  assert.deepEqual(mods?.value, [1]);
});

test('decomposed LayerNorm and erf-GELU are re-fused, unless an intermediate is used elsewhere', () => {
  const spec = (leak: boolean): ModelSpec => ({
    nodes: [
      node({ op: 'ReduceMean', inputs: ['x'], outputs: ['m'], attrs: { axes: [-1] } }),
      node({ op: 'Sub', inputs: ['x', 'm'], outputs: ['d'] }),
      node({ op: 'Pow', inputs: ['d', 'two'], outputs: ['p'] }),
      node({ op: 'ReduceMean', inputs: ['p'], outputs: ['v'], attrs: { axes: [-1] } }),
      node({ op: 'Add', inputs: ['v', 'eps'], outputs: ['ve'] }),
      node({ op: 'Sqrt', inputs: ['ve'], outputs: ['s'] }),
      node({ op: 'Div', inputs: ['d', 's'], outputs: ['n'] }),
      node({ op: 'Mul', inputs: ['n', 'gamma'], outputs: ['g'] }),
      node({ op: 'Add', inputs: ['g', 'beta'], outputs: ['ln'] }),
      node({ op: 'Div', inputs: ['ln', 'sqrt2'], outputs: ['q'] }),
      node({ op: 'Erf', inputs: ['q'], outputs: ['e'] }),
      node({ op: 'Add', inputs: ['e', 'one'], outputs: ['e1'] }),
      node({ op: 'Mul', inputs: ['ln', 'e1'], outputs: ['xe'] }),
      node({ op: 'Mul', inputs: ['xe', 'half'], outputs: ['y'] }),
    ],
    inputs: [valueInfo('x', [2, 6])],
    outputs: [valueInfo('y', undefined), ...(leak ? [valueInfo('v', undefined)] : [])],
    initializers: [floatTensor('two', [], [2]), floatTensor('eps', [], [1e-5]), floatTensor('gamma', [6]), floatTensor('beta', [6]),
      floatTensor('sqrt2', [], [Math.SQRT2]), floatTensor('one', [], [1]), floatTensor('half', [], [0.5])],
  });
  const fused = read(spec(false)).graph;
  assert.deepEqual(fused.ops.map((o) => o.op), ['layer_norm', 'gelu']);
  assert.deepEqual(fused.ops[0]!.inputs, ['x', 'gamma', 'beta']);
  assert.deepEqual(fused.ops[0]!.attrs.axes, [1]);
  assert.ok(Math.abs((fused.ops[0]!.attrs.epsilon as number) - 1e-5) < 1e-9);
  assert.deepEqual(fused.ops[1]!.outputs.map((o) => o.name), ['y']);
  const leaky = read(spec(true)).graph;
  assert.ok(!leaky.ops.some((o) => o.op === 'layer_norm'), 'the variance is a graph output, so the pattern stays expanded');
  assert.ok(leaky.ops.some((o) => o.op === 'gelu'));
});
