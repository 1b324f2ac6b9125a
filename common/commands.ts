// Contract between the language server (which produces code lenses) and the client (which runs them).
// Kept in common/ so both sides compile against one definition.

/** Command id of the "▶ Run on ANE" code lens; also accepts a vscode.Uri of an .onnx file. */
export const RUN_ON_ANE_COMMAND = 'aneLens.runOnAne';

/** The single argument the server puts on a "▶ Run on ANE" code lens. */
export type RunLensArgs = {
  /** Document URI as the client sent it. */
  uri: string;
  /** 1-based line of the class definition or the ct.convert call. */
  line: number;
  kind: 'module' | 'convert';
  /** nn.Module subclass to run; for 'convert', set when the converted object could be traced back. */
  className?: string;
  /** Input shapes from `# ane: inputs=(...)` or from `inputs=[ct.TensorType(shape=(...))]`. */
  inputShapes?: number[][];
  /** 1-based line of the `# ane:` pragma when there is one (so the client can edit it). */
  pragmaLine?: number;
  /** Why className or inputShapes could not be resolved; the client shows it. */
  reason?: string;
};
