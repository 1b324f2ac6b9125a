// Editing through the language server: incremental tree-sitter parsing gives the same result as a
// full parse after many small edits, pyproject.toml configuration applies (and bad values show up on
// pyproject.toml), and every diagnostic offers "ignore on this line".
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { TextDocument } from 'vscode-languageserver-textdocument';
import type { CodeAction } from 'vscode-languageserver-protocol';
import { initPythonParser, parsePython } from '../../server/src/python/parser';
import { TreeTracker } from '../../server/src/lsp/treeTracker';
import { startServer } from './lspClient';

test('TreeTracker: edited trees (exact and widened) reparse to exactly the full parse, including multi-line and non-ASCII edits', async () => {
  const parser = await initPythonParser();
  let doc = TextDocument.create('file:///t.py', 'python', 1, 'import torch.nn as nn\nclass M(nn.Module):\n    def forward(self, x):\n        return x  # café ✓\n');
  const trees = new TreeTracker();
  trees.store(doc.uri, parser.parse(doc.getText())!, 1, 1);
  const edits: Array<[number, number, number, number, string]> = [
    [3, 16, 3, 16, ' * 2'], [1, 0, 1, 0, '# ünïcödé 🚀\n'], [4, 8, 4, 14, 'y = x.float()\n        return'],
    [0, 0, 0, 6, 'from'], [0, 4, 0, 4, ' torch import nn\nimport'], [2, 0, 3, 0, ''], [5, 0, 5, 0, 'r = nn.LSTM(4, 8)\n'],
  ];
  let version = 1;
  for (const [sl, sc, el, ec, text] of edits) {
    version++;
    doc = trees.applyChanges(doc, [{ range: { start: { line: sl, character: sc }, end: { line: el, character: ec } }, text }], version);
    const old = trees.treeFor(doc.uri, version);
    assert.ok(old, `tree kept in sync at version ${version}`);
    const full = parser.parse(doc.getText())!;
    // Each description of the edits (exact, widened) reparses to the full parse, and so do both in turn.
    for (const one of [old.exact, old.wide]) {
      const t = parser.parse(doc.getText(), one)!;
      assert.equal(t.rootNode.toString(), full.rootNode.toString(), `after edit ${version}`);
      t.delete();
    }
    const incremental = parsePython(parser, doc.getText(), old);
    assert.equal(incremental.rootNode.toString(), full.rootNode.toString(), `after edit ${version}`);
    full.delete();
    trees.store(doc.uri, incremental, version, version);
  }
  // A full-content change (no range) drops the tree: the next parse is a full one.
  doc = trees.applyChanges(doc, [{ text: 'x = 1\n' }], ++version);
  assert.equal(trees.treeFor(doc.uri, version), undefined);
  trees.clear();
});

test('language server: pyproject.toml config (chip, ignore, per-file, bad values) and ignore-on-line actions', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ane-lens-lsp-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const pyproject = join(dir, 'pyproject.toml');
  writeFileSync(pyproject, '[tool.ane-lens]\nchip = "M1"\nignore = ["ANE024"]\nseverity = { ANE005 = "error" }\ncolour = "red"\n');
  const session = startServer({ chip: 'M5' });
  const { connection } = session;
  t.after(() => { if (session.process.exitCode === null) session.process.kill(); });
  await connection.sendRequest('initialize', { processId: process.pid, rootUri: pathToFileURL(dir).href, capabilities: { workspace: { configuration: true } } });
  await connection.sendNotification('initialized', {});

  const uri = pathToFileURL(join(dir, 'model.py')).href;
  const text = [
    'import torch.nn as nn', 'class M(nn.Module):', '    def __init__(self):', '        super().__init__()',
    '        self.c = nn.Conv1d(8, 8, kernel_size=14)', '        self.e = nn.Embedding(100, 64)', '        self.n = nn.LayerNorm(64, eps=1e-12)', '',
  ].join('\n');
  const configUri = pathToFileURL(pyproject).href;
  const configDiags = session.diagnostics(configUri, () => true);
  const first = session.diagnostics(uri, () => true);
  await connection.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'python', version: 1, text } });
  const published = await first;
  // chip M1 from pyproject wins over the editor's M5: a width-14 kernel is over M1's cap of 13.
  assert.deepEqual(published.diagnostics.map((d) => `${d.code}:${d.severity}`).sort(), ['ANE005:1', 'ANE031:1']);
  assert.match(String(published.diagnostics.find((d) => d.code === "ANE031")!.message), /M1 ANE cap of 13/);
  const cfg = await configDiags;
  assert.deepEqual(cfg.diagnostics.map((d) => [d.code, d.range.start.line, d.severity]), [['ANE-CONFIG', 4, 2]]);
  assert.match(String(cfg.diagnostics[0]!.message), /unknown key "colour"/);

  const actions = await connection.sendRequest('textDocument/codeAction', {
    textDocument: { uri }, range: { start: { line: 0, character: 0 }, end: { line: 7, character: 0 } }, context: { diagnostics: published.diagnostics },
  }) as CodeAction[];
  const ignore = actions.find((a) => a.title === 'Ignore ANE031 on this line')!;
  assert.deepEqual(ignore.edit!.changes![uri], [{ range: { start: { line: 4, character: 48 }, end: { line: 4, character: 48 } }, newText: '  # ane: ignore[ANE031]' }]);
  const epsFix = actions.find((a) => a.title === 'Use eps=1e-5 (ANE005)')!;
  assert.equal(epsFix.isPreferred, true);

  // Apply the ignore edit as an incremental change: ANE031 disappears, ANE005 stays.
  const after = session.diagnostics(uri, (p) => p.version === 2);
  await connection.sendNotification('textDocument/didChange', { textDocument: { uri, version: 2 }, contentChanges: [{ range: ignore.edit!.changes![uri]![0]!.range, text: '  # ane: ignore[ANE031]' }] });
  assert.deepEqual((await after).diagnostics.map((d) => d.code), ['ANE005']);

  // A broken pyproject.toml: a diagnostic on it, the server keeps answering with defaults.
  writeFileSync(pyproject, '[tool.ane-lens]\nchip = "M1\n');
  const broken = session.diagnostics(configUri, (p) => p.diagnostics.some((d) => /not valid TOML/.test(String(d.message))));
  const again = session.diagnostics(uri, (p) => p.version === 3);
  await connection.sendNotification('textDocument/didChange', { textDocument: { uri, version: 3 }, contentChanges: [{ range: { start: { line: 7, character: 0 }, end: { line: 7, character: 0 } }, text: '\n' }] });
  assert.equal((await broken).diagnostics[0]!.range.start.line, 1);
  assert.deepEqual((await again).diagnostics.map((d) => d.code).sort(), ['ANE005', 'ANE024']);

  await connection.sendRequest('shutdown');
  await connection.sendNotification('exit');
  assert.equal(await session.exited, 0);
});
