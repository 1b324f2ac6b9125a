// NeuralNetwork weights for a run: WeightParams (coreml-format.md §1.4) decoded into the bytes the executor
// reads, packed into one buffer that the constants point into. Analysis never gets here (its schema skips
// WeightParams altogether).
import type { DType } from '../../../common/graphIR';

/** WeightParams as the weighted schema decodes it (coremlSchema.ts, WEIGHT_FIELDS). */
export interface PbWeightParams {
  floatValue?: number[];
  float16Value?: Uint8Array;
  rawValue?: Uint8Array;
  int8RawValue?: Uint8Array;
  quantization?: {
    numberOfBits?: number | { toNumber(): number };
    linearQuantization?: { scale?: number[]; bias?: number[] };
    lookupTableQuantization?: { floatValue?: number[] };
  };
}

/** The values of one weight for `count` elements, or why they cannot be used. */
export type DecodedWeight = { dtype: DType; bytes: Uint8Array } | { problem: string };

const bytesOf = (a: Float32Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/**
 * fp32 (floatValue, or rawValue of exactly 4 bytes each), fp16 (float16Value), and 8-bit quantized weights
 * (linear: scale·q + bias per output channel; a 256-entry lookup table) dequantized to fp32.
 */
export function decodeWeight(w: PbWeightParams | undefined, count: number): DecodedWeight {
  if (!w) return { problem: 'the layer has no weight values' };
  const floats = w.floatValue ?? [];
  if (floats.length > 0) {
    return floats.length === count ? { dtype: 'fp32', bytes: bytesOf(Float32Array.from(floats)) } : mismatch(`${floats.length} floats`, count);
  }
  if (w.float16Value && w.float16Value.length > 0) {
    return w.float16Value.length === 2 * count ? { dtype: 'fp16', bytes: Uint8Array.from(w.float16Value) } : mismatch(`${w.float16Value.length} bytes of fp16`, count);
  }
  const raw = w.rawValue ?? new Uint8Array(0);
  const q = w.quantization;
  if (q) {
    const bits = typeof q.numberOfBits === 'object' ? q.numberOfBits.toNumber() : q.numberOfBits ?? 0;
    if (bits !== 8) return { problem: `${bits}-bit quantized weights are not read yet (8-bit ones are)` };
    if (raw.length !== count) return mismatch(`${raw.length} bytes of 8-bit values`, count);
    const out = new Float32Array(count);
    const lut = q.lookupTableQuantization?.floatValue;
    if (lut) {
      if (lut.length !== 256) return { problem: `an 8-bit lookup table has ${lut.length} entries, not 256` };
      for (let i = 0; i < count; i++) out[i] = lut[raw[i]!]!;
      return { dtype: 'fp32', bytes: bytesOf(out) };
    }
    const scale = q.linearQuantization?.scale ?? [];
    const bias = q.linearQuantization?.bias ?? [];
    // One scale (and bias) for all, or one per output channel (the first axis).
    if (scale.length === 0 || count % scale.length !== 0 || (bias.length > 0 && bias.length !== scale.length)) {
      return { problem: `linear quantization with ${scale.length} scale(s) and ${bias.length} bias(es) does not fit ${count} values` };
    }
    const per = count / scale.length;
    for (let i = 0; i < count; i++) {
      const c = Math.floor(i / per);
      out[i] = scale[c]! * raw[i]! + (bias[c] ?? 0);
    }
    return { dtype: 'fp32', bytes: bytesOf(out) };
  }
  if (raw.length === 4 * count) return { dtype: 'fp32', bytes: Uint8Array.from(raw) };
  if (w.int8RawValue && w.int8RawValue.length > 0) return { problem: 'int8 weights with dynamic quantization are not read yet' };
  return mismatch(raw.length > 0 ? `${raw.length} raw bytes` : 'no values', count);
}

function mismatch(what: string, count: number): DecodedWeight {
  return { problem: `its WeightParams hold ${what}, not ${count} values` };
}

/** Weight bytes of a whole model, each piece at a 64-byte aligned offset (fp32 reads stay aligned). */
export class WeightPacker {
  private readonly pieces: Array<{ at: number; bytes: Uint8Array }> = [];
  private size = 0;

  add(bytes: Uint8Array): { offset: number; byteLength: number } {
    const at = Math.ceil(this.size / 64) * 64;
    this.pieces.push({ at, bytes });
    this.size = at + bytes.length;
    return { offset: at, byteLength: bytes.length };
  }

  bytes(): Uint8Array {
    const out = new Uint8Array(this.size);
    for (const p of this.pieces) out.set(p.bytes, p.at);
    return out;
  }
}
