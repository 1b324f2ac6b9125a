// The stdio encoder splices publishDiagnostics messages from cached pieces; what it sends must be exactly
// what JSON.stringify would have sent, for every message, every time.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Diagnostic } from 'vscode-languageserver';
import { cachingJsonEncoder, encodeMessage } from '../../server/src/lsp/jsonEncoder';
import { rng } from '../helpers';

function diagnostic(i: number, message: string): Diagnostic {
  return Object.freeze({
    range: { start: { line: i, character: 4 }, end: { line: i, character: 9 } },
    severity: 2, code: `ANE0${10 + (i % 40)}`, codeDescription: { href: `file:///x/docs/rules/ANE0${10 + (i % 40)}.md` },
    source: 'ANE Lens', message,
  }) as Diagnostic;
}

test('publishDiagnostics messages are byte for byte JSON.stringify, also when diagnostics are reused', () => {
  const random = rng(7);
  const messages = ['plain', 'quotes " and \\ backslash', 'non-ASCII ≈ ≥ × — … ²', 'control \u0000 \n \t', 'emoji 🙂 and \ud800 lone surrogate', '\u0000ane-lens-diagnostics\u0000'];
  const pool = Array.from({ length: 200 }, (_, i) => diagnostic(i, messages[i % messages.length]!));
  for (let round = 0; round < 20; round++) {
    const diagnostics = pool.filter(() => random() < 0.7);
    const uri = round % 2 ? 'file:///tmp/a b/ü.py' : 'untitled:Untitled-1';
    const params = round % 3 ? { uri, version: round, diagnostics } : { uri, diagnostics };
    const msg = { jsonrpc: '2.0', method: 'textDocument/publishDiagnostics', params };
    assert.equal(encodeMessage(msg).toString('utf8'), JSON.stringify(msg));
    assert.deepEqual(encodeMessage(msg), Buffer.from(JSON.stringify(msg), 'utf8'));
  }
  const empty = { jsonrpc: '2.0', method: 'textDocument/publishDiagnostics', params: { uri: 'file:///e.py', diagnostics: [] } };
  assert.equal(encodeMessage(empty).toString(), JSON.stringify(empty));
});

test('other messages are plain JSON.stringify; the encoder resolves to the same bytes', async () => {
  const msgs = [
    { jsonrpc: '2.0', id: 1, result: { capabilities: { hoverProvider: true } } },
    { jsonrpc: '2.0', method: 'window/logMessage', params: { type: 3, message: 'diagnostics ≈ fine' } },
    { jsonrpc: '2.0', method: 'textDocument/publishDiagnostics', params: { uri: 'file:///x.py', diagnostics: 'not an array' } },
  ];
  for (const msg of msgs) {
    assert.equal(encodeMessage(msg).toString(), JSON.stringify(msg));
    assert.equal(Buffer.from(await cachingJsonEncoder.encode(msg, { charset: 'utf-8' })).toString(), JSON.stringify(msg));
  }
});
