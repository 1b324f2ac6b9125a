// The body of one run, executed in the job worker process (see jobWorker.ts): load the graph, place it,
// execute it natively, write outputs, and return the validated report. Synchronous work lives here so the
// JSON-RPC process stays responsive and a timeout can kill it.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findChip } from '../../common/chips';
import { parseGraphIR, staticElementCount, type GraphIR, type WeightedGraph } from '../../common/graphIR';
import { MODEL_OP_PREFIX } from '../../server/src/coreml/readCoreml';
import type { RunReport } from '../../common/runReport';
import { SideProcessErrorCodes, type RunParams } from '../../common/sideProcessProtocol';
import { readModelFile } from '../../server/src/coreml/readModel';
import { placeGraph } from '../../server/src/placement/placeGraph';
import { NativeAddon } from './addon';
import { JobError } from './errors';
import { readNpyFile, writeNpyFloat32 } from './npy';
import { buildRunReport, devicesOf } from './report';

/** Where a traced PyTorch graph was written by ane_trace.py. */
export interface TracedGraphFiles {
  graphPath: string;
  weightsPath: string;
}

export function loadTracedGraph(files: TracedGraphFiles): WeightedGraph {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(files.graphPath, 'utf8'));
  } catch (e) {
    throw new JobError(SideProcessErrorCodes.TraceFailed, `the PyTorch tracer wrote unreadable graph JSON: ${(e as Error).message}`);
  }
  let graph;
  try {
    graph = parseGraphIR(json, 'the PyTorch tracer output');
  } catch (e) {
    throw new JobError(SideProcessErrorCodes.TraceFailed, (e as Error).message);
  }
  return { graph, weights: new Uint8Array(readFileSync(files.weightsPath)) };
}

let addon: NativeAddon | undefined;
function getAddon(): NativeAddon {
  addon ??= NativeAddon.load();
  return addon;
}

export function preloadAddon(): void {
  getAddon();
}

export function runJob(params: RunParams, traced: TracedGraphFiles | undefined, progress: (message: string) => void): RunReport {
  const chip = findChip(params.chip);
  let source: WeightedGraph;
  if (params.target.kind === 'onnx' || params.target.kind === 'coreml') {
    progress(`reading ${params.target.path}`);
    // The shared reader: every op gets its line in the model's MIL view, where the timing panel jumps.
    source = readModelFile(params.target.path, { loadWeights: true });
    refuseUnrunnable(source.graph, params.target.path);
  } else {
    if (!traced) throw new JobError(SideProcessErrorCodes.Internal, 'internal error: PyTorch job without a traced graph');
    source = loadTracedGraph(traced);
  }
  const placed = placeGraph(source.graph, chip);
  const inputs = readInputs(placed.inputs, params.inputNpy ?? {});

  progress(`running ${placed.ops.length} layers on the simulated ${chip.id}`);
  const { result, outputs } = getAddon().run(placed, source.weights, {
    chip, devices: devicesOf(placed), seed: params.seed ?? 0, execute: true,
  }, inputs);
  const report = buildRunReport(placed, chip, result);

  if (params.saveOutputsTo) {
    mkdirSync(params.saveOutputsTo, { recursive: true });
    for (const out of result.outputs) {
      const values = outputs[out.name];
      if (!values) {
        report.warnings.push(`output ${out.name} was not computed (an op upstream has no executor kernel); no .npy written`);
        continue;
      }
      writeNpyFloat32(join(params.saveOutputsTo, `${safeFileName(out.name)}.npy`), values.fp16, out.shape);
    }
  }
  return report;
}

/** Models the simulator cannot run at all, refused with the reason (not the addon's complaint about a dtype). */
function refuseUnrunnable(graph: GraphIR, path: string): void {
  const odd = graph.inputs.find((i) => !NUMERIC_DTYPES.has(i.type.dtype));
  if (odd) {
    throw new JobError(SideProcessErrorCodes.BadInput, `${path}: input "${odd.name}" is not a numeric tensor (${odd.type.dtype === 'unknown' ? 'a dictionary or a string' : odd.type.dtype}); the simulator runs models whose inputs are tensors`);
  }
  if (graph.ops.length > 0 && graph.ops.every((o) => o.originalOp.startsWith(MODEL_OP_PREFIX))) {
    const kinds = [...new Set(graph.ops.map((o) => o.originalOp.slice(MODEL_OP_PREFIX.length)))];
    throw new JobError(SideProcessErrorCodes.BadInput, `${path}: no neural network here, only ${kinds.join(', ')}; none of it runs on the ANE, and the simulator runs neural networks`);
  }
}

const NUMERIC_DTYPES = new Set(['fp32', 'fp16', 'fp64', 'int64', 'int32', 'int16', 'int8', 'uint8', 'bool']);

function readInputs(declared: WeightedGraph['graph']['inputs'], files: Record<string, string>): Record<string, Float32Array> {
  const inputs: Record<string, Float32Array> = {};
  for (const [name, path] of Object.entries(files)) {
    const decl = declared.find((d) => d.name === name);
    if (!decl) {
      throw new JobError(SideProcessErrorCodes.BadInput, `inputNpy names "${name}", which is not a graph input; inputs: ${declared.map((d) => d.name).join(', ')}`);
    }
    const arr = readNpyFile(path);
    const want = decl.type.shape;
    const count = staticElementCount(decl.type);
    const sameShape = want !== undefined && want.length === arr.shape.length && want.every((d, i) => d === arr.shape[i]);
    if (!sameShape && !(count !== undefined && count === arr.data.length)) {
      throw new JobError(SideProcessErrorCodes.BadInput, `${path}: shape (${arr.shape.join(', ')}) does not match input ${name} (${(want ?? []).join(', ')})`);
    }
    inputs[name] = arr.data;
  }
  return inputs;
}

/** Output names can hold '/' or ':' (ONNX); keep the file inside the chosen folder. */
export function safeFileName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, '_') || 'output';
}
