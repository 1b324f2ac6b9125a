// The timing panel in a real browser engine (Debian's chromium through playwright-core), under the
// exact CSP the host builds: no policy violations (styles are constructable sheets, zod runs
// jitless), real layout drives the row window, and 10,000 layers render and scroll quickly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { buildPanelHtml, makeNonce } from '../../client/src/webviewHtml';
import { distFile } from '../helpers';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
const ORIGIN = 'https://webview.test';

test('webview in Chromium: strict CSP holds, 10,000 layers window and scroll', { skip: CHROMIUM ? false : 'skipped: no chromium binary (install Debian chromium)' }, async () => {
  const script = readFileSync(distFile('webview.js'));
  const html = buildPanelHtml({ cspSource: ORIGIN, nonce: makeNonce(), scriptUri: `${ORIGIN}/dist/webview.js`, title: 'ANE timing' });
  let browser: Browser | undefined;
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
    const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
    const requests: string[] = [];
    await page.route('**/*', (route) => {
      const url = route.request().url();
      requests.push(url);
      if (url === `${ORIGIN}/dist/webview.js`) return route.fulfill({ contentType: 'text/javascript', body: script });
      if (url === `${ORIGIN}/`) return route.fulfill({ contentType: 'text/html', body: html });
      return route.abort();
    });
    // Scripts run in the page are passed as source text: the test bundle is built with keepNames,
    // whose __name() helper does not exist in the page.
    await page.addInitScript({ content: `
      window.__posted = [];
      window.__violations = [];
      document.addEventListener('securitypolicyviolation', (e) => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));
      window.acquireVsCodeApi = () => ({ postMessage: (m) => window.__posted.push(m), getState: () => undefined, setState: () => undefined });
    ` });
    await page.goto(`${ORIGIN}/`);
    await page.waitForFunction('window.__posted.length === 1');

    const rendered = await page.evaluate(`(() => {
      const layers = [];
      for (let i = 0; i < 10000; i++) {
        const cpu = i % 97 === 0;
        layers.push({
          name: 'layer_' + i, op: cpu ? 'lstm' : 'conv', device: cpu ? 'cpu' : 'ane', ...(cpu ? { reason: 'no ANE path', rule: 'ANE026' } : {}),
          estMs: 0.001 * ((i % 13) + 1), flops: 1, bytes: 1, source: { file: '/m.py', line: i + 1 },
          numerics: { maxAbsError: 1e-3, maxRelError: 1e-3, infCount: 0, nanCount: 0 },
        });
      }
      const report = {
        schemaVersion: 1, backend: 'sim', chip: 'M4', model: { name: 'big', format: 'onnx' }, totalMs: layers.reduce((s, l) => s + l.estMs, 0),
        aneResidency: 0.99, aneTimeShare: 0.98, segments: 207, peakActivationBytes: 1e8, firstOverflowLayer: null, layers, outputs: [], warnings: [],
      };
      const t0 = performance.now();
      window.dispatchEvent(new MessageEvent('message', { data: { type: 'report', title: 'big', report } }));
      return { ms: performance.now() - t0, rows: document.querySelectorAll('tr.layer').length };
    })()`) as { ms: number; rows: number };
    assert.ok(rendered.rows > 10 && rendered.rows < 120, `rows in the DOM: ${rendered.rows}`);

    const scrolled = await page.evaluate(`(async () => {
      const wrap = document.querySelector('.table-wrap');
      wrap.scrollTop = 5000 * 24;
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      const indices = [...document.querySelectorAll('tr.layer')].map((r) => Number(r.dataset.layerIndex));
      return { clientHeight: wrap.clientHeight, first: indices[0], last: indices[indices.length - 1], rows: indices.length };
    })()`) as { clientHeight: number; first: number; last: number; rows: number };
    assert.ok(scrolled.clientHeight > 100, 'the table has real layout height');
    assert.ok(scrolled.first <= 5000 && scrolled.last >= 5000 + Math.floor(scrolled.clientHeight / 24) - 2, JSON.stringify(scrolled));

    const state = await page.evaluate(`({
      violations: window.__violations,
      adopted: document.adoptedStyleSheets.length,
      rowHeight: getComputedStyle(document.querySelector('tr.layer')).height,
      badgeRendered: !!document.querySelector('vscode-badge')?.shadowRoot,
    })`) as { violations: string[]; adopted: number; rowHeight: string; badgeRendered: boolean };
    assert.deepEqual(state.violations, [], 'no CSP violations');
    assert.ok(state.adopted >= 1, 'panel styles adopted');
    assert.equal(state.rowHeight, '24px', 'panel styles applied under style-src without unsafe-inline');
    assert.ok(state.badgeRendered, 'vscode-badge upgraded');
    assert.deepEqual([...new Set(requests.map((u) => new URL(u).origin))], [ORIGIN], 'nothing requested elsewhere');
    console.log(`# Chromium: 10,000-layer report rendered in ${rendered.ms.toFixed(0)} ms (validation included), ${scrolled.rows} rows in the DOM after scrolling`);
  } finally {
    await browser?.close();
  }
});
