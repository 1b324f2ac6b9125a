// Bad model files: each must give one ModelReadError naming the file and the problem, quickly, with
// bounded memory; never another exception, never a hang.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { coremlModelType } from '../../server/src/coreml/coremlSchema';
import { readMilTextString, readMlmodelBytes } from '../../server/src/coreml/readCoreml';
import { readModelFile } from '../../server/src/coreml/readModel';
import { ModelReadError } from '../../server/src/onnx/readOnnx';
import { buildModel, node, valueInfo } from '../onnx/onnxBuild';
import { DIST, rng, SHARED_MODELS } from '../helpers';

const DIR = join(SHARED_MODELS, 'coreml');
const skip = existsSync(DIR) ? false : `skipped: ${DIR} is absent (the shared real model files)`;
/** One bad case must be refused (or read) within this, even on a slow CI core. */
const CASE_LIMIT_MS = 2000;

const SPECS: Array<[string, string]> = [
  ['Image2Image', 'Image2Image.mlmodel'], ['NeuralMcNeuralNet', 'NeuralMcNeuralNet.mlmodel'],
  ['keras', 'keras2coreml_Dense_ImageNet_small.mlmodel'], ['onehot', 'onehot_simple.mlmodel'],
  ['Sentiment', 'SentimentPolarity.mlmodel'], ['s4tf', 's4tf_model_personalization.mlmodel'],
  ['edsr', 'edsr_f32b5_fp32.mlmodel'], ['Pose', 'PoseEstimation_cpm.mlmodel'],
  ['Mosaic', 'Mosaic.mlpackage/Data/com.apple.CoreML/model.mlmodel'],
  ['MobileBERT', 'MobileBERT-spec-only.mlpackage/Data/com.apple.CoreML/model.mlmodel'],
];

/** Reads or fails cleanly: a ModelReadError whose message starts with the label. */
function expectCleanOutcome(label: string, fn: () => unknown): 'read' | 'refused' {
  const t0 = performance.now();
  try {
    fn();
    return 'read';
  } catch (e) {
    assert.ok(e instanceof ModelReadError, `${label}: ${(e as Error).stack}`);
    assert.ok(e.message.startsWith(label) || e.message.includes(label.split('/').pop()!), `${label}: message does not name the file: ${e.message}`);
    assert.ok(!e.message.includes('\n'), `${label}: multi-line message: ${e.message}`);
    return 'refused';
  } finally {
    const ms = performance.now() - t0;
    assert.ok(ms < CASE_LIMIT_MS, `${label}: took ${ms.toFixed(0)} ms`);
  }
}


const MIL_TEXT = () => readFileSync(join(DIR, 'add_model.compiled.model.mil'), 'utf8');

test('truncated at every 1/16 of their length: each real spec (read for analysis and for a run) and the MIL text', { skip }, () => {
  let cases = 0;
  const outcomes = { read: 0, refused: 0 };
  for (const [, rel] of SPECS) {
    const bytes = readFileSync(join(DIR, rel));
    for (let k = 0; k < 16; k++) {
      const cut = Math.floor((bytes.length * k) / 16);
      outcomes[expectCleanOutcome(`${rel}@${cut}`, () => readMlmodelBytes(bytes.subarray(0, cut), `${rel}@${cut}`))]++;
      // The same cut read for a run, whose schema decodes the NeuralNetwork weights too.
      expectCleanOutcome(`${rel}@${cut}`, () => readMlmodelBytes(bytes.subarray(0, cut), `${rel}@${cut}`, { loadWeights: true }));
      cases++;
    }
  }
  const text = MIL_TEXT();
  for (let k = 0; k < 16; k++) {
    const cut = Math.floor((text.length * k) / 16);
    outcomes[expectCleanOutcome(`model.mil@${cut}`, () => readMilTextString(text.slice(0, cut), `model.mil@${cut}`, null))]++;
    cases++;
  }
  assert.equal(cases, 16 * (SPECS.length + 1));
  assert.ok(outcomes.refused >= 16, `only ${outcomes.refused} truncations refused`);
});

