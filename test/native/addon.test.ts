// ane_native: kernels against float64 references, fp16 rounding facts, overflow detection, graph
// validation errors, the roofline and the buffer plan. Needs the built addon (npm run build:native).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { ADDON_PATH, type AneNative, GraphBuilder, chipM4, loadAddon, pseudoRandom, runGraph } from './addonGraph';
import * as ref from './addonReference';

const missing = existsSync(ADDON_PATH) ? false : `skipped: ${ADDON_PATH} is not built (run npm run build:native)`;
const addon: AneNative | undefined = missing ? undefined : loadAddon();
const A = () => addon as AneNative;

const FP32_TOL = 1e-5;
const FP16_TOL = 1e-2;

function checkOutput(name: string, got: { fp16: Float32Array; fp32: Float32Array } | undefined, expected: ref.T) {
  assert.ok(got, `output ${name} missing`);
  const e32 = ref.maxScaledError(got.fp32, expected.data);
  const e16 = ref.maxScaledError(got.fp16, expected.data);
  assert.ok(e32 < FP32_TOL, `${name}: fp32 path differs from the reference by ${e32}`);
  assert.ok(e16 < FP16_TOL, `${name}: fp16 path differs from the reference by ${e16}`);
}

test('version names the simulator', { skip: missing }, () => {
  assert.match(A().version(), /^ane_native \d+\.\d+\.\d+ \(sim executor\)$/);
});

test('conv: groups=2, depthwise, stride 2, dilation 2, asymmetric pad, bias', { skip: missing }, () => {
  const cases = [
    { name: 'groups2', C: 4, Co: 6, groups: 2, k: [3, 3], strides: [1, 1], pad: [1, 1, 1, 1], dil: [1, 1], H: 7, W: 9, bias: true },
    { name: 'depthwise', C: 5, Co: 5, groups: 5, k: [3, 3], strides: [1, 1], pad: [1, 1, 1, 1], dil: [1, 1], H: 6, W: 6, bias: false },
    { name: 'stride2', C: 3, Co: 4, groups: 1, k: [3, 3], strides: [2, 2], pad: [1, 1, 1, 1], dil: [1, 1], H: 9, W: 8, bias: true },
    { name: 'dilation2', C: 2, Co: 3, groups: 1, k: [3, 3], strides: [1, 1], pad: [2, 2, 2, 2], dil: [2, 2], H: 8, W: 7, bias: false },
    { name: 'asympad', C: 3, Co: 2, groups: 1, k: [2, 3], strides: [2, 1], pad: [0, 1, 2, 0], dil: [1, 1], H: 7, W: 6, bias: true },
    { name: 'pointwise', C: 8, Co: 5, groups: 1, k: [1, 1], strides: [1, 1], pad: [0, 0, 0, 0], dil: [1, 1], H: 5, W: 5, bias: true },
  ];
  for (const c of cases) {
    const xs = [2, c.C, c.H, c.W], ws = [c.Co, c.C / c.groups, c.k[0], c.k[1]];
    const x = ref.tensor(xs, pseudoRandom(ref.size(xs), 1));
    const w = ref.tensor(ws, pseudoRandom(ref.size(ws), 2));
    const b = c.bias ? ref.tensor([c.Co], pseudoRandom(c.Co, 3)) : null;
    const expected = ref.conv2d(x, w, b, { strides: c.strides, pad: c.pad, dilations: c.dil, groups: c.groups });
    const g = new GraphBuilder().input('x', xs).constant('w', ws, w.data);
    if (b) g.constant('b', [c.Co], b.data);
    g.op({
      name: c.name, op: 'conv', inputs: b ? ['x', 'w', 'b'] : ['x', 'w'], outputs: [['y', expected.shape]],
      attrs: { strides: c.strides, pad: c.pad, dilations: c.dil, groups: c.groups },
    });
    const { result, outputs } = runGraph(A(), g.build(['y']), { x: Float32Array.from(x.data) });
    assert.deepEqual(result.layers[0].outputShape, expected.shape, c.name);
    assert.equal(result.layers[0].executed, true);
    checkOutput(c.name, outputs.y, expected);
  }
});

// 3×3 stride-1 convs with enough channels and output tiles go to Winograd F(4×4, 3×3) (kernels_winograd.cpp);
// the others fall back to the direct kernels. Both against the float64 definition, the fp32 path tightly.
test('conv: Winograd 3×3 (odd sizes, asymmetric and no padding, batch 2) and its fallbacks match the definition', { skip: missing }, () => {
  const cases = [
    { name: 'exact_tiles', N: 1, C: 16, Co: 24, H: 24, W: 24, pad: [1, 1, 1, 1], groups: 1, strides: [1, 1], dil: [1, 1], bias: true },
    { name: 'odd_sizes', N: 1, C: 17, Co: 19, H: 23, W: 22, pad: [1, 1, 1, 1], groups: 1, strides: [1, 1], dil: [1, 1], bias: false },
    { name: 'asym_pad_batch2', N: 2, C: 20, Co: 16, H: 25, W: 21, pad: [0, 2, 2, 1], groups: 1, strides: [1, 1], dil: [1, 1], bias: true },
    { name: 'no_pad', N: 1, C: 32, Co: 33, H: 27, W: 23, pad: [0, 0, 0, 0], groups: 1, strides: [1, 1], dil: [1, 1], bias: true },
    { name: 'fallback_groups2', N: 1, C: 32, Co: 32, H: 24, W: 24, pad: [1, 1, 1, 1], groups: 2, strides: [1, 1], dil: [1, 1], bias: true },
    { name: 'fallback_dilation', N: 1, C: 16, Co: 16, H: 26, W: 26, pad: [2, 2, 2, 2], groups: 1, strides: [1, 1], dil: [2, 2], bias: false },
    { name: 'fallback_stride2', N: 1, C: 16, Co: 16, H: 33, W: 33, pad: [1, 1, 1, 1], groups: 1, strides: [2, 2], dil: [1, 1], bias: true },
    { name: 'fallback_few_channels', N: 1, C: 8, Co: 16, H: 24, W: 24, pad: [1, 1, 1, 1], groups: 1, strides: [1, 1], dil: [1, 1], bias: false },
    { name: 'fallback_small_map', N: 1, C: 32, Co: 32, H: 12, W: 12, pad: [1, 1, 1, 1], groups: 1, strides: [1, 1], dil: [1, 1], bias: true },
  ];
  for (const c of cases) {
    const xs = [c.N, c.C, c.H, c.W], ws = [c.Co, c.C / c.groups, 3, 3];
    const x = ref.tensor(xs, pseudoRandom(ref.size(xs), 41));
    const w = ref.tensor(ws, pseudoRandom(ref.size(ws), 42));
    const b = c.bias ? ref.tensor([c.Co], pseudoRandom(c.Co, 43)) : null;
    const opts = { strides: c.strides, pad: c.pad, dilations: c.dil, groups: c.groups };
    const expected = ref.conv2d(x, w, b, opts);
    // The fp16 path's definition: binary16 input, weights and bias, fp32-exact sums, the output rounded.
    const expected16 = ref.half(ref.conv2d(ref.half(x), ref.half(w), b ? ref.half(b) : null, opts));
    const g = new GraphBuilder().input('x', xs).constant('w', ws, w.data);
    if (b) g.constant('b', [c.Co], b.data);
    g.op({ name: c.name, op: 'conv', inputs: b ? ['x', 'w', 'b'] : ['x', 'w'], outputs: [['y', expected.shape]], attrs: { ...opts } });
    const { result, outputs } = runGraph(A(), g.build(['y']), { x: Float32Array.from(x.data) });
    assert.deepEqual(result.layers[0].outputShape, expected.shape, c.name);
    const got = outputs.y!;
    const e32 = ref.maxScaledError(got.fp32, expected.data), e16 = ref.maxScaledError(got.fp16, expected16.data);
    // F(4×4, 3×3) sums in a different order through its transforms: 2–7e-5 here against ~2e-6 for the
    // direct kernels, the known error of this transform size in fp32 (far below fp16's 5e-4 steps).
    const tol32 = c.name.startsWith('fallback') ? 1e-5 : 1e-4;
    assert.ok(e32 < tol32, `${c.name}: fp32 path differs from the definition by ${e32}`);
    assert.ok(e16 < 1e-3, `${c.name}: fp16 path differs from conv(binary16 operands) rounded by ${e16}`);
  }
});

// Winograd would spread one inf over whole tiles as NaN; with a non-finite input or weight the conv must keep
// the direct kernel's pattern (±inf in the receptive field, NaN only where inf meets padding's zeros).
test('conv: a Winograd-sized 3×3 conv with an inf input or an fp16-overflowing weight keeps the direct inf/NaN pattern', { skip: missing }, () => {
  const C = 16, H = 24, W = 24, xs = [1, C, H, W], ws = [C, C, 3, 3];
  const attrs = { strides: [1, 1], pad: [1, 1, 1, 1], dilations: [1, 1], groups: 1 };
  const run = (x: Float32Array, w: Float32Array) => {
    const g = new GraphBuilder().input('x', xs).constant('w', ws, w)
      .op({ name: 'conv', op: 'conv', inputs: ['x', 'w'], outputs: [['y', xs]], attrs });
    return runGraph(A(), g.build(['y']), { x });
  };
  // An inf input: the outputs it reaches are ±inf in both paths, all others stay within the direct tolerance.
  const x = pseudoRandom(ref.size(xs), 61), w = pseudoRandom(ref.size(ws), 62);
  x[(3 * H + 10) * W + 7] = Infinity;
  const expected = ref.conv2d(ref.tensor(xs, x), ref.tensor(ws, w), null, attrs);
  const got = run(x, w).outputs.y!;
  for (let i = 0; i < expected.data.length; i++) {
    const e = expected.data[i]!;
    if (!Number.isFinite(e)) assert.equal(got.fp32[i], e, `output ${i}`);
    else assert.ok(Math.abs(got.fp32[i]! - e) / (1 + Math.abs(e)) < 1e-5, `output ${i}: ${got.fp32[i]} vs ${e}`);
  }
  // A weight beyond fp16's range: inf on the fp16 path only. Channel 0's tap (0, 0) reads padding along the
  // top row and left column (inf · 0 = NaN there), real inputs elsewhere (±inf); other channels stay finite.
  const big = pseudoRandom(ref.size(ws), 62);
  big[0] = 70000;
  const { result, outputs } = run(pseudoRandom(ref.size(xs), 61), big);
  const y16 = outputs.y!.fp16, plane = H * W;
  const nan = y16.slice(0, plane).filter(Number.isNaN).length;
  const inf = y16.slice(0, plane).filter((v) => v === Infinity || v === -Infinity).length;
  assert.equal(nan, H + W - 1);
  assert.equal(inf, plane - nan);
  assert.ok(y16.slice(plane).every(Number.isFinite));
  assert.ok(outputs.y!.fp32.every(Number.isFinite));
  assert.equal(result.layers[0].numerics?.nanCount, H + W - 1);
});

