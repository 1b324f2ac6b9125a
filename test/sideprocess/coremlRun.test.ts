// Core ML models run on the simulator: ML Program weights are read from weight.bin into the executor, and the
// ops converters emit for TensorFlow's dilated convolutions (space_to_batch, batch_to_space) and segmentation
// heads (reduce_argmax) compute what they should. The program below is compiled MIL text with a weight file
// written here, so every expected value is known; Mosaic.mlpackage is a real converted model.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { encodeNpyFloat32, readNpyFile } from '../../native/host/npy';
import { SideProcessClient } from '../../native/host/supervisor';
import { coremlModelType } from '../../server/src/coreml/coremlSchema';
import { distFile, rng, SHARED_MODELS } from '../helpers';

/** MIL blob storage v2 (coreml-format.md §2.3): a header, then per blob 64 bytes of metadata and the payload. */
function weightFile(blobs: Array<{ dtype: 'fp16' | 'fp32' | 'uint8'; bytes: Uint8Array }>): { file: Buffer; offsets: number[] } {
  const parts: Buffer[] = [];
  const offsets: number[] = [];
  const header = Buffer.alloc(64);
  header.writeUInt32LE(blobs.length, 0);
  header.writeUInt32LE(2, 4);
  parts.push(header);
  let at = 64;
  for (const b of blobs) {
    const meta = Buffer.alloc(64);
    meta.writeUInt32LE(0xdeadbeef, 0);
    meta.writeUInt32LE({ fp16: 1, fp32: 2, uint8: 3 }[b.dtype], 4);
    meta.writeBigUInt64LE(BigInt(b.bytes.length), 8);
    meta.writeBigUInt64LE(BigInt(at + 64), 16);
    offsets.push(at);
    const padded = Buffer.alloc(Math.ceil(b.bytes.length / 64) * 64);
    padded.set(b.bytes);
    parts.push(meta, padded);
    at += 64 + padded.length;
  }
  return { file: Buffer.concat(parts), offsets };
}

// fp16 bit patterns of 2 and -0.5.
const SCALE = new Uint8Array(new Uint16Array([0x4000, 0xb800]).buffer);

function program(offsets: number[]): string {
  const blob = (type: string, offset: number) => `${type}(BLOBFILE(path = string("@model_path/weights/weight.bin"), offset = uint64(${offset})))`;
  return `program(1.0)
[buildInfo = dict<string, string>({{"coremltools-version", "8.1"}})]
{
    func main<ios16>(tensor<fp32, [1, 2, 8, 8]> x) {
            tensor<fp32, [3, 2, 3, 3]> w = const()[name = string("w"), val = ${blob('tensor<fp32, [3, 2, 3, 3]>', offsets[0]!)}];
            tensor<fp16, [1, 2, 1, 1]> k = const()[name = string("k"), val = ${blob('tensor<fp16, [1, 2, 1, 1]>', offsets[1]!)}];
            tensor<int32, [2]> block = const()[name = string("block"), val = tensor<int32, [2]>([2, 2])];
            tensor<int32, [2, 2]> pads = const()[name = string("pads"), val = tensor<int32, [2, 2]>([[2, 2], [2, 2]])];
            tensor<int32, [2, 2]> crops = const()[name = string("crops"), val = tensor<int32, [2, 2]>([[0, 0], [0, 0]])];
            string valid = const()[name = string("valid"), val = string("valid")];
            string custom = const()[name = string("custom"), val = string("custom")];
            tensor<int32, [2]> one = const()[name = string("one"), val = tensor<int32, [2]>([1, 1])];
            tensor<int32, [2]> two = const()[name = string("two"), val = tensor<int32, [2]>([2, 2])];
            tensor<int32, [4]> same = const()[name = string("same"), val = tensor<int32, [4]>([2, 2, 2, 2])];
            tensor<int32, [4]> none = const()[name = string("none"), val = tensor<int32, [4]>([0, 0, 0, 0])];
            int32 g = const()[name = string("g"), val = int32(1)];
            int32 ax = const()[name = string("ax"), val = int32(1)];
            bool nokeep = const()[name = string("nokeep"), val = bool(false)];
            tensor<fp32, [4, 2, 6, 6]> s = space_to_batch(x = x, block_shape = block, paddings = pads)[name = string("s2b")];
            tensor<fp32, [4, 3, 4, 4]> c = conv(x = s, weight = w, strides = one, pad_type = valid, pad = none, dilations = one, groups = g)[name = string("phase_conv")];
            tensor<fp32, [1, 3, 8, 8]> viaBatch = batch_to_space(x = c, block_shape = block, crops = crops)[name = string("b2s")];
            tensor<fp32, [1, 3, 8, 8]> dilated = conv(x = x, weight = w, strides = one, pad_type = custom, pad = same, dilations = two, groups = g)[name = string("dilated_conv")];
            tensor<fp32, [1, 2, 8, 8]> scaled = mul(x = x, y = k)[name = string("scaled")];
            tensor<int32, [1, 8, 8]> label = reduce_argmax(x = dilated, axis = ax, keep_dims = nokeep)[name = string("label")];
        } -> (viaBatch, dilated, scaled, label);
}
`;
}

