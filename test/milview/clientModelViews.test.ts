// The client's MIL view and model summary editor against a minimal stand-in for the vscode module:
// diagnostics and hovers on the right lines, a bad file as one diagnostic (never an exception), the
// summary page's actions, and re-placement when the chip setting changes. The aneLens/modelView request
// is answered by the server's handler in this process, through a JSON round trip as on the wire.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import Module from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ModelViewParams, ModelViewResponse } from '../../common/lspExtensions';
import { modelViewFor } from '../../server/src/lsp/modelRequests';
import { SHARED_MODELS } from '../helpers';

class Uri {
  constructor(readonly scheme: string, readonly path: string, readonly query = '') {}
  get fsPath(): string { return this.path; }
  static file(p: string): Uri { return new Uri('file', p); }
  static from(c: { scheme: string; path: string; query?: string }): Uri { return new Uri(c.scheme, c.path, c.query ?? ''); }
  static parse(s: string): Uri {
    const m = /^([a-z-]+):(?:\/\/)?([^?]*)(?:\?(.*))?$/.exec(s)!;
    return new Uri(m[1]!, m[2]!, m[3] ? decodeURIComponent(m[3]) : '');
  }
  toString(): string { return this.scheme === 'file' ? `file://${this.path}` : `${this.scheme}:${this.path}${this.query ? `?${encodeURIComponent(this.query)}` : ''}`; }
}
class Range { constructor(readonly startLine: number, readonly startChar: number, readonly endLine: number, readonly endChar: number) {} }
class Diagnostic { source?: string; code?: string; constructor(readonly range: Range, readonly message: string, readonly severity: number) {} }
class EventEmitter<T> {
  private listeners: Array<(v: T) => void> = [];
  event = (l: (v: T) => void) => { this.listeners.push(l); return { dispose: () => { this.listeners = this.listeners.filter((x) => x !== l); } }; };
  fire(v: T): void { for (const l of [...this.listeners]) l(v); }
  dispose(): void { this.listeners = []; }
}
class MarkdownString { supportThemeIcons = false; constructor(readonly value: string) {} }
class Hover { constructor(readonly contents: MarkdownString) {} }

const diagnostics = new Map<string, Diagnostic[]>();
const commands: Array<{ id: string; args: unknown[] }> = [];
const settings: Record<string, string> = { chip: 'M4' };
const configListeners: Array<(e: { affectsConfiguration(s: string): boolean }) => void> = [];
const fake = {
  Uri, Range, Diagnostic, EventEmitter, MarkdownString, Hover,
  DiagnosticSeverity: { Error: 0, Warning: 1, Information: 2, Hint: 3 },
  TabInputText: class {}, TabInputCustom: class {},
  Disposable: { from: (...d: Array<{ dispose(): void }>) => ({ dispose: () => d.forEach((x) => x.dispose()) }) },
  languages: {
    createDiagnosticCollection: () => ({
      set: (uri: Uri, list: Diagnostic[]) => { diagnostics.set(uri.toString(), list); },
      delete: (uri: Uri) => { diagnostics.delete(uri.toString()); },
      dispose: () => undefined,
    }),
  },
  workspace: {
    textDocuments: [],
    getConfiguration: () => ({ get: <T>(key: string, fallback: T): T => (key in settings ? settings[key] as T : fallback) }),
    onDidChangeConfiguration: (l: (e: { affectsConfiguration(s: string): boolean }) => void) => { configListeners.push(l); return { dispose() {} }; },
    onDidOpenTextDocument: () => ({ dispose() {} }),
  },
  commands: { executeCommand: async (id: string, ...args: unknown[]) => { commands.push({ id, args }); } },
  window: { tabGroups: { activeTabGroup: { activeTab: undefined } } },
};
const loader = Module as unknown as { _load: (request: string, ...rest: unknown[]) => unknown };
const originalLoad = loader._load;
loader._load = function (request: string, ...rest: unknown[]) {
  return request === 'vscode' ? fake : originalLoad.call(this, request, ...rest);
};

// Loaded after the stand-in is in place.
const { ModelViews, milViewUri } = require('../../client/src/milView') as typeof import('../../client/src/milView');
const { ModelEditorProvider } = require('../../client/src/modelEditor') as typeof import('../../client/src/modelEditor');

const log = { info() {}, warn() {}, error() {} } as unknown as import('vscode').LogOutputChannel;
const requests: ModelViewParams[] = [];
const request = async (params: ModelViewParams): Promise<ModelViewResponse> => {
  requests.push(params);
  return JSON.parse(JSON.stringify(modelViewFor(params, () => undefined))) as ModelViewResponse;
};
const DIR = join(SHARED_MODELS, 'coreml');
const skip = existsSync(DIR) ? false : `skipped: ${DIR} is absent (the shared real model files)`;