test('2,000+ seeded random byte flips across the real files', { skip }, () => {
  // Cases per file, weighted so the run stays a few seconds: big specs get fewer cases.
  const plan: Array<[string, number]> = [
    ['Image2Image.mlmodel', 150], ['NeuralMcNeuralNet.mlmodel', 250], ['keras2coreml_Dense_ImageNet_small.mlmodel', 200],
    ['onehot_simple.mlmodel', 200], ['s4tf_model_personalization.mlmodel', 200], ['SentimentPolarity.mlmodel', 100],
    ['edsr_f32b5_fp32.mlmodel', 250], ['PoseEstimation_cpm.mlmodel', 60], ['Mosaic.mlpackage/Data/com.apple.CoreML/model.mlmodel', 220],
    ['MobileBERT-spec-only.mlpackage/Data/com.apple.CoreML/model.mlmodel', 20],
  ];
  const random = rng(20261121);
  let cases = 0;
  const outcomes = { read: 0, refused: 0 };
  const rss0 = process.memoryUsage().rss;
  for (const [rel, count] of plan) {
    const original = readFileSync(join(DIR, rel));
    for (let c = 0; c < count; c++) {
      const bytes = Buffer.from(original);
      const flips = 1 + Math.floor(random() * 8);
      for (let f = 0; f < flips; f++) bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
      const label = `${rel}#${c}`;
      outcomes[expectCleanOutcome(label, () => readMlmodelBytes(bytes, label))]++;
      cases++;
    }
  }
  const text = MIL_TEXT();
  const alphabet = '(){}[]<>,=;"-0123456789abcxyz_ \n';
  for (let c = 0; c < 400; c++) {
    const chars = text.split('');
    const flips = 1 + Math.floor(random() * 6);
    for (let f = 0; f < flips; f++) chars[Math.floor(random() * chars.length)] = alphabet[Math.floor(random() * alphabet.length)]!;
    const label = `model.mil#${c}`;
    outcomes[expectCleanOutcome(label, () => readMilTextString(chars.join(''), label, null))]++;
    cases++;
  }
  assert.ok(cases >= 2000, `${cases} cases`);
  assert.ok(outcomes.refused > 100 && outcomes.read > 100, JSON.stringify(outcomes));
  const grown = (process.memoryUsage().rss - rss0) / 2 ** 20;
  assert.ok(grown < 512, `RSS grew ${grown.toFixed(0)} MB over ${cases} cases`);
});

function tmpPackage(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'ane-lens-pkg-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const pkg = join(dir, 'M.mlpackage');
  cpSync(join(DIR, 'Mosaic.mlpackage'), pkg, { recursive: true });
  return pkg;
}

function manifestWithPath(pkg: string, path: string | null, root = true): void {
  const m = JSON.parse(readFileSync(join(pkg, 'Manifest.json'), 'utf8'));
  const id = m.rootModelIdentifier;
  if (!root) m.rootModelIdentifier = 'NOPE';
  if (path === null) delete m.itemInfoEntries[id].path;
  else m.itemInfoEntries[id].path = path;
  writeFileSync(join(pkg, 'Manifest.json'), JSON.stringify(m));
}

test('Manifest.json paths that escape the package, are absolute, absent or point nowhere', { skip }, (t) => {
  const cases: Array<[string | null, RegExp]> = [
    ['../../../etc/passwd', /leaves the package/],
    ['com.apple.CoreML/../../Manifest.json', /leaves the package/],
    ['/etc/passwd', /leaves the package/],
    ['com.apple.CoreML/nothing.mlmodel', /does not exist/],
    [null, /has no path/],
    ['com.apple.CoreML', /not a file/],
  ];
  for (const [path, re] of cases) {
    const pkg = tmpPackage(t);
    manifestWithPath(pkg, path);
    assert.throws(() => readModelFile(pkg), (e: Error) => e instanceof ModelReadError && e.message.includes('Manifest.json') && re.test(e.message), String(path));
  }
  const broken = tmpPackage(t);
  writeFileSync(join(broken, 'Manifest.json'), '{"itemInfoEntries": ');
  assert.throws(() => readModelFile(broken), /Manifest\.json: not valid JSON/);
  const noManifest = tmpPackage(t);
  rmSync(join(noManifest, 'Manifest.json'));
  assert.throws(() => readModelFile(noManifest), /Manifest\.json: cannot open: ENOENT/);
  // A root id naming no item falls back to the conventional spec path, with a warning.
  const fallback = tmpPackage(t);
  manifestWithPath(fallback, 'x', false);
  assert.ok(readModelFile(fallback).graph.warnings.some((w) => /using Data\/com\.apple\.CoreML\/model\.mlmodel/.test(w)));
});

