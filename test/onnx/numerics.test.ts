// The reader's normalizations are only right if the executed graph computes what ONNX means. One
// hand-built opset-11 model (onnx.helper) exercises the rewrites with the most room for mistakes —
// negative-step Slice, reflect Pad, Resize, ceil-mode MaxPool, legacy Softmax flattening, Gemm with
// transB=0/alpha/beta, SAME_UPPER 1-D Conv, Clip from inputs, AveragePool excluding padding — and
// torch computes the expected values. Runs through the CLI (`run --inputs --save-outputs`), so the
// whole reader → placement → executor path is covered. Torch-gated.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readNpyFile } from '../../native/host/npy';
import { distFile, findTorchPython, NO_TORCH, ROOT } from '../helpers';

const MAKE_MODEL = String.raw`
import sys, numpy as np, torch, torch.nn.functional as F, onnx
from onnx import helper, TensorProto, numpy_helper
out = sys.argv[1]
rng = np.random.default_rng(0)
x = rng.standard_normal((1, 4, 8, 8)).astype(np.float32)
B = (rng.standard_normal((64, 5)) * 0.1).astype(np.float32)
C = rng.standard_normal(5).astype(np.float32)
W = (rng.standard_normal((3, 4, 5)) * 0.3).astype(np.float32)
i64 = lambda name, v: numpy_helper.from_array(np.array(v, dtype=np.int64), name)
f32 = lambda name, v: numpy_helper.from_array(np.array(v, dtype=np.float32), name)
inits = [
  i64('st', [1, -1]), i64('en', [4, -9]), i64('ax', [2, 3]), i64('sp', [1, -2]),
  i64('pads', [0, 0, 1, 2, 0, 0, 2, 1]), f32('scales', [1, 1, 2, 2]), f32('roi', []),
  i64('flat', [4, -1]), i64('seq', [1, 4, -1]), numpy_helper.from_array(B, 'B'), numpy_helper.from_array(C, 'C'),
  numpy_helper.from_array(W, 'W'), f32('lo', -0.5), f32('hi', 0.5),
]
N = helper.make_node
nodes = [
  N('Slice', ['x', 'st', 'en', 'ax', 'sp'], ['slice']),
  N('Pad', ['x', 'pads'], ['pad'], mode='reflect'),
  N('Resize', ['x', 'roi', 'scales'], ['resize'], mode='nearest', coordinate_transformation_mode='asymmetric', nearest_mode='floor'),
  N('MaxPool', ['x'], ['maxpool'], kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1),
  N('Softmax', ['x'], ['softmax'], axis=1),
  N('Reshape', ['x', 'flat'], ['x2d']),
  N('Gemm', ['x2d', 'B', 'C'], ['gemm'], alpha=0.5, beta=2.0),
  N('Gemm', ['x2d', 'B'], ['linear']),
  N('Reshape', ['x', 'seq'], ['x1d']),
  N('Conv', ['x1d', 'W'], ['conv1d'], auto_pad='SAME_UPPER', strides=[2], kernel_shape=[5]),
  N('Clip', ['x', 'lo', 'hi'], ['clip']),
  N('AveragePool', ['x'], ['avgpool'], kernel_shape=[2, 2], strides=[2, 2], pads=[1, 1, 1, 1], count_include_pad=0),
]
names = ['slice', 'pad', 'resize', 'maxpool', 'softmax', 'gemm', 'linear', 'conv1d', 'clip', 'avgpool']
graph = helper.make_graph(nodes, 'numerics', [helper.make_tensor_value_info('x', TensorProto.FLOAT, [1, 4, 8, 8])],
  [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in names], inits)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 11)])
onnx.save(model, out + '/numerics.onnx')
np.save(out + '/x.npy', x)
t = torch.from_numpy(x)
x1 = t.reshape(1, 4, 64)
expected = {
  'slice': t[:, :, 1:4, :].flip(-1)[..., 0::2],
  'pad': F.pad(t, (2, 1, 1, 2), mode='reflect'),
  'resize': F.interpolate(t, scale_factor=2, mode='nearest'),
  'maxpool': F.max_pool2d(t, 3, 2, ceil_mode=True),
  'softmax': t.reshape(1, -1).softmax(-1).reshape(t.shape),
  'gemm': 0.5 * t.reshape(4, 64) @ torch.from_numpy(B) + 2 * torch.from_numpy(C),
  'linear': t.reshape(4, 64) @ torch.from_numpy(B),
  'conv1d': F.conv1d(F.pad(x1, (1, 2)), torch.from_numpy(W), stride=2),
  'clip': t.clamp(-0.5, 0.5),
  'avgpool': F.avg_pool2d(t, 2, 2, padding=1, count_include_pad=False),
}
for k, v in expected.items():
  np.save(out + '/expected_' + k + '.npy', v.numpy().astype(np.float32))
# Decomposed LayerNorm (opset 14) and erf-GELU, which the reader re-fuses into layer_norm and gelu.
torch.manual_seed(0)
m = torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.GELU(), torch.nn.LayerNorm(32), torch.nn.Linear(32, 8)).eval()
with torch.no_grad():
  m[2].weight.uniform_(0.5, 1.5)
  m[2].bias.uniform_(-0.5, 0.5)
xs = torch.randn(2, 5, 16)
torch.onnx.export(m, xs, out + '/fused.onnx', opset_version=14, input_names=['xs'], output_names=['fused'])
np.save(out + '/xs.npy', xs.numpy())
with torch.no_grad():
  np.save(out + '/expected_fused.npy', m(xs).numpy())
`;

