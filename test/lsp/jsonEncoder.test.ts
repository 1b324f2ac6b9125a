// The stdio encoder splices publishDiagnostics messages from cached pieces and writes non-ASCII characters
// as \u escapes; what it sends must be JSON.stringify's text with exactly those escapes, for every message,
// every time, and parse back to the message.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Diagnostic } from 'vscode-languageserver';
import { PassThrough } from 'node:stream';
import { StreamMessageReader, type Message } from 'vscode-languageserver/node';
import { encodeMessage } from '../../server/src/lsp/jsonEncoder';
import { StdioMessageWriter } from '../../server/src/lsp/stdioWriter';
import { rng } from '../helpers';

/** JSON.stringify(msg) with every UTF-16 unit above 0x7f written as a \uXXXX escape (reference, char by char). */
function asciiStringify(msg: unknown): string {
  let out = '';
  for (const unit of JSON.stringify(msg).split('')) {
    const code = unit.charCodeAt(0);
    out += code < 0x80 ? unit : `\\u${code.toString(16).padStart(4, '0')}`;
  }
  return out;
}

function assertEncodes(msg: object, bytes: Buffer): void {
  assert.equal(bytes.toString('latin1'), asciiStringify(msg));
  assert.ok(bytes.every((b) => b < 0x80), 'pure ASCII');
  assert.deepEqual(JSON.parse(bytes.toString('utf8')), JSON.parse(JSON.stringify(msg)));
}

function diagnostic(i: number, message: string): Diagnostic {
  return Object.freeze({
    range: { start: { line: i, character: 4 }, end: { line: i, character: 9 } },
    severity: 2, code: `ANE0${10 + (i % 40)}`, codeDescription: { href: `file:///x/docs/rules/ANE0${10 + (i % 40)}.md` },
    source: 'ANE Lens', message,
  }) as Diagnostic;
}

test('publishDiagnostics messages are JSON.stringify with ASCII escapes, also when diagnostics are reused', () => {
  const random = rng(7);
  const messages = ['plain', 'quotes " and \\ backslash', 'non-ASCII ≈ ≥ × — … ²', 'control \u0000 \n \t', 'emoji 🙂 and \ud800 lone surrogate', '\u0000ane-lens-diagnostics\u0000'];
  const pool = Array.from({ length: 200 }, (_, i) => diagnostic(i, messages[i % messages.length]!));
  for (let round = 0; round < 20; round++) {
    const diagnostics = pool.filter(() => random() < 0.7);
    const uri = round % 2 ? 'file:///tmp/a b/ü.py' : 'untitled:Untitled-1';
    const params = round % 3 ? { uri, version: round, diagnostics } : { uri, diagnostics };
    const msg = { jsonrpc: '2.0', method: 'textDocument/publishDiagnostics', params };
    assertEncodes(msg, encodeMessage(msg));
  }
  // The emoji survives as a surrogate pair of escapes; the lone surrogate as JSON.stringify escapes it.
  const emoji = { jsonrpc: '2.0', method: 'textDocument/publishDiagnostics', params: { uri: 'file:///e.py', diagnostics: [diagnostic(4, messages[4]!)] } };
  assert.match(encodeMessage(emoji).toString(), /emoji \\ud83d\\ude42 and \\ud800 lone/);
  const ascii = { jsonrpc: '2.0', method: 'textDocument/publishDiagnostics', params: { uri: 'file:///e.py', diagnostics: [diagnostic(1, 'plain "text"')] } };
  assert.equal(encodeMessage(ascii).toString(), JSON.stringify(ascii));
  const empty = { jsonrpc: '2.0', method: 'textDocument/publishDiagnostics', params: { uri: 'file:///e.py', diagnostics: [] } };
  assert.equal(encodeMessage(empty).toString(), JSON.stringify(empty));
});

test('other messages are JSON.stringify with ASCII escapes', () => {
  const msgs = [
    { jsonrpc: '2.0', id: 1, result: { capabilities: { hoverProvider: true } } },
    { jsonrpc: '2.0', method: 'window/logMessage', params: { type: 3, message: 'diagnostics ≈ fine' } },
    { jsonrpc: '2.0', method: 'textDocument/publishDiagnostics', params: { uri: 'file:///x.py', diagnostics: 'not an array' } },
  ];
  for (const msg of msgs) {
    assertEncodes(msg, encodeMessage(msg));
  }
});

test('the stdio writer frames each message for any LSP reader, in the order sent', async () => {
  const pipe = new PassThrough();
  const writer = new StdioMessageWriter(pipe);
  const reader = new StreamMessageReader(pipe);
  const received: Message[] = [];
  reader.listen((m) => received.push(m));
  const big = { jsonrpc: '2.0', method: 'textDocument/publishDiagnostics', params: { uri: 'file:///b.py', version: 7, diagnostics: Array.from({ length: 2000 }, (_, i) => diagnostic(i, `message ${i} ≈ ${'x'.repeat(i % 300)}`)) } };
  const sent = [
    { jsonrpc: '2.0', id: 1, result: { capabilities: {} } }, big,
    { jsonrpc: '2.0', method: 'window/logMessage', params: { type: 3, message: 'after the big one: café 🙂' } },
  ];
  // Not awaited one by one: order must hold for writes made back to back, as the server makes them.
  await Promise.all(sent.map((m) => writer.write(m as Message)));
  for (let i = 0; i < 50 && received.length < sent.length; i++) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(received, JSON.parse(JSON.stringify(sent)));
  reader.dispose();
  writer.dispose();
});

test('the stdio writer reports a failed write on onError and rejects it', async () => {
  const pipe = new PassThrough();
  const writer = new StdioMessageWriter(pipe);
  const errors: Error[] = [];
  writer.onError(([error]) => errors.push(error));
  pipe.destroy();
  await assert.rejects(writer.write({ jsonrpc: '2.0', method: 'exit' } as Message));
  assert.ok(errors.length >= 1, 'onError fired');
  writer.dispose();
});
