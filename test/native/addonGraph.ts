// Builds small Graph IRs by hand for the addon tests and runs them through ane_native.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { ChipParams } from '../../common/chips';
import { findChip } from '../../common/chips';
import type { AttrValue, GraphIR, OpNode } from '../../common/graphIR';
import { ROOT } from '../helpers';

export interface AddonLayer {
  name: string;
  flops: number;
  bytes: number;
  estMs: number;
  outputShape: number[];
  device: 'ane' | 'gpu' | 'cpu';
  fallback?: 'unsupported' | 'cost';
  opClass: string;
  computeMs: number;
  memoryMs: number;
  dramBytes: number;
  /** Absent when 0 / false. */
  launchMs?: number;
  transferMs?: number;
  spilled?: true;
  segmentStart?: true;
  executed: boolean;
  notExecuted?: string;
  numerics?: { maxAbsError: number; maxRelError: number; infCount: number; nanCount: number };
}

export interface AddonRunResult {
  order: number[];
  layers: AddonLayer[];
  totalMs: number;
  segments: Array<{ device: string; firstLayer: string; lastLayer: string; layers: number; ms: number }>;
  transfers: Array<{ value: string; fromLayer: string; toLayer: string; from: string; to: string; bytes: number; ms: number }>;
  peakActivationBytes: number;
  unplannedActivationBytes: number;
  firstOverflowLayer: string | null;
  outputs: Array<{ name: string; shape: number[]; maxAbsError: number; maxRelError: number }>;
  /** The reason of every layer when none was executed for one shared reason (then absent on the layers). */
  notExecuted?: string;
}

export interface AneNative {
  version(): string;
  releaseMemory(): void;
  run(graphJson: string, weights: Uint8Array, optionsJson: string, inputs: Record<string, Float32Array>): {
    result: string;
    outputs: Record<string, { fp16: Float32Array; fp32: Float32Array }>;
  };
}

/** ANE_LENS_ADDON points the tests at another build (e.g. one made outside native/build while iterating). */
export const ADDON_PATH = process.env.ANE_LENS_ADDON || join(ROOT, 'native', 'build', 'Release', 'ane_native.node');

export function loadAddon(): AneNative {
  return createRequire(__filename)(ADDON_PATH) as AneNative;
}

export interface OpSpec {
  name: string;
  op: string;
  inputs: string[];
  /** Output names with declared shapes (undefined: let the executor infer it). */
  outputs: Array<[string, number[] | undefined]>;
  attrs?: Record<string, AttrValue>;
}

/** A graph under construction: fp32 constants are packed into one weights blob. */
export class GraphBuilder {
  private readonly inputs: GraphIR['inputs'] = [];
  private readonly constants: GraphIR['constants'] = [];
  private readonly ops: OpNode[] = [];
  private readonly chunks: Uint8Array[] = [];
  private blobLength = 0;

  input(name: string, shape: Array<number | string>): this {
    this.inputs.push({ name, type: { dtype: 'fp32', shape } });
    return this;
  }

  constant(name: string, shape: number[], values: ArrayLike<number>): this {
    const data = new Float32Array(values);
    this.chunks.push(new Uint8Array(data.buffer));
    this.constants.push({ name, type: { dtype: 'fp32', shape }, data: { offset: this.blobLength, byteLength: data.byteLength } });
    this.blobLength += data.byteLength;
    return this;
  }

  op(spec: OpSpec): this {
    this.ops.push({
      name: spec.name, op: spec.op, originalOp: spec.op, inputs: spec.inputs, attrs: spec.attrs ?? {},
      outputs: spec.outputs.map(([name, shape]) => ({ name, type: shape ? { dtype: 'fp32', shape } : { dtype: 'fp32' } })),
    });
    return this;
  }

  build(outputs: string[]): { graph: GraphIR; weights: Uint8Array } {
    const weights = new Uint8Array(this.blobLength);
    let at = 0;
    for (const c of this.chunks) { weights.set(c, at); at += c.length; }
    const graph: GraphIR = {
      schemaVersion: 1, name: 'test', format: 'onnx', inputs: this.inputs, outputs, constants: this.constants, ops: this.ops, warnings: [],
    };
    return { graph, weights };
  }
}

export function chipM4(): ChipParams {
  return findChip('M4');
}

export function runGraph(
  addon: AneNative,
  built: { graph: GraphIR; weights: Uint8Array },
  inputs: Record<string, Float32Array> = {},
  options: { devices?: Array<'ane' | 'gpu' | 'cpu'>; execute?: boolean; seed?: number; segmentation?: 'coreml' | 'fixed'; threads?: number } = {},
) {
  // The kernel tests take their devices as given; the segmenter has its own tests (test/sim).
  const opts = {
    chip: chipM4(), devices: options.devices ?? built.graph.ops.map(() => 'ane'), seed: options.seed ?? 7, execute: options.execute ?? true,
    segmentation: options.segmentation ?? 'fixed', threads: options.threads ?? 2,
  };
  const { result, outputs } = addon.run(JSON.stringify(built.graph), built.weights, JSON.stringify(opts), inputs);
  return { result: JSON.parse(result) as AddonRunResult, outputs };
}

/** Deterministic values in [-1, 1) for test tensors. */
export function pseudoRandom(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}
