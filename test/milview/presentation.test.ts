import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Window } from 'happy-dom';
import { findChip } from '../../common/chips';
import { loadModelView } from '../../server/src/milview/modelView';
import { errorPage, hoverMarkdown, opAtLine, summaryPage } from '../../server/src/milview/presentation';
import { toModelViewData } from '../../server/src/milview/viewData';
import { SHARED_MODELS } from '../helpers';

const DIR = join(SHARED_MODELS, 'coreml');
const skip = existsSync(DIR) ? false : `skipped: ${DIR} is absent (the shared real model files)`;

test('hover on a MIL view line: op, placement with rule and reason, shapes and dtypes of outputs and inputs', { skip }, () => {
  // The data the language server sends, round-tripped through JSON as on the wire.
  const v = JSON.parse(JSON.stringify(toModelViewData(loadModelView(join(DIR, 'Mosaic.mlpackage'), findChip('M4')))));
  const k = v.ops.findIndex((o: { op: string }) => o.op === 'reduce_argmax');
  const line = v.mil.opLines[k]!;
  assert.equal(opAtLine(v, line)?.index, k);
  const md = hoverMarkdown(v, line)!;
  assert.match(md, /^\*\*reduce\\_argmax\*\* `ArgMax`/);
  assert.match(md, /Runs on the \*\*CPU\*\* \(ANE039\): Core ML never places arg-reductions/);
  assert.match(md, /- out `ArgMax`: int32 \(1, 512, 512\)/);
  assert.match(md, /- in `transpose_158`: \(1, 512, 512, 32, fp16\)\(Tensor\)/);
  const conv = hoverMarkdown(v, v.mil.opLines[v.ops.findIndex((o: { op: string }) => o.op === 'conv')]!)!;
  assert.match(conv, /Runs on the \*\*ANE\*\* of the M4/);
  assert.match(conv, /`strides=\[2,2\]`/);
  assert.match(conv, /- in `transpose_0_to_fp16`: \(32, 3, 3, 3, fp16\)\(Tensor\) const/);
  assert.equal(hoverMarkdown(v, 1), undefined, 'the title comment is not an op');
});

test('summary page: strict CSP, residency, fallbacks with reasons, run disabled with a reason when asked', { skip }, () => {
  const v = JSON.parse(JSON.stringify(toModelViewData(loadModelView(join(DIR, 'NeuralMcNeuralNet.mlmodel'), findChip('M4')))));
  const html = summaryPage(v, { cspSource: 'vscode-resource:', nonce: 'abc123', canRun: false, runNote: 'Core ML models cannot run on the simulator yet' });
  const doc = new Window().document;
  doc.write(html);
  const csp = doc.querySelector('meta[http-equiv="Content-Security-Policy"]')!.getAttribute('content')!;
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'nonce-abc123'/);
  assert.ok([...doc.querySelectorAll('script')].every((s) => s.getAttribute('nonce') === 'abc123'));
  assert.equal(doc.querySelector('#openText')!.textContent, 'Open as text');
  assert.equal((doc.querySelector('#run') as unknown as { disabled: boolean }).disabled, true);
  assert.match(doc.querySelector('#runNote')!.textContent!, /cannot run on the simulator yet/);
  const text = doc.body.textContent!;
  assert.match(text, /ANE residency on M4: 4\/5 ops \(80\.0%\)/);
  assert.match(text, /custom: custom layer Swish runs in app code/);
  assert.match(text, /convolution1/);
  const onnxLike = summaryPage(v, { cspSource: 'x', nonce: 'n', canRun: true });
  assert.ok(!/id="run" disabled/.test(onnxLike));
  assert.match(errorPage('bad.mlmodel: <truncated>', { cspSource: 'x', nonce: 'n' }), /bad\.mlmodel: &lt;truncated&gt;/);
});
