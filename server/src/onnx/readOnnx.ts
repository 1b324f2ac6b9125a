// ONNX model file → Graph IR + weights blob (contract 1). Validates what it decodes (missing graph,
// dangling inputs, cycles, corrupt tensors, external data escaping the model folder) and reports each
// problem as one ModelReadError naming the file.
import { readFileSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, relative, resolve } from 'node:path';
import { GRAPH_IR_VERSION, type GraphIR, type TensorType, type ValueDecl, type WeightedGraph } from '../../../common/graphIR';
import { fusePatterns } from './fusePatterns';
import { GraphBuilder } from './graphBuilder';
import { normalizeNode } from './normalizeNode';
import { DATA_LOCATION_EXTERNAL, int64ToNumber, onnxModelType, type OnnxGraph, type OnnxModel, type OnnxNode, type OnnxValueInfo } from './onnxSchema';
import { decodeTensor, milDtype, TensorDataError } from './tensorData';

export class ModelReadError extends Error {
  constructor(readonly file: string, readonly problem: string) {
    super(`${file}: ${problem}`);
    this.name = 'ModelReadError';
  }
}

/** Protobuf messages cannot exceed 2 GiB; bigger models keep weights in external data files. */
const MAX_MODEL_BYTES = 2 ** 31;
/** Opset assumed when a file declares none (the last opset before axes moved to inputs everywhere). */
const DEFAULT_OPSET = 13;

export interface ReadOptions {
  /** Folder that external-data locations must stay inside (the model's folder). */
  modelDir?: string;
}

export function readOnnxFile(path: string): WeightedGraph {
  let size: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new ModelReadError(path, 'not a file');
    size = st.size;
  } catch (e) {
    if (e instanceof ModelReadError) throw e;
    throw new ModelReadError(path, `cannot open: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (size > MAX_MODEL_BYTES) {
    throw new ModelReadError(path, `${(size / 2 ** 30).toFixed(1)} GiB is larger than a protobuf message can be (2 GiB); not an ONNX model file`);
  }
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new ModelReadError(path, `cannot read: ${(e as Error).message}`);
  }
  const result = readOnnxBytes(bytes, path, { modelDir: dirname(resolve(path)) });
  result.graph.file = path;
  // Exporters name graphs generically ("torch_jit", "main_graph"); the file name is what users recognise.
  result.graph.name = basename(path).replace(/\.onnx$/i, '') || result.graph.name;
  return result;
}

export function readOnnxBytes(bytes: Uint8Array, fileLabel: string, options: ReadOptions = {}): WeightedGraph {
  if (bytes.length === 0) throw new ModelReadError(fileLabel, 'empty file');
  let model: OnnxModel;
  try {
    model = onnxModelType().decode(bytes) as unknown as OnnxModel;
  } catch (e) {
    throw new ModelReadError(fileLabel, `not a valid ONNX protobuf (${(e as Error).message})`);
  }
  const graph = model.graph;
  if (!graph || (!graph.node?.length && !graph.output?.length)) {
    throw new ModelReadError(fileLabel, 'no graph in the model (not an ONNX model file?)');
  }
  try {
    return buildGraph(model, graph, fileLabel, options);
  } catch (e) {
    if (e instanceof ModelReadError) throw e;
    if (e instanceof TensorDataError) throw new ModelReadError(fileLabel, e.message);
    // A corrupt file can still decode into nonsense that trips an assumption; name it, never crash.
    throw new ModelReadError(fileLabel, `malformed model: ${(e as Error).message}`);
  }
}

function valueType(v: OnnxValueInfo): TensorType | undefined {
  const t = v.type?.tensor_type;
  if (!t) return undefined;
  const dtype = milDtype(t.elem_type);
  if (!t.shape) return { dtype };
  return {
    dtype,
    shape: (t.shape.dim ?? []).map((d) => {
      // proto2 decoding puts a 0 default on the prototype, so presence is an own property.
      if (Object.prototype.hasOwnProperty.call(d, 'dim_value')) {
        const n = int64ToNumber(d.dim_value);
        if (Number.isInteger(n) && n >= 0 && n < 2 ** 40) return n;
      }
      return d.dim_param || '?';
    }),
  };
}

function opsetOf(model: OnnxModel, b: GraphBuilder): number {
  const entry = (model.opset_import ?? []).find((o) => !o.domain || o.domain === 'ai.onnx');
  if (!entry) {
    b.warnings.push(`no default-domain opset declared; assuming opset ${DEFAULT_OPSET}`);
    return DEFAULT_OPSET;
  }
  return int64ToNumber(entry.version);
}

function checkExternalLocation(file: string, location: string, modelDir: string | undefined, tensor: string): void {
  if (!location || isAbsolute(location) || location.includes('\0')) {
    throw new ModelReadError(file, `initializer "${tensor}": external data location "${location}" must be a relative path`);
  }
  if (modelDir) {
    const rel = relative(modelDir, resolve(modelDir, location));
    if (rel.startsWith('..') || isAbsolute(rel)) {
      throw new ModelReadError(file, `initializer "${tensor}": external data location "${location}" leaves the model's folder`);
    }
  } else if (location.split(/[\\/]/).includes('..')) {
    throw new ModelReadError(file, `initializer "${tensor}": external data location "${location}" leaves the model's folder`);
  }
}

