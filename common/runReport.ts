// Run report: what a backend says about one run of a graph. Produced by the side-process, read by the
// CLI, the timing panel and the language server. Versioned and validated; documented in docs/run-report.md.
import { z } from 'zod';
import { DeviceSchema, ModelFormatSchema } from './graphIR';

export const RUN_REPORT_VERSION = 1 as const;

export const BackendSchema = z.enum(['sim']);
export type Backend = z.infer<typeof BackendSchema>;

export const NumericsSchema = z.object({
  maxAbsError: z.number(),
  maxRelError: z.number(),
  infCount: z.number().int().nonnegative(),
  nanCount: z.number().int().nonnegative(),
});
export type Numerics = z.infer<typeof NumericsSchema>;

export const LayerReportSchema = z.object({
  name: z.string(),
  /** Normalized (MIL) op type. */
  op: z.string(),
  originalOp: z.string().optional(),
  device: DeviceSchema,
  /** Why the layer is not on the ANE (absent for ANE layers). */
  reason: z.string().optional(),
  rule: z.string().optional(),
  /** For a layer off the ANE: 'unsupported' = the ANE cannot run it (placement rule); 'cost' = it could, but the
   *  Core ML-style segmenter placed it elsewhere because launches and transfers cost more than they save. */
  fallback: z.enum(['unsupported', 'cost']).optional(),
  /** Cost-model breakdown: op class, compute and memory time (estMs = max of them + issue, launch, transfer). */
  opClass: z.string().optional(),
  computeMs: z.number().nonnegative().optional(),
  memoryMs: z.number().nonnegative().optional(),
  /** Dispatch floor of the segment this layer starts, and transfers into it, both included in estMs. */
  launchMs: z.number().nonnegative().optional(),
  transferMs: z.number().nonnegative().optional(),
  /** Estimated time in milliseconds on the chosen chip. */
  estMs: z.number().nonnegative(),
  flops: z.number().nonnegative(),
  /** Bytes moved (inputs, weights, outputs), with the last axis padded to 64 bytes on the ANE. */
  bytes: z.number().nonnegative(),
  outputShape: z.array(z.union([z.number(), z.string()])).optional(),
  /** fp16 run against the fp32 reference; absent when the layer was not executed. */
  numerics: NumericsSchema.optional(),
  /** Why numerics are missing (op not supported by the executor, upstream not executed, ...). */
  notExecuted: z.string().optional(),
  source: z.object({ file: z.string(), line: z.number().int().positive() }).optional(),
});
export type LayerReport = z.infer<typeof LayerReportSchema>;

export const RunReportSchema = z.object({
  schemaVersion: z.literal(RUN_REPORT_VERSION),
  backend: BackendSchema,
  chip: z.string(),
  model: z.object({ name: z.string(), format: ModelFormatSchema, file: z.string().optional() }),
  totalMs: z.number().nonnegative(),
  /** Share of compute layers placed on the ANE, 0..1. */
  aneResidency: z.number().min(0).max(1),
  /** Share of the estimated time spent on the ANE, 0..1. */
  aneTimeShare: z.number().min(0).max(1),
  /** Maximal runs of consecutive layers on one device. */
  segments: z.number().int().nonnegative(),
  /** The segments themselves, in execution order (absent in reports of older backends). */
  segmentList: z.array(z.object({
    device: DeviceSchema, firstLayer: z.string(), lastLayer: z.string(), layers: z.number().int().positive(), ms: z.number().nonnegative(),
  })).optional(),
  /** One entry per activation that crosses devices (producer → consumer). */
  transfers: z.array(z.object({
    value: z.string(), fromLayer: z.string(), toLayer: z.string(), from: DeviceSchema, to: DeviceSchema,
    bytes: z.number().nonnegative(), ms: z.number().nonnegative(),
  })).optional(),
  peakActivationBytes: z.number().nonnegative(),
  /** Name of the first layer whose fp16 output holds inf or NaN, or null. */
  firstOverflowLayer: z.string().nullable(),
  layers: z.array(LayerReportSchema),
  outputs: z.array(z.object({
    name: z.string(),
    shape: z.array(z.number()),
    maxAbsError: z.number(),
    maxRelError: z.number(),
  })),
  warnings: z.array(z.string()),
});
export type RunReport = z.infer<typeof RunReportSchema>;

export class ReportValidationError extends Error {}

export function parseRunReport(data: unknown, origin: string): RunReport {
  const result = RunReportSchema.safeParse(data);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue ? issue.path.join('.') || '(root)' : '(root)';
    throw new ReportValidationError(`${origin}: invalid run report at ${where}: ${issue?.message ?? 'unknown problem'}`);
  }
  return result.data;
}

/**
 * What a report without an fp16 overflow can claim: "none" only when every layer ran; layers not executed
 * (weights not read, no kernel) were not checked.
 */
export function noOverflowText(report: Pick<RunReport, 'layers'>): string {
  const executed = report.layers.filter((l) => l.notExecuted === undefined).length;
  if (executed === report.layers.length) return 'none';
  return executed === 0 ? 'not checked (no layer was executed)' : `none in the ${executed} of ${report.layers.length} layers executed`;
}