const python = findTorchPython();

test('normalized ONNX ops compute what ONNX specifies (fp16 tolerance)', { skip: python ? false : NO_TORCH }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ane-numerics-'));
  execFileSync(python!, ['-c', MAKE_MODEL, dir], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 120_000 });
  const outDir = join(dir, 'out');
  const run = (model: string, input: string) => new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [distFile('cli.js'), 'run', join(dir, model), '--inputs', join(dir, input), '--save-outputs', outDir, '--format', 'json'],
      { cwd: ROOT, timeout: 60_000 }, (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stdout, stderr }));
  });
  const [result, fused] = await Promise.all([run('numerics.onnx', 'x.npy'), run('fused.onnx', 'xs.npy')]);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(fused.code, 0, fused.stderr);
  const fusedOps = (JSON.parse(fused.stdout) as { layers: Array<{ op: string }> }).layers.map((l) => l.op);
  assert.deepEqual(fusedOps.filter((op) => op === 'gelu' || op === 'layer_norm'), ['gelu', 'layer_norm'], fusedOps.join(', '));
  const names = ['slice', 'pad', 'resize', 'maxpool', 'softmax', 'gemm', 'linear', 'conv1d', 'clip', 'avgpool', 'fused'];
  const failures: string[] = [];
  for (const name of names) {
    const want = readNpyFile(join(dir, `expected_${name}.npy`));
    let got;
    try {
      got = readNpyFile(join(outDir, `${name}.npy`));
    } catch (e) {
      failures.push(`${name}: no output (${(e as Error).message})`);
      continue;
    }
    if (JSON.stringify(got.shape) !== JSON.stringify(want.shape)) {
      failures.push(`${name}: shape (${got.shape.join(', ')}) vs expected (${want.shape.join(', ')})`);
      continue;
    }
    let worst = 0;
    for (let k = 0; k < want.data.length; k++) {
      const err = Math.abs(got.data[k]! - want.data[k]!) / Math.max(1, Math.abs(want.data[k]!));
      worst = Math.max(worst, err);
    }
    if (!(worst < 5e-3)) failures.push(`${name}: max relative error ${worst}`);
  }
  assert.deepEqual(failures, []);
});
