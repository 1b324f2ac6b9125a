// The CLI as users run it: `node dist/cli.js ...` in a child process, checking stdout, stderr and exit codes.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Finding } from '../../common/findings';
import { parseRunReport } from '../../common/runReport';
import { encodeNpyFloat32 } from '../../native/host/npy';
import { distFile, ROOT } from '../helpers';
import { buildModel, floatTensor, node, valueInfo } from '../onnx/onnxBuild';

interface Result { code: number; stdout: string; stderr: string }

function cli(...args: string[]): Promise<Result> {
  return new Promise((resolve) => {
    execFile(process.execPath, [distFile('cli.js'), ...args], { cwd: ROOT, timeout: 60_000, env: { ...process.env, ANE_LENS_PYTHON: '/nonexistent/python' } },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }));
  });
}

const tmp = mkdtempSync(join(tmpdir(), 'ane-cli-'));
const lstmModel = join(tmp, 'tagger.onnx');
writeFileSync(lstmModel, buildModel({
  nodes: [
    node({ op: 'LSTM', inputs: ['x', 'W', 'R'], outputs: ['ys'], attrs: { hidden_size: 8 } }),
    node({ op: 'Relu', inputs: ['ys'], outputs: ['y'] }),
  ],
  inputs: [valueInfo('x', [6, 1, 4])],
  outputs: [valueInfo('y', undefined)],
  initializers: [floatTensor('W', [1, 32, 4]), floatTensor('R', [1, 32, 8])],
}));
const corrupt = join(tmp, 'corrupt.onnx');
writeFileSync(corrupt, Buffer.from('this is not a protobuf at all, just text\n'));

test('check examples: expected rules, linter-style lines, summary, exit 1 on errors', async () => {
  const r = await cli('check', 'examples');
  assert.equal(r.code, 1, r.stderr);
  for (const rule of ['ANE001', 'ANE005', 'ANE015', 'ANE021', 'ANE026', 'ANE046']) {
    assert.match(r.stdout, new RegExp(`^examples/\\S+\\.py:\\d+:\\d+: ${rule} `, 'm'), rule);
  }
  assert.match(r.stdout, /^Found \d+ problems \(2 errors, \d+ warnings, 0 info\) in 6 files\.$/m);
  // The rewrite fixes exactly what sequence_model.py is flagged for (other advisory rules may still speak).
  assert.doesNotMatch(r.stdout, /sequence_model_ane\.py:\d+:\d+: (ANE021|ANE005|ANE026|ANE009) /);
  assert.doesNotMatch(r.stdout, /convnet\.py/, 'the CNN is clean');
});

test('check --format json prints Finding[] with 1-based positions', async () => {
  const r = await cli('check', 'examples/sequence_model.py', '--format', 'json');
  assert.equal(r.code, 1);
  const findings = JSON.parse(r.stdout) as Finding[];
  assert.ok(findings.length >= 4);
  for (const f of findings) {
    assert.deepEqual(Object.keys(f).sort(), ['column', 'endColumn', 'endLine', 'file', 'line', 'message', 'rule', 'severity']);
    assert.ok(f.line >= 1 && f.column >= 1 && f.endLine >= f.line);
    assert.equal(f.file, 'examples/sequence_model.py');
  }
  const lstm = findings.find((f) => f.rule === 'ANE026')!;
  assert.equal(lstm.severity, 'error');
  assert.equal(lstm.line, 46, 'the nn.LSTM line');
});

test('check on clean files and models exits 0; ONNX off-ANE ops become findings', async () => {
  const clean = await cli('check', 'examples/convnet.py', 'examples/convnet.onnx');
  assert.equal(clean.code, 0, clean.stdout + clean.stderr);
  assert.match(clean.stdout, /^All checks passed \(2 files\)\.$/m);
  const rewrite = await cli('check', 'examples/sequence_model_ane.py');
  assert.equal(rewrite.code, 0, `no error-severity findings in the ANE rewrite: ${rewrite.stdout}`);
  assert.match(rewrite.stdout, /^All checks passed \(1 file\)\.$/m, 'the ANE rewrite has no findings at all');
  const model = await cli('check', lstmModel, '--format', 'json');
  assert.equal(model.code, 1);
  const [finding] = JSON.parse(model.stdout) as Finding[];
  assert.equal(finding?.rule, 'ANE026');
  assert.equal(finding?.line, 1);
  assert.match(finding!.message, /\(LSTM → lstm\) runs on the CPU/);
});

