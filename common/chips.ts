// Chip parameters for the simulator's roofline. Data, with sources, mirrored in docs/chips.md.
// Numbers are taken as published in ../shared/docs/ane-knowledge.md §3 and §5; where a figure is an
// assumption rather than a measurement, `assumed` says so, and the report passes that on.

export interface RooflineParams {
  /** Sustained fp16 (ANE, GPU) or fp32 (CPU) throughput in TFLOP/s. */
  tflops: number;
  /** Bandwidth the unit achieves from DRAM, GB/s. */
  bandwidthGBs: number;
  /** Fixed cost per dispatched op or program, ms. */
  dispatchMs: number;
}

export interface ChipParams {
  id: string;
  /** Apple's family name shown to users. */
  displayName: string;
  ane: RooflineParams & {
    /** On-chip working set before operands spill to DRAM, bytes. */
    workingSetBytes: number;
    /** Largest spatial extent (H or W) the compiler accepts. */
    spatialLimit: number;
  };
  gpu: RooflineParams;
  cpu: RooflineParams;
  /** Where each ANE figure comes from; "assumed" entries are flagged in reports. */
  sources: string[];
  assumed: string[];
}

// CPU and GPU fallbacks use coarse, assumed rooflines: the sources measure the ANE, not these units.
const CPU_FALLBACK: RooflineParams = { tflops: 0.2, bandwidthGBs: 60, dispatchMs: 0.005 };
const GPU_FALLBACK: RooflineParams = { tflops: 2.6, bandwidthGBs: 100, dispatchMs: 0.05 };

export const CHIPS: readonly ChipParams[] = [
  {
    id: 'M1', displayName: 'Apple M1',
    ane: { tflops: 3.25, bandwidthGBs: 60.87, dispatchMs: 0.23, workingSetBytes: 2 * 1024 * 1024, spatialLimit: 16384 },
    gpu: GPU_FALLBACK, cpu: CPU_FALLBACK,
    sources: ['fp16 3.25 TFLOP/s and 0.23 ms dispatch floor: ane-guide ch.18 cost-model fit', 'bandwidth 60.87 GB/s: anemll-bench llama_lm_head', 'working set 2 MB: ane-guide ch.9'],
    assumed: ['cpu roofline', 'gpu roofline'],
  },
  {
    id: 'M4', displayName: 'Apple M4',
    ane: { tflops: 18.6, bandwidthGBs: 64.18, dispatchMs: 0.095, workingSetBytes: 32 * 1024 * 1024, spatialLimit: 65536 },
    gpu: GPU_FALLBACK, cpu: CPU_FALLBACK,
    sources: ['fp16 18.6 TFLOP/s: maderix README (128 stacked 1x1 convs, 512 ch)', 'bandwidth 64.18 GB/s: anemll-bench llama_lm_head', 'dispatch 0.095 ms and ~32 MB working set: maderix blog'],
    assumed: ['cpu roofline', 'gpu roofline'],
  },
  {
    id: 'M5', displayName: 'Apple M5',
    ane: { tflops: 12.3, bandwidthGBs: 70.21, dispatchMs: 0.11, workingSetBytes: 4.72 * 1024 * 1024, spatialLimit: 65536 },
    gpu: GPU_FALLBACK, cpu: CPU_FALLBACK,
    sources: ['fp16 12.17-12.44 TFLOP/s: maderix', 'bandwidth 70.21 GB/s: anemll-bench', 'dispatch 0.11 ms, working set 4.72 MB: ane-guide'],
    assumed: ['cpu roofline', 'gpu roofline'],
  },
];

export const DEFAULT_CHIP = 'M4';

export class UnknownChipError extends Error {}

/** Case-insensitive lookup; an unknown name is an error that lists the known ones. */
export function findChip(name: string): ChipParams {
  const wanted = name.trim().toLowerCase();
  const chip = CHIPS.find((c) => c.id.toLowerCase() === wanted);
  if (!chip) throw new UnknownChipError(`unknown chip "${name}"; known chips: ${CHIPS.map((c) => c.id).join(', ')}`);
  return chip;
}
