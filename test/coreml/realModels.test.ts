import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { findChip } from '../../common/chips';
import { parseGraphIR } from '../../common/graphIR';
import { readModelFile } from '../../server/src/coreml/readModel';
import { loadModelView } from '../../server/src/milview/modelView';
import { SHARED_MODELS } from '../helpers';

const DIR = join(SHARED_MODELS, 'coreml');
const skip = existsSync(DIR) ? false : `skipped: ${DIR} is absent (the shared real model files)`;
const M4 = findChip('M4');
const M1 = findChip('M1');

function read(name: string) {
  const r = readModelFile(join(DIR, name));
  parseGraphIR(r.graph, name);
  return r;
}

function subset(actual: Record<string, number>, expected: Record<string, number>) {
  for (const [k, v] of Object.entries(expected)) assert.equal(actual[k], v, `${k}: ${actual[k]} ≠ ${v} in ${JSON.stringify(actual)}`);
}

test('Mosaic.mlpackage: 715 MIL ops as SOURCES.md counts them, consts resolved, 143 blobs validated', { skip }, () => {
  const { graph, details } = read('Mosaic.mlpackage');
  assert.equal(details.sourceOps, 715);
  subset(details.histogram, { const: 550, conv: 67, relu: 51, add: 11, resize_bilinear: 6, batch_norm: 3, avg_pool: 3, space_to_batch: 3, batch_to_space: 3, concat: 5, split: 3, reduce_argmax: 1 });
  assert.equal(graph.ops.length, 715 - 550);
  assert.equal(details.checkedBlobs, 143);
  assert.equal(details.opset, 'CoreML5');
  const conv = graph.ops.find((o) => o.op === 'conv')!;
  assert.deepEqual(conv.attrs.strides, [2, 2]);
  assert.equal(conv.attrs.groups, 1);
  assert.deepEqual(conv.attrs.kernel_sizes, [3, 3]);
  assert.equal(conv.attrs.pad_type, 'same');
  assert.deepEqual(conv.attrs.pad, [0, 1, 0, 1], 'same padding resolved for 512 → 256 with a 3x3 stride-2 kernel');
  assert.deepEqual(conv.outputs[0]!.type, { dtype: 'fp16', shape: [1, 32, 256, 256] });
  const w = graph.constants.find((c) => c.name === conv.inputs[1]);
  assert.deepEqual(w?.type.shape, [32, 3, 3, 3]);
  assert.match(w?.unavailable ?? '', /weight\.bin/);
  assert.ok(!graph.warnings.some((x) => /weights missing/.test(x)));
});

test('Mosaic.mlpackage placement: only the argmax leaves the ANE on M4; resize falls back on M1', { skip }, () => {
  const v4 = loadModelView(join(DIR, 'Mosaic.mlpackage'), M4);
  const off = v4.graph.ops.filter((o) => o.placement?.device !== 'ane');
  assert.deepEqual(off.map((o) => [o.op, o.placement?.rule]), [['reduce_argmax', 'ANE039']]);
  assert.equal(v4.summary.segments.length, 2);
  assert.equal(v4.summary.transfers.length, 1);
  const v1 = loadModelView(join(DIR, 'Mosaic.mlpackage'), M1);
  const resizes = v1.graph.ops.filter((o) => o.op === 'resize_bilinear');
  assert.equal(resizes.length, 6);
  for (const r of resizes) assert.equal(r.placement?.rule, 'ANE035');
  assert.ok(v1.summary.aneResidency < v4.summary.aneResidency);
});

test('MobileBERT-spec-only.mlpackage: analysed fully, missing weights reported as a warning, fp32 → ANE001', { skip }, () => {
  const v = loadModelView(join(DIR, 'MobileBERT-spec-only.mlpackage'), M4);
  assert.equal(v.details.sourceOps, 3989);
  subset(v.details.histogram, { linear: 338, matmul: 72, softmax: 24, reshape: 654, transpose: 97, gather: 2 });
  assert.ok(v.graph.warnings.some((w) => /^weights missing: weights\/weight\.bin/.test(w)), v.graph.warnings.join('\n'));
  const warning = v.fileFindings.find((f) => /weights missing/.test(f.message));
  assert.equal(warning?.severity, 'warning');
  const linear = v.graph.ops.find((o) => o.op === 'linear')!;
  assert.equal(linear.placement?.rule, 'ANE001');
  const gather = v.graph.ops.find((o) => o.op === 'gather')!;
  assert.equal(gather.placement?.rule, 'ANE024');
});

