import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CodeAction, CodeLens, Hover, InitializeResult, MarkupContent } from 'vscode-languageserver-protocol';
import { RUN_ON_ANE_COMMAND, type RunLensArgs } from '../../common/commands';
import { startServer } from './lspClient';

const URI = 'file:///tmp/ane-lens-test/model.py';
const SOURCE = [
  'import torch',                                   // 1
  'import torch.nn as nn',                          // 2
  'import coremltools as ct',                       // 3
  '',                                               // 4
  '# ane: inputs=(1, 16, 32)',                      // 5
  'class Tagger(nn.Module):',                       // 6
  '    def __init__(self):',                        // 7
  '        super().__init__()',                     // 8
  '        self.rnn = nn.LSTM(32, 64)',             // 9
  '        self.norm = nn.LayerNorm(64, eps=1e-12)', // 10
  '',                                               // 11
  'model = Tagger().eval()',                        // 12
  'mlmodel = ct.convert(torch.jit.trace(model, torch.rand(1, 16, 32)), compute_precision=ct.precision.FLOAT32)', // 13
  '',
].join('\n');

test('language server: diagnostics, hover, code lenses, incremental change, shutdown', async (t) => {
  const session = startServer({ chip: 'M1' });
  const { connection } = session;
  t.after(() => { if (session.process.exitCode === null) session.process.kill(); });

  const init = await connection.sendRequest('initialize', {
    processId: process.pid,
    rootUri: null,
    capabilities: { workspace: { configuration: true }, textDocument: { hover: { contentFormat: ['markdown'] } } },
  }) as InitializeResult;
  assert.equal(init.capabilities.hoverProvider, true);
  assert.deepEqual(init.capabilities.codeLensProvider, { resolveProvider: false });
  await connection.sendNotification('initialized', {});

  const first = session.diagnostics(URI, () => true);
  await connection.sendNotification('textDocument/didOpen', { textDocument: { uri: URI, languageId: 'python', version: 1, text: SOURCE } });
  const published = await first;
  const byCode = new Map(published.diagnostics.map((d) => [String(d.code), d]));
  assert.deepEqual([...byCode.keys()].sort(), ['ANE001', 'ANE005', 'ANE026']);
  const lstm = byCode.get('ANE026')!;
  assert.deepEqual(lstm.range, { start: { line: 8, character: 19 }, end: { line: 8, character: 34 } });
  assert.equal(lstm.severity, 1);
  assert.equal(lstm.source, 'ANE Lens');
  assert.match(lstm.codeDescription!.href, /^file:\/\/.*\/docs\/rules\/ANE026\.md$/);
  assert.equal(byCode.get('ANE005')!.severity, 2);
  assert.equal(byCode.get('ANE001')!.range.start.line, 12);
  assert.deepEqual(session.configurationRequests, ['aneLens'], 'reads aneLens settings when the client supports it');

  const hover = await connection.sendRequest('textDocument/hover', { textDocument: { uri: URI }, position: { line: 8, character: 25 } }) as Hover;
  const markdown = (hover.contents as MarkupContent).value;
  assert.equal((hover.contents as MarkupContent).kind, 'markdown');
  assert.match(markdown, /\*\*ANE026 · Recurrent layer has no ANE path\*\* \(error\)/);
  assert.match(markdown, /LSTM \(`nn\.LSTM\(32, 64\)`\) has no Neural Engine path/);
  assert.match(markdown, /coremltools#1780/);
  assert.match(markdown, /\[ANE026 documentation\]\(file:\/\/.*ANE026\.md\)/);
  const nothing = await connection.sendRequest('textDocument/hover', { textDocument: { uri: URI }, position: { line: 0, character: 2 } });
  assert.equal(nothing, null);

  const lenses = await connection.sendRequest('textDocument/codeLens', { textDocument: { uri: URI } }) as CodeLens[];
  assert.equal(lenses.length, 2);
  for (const lens of lenses) {
    assert.equal(lens.command?.title, '▶ Run on ANE');
    assert.equal(lens.command?.command, RUN_ON_ANE_COMMAND);
  }
  const moduleArgs = lenses[0]!.command!.arguments![0] as RunLensArgs;
  assert.deepEqual(moduleArgs, { uri: URI, line: 6, kind: 'module', className: 'Tagger', inputShapes: [[1, 16, 32]], pragmaLine: 5 });
  assert.equal(lenses[0]!.range.start.line, 5);
  const convertArgs = lenses[1]!.command!.arguments![0] as RunLensArgs;
  assert.deepEqual(convertArgs, { uri: URI, line: 13, kind: 'convert', className: 'Tagger', inputShapes: [[1, 16, 32]] });

  // Quick fixes for the mechanical rules, matched to the diagnostics the client sends back.
  const actions = await connection.sendRequest('textDocument/codeAction', {
    textDocument: { uri: URI },
    range: { start: { line: 9, character: 0 }, end: { line: 12, character: 0 } },
    context: { diagnostics: published.diagnostics },
  }) as CodeAction[];
  const editsByTitle = new Map(actions.map((a) => [a.title, a.edit!.changes![URI]![0]!]));
  assert.deepEqual([...editsByTitle.keys()].filter((k) => !k.startsWith('Ignore')).sort(), ['Use eps=1e-5 (ANE005)', 'Use fp16 compute precision (FLOAT16) (ANE001)']);
  // Every diagnostic also offers "Ignore <RULE> on this line", appending the comment at the line end.
  assert.deepEqual([...editsByTitle.keys()].filter((k) => k.startsWith('Ignore')).sort(), ['Ignore ANE001 on this line', 'Ignore ANE005 on this line', 'Ignore ANE026 on this line']);
  assert.deepEqual(editsByTitle.get('Ignore ANE026 on this line'), { range: { start: { line: 8, character: 34 }, end: { line: 8, character: 34 } }, newText: '  # ane: ignore[ANE026]' });
  assert.ok(actions.filter((a) => a.title.startsWith('Ignore')).every((a) => !a.isPreferred));
  assert.deepEqual(editsByTitle.get('Use eps=1e-5 (ANE005)'), { range: { start: { line: 9, character: 41 }, end: { line: 9, character: 46 } }, newText: '1e-5' });
  assert.equal(editsByTitle.get('Use fp16 compute precision (FLOAT16) (ANE001)')!.newText, 'ct.precision.FLOAT16');
  assert.ok(actions.every((a) => a.kind === 'quickfix' && a.diagnostics?.length === 1));

  // Incremental edit: replace `nn.LSTM(32, 64)` on line 9 with a 1×1 conv; the ANE026 diagnostic goes away.
  const updated = session.diagnostics(URI, (p) => p.version === 2);
  await connection.sendNotification('textDocument/didChange', {
    textDocument: { uri: URI, version: 2 },
    contentChanges: [{ range: { start: { line: 8, character: 19 }, end: { line: 8, character: 34 } }, text: 'nn.Conv2d(32, 64, 1)' }],
  });
  const after = await updated;
  assert.deepEqual(after.diagnostics.map((d) => String(d.code)).sort(), ['ANE001', 'ANE005']);

  // Closing clears the document's diagnostics.
  const cleared = session.diagnostics(URI, (p) => p.diagnostics.length === 0);
  await connection.sendNotification('textDocument/didClose', { textDocument: { uri: URI } });
  await cleared;

  await connection.sendRequest('shutdown');
  await connection.sendNotification('exit');
  assert.equal(await session.exited, 0);
  assert.doesNotMatch(session.stderr(), /Error/);
});

test('language server survives odd documents and keeps answering', async (t) => {
  const session = startServer();
  const { connection } = session;
  t.after(() => { if (session.process.exitCode === null) session.process.kill(); });
  await connection.sendRequest('initialize', { processId: process.pid, rootUri: null, capabilities: {} });
  await connection.sendNotification('initialized', {});

  const odd = ['class (((', '\u0000\ud800\udfff\uffff'.repeat(1000), `${'x = ['.repeat(500)}`, 'import torch.nn as nn\nnn.GRU(1,'];
  for (const [i, text] of odd.entries()) {
    const uri = `file:///tmp/ane-lens-test/odd${i}.py`;
    const done = session.diagnostics(uri, () => true);
    await connection.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'python', version: 1, text } });
    await done;
    await connection.sendRequest('textDocument/hover', { textDocument: { uri }, position: { line: 0, character: 0 } });
    await connection.sendRequest('textDocument/codeLens', { textDocument: { uri } });
  }
  // Requests for documents the server never saw, and non-Python documents, get neutral answers.
  assert.equal(await connection.sendRequest('textDocument/hover', { textDocument: { uri: 'file:///nope.py' }, position: { line: 0, character: 0 } }), null);
  assert.deepEqual(await connection.sendRequest('textDocument/codeLens', { textDocument: { uri: 'file:///nope.py' } }), []);
  await connection.sendNotification('textDocument/didOpen', { textDocument: { uri: 'file:///tmp/a.txt', languageId: 'plaintext', version: 1, text: 'nn.LSTM' } });
  assert.deepEqual(await connection.sendRequest('textDocument/codeLens', { textDocument: { uri: 'file:///tmp/a.txt' } }), []);

  // A ~1 MB Python document still gets diagnostics.
  const big = 'import torch.nn as nn\n' + 'x = nn.LSTM(4, 8)  # filler filler filler filler filler filler filler\n'.repeat(15000);
  const bigUri = 'file:///tmp/ane-lens-test/big.py';
  const bigDone = session.diagnostics(bigUri, () => true, 60_000);
  await connection.sendNotification('textDocument/didOpen', { textDocument: { uri: bigUri, languageId: 'python', version: 1, text: big } });
  assert.equal((await bigDone).diagnostics.length, 15000);

  await connection.sendRequest('shutdown');
  await connection.sendNotification('exit');
  assert.equal(await session.exited, 0);
});

test('language server exits (code 1) when the client goes away without shutdown', async (t) => {
  const session = startServer({ chip: 'M1' });
  t.after(() => { if (session.process.exitCode === null) session.process.kill(); });
  await session.connection.sendRequest('initialize', { processId: null, rootUri: null, capabilities: {} });
  session.process.stdin!.end();
  assert.equal(await session.exited, 1);
});
