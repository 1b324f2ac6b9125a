// Graph IR: the one representation every reader (ONNX, PyTorch trace, later Core ML) produces and every
// consumer (placement, the native executor, the MIL view) reads. Versioned and validated at process
// boundaries; documented in docs/graph-ir.md.
import { z } from 'zod';

export const GRAPH_IR_VERSION = 1 as const;

/** MIL dtype names, since MIL is what Core ML compiles. */
export const DTypeSchema = z.enum(['fp32', 'fp16', 'fp64', 'int64', 'int32', 'int16', 'int8', 'uint8', 'bool', 'string', 'unknown']);
export type DType = z.infer<typeof DTypeSchema>;

/** A dimension is a non-negative integer, or a symbol (e.g. "batch") when it is not static. */
export const DimSchema = z.union([z.number().int().nonnegative(), z.string()]);
export type Dim = z.infer<typeof DimSchema>;

export const TensorTypeSchema = z.object({
  dtype: DTypeSchema,
  /** Absent when even the rank is unknown. */
  shape: z.array(DimSchema).max(64).optional(),
});
export type TensorType = z.infer<typeof TensorTypeSchema>;

/** 1-based line and column, like the CLI's JSON. */
export const SourceLocationSchema = z.object({
  file: z.string(),
  line: z.number().int().positive(),
  column: z.number().int().positive().optional(),
});
export type SourceLocation = z.infer<typeof SourceLocationSchema>;

export const ValueDeclSchema = z.object({ name: z.string(), type: TensorTypeSchema });
export type ValueDecl = z.infer<typeof ValueDeclSchema>;

export const ConstantDeclSchema = z.object({
  name: z.string(),
  type: TensorTypeSchema,
  /** Little-endian bytes in `type.dtype` inside the weights blob that travels beside the graph. */
  data: z.object({ offset: z.number().int().nonnegative(), byteLength: z.number().int().nonnegative() }).optional(),
  /** Small constants (shapes, axes, scalars) inline, so analysis never needs the blob. */
  value: z.array(z.number()).optional(),
  /** Why the bytes are not available (external data, missing weights file...). */
  unavailable: z.string().optional(),
});
export type ConstantDecl = z.infer<typeof ConstantDeclSchema>;

export const AttrValueSchema = z.union([z.number(), z.string(), z.boolean(), z.array(z.number()), z.array(z.string())]);
export type AttrValue = z.infer<typeof AttrValueSchema>;

export const DeviceSchema = z.enum(['ane', 'gpu', 'cpu']);
export type Device = z.infer<typeof DeviceSchema>;

export const PlacementSchema = z.object({
  device: DeviceSchema,
  /** Why the op is not on the ANE; absent for ANE ops. */
  reason: z.string().optional(),
  /** The rule id behind the reason (e.g. ANE026), when one applies. */
  rule: z.string().optional(),
});
export type Placement = z.infer<typeof PlacementSchema>;

export const OpNodeSchema = z.object({
  name: z.string(),
  /** Normalized op type: MIL op names (conv, linear, matmul, add, relu, batch_norm, reduce_mean, reshape, ...). */
  op: z.string(),
  /** The op type in the source format (ONNX "Conv", "nn.Conv2d", "torch.relu", ...). */
  originalOp: z.string(),
  /** Value names consumed, in the op's argument order; "" for an omitted optional input. */
  inputs: z.array(z.string()),
  outputs: z.array(ValueDeclSchema),
  attrs: z.record(z.string(), AttrValueSchema),
  source: SourceLocationSchema.optional(),
  placement: PlacementSchema.optional(),
});
export type OpNode = z.infer<typeof OpNodeSchema>;

export const ModelFormatSchema = z.enum(['onnx', 'pytorch', 'mlmodel', 'mlpackage', 'mil']);
export type ModelFormat = z.infer<typeof ModelFormatSchema>;

export const GraphIRSchema = z.object({
  schemaVersion: z.literal(GRAPH_IR_VERSION),
  name: z.string(),
  format: ModelFormatSchema,
  /** The model or source file the graph came from. */
  file: z.string().optional(),
  inputs: z.array(ValueDeclSchema),
  /** Names of graph outputs (values produced by ops, or inputs/constants). */
  outputs: z.array(z.string()),
  constants: z.array(ConstantDeclSchema),
  ops: z.array(OpNodeSchema),
  /** Problems found while reading that did not stop it (shown to the user). */
  warnings: z.array(z.string()).default([]),
});
export type GraphIR = z.infer<typeof GraphIRSchema>;

/** A graph with the bytes its constants point into. */
export interface WeightedGraph {
  graph: GraphIR;
  weights: Uint8Array;
}

export class GraphValidationError extends Error {}

/** Validate untrusted IR (from the Python helper, a file, another process). Throws one readable error. */
export function parseGraphIR(data: unknown, origin: string): GraphIR {
  const result = GraphIRSchema.safeParse(data);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue ? issue.path.join('.') || '(root)' : '(root)';
    throw new GraphValidationError(`${origin}: invalid graph IR at ${where}: ${issue?.message ?? 'unknown problem'}`);
  }
  return result.data;
}

/** Element size of a dtype in bytes (0 when it has no fixed size). */
export function dtypeSize(dtype: DType): number {
  switch (dtype) {
    case 'fp64': case 'int64': return 8;
    case 'fp32': case 'int32': return 4;
    case 'fp16': case 'int16': return 2;
    case 'int8': case 'uint8': case 'bool': return 1;
    default: return 0;
  }
}

/** Number of elements when every dimension is static, else undefined. */
export function staticElementCount(type: TensorType): number | undefined {
  if (!type.shape) return undefined;
  let n = 1;
  for (const d of type.shape) {
    if (typeof d !== 'number') return undefined;
    n *= d;
  }
  return n;
}

/** "(1, 3, 224, 224)" for messages and views; "?" when the rank is unknown. */
export function formatShape(type: TensorType | undefined): string {
  if (!type || !type.shape) return '?';
  return `(${type.shape.join(', ')})`;
}
