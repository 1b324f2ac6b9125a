// The timing panel host against a fake editor: one reused panel with a strict CSP, typed messages
// validated, revealLayer → the layer's source line in the centre, restore by the serializer.
import { recorded, reset, script, fakeDocument, Uri, TextEditorRevealType, type FakePanel } from './fakeVscode';
import { test, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { TimingPanel, TIMING_VIEW_TYPE } from '../../client/src/timingPanel';
import { parseRunReport, type RunReport } from '../../common/runReport';
import { ROOT } from '../helpers';

const SOURCE_FILE = join(ROOT, 'examples', 'convnet.py');

function report(): RunReport {
  const layer = (name: string, line?: number) => ({
    name, op: 'conv', device: 'ane', estMs: 0.1, flops: 1, bytes: 1,
    ...(line ? { source: { file: SOURCE_FILE, line } } : {}),
  });
  return parseRunReport({
    schemaVersion: 1, backend: 'sim', chip: 'M4', model: { name: 'ConvNet', format: 'pytorch' }, totalMs: 0.3,
    aneResidency: 1, aneTimeShare: 1, segments: 1, peakActivationBytes: 10, firstOverflowLayer: null,
    layers: [layer('features.0', 14), layer('flatten'), { ...layer('gone'), source: { file: '/nonexistent/model.py', line: 3 } }],
    outputs: [], warnings: [],
  }, 'test');
}

function host() {
  const store = new Map<string, unknown>();
  const logs: string[] = [];
  const context = {
    extensionUri: Uri.file('/ext'),
    workspaceState: { get: (k: string) => store.get(k), update: async (k: string, v: unknown) => { store.set(k, v); } },
  };
  const log = { warn: (m: string) => logs.push(m), debug: () => undefined, info: () => undefined, error: (m: string) => logs.push(m) };
  const panel = new TimingPanel(context as never, log as never);
  return { panel, store, logs, context, log };
}

beforeEach(() => {
  reset();
  script.documents.set(SOURCE_FILE, fakeDocument(SOURCE_FILE, readFileSync(SOURCE_FILE, 'utf8')));
});

test('one reused panel: strict HTML, dist/ only, report posted and stored', async () => {
  const h = host();
  h.panel.showRunning('ConvNet');
  await h.panel.showReport(report(), 'ConvNet · convnet.py');
  await h.panel.showReport(report(), 'again');
  assert.equal(recorded.panels.length, 1, 'the panel is reused');
  const p = recorded.panels[0] as FakePanel;
  assert.equal(p.viewType, TIMING_VIEW_TYPE);
  assert.equal(p.options.retainContextWhenHidden, false);
  assert.deepEqual((p.options.localResourceRoots as Uri[]).map((u) => u.path), ['/ext/dist']);
  assert.match(p.webview.html, /default-src 'none'/);
  assert.match(p.webview.html, /src="https:\/\/file\+\.vscode-resource\.vscode-cdn\.net\/ext\/dist\/webview\.js"/);
  assert.deepEqual(p.posted.map((m) => (m as { type: string }).type), ['running', 'report', 'report']);
  assert.equal(p.title, 'ANE timing: again');
  assert.equal((h.store.get('aneLens.lastReport') as { title: string }).title, 'again');
  h.panel.dispose();
});

test('revealLayer opens the source line centred; no source → info naming the layer; bad messages ignored', async () => {
  const h = host();
  await h.panel.showReport(report(), 'ConvNet');
  const p = recorded.panels[0];
  p.receive({ type: 'revealLayer', layerIndex: 0 });
  await waitFor(() => recorded.shownDocuments.length === 1);
  const shown = recorded.shownDocuments[0];
  assert.equal(shown.path, SOURCE_FILE);
  assert.equal(shown.selection.start.line, 13);
  assert.equal(shown.selection.start.character, 12, 'selection starts at the first non-blank character');
  assert.equal(shown.revealType, TextEditorRevealType.InCenter);

  p.receive({ type: 'revealLayer', layerIndex: 1 });
  await waitFor(() => recorded.messages.length === 1);
  assert.match(recorded.messages[0].message, /Layer "flatten" \(conv\) has no source location/);

  p.receive({ type: 'revealLayer', layerIndex: 2 });
  await waitFor(() => recorded.messages.length === 2);
  assert.match(recorded.messages[1].message, /\/nonexistent\/model\.py:3, which does not exist/);

  for (const bad of [{ type: 'revealLayer', layerIndex: -1 }, { type: 'revealLayer', layerIndex: '0' }, { type: 'nope' }, null]) p.receive(bad);
  p.receive({ type: 'revealLayer', layerIndex: 99 });
  assert.equal(recorded.shownDocuments.length, 1);
  assert.equal(h.logs.filter((l) => /unexpected message/.test(l)).length, 4);
  assert.ok(h.logs.some((l) => /no layer 99/.test(l)));

  // A reloaded webview says 'ready' and gets the report again.
  const before = p.posted.length;
  p.receive({ type: 'ready' });
  assert.equal((p.posted[before] as { type: string; title: string }).title, 'ConvNet');
  h.panel.dispose();
});

test('serializer restores a panel after a reload, preferring the webview state over workspaceState', async () => {
  const first = host();
  await first.panel.showReport(report(), 'stored');
  first.panel.dispose();
  reset();
  const second = host();
  // A second TimingPanel over the same workspaceState (a window reload).
  const store = first.store;
  const again = new TimingPanel({ ...second.context, workspaceState: { get: (k: string) => store.get(k), update: async () => undefined } } as never, second.log as never);
  const serializer = recorded.serializers.get(TIMING_VIEW_TYPE);
  assert.ok(serializer);
  const { FakePanel } = await import('./fakeVscode');
  const restored = new FakePanel(TIMING_VIEW_TYPE, 'ANE timing');
  await serializer.deserializeWebviewPanel(restored, { report: report(), title: 'from webview state' });
  assert.match(restored.webview.html, /Content-Security-Policy/);
  restored.receive({ type: 'ready' });
  assert.equal((restored.posted[0] as { title: string }).title, 'from webview state');

  const fromStore = new FakePanel(TIMING_VIEW_TYPE, 'ANE timing');
  await serializer.deserializeWebviewPanel(fromStore, { report: { schemaVersion: 0 }, title: 'stale' });
  fromStore.receive({ type: 'ready' });
  assert.equal((fromStore.posted[0] as { title: string }).title, 'from webview state', 'a stale state does not replace the good report');
  again.dispose();
  second.panel.dispose();
});

async function waitFor(condition: () => boolean): Promise<void> {
  // The host handles messages asynchronously (open document, then show it); poll the microtask queue.
  for (let i = 0; i < 1000 && !condition(); i++) await new Promise((r) => setImmediate(r));
  assert.ok(condition(), 'condition not reached');
}
