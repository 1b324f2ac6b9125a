// Typed wrapper over the native executor (contract 4). The addon is loaded by explicit path, never through
// a module search, so the bundle always gets the build that ships beside it; its JSON result is validated
// here, because a malformed result would otherwise surface far away as a broken report.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { ChipParams } from '../../common/chips';
import type { Device, GraphIR } from '../../common/graphIR';

export interface AddonRunOptions {
  chip: ChipParams;
  /** One device per op, in graph.ops order. */
  devices: Device[];
  seed: number;
  execute: boolean;
  /** 'coreml' (default): the segmenter may move ANE-placed ops to the CPU for cost; 'fixed': devices are final. */
  segmentation?: 'coreml' | 'fixed';
  /** Executor threads (default 2). */
  threads?: number;
}

const NumericsSchema = z.object({
  maxAbsError: z.number(),
  maxRelError: z.number(),
  infCount: z.number().int().nonnegative(),
  nanCount: z.number().int().nonnegative(),
});

/** Numbers that may legitimately be non-finite (an fp16 overflow) arrive as null in JSON. */
const errorNumber = z.number().nullable().transform((v) => (v === null ? Number.POSITIVE_INFINITY : v));

export const AddonRunResultSchema = z.object({
  order: z.array(z.number().int().nonnegative()),
  layers: z.array(z.object({
    name: z.string(),
    flops: z.number().nonnegative(),
    bytes: z.number().nonnegative(),
    estMs: z.number().nonnegative(),
    outputShape: z.array(z.number()),
    // Cost-model detail (issue 5); optional so results of older addons still parse. launchMs, transferMs and
    // spilled are left out when 0 / false.
    device: z.enum(['ane', 'gpu', 'cpu']).optional(),
    fallback: z.enum(['unsupported', 'cost']).optional(),
    opClass: z.string().optional(),
    computeMs: z.number().nonnegative().optional(),
    memoryMs: z.number().nonnegative().optional(),
    dramBytes: z.number().nonnegative().optional(),
    launchMs: z.number().nonnegative().optional(),
    transferMs: z.number().nonnegative().optional(),
    spilled: z.boolean().optional(),
    executed: z.boolean(),
    notExecuted: z.string().optional(),
    numerics: z.object({
      maxAbsError: errorNumber,
      maxRelError: errorNumber,
      infCount: NumericsSchema.shape.infCount,
      nanCount: NumericsSchema.shape.nanCount,
    }).optional(),
  })),
  totalMs: z.number().nonnegative(),
  segments: z.array(z.object({
    device: z.enum(['ane', 'gpu', 'cpu']), firstLayer: z.string(), lastLayer: z.string(), layers: z.number().int().positive(), ms: z.number().nonnegative(),
  })).optional(),
  transfers: z.array(z.object({
    value: z.string(), fromLayer: z.string(), toLayer: z.string(), from: z.enum(['ane', 'gpu', 'cpu']), to: z.enum(['ane', 'gpu', 'cpu']),
    bytes: z.number().nonnegative(), ms: z.number().nonnegative(),
  })).optional(),
  peakActivationBytes: z.number().nonnegative(),
  firstOverflowLayer: z.string().nullable(),
  outputs: z.array(z.object({ name: z.string(), shape: z.array(z.number()), maxAbsError: errorNumber, maxRelError: errorNumber })),
  /** The reason of every layer when none was executed for one shared reason (execute: false); the layers then omit it. */
  notExecuted: z.string().optional(),
});
export type AddonRunResult = z.infer<typeof AddonRunResultSchema>;

export interface AddonOutputs {
  [name: string]: { fp16: Float32Array; fp32: Float32Array };
}

interface RawAddon {
  version(): string;
  releaseMemory(): void;
  run(graphJson: string, weights: Uint8Array, optionsJson: string, inputs: Record<string, Float32Array>): {
    result: string;
    outputs: AddonOutputs;
  };
}

export class AddonLoadError extends Error {}
/** The addon refused the graph (its message is meant for the user). */
export class AddonRunError extends Error {}

/** The addon beside the bundle: dist/sideprocess.js → native/build/Release/ane_native.node. ANE_LENS_ADDON overrides it. */
export function defaultAddonPath(bundleDir: string = __dirname): string {
  return process.env.ANE_LENS_ADDON || join(bundleDir, '..', 'native', 'build', 'Release', 'ane_native.node');
}

export class NativeAddon {
  private constructor(private readonly raw: RawAddon, readonly path: string) {}

  static load(path: string = defaultAddonPath()): NativeAddon {
    if (!existsSync(path)) throw new AddonLoadError(`the native addon is missing at ${path}; run npm run build:native`);
    const module = { exports: {} as Partial<RawAddon> };
    try {
      process.dlopen(module, path);
    } catch (e) {
      throw new AddonLoadError(`cannot load the native addon ${path}: ${(e as Error).message}`);
    }
    const raw = module.exports;
    if (typeof raw.run !== 'function' || typeof raw.version !== 'function' || typeof raw.releaseMemory !== 'function') {
      throw new AddonLoadError(`${path} does not export run(), version() and releaseMemory()`);
    }
    return new NativeAddon(raw as RawAddon, path);
  }

  version(): string {
    return this.raw.version();
  }

  /** Frees the buffer pool and helper thread kept between runs (otherwise freed after a few idle seconds). */
  releaseMemory(): void {
    this.raw.releaseMemory();
  }

  /** Synchronous and possibly long: callers run it off the JSON-RPC process (see job.ts). */
  run(graph: GraphIR, weights: Uint8Array, options: AddonRunOptions, inputs: Record<string, Float32Array>): {
    result: AddonRunResult;
    outputs: AddonOutputs;
  } {
    if (options.devices.length !== graph.ops.length) {
      throw new AddonRunError(`internal: ${options.devices.length} devices for ${graph.ops.length} ops`);
    }
    let raw: ReturnType<RawAddon['run']>;
    try {
      raw = this.raw.run(JSON.stringify(graph), weights, JSON.stringify(options), inputs);
    } catch (e) {
      throw new AddonRunError(oneLine((e as Error).message ?? String(e)));
    }
    let json: unknown;
    try {
      json = JSON.parse(raw.result);
    } catch (e) {
      throw new AddonRunError(`the native addon returned malformed JSON: ${(e as Error).message}`);
    }
    const parsed = AddonRunResultSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new AddonRunError(`the native addon returned an invalid result at ${issue?.path.join('.') || '(root)'}: ${issue?.message}`);
    }
    const result = parsed.data;
    if (result.layers.length !== graph.ops.length) {
      throw new AddonRunError(`the native addon returned ${result.layers.length} layers for ${graph.ops.length} ops`);
    }
    if (result.order.length !== graph.ops.length || result.order.some((i) => i >= graph.ops.length)) {
      throw new AddonRunError('the native addon returned an execution order that does not cover the graph');
    }
    return { result, outputs: raw.outputs ?? {} };
  }
}

export function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
