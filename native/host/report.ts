// Assemble the RunReport from the placed graph and the executor's result. Layers are listed in execution
// order because segments (and the dispatch cost charged per segment) are defined over that order.
import type { ChipParams } from '../../common/chips';
import type { Device, GraphIR } from '../../common/graphIR';
import { parseRunReport, RUN_REPORT_VERSION, type LayerReport, type RunReport } from '../../common/runReport';
import type { AddonRunResult } from './addon';

/** JSON has no Infinity: an overflowed error is reported as the largest double (infCount says why). */
function finite(v: number): number {
  if (Number.isNaN(v)) return Number.MAX_VALUE;
  return Number.isFinite(v) ? v : Number.MAX_VALUE;
}

export function devicesOf(graph: GraphIR): Device[] {
  return graph.ops.map((op) => op.placement?.device ?? 'ane');
}

/** Number of maximal runs of same-device layers in the given order. */
export function countSegments(devices: readonly Device[]): number {
  let segments = 0;
  for (let i = 0; i < devices.length; i++) if (i === 0 || devices[i] !== devices[i - 1]) segments++;
  return segments;
}

export function buildRunReport(graph: GraphIR, chip: ChipParams, result: AddonRunResult): RunReport {
  const layers: LayerReport[] = result.order.map((index) => {
    const op = graph.ops[index];
    const r = result.layers[index];
    // The cost model's segmenter has the last word on the device (it may keep an ANE-capable op on the CPU).
    const device = r.device ?? op.placement?.device ?? 'ane';
    const layer: LayerReport = {
      name: op.name,
      op: op.op,
      originalOp: op.originalOp,
      device,
      estMs: r.estMs,
      flops: r.flops,
      bytes: r.bytes,
      outputShape: r.outputShape,
    };
    if (op.placement?.reason) layer.reason = op.placement.reason;
    if (op.placement?.rule) layer.rule = op.placement.rule;
    if (r.fallback) layer.fallback = r.fallback;
    if (r.fallback === 'cost' && !layer.reason) {
      layer.reason = `the ANE can run this ${op.op}, but the segmenter kept it on the ${device.toUpperCase()}: an ANE segment here costs more in launches and transfers than it saves`;
    }
    if (r.opClass) layer.opClass = r.opClass;
    if (r.computeMs !== undefined) layer.computeMs = r.computeMs;
    if (r.memoryMs !== undefined) layer.memoryMs = r.memoryMs;
    if (r.launchMs) layer.launchMs = r.launchMs;
    if (r.transferMs) layer.transferMs = r.transferMs;
    if (r.executed && r.numerics) {
      layer.numerics = {
        maxAbsError: finite(r.numerics.maxAbsError),
        maxRelError: finite(r.numerics.maxRelError),
        infCount: r.numerics.infCount,
        nanCount: r.numerics.nanCount,
      };
    }
    if (!r.executed) layer.notExecuted = r.notExecuted ?? result.notExecuted ?? 'not executed';
    if (op.source) layer.source = { file: op.source.file, line: op.source.line };
    return layer;
  });

  const aneLayers = layers.filter((l) => l.device === 'ane');
  const layerMs = layers.reduce((s, l) => s + l.estMs, 0);
  const aneMs = aneLayers.reduce((s, l) => s + l.estMs, 0);
  const usedDevices = new Set(layers.map((l) => l.device));
  const warnings = [...graph.warnings];
  for (const device of ['cpu', 'gpu'] as const) {
    if (usedDevices.has(device) && chip.assumed.includes(`${device} roofline`)) {
      warnings.push(`${chip.id}: the ${device.toUpperCase()} roofline is an assumption, not a measurement; ${device.toUpperCase()} layer times are rough`);
    }
  }

  const report: RunReport = {
    schemaVersion: RUN_REPORT_VERSION,
    backend: 'sim',
    chip: chip.id,
    model: { name: graph.name, format: graph.format, ...(graph.file ? { file: graph.file } : {}) },
    totalMs: result.totalMs,
    aneResidency: layers.length ? aneLayers.length / layers.length : 0,
    aneTimeShare: layerMs > 0 ? Math.min(1, aneMs / layerMs) : (layers.length ? aneLayers.length / layers.length : 0),
    segments: result.segments ? result.segments.length : countSegments(layers.map((l) => l.device)),
    ...(result.segments ? { segmentList: result.segments } : {}),
    ...(result.transfers ? { transfers: result.transfers } : {}),
    peakActivationBytes: result.peakActivationBytes,
    firstOverflowLayer: result.firstOverflowLayer,
    layers,
    outputs: result.outputs.map((o) => ({ name: o.name, shape: o.shape, maxAbsError: finite(o.maxAbsError), maxRelError: finite(o.maxRelError) })),
    warnings,
  };
  return parseRunReport(report, 'the side-process run report');
}
