// Graphs for the cost-model tests, built as Graph IR and run through the real addon, placement and report.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { findChip } from '../../common/chips';
import type { AttrValue, Device, GraphIR, OpNode } from '../../common/graphIR';
import type { RunReport } from '../../common/runReport';
import { NativeAddon } from '../../native/host/addon';
import { buildRunReport, devicesOf } from '../../native/host/report';
import { placeGraph } from '../../server/src/placement/placeGraph';
import { ROOT } from '../helpers';

export const ADDON = process.env.ANE_LENS_ADDON || join(ROOT, 'native', 'build', 'Release', 'ane_native.node');
export const NO_ADDON = existsSync(ADDON) ? false : `skipped: ${ADDON} is missing; run npm run build:native`;

let addon: NativeAddon | undefined;
export function getAddon(): NativeAddon {
  addon ??= NativeAddon.load(ADDON);
  return addon;
}

type Dtype = 'fp16' | 'fp32';

/** A graph whose constants all point into one zero-filled blob (the cost model only needs their shapes). */
export class SimGraph {
  readonly ops: OpNode[] = [];
  readonly constants: GraphIR['constants'] = [];
  readonly inputs: GraphIR['inputs'] = [];
  private blob = 0;
  private n = 0;
  constructor(readonly dtype: Dtype = 'fp16', readonly format: GraphIR['format'] = 'mil') {}

  input(name: string, shape: number[]): string {
    this.inputs.push({ name, type: { dtype: this.dtype, shape } });
    return name;
  }

  constant(shape: number[]): string {
    const name = `c${this.constants.length}`;
    const byteLength = shape.reduce((a, b) => a * b, 1) * 4;
    this.constants.push({ name, type: { dtype: 'fp32', shape }, data: { offset: 0, byteLength } });
    this.blob = Math.max(this.blob, byteLength);
    return name;
  }

  op(op: string, inputs: string[], shape: number[], attrs: Record<string, AttrValue> = {}, name?: string): string {
    const id = name ?? `${op}_${this.n++}`;
    this.ops.push({ name: id, op, originalOp: op, inputs, attrs, outputs: [{ name: `${id}_out`, type: { dtype: this.dtype, shape } }] });
    return `${id}_out`;
  }

  conv(x: string, cin: number, cout: number, h: number, w: number, k: number, name?: string): string {
    const p = (k - 1) / 2;
    return this.op('conv', [x, this.constant([cout, cin, k, k])], [1, cout, h, w], { strides: [1, 1], pad: [p, p, p, p], dilations: [1, 1], groups: 1 }, name);
  }

  linear(x: string, shape: number[], cin: number, cout: number): string {
    return this.op('linear', [x, this.constant([cout, cin]), this.constant([cout])], [...shape.slice(0, -1), cout]);
  }

  build(outputs: string[]): { graph: GraphIR; weights: Uint8Array } {
    return {
      graph: { schemaVersion: 1, name: 'sim', format: this.format, inputs: this.inputs, outputs, constants: this.constants, ops: this.ops, warnings: [] },
      weights: new Uint8Array(this.blob),
    };
  }
}

export interface SimRun { report: RunReport; placed: GraphIR }

/** Placement → addon (cost model only, unless execute) → run report, exactly as the side-process does. */
export function simulate(built: { graph: GraphIR; weights: Uint8Array }, chipId: string, options: { execute?: boolean; segmentation?: 'coreml' | 'fixed'; devices?: Device[] } = {}): SimRun {
  const chip = findChip(chipId);
  const placed = placeGraph(built.graph, chip);
  const devices = options.devices ?? devicesOf(placed);
  const { result } = getAddon().run(placed, built.weights, {
    chip, devices, seed: 1, execute: options.execute ?? false, segmentation: options.segmentation ?? 'coreml',
  }, {});
  return { report: buildRunReport(placed, chip, result), placed };
}

/** n stacked k×k convs, c→c channels, h×w, stride 1, same padding (§4 rows 18-22 shapes). */
export function convStack(n: number, c: number, h: number, w: number, k: number): { graph: GraphIR; weights: Uint8Array } {
  const g = new SimGraph();
  let x = g.input('x', [1, c, h, w]);
  const weight = g.constant([c, c, k, k]);
  const p = (k - 1) / 2;
  for (let i = 0; i < n; i++) x = g.op('conv', [x, weight], [1, c, h, w], { strides: [1, 1], pad: [p, p, p, p], dilations: [1, 1], groups: 1 }, `conv${i}`);
  return g.build([x]);
}
