// The chip facts the source rules need, read from the shared chip table (common/chips.ts: limits per
// ANE tier and op families by generation, sourced from ane-knowledge.md §2/§3): spatial limit 16384 on
// M1–M3 / A14–A17 and 65536 from M4 / A18; fp16 kernel width 13 on M1/A14 and 16 later (ane-guide
// Appendix A; its ch.12 says 15 from M4); sin/cos native from M3 / A17; the resize/reflect-pad texture
// engine from M2 (software on M1); the W8A8 int8 fast path on A17 Pro / M4 and newer (coremltools
// opt-quantization-perf).
import { DEFAULT_CHIP, findChip, nativeFrom, UnknownChipError, type ChipParams } from '../../../common/chips';

export interface ChipFacts {
  id: string;
  /** Largest H or W (sequence on the width axis) the ANE compiler accepts. */
  spatialLimit: number;
  /** Largest channel count. */
  channelLimit: number;
  /** Largest fp16 convolution/pooling kernel width. */
  kernelWidthCap: number;
  /** sin/cos run natively (else a host/CPU decomposition). */
  sinCosNative: boolean;
  /** resize / reflect padding / grid sampling have the texture engine (else a software fallback). */
  textureEngine: boolean;
  /** int8 activations x int8 weights get a faster compute path. */
  w8a8Fast: boolean;
}

const cache = new Map<string, ChipFacts>();

/** Facts for a chip id; an unknown id (validated elsewhere: config, CLI) falls back to the default chip. */
export function chipFacts(chip: string | undefined): ChipFacts {
  const key = chip ?? DEFAULT_CHIP;
  const hit = cache.get(key);
  if (hit) return hit;
  let params: ChipParams;
  try {
    params = findChip(key);
  } catch (e) {
    if (!(e instanceof UnknownChipError)) throw e;
    params = findChip(DEFAULT_CHIP);
  }
  const facts: ChipFacts = {
    id: params.id,
    spatialLimit: params.ane.spatialLimit,
    channelLimit: params.ane.channelLimit,
    kernelWidthCap: params.ane.maxKernelWidth,
    sinCosNative: nativeFrom(params, 'sin'),
    textureEngine: nativeFrom(params, 'resize_bilinear'),
    w8a8Fast: nativeFrom(params, 'quantize'),
  };
  cache.set(key, facts);
  return facts;
}
