// npm run bench:sim — simulator speed, in one run, 2 threads each:
//  1. the native fp16 executor (fp16 path + fp32 reference, options.threads = 2) against onnxruntime-node fp32
//     (CPU, intraOpNumThreads = 2) on torchvision resnet50 and mobilenet_v3_small exports (random weights,
//     exported here with /usr/bin/python3 + torch into a temp dir). Prints medians and the speed ratio
//     onnxruntime ms / executor ms (target ≥ 0.5).
//  2. the cost model (placement → addon with execute = false: parse, validate, shapes, costs, segmentation)
//     on a generated 4,000-op graph (target ≤ 50 ms).
// The TypeScript under test is bundled on the fly with esbuild (a dev dependency).
import * as esbuild from 'esbuild';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const python = process.env.ANE_LENS_TEST_PYTHON || '/usr/bin/python3';
const addonPath = process.env.ANE_LENS_ADDON || join(root, 'native', 'build', 'Release', 'ane_native.node');
if (!existsSync(addonPath)) {
  console.error(`bench:sim: ${addonPath} is missing; run npm run build:native`);
  process.exit(2);
}
const work = mkdtempSync(join(tmpdir(), 'ane-lens-bench-sim-'));

const ENTRY = `
import * as ort from 'onnxruntime-node';
import { findChip } from './common/chips';
import type { GraphIR, OpNode } from './common/graphIR';
import { createRequire } from 'node:module';
import { NativeAddon } from './native/host/addon';
import { devicesOf } from './native/host/report';
import { readOnnxFile } from './server/src/onnx/readOnnx';
import { placeGraph } from './server/src/placement/placeGraph';

const [addonPath, dir] = process.argv.slice(2);
const addon = NativeAddon.load(addonPath);
const chip = findChip('M4');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function input(n: number): Float32Array {
  const x = new Float32Array(n);
  let s = 12345;
  for (let i = 0; i < n; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; x[i] = s / 2 ** 31 - 1; }
  return x;
}

async function model(name: string, runs: number) {
  const file = dir + '/' + name + '.onnx';
  const shape = [1, 3, 224, 224];
  const x = input(3 * 224 * 224);
  const session = await ort.InferenceSession.create(file, { intraOpNumThreads: 2, interOpNumThreads: 1, executionProviders: ['cpu'] });
  const feeds = { input: new ort.Tensor('float32', x, shape) };
  const { graph, weights } = readOnnxFile(file);
  const placed = placeGraph(graph, chip);
  const options = { chip, devices: devicesOf(placed), seed: 1, execute: true, threads: 2 };
  // Each side runs as a block after its own warm-up. (Alternating single runs was tried against load drift,
  // but then each run starts from the other side's leftovers: MobileNet's executor ran ~1.6x slower right
  // after an onnxruntime run than after its own, even with a 200 ms pause in between — evicted caches or
  // trimmed heap, not the executor's speed.)
  await session.run(feeds);  // warm-up
  const ortMs: number[] = [];
  for (let i = 0; i < runs; i++) { const t0 = performance.now(); await session.run(feeds); ortMs.push(performance.now() - t0); }
  addon.run(placed, weights, options, { input: x });  // warm-up
  const ours: number[] = [];
  for (let i = 0; i < runs; i++) { const t0 = performance.now(); addon.run(placed, weights, options, { input: x }); ours.push(performance.now() - t0); }
  const o = median(ours), r = median(ortMs);
  console.log(\`\${name.padEnd(20)} executor (fp16 + fp32 reference) \${o.toFixed(1)} ms   onnxruntime-node fp32 \${r.toFixed(1)} ms   speed ratio (ort/ours) \${(r / o).toFixed(2)}x  [median of \${runs}, 2 threads each]\`);
}

/** 4,000 ops: repeated blocks of conv → relu → conv → add (residual) with a CPU-only op every 50 blocks. */
function bigGraph(opsWanted: number): GraphIR {
  const C = 64, H = 28, W = 28;
  const t = (shape: number[]) => ({ dtype: 'fp16' as const, shape });
  const ops: OpNode[] = [];
  const constants: GraphIR['constants'] = [{ name: 'w', type: { dtype: 'fp32', shape: [C, C, 3, 3] }, data: { offset: 0, byteLength: C * C * 9 * 4 } },
    { name: 'k', type: { dtype: 'fp32', shape: [1] }, data: { offset: 0, byteLength: 4 } }];
  let x = 'x', n = 0;
  const op = (kind: string, inputs: string[], attrs: OpNode['attrs'] = {}) => {
    const name = kind + '_' + n++;
    ops.push({ name, op: kind, originalOp: kind, inputs, attrs, outputs: [{ name: name + '_out', type: t([1, C, H, W]) }] });
    return name + '_out';
  };
  const conv = { strides: [1, 1], pad: [1, 1, 1, 1], dilations: [1, 1], groups: 1 };
  for (let b = 0; ops.length < opsWanted; b++) {
    const a = op('conv', [x, 'w'], conv);
    const r = op('relu', [a]);
    const c = op('conv', [r, 'w'], conv);
    x = op('add', [x, c]);
    if (b % 50 === 49) x = op('mod', [x, 'k']);
  }
  return { schemaVersion: 1, name: 'big', format: 'mil', inputs: [{ name: 'x', type: t([1, C, H, W]) }], outputs: [x], constants, ops: ops.slice(0, opsWanted), warnings: [] };
}

async function main() {
  await model('resnet50', 5);
  await model('mobilenet_v3_small', 15);
  const g = bigGraph(4000);
  // Keep the graph consistent after the cut: the last op's output is the graph output.
  g.outputs = [g.ops[g.ops.length - 1]!.outputs[0]!.name];
  const weights = new Uint8Array(64 * 64 * 9 * 4);
  const raw = createRequire(__filename)(addonPath);
  const times: number[] = [], native: number[] = [], costOnly: number[] = [];
  let segments = 0, total = 0;
  // Two untimed warm-up rounds, like the executor and onnxruntime get above: the first calls run placement
  // and JSON handling before V8 has optimized them.
  for (let i = -2; i < 7; i++) {
    const t0 = performance.now();
    const placed = placeGraph(g, chip);
    const r = raw.run(JSON.stringify(placed), weights, JSON.stringify({ chip, devices: devicesOf(placed), seed: 1, execute: false }), {});
    const result = JSON.parse(r.result);
    if (i < 0) continue;
    times.push(performance.now() - t0);
    native.push(result.timingMs.total);
    costOnly.push(result.timingMs.cost);
    segments = result.segments.length;
    total = result.totalMs;
  }
  console.log(\`cost model, \${g.ops.length} ops: \${median(times).toFixed(1)} ms end to end (placement in TS + addon call + result JSON), of which addon \${median(native).toFixed(1)} ms (parse, validate, shapes, buffer plan, costs) and costs + segmentation \${median(costOnly).toFixed(2)} ms; median of 7; target <= 50 ms -> \${segments} segments, predicted \${total.toFixed(2)} ms on M4\`);
}
main().catch((e) => { console.error(e); process.exit(1); });
`;

// The box is shared: print the load around the run, since every figure below moves with it.
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');
try {
  console.log(`bench:sim: load average ${load()} (1/5/15 min)`);
  console.log(`bench:sim: exporting resnet50 and mobilenet_v3_small with ${python} (random weights)...`);
  execFileSync(python, [join(root, 'test', 'sim', 'export_models.py'), work, 'resnet50', 'mobilenet_v3_small'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const bundle = join(work, 'bench-sim.cjs');
  await esbuild.build({
    stdin: { contents: ENTRY, resolveDir: root, loader: 'ts', sourcefile: 'bench-sim-entry.ts' },
    bundle: true, platform: 'node', format: 'cjs', target: 'node20', outfile: bundle, logLevel: 'warning',
    external: ['onnxruntime-node'], nodePaths: [join(root, 'node_modules')],
  });
  const r = spawnSync(process.execPath, [bundle, addonPath, work], { stdio: 'inherit', env: { ...process.env, NODE_PATH: join(root, 'node_modules') } });
  process.exitCode = r.status ?? 1;
  console.log(`bench:sim: load average ${load()} (1/5/15 min)`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
