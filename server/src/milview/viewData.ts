// A ModelView reduced to the plain JSON data the extension needs (common/lspExtensions.ts): types
// pre-formatted as strings, per-op hover data, no constants, weights, views or Maps.
import type { ModelViewOp, ModelViewResult } from '../../../common/lspExtensions';
import { formatShape } from '../../../common/graphIR';
import type { ModelView } from './modelView';
import { formatType } from './renderMil';

export function toModelViewData(view: ModelView): ModelViewResult {
  const g = view.graph;
  const types = new Map<string, string>();
  for (const i of g.inputs) types.set(i.name, formatType(i.type));
  for (const c of g.constants) types.set(c.name, `${formatType(c.type)} const`);
  for (const o of g.ops) for (const x of o.outputs) types.set(x.name, formatType(x.type));
  const textSource = g.format === 'mil';
  const ops: ModelViewOp[] = g.ops.map((op) => ({
    name: op.name,
    op: op.op,
    originalOp: op.originalOp,
    ...(op.placement ? { placement: op.placement } : {}),
    outputs: op.outputs.map((o) => ({ name: o.name, type: `${o.type.dtype} ${formatShape(o.type)}` })),
    inputs: op.inputs.filter((i) => i).map((i) => ({ name: i, type: types.get(i) ?? '?' })),
    attrs: Object.fromEntries(Object.entries(op.attrs).filter(([k]) => k !== 'blocks' && k !== 'parent_op')),
    ...(textSource && op.source ? { sourceLine: op.source.line } : {}),
  }));
  return {
    file: view.file,
    chip: view.chip,
    name: g.name,
    modelType: view.details.modelType,
    ...(view.details.specificationVersion !== undefined ? { specificationVersion: view.details.specificationVersion } : {}),
    ...(view.details.opset !== undefined ? { opset: view.details.opset } : {}),
    histogram: view.details.histogram,
    sourceOps: view.details.sourceOps,
    inputs: g.inputs.map((i) => ({ name: i.name, type: formatType(i.type) })),
    outputs: g.outputs.map((name) => ({ name, type: formatType(g.ops.flatMap((x) => x.outputs).find((x) => x.name === name)?.type ?? g.inputs.find((x) => x.name === name)?.type) })),
    warnings: g.warnings,
    summary: view.summary,
    mil: view.mil,
    viewFindings: view.viewFindings,
    fileFindings: view.fileFindings,
    ops,
  };
}
