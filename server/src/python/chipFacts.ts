// Per-chip facts the source rules need beyond the roofline parameters in common/chips.ts.
// Sources (see ../shared/docs/ane-knowledge.md): spatial limit 16384 on M1–M3, 65536 from M4
// (ane-guide ch.17 / Appendix A, ANEMLL llama_model.py); fp16 conv kernel width cap 13 on M1-class,
// 16 from M2 (ane-guide Appendix A; its ch.12 says 15 from M4 — we use the measured Appendix A value);
// sin/cos native only from M3 (ane-guide Appendix A); resize/reflect-pad texture engine from M2
// (ane-guide Appendix A); the W8A8 int8-int8 fast path on A17 Pro / M4 and newer (coremltools
// opt-quantization-perf).
import { CHIPS, DEFAULT_CHIP } from '../../../common/chips';

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

// Generation index: M1 = 1, M2 = 2, ...; chip ids in common/chips.ts are `M<n>` (possibly with suffixes).
function generation(id: string): number {
  const m = /^M(\d+)/i.exec(id.trim());
  return m ? Number(m[1]) : 4;
}

export function chipFacts(chip: string | undefined): ChipFacts {
  const known = CHIPS.find((c) => c.id.toLowerCase() === (chip ?? DEFAULT_CHIP).trim().toLowerCase());
  const id = known?.id ?? DEFAULT_CHIP;
  const gen = generation(id);
  return {
    id,
    spatialLimit: known?.ane.spatialLimit ?? (gen >= 4 ? 65536 : 16384),
    channelLimit: 65536,
    kernelWidthCap: gen >= 2 ? 16 : 13,
    sinCosNative: gen >= 3,
    textureEngine: gen >= 2,
    w8a8Fast: gen >= 4,
  };
}