class FakePanel {
  html = '';
  private handler: ((m: unknown) => void) | undefined;
  readonly webview = {
    cspSource: 'vscode-webview:', options: {},
    set html(v: string) { panelHtml.current = v; panelHtml.waiter?.(v); }, get html() { return panelHtml.current; },
    onDidReceiveMessage: (h: (m: unknown) => void) => { this.handler = h; return { dispose() {} }; },
  };
  onDidDispose() { return { dispose() {} }; }
  send(m: unknown) { this.handler?.(m); }
}
const panelHtml: { current: string; waiter?: (html: string) => void } = { current: '' };
/** The next page the editor renders. */
const nextPage = () => new Promise<string>((resolve) => { panelHtml.waiter = (html) => { panelHtml.waiter = undefined; resolve(html); }; });

test('MIL view document: text, diagnostics on op lines and on the model, hover; a bad file is one diagnostic', { skip }, async (t) => {
  const views = new ModelViews(log, request);
  const model = Uri.file(join(DIR, 'Mosaic.mlpackage'));
  const viewUri = milViewUri(model as never) as unknown as Uri;
  assert.equal(viewUri.scheme, 'ane-lens-mil');
  const text = await views.provideTextDocumentContent(viewUri as never);
  const lines = text.split('\n');
  const onView = diagnostics.get(viewUri.toString())!;
  const argmax = onView.find((d) => d.code === 'ANE039')!;
  assert.match(lines[argmax.range.startLine]!, /= reduce_argmax\(/);
  assert.equal(argmax.severity, 1, 'ANE039 is a warning');
  assert.ok(diagnostics.get(model.toString())!.some((d) => d.code === 'ANE039'), 'also in the Problems panel under the model file');
  const hover = await views.provideHover({ uri: viewUri } as never, { line: argmax.range.startLine } as never) as unknown as Hover;
  assert.match(hover.contents.value, /reduce\\_argmax.*\n\n.*\*\*CPU\*\* \(ANE039\)/);
  assert.equal(await views.provideHover({ uri: viewUri } as never, { line: 0 } as never), undefined);
  assert.equal(requests.length, 1, 'the text, diagnostics and hovers share one request');

  const dir = mkdtempSync(join(tmpdir(), 'ane-lens-client-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const bad = join(dir, 'bad.mlmodel');
  writeFileSync(bad, readFileSync(join(DIR, 'PoseEstimation_cpm.mlmodel')).subarray(0, 5000));
  const badText = await views.provideTextDocumentContent(milViewUri(Uri.file(bad) as never) as never);
  assert.match(badText, /^\/\/ ANE Lens cannot read this model:\n\/\/ .*bad\.mlmodel: /);
  const badDiags = diagnostics.get(Uri.file(bad).toString())!;
  assert.equal(badDiags.length, 1);
  assert.equal(badDiags[0]!.severity, 0);
  views.dispose();
});

test('model summary editor: page, Open as text, Run on ANE, re-rendered when the chip changes', { skip }, async () => {
  const views = new ModelViews(log, request);
  const provider = new ModelEditorProvider(views);
  const model = Uri.file(join(DIR, 'Mosaic.mlpackage', 'Manifest.json'));
  const panel = new FakePanel();
  await provider.resolveCustomEditor(provider.openCustomDocument(model as never) as never, panel as never);
  assert.match(panelHtml.current, /ANE residency on M4: 164\/165 ops/);
  // An ML Program runs with its weights: the button is live and there is no note.
  assert.match(panelHtml.current, /id="run" >/);
  assert.doesNotMatch(panelHtml.current, /id="runNote"/);
  panel.send({ type: 'openText' });
  panel.send({ type: 'run' });
  assert.deepEqual(commands.map((c) => c.id), ['aneLens.openMilView', 'aneLens.runOnAne']);
  settings.chip = 'M1';
  const rerendered = nextPage();
  for (const l of configListeners) l({ affectsConfiguration: (s: string) => s === 'aneLens.chip' || s === 'aneLens' });
  assert.match(await rerendered, /ANE residency on M1: 158\/165 ops/);
  assert.equal(requests.at(-1)?.chip, 'M1');
  settings.chip = 'M4';
  views.dispose();
});

test('the server not answering (not started, restarting) is one diagnostic, and a later request retries', async () => {
  let fail = true;
  const flaky = async (params: ModelViewParams): Promise<ModelViewResponse> => {
    if (fail) throw new Error('the ANE Lens language server is not running');
    return { error: `${params.uri}: answered` };
  };
  const views = new ModelViews(log, flaky);
  const model = Uri.file('/nowhere/x.onnx');
  const text = await views.provideTextDocumentContent(milViewUri(model as never) as never);
  assert.match(text, /not running/);
  assert.equal(diagnostics.get(model.toString())!.length, 1);
  fail = false;
  await assert.rejects(views.load(model as never), /answered/);
  assert.match(diagnostics.get(model.toString())![0]!.message, /answered/);
  views.dispose();
});
