// examples/sequence_model_ane.py claims to be an equivalent rewrite of examples/sequence_model.py's
// SequenceEncoder; this proves it with torch (gated), and checks examples/convnet.onnx is what
// examples/make_convnet_onnx.py describes (small, committed, readable without Python).
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseRunReport } from '../../common/runReport';
import { readOnnxFile } from '../../server/src/onnx/readOnnx';
import { distFile, findTorchPython, NO_TORCH, ROOT } from '../helpers';

const EQUIVALENCE = `
import sys, torch
sys.path.insert(0, sys.argv[1])
from sequence_model import SequenceEncoder
from sequence_model_ane import SequenceEncoderANE
torch.manual_seed(0)
ref = SequenceEncoder().eval()
with torch.no_grad():
    for p in ref.parameters():
        p.add_(torch.randn_like(p) * 0.1)   # non-trivial LayerNorm affine parameters too
ane = SequenceEncoderANE().eval().load_from_reference(ref)
x = torch.randn(3, 64, 128)
with torch.no_grad():
    want = ref(x)
    got = ane(x.transpose(1, 2).unsqueeze(2)).squeeze(2).transpose(1, 2)
err = (want - got).abs().max().item()
print(f"{err:.3e} {want.abs().max().item():.3e}")
`;

test('sequence_model_ane.SequenceEncoderANE computes what sequence_model.SequenceEncoder computes', { skip: findTorchPython() ? false : NO_TORCH }, () => {
  const out = execFileSync(findTorchPython()!, ['-c', EQUIVALENCE, join(ROOT, 'examples')], { encoding: 'utf8', timeout: 120_000 });
  const [err, scale] = out.trim().split(' ').map(Number) as [number, number];
  assert.ok(scale > 0.1, `outputs are not trivially small (${scale})`);
  // The only intended difference is LayerNorm eps 1e-12 → 1e-5 (fp16-representable); on unit-variance
  // activations that moves outputs by ~1e-5 relative.
  assert.ok(err < 1e-3, `max abs difference ${err}`);
});

test('examples/convnet.onnx is committed, small, and reads without Python', () => {
  const file = join(ROOT, 'examples', 'convnet.onnx');
  assert.ok(statSync(file).size < 200 * 1024);
  const { graph } = readOnnxFile(file);
  assert.equal(graph.inputs[0]?.name, 'image');
  assert.ok(graph.ops.length > 5);
});

test('ane-lens run file.py:Class traces with the pragma shapes; the LSTM layer is on the CPU with its source line', { skip: findTorchPython() ? false : NO_TORCH }, async () => {
  const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [distFile('cli.js'), 'run', 'examples/sequence_model.py:RecurrentTagger', '--python', findTorchPython()!, '--format', 'json'],
      { cwd: ROOT, timeout: 120_000 }, (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stdout, stderr }));
  });
  assert.equal(r.code, 1, r.stderr);
  const report = parseRunReport(JSON.parse(r.stdout), 'cli');
  assert.equal(report.model.format, 'pytorch');
  const lstm = report.layers.find((l) => l.op === 'lstm');
  assert.equal(lstm?.device, 'cpu');
  assert.equal(lstm?.rule, 'ANE026');
  assert.equal(lstm?.source?.line, 46, 'self.lstm = nn.LSTM(...) in examples/sequence_model.py');
  assert.ok(report.aneResidency < 1);
});