describe('Core ML models on the simulator', { timeout: 120_000 }, () => {
  let client: SideProcessClient;
  let dir: string;
  const random = rng(7);
  const x = Float32Array.from({ length: 2 * 8 * 8 }, () => random() * 4 - 2);
  const w = Float32Array.from({ length: 3 * 2 * 3 * 3 }, () => random() - 0.5);
  before(() => {
    client = new SideProcessClient({ scriptPath: distFile('sideprocess.js') });
    dir = mkdtempSync(join(tmpdir(), 'ane-lens-coreml-run-'));
  });
  after(() => {
    client.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  test('an ML program with weights in weight.bin: blob weights load, space_to_batch → conv → batch_to_space equals the dilated conv, argmax labels', async () => {
    const model = join(dir, 'dilated.mlmodelc');
    mkdirSync(join(model, 'weights'), { recursive: true });
    const { file, offsets } = weightFile([{ dtype: 'fp32', bytes: new Uint8Array(w.buffer) }, { dtype: 'fp16', bytes: SCALE }]);
    writeFileSync(join(model, 'weights', 'weight.bin'), file);
    writeFileSync(join(model, 'model.mil'), program(offsets));
    writeFileSync(join(dir, 'x.npy'), encodeNpyFloat32(x, [1, 2, 8, 8]));
    const out = join(dir, 'out');
    const report = await client.run({ target: { kind: 'coreml', path: model }, backend: 'sim', chip: 'M4', inputNpy: { x: join(dir, 'x.npy') }, saveOutputsTo: out });
    assert.equal(report.model.format, 'mil');
    for (const l of report.layers) assert.equal(l.notExecuted, undefined, `${l.name} (${l.op}): ${l.notExecuted}`);
    // Layers point at their line in model.mil, where the timing panel jumps.
    assert.deepEqual(report.layers.find((l) => l.name === 's2b')?.source, { file: join(model, 'model.mil'), line: 19 });

    const read = (name: string) => readNpyFile(join(out, `${name}.npy`));
    const scaled = read('scaled');
    x.forEach((v, i) => {
      const want = Math.fround(v) * (i < 64 ? 2 : -0.5);
      assert.ok(Math.abs(scaled.data[i]! - want) <= Math.abs(want) * 2 ** -10, `scaled[${i}] = ${scaled.data[i]} vs ${want}: the fp16 blob k is [2, -0.5]`);
    });
    // The dilated conv by hand (fp32) checks the fp32 blob w; its fp16 output is within fp16 tolerance of it.
    const dilated = read('dilated');
    const viaBatch = read('viaBatch');
    assert.deepEqual(viaBatch.shape, [1, 3, 8, 8]);
    let ref = 0;
    const byHand = new Float32Array(3 * 64);
    for (let o = 0; o < 3; o++) {
      for (let r = 0; r < 8; r++) {
        for (let c = 0; c < 8; c++) {
          let s = 0;
          for (let i = 0; i < 2; i++) {
            for (let kr = 0; kr < 3; kr++) {
              for (let kc = 0; kc < 3; kc++) {
                const sr = r + 2 * kr - 2, sc = c + 2 * kc - 2;
                if (sr >= 0 && sr < 8 && sc >= 0 && sc < 8) s += x[i * 64 + sr * 8 + sc]! * w[((o * 2 + i) * 3 + kr) * 3 + kc]!;
              }
            }
          }
          byHand[o * 64 + r * 8 + c] = s;
          ref = Math.max(ref, Math.abs(s));
        }
      }
    }
    byHand.forEach((want, i) => {
      assert.ok(Math.abs(dilated.data[i]! - want) <= 1e-2 * ref, `dilated[${i}] = ${dilated.data[i]} vs ${want}`);
      assert.ok(Math.abs(viaBatch.data[i]! - dilated.data[i]!) <= 1e-3 * ref, `space_to_batch path [${i}] = ${viaBatch.data[i]} vs dilated ${dilated.data[i]}`);
    });
    const label = read('label');
    assert.deepEqual(label.shape, [1, 8, 8]);
    for (let p = 0; p < 64; p++) {
      const scores = [0, 1, 2].map((o) => dilated.data[o * 64 + p]!);
      assert.equal(label.data[p], scores.indexOf(Math.max(...scores)), `label at ${p}: scores ${scores.join(', ')}`);
    }
  });

  test('compressed weights (constexpr_affine_dequantize per channel, an 8-bit constexpr_lut_to_dense) expand and feed the convs; they cost nothing at run time', async () => {
    const model = join(dir, 'compressed.mlmodelc');
    mkdirSync(join(model, 'weights'), { recursive: true });
    // 1×1 conv weights (2, 3, 1, 1) as uint8 with a zero point of 128 and one scale per output channel, and the
    // same shape as indices into a 256-entry palette (value i/64 − 2).
    const q = new Uint8Array([128, 160, 96, 0, 255, 128]);
    const indices = new Uint8Array([0, 64, 128, 192, 255, 130]);
    const palette = new Uint16Array(256);
    for (let i = 0; i < 256; i++) palette[i] = fp16Bits(i / 64 - 2);
    const { file, offsets } = weightFile([{ dtype: 'uint8', bytes: q }, { dtype: 'uint8', bytes: indices }, { dtype: 'fp16', bytes: new Uint8Array(palette.buffer) }]);
    writeFileSync(join(model, 'weights', 'weight.bin'), file);
    const blob = (type: string, offset: number) => `${type}(BLOBFILE(path = string("@model_path/weights/weight.bin"), offset = uint64(${offset})))`;
    writeFileSync(join(model, 'model.mil'), `program(1.0)
[buildInfo = dict<string, string>({{"coremltools-version", "8.1"}})]
{
    func main<ios16>(tensor<fp16, [1, 3, 2, 2]> x) {
            tensor<uint8, [2, 3, 1, 1]> q = const()[name = string("q"), val = ${blob('tensor<uint8, [2, 3, 1, 1]>', offsets[0]!)}];
            tensor<uint8, [2]> zp = const()[name = string("zp"), val = tensor<uint8, [2]>([128, 128])];
            tensor<fp16, [2]> sc = const()[name = string("sc"), val = tensor<fp16, [2]>([0.5, 0.25])];
            int32 ax = const()[name = string("ax"), val = int32(0)];
            tensor<fp16, [2, 3, 1, 1]> w1 = constexpr_affine_dequantize(quantized_data = q, zero_point = zp, scale = sc, axis = ax)[name = string("w1")];
            tensor<uint8, [6]> idx = const()[name = string("idx"), val = ${blob('tensor<uint8, [6]>', offsets[1]!)}];
            tensor<fp16, [256]> lut = const()[name = string("lut"), val = ${blob('tensor<fp16, [256]>', offsets[2]!)}];
            tensor<uint32, [4]> shp = const()[name = string("shp"), val = tensor<uint32, [4]>([2, 3, 1, 1])];
            tensor<fp16, [2, 3, 1, 1]> w2 = constexpr_lut_to_dense(lut = lut, indices = idx, shape = shp)[name = string("w2")];
            string valid = const()[name = string("valid"), val = string("valid")];
            tensor<int32, [2]> one = const()[name = string("one"), val = tensor<int32, [2]>([1, 1])];
            tensor<int32, [4]> none = const()[name = string("none"), val = tensor<int32, [4]>([0, 0, 0, 0])];
            int32 g = const()[name = string("g"), val = int32(1)];
            tensor<fp16, [1, 2, 2, 2]> y1 = conv(x = x, weight = w1, strides = one, pad_type = valid, pad = none, dilations = one, groups = g)[name = string("conv_affine")];
            tensor<fp16, [1, 2, 2, 2]> y2 = conv(x = x, weight = w2, strides = one, pad_type = valid, pad = none, dilations = one, groups = g)[name = string("conv_palette")];
        } -> (y1, y2);
}
`);
    const xs = Float32Array.from({ length: 12 }, () => random() * 2 - 1);
    writeFileSync(join(dir, 'cx.npy'), encodeNpyFloat32(xs, [1, 3, 2, 2]));
    const out = join(dir, 'compressed_out');
    const report = await client.run({ target: { kind: 'coreml', path: model }, backend: 'sim', chip: 'M4', inputNpy: { x: join(dir, 'cx.npy') }, saveOutputsTo: out });
    for (const l of report.layers) assert.equal(l.notExecuted, undefined, `${l.name} (${l.op}): ${l.notExecuted}`);
    for (const name of ['w1', 'w2']) assert.equal(report.layers.find((l) => l.name === name)?.flops, 0, `${name} is expanded at load time`);
    const w1 = [...q].map((v, i) => [0.5, 0.25][Math.floor(i / 3)]! * (v - 128));
    const w2 = [...indices].map((i) => i / 64 - 2);
    for (const [name, w] of [['y1', w1], ['y2', w2]] as const) {
      const got = readNpyFile(join(out, `${name}.npy`));
      for (let o = 0; o < 2; o++) {
        for (let p = 0; p < 4; p++) {
          const want = [0, 1, 2].reduce((sum, c) => sum + w[o * 3 + c]! * Math.fround(xs[c * 4 + p]!), 0);
          assert.ok(Math.abs(got.data[o * 4 + p]! - want) <= 2e-2 * Math.max(1, Math.abs(want)), `${name}[${o}, ${p}] = ${got.data[o * 4 + p]} vs ${want}`);
        }
      }
    }
  });

  test('a weight file cut short: the run fails with the file and the constant named', async () => {
    const model = join(dir, 'short.mlmodelc');
    mkdirSync(join(model, 'weights'), { recursive: true });
    const { file, offsets } = weightFile([{ dtype: 'fp32', bytes: new Uint8Array(w.buffer) }, { dtype: 'fp16', bytes: SCALE }]);
    writeFileSync(join(model, 'weights', 'weight.bin'), file.subarray(0, offsets[1]! + 66));
    writeFileSync(join(model, 'model.mil'), program(offsets));
    await assert.rejects(client.run({ target: { kind: 'coreml', path: model }, backend: 'sim', chip: 'M4' }),
      (e: Error) => /weight\.bin/.test(e.message) && /const "k"/.test(e.message));
  });

  test('a NeuralNetwork .mlmodel written here runs with its weights: fp32, fp16, 8-bit linear-quantized and 8-bit palettized', async () => {
    const f32 = 0x10020;
    const gamma = new Uint8Array(new Uint16Array([0x3c00, 0x4000]).buffer); // fp16 1 and 2
    const lut = Array.from({ length: 256 }, (_, i) => i / 100);
    const spec = {
      specificationVersion: 4,
      description: { input: [{ name: 'x', type: { multiArrayType: { shape: [3, 4, 4], dataType: f32 } } }], output: [{ name: 'y', type: { multiArrayType: { dataType: f32 } } }] },
      neuralNetwork: { layers: [
        { name: 'conv', input: ['x'], output: ['c'], convolution: { outputChannels: 2, kernelChannels: 3, kernelSize: [1, 1], stride: [1, 1], valid: {}, hasBias: true, weights: { floatValue: [1, 0, 0, 0, 1, 1] }, bias: { floatValue: [0.5, -1] } } },
        { name: 'bn', input: ['c'], output: ['b'], batchnorm: { channels: 2, epsilon: 1e-5, gamma: { float16Value: gamma }, beta: { floatValue: [0, 0.25] }, mean: { floatValue: [0.5, -1] }, variance: { floatValue: [4, 1] } } },
        { name: 'pool', input: ['b'], output: ['p'], pooling: { type: 1, globalPooling: true } },
        { name: 'fc', input: ['p'], output: ['f'], innerProduct: { inputChannels: 2, outputChannels: 3, hasBias: true, weights: { rawValue: new Uint8Array([1, 2, 3, 4, 5, 6]), quantization: { numberOfBits: 8, linearQuantization: { scale: [0.5, 1, 2], bias: [0, -1, 1] } } }, bias: { floatValue: [0, 0, 1] } } },
        { name: 'scale', input: ['f'], output: ['y'], scale: { shapeScale: [3, 1, 1], scale: { rawValue: new Uint8Array([10, 100, 255]), quantization: { numberOfBits: 8, lookupTableQuantization: { floatValue: lut } } } } },
      ] },
    };
    const type = coremlModelType();
    const file = join(dir, 'tiny.mlmodel');
    writeFileSync(file, type.encode(type.fromObject(spec)).finish());
    const input = Float32Array.from({ length: 48 }, () => random() * 2 - 1);
    writeFileSync(join(dir, 'tiny_x.npy'), encodeNpyFloat32(input, [1, 3, 4, 4]));
    const out = join(dir, 'tiny_out');
    const report = await client.run({ target: { kind: 'coreml', path: file }, backend: 'sim', chip: 'M4', inputNpy: { x: join(dir, 'tiny_x.npy') }, saveOutputsTo: out });
    for (const l of report.layers) assert.equal(l.notExecuted, undefined, `${l.name} (${l.op}): ${l.notExecuted}`);
    // By hand: 1×1 conv, batch norm, global mean, the dequantized linear (scale·q + bias per row), the palettized scale.
    const bn = (v: number, ch: number) => [1, 2][ch]! * (v - [0.5, -1][ch]!) / Math.sqrt([4, 1][ch]! + 1e-5) + [0, 0.25][ch]!;
    const pooled = [0, 1].map((ch) => {
      let sum = 0;
      for (let k = 0; k < 16; k++) sum += bn(ch === 0 ? input[k]! + 0.5 : input[16 + k]! + input[32 + k]! - 1, ch);
      return sum / 16;
    });
    const q = [1, 2, 3, 4, 5, 6];
    const want = [0, 1, 2].map((o) => (([0.5, 1, 2][o]! * q[2 * o]! + [0, -1, 1][o]!) * pooled[0]! + ([0.5, 1, 2][o]! * q[2 * o + 1]! + [0, -1, 1][o]!) * pooled[1]! + [0, 0, 1][o]!) * lut[[10, 100, 255][o]!]!);
    const got = readNpyFile(join(out, 'y.npy'));
    assert.deepEqual(got.shape, [1, 3, 1, 1]);
    const ref = Math.max(...want.map(Math.abs));
    want.forEach((w, o) => assert.ok(Math.abs(got.data[o]! - w) <= 1e-2 * ref, `y[${o}] = ${got.data[o]} vs ${w}`));
    // The input is declared as the layers see it: (1, C, H, W).
    assert.deepEqual(report.layers[0]!.outputShape, [1, 2, 4, 4]);
  });

  const mosaic = join(SHARED_MODELS, 'coreml', 'Mosaic.mlpackage');
  test('Mosaic.mlpackage (a converted TensorFlow segmentation model): every layer runs with its fp16 weights', { skip: existsSync(mosaic) ? false : `skipped: ${mosaic} is not here` }, async () => {
    const out = join(dir, 'mosaic');
    const report = await client.run({ target: { kind: 'coreml', path: mosaic }, backend: 'sim', chip: 'M4', saveOutputsTo: out });
    assert.equal(report.layers.length, 165);
    for (const l of report.layers) assert.equal(l.notExecuted, undefined, `${l.name} (${l.op}): ${l.notExecuted}`);
    assert.deepEqual(report.layers.filter((l) => l.device !== 'ane').map((l) => l.op), ['reduce_argmax']);
    assert.equal(report.firstOverflowLayer, null);
    const labels = readNpyFile(join(out, 'ArgMax.npy'));
    assert.deepEqual(labels.shape, [1, 512, 512]);
    assert.ok(labels.data.every((v) => Number.isInteger(v) && v >= 0 && v < 32), 'labels are class indices');
  });

  const shared = join(SHARED_MODELS, 'coreml');
  test('every real Core ML file: a report (executed with its own weights where kernels exist), or one clear refusal for the ones that are not neural networks', { skip: existsSync(shared) ? false : `skipped: ${shared} is not here` }, async () => {
    const outcomes: string[] = [];
    for (const name of readdirSync(shared).sort()) {
      try {
        const report = await client.run({ target: { kind: 'coreml', path: join(shared, name) }, backend: 'sim', chip: 'M4' });
        const notRun = report.layers.filter((l) => l.notExecuted);
        outcomes.push(`${name}: ${report.layers.length - notRun.length}/${report.layers.length} executed`);
        if (name.startsWith('MobileBERT')) assert.ok(notRun.some((l) => /its weight file weights\/weight\.bin is not in the package/.test(l.notExecuted!)), name);
      } catch (e) {
        const message = (e as Error).message;
        assert.ok(!message.includes('\n') && message.includes(name), `${name}: ${message}`);
        outcomes.push(`${name}: refused`);
        assert.match(message, /is not a numeric tensor \(a dictionary or a string\)|no neural network here, only arrayFeatureExtractor/, name);
      }
    }
    assert.deepEqual(outcomes.filter((o) => o.endsWith('refused')), ['SentimentPolarity.mlmodel: refused', 'onehot_simple.mlmodel: refused']);
    // Every layer runs with the file's own weights (ML program blobs, NeuralNetwork WeightParams) where the
    // executor has the kernels: all but NeuralMcNeuralNet, which stops at its custom layer.
    for (const full of ['Mosaic.mlpackage: 165/165', 'add_model.compiled.model.mil: 1/1', 'edsr_f32b5_fp32.mlmodel: 31/31', 'PoseEstimation_cpm.mlmodel: 757/757',
      'keras2coreml_Dense_ImageNet_small.mlmodel: 4/4', 's4tf_model_personalization.mlmodel: 3/3', 'Image2Image.mlmodel: 1/1']) {
      assert.ok(outcomes.includes(`${full} executed`), `${full}: ${outcomes.join('; ')}`);
    }
  });
});

/** The binary16 bit pattern of v (round to nearest even), for writing fp16 blobs. */
function fp16Bits(v: number): number {
  const f = new Float32Array([v]);
  const u = new Uint32Array(f.buffer)[0]!;
  const sign = (u >>> 16) & 0x8000;
  const exp = ((u >>> 23) & 0xff) - 127 + 15;
  let mant = u & 0x7fffff;
  if (exp <= 0) return sign; // the palette holds no subnormals
  const round = mant & 0x1fff;
  mant >>>= 13;
  if (round > 0x1000 || (round === 0x1000 && (mant & 1))) mant++;
  return sign | ((exp << 10) + mant);
}