/** Nodes in dependency order; throws on dangling inputs, duplicate producers and cycles. */
function orderNodes(file: string, nodes: OnnxNode[], available: Set<string>): OnnxNode[] {
  const producer = new Map<string, number>();
  nodes.forEach((n, k) => {
    for (const o of n.output ?? []) {
      if (!o) continue;
      if (producer.has(o) || available.has(o)) {
        throw new ModelReadError(file, `value "${o}" is produced more than once (node ${n.name || n.op_type || k})`);
      }
      producer.set(o, k);
    }
  });
  const indegree = new Array<number>(nodes.length).fill(0);
  const users: number[][] = nodes.map(() => []);
  nodes.forEach((n, k) => {
    for (const i of new Set(n.input ?? [])) {
      if (!i) continue;
      const p = producer.get(i);
      if (p === undefined) {
        if (!available.has(i)) throw new ModelReadError(file, `node "${n.name || n.op_type || k}" reads "${i}", which no node, input or initializer provides`);
        continue;
      }
      indegree[k]!++;
      users[p]!.push(k);
    }
  });
  const ready: number[] = [];
  indegree.forEach((d, k) => { if (d === 0) ready.push(k); });
  const order: OnnxNode[] = [];
  for (let head = 0; head < ready.length; head++) {
    const k = ready[head]!;
    order.push(nodes[k]!);
    for (const u of users[k]!) if (--indegree[u]! === 0) ready.push(u);
  }
  if (order.length !== nodes.length) {
    const stuck = nodes.find((_, k) => indegree[k]! > 0);
    throw new ModelReadError(file, `the graph has a cycle (through node "${stuck?.name || stuck?.op_type || '?'}")`);
  }
  return order;
}

function buildGraph(model: OnnxModel, graph: OnnxGraph, file: string, options: ReadOptions): WeightedGraph {
  const b = new GraphBuilder();
  const opset = opsetOf(model, b);
  const available = new Set<string>();

  for (const [k, init] of (graph.initializer ?? []).entries()) {
    const name = init.name ?? '';
    if (!name) throw new ModelReadError(file, `initializer #${k} has no name`);
    if (available.has(name)) throw new ModelReadError(file, `initializer "${name}" is defined twice`);
    if (init.data_location === DATA_LOCATION_EXTERNAL) {
      const location = init.external_data?.find((e) => e.key === 'location')?.value ?? '';
      checkExternalLocation(file, location, options.modelDir, name);
    }
    b.addConst(name, decodeTensor(init, `initializer "${name}"`));
    available.add(name);
  }

  const inputs: ValueDecl[] = [];
  for (const v of graph.input ?? []) {
    const name = v.name ?? '';
    if (!name) throw new ModelReadError(file, 'a graph input has no name');
    // IR < 4 lists initializers as inputs too; they are constants, not things the caller feeds.
    if (b.consts.has(name)) continue;
    const type = valueType(v);
    if (!type) b.warnings.push(`input "${name}" is not a tensor; its type is unknown`);
    const decl = { name, type: type ?? { dtype: 'unknown' as const } };
    inputs.push(decl);
    b.types.set(name, decl.type);
    b.reserve(name);
    available.add(name);
  }
  for (const v of [...(graph.value_info ?? []), ...(graph.output ?? [])]) {
    const t = v.name ? valueType(v) : undefined;
    if (!t || !v.name) continue;
    const earlier = b.declared.get(v.name);
    if (!earlier || (t.shape && !earlier.shape)) b.declared.set(v.name, t);
  }
  const outputNames = (graph.output ?? []).map((o) => o.name ?? '');
  for (const o of outputNames) if (o) b.graphOutputs.add(o);

  const nodes = orderNodes(file, graph.node ?? [], available);
  // Names the reader invents for intermediate values must not collide with values defined later.
  for (const n of nodes) for (const o of n.output ?? []) if (o) b.reserve(o);
  nodes.forEach((node, k) => {
    try {
      normalizeNode(b, node, opset, k);
    } catch (e) {
      if (e instanceof ModelReadError) throw e;
      throw new ModelReadError(file, `node "${node.name || node.op_type}" (${node.op_type}): ${(e as Error).message}`);
    }
  });

  const produced = new Set<string>([...inputs.map((i) => i.name), ...b.consts.keys()]);
  for (const op of b.ops) for (const o of op.outputs) produced.add(o.name);
  const outputs = outputNames.map((o) => {
    const r = b.resolve(o);
    if (!o || !produced.has(r)) throw new ModelReadError(file, `graph output "${o}" is not produced by the graph`);
    return r;
  });

  b.removeDeadOps(outputs);
  fusePatterns(b);
  const { constants, weights } = b.finishConstants(outputs);
  const ir: GraphIR = {
    schemaVersion: GRAPH_IR_VERSION,
    name: graph.name || basename(file),
    format: 'onnx',
    file,
    inputs,
    outputs,
    constants,
    ops: b.ops,
    warnings: b.warnings,
  };
  return { graph: ir, weights };
}
