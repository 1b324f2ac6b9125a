// Core ML files → graph IR: `.mlmodel` (NeuralNetwork and its classifier/regressor forms, pipelines,
// ML programs, non-neural models), `.mlpackage` (folder or its Manifest.json), and the compiled
// `model.mil` text (a file, or an `.mlmodelc` folder). Weights are never read: blob references are
// validated by header and sentinel (weightBlob.ts) and NeuralNetwork weight arrays are skipped while
// decoding (coremlSchema.ts). Every problem is one ModelReadError naming the file.
import { readFileSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { GRAPH_IR_VERSION, type ConstantDecl, type GraphIR, type ModelFormat, type OpNode, type TensorType, type ValueDecl, type WeightedGraph } from '../../../common/graphIR';
import { ModelReadError } from '../onnx/readOnnx';
import { arrayDataType, coremlSpecType, coremlWeightedSpecType, int64ToNumber, MODEL_TYPE_FIELDS, type PbFeatureDescription, type PbModel, type PbNeuralNetwork } from './coremlSchema';
import { checkDims, milToGraph, type MilFunction, type OpView } from './milProgram';
import { parseMilText } from './milText';
import { neuralNetworkToGraph } from './neuralNetwork';
import { WeightPacker } from './nnWeights';
import { decodeProgram } from './milDecoder';
import { checkBlobs, loadBlobs } from './weightBlob';

/** Protobuf messages cannot exceed 2 GiB. */
const MAX_SPEC_BYTES = 2 ** 31;
const MAX_MANIFEST_BYTES = 1 << 20;
const MAX_MIL_TEXT_BYTES = 256 << 20;
/** Pipelines inside pipelines deeper than this are refused. */
const MAX_PIPELINE_DEPTH = 32;
/** Originals of ops that stand for a whole non-neural model (a pipeline stage, a GLM classifier, ...). */
export const MODEL_OP_PREFIX = 'CoreML.';

export interface ModelDetails {
  /** Top-level Model type (mlProgram, neuralNetwork, pipelineClassifier, glmClassifier, ...), or "mil". */
  modelType: string;
  specificationVersion?: number;
  functionName?: string;
  opset?: string;
  /** Ops per source type as the file counts them (MIL ops including const; NeuralNetwork layer types). */
  histogram: Record<string, number>;
  /** Source ops including consts (MIL) or layers (NeuralNetwork) or stages. */
  sourceOps: number;
  /** One per graph op: parameter names, block nesting, literal arguments (for the MIL view). */
  views: OpView[];
  blockOutputs: Record<string, string[]>;
  updatable: boolean;
  /** Weight files validated and the number of blob references checked. */
  weightFiles: string[];
  checkedBlobs: number;
  /** The protobuf spec file actually read (inside an .mlpackage: found via Manifest.json). */
  specFile?: string;
}

export interface ModelReadResult extends WeightedGraph { details: ModelDetails }

interface Parts {
  inputs: ValueDecl[];
  outputs: string[];
  ops: OpNode[];
  views: OpView[];
  constants: ConstantDecl[];
  histogram: Record<string, number>;
  sourceOps: number;
  blobs: Array<{ constName: string; fileName: string; offset: number }>;
  blockOutputs: Record<string, string[]>;
  warnings: string[];
  updatable: boolean;
  functionName?: string;
  opset?: string;
  /** A run's NeuralNetwork weight bytes (undefined for analysis). */
  weights?: WeightPacker;
}

function emptyParts(): Parts {
  return { inputs: [], outputs: [], ops: [], views: [], constants: [], histogram: {}, sourceOps: 0, blobs: [], blockOutputs: {}, warnings: [], updatable: false };
}

function featureType(file: string, f: PbFeatureDescription, warnings: string[]): TensorType {
  const t = f.type;
  const name = f.name ?? '?';
  if (!t) return { dtype: 'unknown' };
  const arr = t.multiArrayType ?? t.stateType?.arrayType;
  if (arr) {
    const shape = (arr.shape ?? []).map(int64ToNumber);
    checkDims(file, `feature "${name}"`, shape);
    if (arr.enumeratedShapes || arr.shapeRange) warnings.push(`ANE015: input "${name}" has flexible shapes; the ANE runs only the default shape ${JSON.stringify(shape)} (enumerated shapes compile once per shape)`);
    return { dtype: arrayDataType(arr.dataType), shape };
  }
  if (t.imageType) {
    const w = int64ToNumber(t.imageType.width);
    const h = int64ToNumber(t.imageType.height);
    checkDims(file, `image feature "${name}"`, [w, h]);
    const gray = t.imageType.colorSpace === 10 || t.imageType.colorSpace === 40;
    if (t.imageType.enumeratedSizes || t.imageType.imageSizeRange) warnings.push(`ANE015: image input "${name}" has flexible sizes; the ANE runs only the default size ${w}x${h}`);
    return { dtype: t.imageType.colorSpace === 40 ? 'fp16' : 'fp32', shape: [1, gray ? 1 : 3, h, w] };
  }
  // Scalar kinds are empty messages declared as bytes: only the oneof name says which one is set.
  const kind = (t as { Type?: string }).Type;
  if (kind === 'int64Type') return { dtype: 'int64', shape: [] };
  if (kind === 'doubleType') return { dtype: 'fp64', shape: [] };
  if (kind === 'stringType') return { dtype: 'string', shape: [] };
  return { dtype: 'unknown' };
}

function features(file: string, list: PbFeatureDescription[] | undefined, warnings: string[]): ValueDecl[] {
  return (list ?? []).map((f) => ({ name: f.name ?? '', type: featureType(file, f, warnings) }));
}

function modelTypeOf(m: PbModel): string {
  if (m.Type) return m.Type;
  return Object.keys(MODEL_TYPE_FIELDS).find((k) => m[k] !== undefined) ?? '';
}

/** One Model message (recursing into pipelines) into parts; `prefix` names the ops of a pipeline stage. */
function modelParts(file: string, m: PbModel, depth: number, prefix: string, parts: Parts, known: Map<string, TensorType>): void {
  if (depth > MAX_PIPELINE_DEPTH) throw new ModelReadError(file, `pipelines are nested more than ${MAX_PIPELINE_DEPTH} deep`);
  const type = modelTypeOf(m);
  const inputs = features(file, m.description?.input, parts.warnings);
  const outputs = features(file, m.description?.output, parts.warnings);
  if (m.isUpdatable) parts.updatable = true;
  for (const i of inputs) if (!known.has(i.name)) known.set(i.name, i.type);
  switch (type) {
    case 'mlProgram': {
      const fn = decodeProgram(file, m.mlProgram!, m.description?.defaultFunctionName || undefined);
      addMil(file, fn, parts, depth === 0);
      return;
    }
    case 'neuralNetwork': case 'neuralNetworkClassifier': case 'neuralNetworkRegressor': {
      const nn = m[type] as PbNeuralNetwork;
      const nnParts = neuralNetworkToGraph(file, nn, inputs, prefix, known, parts.weights);
      parts.ops.push(...nnParts.ops);
      parts.views.push(...nnParts.views);
      parts.constants.push(...nnParts.constants);
      for (const [k, v] of Object.entries(nnParts.histogram)) parts.histogram[k] = (parts.histogram[k] ?? 0) + v;
      parts.sourceOps += nnParts.ops.length;
      if (nnParts.updatableLayers > 0) parts.updatable = true;
      if (type === 'neuralNetworkClassifier') {
        // The classifier's label/probability outputs are produced by Core ML after the last layer.
        const produced = new Set(nnParts.ops.flatMap((o) => o.outputs.map((x) => x.name)));
        const extra = outputs.filter((o) => !produced.has(o.name));
        if (extra.length > 0) pushStage(parts, `${prefix}classifier`, 'classLabels', nnParts.ops.at(-1)?.outputs.map((o) => o.name) ?? [], extra, known);
      }
      return;
    }
    case 'pipeline': case 'pipelineClassifier': case 'pipelineRegressor': {
      const pipe = type === 'pipeline' ? m.pipeline : (m[type] as { pipeline?: PbModel['pipeline'] } | undefined)?.pipeline;
      const models = pipe?.models ?? [];
      if (models.length === 0) throw new ModelReadError(file, `${type} has no models`);
      models.forEach((sub, k) => {
        const label = pipe?.names?.[k] || `stage${k}`;
        modelParts(file, sub, depth + 1, `${prefix}${label}/`, parts, known);
      });
      return;
    }
    case '':
      throw new ModelReadError(file, 'the model has no type (empty or not a Core ML model)');
    default:
      // Non-neural models are one op each: they cannot run on the ANE at all.
      pushStage(parts, `${prefix}${type}`, type, inputs.map((i) => i.name), outputs, known);
  }
}

function pushStage(parts: Parts, name: string, type: string, inputs: string[], outputs: ValueDecl[], known: Map<string, TensorType>): void {
  for (const o of outputs) known.set(o.name, o.type);
  parts.ops.push({ name, op: type, originalOp: `${MODEL_OP_PREFIX}${type}`, inputs, outputs, attrs: {} });
  parts.views.push({ params: inputs.map((_, k) => (k === 0 ? 'x' : `x${k}`)), path: [], literals: [], showAttrs: true });
  parts.histogram[type] = (parts.histogram[type] ?? 0) + 1;
  parts.sourceOps++;
}

function addMil(file: string, fn: MilFunction, parts: Parts, topLevel: boolean): void {
  const mil = milToGraph(file, fn);
  parts.ops.push(...mil.ops);
  parts.views.push(...mil.views);
  parts.constants.push(...mil.constants);
  parts.blobs.push(...mil.blobs);
  Object.assign(parts.blockOutputs, mil.blockOutputs);
  for (const [k, v] of Object.entries(mil.histogram)) parts.histogram[k] = (parts.histogram[k] ?? 0) + v;
  parts.sourceOps += mil.totalOps;
  parts.warnings.push(...mil.warnings);
  if (topLevel) {
    parts.inputs = fn.inputs;
    parts.outputs = fn.block.outputs;
    parts.functionName = fn.name;
    parts.opset = fn.opset;
  }
}

function decodeSpec(file: string, bytes: Uint8Array, options: ReadOptions = {}): PbModel {
  if (bytes.length === 0) throw new ModelReadError(file, 'empty file');
  try {
    return (options.loadWeights ? coremlWeightedSpecType() : coremlSpecType()).decode(bytes) as unknown as PbModel;
  } catch (e) {
    if ((e instanceof RangeError && /call stack/i.test(e.message)) || /max depth exceeded/i.test((e as Error).message)) throw new ModelReadError(file, 'messages are nested too deeply to be a Core ML model');
    throw new ModelReadError(file, `not a valid Core ML protobuf (${(e as Error).message})`);
  }
}

function readBytes(file: string, limit: number, what: string): Buffer {
  let size: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new ModelReadError(file, 'not a file');
    size = st.size;
  } catch (e) {
    if (e instanceof ModelReadError) throw e;
    throw new ModelReadError(file, `cannot open: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (size > limit) throw new ModelReadError(file, `${size} bytes is larger than any ${what} can be`);
  try {
    return readFileSync(file);
  } catch (e) {
    throw new ModelReadError(file, `cannot read: ${(e as Error).message}`);
  }
}

/** Build the graph from a decoded spec; `modelDir` is what `@model_path` means (null: no weights folder context). */
export function specToGraph(file: string, model: PbModel, format: ModelFormat, modelDir: string | null, options: ReadOptions = {}): ModelReadResult {
  const parts = emptyParts();
  if (options.loadWeights) parts.weights = new WeightPacker();
  const known = new Map<string, TensorType>();
  try {
    modelParts(file, model, 0, '', parts, known);
  } catch (e) {
    if (e instanceof ModelReadError) throw e;
    if (e instanceof RangeError) throw new ModelReadError(file, 'the model is nested too deeply');
    throw new ModelReadError(file, `malformed model: ${(e as Error).message}`);
  }
  const modelType = modelTypeOf(model);
  if (modelType !== 'mlProgram') {
    // A legacy NeuralNetwork's layers address (C, H, W) as (1, C, H, W): its inputs are declared that way too
    // (the reader's types), so the graph's shapes hold where it is executed.
    parts.inputs = features(file, model.description?.input, []).map((i) => ({ ...i, type: known.get(i.name) ?? i.type }));
    parts.outputs = (model.description?.output ?? []).map((o) => o.name ?? '');
  }
  const weights = { files: [] as string[], blobs: 0, values: new Uint8Array(0) as Uint8Array };
  if (parts.blobs.length > 0) {
    if (modelDir === null) {
      parts.warnings.push(`weights missing: ${parts.blobs.length} weight constant(s) point into @model_path, which only exists inside an .mlpackage; the ops are analysed without them`);
    } else {
      const check = checkBlobs(file, modelDir, parts.blobs);
      weights.files = check.files;
      weights.blobs = check.blobs;
      parts.warnings.push(...check.warnings);
      if (options.loadWeights) weights.values = loadBlobs(file, modelDir, parts.blobs, parts.constants);
    }
  }
  // A NeuralNetwork's weights come from the spec itself (an ML program's from its weight files, above).
  if (parts.weights && parts.blobs.length === 0) weights.values = parts.weights.bytes();
  if (parts.updatable) parts.warnings.push('updatable model: on-device training (the updatable layers and their gradients) runs on the CPU/GPU; inference placement below is unaffected');
  const graph: GraphIR = {
    schemaVersion: GRAPH_IR_VERSION,
    name: basename(file).replace(/\.(mlmodel|mil)$/i, ''),
    format,
    file,
    inputs: parts.inputs,
    outputs: parts.outputs,
    constants: parts.constants,
    ops: parts.ops,
    warnings: parts.warnings,
  };
  return {
    graph,
    weights: weights.values,
    details: {
      modelType, specificationVersion: model.specificationVersion, functionName: parts.functionName, opset: parts.opset,
      histogram: parts.histogram, sourceOps: parts.sourceOps, views: parts.views, blockOutputs: parts.blockOutputs,
      updatable: parts.updatable, weightFiles: weights.files, checkedBlobs: weights.blobs,
    },
  };
}

/** Names from a corrupt file can hold control characters; an error stays one readable line. */
function oneLine<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ModelReadError && /[\u0000-\u001f\u007f]/.test(e.message)) {
      throw new ModelReadError(e.file.replace(/[\u0000-\u001f\u007f]/g, '?'), e.problem.replace(/[\u0000-\u001f\u007f]/g, (c) => JSON.stringify(c).slice(1, -1)));
    }
    throw e;
  }
}

export function readMlmodelBytes(bytes: Uint8Array, file: string, options: ReadOptions = {}): ModelReadResult {
  return oneLine(() => specToGraph(file, decodeSpec(file, bytes, options), 'mlmodel', null, options));
}

export function readMlmodelFile(file: string, options: ReadOptions = {}): ModelReadResult {
  return readMlmodelBytes(readBytes(file, MAX_SPEC_BYTES, 'Core ML spec'), file, options);
}

/** How much of a model to read. */
export interface ReadOptions {
  /** Read the weight values into `weights` (for a run); analysis only checks where they are. */
  loadWeights?: boolean;
}

interface ManifestItem { path?: unknown }

/** The spec inside an .mlpackage: Data/ + itemInfoEntries[rootModelIdentifier].path, checked to stay inside Data/. */
export function locatePackageSpec(pkg: string): { spec: string; warnings: string[] } {
  const manifestPath = join(pkg, 'Manifest.json');
  const warnings: string[] = [];
  const text = readBytes(manifestPath, MAX_MANIFEST_BYTES, 'Manifest.json').toString('utf8');
  let manifest: { fileFormatVersion?: unknown; itemInfoEntries?: Record<string, ManifestItem>; rootModelIdentifier?: unknown };
  try {
    manifest = JSON.parse(text);
  } catch (e) {
    throw new ModelReadError(manifestPath, `not valid JSON (${(e as Error).message})`);
  }
  if (!manifest || typeof manifest !== 'object' || Array.isArray(manifest)) throw new ModelReadError(manifestPath, 'not a JSON object');
  const version = String(manifest.fileFormatVersion ?? '');
  const [major, minor] = version.split('.').map(Number);
  if (!version || !Number.isFinite(major)) warnings.push(`Manifest.json has no fileFormatVersion; reading it as 1.0.0`);
  else if (major! > 1 || (major === 1 && (minor ?? 0) > 0)) throw new ModelReadError(manifestPath, `fileFormatVersion ${version} is newer than 1.0.0, the newest known`);
  const dataDir = join(pkg, 'Data');
  const rootId = manifest.rootModelIdentifier;
  const entries = manifest.itemInfoEntries && typeof manifest.itemInfoEntries === 'object' ? manifest.itemInfoEntries : {};
  const item = typeof rootId === 'string' ? entries[rootId] : undefined;
  if (!item) {
    const fallback = join(dataDir, 'com.apple.CoreML', 'model.mlmodel');
    try {
      if (statSync(fallback).isFile()) {
        warnings.push(`Manifest.json names no root model item (rootModelIdentifier ${JSON.stringify(rootId)}); using Data/com.apple.CoreML/model.mlmodel`);
        return { spec: fallback, warnings };
      }
    } catch { /* fall through to the error */ }
    throw new ModelReadError(manifestPath, `rootModelIdentifier ${JSON.stringify(rootId)} names no item in itemInfoEntries`);
  }
  const rel = item.path;
  if (typeof rel !== 'string' || rel === '') throw new ModelReadError(manifestPath, `root item ${rootId} has no path`);
  if (isAbsolute(rel) || /^[A-Za-z]:/.test(rel) || rel.includes('\0') || rel.split(/[\\/]/).includes('..')) {
    throw new ModelReadError(manifestPath, `root item path "${rel}" leaves the package (absolute or "..")`);
  }
  const spec = resolve(dataDir, rel);
  const back = relative(resolve(dataDir), spec);
  if (back.startsWith('..') || isAbsolute(back) || back === '') throw new ModelReadError(manifestPath, `root item path "${rel}" leaves the package's Data folder`);
  try {
    if (!statSync(spec).isFile()) throw new ModelReadError(manifestPath, `root item path "${rel}" is not a file`);
  } catch (e) {
    if (e instanceof ModelReadError) throw e;
    throw new ModelReadError(manifestPath, `root item path "${rel}" does not exist in the package (Data${sep}${rel})`);
  }
  return { spec, warnings };
}

export function readMlpackage(path: string, options: ReadOptions = {}): ModelReadResult {
  return oneLine(() => readMlpackageUnguarded(path, options));
}

function readMlpackageUnguarded(path: string, options: ReadOptions): ModelReadResult {
  const pkg = basename(path) === 'Manifest.json' ? dirname(path) : path;
  const { spec, warnings } = locatePackageSpec(pkg);
  const bytes = readBytes(spec, MAX_SPEC_BYTES, 'Core ML spec');
  const model = decodeSpec(spec, bytes, options);
  const result = specToGraph(spec, model, 'mlpackage', dirname(spec), options);
  result.graph.file = pkg;
  result.graph.name = basename(pkg).replace(/\.mlpackage$/i, '');
  result.graph.warnings.unshift(...warnings);
  result.details.specFile = spec;
  return result;
}

/** Compiled MIL text: a model.mil file, or an .mlmodelc folder holding one. */
export function readMilText(path: string, options: ReadOptions = {}): ModelReadResult {
  let file = path;
  try {
    if (statSync(path).isDirectory()) {
      file = join(path, 'model.mil');
      try {
        statSync(file);
      } catch {
        throw new ModelReadError(path, 'no model.mil in this compiled model (a compiled NeuralNetwork keeps model.espresso.* instead; open its .mlmodel)');
      }
    }
  } catch (e) {
    if (e instanceof ModelReadError) throw e;
    throw new ModelReadError(path, `cannot open: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const text = readBytes(file, MAX_MIL_TEXT_BYTES, 'MIL text').toString('utf8');
  return readMilTextString(text, file, dirname(file), options);
}

export function readMilTextString(text: string, file: string, modelDir: string | null, options: ReadOptions = {}): ModelReadResult {
  return oneLine(() => readMilTextUnguarded(text, file, modelDir, options));
}

function readMilTextUnguarded(text: string, file: string, modelDir: string | null, options: ReadOptions): ModelReadResult {
  const { functions } = parseMilText(file, text);
  const fn = functions.find((f) => f.name === 'main') ?? functions[0]!;
  const parts = emptyParts();
  addMil(file, fn, parts, true);
  const lines = new Map<string, number>();
  const visit = (ops: MilFunction['block']['ops']) => {
    for (const op of ops) {
      if (op.line) lines.set(op.name, op.line);
      for (const b of op.blocks) visit(b.ops);
    }
  };
  visit(fn.block.ops);
  for (const op of parts.ops) {
    const line = lines.get(op.name);
    if (line) op.source = { file, line };
  }
  return specToGraphFromParts(file, parts, modelDir, options);
}

function specToGraphFromParts(file: string, parts: Parts, modelDir: string | null, options: ReadOptions): ModelReadResult {
  const weights = { files: [] as string[], blobs: 0, values: new Uint8Array(0) as Uint8Array };
  if (parts.blobs.length > 0 && modelDir !== null) {
    const check = checkBlobs(file, modelDir, parts.blobs);
    weights.files = check.files;
    weights.blobs = check.blobs;
    parts.warnings.push(...check.warnings);
    if (options.loadWeights) weights.values = loadBlobs(file, modelDir, parts.blobs, parts.constants);
  }
  return {
    graph: {
      schemaVersion: GRAPH_IR_VERSION, name: /\.mlmodelc$/i.test(dirname(file)) ? basename(dirname(file)).replace(/\.mlmodelc$/i, '') : basename(file).replace(/\.mil$/i, ''), format: 'mil', file,
      inputs: parts.inputs, outputs: parts.outputs, constants: parts.constants, ops: parts.ops, warnings: parts.warnings,
    },
    weights: weights.values,
    details: {
      modelType: 'mil', functionName: parts.functionName, opset: parts.opset, histogram: parts.histogram,
      sourceOps: parts.sourceOps, views: parts.views, blockOutputs: parts.blockOutputs, updatable: false,
      weightFiles: weights.files, checkedBlobs: weights.blobs,
    },
  };
}
