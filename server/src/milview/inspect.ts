// `ane-lens inspect`: the placed model as JSON (schema in docs/inspect.md) or as the MIL view text with a
// summary. Pure functions of a ModelView.
import type { TensorType } from '../../../common/graphIR';
import type { ModelView } from './modelView';

export const INSPECT_SCHEMA_VERSION = 1;

interface ValueJson { name: string; dtype: string; shape: Array<number | string> | null }

function value(name: string, type: TensorType | undefined): ValueJson {
  return { name, dtype: type?.dtype ?? 'unknown', shape: type?.shape ?? null };
}

export function inspectJson(view: ModelView) {
  const g = view.graph;
  const types = new Map<string, TensorType>();
  for (const i of g.inputs) types.set(i.name, i.type);
  for (const c of g.constants) types.set(c.name, c.type);
  for (const op of g.ops) for (const o of op.outputs) types.set(o.name, o.type);
  const s = view.summary;
  return {
    schemaVersion: INSPECT_SCHEMA_VERSION,
    file: view.file,
    format: g.format,
    modelType: view.details.modelType,
    chip: view.chip,
    inputs: g.inputs.map((i) => value(i.name, i.type)),
    outputs: g.outputs.map((o) => value(o, types.get(o))),
    ops: g.ops.map((op) => ({
      name: op.name,
      type: op.op,
      originalType: op.originalOp,
      device: op.placement?.device ?? 'ane',
      ...(op.placement?.reason ? { reason: op.placement.reason } : {}),
      ...(op.placement?.rule ? { rule: op.placement.rule } : {}),
      inputs: op.inputs,
      outputs: op.outputs.map((o) => value(o.name, o.type)),
      line: view.mil.opLines[g.ops.indexOf(op)],
    })),
    summary: {
      ops: s.ops,
      aneOps: s.aneOps,
      aneResidency: Math.round(s.aneResidency * 10000) / 10000,
      segments: s.segments.length,
      byDevice: s.byDevice,
      segmentList: s.segments,
      transfers: s.transfers,
      sourceOps: view.details.sourceOps,
      histogram: view.details.histogram,
    },
    warnings: g.warnings,
  };
}

export function inspectText(view: ModelView): string {
  const s = view.summary;
  const hist = Object.entries(view.details.histogram).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ');
  const lines = [view.mil.text.trimEnd(), '', `ops by type: ${hist}`];
  const fallbacks = view.graph.ops.filter((o) => o.placement && o.placement.device !== 'ane');
  if (fallbacks.length > 0) {
    const byReason = new Map<string, number>();
    for (const o of fallbacks) {
      const key = `${o.placement!.device.toUpperCase()} ${o.placement!.rule ?? ''} ${o.op}: ${o.placement!.reason ?? ''}`.replace(/ +/g, ' ');
      byReason.set(key, (byReason.get(key) ?? 0) + 1);
    }
    lines.push('off the ANE:');
    for (const [k, n] of byReason) lines.push(`  ${n}× ${k}`);
  }
  lines.push(`ANE residency ${s.aneOps}/${s.ops} ops (${(s.aneResidency * 100).toFixed(1)}%), ${s.segments.length} segment(s), ${s.transfers.length} transfer point(s) on ${view.chip}`);
  return lines.join('\n');
}