test('matmul: transposes and batch broadcasting; linear with bias', { skip: missing }, () => {
  const cases = [
    { xs: [2, 3, 4], ys: [4, 5], tx: false, ty: false },
    { xs: [4, 3], ys: [2, 5, 4], tx: true, ty: true },
    { xs: [3, 1, 2, 6], ys: [4, 6, 3], tx: false, ty: false },
    { xs: [2, 1, 7, 3], ys: [1, 4, 5, 7], tx: true, ty: true },
    // Attention's Q·Kᵀ with whole 16-wide panels and a partial one, and a K past one 256-deep block.
    { xs: [2, 20, 40], ys: [2, 37, 40], tx: false, ty: true },
    { xs: [9, 300], ys: [300, 35], tx: false, ty: false },
    // A weight shared by every batch (one product over all rows): PyTorch attention's (S, 1, E) @ (E, 3E),
    // and a transposed one over batches of several rows.
    { xs: [30, 1, 40], ys: [40, 37], tx: false, ty: false },
    { xs: [2, 3, 5, 20], ys: [1, 18, 20], tx: false, ty: true },
  ];
  for (const [i, c] of cases.entries()) {
    const x = ref.tensor(c.xs, pseudoRandom(ref.size(c.xs), 10 + i));
    const y = ref.tensor(c.ys, pseudoRandom(ref.size(c.ys), 20 + i));
    const expected = ref.matmul(x, y, c.tx, c.ty);
    const g = new GraphBuilder().input('x', c.xs).input('y', c.ys)
      .op({ name: `mm${i}`, op: 'matmul', inputs: ['x', 'y'], outputs: [['z', expected.shape]], attrs: { transpose_x: c.tx, transpose_y: c.ty } });
    const { outputs } = runGraph(A(), g.build(['z']), { x: Float32Array.from(x.data), y: Float32Array.from(y.data) });
    checkOutput(`matmul case ${i}`, outputs.z, expected);
  }
  // linear(x, W(out,in), b) = x·Wᵀ + b, checked as a matmul with transpose_y plus a broadcast add.
  const x = ref.tensor([2, 3, 6], pseudoRandom(36, 31));
  const w = ref.tensor([4, 6], pseudoRandom(24, 32));
  const b = ref.tensor([4], pseudoRandom(4, 33));
  const expected = ref.broadcast(ref.matmul(x, w, false, true), b, (p, q) => p + q);
  const g = new GraphBuilder().input('x', [2, 3, 6]).constant('w', [4, 6], w.data).constant('b', [4], b.data)
    .op({ name: 'fc', op: 'linear', inputs: ['x', 'w', 'b'], outputs: [['y', [2, 3, 4]]] });
  const { result, outputs } = runGraph(A(), g.build(['y']), { x: Float32Array.from(x.data) });
  checkOutput('linear', outputs.y, expected);
  assert.equal(result.layers[0].flops, 2 * 6 * 4 * 6 + 6 * 4);
  // A transformer-sized linear: the weight's rows are packed (and, on the fp16 path, rounded) straight into
  // full 16-wide panels; rows past the last full panel and a K of two blocks are covered too.
  const xl = ref.tensor([2, 10, 300], pseudoRandom(6000, 34));
  const wl = ref.tensor([70, 300], pseudoRandom(21000, 35));
  const bl = ref.tensor([70], pseudoRandom(70, 36));
  const big = new GraphBuilder().input('x', [2, 10, 300]).constant('w', [70, 300], wl.data).constant('b', [70], bl.data)
    .op({ name: 'fc2', op: 'linear', inputs: ['x', 'w', 'b'], outputs: [['y', [2, 10, 70]]] });
  const run2 = runGraph(A(), big.build(['y']), { x: Float32Array.from(xl.data) });
  checkOutput('linear 300 -> 70', run2.outputs.y, ref.broadcast(ref.matmul(xl, wl, false, true), bl, (p, q) => p + q));
  // The fp16 path's definition: binary16 input, weight and bias, then the output rounded.
  const expected16 = ref.half(ref.broadcast(ref.matmul(ref.half(xl), ref.half(wl), false, true), ref.half(bl), (p, q) => p + q));
  const e16 = ref.maxScaledError(run2.outputs.y!.fp16, expected16.data);
  assert.ok(e16 < 1e-3, `linear 300 -> 70: fp16 path differs from linear(binary16 operands) rounded by ${e16}`);
});

test('softmax, batch_norm, broadcasting add, layer_norm, gelu', { skip: missing }, () => {
  const xs = [2, 3, 4, 5];
  const x = ref.tensor(xs, pseudoRandom(ref.size(xs), 40).map((v) => v * 4));
  const mean = [0.1, -0.2, 0.3], variance = [0.5, 1.5, 2], gamma = [1, 0.5, -1], beta = [0, 0.1, 0.2];
  const bias = ref.tensor([3, 1, 5], pseudoRandom(15, 41));
  const g = new GraphBuilder().input('x', xs)
    .constant('mean', [3], mean).constant('var', [3], variance).constant('gamma', [3], gamma).constant('beta', [3], beta)
    .constant('bias', [3, 1, 5], bias.data)
    .op({ name: 'sm1', op: 'softmax', inputs: ['x'], outputs: [['s1', xs]], attrs: { axis: 1 } })
    .op({ name: 'sm_last', op: 'softmax', inputs: ['x'], outputs: [['s2', xs]], attrs: { axis: -1 } })
    .op({ name: 'bn', op: 'batch_norm', inputs: ['x', 'mean', 'var', 'gamma', 'beta'], outputs: [['bn', xs]], attrs: { epsilon: 1e-3 } })
    .op({ name: 'addb', op: 'add', inputs: ['x', 'bias'], outputs: [['ab', xs]] })
    .op({ name: 'ln', op: 'layer_norm', inputs: ['x'], outputs: [['ln', xs]], attrs: { axes: [-1], epsilon: 1e-5 } })
    .op({ name: 'ge', op: 'gelu', inputs: ['x'], outputs: [['ge', xs]], attrs: { mode: 'TANH_APPROXIMATION' } });
  const { outputs } = runGraph(A(), g.build(['s1', 's2', 'bn', 'ab', 'ln', 'ge']), { x: Float32Array.from(x.data) });
  checkOutput('softmax axis 1', outputs.s1, ref.softmax(x, 1));
  checkOutput('softmax axis -1', outputs.s2, ref.softmax(x, -1));
  checkOutput('batch_norm', outputs.bn, ref.batchNorm(x, mean, variance, gamma, beta, 1e-3));
  checkOutput('add (broadcast)', outputs.ab, ref.broadcast(x, bias, (p, q) => p + q));
  const rows = x.data.length / 5;
  const ln = new Float64Array(x.data.length);
  for (let r = 0; r < rows; r++) {
    const row = x.data.slice(r * 5, r * 5 + 5);
    const m = row.reduce((s, v) => s + v, 0) / 5;
    const v = row.reduce((s, q) => s + (q - m) ** 2, 0) / 5;
    row.forEach((q, i) => { ln[r * 5 + i] = (q - m) / Math.sqrt(v + 1e-5); });
  }
  checkOutput('layer_norm', outputs.ln, { shape: xs, data: ln });
  const gelu = x.data.map((v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3))));
  checkOutput('gelu tanh', outputs.ge, { shape: xs, data: gelu });
});

test('pools: max and avg with padding, stride, ceil_mode, exclude_padding_from_average', { skip: missing }, () => {
  const xs = [1, 2, 7, 8];
  const x = ref.tensor(xs, pseudoRandom(ref.size(xs), 50));
  const cases = [
    { kind: 'max' as const, kernel: [3, 3], strides: [2, 2], pad: [1, 1, 1, 1], ceil: false, excludePad: false },
    { kind: 'max' as const, kernel: [2, 3], strides: [2, 2], pad: [0, 0, 1, 0], ceil: true, excludePad: false },
    { kind: 'avg' as const, kernel: [3, 3], strides: [2, 2], pad: [1, 1, 1, 1], ceil: true, excludePad: true },
    { kind: 'avg' as const, kernel: [3, 3], strides: [2, 2], pad: [1, 1, 1, 1], ceil: true, excludePad: false },
    { kind: 'avg' as const, kernel: [2, 2], strides: [2, 2], pad: [0, 0, 0, 0], ceil: false, excludePad: false },
  ];
  for (const [i, c] of cases.entries()) {
    const expected = ref.pool2d(x, c.kind, c);
    const g = new GraphBuilder().input('x', xs).op({
      name: `pool${i}`, op: `${c.kind}_pool`, inputs: ['x'], outputs: [['y', expected.shape]],
      attrs: { kernel_sizes: c.kernel, strides: c.strides, pad: c.pad, ceil_mode: c.ceil, exclude_padding_from_average: c.excludePad },
    });
    const { outputs } = runGraph(A(), g.build(['y']), { x: Float32Array.from(x.data) });
    checkOutput(`pool case ${i}`, outputs.y, expected);
  }
});

