// Segments (maximal runs of ops on one device, in graph order), transfer points (values that cross
// devices) and ANE residency by op count, for a placed graph. Pure; shared by `ane-lens inspect`, the
// model editor and the MIL view.
import type { Device, GraphIR } from '../../../common/graphIR';

export interface Segment { device: Device; firstOp: number; lastOp: number; ops: number }
export interface Transfer { value: string; from: string; to: string; fromDevice: Device; toDevice: Device }

export interface PlacementSummary {
  ops: number;
  aneOps: number;
  /** aneOps / ops (1 for an empty graph: nothing leaves the ANE). */
  aneResidency: number;
  segments: Segment[];
  transfers: Transfer[];
  /** Ops per device. */
  byDevice: Record<Device, number>;
}

export function summarizePlacement(graph: GraphIR): PlacementSummary {
  const segments: Segment[] = [];
  const byDevice: Record<Device, number> = { ane: 0, gpu: 0, cpu: 0 };
  const producer = new Map<string, { op: string; device: Device }>();
  const transfers: Transfer[] = [];
  graph.ops.forEach((op, k) => {
    const device = op.placement?.device ?? 'ane';
    byDevice[device]++;
    const last = segments[segments.length - 1];
    if (last && last.device === device) { last.lastOp = k; last.ops++; } else segments.push({ device, firstOp: k, lastOp: k, ops: 1 });
    const seen = new Set<string>();
    for (const inp of op.inputs) {
      const p = producer.get(inp);
      if (!p || p.device === device || seen.has(inp)) continue;
      seen.add(inp);
      transfers.push({ value: inp, from: p.op, to: op.name, fromDevice: p.device, toDevice: device });
    }
    for (const o of op.outputs) producer.set(o.name, { op: op.name, device });
  });
  const ops = graph.ops.length;
  return { ops, aneOps: byDevice.ane, aneResidency: ops === 0 ? 1 : byDevice.ane / ops, segments, transfers, byDevice };
}
