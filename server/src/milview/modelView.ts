// A model file, read, placed for a chip and rendered as the MIL view, with its findings: the one call
// the CLI (`check`, `inspect`), the model editor and the MIL view share.
import type { ChipParams } from '../../../common/chips';
import type { Finding, Severity } from '../../../common/findings';
import type { GraphIR } from '../../../common/graphIR';
import { readModelFile } from '../coreml/readModel';
import type { ModelDetails } from '../coreml/readCoreml';
import { placeGraph, placementSeverity } from '../placement/placeGraph';
import { summarizePlacement, type PlacementSummary } from '../placement/segments';
import { renderMil, type RenderedMil } from './renderMil';

export interface ModelView {
  file: string;
  chip: string;
  graph: GraphIR;
  details: ModelDetails;
  summary: PlacementSummary;
  mil: RenderedMil;
  /** Findings on the MIL view's lines (placement per op, then model-level notes on line 1). */
  viewFindings: Finding[];
  /** The same findings for the file itself: real lines for model.mil text; MIL view lines for binary files (the view is their text form, `ane-lens inspect` prints it). */
  fileFindings: Finding[];
}

/** Placement for a model file: placeGraph applies the model-file rules (modelRules.ts) itself. */
export function placeModel(graph: GraphIR, chip: ChipParams): GraphIR {
  return placeGraph(graph, chip);
}

function percent(x: number): string {
  return `${Math.round(x * 1000) / 10}%`;
}

export function viewTitle(graph: GraphIR, details: ModelDetails, summary: PlacementSummary, chip: string): string {
  const kind = details.modelType === 'onnx' ? 'ONNX' : details.modelType === 'mil' ? 'compiled MIL' : `${details.modelType}${details.specificationVersion ? ` (spec v${details.specificationVersion})` : ''}`;
  return `${graph.name}: ${kind}, ${summary.ops} ops — ${chip}: ${summary.aneOps}/${summary.ops} on the ANE (${percent(summary.aneResidency)}), ${summary.segments.length} segment${summary.segments.length === 1 ? '' : 's'}, ${summary.transfers.length} transfer${summary.transfers.length === 1 ? '' : 's'}`;
}

function noteSeverity(w: string): { rule: string; severity: Severity; message: string } {
  const m = /^(ANE\d{3}): (.*)$/s.exec(w);
  if (m) return { rule: m[1]!, severity: 'info', message: m[2]! };
  // Missing weights are worth a warning (the model cannot run); other reader notes are information.
  return { rule: 'ANE000', severity: /^weights missing/.test(w) ? 'warning' : 'info', message: w };
}

export function loadModelView(path: string, chip: ChipParams): ModelView {
  const { graph: raw, details } = readModelFile(path);
  const placed = placeModel(raw, chip);
  const summary = summarizePlacement(placed);
  const header = { functionName: details.functionName, opset: details.opset, title: viewTitle(placed, details, summary, chip.id) };
  const mil = renderMil(placed, header, { views: details.views, blockOutputs: details.blockOutputs });
  const textSource = placed.format === 'mil';
  const viewFindings: Finding[] = [];
  const fileFindings: Finding[] = [];
  placed.ops.forEach((op, k) => {
    const p = op.placement;
    if (!p || p.device === 'ane') return;
    const message = `${op.name} (${op.originalOp === op.op ? op.op : `${op.originalOp} → ${op.op}`}) runs on the ${p.device.toUpperCase()}: ${p.reason ?? 'no ANE path'}`;
    const base = { file: path, rule: p.rule ?? 'ANE000', severity: placementSeverity(p.rule), message };
    const line = mil.opLines[k]!;
    const cols = mil.opColumns[k]!;
    viewFindings.push({ ...base, line, column: cols.start, endLine: line, endColumn: cols.end });
    if (textSource && op.source) fileFindings.push({ ...base, line: op.source.line, column: 1, endLine: op.source.line, endColumn: 1000 });
    else fileFindings.push({ ...base, line, column: cols.start, endLine: line, endColumn: cols.end });
  });
  for (const w of placed.warnings) {
    const n = noteSeverity(w);
    const f = { file: path, ...n, line: 1, column: 1, endLine: 1, endColumn: 1 };
    viewFindings.push(f);
    fileFindings.push(f);
  }
  return { file: path, chip: chip.id, graph: placed, details, summary, mil, viewFindings, fileFindings };
}
