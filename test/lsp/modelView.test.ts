// aneLens/modelView over the real protocol: the language server reads a model file and answers plain
// JSON (MIL text, findings, per-op hover data); a corrupt file answers `{ error }` and the server keeps
// answering the next request.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { modelViewRequest, type ModelViewResponse, type ModelViewResult } from '../../common/lspExtensions';
import { SHARED_MODELS } from '../helpers';
import { startServer } from './lspClient';

const MODEL = join(SHARED_MODELS, 'coreml', 'NeuralMcNeuralNet.mlmodel');
const skip = existsSync(MODEL) ? false : `skipped: ${MODEL} is absent (the shared real model files)`;

test('aneLens/modelView: a custom layer is an ANE028 finding; a truncated file is { error } and the server answers on', { skip }, async (t) => {
  const session = startServer();
  const { connection } = session;
  t.after(() => { if (session.process.exitCode === null) session.process.kill(); });
  await connection.sendRequest('initialize', { processId: process.pid, rootUri: null, capabilities: {} });
  await connection.sendNotification('initialized', {});
  const ask = (uri: string, chip = 'M4') => connection.sendRequest(modelViewRequest, { uri, chip }) as Promise<ModelViewResponse>;

  const good = await ask(pathToFileURL(MODEL).href);
  assert.ok(!('error' in good), `unexpected error: ${'error' in good ? good.error : ''}`);
  const view = good as ModelViewResult;
  assert.equal(view.chip, 'M4');
  const custom = view.viewFindings.find((f) => f.rule === 'ANE028');
  assert.ok(custom, `no ANE028 among ${view.viewFindings.map((f) => f.rule).join(', ')}`);
  assert.match(view.mil.text.split('\n')[custom.line - 1]!, /custom/i, 'the finding sits on the custom layer\'s MIL line');
  assert.ok(view.fileFindings.some((f) => f.rule === 'ANE028'), 'also reported for the model file (Problems panel)');
  assert.equal(view.ops.length, view.mil.opLines.length, 'one hover entry per op line');
  assert.equal(view.summary.ops, view.ops.length);
  assert.ok(!('graph' in view) && !('details' in view), 'the graph IR itself is not shipped');

  const dir = mkdtempSync(join(tmpdir(), 'ane-lens-lsp-model-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const truncated = join(dir, 'truncated.mlmodel');
  const bytes = readFileSync(MODEL);
  writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length / 2)));
  const bad = await ask(pathToFileURL(truncated).href);
  assert.ok('error' in bad, 'a truncated file answers { error }');
  assert.match(bad.error, /truncated\.mlmodel/);
  assert.equal(bad.error.split('\n').length, 1, 'one line');

  const unknownChip = await ask(pathToFileURL(MODEL).href, 'Z80');
  assert.ok('error' in unknownChip && /unknown chip "Z80"/.test(unknownChip.error));
  const notFile = await ask('untitled:Untitled-1');
  assert.ok('error' in notFile && /not a file: URI/.test(notFile.error));

  const again = await ask(pathToFileURL(MODEL).href, 'M1');
  assert.ok(!('error' in again) && again.chip === 'M1', 'the server still answers after bad files');
  await connection.sendRequest('shutdown');
  await connection.sendNotification('exit');
  assert.equal(await session.exited, 0);
});
