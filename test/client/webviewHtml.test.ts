import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildPanelHtml, contentSecurityPolicy, makeNonce } from '../../client/src/webviewHtml';

const CSP_SOURCE = 'https://file+.vscode-resource.vscode-cdn.net';

test('panel HTML: strict CSP with a nonce, nothing remote, the one bundled script', () => {
  const nonce = makeNonce();
  const html = buildPanelHtml({
    cspSource: CSP_SOURCE, nonce, title: 'Net <model.py>',
    scriptUri: `${CSP_SOURCE}/work/main/dist/webview.js`,
  });
  const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]*)">/.exec(html)?.[1];
  assert.ok(csp, 'a CSP meta tag');
  const directives = new Map(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k, v]));
  assert.deepEqual(directives.get('default-src'), ["'none'"]);
  assert.deepEqual(directives.get('script-src'), [`'nonce-${nonce}'`]);
  assert.ok(!csp.includes('unsafe-inline') && !csp.includes('unsafe-eval'), csp);
  for (const [name, sources] of directives) {
    for (const source of sources) {
      assert.ok(source === CSP_SOURCE || /^'(none|nonce-[A-Za-z0-9+/=]+)'$/.test(source), `${name} allows ${source}`);
    }
  }
  const scripts = [...html.matchAll(/<script\b([^>]*)>/g)].map((m) => m[1]);
  assert.equal(scripts.length, 1);
  assert.match(scripts[0], new RegExp(`nonce="${nonce.replace(/[+/]/g, '\\$&')}"`));
  assert.match(scripts[0], /src="https:\/\/file\+\.vscode-resource\.vscode-cdn\.net\/work\/main\/dist\/webview\.js"/);
  assert.ok(!/(https?:)?\/\/(?!file\+\.vscode-resource)/.test(html.replace(/http-equiv/g, '')), 'no other origin appears');
  assert.match(html, /<title>Net &lt;model\.py&gt;<\/title>/, 'the title is escaped');
  assert.ok(!/<style/.test(html) && !/ style=/.test(html), 'no inline styles');
});

test('nonces are fresh and long enough', () => {
  const a = makeNonce();
  const b = makeNonce();
  assert.notEqual(a, b);
  assert.ok(a.length >= 24);
  assert.equal(contentSecurityPolicy('vscode-resource:', 'n').split('; ')[0], "default-src 'none'");
});