test('reshape, transpose, concat, split, slice, pad, reduce, upsample', { skip: missing }, () => {
  const xs = [2, 3, 4];
  const x = ref.tensor(xs, pseudoRandom(24, 60));
  const yv = ref.tensor([2, 1, 4], pseudoRandom(8, 61));
  const g = new GraphBuilder().input('x', xs).input('yv', [2, 1, 4])
    .op({ name: 'rs', op: 'reshape', inputs: ['x'], outputs: [['rs', [6, 4]]], attrs: { shape: [6, 4] } })
    .op({ name: 'tp', op: 'transpose', inputs: ['x'], outputs: [['tp', [4, 2, 3]]], attrs: { perm: [2, 0, 1] } })
    .op({ name: 'cc', op: 'concat', inputs: ['x', 'yv'], outputs: [['cc', [2, 4, 4]]], attrs: { axis: 1 } })
    .op({ name: 'sp', op: 'split', inputs: ['x'], outputs: [['sp0', [2, 1, 4]], ['sp1', [2, 2, 4]]], attrs: { axis: -2, split_sizes: [1, 2] } })
    .op({ name: 'sl', op: 'slice_by_index', inputs: ['x'], outputs: [['sl', [2, 2, 2]]], attrs: { begin: [0, 1, 3], end: [2, 3, 0], stride: [1, 1, -2] } })
    .op({ name: 'pd', op: 'pad', inputs: ['x'], outputs: [['pd', [2, 3, 7]]], attrs: { pad: [1, 2], mode: 'constant', constant_val: 5 } })
    .op({ name: 'rm', op: 'reduce_mean', inputs: ['x'], outputs: [['rm', [2, 1, 4]]], attrs: { axes: [-2], keep_dims: true } })
    .op({ name: 'rx', op: 'reduce_max', inputs: ['x'], outputs: [['rx', [3]]], attrs: { axes: [0, 2], keep_dims: false } })
    .op({ name: 'up', op: 'upsample_nearest_neighbor', inputs: ['x'], outputs: [['up', [2, 6, 8]]], attrs: { scale_factor_height: 2, scale_factor_width: 2 } });
  const { outputs } = runGraph(A(), g.build(['rs', 'tp', 'cc', 'sp0', 'sp1', 'sl', 'pd', 'rm', 'rx', 'up']), {
    x: Float32Array.from(x.data), yv: Float32Array.from(yv.data),
  });
  const at = (i: number, j: number, k: number) => x.data[(i * 3 + j) * 4 + k];
  checkOutput('reshape', outputs.rs, { shape: [6, 4], data: x.data });
  checkOutput('transpose', outputs.tp, ref.transpose(x, [2, 0, 1]));
  checkOutput('concat', outputs.cc, ref.concat([x, yv], 1));
  const build = (shape: number[], f: (i: number, j: number, k: number) => number) => {
    const out: number[] = [];
    for (let i = 0; i < shape[0]; i++) for (let j = 0; j < shape[1]; j++) for (let k = 0; k < shape[2]; k++) out.push(f(i, j, k));
    return ref.tensor(shape, out);
  };
  checkOutput('split 0', outputs.sp0, build([2, 1, 4], (i, _j, k) => at(i, 0, k)));
  checkOutput('split 1', outputs.sp1, build([2, 2, 4], (i, j, k) => at(i, j + 1, k)));
  checkOutput('slice', outputs.sl, build([2, 2, 2], (i, j, k) => at(i, j + 1, 3 - 2 * k)));
  checkOutput('pad', outputs.pd, build([2, 3, 7], (i, j, k) => (k >= 1 && k < 5 ? at(i, j, k - 1) : 5)));
  checkOutput('reduce_mean', outputs.rm, build([2, 1, 4], (i, _j, k) => (at(i, 0, k) + at(i, 1, k) + at(i, 2, k)) / 3));
  const rx: number[] = [];
  for (let j = 0; j < 3; j++) { let m = -Infinity; for (let i = 0; i < 2; i++) for (let k = 0; k < 4; k++) m = Math.max(m, at(i, j, k)); rx.push(m); }
  checkOutput('reduce_max', outputs.rx, ref.tensor([3], rx));
  checkOutput('upsample', outputs.up, build([2, 6, 8], (i, j, k) => at(i, j >> 1, k >> 1)));
});

// Transposes that keep the last axis and slices with step 1 on it copy whole rows (stridedCopy); the test
// above covers the element-by-element walk (last axis moved, negative step).
test('transpose and slice that keep the last axis contiguous (row copies) match the definition', { skip: missing }, () => {
  const xs = [2, 3, 4, 5];
  const x = ref.tensor(xs, pseudoRandom(ref.size(xs), 63));
  const g = new GraphBuilder().input('x', xs)
    .op({ name: 'heads', op: 'transpose', inputs: ['x'], outputs: [['heads', [3, 2, 4, 5]]], attrs: { perm: [1, 0, 2, 3] } })
    .op({ name: 'swap', op: 'transpose', inputs: ['x'], outputs: [['swap', [2, 4, 3, 5]]], attrs: { perm: [0, 2, 1, 3] } })
    .op({ name: 'sl', op: 'slice_by_index', inputs: ['x'], outputs: [['sl', [1, 2, 2, 3]]], attrs: { begin: [1, 0, -1, 1], end: [2, 3, 0, 4], stride: [1, 2, -2, 1] } });
  const { outputs } = runGraph(A(), g.build(['heads', 'swap', 'sl']), { x: Float32Array.from(x.data) });
  checkOutput('transpose keeping the last axis', outputs.heads, ref.transpose(x, [1, 0, 2, 3]));
  checkOutput('transpose of the middle axes', outputs.swap, ref.transpose(x, [0, 2, 1, 3]));
  const at = (i: number, j: number, k: number, l: number) => x.data[((i * 3 + j) * 4 + k) * 5 + l];
  const sl: number[] = [];
  for (let j = 0; j < 2; j++) for (let k = 0; k < 2; k++) for (let l = 0; l < 3; l++) sl.push(at(1, 2 * j, 3 - 2 * k, 1 + l));
  checkOutput('slice with step 1 on the last axis', outputs.sl, ref.tensor([1, 2, 2, 3], sl));
});

// The kernel copies each row's interior in one piece and computes only the edges, and a padded position on
// an outer axis selects (or blanks) a whole row: every mode on every axis, against the per-element definition.
test('pad: constant, reflect and replicate on outer and last axes match the definition', { skip: missing }, () => {
  const xs = [2, 3, 5];
  const x = ref.tensor(xs, pseudoRandom(ref.size(xs), 62));
  const at = (i: number, j: number, k: number) => x.data[(i * xs[1] + j) * xs[2] + k];
  const pads: Array<[number, number]> = [[1, 0], [2, 1], [2, 3]];
  const os = xs.map((n, a) => n + pads[a][0] + pads[a][1]);
  const source = (mode: string, s: number, n: number) => (s >= 0 && s < n ? s : mode === 'reflect' ? (s < 0 ? -s : 2 * (n - 1) - s) : s < 0 ? 0 : n - 1);
  const g = new GraphBuilder().input('x', xs);
  for (const mode of ['constant', 'reflect', 'replicate']) {
    g.op({ name: mode, op: 'pad', inputs: ['x'], outputs: [[mode, os]], attrs: { pad: pads.flat(), mode, constant_val: -3 } });
  }
  const { outputs } = runGraph(A(), g.build(['constant', 'reflect', 'replicate']), { x: Float32Array.from(x.data) });
  for (const mode of ['constant', 'reflect', 'replicate']) {
    const out: number[] = [];
    for (let i = 0; i < os[0]; i++) for (let j = 0; j < os[1]; j++) for (let k = 0; k < os[2]; k++) {
      const s = [i, j, k].map((v, a) => v - pads[a][0]);
      const outside = s.some((v, a) => v < 0 || v >= xs[a]);
      out.push(mode === 'constant' && outside ? -3 : at(source(mode, s[0], xs[0]), source(mode, s[1], xs[1]), source(mode, s[2], xs[2])));
    }
    checkOutput(`pad ${mode}`, outputs[mode], ref.tensor(os, out));
  }
});

test('fp16 rounding: 65504 is the max, 65520 overflows, 1e-8 flushes to 0, ties go to even', { skip: missing }, () => {
  const values = [65504, 65519, 65520, -70000, 1e-8, 2 ** -24, 3 * 2 ** -25, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 0.1];
  const expected = [65504, 65504, Infinity, -Infinity, 0, 2 ** -24, 2 ** -23, 1, 1 + 2 ** -9, 0.0999755859375];
  const g = new GraphBuilder().input('x', [values.length]).op({ name: 'id', op: 'identity', inputs: ['x'], outputs: [['y', [values.length]]] });
  const { result, outputs } = runGraph(A(), g.build(['y']), { x: Float32Array.from(values) });
  assert.deepEqual(Array.from(outputs.y.fp16), expected);
  assert.deepEqual(Array.from(outputs.y.fp32), Array.from(Float32Array.from(values)));
  assert.equal(result.layers[0].numerics?.infCount, 2);
  // The overflow happened when the input was stored in fp16, before this op: the op itself is not the culprit.
  assert.equal(result.firstOverflowLayer, 'id');
});

