// Custom LSP requests between the extension and the language server. Model files are read, placed and
// rendered in the server process (a huge or hostile file must not block or endanger the extension host);
// the client gets plain JSON data: the MIL text, the findings, and what the summary page and hovers show.
import { RequestType } from 'vscode-jsonrpc';
import type { Finding } from './findings';
import type { Placement } from './graphIR';
import type { PlacementSummary } from '../server/src/placement/segments';

/** A value with its type as the MIL view prints it (e.g. `fp32 (1, 3, 224, 224)`). */
export interface TypedName { name: string; type: string }

/** One op, as much as a hover and the summary page need (not the whole graph IR: no constants, no views). */
export interface ModelViewOp {
  name: string;
  op: string;
  originalOp: string;
  placement?: Placement;
  /** `dtype (shape)` per output. */
  outputs: TypedName[];
  /** Non-empty inputs with their types (`?` when unknown). */
  inputs: TypedName[];
  /** Attributes shown in the hover (nested blocks left out). */
  attrs: Record<string, unknown>;
  /** 1-based line in the file itself, for compiled model.mil text (whose own lines carry hovers too). */
  sourceLine?: number;
}

export interface ModelViewResult {
  file: string;
  chip: string;
  name: string;
  /** Top-level model type (mlProgram, neuralNetwork, ..., onnx, mil). */
  modelType: string;
  specificationVersion?: number;
  opset?: string;
  histogram: Record<string, number>;
  sourceOps: number;
  inputs: TypedName[];
  /** Graph outputs with their types (`?` when unknown). */
  outputs: TypedName[];
  warnings: string[];
  summary: PlacementSummary;
  mil: { text: string; opLines: number[]; opColumns: Array<{ start: number; end: number }> };
  /** Findings on the MIL view's lines, and for the file itself (see server/src/milview/modelView.ts). */
  viewFindings: Finding[];
  fileFindings: Finding[];
  /** In graph order, parallel to mil.opLines. */
  ops: ModelViewOp[];
}

export interface ModelViewParams {
  /** A file: URI of the model (.onnx, .mlmodel, .mlpackage or its Manifest.json, model.mil, .mlmodelc). */
  uri: string;
  /** Chip id or alias (common/chips.ts findChip). */
  chip: string;
}

/** A bad file or chip answers `{ error }` (one line naming the file and the problem), never a request failure. */
export type ModelViewResponse = ModelViewResult | { error: string };

export const MODEL_VIEW_METHOD = 'aneLens/modelView';
export const modelViewRequest = new RequestType<ModelViewParams, ModelViewResponse, void>(MODEL_VIEW_METHOD);
