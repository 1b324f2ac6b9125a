// "Run on ANE" command flows against a fake editor: workspace trust, unresolved ct.convert calls,
// the input-shapes prompt and the pragma it offers, ONNX files without trust, failures with logs.
import { recorded, reset, script, fakeDocument, nextEdit, Uri, type WorkspaceEdit, type Position } from './fakeVscode';
import { test, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { runOnAne, type RunDeps } from '../../client/src/runOnAne';
import type { RunParams } from '../../common/sideProcessProtocol';
import type { RunReport } from '../../common/runReport';
import { SideProcessErrorCodes } from '../../common/sideProcessProtocol';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const MODEL = '/ws/model.py';
const SOURCE = ['import torch', 'from torch import nn', '', 'if True:', '    @torch.no_grad()', '    class Net(nn.Module):', '        pass', ''].join('\n');

const REPORT = { schemaVersion: 1, backend: 'sim', chip: 'M4', model: { name: 'Net', format: 'pytorch' }, totalMs: 1, aneResidency: 1, aneTimeShare: 1,
  segments: 1, peakActivationBytes: 0, firstOverflowLayer: null, layers: [], outputs: [], warnings: [] } as unknown as RunReport;

function harness(outcome: RunReport | Error = REPORT) {
  const runs: RunParams[] = [];
  const panel: string[] = [];
  const logs: string[] = [];
  let shown = 0;
  const deps = {
    sideProcess: { run: async (params: RunParams) => { runs.push(params); if (outcome instanceof Error) throw outcome; return outcome; } },
    panel: {
      showRunning: (title: string) => panel.push(`running ${title}`),
      showError: (message: string) => panel.push(`error ${message}`),
      showReport: async (_report: RunReport, title: string) => { panel.push(`report ${title}`); },
    },
    log: { info: (m: string) => logs.push(m), warn: (m: string) => logs.push(m), error: (m: string) => logs.push(m), show: () => { shown++; } },
  } as unknown as RunDeps;
  return { deps, runs, panel, logs, shown: () => shown };
}

beforeEach(() => {
  reset();
  script.documents.set(MODEL, fakeDocument(MODEL, SOURCE));
  script.settings = { pythonPath: '/usr/bin/python3' };
});

const lens = (extra: object = {}) => ({ uri: Uri.file(MODEL).toString(), line: 6, kind: 'module', className: 'Net', ...extra });

test('a module lens with shapes runs the traced class with the configured interpreter', async () => {
  const h = harness();
  await runOnAne(h.deps, lens({ inputShapes: [[1, 3, 8, 8]] }));
  assert.equal(h.runs.length, 1);
  assert.deepEqual(h.runs[0].target, { kind: 'pytorch', file: MODEL, className: 'Net', inputShapes: [[1, 3, 8, 8]], pythonPath: '/usr/bin/python3' });
  assert.equal(h.runs[0].chip, 'M4');
  assert.deepEqual(h.panel, ['running Net · model.py', 'report Net · model.py']);
  assert.match(recorded.progressTitles[0], /Net · model\.py on simulated M4/);
  assert.equal(recorded.inputBoxes.length, 0);
});

test('untrusted workspace: Python is not run, the user is told why', async () => {
  script.trusted = false;
  script.reply = (_m, items) => items[0];
  const h = harness();
  await runOnAne(h.deps, lens({ inputShapes: [[1, 3, 8, 8]] }));
  assert.equal(h.runs.length, 0);
  assert.match(recorded.messages[0].message, /only in a trusted workspace/);
  assert.deepEqual(recorded.commands.map((c) => c.id), ['workbench.trust.manage']);
});

test('untrusted workspace: an .onnx file still runs (no user code)', async () => {
  script.trusted = false;
  const h = harness();
  await runOnAne(h.deps, Uri.file('/ws/resnet18.onnx'));
  assert.deepEqual(h.runs[0].target, { kind: 'onnx', path: '/ws/resnet18.onnx' });
  assert.deepEqual(h.panel, ['running resnet18.onnx', 'report resnet18.onnx']);
});

test('Core ML files run as coreml targets; an .mlpackage chosen by its Manifest.json is named by the package', async (t) => {
  // A Manifest.json is a package's only when a Data folder sits beside it.
  const ws = mkdtempSync(join(tmpdir(), 'ane-lens-run-'));
  t.after(() => rmSync(ws, { recursive: true, force: true }));
  mkdirSync(join(ws, 'Mosaic.mlpackage', 'Data'), { recursive: true });
  const manifest = join(ws, 'Mosaic.mlpackage', 'Manifest.json');
  const h = harness();
  await runOnAne(h.deps, Uri.file(manifest));
  await runOnAne(h.deps, Uri.file('/ws/pose.mlmodel'));
  // From the MIL view's title bar: the model the view shows.
  await runOnAne(h.deps, Uri.from({ scheme: 'ane-lens-mil', path: '/ws/pose.mlmodel.mil', query: Uri.file('/ws/pose.mlmodel').toString() }));
  assert.deepEqual(h.runs.map((r) => r.target), [{ kind: 'coreml', path: manifest }, { kind: 'coreml', path: '/ws/pose.mlmodel' }, { kind: 'coreml', path: '/ws/pose.mlmodel' }]);
  assert.deepEqual(h.panel, ['running Mosaic.mlpackage', 'report Mosaic.mlpackage', 'running pose.mlmodel', 'report pose.mlmodel', 'running pose.mlmodel', 'report pose.mlmodel']);
});

test('a ct.convert lens that could not be resolved shows the reason and runs nothing', async () => {
  const h = harness();
  await runOnAne(h.deps, { uri: Uri.file(MODEL).toString(), line: 20, kind: 'convert', reason: 'the converted object comes from a function call' });
  assert.equal(h.runs.length, 0);
  assert.match(recorded.messages[0].message, /the converted object comes from a function call/);
});

test('missing shapes: the input box validates, the run uses the answer, the pragma lands above the decorators', async () => {
  script.inputBox = '(1, 3, 32, 32), (1, 10)';
  script.reply = (message, items) => (message.startsWith('Save these shapes') ? 'Insert pragma' : undefined);
  const edited = nextEdit();
  const h = harness();
  await runOnAne(h.deps, lens());
  const box = recorded.inputBoxes[0];
  assert.match(box.title ?? '', /input shapes for Net/);
  assert.match(box.validate('(1, None)') ?? '', /not a positive whole number/);
  assert.equal(box.validate('(1, 3)'), undefined);
  assert.deepEqual(h.runs[0].target, { kind: 'pytorch', file: MODEL, className: 'Net', inputShapes: [[1, 3, 32, 32], [1, 10]], pythonPath: '/usr/bin/python3' });
  await edited;
  const edit = recorded.edits[0] as WorkspaceEdit;
  assert.equal(edit.edits.length, 1);
  assert.equal(edit.edits[0].kind, 'insert');
  assert.equal((edit.edits[0].at as Position).line, 4, 'above @torch.no_grad() (0-based line 4)');
  assert.equal(edit.edits[0].text, '    # ane: inputs=(1, 3, 32, 32), (1, 10)\n');
});

test('missing shapes and the input box dismissed: nothing runs', async () => {
  script.inputBox = undefined;
  const h = harness();
  await runOnAne(h.deps, lens());
  assert.equal(h.runs.length, 0);
  assert.deepEqual(h.panel, []);
});

test('a failed run is reported with a Show logs action; cancellation is quiet', async () => {
  const crashed = Object.assign(new Error('the ANE Lens side-process crashed (signal SIGSEGV)'), { code: SideProcessErrorCodes.Crashed });
  script.reply = (_m, items) => (items.includes('Show logs') ? 'Show logs' : undefined);
  const h = harness(crashed);
  await runOnAne(h.deps, Uri.file('/ws/a.onnx'));
  const error = recorded.messages.find((m) => m.level === 'error');
  assert.match(error?.message ?? '', /crashed during the run .*SIGSEGV/);
  assert.deepEqual(error?.items, ['Show logs']);
  assert.equal(h.shown(), 1);
  assert.match(h.panel.at(-1) ?? '', /^error /);

  reset();
  const cancelled = Object.assign(new Error('cancelled'), { code: SideProcessErrorCodes.Cancelled });
  const c = harness(cancelled);
  await runOnAne(c.deps, Uri.file('/ws/a.onnx'));
  assert.equal(recorded.messages.filter((m) => m.level === 'error').length, 0);
  assert.equal(c.panel.at(-1), 'error Run of a.onnx cancelled.');
});

test('bad arguments and unsupported files get one clear message', async () => {
  const h = harness();
  await runOnAne(h.deps, { uri: 'file:///ws/model.py', line: 'six', kind: 'module' });
  assert.match(recorded.messages[0].message, /unexpected argument: `line` must be a 1-based line number/);
  await runOnAne(h.deps, Uri.file('/ws/notes.txt'));
  assert.match(recorded.messages[1].message, /can run model files \(\.onnx, \.mlpackage, \.mlmodel, model\.mil\) and PyTorch modules in \.py files, not notes\.txt/);
  await runOnAne(h.deps, undefined);
  assert.match(recorded.messages[2].message, /Open a PyTorch model/);
  assert.equal(h.runs.length, 0);
});