test('NeuralNetwork files: layer counts, mapped MIL names, original layer types kept', { skip }, () => {
  const pose = read('PoseEstimation_cpm.mlmodel');
  assert.equal(pose.details.sourceOps, 757);
  subset(pose.details.histogram, { convolution: 145, batchnorm: 93, activation: 386, unary: 93, add: 29, pooling: 2, upsample: 3, concat: 6 });
  assert.equal(pose.graph.ops.filter((o) => o.op === 'conv').length, 145);
  assert.ok(pose.graph.ops.every((o) => o.originalOp.startsWith('NeuralNetwork.')));
  assert.deepEqual(pose.graph.ops[0]!.outputs[0]!.type.shape, [1, 16, 96, 96]);

  const edsr = read('edsr_f32b5_fp32.mlmodel');
  assert.equal(edsr.details.sourceOps, 31);
  subset(edsr.details.histogram, { convolution: 13, add: 6, activation: 5, transpose: 2, loadConstantND: 2, minBroadcastable: 1, maxBroadcastable: 1, reorganizeData: 1 });
  assert.ok(edsr.graph.ops.some((o) => o.op === 'depth_to_space'));

  assert.deepEqual(read('Image2Image.mlmodel').graph.ops.map((o) => o.op), ['linear_activation']);
  const mc = loadModelView(join(DIR, 'NeuralMcNeuralNet.mlmodel'), M4);
  assert.match(mc.mil.text, /= custom\(x=%conv2d_1_output, class_name="Swish", name="swish_1"\) {2}\/\/ → CPU \(ANE028\)/, 'layer attributes shown in the MIL view');
  // flatten, then the innerProduct on (N, C, 1, 1) as a linear over (N, C) between two reshapes.
  const dense = read('keras2coreml_Dense_ImageNet_small.mlmodel').graph.ops;
  assert.deepEqual(dense.map((o) => [o.op, o.outputs[0]!.type.shape]), [['reshape', [1, 27, 1, 1]], ['reshape', [1, 27]], ['linear', [1, 2]], ['reshape', [1, 2, 1, 1]]]);
  assert.deepEqual(dense.slice(1).map((o) => o.originalOp), Array(3).fill('NeuralNetwork.innerProduct'));
});

test('NeuralNetwork placement: custom layer ANE028, ND layers ANE029, upsample ×4 ANE035, updatable noted', { skip }, () => {
  const custom = loadModelView(join(DIR, 'NeuralMcNeuralNet.mlmodel'), M4);
  const sw = custom.graph.ops.find((o) => o.op === 'custom')!;
  assert.equal(sw.placement?.rule, 'ANE028');
  assert.match(sw.placement?.reason ?? '', /Swish/);
  const edsr = loadModelView(join(DIR, 'edsr_f32b5_fp32.mlmodel'), M4);
  assert.deepEqual(edsr.graph.ops.filter((o) => o.placement?.device !== 'ane').map((o) => o.originalOp).sort(),
    ['NeuralNetwork.loadConstantND', 'NeuralNetwork.loadConstantND', 'NeuralNetwork.maxBroadcastable', 'NeuralNetwork.minBroadcastable']);
  const pose = loadModelView(join(DIR, 'PoseEstimation_cpm.mlmodel'), M4);
  assert.equal(pose.graph.ops.filter((o) => o.placement?.rule === 'ANE035').length, 2);
  const upd = read('s4tf_model_personalization.mlmodel');
  assert.equal(upd.details.updatable, true);
  assert.ok(upd.graph.warnings.some((w) => /updatable/.test(w)));
});