/** Nearest binary16 value of a float32 (ties to even, overflow to ±inf), computed in float64. */
function referenceHalf(v: number): number {
  if (!Number.isFinite(v) || v === 0) return v;
  const a = Math.abs(v);
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  if (2 ** (e + 1) <= a) e++;
  const ulp = 2 ** (Math.max(e, -14) - 10);
  const q = a / ulp; // exact: a is a float32 and ulp a power of two
  let r = Math.floor(q);
  const frac = q - r;
  if (frac > 0.5 || (frac === 0.5 && r % 2 === 1)) r++;
  const out = r * ulp;
  return Math.sign(v) * (out > 65504 ? Infinity : out);
}

test('fp16 rounding matches a float64 reference on 200k random float32 bit patterns', { skip: missing }, () => {
  const n = 200_000;
  const bits = new Uint32Array(n);
  let s = 12345;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    // Exponents concentrated around the half range (2^-30 .. 2^20) so subnormals, ties and overflow all occur.
    const exp = 97 + (s % 51);
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const mant = i % 7 === 0 ? (s & 0x7fe000) | 0x1000 : s & 0x7fffff; // every 7th value sits exactly on a tie
    bits[i] = ((i & 1) << 31) | (exp << 23) | mant;
  }
  const values = new Float32Array(bits.buffer);
  const g = new GraphBuilder().input('x', [n]).op({ name: 'id', op: 'identity', inputs: ['x'], outputs: [['y', [n]]] });
  const { outputs } = runGraph(A(), g.build(['y']), { x: values });
  let mismatches = 0;
  let first = '';
  for (let i = 0; i < n; i++) {
    const want = referenceHalf(values[i]);
    if (!Object.is(outputs.y.fp16[i], want)) {
      if (!first) first = `${values[i]} -> ${outputs.y.fp16[i]}, want ${want}`;
      mismatches++;
    }
  }
  assert.equal(mismatches, 0, first);
});

test('overflow: mul by 1e3 twice reports the second mul as the first overflow layer', { skip: missing }, () => {
  const g = new GraphBuilder().input('x', [1, 4]).constant('k', [1], [1000])
    .op({ name: 'scale1', op: 'mul', inputs: ['x', 'k'], outputs: [['a', [1, 4]]] })
    .op({ name: 'scale2', op: 'mul', inputs: ['a', 'k'], outputs: [['b', [1, 4]]] })
    .op({ name: 'act', op: 'relu', inputs: ['b'], outputs: [['c', [1, 4]]] });
  const { result, outputs } = runGraph(A(), g.build(['c']), { x: Float32Array.from([0.01, -0.02, 30, 0.005]) });
  assert.equal(result.firstOverflowLayer, 'scale2');
  assert.equal(result.layers[0].numerics?.infCount, 0);
  assert.equal(result.layers[1].numerics?.infCount, 1);
  assert.equal(outputs.c.fp16[2], Infinity);
  assert.equal(outputs.c.fp32[2], 3e7);
  assert.ok(Math.abs(outputs.c.fp16[0] - 1e4) <= 16, `fp16 of 0.01·1e6 should be close to 1e4, got ${outputs.c.fp16[0]}`);
  assert.ok(result.layers[1].numerics!.maxRelError < 2e-3, 'finite elements keep fp16-sized errors');
});

test('ops without a kernel and their dependants are marked, still costed', { skip: missing }, () => {
  const g = new GraphBuilder().input('x', [1, 8, 16])
    .op({ name: 'rnn', op: 'lstm', inputs: ['x'], outputs: [['h', [1, 8, 16]]] })
    .op({ name: 'after', op: 'relu', inputs: ['h'], outputs: [['r', [1, 8, 16]]] })
    .op({ name: 'side', op: 'relu', inputs: ['x'], outputs: [['s', [1, 8, 16]]] });
  const { result, outputs } = runGraph(A(), g.build(['r', 's']));
  assert.equal(result.layers[0].notExecuted, 'no fp16 kernel for lstm yet');
  assert.equal(result.layers[1].notExecuted, 'upstream rnn was not executed');
  assert.equal(result.layers[2].executed, true);
  assert.ok(result.layers[0].estMs > 0 && result.layers[1].bytes > 0);
  assert.deepEqual(Object.keys(outputs), ['s']);
  // A reader that could not resolve an attribute (a dynamic slice) leaves it out: that op is skipped, the run goes on.
  const dyn = new GraphBuilder().input('x', [2, 6]).input('starts', [1])
    .op({ name: 'dyn_slice', op: 'slice_by_index', inputs: ['x', 'starts'], outputs: [['d', undefined]] })
    .op({ name: 'after_slice', op: 'relu', inputs: ['d'], outputs: [['e', undefined]] })
    .op({ name: 'ok', op: 'relu', inputs: ['x'], outputs: [['f', [2, 6]]] }).build(['e', 'f']);
  const run2 = runGraph(A(), dyn).result;
  assert.equal(run2.layers[0].notExecuted, "no fp16 kernel for slice_by_index without a static 'begin' attribute yet");
  assert.equal(run2.layers[1].notExecuted, 'upstream dyn_slice was not executed');
  assert.equal(run2.layers[2].executed, true);
});

/** einsum by its definition: every combination of letter values, products summed into the output letters. */
function einsumReference(equation: string, operands: ref.T[]): ref.T {
  const [lhs, rhs] = equation.split('->');
  const ins = lhs!.split(',');
  const size = new Map<string, number>();
  ins.forEach((letters, i) => [...letters].forEach((c, k) => size.set(c, operands[i]!.shape[k]!)));
  const out = rhs ?? [...size.keys()].filter((c) => ins.join('').split(c).length === 2).sort().join('');
  const letters = [...size.keys()];
  const outShape = [...out].map((c) => size.get(c)!);
  const data = new Float64Array(outShape.reduce((p, n) => p * n, 1));
  const at = (t: ref.T, ls: string, v: Map<string, number>) => [...ls].reduce((off, c, k) => off * t.shape[k]! + v.get(c)!, 0);
  const value = new Map<string, number>(letters.map((c) => [c, 0]));
  const total = letters.reduce((p, c) => p * size.get(c)!, 1);
  for (let n = 0; n < total; n++) {
    let rest = n;
    for (let k = letters.length - 1; k >= 0; k--) { value.set(letters[k]!, rest % size.get(letters[k]!)!); rest = Math.floor(rest / size.get(letters[k]!)!); }
    data[at({ shape: outShape, data }, out, value)] += ins.reduce((p, ls, i) => p * operands[i]!.data[at(operands[i]!, ls, value)]!, 1);
  }
  return { shape: outShape, data };
}

test('einsum: Apple\'s split-attention equations, batched and implicit products, one-operand sums and permutes', { skip: missing }, () => {
  const cases: Array<{ eq: string; shapes: number[][] }> = [
    { eq: 'bchq,bkhc->bkhq', shapes: [[1, 8, 1, 5], [1, 6, 1, 8]] },  // q·k per head on (B, C, 1, S)
    { eq: 'bkhq,bchk->bchq', shapes: [[1, 6, 1, 5], [1, 8, 1, 6]] },  // weights·v
    { eq: 'bhqd,bhkd->bhqk', shapes: [[2, 3, 7, 16], [2, 3, 9, 16]] },
    { eq: 'ij,jk', shapes: [[20, 33], [33, 18]] },                    // implicit output: ik
    { eq: 'ij,k->ik', shapes: [[4, 5], [3]] },                        // j summed out of the first operand alone
    { eq: 'ijk->kj', shapes: [[3, 4, 5]] },
    { eq: 'ij->', shapes: [[6, 7]] },
  ];
  for (const [i, c] of cases.entries()) {
    const operands = c.shapes.map((s, k) => ref.tensor(s, pseudoRandom(ref.size(s), 70 + 2 * i + k)));
    const expected = einsumReference(c.eq, operands);
    const g = new GraphBuilder();
    operands.forEach((t, k) => g.input(`x${k}`, t.shape));
    g.op({ name: `e${i}`, op: 'einsum', inputs: operands.map((_, k) => `x${k}`), outputs: [['y', expected.shape]], attrs: { equation: c.eq } });
    const feeds = Object.fromEntries(operands.map((t, k) => [`x${k}`, Float32Array.from(t.data)]));
    const { result, outputs } = runGraph(A(), g.build(['y']), feeds);
    assert.equal(result.layers[0].executed, true, `${c.eq}: ${result.layers[0].notExecuted}`);
    assert.deepEqual(result.layers[0].outputShape, expected.shape, c.eq);
    checkOutput(c.eq, outputs.y, expected);
    // Costed as the products it makes: 2 · the product of every letter's extent.
    if (c.eq === 'bhqd,bhkd->bhqk') assert.equal(result.layers[0].flops, 2 * 2 * 3 * 7 * 9 * 16);
  }
  // Beyond the kernel: '...' and diagonals are reported per layer, contradictory sizes refuse the graph.
  const unsupported = new GraphBuilder().input('x', [3, 3])
    .op({ name: 'diag', op: 'einsum', inputs: ['x'], outputs: [['y', [3]]], attrs: { equation: 'ii->i' } }).build(['y']);
  const diag = runGraph(A(), unsupported, { x: new Float32Array(9) }).result;
  assert.equal(diag.layers[0].executed, false);
  // A reason every layer shares (here the only one's) is given once, at the top.
  assert.match(diag.layers[0].notExecuted ?? diag.notExecuted ?? '', /no fp16 kernel for einsum with a repeated letter in one operand/);
  const clash = new GraphBuilder().input('x', [3, 4]).input('z', [5, 2])
    .op({ name: 'mm', op: 'einsum', inputs: ['x', 'z'], outputs: [['y', [3, 2]]], attrs: { equation: 'ij,jk->ik' } }).build(['y']);
  assert.throws(() => runGraph(A(), clash, { x: new Float32Array(12), z: new Float32Array(10) }), /op 'mm' \(einsum\).*letter 'j' is 4 in one operand and 5 in another/);
});

