// The timing panel bundle (dist/webview.js) in happy-dom with a fake acquireVsCodeApi: what a user
// sees for a realistic report, windowed rows, row clicks and keys → revealLayer, bad messages ignored.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Window } from 'happy-dom';
import type { RunReport, LayerReport } from '../../common/runReport';
import { parseRunReport } from '../../common/runReport';
import { distFile } from '../helpers';

const LSTM_INDEX = 3;

function makeReport(layerCount: number): RunReport {
  const ops = ['conv', 'batch_norm', 'relu', 'linear', 'add', 'softmax'];
  const layers: LayerReport[] = [];
  for (let i = 0; i < layerCount; i++) {
    const op = ops[i % ops.length];
    layers.push({
      name: `block${Math.floor(i / 6)}.${op}_${i}`,
      op,
      device: 'ane',
      estMs: 0.001 * (1 + (i % 7)),
      flops: 1000 * (i + 1),
      bytes: 4096,
      outputShape: [1, 64, 56, 56],
      numerics: { maxAbsError: 1e-3 * ((i % 5) + 1), maxRelError: 1e-3, infCount: 0, nanCount: 0 },
      source: { file: '/work/project/model.py', line: 10 + (i % 50) },
    });
  }
  layers[LSTM_INDEX] = {
    name: 'encoder.lstm', op: 'lstm', originalOp: 'LSTM', device: 'cpu',
    reason: 'recurrent layers have no ANE path; they run on the CPU and split the graph',
    rule: 'ANE026', estMs: 0.75, flops: 5e6, bytes: 2e5, outputShape: [1, 16, 128],
    notExecuted: 'the executor has no lstm kernel',
    source: { file: '/work/project/model.py', line: 42 },
  };
  // One layer without a source: the host answers it with an info message, the row shows a dash.
  if (layers[5]) delete layers[5].source;
  const totalMs = layers.reduce((s, l) => s + l.estMs, 0);
  return parseRunReport({
    schemaVersion: 1,
    backend: 'sim',
    chip: 'M4',
    model: { name: 'Net', format: 'pytorch', file: '/work/project/model.py' },
    totalMs,
    aneResidency: (layerCount - 1) / layerCount,
    aneTimeShare: (totalMs - 0.75) / totalMs,
    segments: 3,
    peakActivationBytes: 3 * 1024 * 1024,
    firstOverflowLayer: layers[7]?.name ?? null,
    layers,
    outputs: [{ name: 'logits', shape: [1, 10], maxAbsError: 2e-3, maxRelError: 1e-3 }],
    warnings: ['cpu and gpu rooflines are assumed, not measured'],
  }, 'test report');
}

interface Harness {
  window: Window;
  document: Window['document'];
  posted: unknown[];
  state: { value: unknown };
  send(data: unknown): void;
}

const bundle = (): string => readFileSync(distFile('webview.js'), 'utf8');

function openPanel(savedState?: unknown): Harness {
  const window = new Window({ url: 'https://webview.test/', width: 1200, height: 800 });
  const document = window.document;
  document.write('<!DOCTYPE html><html><head></head><body><main id="app"></main></body></html>');
  const posted: unknown[] = [];
  const state = { value: savedState };
  (window as unknown as Record<string, unknown>).acquireVsCodeApi = () => ({
    // Messages cross a structured clone in VS Code; JSON mimics it and gives objects of this realm.
    postMessage: (m: unknown) => posted.push(JSON.parse(JSON.stringify(m))),
    getState: () => state.value,
    setState: (s: unknown) => { state.value = s; },
  });
  window.eval(bundle());
  return {
    window, document, posted, state,
    send(data: unknown) {
      window.dispatchEvent(new window.MessageEvent('message', { data }));
    },
  };
}

const rows = (h: Harness) => [...h.document.querySelectorAll('tr.layer')] as unknown as HTMLTableRowElement[];
const field = (h: Harness, id: string) => h.document.querySelector(`dd[data-field="${id}"]`)?.textContent ?? '';