test('weight.bin: blob offsets and sizes past the end, bad sentinel, bad header', { skip }, (t) => {
  const bin = (pkg: string) => join(pkg, 'Data', 'com.apple.CoreML', 'weights', 'weight.bin');
  const short = tmpPackage(t);
  truncateSync(bin(short), 3_000_000);
  assert.throws(() => readModelFile(short), (e: Error) => e instanceof ModelReadError && e.message.includes('weight.bin') && /(outside|past the end of) the 3000000-byte weight file/.test(e.message));
  const sentinel = tmpPackage(t);
  const b = readFileSync(bin(sentinel));
  b.writeUInt32LE(0x12345678, 64);
  writeFileSync(bin(sentinel), b);
  assert.throws(() => readModelFile(sentinel), /weight\.bin: const "transpose_0_to_fp16": no blob at offset 64 \(sentinel 0x12345678/);
  const size = tmpPackage(t);
  const s = readFileSync(bin(size));
  s.writeBigUInt64LE(2n ** 40n, 64 + 8);
  writeFileSync(bin(size), s);
  assert.throws(() => readModelFile(size), /runs past the end of the \d+-byte weight file/);
  const header = tmpPackage(t);
  const h = readFileSync(bin(header));
  h.writeUInt32LE(7, 4);
  writeFileSync(bin(header), h);
  assert.throws(() => readModelFile(header), /storage version 7/);
});

test('weights read for a run: weight.bin cut at every 1/16, a blob with another dtype or size', { skip }, (t) => {
  const bin = (pkg: string) => join(pkg, 'Data', 'com.apple.CoreML', 'weights', 'weight.bin');
  const whole = readModelFile(tmpPackage(t), { loadWeights: true });
  const first = () => whole.graph.constants.find((c) => c.name === 'transpose_0_to_fp16')!;
  assert.deepEqual(first().data, { offset: 0, byteLength: 1728 });
  assert.equal(whole.weights.length >= 3_700_000, true, `${whole.weights.length} bytes of weights`);
  const cut = tmpPackage(t);
  const size = readFileSync(bin(cut)).length;
  const outcomes = { read: 0, refused: 0 };
  for (let k = 15; k >= 1; k--) {
    truncateSync(bin(cut), Math.floor((size * k) / 16));
    outcomes[expectCleanOutcome(`weight.bin@${k}/16`, () => readModelFile(cut, { loadWeights: true }))]++;
  }
  assert.equal(outcomes.refused, 15, 'every cut loses a blob that a constant points at');
  // A blob whose metadata disagrees with its constant's type is not loaded; the constant says why.
  const dtype = tmpPackage(t);
  const d = readFileSync(bin(dtype));
  d.writeUInt32LE(7, 64 + 4);
  d.writeUInt32LE(2, 64 + 64 + 1728 + 4); // the second blob's metadata follows the first's 1,728 bytes
  writeFileSync(bin(dtype), d);
  const c1 = readModelFile(dtype, { loadWeights: true }).graph.constants.find((c) => c.name === 'transpose_0_to_fp16')!;
  assert.equal(c1.data, undefined);
  assert.match(c1.unavailable!, /its blob holds uint16 values, which the simulator does not read/);
  const mismatched = readModelFile(dtype, { loadWeights: true }).graph.constants.filter((c) => /its blob holds fp32 values, not the fp16 its constant declares/.test(c.unavailable ?? ''));
  assert.equal(mismatched.length, 1);
  const short = tmpPackage(t);
  const b = readFileSync(bin(short));
  b.writeBigUInt64LE(1000n, 64 + 8);
  writeFileSync(bin(short), b);
  const c2 = readModelFile(short, { loadWeights: true }).graph.constants.find((c) => c.name === 'transpose_0_to_fp16')!;
  assert.match(c2.unavailable!, /its blob holds 1000 bytes, not the fp16 shape \(32, 3, 3, 3\)/);
});

/** A minimal ML program with one input of the given dims and a relu. */
function programWithDims(dims: number[]) {
  const tensor = { dataType: 10, rank: dims.length, dimensions: dims.map((d) => ({ constant: { size: d } })) };
  return {
    specificationVersion: 6,
    mlProgram: {
      version: 1,
      functions: {
        main: {
          inputs: [{ name: 'x', type: { tensorType: tensor } }], opset: 'CoreML5',
          block_specializations: { CoreML5: { outputs: ['y'], operations: [{ type: 'relu', inputs: { x: { arguments: [{ name: 'x' }] } }, outputs: [{ name: 'y', type: { tensorType: tensor } }] }] } },
        },
      },
    },
  };
}

function encode(obj: object): Uint8Array {
  const type = coremlModelType();
  return type.encode(type.fromObject(obj)).finish();
}

test('absurd dimensions (2^40) in an ML program and a NeuralNetwork layer', () => {
  const ok = readMlmodelBytes(encode(programWithDims([1, 8, 16, 16])), 'ok.mlmodel');
  assert.equal(ok.graph.ops[0]!.op, 'relu');
  assert.throws(() => readMlmodelBytes(encode(programWithDims([1, 2 ** 40])), 'big.mlmodel'), /big\.mlmodel: value "x" has an impossible dimension 1099511627776/);
  const nn = {
    specificationVersion: 1,
    description: { input: [{ name: 'x', type: { multiArrayType: { shape: [3, 8, 8], dataType: 0x10020 } } }] },
    neuralNetwork: { layers: [{ name: 'c', input: ['x'], output: ['y'], convolution: { outputChannels: 2 ** 40, kernelChannels: 3, kernelSize: [3, 3] } }] },
  };
  assert.throws(() => readMlmodelBytes(encode(nn), 'nn.mlmodel'), /nn\.mlmodel: layer "c" has an impossible dimension 1099511627776/);
});

/** Length-delimited messages nested `levels` times over `tags` (outermost first); each level's content is its prefix, then the next level. */
function nest(levels: number, tags: Array<[tag: number, prefix: number[]]>, inner: Uint8Array): Uint8Array {
  const varint = (n: number) => { const out: number[] = []; while (n > 127) { out.push((n & 127) | 128); n >>>= 7; } out.push(n); return out; };
  const parts: number[][] = [];
  let len = inner.length;
  for (let k = levels * tags.length - 1; k >= 0; k--) {
    const [tag, prefix] = tags[k % tags.length]!;
    len += prefix.length;
    const head = [...varint((tag << 3) | 2), ...varint(len), ...prefix];
    parts.push(head);
    len += head.length - prefix.length;
  }
  const out = new Uint8Array(len);
  let pos = 0;
  for (let k = parts.length - 1; k >= 0; k--) { out.set(parts[k]!, pos); pos += parts[k]!.length; }
  out.set(inner, pos);
  return out;
}

const COND_TYPE = [0x0a, 0x04, ...Buffer.from('cond')];

test('nesting 10,000 deep: pipelines, MIL blocks, MIL text literals, ONNX subgraphs', (t) => {
  // Model.pipeline(202) → Pipeline.models(1) → Model → ...
  const pipes = nest(10_000, [[202, []], [1, []]], new Uint8Array(0));
  assert.throws(() => readMlmodelBytes(pipes, 'pipes.mlmodel'), /pipes\.mlmodel: .*nested too deeply/);
  expectCleanOutcome('pipes.mlmodel', () => readMlmodelBytes(pipes, 'pipes.mlmodel'));
  // Model.mlProgram(502) → functions entry(2) → value(2) → block_specializations entry(3) → value(2) → Block,
  // then Block.operations(3) → Operation{type "cond"}.blocks(4) → Block → ... 10,000 deep.
  const deepOps = nest(10_000, [[3, COND_TYPE], [4, []]], new Uint8Array(0));
  const program = nest(1, [[502, []], [2, []], [2, []], [3, []], [2, []]], deepOps);
  assert.throws(() => readMlmodelBytes(program, 'blocks.mlmodel'), /blocks\.mlmodel: .*nested (too deeply|more than 64 deep)/);
  expectCleanOutcome('blocks.mlmodel', () => readMlmodelBytes(program, 'blocks.mlmodel'));
  const text = `program(1.0) { func main<ios16>(tensor<fp16, [1]> x) { tensor<fp16, [1]> y = const()[name = string("y"), val = tensor<fp16, [1]>(${'['.repeat(10_000)}1${']'.repeat(10_000)})]; } -> (y); }`;
  assert.throws(() => readMilTextString(text, 'deep.mil', null), /deep\.mil: line 1: expected a literal nested at most 32 deep/);
  const blocksText = `program(1.0) { func main<ios16>(tensor<fp16, [1]> x) { ${'tensor<fp16, [1]> y = cond(pred = x) { '.repeat(10_000)}`;
  expectCleanOutcome('blocks.mil', () => readMilTextString(blocksText, 'blocks.mil', null));
  // ONNX: GraphProto.node(1) → NodeProto{op_type "If"}.attribute(5) → AttributeProto.g(6) → GraphProto ...
  const dir = mkdtempSync(join(tmpdir(), 'ane-lens-deep-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const onnxFile = join(dir, 'deep.onnx');
  const graphBytes = nest(10_000, [[1, [0x22, 0x02, 0x49, 0x66]], [5, [0x0a, 0x01, 0x67]], [6, []]], new Uint8Array(0));
  writeFileSync(onnxFile, new Uint8Array([0x08, 0x08, ...nest(1, [[7, []]], graphBytes)]));
  expectCleanOutcome(onnxFile, () => readModelFile(onnxFile));
});

test('ONNX through the shared entry: cycles and dangling inputs', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ane-lens-onnx-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const cyc = join(dir, 'cycle.onnx');
  writeFileSync(cyc, buildModel({
    inputs: [valueInfo('x', [1, 4])], outputs: [valueInfo('b', [1, 4])],
    nodes: [node({ op: 'Add', inputs: ['x', 'b'], outputs: ['a'] }), node({ op: 'Relu', inputs: ['a'], outputs: ['b'] })],
  }));
  assert.throws(() => readModelFile(cyc), (e: Error) => e instanceof ModelReadError && e.message.startsWith(cyc) && /cycle/.test(e.message));
  const dangling = join(dir, 'dangling.onnx');
  writeFileSync(dangling, buildModel({
    inputs: [valueInfo('x', [1, 4])], outputs: [valueInfo('a', [1, 4])],
    nodes: [node({ op: 'Add', inputs: ['x', 'ghost'], outputs: ['a'] })],
  }));
  assert.throws(() => readModelFile(dangling), /reads "ghost", which no node, input or initializer provides/);
});

test('the CLI survives bad model files: one line on stderr, exit 2', { skip: skip || (existsSync(join(DIST, 'cli.js')) ? false : 'skipped: dist/cli.js is not built') }, (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ane-lens-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const bad = join(dir, 'bad.mlmodel');
  writeFileSync(bad, readFileSync(join(DIR, 'PoseEstimation_cpm.mlmodel')).subarray(0, 1000));
  for (const args of [['inspect', bad], ['check', bad]]) {
    const r = spawnSync(process.execPath, [join(DIST, 'cli.js'), ...args], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /^ane-lens: .*bad\.mlmodel: /);
  }
});