test('bad graphs throw one clear error naming the op or tensor', { skip: missing }, () => {
  const opts = JSON.stringify({ chip: chipM4(), seed: 1, execute: true });
  const run = (graph: unknown, weights: Uint8Array = new Uint8Array(0)) => () => A().run(JSON.stringify(graph), weights, opts, {});
  const base = new GraphBuilder().input('x', [1, 4]);
  const cycle = new GraphBuilder().input('x', [1, 4])
    .op({ name: 'first', op: 'add', inputs: ['x', 'q'], outputs: [['p', [1, 4]]] })
    .op({ name: 'second', op: 'relu', inputs: ['p'], outputs: [['q', [1, 4]]] }).build(['q']);
  assert.throws(run(cycle.graph), /cycle: op 'first' \(add\) depends on its own output through .*'second' \(relu\)/);
  const dangling = base.op({ name: 'r', op: 'relu', inputs: ['ghost'], outputs: [['y', [1, 4]]] }).build(['y']);
  assert.throws(run(dangling.graph), /op 'r' \(relu\) reads 'ghost'.*dangling/);
  const blob = new GraphBuilder().input('x', [1, 4]).constant('w', [4], [1, 2, 3, 4])
    .op({ name: 'm', op: 'mul', inputs: ['x', 'w'], outputs: [['y', [1, 4]]] }).build(['y']);
  assert.throws(run(blob.graph, blob.weights.subarray(0, 8)), /constant 'w' points at bytes \[0, 16\) but the weights blob has only 8 bytes/);
  const huge = new GraphBuilder().input('x', [2 ** 40, 4]).op({ name: 'r', op: 'relu', inputs: ['x'], outputs: [['y', undefined]] }).build(['y']);
  assert.throws(run(huge.graph), /graph input 'x' has shape \(1099511627776, 4\), more than 2\^31 elements/);
  const dynamic = new GraphBuilder().input('x', ['batch', 4]).op({ name: 'r', op: 'relu', inputs: ['x'], outputs: [['y', undefined]] }).build(['y']);
  assert.throws(run(dynamic.graph), /graph input 'x' has a dynamic dimension 'batch' at axis 0.*static shape/);
  const mismatch = new GraphBuilder().input('x', [1, 4]).op({ name: 'r', op: 'relu', inputs: ['x'], outputs: [['y', [1, 5]]] }).build(['y']);
  assert.throws(run(mismatch.graph), /op 'r' \(relu\): output 'y' is declared \(1, 5\) but the inputs give \(1, 4\)/);
  // Activations: 8 × 2^28 fp16 elements = 4 GiB held at once by a concat.
  const big = new GraphBuilder().input('x', [2 ** 28]);
  for (let i = 0; i < 8; i++) big.op({ name: `r${i}`, op: 'relu', inputs: ['x'], outputs: [[`y${i}`, undefined]] });
  big.op({ name: 'cat', op: 'concat', inputs: [...Array(8).keys()].map((i) => `y${i}`), outputs: [['z', undefined]], attrs: { axis: 0 } });
  assert.throws(run(big.build(['z']).graph), /MiB of fp16 activations at peak, more than the 4 GiB/);
  assert.throws(() => A().run('{not json', new Uint8Array(0), opts, {}), /graphJson is not valid JSON/);
  assert.throws(() => A().run(JSON.stringify(blob.graph), blob.weights, opts, { x: new Float32Array(3) }), /inputs\['x'\] has 3 values but shape \(1, 4\) needs 4/);
});

test('cost model: conv on the ANE keeps activations on chip, streams weights; CPU roofline; launches and transfers', { skip: missing }, () => {
  const chip = chipM4();
  const ws = [64, 64, 3, 3];
  const g = new GraphBuilder().input('x', [1, 64, 56, 56]).constant('w', ws, new Float32Array(ref.size(ws)))
    .op({ name: 'conv', op: 'conv', inputs: ['x', 'w'], outputs: [['c', [1, 64, 56, 56]]], attrs: { strides: [1, 1], pad: [1, 1, 1, 1], dilations: [1, 1], groups: 1 } })
    .op({ name: 'relu_ane', op: 'relu', inputs: ['c'], outputs: [['r1', [1, 64, 56, 56]]] })
    .op({ name: 'relu_cpu', op: 'relu', inputs: ['r1'], outputs: [['r2', [1, 64, 56, 56]]] })
    .op({ name: 'relu_cpu2', op: 'relu', inputs: ['r2'], outputs: [['r3', [1, 64, 56, 56]]] });
  const { result } = runGraph(A(), g.build(['r3']), {}, { devices: ['ane', 'ane', 'cpu', 'cpu'], execute: false });
  const flops = 2 * 64 * 56 * 56 * 64 * 3 * 3;
  const act = 1 * 64 * 56 * 64 * 2; // last axis 56 padded to 64 elements (128 bytes) at fp16
  const weights = 64 * 64 * 9 * 2;
  const close = (a: number, b: number) => assert.ok(Math.abs(a - b) <= 1e-9 * Math.max(1, b), `${a} != ${b}`);
  const [conv, reluAne, reluCpu, reluCpu2] = result.layers;
  assert.equal(conv.flops, flops);
  assert.equal(conv.bytes, act + weights + act, 'bytes touched, last axis padded');
  assert.equal(conv.spilled, undefined, '~0.9 MB working set fits the 32 MB buffer (spilled: false is left out)');
  assert.equal(conv.dramBytes, weights, 'only the weights cross DRAM');
  assert.equal(conv.opClass, 'convKxK');
  // 64 channels use part of the MAC array: util (64/256)^0.62; 56 columns run as 64 lanes.
  close(conv.computeMs, flops * (64 / 56) / (chip.ane.tflops * 1e12 * (64 / 256) ** 0.62) * 1e3);
  close(conv.memoryMs, weights / (chip.ane.bandwidthGBs * 1e9) * 1e3);
  assert.ok(conv.segmentStart && conv.launchMs === chip.ane.dispatchMs);
  close(conv.estMs, Math.max(conv.computeMs, conv.memoryMs) + 0.00005 + chip.ane.dispatchMs);
  assert.equal(reluAne.opClass, 'elementwise');
  assert.equal(reluAne.launchMs, undefined, 'a zero launch is left out');
  const n = 64 * 56 * 56;
  // The CPU fallback: plain roofline, fp32, everything through DRAM; one transfer in (r1, fp32 copy).
  close(reluCpu.computeMs, n / (chip.cpu.tflops * 1e12) * 1e3);
  close(reluCpu.memoryMs, 8 * n / (chip.cpu.bandwidthGBs * 1e9) * 1e3);
  const transferMs = reluCpu.transferMs ?? 0;
  close(transferMs, 0.01 + 4 * n / (chip.cpu.bandwidthGBs * 1e9) * 1e3);
  close(reluCpu.estMs, Math.max(reluCpu.computeMs, reluCpu.memoryMs) + 0.001 + chip.cpu.dispatchMs + transferMs);
  assert.deepEqual([reluCpu2.launchMs, reluCpu2.transferMs, reluCpu2.segmentStart], [undefined, undefined, undefined]);
  assert.deepEqual(result.segments.map((s) => [s.device, s.firstLayer, s.lastLayer, s.layers]), [['ane', 'conv', 'relu_ane', 2], ['cpu', 'relu_cpu', 'relu_cpu2', 2]]);
  assert.deepEqual(result.transfers.map((t) => [t.value, t.from, t.to]), [['r1', 'ane', 'cpu']]);
  assert.ok(result.layers.every((l) => l.fallback === undefined || l.device !== 'ane'));
  close(result.totalMs, result.layers.reduce((s, l) => s + l.estMs, 0));
  // The reason every layer shares is given once, at the top.
  assert.ok(result.layers.every((l) => !l.executed && l.notExecuted === undefined));
  assert.equal(result.notExecuted, 'execution disabled (options.execute is false)');
});

test('conv_transpose (MIL and ONNX attribute names) matches the definition', { skip: missing }, () => {
  const [C, Co, H, W, k] = [3, 4, 5, 6, 3];
  const x = pseudoRandom(C * H * W, 3);
  const w = pseudoRandom(C * Co * k * k, 4);
  const b = pseudoRandom(Co, 5);
  // Reference: scatter each input pixel, stride 2, pads [t=1, b=0, l=1, r=1], output_padding [1, 0].
  const s = 2, [pt, pb, pl, pr] = [1, 0, 1, 1];
  const Ho = (H - 1) * s - pt - pb + k + 1, Wo = (W - 1) * s - pl - pr + k;
  const expected = new Float64Array(Co * Ho * Wo);
  for (let co = 0; co < Co; co++) expected.fill(b[co]!, co * Ho * Wo, (co + 1) * Ho * Wo);
  for (let ci = 0; ci < C; ci++) for (let ih = 0; ih < H; ih++) for (let iw = 0; iw < W; iw++) for (let co = 0; co < Co; co++)
    for (let kh = 0; kh < k; kh++) for (let kw = 0; kw < k; kw++) {
      const oh = ih * s - pt + kh, ow = iw * s - pl + kw;
      if (oh >= 0 && oh < Ho && ow >= 0 && ow < Wo) expected[(co * Ho + oh) * Wo + ow] += x[(ci * H + ih) * W + iw]! * w[((ci * Co + co) * k + kh) * k + kw]!;
    }
  const variants: Array<Record<string, number[] | number>> = [
    { strides: [2, 2], pad: [pt, pb, pl, pr], dilations: [1, 1], groups: 1, output_padding: [1, 0] },
    { strides: [2, 2], pads: [pt, pl, pb, pr], group: 1, output_padding: [1, 0], kernel_shape: [3, 3] },
  ];
  for (const attrs of variants) {
    const g = new GraphBuilder().input('x', [1, C, H, W]).constant('w', [C, Co, k, k], w).constant('b', [Co], b)
      .op({ name: 'up', op: 'conv_transpose', inputs: ['x', 'w', 'b'], outputs: [['y', [1, Co, Ho, Wo]]], attrs })
      .build(['y']);
    const { result, outputs } = runGraph(A(), g, { x });
    assert.equal(result.layers[0].executed, true, result.layers[0].notExecuted);
    checkOutput('y', outputs.y, { shape: [1, Co, Ho, Wo], data: expected });
  }
});