test('webview: summary, windowed rows and revealLayer for a 5,000-layer report', async () => {
  const h = openPanel();
  try {
    assert.deepEqual(h.posted, [{ type: 'ready' }], 'the panel announces itself once loaded');
    assert.match(h.document.body.textContent ?? '', /No run yet/);

    const report = makeReport(5000);
    h.send({ type: 'report', title: 'Net · model.py', report });

    const text = h.document.body.textContent ?? '';
    assert.match(text, /sim: simulated Apple M4, not measured on a device/);
    assert.equal(h.document.querySelector('h1')?.textContent, 'Net · model.py');
    assert.equal(field(h, 'chip'), 'M4 (Apple M4)');
    assert.equal(field(h, 'total'), `${report.totalMs.toFixed(2)} ms`);
    assert.equal(field(h, 'residency'), '100% of layers · 96% of time');
    assert.equal(field(h, 'segments'), '3');
    assert.equal(field(h, 'peak'), '3.0 MiB');
    assert.equal(field(h, 'overflow'), report.layers[7].name);
    assert.equal(field(h, 'layers'), '5000 (ANE 4999, GPU 0, CPU 1)');
    // No overflow: "none" says how much was checked.
    h.send({ type: 'report', title: 'Net · model.py', report: { ...report, firstOverflowLayer: null } });
    assert.equal(field(h, 'overflow'), 'none in the 4999 of 5000 layers executed');
    const unexecuted = report.layers.map((l) => ({ ...l, notExecuted: 'constant \'w\' has no data' }));
    h.send({ type: 'report', title: 'Net · model.py', report: { ...report, firstOverflowLayer: null, layers: unexecuted } });
    assert.equal(field(h, 'overflow'), 'not checked (no layer was executed)');
    h.send({ type: 'report', title: 'Net · model.py', report: { ...report, firstOverflowLayer: null, layers: report.layers.map((l) => ({ ...l, notExecuted: undefined })) } });
    assert.equal(field(h, 'overflow'), 'none');
    h.send({ type: 'report', title: 'Net · model.py', report });
    assert.match(text, /rooflines are assumed/);

    // Only a window of rows exists; spacers stand in for the rest.
    const drawn = rows(h);
    assert.ok(drawn.length > 10 && drawn.length <= 100, `expected a window of rows, got ${drawn.length}`);
    assert.equal(drawn[0].dataset.layerIndex, '0');
    assert.equal(h.document.querySelector('table')?.getAttribute('aria-rowcount'), '5001');

    const lstm = drawn[LSTM_INDEX];
    const cells = [...lstm.querySelectorAll('td')].map((td) => td.textContent);
    assert.equal(cells[1], 'encoder.lstm');
    assert.equal(cells[2], 'lstm (LSTM)');
    assert.equal(lstm.querySelector('vscode-badge')?.textContent, 'CPU');
    assert.match(cells[6] ?? '', /^ANE026: recurrent layers have no ANE path/);
    assert.equal(cells[7], '—', 'no numerics for a layer the executor did not run');
    assert.equal(cells[8], 'model.py:42');
    assert.equal(rows(h)[5].querySelectorAll('td')[8].textContent, '—');
    assert.equal(drawn[0].querySelectorAll('td')[7].textContent, '1.00e-3');
    assert.equal(drawn[0].querySelector('vscode-badge')?.textContent, 'ANE');

    // Click → revealLayer with the index into report.layers.
    (lstm.querySelectorAll('td')[1] as unknown as HTMLElement).click();
    assert.deepEqual(h.posted.at(-1), { type: 'revealLayer', layerIndex: LSTM_INDEX });

    // Keyboard: the clicked row holds the tab stop; ArrowDown moves it, Enter reveals.
    const tbody = h.document.querySelector('tbody')!;
    const key = (k: string) => tbody.dispatchEvent(new h.window.KeyboardEvent('keydown', { key: k, bubbles: true, cancelable: true }));
    key('ArrowDown');
    key('Enter');
    assert.deepEqual(h.posted.at(-1), { type: 'revealLayer', layerIndex: LSTM_INDEX + 1 });
    assert.equal(rows(h).find((r) => r.tabIndex === 0)?.dataset.layerIndex, String(LSTM_INDEX + 1));
    key('End');
    key('Enter');
    assert.deepEqual(h.posted.at(-1), { type: 'revealLayer', layerIndex: 4999 });
    assert.equal(rows(h).at(-1)?.dataset.layerIndex, '4999', 'End scrolls the window to the last row');

    // Scrolling redraws the window further down (after the next animation frame).
    const wrap = h.document.querySelector('.table-wrap') as unknown as HTMLElement;
    wrap.scrollTop = 24 * 2500;
    wrap.dispatchEvent(new h.window.Event('scroll') as unknown as Event);
    await new Promise((resolve) => h.window.requestAnimationFrame(resolve));
    const indices = rows(h).map((r) => Number(r.dataset.layerIndex));
    assert.ok(indices.includes(2500), `row 2500 drawn after scrolling, got ${indices[0]}..${indices.at(-1)}`);
    assert.ok(rows(h).length <= 100);

    // Sorting by time puts the slowest layer (the LSTM) first.
    const timeHeader = [...h.document.querySelectorAll('thead button')].find((b) => b.textContent === 'Est. time') as unknown as HTMLElement;
    wrap.scrollTop = 0;
    timeHeader.click();
    assert.equal(rows(h)[0].dataset.layerIndex, String(LSTM_INDEX));
    assert.equal(timeHeader.parentElement?.getAttribute('aria-sort'), 'descending');

    // The filter keeps only layers off the ANE.
    const filter = h.document.querySelector('input[type="checkbox"]') as unknown as HTMLInputElement;
    filter.click();
    assert.deepEqual(rows(h).map((r) => r.dataset.layerIndex), [String(LSTM_INDEX)]);

    // The report is kept in the webview state for when the panel is hidden and shown again.
    const saved = h.state.value as { report: RunReport; title: string };
    assert.equal(saved.title, 'Net · model.py');
    assert.equal(saved.report.layers.length, 5000);
  } finally {
    await h.window.happyDOM.close();
  }
});