test('non-neural models and pipelines: every stage "cannot run on the ANE: <type>"', { skip }, () => {
  const onehot = loadModelView(join(DIR, 'onehot_simple.mlmodel'), M4);
  assert.equal(onehot.details.modelType, 'pipeline');
  assert.deepEqual(onehot.details.histogram, { arrayFeatureExtractor: 8, oneHotEncoder: 8, featureVectorizer: 1 });
  assert.equal(onehot.summary.aneOps, 0);
  assert.match(onehot.graph.ops[0]!.placement!.reason!, /^cannot run on the ANE: arrayFeatureExtractor/);
  const senti = loadModelView(join(DIR, 'SentimentPolarity.mlmodel'), M4);
  assert.equal(senti.details.modelType, 'pipelineClassifier');
  assert.ok(senti.graph.ops.some((o) => /cannot run on the ANE: glmClassifier/.test(o.placement?.reason ?? '')));
  assert.equal(senti.graph.inputs[0]!.type.dtype, 'unknown', 'a dictionary input is not a tensor');
});

test('compiled model.mil: typed text parsed, op source on its real line', { skip }, () => {
  const v = loadModelView(join(DIR, 'add_model.compiled.model.mil'), M4);
  assert.equal(v.graph.format, 'mil');
  assert.deepEqual(v.graph.inputs, [{ name: 'x', type: { dtype: 'fp16', shape: [1, 10] } }, { name: 'y', type: { dtype: 'fp16', shape: [1, 10] } }]);
  const mul = v.graph.ops[0]!;
  assert.equal(mul.op, 'mul');
  assert.equal(mul.name, 'op_3_cast_fp16');
  assert.equal(mul.source?.line, 5);
  assert.equal(mul.placement?.device, 'ane');
  assert.equal(v.details.opset, 'ios16');
});

test('MIL view: one line per op at the line the op map gives, consts not printed', { skip }, () => {
  const v = loadModelView(join(DIR, 'Mosaic.mlpackage'), M4);
  const lines = v.mil.text.split('\n');
  assert.match(lines[0]!, /^\/\/ Mosaic: mlProgram/);
  const bert = loadModelView(join(DIR, 'MobileBERT-spec-only.mlpackage'), M4);
  assert.match(bert.mil.text, /\}\n\/\/ warning: weights missing: weights\/weight\.bin is not in the package.*\n$/, 'notes after the program');
  v.graph.ops.forEach((op, k) => {
    const line = lines[v.mil.opLines[k]! - 1]!;
    assert.ok(line.includes(`= ${op.op}(`) && line.includes(`name="${op.name}"`), line);
    assert.equal(op.source?.line, v.mil.opLines[k]);
  });
  const read = readModelFile(join(DIR, 'Mosaic.mlpackage'));
  assert.deepEqual(read.graph.ops.map((o) => o.source?.line), v.mil.opLines, 'the reader sets the same MIL view lines before placement');
  for (const name of ['PoseEstimation_cpm.mlmodel', 'onehot_simple.mlmodel', 'MobileBERT-spec-only.mlpackage']) {
    const other = loadModelView(join(DIR, name), M4);
    assert.deepEqual(other.graph.ops.map((o) => [o.source?.line, o.source?.column]), other.mil.opLines.map((l, k) => [l, other.mil.opColumns[k]!.start]), name);
  }
  assert.ok(!/= const\(/.test(v.mil.text));
  const argmax = lines[v.mil.opLines[v.graph.ops.findIndex((o) => o.op === 'reduce_argmax')]! - 1]!;
  assert.match(argmax, /%ArgMax: \(1, 512, 512, int32\)\(Tensor\) = reduce_argmax\(x=%transpose_158, axis=3, keep_dims=False, name="ArgMax"\) {2}\/\/ → CPU \(ANE039\)$/);
  const f = v.viewFindings.find((x) => x.rule === 'ANE039')!;
  assert.equal(f.line, v.mil.opLines[v.graph.ops.findIndex((o) => o.op === 'reduce_argmax')]);
});