// The kernel is a GEMM (Wᵀ·X per image and group) and a scatter-add; these cases cover groups, dilation,
// batches, stride 1 and 3, zero and large padding, and channel counts that fill the GEMM's panels.
test('conv_transpose: groups, dilation, batch 2 and GEMM-sized channels match the definition', { skip: missing }, () => {
  const cases = [
    { N: 2, C: 4, Co: 6, groups: 2, k: [3, 2], s: [2, 3], d: [1, 2], pad: [1, 0, 0, 2], H: 5, W: 4 },
    { N: 1, C: 16, Co: 24, groups: 1, k: [4, 4], s: [2, 2], d: [1, 1], pad: [1, 1, 1, 1], H: 7, W: 9 },
    { N: 1, C: 8, Co: 8, groups: 8, k: [3, 3], s: [1, 1], d: [1, 1], pad: [0, 0, 0, 0], H: 6, W: 5 },
    { N: 1, C: 3, Co: 5, groups: 1, k: [2, 2], s: [2, 2], d: [1, 1], pad: [3, 2, 2, 3], H: 6, W: 7 },
  ];
  for (const [i, c] of cases.entries()) {
    const cig = c.C / c.groups, cog = c.Co / c.groups;
    const [pt, pb, pl, pr] = c.pad;
    const Ho = (c.H - 1) * c.s[0] - pt - pb + c.d[0] * (c.k[0] - 1) + 1, Wo = (c.W - 1) * c.s[1] - pl - pr + c.d[1] * (c.k[1] - 1) + 1;
    const x = pseudoRandom(c.N * c.C * c.H * c.W, 20 + i), w = pseudoRandom(c.C * cog * c.k[0] * c.k[1], 30 + i), b = pseudoRandom(c.Co, 40 + i);
    const expected = new Float64Array(c.N * c.Co * Ho * Wo);
    for (let n = 0; n < c.N; n++) for (let co = 0; co < c.Co; co++) expected.fill(b[co]!, (n * c.Co + co) * Ho * Wo, (n * c.Co + co + 1) * Ho * Wo);
    for (let n = 0; n < c.N; n++) for (let ci = 0; ci < c.C; ci++) for (let ih = 0; ih < c.H; ih++) for (let iw = 0; iw < c.W; iw++) {
      const g = Math.floor(ci / cig), xv = x[((n * c.C + ci) * c.H + ih) * c.W + iw]!;
      for (let oc = 0; oc < cog; oc++) for (let kh = 0; kh < c.k[0]; kh++) for (let kw = 0; kw < c.k[1]; kw++) {
        const oh = ih * c.s[0] - pt + kh * c.d[0], ow = iw * c.s[1] - pl + kw * c.d[1];
        if (oh < 0 || oh >= Ho || ow < 0 || ow >= Wo) continue;
        expected[((n * c.Co + g * cog + oc) * Ho + oh) * Wo + ow] += xv * w[((ci * cog + oc) * c.k[0] + kh) * c.k[1] + kw]!;
      }
    }
    const g = new GraphBuilder().input('x', [c.N, c.C, c.H, c.W]).constant('w', [c.C, cog, c.k[0], c.k[1]], w).constant('b', [c.Co], b)
      .op({ name: 'up', op: 'conv_transpose', inputs: ['x', 'w', 'b'], outputs: [['y', [c.N, c.Co, Ho, Wo]]],
        attrs: { strides: c.s, pad: c.pad, dilations: c.d, groups: c.groups } })
      .build(['y']);
    const { result, outputs } = runGraph(A(), g, { x });
    assert.equal(result.layers[0].executed, true, result.layers[0].notExecuted);
    checkOutput(`conv_transpose case ${i}`, outputs.y, { shape: [c.N, c.Co, Ho, Wo], data: expected });
  }
});

test('conv_transpose 1-D (N, C, L) with ONNX attributes matches the definition (Conv-TasNet\'s decoder)', { skip: missing }, () => {
  const [C, Co, L, k, s, pb, pe, op] = [4, 6, 9, 5, 3, 2, 1, 1];
  const x = pseudoRandom(C * L, 50), w = pseudoRandom(C * Co * k, 51);
  const Lo = (L - 1) * s - pb - pe + k + op;
  const expected = new Float64Array(Co * Lo);
  for (let ci = 0; ci < C; ci++) for (let i = 0; i < L; i++) for (let co = 0; co < Co; co++) for (let t = 0; t < k; t++) {
    const o = i * s - pb + t;
    if (o >= 0 && o < Lo) expected[co * Lo + o] += x[ci * L + i]! * w[(ci * Co + co) * k + t]!;
  }
  const g = new GraphBuilder().input('x', [1, C, L]).constant('w', [C, Co, k], w)
    .op({ name: 'dec', op: 'conv_transpose', inputs: ['x', 'w'], outputs: [['y', [1, Co, Lo]]], attrs: { strides: [s], pads: [pb, pe], output_padding: [op], group: 1 } })
    .build(['y']);
  const { result, outputs } = runGraph(A(), g, { x });
  assert.equal(result.layers[0].executed, true, result.layers[0].notExecuted);
  checkOutput('conv_transpose 1-D', outputs.y, { shape: [1, Co, Lo], data: expected });
});

test('instance_norm (what GroupNorm exports to) normalizes each image and channel over its spatial axes', { skip: missing }, () => {
  const [N, C, H, W, eps] = [2, 3, 4, 5, 1e-5];
  const x = pseudoRandom(N * C * H * W, 52), gamma = pseudoRandom(C, 53), beta = pseudoRandom(C, 54);
  const expected = new Float64Array(x.length);
  for (let p = 0; p < N * C; p++) {
    const plane = x.slice(p * H * W, (p + 1) * H * W);
    const mean = plane.reduce((a, v) => a + v, 0) / plane.length;
    const variance = plane.reduce((a, v) => a + (v - mean) ** 2, 0) / plane.length;
    plane.forEach((v, i) => { expected[p * H * W + i] = ((v - mean) / Math.sqrt(variance + eps)) * gamma[p % C]! + beta[p % C]!; });
  }
  const g = new GraphBuilder().input('x', [N, C, H, W]).constant('gamma', [C], gamma).constant('beta', [C], beta)
    .op({ name: 'in', op: 'instance_norm', inputs: ['x', 'gamma', 'beta'], outputs: [['y', [N, C, H, W]]], attrs: { epsilon: eps } })
    .build(['y']);
  const { result, outputs } = runGraph(A(), g, { x });
  assert.equal(result.layers[0].executed, true, result.layers[0].notExecuted);
  checkOutput('instance_norm', outputs.y, { shape: [N, C, H, W], data: expected });
});

test('layer_norm over non-trailing axes (channel axis of B,C,1,S) and gamma/beta', { skip: missing }, () => {
  const [C, S] = [6, 5];
  const x = pseudoRandom(C * S, 9);
  const gamma = pseudoRandom(C, 10);
  const beta = pseudoRandom(C, 11);
  const expected = new Float64Array(C * S);
  for (let s = 0; s < S; s++) {
    let mean = 0;
    for (let c = 0; c < C; c++) mean += x[c * S + s]! / C;
    let v = 0;
    for (let c = 0; c < C; c++) v += (x[c * S + s]! - mean) ** 2 / C;
    for (let c = 0; c < C; c++) expected[c * S + s] = (x[c * S + s]! - mean) / Math.sqrt(v + 1e-5) * gamma[c]! + beta[c]!;
  }
  const g = new GraphBuilder().input('x', [1, C, 1, S]).constant('g', [C], gamma).constant('b', [C], beta)
    .op({ name: 'ln', op: 'layer_norm', inputs: ['x', 'g', 'b'], outputs: [['y', [1, C, 1, S]]], attrs: { axes: [1], epsilon: 1e-5 } })
    .build(['y']);
  const { result, outputs } = runGraph(A(), g, { x });
  assert.equal(result.layers[0].executed, true, result.layers[0].notExecuted);
  checkOutput('y', outputs.y, { shape: [1, C, 1, S], data: expected });
});

test('threads: 1 and 2 give bit-identical fp16 and fp32 outputs', { skip: missing }, () => {
  const ws = [32, 16, 3, 3];
  const g = new GraphBuilder().input('x', [1, 16, 40, 40]).constant('w', ws, pseudoRandom(ref.size(ws), 2))
    .op({ name: 'conv', op: 'conv', inputs: ['x', 'w'], outputs: [['c', [1, 32, 40, 40]]], attrs: { strides: [1, 1], pad: [1, 1, 1, 1], dilations: [1, 1], groups: 1 } })
    .op({ name: 'act', op: 'gelu', inputs: ['c'], outputs: [['y', [1, 32, 40, 40]]], attrs: { mode: 'EXACT' } })
    .build(['y']);
  const one = runGraph(A(), g, {}, { threads: 1 });
  const two = runGraph(A(), g, {}, { threads: 2 });
  assert.deepEqual(two.outputs.y!.fp16, one.outputs.y!.fp16);
  assert.deepEqual(two.outputs.y!.fp32, one.outputs.y!.fp32);
  assert.throws(() => runGraph(A(), g, {}, { threads: 0 }), /'threads' must be an integer from 1 to 64/);
});