test('webview: invalid messages are ignored without throwing', async () => {
  const h = openPanel();
  try {
    h.send({ type: 'report', title: 'ok', report: makeReport(20) });
    const before = h.document.body.innerHTML;
    const postedBefore = h.posted.length;
    const errors: unknown[] = [];
    const webviewConsole = h.window.console as { error: (...args: unknown[]) => void };
    const originalError = webviewConsole.error;
    webviewConsole.error = (...args: unknown[]) => { errors.push(args); };
    try {
      for (const bad of [null, 'report', 42, { type: 'report' }, { type: 'report', title: 'x', report: { schemaVersion: 99 } },
        { type: 'report', title: 'x', report: { ...makeReport(20), layers: [{ name: 'x' }] } }, { type: 'unknown' },
        { type: 'running' }, { type: 'error', message: 7 }]) {
        assert.doesNotThrow(() => h.send(bad));
      }
    } finally {
      webviewConsole.error = originalError;
    }
    assert.equal(h.document.body.innerHTML, before, 'the panel is unchanged');
    assert.equal(h.posted.length, postedBefore);
    assert.ok(errors.length >= 2, 'invalid reports are logged in the webview console');

    h.send({ type: 'running', title: 'resnet18.onnx' });
    assert.match(h.document.body.textContent ?? '', /Running resnet18\.onnx…/);
    assert.ok(h.document.querySelector('vscode-progress-ring'));
    h.send({ type: 'error', message: 'trace failed: no module named torch' });
    assert.match(h.document.querySelector('.error')?.textContent ?? '', /no module named torch/);
  } finally {
    await h.window.happyDOM.close();
  }
});

test('webview: restores the saved report and stays quick with 10,000 layers', async () => {
  const report = makeReport(10_000);
  const started = performance.now();
  const h = openPanel({ report, title: 'restored' });
  try {
    const elapsed = performance.now() - started;
    assert.equal(h.document.querySelector('h1')?.textContent, 'restored');
    assert.ok(rows(h).length <= 100);
    assert.equal(field(h, 'layers'), '10000 (ANE 9999, GPU 0, CPU 1)');
    // Generous bound: the point is that load cost does not scale with rows drawn (a full table takes seconds here).
    assert.ok(elapsed < 5000, `restoring took ${elapsed.toFixed(0)} ms`);
    console.log(`# 10,000-layer restore in happy-dom: ${elapsed.toFixed(0)} ms, ${rows(h).length} rows in the DOM`);

    // A stale state from another schema is dropped: the empty view shows and the host is asked.
    const stale = openPanel({ report: { schemaVersion: 0 }, title: 'old' });
    try {
      assert.match(stale.document.body.textContent ?? '', /No run yet/);
      assert.deepEqual(stale.posted, [{ type: 'ready' }]);
    } finally {
      await stale.window.happyDOM.close();
    }
  } finally {
    await h.window.happyDOM.close();
  }
});
