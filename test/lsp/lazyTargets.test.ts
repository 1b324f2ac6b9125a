// The server computes run targets (code lenses) lazily from the tree it kept for the document's
// version. After a run of incremental edits, the lenses must equal those of a fresh analysis of the
// same text, and diagnostics must equal a fresh full analysis too.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CodeLens, PublishDiagnosticsParams } from 'vscode-languageserver-protocol';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { runLenses } from '../../server/src/lsp/protocolViews';
import { analyzePythonDocument } from '../../server/src/python/analyzePython';
import { startServer } from './lspClient';

const URI = 'file:///tmp/ane-lens-test/lazy-targets.py';
const SOURCE = [
  'import torch',
  'import torch.nn as nn',
  'import coremltools as ct',
  '',
  '# ane: inputs=(1, 16, 32)',
  'class Tagger(nn.Module):',
  '    def __init__(self):',
  '        super().__init__()',
  '        self.rnn = nn.LSTM(32, 64)',
  '        self.norm = nn.LayerNorm(64, eps=1e-12)',
  '',
  '    def forward(self, x):',
  '        y, _ = self.rnn(x)',
  '        return self.norm(y)',
  '',
  'class Head(nn.Module):',
  '    def __init__(self):',
  '        super().__init__()',
  '        self.fc = nn.Linear(64, 10)',
  '',
  'model = Tagger().eval()',
  'mlmodel = ct.convert(torch.jit.trace(model, torch.rand(1, 16, 32)), compute_precision=ct.precision.FLOAT32)',
  '',
].join('\n');

// Edits a user makes while typing: new lines above the classes (lenses move), a class renamed, a
// pragma broken and fixed, characters typed and deleted.
const SNIPPETS = ['\n', '\n\n', 'x', '# note\n', 'class Extra(nn.Module):\n    pass\n', ')', '# ane: inputs=(1, 8)\n', 'Tag'];

/** Deterministic pseudo-random numbers (xorshift) so a failure reproduces. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s / 2 ** 32;
  };
}

test('code lenses and diagnostics after random incremental edits equal a fresh analysis', async (t) => {
  const session = startServer();
  const { connection } = session;
  t.after(() => { if (session.process.exitCode === null) session.process.kill(); });
  await connection.sendRequest('initialize', { processId: process.pid, rootUri: null, capabilities: {} });
  await connection.sendNotification('initialized', {});

  let doc = TextDocument.create(URI, 'python', 1, SOURCE);
  const opened = session.diagnostics(URI, (p) => p.version === 1);
  await connection.sendNotification('textDocument/didOpen', { textDocument: { uri: URI, languageId: 'python', version: 1, text: SOURCE } });
  await opened;

  const random = rng(7);
  for (let step = 0; step < 40; step++) {
    const text = doc.getText();
    const version = doc.version + 1;
    const at = Math.floor(random() * text.length);
    const remove = random() < 0.4 ? Math.min(text.length - at, 1 + Math.floor(random() * 4)) : 0;
    const insert = remove > 0 && random() < 0.5 ? '' : SNIPPETS[Math.floor(random() * SNIPPETS.length)]!;
    const range = { start: doc.positionAt(at), end: doc.positionAt(at + remove) };
    doc = TextDocument.update(doc, [{ range, text: insert }], version);
    const published = session.diagnostics(URI, (p: PublishDiagnosticsParams) => p.version === version);
    await connection.sendNotification('textDocument/didChange', { textDocument: { uri: URI, version }, contentChanges: [{ range, text: insert }] });
    const diagnostics = (await published).diagnostics;
    const lenses = await connection.sendRequest('textDocument/codeLens', { textDocument: { uri: URI } }) as CodeLens[];

    const fresh = await analyzePythonDocument(doc.getText(), URI);
    assert.deepEqual(
      diagnostics.map((d) => [d.code, d.range.start.line + 1, d.range.start.character + 1, d.message]),
      fresh.findings.map((f) => [f.rule, f.line, f.column, f.message]),
      `diagnostics differ after edit ${step}`,
    );
    assert.deepEqual(lenses, runLenses(URI, fresh.targets), `code lenses differ after edit ${step}`);
  }

  await connection.sendRequest('shutdown');
  await connection.sendNotification('exit');
  assert.equal(await session.exited, 0);
});