// The executor keeps its buffer pool and helper thread between runs (storage, never values): a run after
// another graph has left inf/NaN-filled buffers in the pool gives exactly the first run's results.
test('runs reuse pooled storage, not values: results repeat exactly after another graph ran', { skip: missing }, () => {
  const ws = [32, 16, 3, 3];
  const a = new GraphBuilder().input('x', [1, 16, 40, 40]).constant('w', ws, pseudoRandom(ref.size(ws), 5))
    .op({ name: 'conv', op: 'conv', inputs: ['x', 'w'], outputs: [['c', [1, 32, 40, 40]]], attrs: { strides: [1, 1], pad: [1, 1, 1, 1], dilations: [1, 1], groups: 1 } })
    .op({ name: 'pad', op: 'pad', inputs: ['c'], outputs: [['p', [1, 32, 42, 42]]], attrs: { pad: [0, 0, 0, 0, 1, 1, 1, 1], mode: 'constant', constant_val: 0 } })
    .op({ name: 'act', op: 'relu', inputs: ['p'], outputs: [['y', [1, 32, 42, 42]]] })
    .build(['y']);
  const b = new GraphBuilder().input('x', [1, 64, 48, 48])
    .op({ name: 'big', op: 'exp', inputs: ['x'], outputs: [['e', [1, 64, 48, 48]]] })
    .op({ name: 'inf', op: 'mul', inputs: ['e', 'e'], outputs: [['m', [1, 64, 48, 48]]] })
    .op({ name: 'nan', op: 'sub', inputs: ['m', 'm'], outputs: [['y', [1, 64, 48, 48]]] })
    .build(['y']);
  for (const threads of [1, 2]) {
    const first = runGraph(A(), a, {}, { threads });
    const junk = runGraph(A(), b, { x: new Float32Array(64 * 48 * 48).fill(60) }, { threads });
    assert.ok(Number.isNaN(junk.outputs.y!.fp32[0]!), 'the other graph filled its buffers with NaN');
    const again = runGraph(A(), a, {}, { threads });
    assert.equal(again.result.layers[1].executed, true, again.result.layers[1].notExecuted);
    assert.deepEqual(again.outputs.y!.fp16, first.outputs.y!.fp16);
    assert.deepEqual(again.outputs.y!.fp32, first.outputs.y!.fp32);
    assert.deepEqual(again.result.layers.map((l) => l.numerics), first.result.layers.map((l) => l.numerics));
    // And from scratch after the pool and helper were let go.
    A().releaseMemory();
    const fresh = runGraph(A(), a, {}, { threads });
    assert.deepEqual(fresh.outputs.y!.fp16, first.outputs.y!.fp16);
    assert.deepEqual(fresh.outputs.y!.fp32, first.outputs.y!.fp32);
  }
});

// Runs that overlap (worker threads in one process) share the pool under its lock and take a helper each.
test('overlapping runs in three worker threads give the results of a lone run', { skip: missing }, async () => {
  const ws = [32, 32, 3, 3];
  const built = new GraphBuilder().input('x', [1, 32, 56, 56]).constant('w', ws, pseudoRandom(ref.size(ws), 5))
    .op({ name: 'conv', op: 'conv', inputs: ['x', 'w'], outputs: [['c', [1, 32, 56, 56]]], attrs: { strides: [1, 1], pad: [1, 1, 1, 1], dilations: [1, 1], groups: 1 } })
    .op({ name: 'act', op: 'relu', inputs: ['c'], outputs: [['y', [1, 32, 56, 56]]] })
    .build(['y']);
  const opts = JSON.stringify({ chip: chipM4(), devices: ['ane', 'ane'], seed: 7, execute: true, segmentation: 'fixed', threads: 2 });
  const graph = JSON.stringify(built.graph);
  const lone = A().run(graph, built.weights, opts, {}).outputs.y!;
  const code = `
    const { parentPort, workerData: d } = require('node:worker_threads');
    const addon = require(d.path);
    let same = true;
    for (let i = 0; i < 10; i++) {
      const y = addon.run(d.graph, d.weights, d.opts, {}).outputs.y;
      same = same && Buffer.from(y.fp16.buffer).equals(Buffer.from(d.fp16.buffer)) && Buffer.from(y.fp32.buffer).equals(Buffer.from(d.fp32.buffer));
    }
    parentPort.postMessage(same);`;
  const results = await Promise.all([0, 1, 2].map(() => new Promise<boolean>((resolve, reject) => {
    const w = new Worker(code, { eval: true, workerData: { path: ADDON_PATH, graph, weights: built.weights, opts, fp16: lone.fp16, fp32: lone.fp32 } });
    w.on('message', resolve);
    w.on('error', reject);
  })));
  assert.deepEqual(results, [true, true, true]);
});

test('buffer plan: a chain reuses freed buffers', { skip: missing }, () => {
  const shape = [1, 16, 32, 32];
  const bytes = ref.size(shape) * 2;
  const g = new GraphBuilder().input('x', shape);
  let prev = 'x';
  for (let i = 0; i < 5; i++) {
    g.op({ name: `r${i}`, op: 'relu', inputs: [prev], outputs: [[`v${i}`, shape]] });
    prev = `v${i}`;
  }
  const { result } = runGraph(A(), g.build([prev]));
  assert.equal(result.unplannedActivationBytes, 6 * bytes);
  assert.equal(result.peakActivationBytes, 2 * bytes);
  assert.ok(result.peakActivationBytes < result.unplannedActivationBytes);
});

test('missing inputs get deterministic seeded values', { skip: missing }, () => {
  const g = new GraphBuilder().input('x', [64]).op({ name: 'id', op: 'identity', inputs: ['x'], outputs: [['y', [64]]] }).build(['y']);
  const a = runGraph(A(), g, {}, { seed: 3 }).outputs.y.fp32;
  const b = runGraph(A(), g, {}, { seed: 3 }).outputs.y.fp32;
  const c = runGraph(A(), g, {}, { seed: 4 }).outputs.y.fp32;
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  const mean = a.reduce((s, v) => s + v, 0) / a.length;
  assert.ok(Math.abs(mean) < 0.5 && a.some((v) => v < 0) && a.some((v) => v > 0));
});

test('depth_to_space (DCR), pixel_shuffle (CRD) and space_to_depth: the NeuralNetwork spec\'s worked example', { skip: missing }, () => {
  // Input [C = 8, H = 1, W = 2] holding 1..16, block 2 (NeuralNetwork.proto, ReorganizeDataLayerParams).
  const values = Array.from({ length: 16 }, (_, i) => i + 1);
  const g = new GraphBuilder().input('x', [1, 8, 1, 2])
    .op({ name: 'd2s', op: 'depth_to_space', inputs: ['x'], outputs: [['d2s', [1, 2, 2, 4]]], attrs: { block_size: 2 } })
    .op({ name: 'ps', op: 'pixel_shuffle', inputs: ['x'], outputs: [['ps', [1, 2, 2, 4]]], attrs: { upscale_factor: 2 } })
    .op({ name: 'crd', op: 'depth_to_space', inputs: ['x'], outputs: [['crd', [1, 2, 2, 4]]], attrs: { blocksize: 2, mode: 'CRD' } })
    .op({ name: 's2d', op: 'space_to_depth', inputs: ['d2s'], outputs: [['s2d', [1, 8, 1, 2]]], attrs: { block_size: 2 } });
  const { outputs } = runGraph(A(), g.build(['d2s', 'ps', 'crd', 's2d']), { x: Float32Array.from(values) });
  assert.deepEqual([...outputs.d2s.fp32], [1, 5, 2, 6, 9, 13, 10, 14, 3, 7, 4, 8, 11, 15, 12, 16]);
  assert.deepEqual([...outputs.ps.fp32], [1, 3, 2, 4, 5, 7, 6, 8, 9, 11, 10, 12, 13, 15, 14, 16]);
  assert.deepEqual([...outputs.crd.fp32], [...outputs.ps.fp32]);
  assert.deepEqual([...outputs.s2d.fp32], values);
});