test('usage and input errors exit 2 with one line on stderr', async () => {
  const cases: Array<[string[], RegExp]> = [
    [[], /^$/],
    [['frobnicate'], /unknown command "frobnicate"/],
    [['check'], /check needs at least one file/],
    [['check', 'examples', '--format', 'xml'], /--format must be text or json/],
    [['check', 'examples', '--chip', 'M9'], /unknown chip "M9"; known chips: M1, (\w+, )*M4, (\w+, )*M5\b/],
    [['check', 'nope/missing.py'], /no such file or folder: nope\/missing\.py/],
    [['check', 'package.json'], /only \.py files, \.onnx models and folders/],
    [['check', 'examples', '--bogus'], /Unknown option '--bogus'/],
    [['check', corrupt], /corrupt\.onnx: /],
    [['run'], /run needs a target/],
    [['run', 'examples/convnet.onnx', '--backend', 'coreml'], /only the sim backend exists; coreml needs macOS/],
    [['run', 'examples/convnet.onnx', '--chip', 'A99'], /known chips: M1, (\w+, )*M4, (\w+, )*A18Pro/],
    [['run', 'examples/sequence_model.py:FeedForward'], /class FeedForward has no "# ane: inputs=\(\.\.\.\)" pragma/],
    [['run', 'examples/sequence_model.py:Missing'], /no nn\.Module class Missing \(classes: /],
    [['run', 'examples/README.md'], /run needs a model file \(\.onnx, \.mlpackage, \.mlmodel, model\.mil, \.mlmodelc\) or file\.py:ClassName/],
    [['run', 'examples/missing.mlpackage'], /no such model folder: examples\/missing\.mlpackage/],
    [['run', corrupt], /corrupt\.onnx: not a valid ONNX protobuf|corrupt\.onnx: no graph/],
    [['run', 'examples/convnet.onnx', 'extra'], /unexpected argument "extra"/],
  ];
  // Spawned together: each is a short-lived node process, and the test should stay quick.
  const results = await Promise.all(cases.map(([args]) => cli(...args)));
  for (const [k, [args, message]] of cases.entries()) {
    const r = results[k]!;
    assert.equal(r.code, 2, `${args.join(' ')} → ${r.code}: ${r.stderr}`);
    if (args.length > 0) {
      assert.match(r.stderr, /^ane-lens: /, args.join(' '));
      assert.equal(r.stderr.trim().split('\n').length, 1, `one line for ${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message, args.join(' '));
    }
  }
});

test('--help and --version', async () => {
  const help = await cli('--help');
  assert.equal(help.code, 0);
  assert.match(help.stdout, /ane-lens check <files or folders\.\.\.>/);
  const version = await cli('--version');
  assert.equal(version.code, 0);
  assert.match(version.stdout.trim(), /^\d+\.\d+\.\d+$/);
});

test('run examples/convnet.onnx: JSON run report, full ANE residency, exit 0', async () => {
  const t0 = performance.now();
  const r = await cli('run', 'examples/convnet.onnx', '--format', 'json');
  const ms = performance.now() - t0;
  assert.equal(r.code, 0, r.stderr);
  const report = parseRunReport(JSON.parse(r.stdout), 'cli');
  assert.equal(report.schemaVersion, 1);
  assert.equal(report.backend, 'sim');
  assert.equal(report.chip, 'M4');
  assert.equal(report.aneResidency, 1);
  assert.ok(report.totalMs > 0);
  assert.equal(report.layers.length, 11);
  for (const l of report.layers) {
    assert.equal(l.device, 'ane');
    assert.equal(typeof l.name, 'string');
    assert.equal(typeof l.op, 'string');
    assert.ok(l.estMs >= 0);
    assert.ok(l.numerics, `${l.name} was executed in fp16`);
  }
  assert.ok(ms < 15_000, `run took ${ms.toFixed(0)} ms`);
});

test('run text output: summary and per-layer table; an LSTM model exits 1', async () => {
  const text = await cli('run', 'examples/convnet.onnx', '--chip', 'm1');
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^backend +sim \(simulated Apple M1; not measured on a device\)$/m);
  assert.match(text.stdout, /^ANE residency +100\.0% of layers/m);
  assert.match(text.stdout, /^layer +op +device +est ms +reason$/m);
  assert.match(text.stdout, /^\/classifier\/Gemm +linear +ANE +\d/m);
  const lstm = await cli('run', lstmModel);
  assert.equal(lstm.code, 1, lstm.stderr);
  assert.match(lstm.stdout, /^ys +lstm +CPU +[\d.]+ +ANE026 recurrent layers/m);
  // The relu after the LSTM is too small to pay for an ANE launch and two transfers: the segmenter keeps
  // it on the CPU and says so, so the whole model is one CPU segment.
  assert.match(lstm.stdout, /^segments +1$/m);
  const json = await cli('run', lstmModel, '--format', 'json');
  const layers = (JSON.parse(json.stdout) as { layers: { op: string; device: string; fallback?: string }[] }).layers;
  assert.deepEqual(layers.map((l) => [l.op, l.device, l.fallback]), [['lstm', 'cpu', 'unsupported'], ['relu', 'cpu', 'cost']]);
});

test('run --inputs binds .npy files to ONNX inputs and rejects wrong shapes', async () => {
  const good = join(tmp, 'image.npy');
  writeFileSync(good, encodeNpyFloat32(new Float32Array(3 * 64 * 64).fill(0.5), [1, 3, 64, 64]));
  const bad = join(tmp, 'bad.npy');
  writeFileSync(bad, encodeNpyFloat32(new Float32Array(10), [10]));
  const ok = await cli('run', 'examples/convnet.onnx', '--inputs', good, '--format', 'json');
  assert.equal(ok.code, 0, ok.stderr);
  const named = await cli('run', 'examples/convnet.onnx', '--inputs', `image=${good}`, '--format', 'json');
  assert.equal(named.code, 0, named.stderr);
  const wrong = await cli('run', 'examples/convnet.onnx', '--inputs', bad);
  assert.equal(wrong.code, 2);
  assert.match(wrong.stderr, /bad\.npy: shape \(10\) does not match input image/);
  const tooMany = await cli('run', 'examples/convnet.onnx', '--inputs', good, good);
  assert.equal(tooMany.code, 2);
  assert.match(tooMany.stderr, /2 unnamed --inputs files but the model has 1 unbound input/);
});

test('check skips .git, node_modules, __pycache__ and virtual environments when walking folders', async () => {
  const root = mkdtempSync(join(tmpdir(), 'ane-walk-'));
  const lstm = 'import torch.nn as nn\n\nclass M(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.rnn = nn.LSTM(4, 4)\n';
  for (const dir of ['.git', 'node_modules/pkg', '__pycache__', 'myenv', 'src/deep']) mkdirSync(join(root, dir), { recursive: true });
  writeFileSync(join(root, 'myenv', 'pyvenv.cfg'), 'home = /usr/bin\n');
  for (const dir of ['.git', 'node_modules/pkg', '__pycache__', 'myenv', 'src/deep']) writeFileSync(join(root, dir, 'model.py'), lstm);
  writeFileSync(join(root, 'notes.txt'), 'not checked');
  const r = await cli('check', root, '--format', 'json');
  assert.equal(r.code, 1, r.stderr);
  const files = [...new Set((JSON.parse(r.stdout) as Finding[]).map((f) => f.file))];
  assert.deepEqual(files, [join(root, 'src', 'deep', 'model.py')]);
});

test('a reader that stops early (| head) ends the CLI quietly, not with an EPIPE stack', async (t) => {
  const { spawn } = await import('node:child_process');
  // Thousands of findings, written line by line: most writes come after the reader has gone.
  const dir = mkdtempSync(join(tmpdir(), 'ane-lens-epipe-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'many.py');
  writeFileSync(file, ['import torch.nn as nn', ...Array.from({ length: 3000 }, (_, i) => `rnn${i} = nn.LSTM(4, 4)`)].join('\n'));
  const child = spawn(process.execPath, [distFile('cli.js'), 'check', file], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  // Read one chunk, then close our end, as `head -1` does.
  await new Promise<void>((resolve) => child.stdout.once('data', () => { child.stdout.destroy(); resolve(); }));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.doesNotMatch(stderr, /EPIPE|Unhandled/, stderr);
  assert.ok(code === 0 || code === 1, `exit code ${code}`);
});