test('more kernels: prelu, comparisons, elu/mish/round, linear_activation/threshold, reduce variants, tile, resize_bilinear', { skip: missing }, () => {
  const xs = [1, 2, 3, 4];
  const x = ref.tensor(xs, pseudoRandom(24, 70).map((v) => v * 3));
  const slope = ref.tensor([1, 2, 1, 1], [0.1, 0.3]);
  const g = new GraphBuilder().input('x', xs).constant('slope', [1, 2, 1, 1], slope.data).constant('half', [1], [0.5])
    .op({ name: 'pr', op: 'prelu', inputs: ['x', 'slope'], outputs: [['pr', xs]] })
    .op({ name: 'gt', op: 'greater', inputs: ['x', 'half'], outputs: [['gt', xs]] })
    .op({ name: 'elu', op: 'elu', inputs: ['x'], outputs: [['elu', xs]], attrs: { alpha: 0.7 } })
    .op({ name: 'mish', op: 'mish', inputs: ['x'], outputs: [['mish', xs]] })
    .op({ name: 'lin', op: 'linear_activation', inputs: ['x'], outputs: [['lin', xs]], attrs: { alpha: -2, beta: 0.25 } })
    .op({ name: 'thr', op: 'threshold', inputs: ['x'], outputs: [['thr', xs]], attrs: { alpha: 0.5 } })
    .op({ name: 'rnd', op: 'round', inputs: ['x'], outputs: [['rnd', xs]] })
    .op({ name: 'rmin', op: 'reduce_min', inputs: ['x'], outputs: [['rmin', [1, 2, 1, 1]]], attrs: { axes: [2, 3], keep_dims: true } })
    .op({ name: 'l2', op: 'reduce_l2_norm', inputs: ['x'], outputs: [['l2', [1, 2, 3]]], attrs: { axes: [-1], keep_dims: false } })
    .op({ name: 'lse', op: 'reduce_log_sum_exp', inputs: ['x'], outputs: [['lse', [1, 2, 3]]], attrs: { axes: [-1], keep_dims: false } })
    .op({ name: 'tile', op: 'tile', inputs: ['x'], outputs: [['tile', [2, 2, 3, 8]]], attrs: { reps: [2, 1, 1, 2] } })
    .op({ name: 'rb_half', op: 'resize_bilinear', inputs: ['x'], outputs: [['rbh', [1, 2, 6, 7]]], attrs: { target_size_height: 6, target_size_width: 7, sampling_mode: 'UNALIGN_CORNERS' } })
    .op({ name: 'rb_align', op: 'resize_bilinear', inputs: ['x'], outputs: [['rba', [1, 2, 6, 8]]], attrs: { scale_factor_height: 2, scale_factor_width: 2, sampling_mode: 'STRICT_ALIGN_CORNERS' } })
    // MIL upsample_bilinear: align_corners defaults to true; false samples from half a step in. A NeuralNetwork
    // upsample's DEFAULT linear mode arrives as sampling_mode DEFAULT.
    .op({ name: 'ub_mil', op: 'upsample_bilinear', inputs: ['x'], outputs: [['ubm', [1, 2, 6, 8]]], attrs: { scale_factor_height: 2, scale_factor_width: 2 } })
    .op({ name: 'ub_half', op: 'upsample_bilinear', inputs: ['x'], outputs: [['ubh', [1, 2, 6, 8]]], attrs: { scale_factor_height: 2, scale_factor_width: 2, align_corners: false } })
    .op({ name: 'ub_nn', op: 'upsample_bilinear', inputs: ['x'], outputs: [['ubd', [1, 2, 6, 8]]], attrs: { scale_factor_height: 2, scale_factor_width: 2, sampling_mode: 'DEFAULT' } });
  const { result, outputs } = runGraph(A(), g.build(['pr', 'gt', 'elu', 'mish', 'lin', 'thr', 'rnd', 'rmin', 'l2', 'lse', 'tile', 'rbh', 'rba', 'ubm', 'ubh', 'ubd']), { x: Float32Array.from(x.data) });
  assert.ok(result.layers.every((l) => l.executed), JSON.stringify(result.layers.filter((l) => !l.executed)));
  const at = (c: number, h: number, w: number) => x.data[(c * 3 + h) * 4 + w];
  const map = (f: (v: number, i: number) => number) => ({ shape: xs, data: x.data.map(f) });
  checkOutput('prelu', outputs.pr, map((v, i) => (v >= 0 ? v : v * slope.data[Math.floor(i / 12)])));
  checkOutput('greater', outputs.gt, map((v) => (v > 0.5 ? 1 : 0)));
  checkOutput('elu', outputs.elu, map((v) => (v > 0 ? v : 0.7 * (Math.exp(v) - 1))));
  checkOutput('mish', outputs.mish, map((v) => v * Math.tanh(Math.log1p(Math.exp(v)))));
  // NeuralNetwork activations: linear (alpha·x + beta) and MIL threshold (a lower bound).
  checkOutput('linear_activation', outputs.lin, map((v) => -2 * v + 0.25));
  checkOutput('threshold', outputs.thr, map((v) => Math.max(v, 0.5)));
  const roundHalfEven = (v: number) => { const r = Math.round(v); return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r; };
  checkOutput('round', outputs.rnd, map((v) => roundHalfEven(Math.fround(v))));
  const rows = (f: (row: number[]) => number) => {
    const out: number[] = [];
    for (let c = 0; c < 2; c++) for (let h = 0; h < 3; h++) out.push(f([0, 1, 2, 3].map((w) => at(c, h, w))));
    return ref.tensor([1, 2, 3], out);
  };
  checkOutput('reduce_min', outputs.rmin, ref.tensor([1, 2, 1, 1], [0, 1].map((c) => Math.min(...x.data.slice(c * 12, c * 12 + 12)))));
  checkOutput('reduce_l2_norm', outputs.l2, rows((r) => Math.hypot(...r)));
  checkOutput('reduce_log_sum_exp', outputs.lse, rows((r) => Math.log(r.reduce((s, v) => s + Math.exp(v), 0))));
  const tile: number[] = [];
  for (let n = 0; n < 2; n++) for (let c = 0; c < 2; c++) for (let h = 0; h < 3; h++) for (let w = 0; w < 8; w++) tile.push(at(c, h, w % 4));
  checkOutput('tile', outputs.tile, ref.tensor([2, 2, 3, 8], tile));
  const bilinear = (Ho: number, Wo: number, coord: (i: number, inn: number, out: number) => number) => {
    const out: number[] = [];
    for (let c = 0; c < 2; c++) for (let oh = 0; oh < Ho; oh++) for (let ow = 0; ow < Wo; ow++) {
      const sy = Math.min(2, Math.max(0, coord(oh, 3, Ho))), sx = Math.min(3, Math.max(0, coord(ow, 4, Wo)));
      const y0 = Math.floor(sy), x0 = Math.floor(sx), y1 = Math.min(2, y0 + 1), x1 = Math.min(3, x0 + 1);
      const fy = sy - y0, fx = sx - x0;
      out.push((at(c, y0, x0) * (1 - fx) + at(c, y0, x1) * fx) * (1 - fy) + (at(c, y1, x0) * (1 - fx) + at(c, y1, x1) * fx) * fy);
    }
    return ref.tensor([1, 2, Ho, Wo], out);
  };
  checkOutput('resize half-pixel', outputs.rbh, bilinear(6, 7, (i, inn, out) => (i + 0.5) * (inn / out) - 0.5));
  checkOutput('resize align corners', outputs.rba, bilinear(6, 8, (i, inn, out) => (i * (inn - 1)) / (out - 1)));
  checkOutput('upsample_bilinear (MIL default: corners aligned)', outputs.ubm, bilinear(6, 8, (i, inn, out) => (i * (inn - 1)) / (out - 1)));
  checkOutput('upsample_bilinear align_corners=false', outputs.ubh, bilinear(6, 8, (i, inn, out) => (i + 0.5) * (inn / out) - 0.5));
  checkOutput('upsample_bilinear NeuralNetwork DEFAULT', outputs.ubd, bilinear(6, 8, (i, inn, out) => i * (inn - inn / out) / (out - 1)));
});

test('constants without data: the reader op and its dependants are not executed', { skip: missing }, () => {
  const built = new GraphBuilder().input('x', [1, 4])
    .op({ name: 'm', op: 'mul', inputs: ['x', 'w'], outputs: [['y', [1, 4]]] })
    .op({ name: 'r', op: 'relu', inputs: ['y'], outputs: [['z', [1, 4]]] }).build(['z']);
  built.graph.constants.push({ name: 'w', type: { dtype: 'fp32', shape: [4] }, unavailable: 'external data file w.bin is missing' });
  const { result } = runGraph(A(), built);
  assert.equal(result.layers[0].notExecuted, "constant 'w' has no data (external data file w.bin is missing)");
  assert.equal(result.layers[1].notExecuted, 'upstream m was not executed');
  assert.ok(result.layers[0].bytes > 0);
});

test('gather keeps integer indices exact on the fp16 path; select; out-of-range index is reported', { skip: missing }, () => {
  const rows = 2100, dim = 3;
  const table = Float32Array.from({ length: rows * dim }, (_, i) => Math.floor(i / dim) + (i % dim) / 4);
  const built = new GraphBuilder().input('ids', [1, 3]).input('mask', [1, 3, 1]).constant('table', [rows, dim], table).constant('fill', [1], [-7])
    .op({ name: 'embed', op: 'gather', inputs: ['table', 'ids'], outputs: [['e', [1, 3, dim]]], attrs: { axis: 0 } })
    .op({ name: 'masked', op: 'select', inputs: ['mask', 'e', 'fill'], outputs: [['m', [1, 3, dim]]] })
    .build(['e', 'm']);
  built.graph.inputs[0].type.dtype = 'int32';
  built.graph.inputs[1].type.dtype = 'bool';
  const { result, outputs } = runGraph(A(), built, { ids: Float32Array.from([2049, 5, -1]), mask: Float32Array.from([1, 0, 1]) });
  assert.equal(result.layers[0].executed, true, result.layers[0].notExecuted);
  // Row 2049 (fp16 would round the index to 2048, whose row rounds to 2048, 2048, 2048) and row -1 = 2099;
  // the table values themselves go through fp16 (2049 ties to even 2048).
  assert.deepEqual(Array.from(outputs.e.fp32), [2049, 2049.25, 2049.5, 5, 5.25, 5.5, 2099, 2099.25, 2099.5]);
  assert.deepEqual(Array.from(outputs.e.fp16), [2048, 2050, 2050, 5, 5.25, 5.5, 2100, 2100, 2100]);
  assert.deepEqual(Array.from(outputs.m.fp32), [2049, 2049.25, 2049.5, -7, -7, -7, 2099, 2099.25, 2099.5]);
  const bad = runGraph(A(), built, { ids: Float32Array.from([1, 2, 5000]), mask: Float32Array.from([1, 1, 1]) }).result;
  assert.match(bad.layers[0].notExecuted ?? '', /gather index 5000 is out of range for an axis of size 2100/);
  assert.equal(bad.layers[1].notExecuted, 'upstream embed was not executed');
});
