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

/** How an ANE throughput figure was obtained; only `measured` and `fit` come from timing this chip. */
export type FigureBasis = 'measured' | 'fit' | 'derived' | 'marketing' | 'assumed';

export interface AneParams extends RooflineParams {
  /** On-chip working set before operands spill to DRAM, bytes. */
  workingSetBytes: number;
  /** Largest spatial extent (H or W) the compiler accepts. */
  spatialLimit: number;
  /** Largest channel count of a tensor. */
  channelLimit: number;
  /** Widest fp16 conv kernel (W) and tallest (H) the compiler lowers. */
  maxKernelWidth: number;
  maxKernelHeight: number;
  /** Highest tensor rank. */
  maxRank: number;
  /** Where `tflops` comes from: measured on this chip, a cost-model fit, derived from a sibling chip, or scaled marketing TOPS. */
  tflopsBasis: FigureBasis;
  /** Apple's rated NE TOPS (marketing; INT8-style from A17 Pro/M4 on), when published. */
  marketingTops?: number;
}

export interface ChipParams {
  id: string;
  /** Apple's family name shown to users. */
  displayName: string;
  family: 'M' | 'A';
  /** M generation (1..5) or A generation (14..18); ANE feature tiers key off it (see OP_FAMILIES). */
  generation: number;
  ane: AneParams;
  gpu: RooflineParams;
  cpu: RooflineParams;
  /** Where each ANE figure comes from; "assumed" entries are flagged in reports. */
  sources: string[];
  assumed: string[];
}

// CPU and GPU fallbacks use coarse, assumed rooflines: the sources measure the ANE, not these units.
const CPU_FALLBACK: RooflineParams = { tflops: 0.2, bandwidthGBs: 60, dispatchMs: 0.005 };
const GPU_FALLBACK: RooflineParams = { tflops: 2.6, bandwidthGBs: 100, dispatchMs: 0.05 };
const MB = 1024 * 1024;

// Facts shared by a tier. The M1-tier ANE (H13: M1, A14) compiles kernels up to 13 wide and H/W up to
// 16384; from M2/A15 kernels up to 16 wide; from M4/A18 (H16+) spatial extents up to 65536 (ane-knowledge §2).
interface Tier { spatialLimit: number; maxKernelWidth: number; maxKernelHeight: number }
const H13: Tier = { spatialLimit: 16384, maxKernelWidth: 13, maxKernelHeight: 29 };
const H14: Tier = { spatialLimit: 16384, maxKernelWidth: 16, maxKernelHeight: 32 };
const H16: Tier = { spatialLimit: 65536, maxKernelWidth: 16, maxKernelHeight: 32 };

interface ChipRow {
  id: string; displayName: string; tier: Tier;
  tflops: number; tflopsBasis: FigureBasis; marketingTops?: number;
  bandwidthGBs: number; dispatchMs: number; workingSetMB: number;
  sources: string[]; assumed: string[];
}

function chip(row: ChipRow): ChipParams {
  const m = /^([MA])(\d+)/.exec(row.id)!;
  return {
    id: row.id, displayName: row.displayName, family: m[1] as 'M' | 'A', generation: Number(m[2]),
    ane: {
      tflops: row.tflops, bandwidthGBs: row.bandwidthGBs, dispatchMs: row.dispatchMs,
      workingSetBytes: Math.round(row.workingSetMB * MB), ...row.tier, channelLimit: 65536, maxRank: 5,
      tflopsBasis: row.tflopsBasis, ...(row.marketingTops !== undefined ? { marketingTops: row.marketingTops } : {}),
    },
    gpu: GPU_FALLBACK, cpu: CPU_FALLBACK,
    sources: row.sources,
    assumed: [...row.assumed, 'cpu roofline', 'gpu roofline'],
  };
}

// Throughput bases differ (see docs/chips.md): M1's 3.25 is the ane-guide end-to-end cost-model fit (the only M1
// figure consistent with its measured conv latencies); M3 Pro/M4/M5 figures are maderix private-path peaks.
// Chips without a measurement take a sibling's figure (same ANE per hollance) or the nearest measured chip's
// figure scaled by the ratio of marketing TOPS on the same rating basis; both are flagged.
const M1_FIT = 3.25;
const M2_SCALED = +(M1_FIT * 15.8 / 11).toFixed(2);   // 15.8 vs 11 fp16-class TOPS
const A16_SCALED = +(M1_FIT * 17 / 11).toFixed(2);    // 17 vs 11 fp16-class TOPS
const A17_SCALED = +(18.6 * 35 / 38).toFixed(2);      // 35 vs 38 INT8-style TOPS (M4 measured 18.6)
const M3_PEAK = 16.77;
// ANE-achieved bandwidth of phones is unmeasured: SoC bandwidth × M1's achieved/SoC ratio (60.87 / 68.25).
const PHONE_BW = (soc: number): number => +(soc * 60.87 / 68.25).toFixed(1);

const ROWS: ChipRow[] = [
  { id: 'M1', displayName: 'Apple M1', tier: H13, tflops: M1_FIT, tflopsBasis: 'fit', marketingTops: 11, bandwidthGBs: 60.87, dispatchMs: 0.23, workingSetMB: 2,
    sources: ['fp16 3.25 TFLOP/s and 0.23 ms dispatch floor: ane-guide ch.18 cost-model fit', 'bandwidth 60.87 GB/s: anemll-bench llama_lm_head', 'working set 2 MB: ane-guide ch.9'], assumed: [] },
  { id: 'M1Pro', displayName: 'Apple M1 Pro', tier: H13, tflops: M1_FIT, tflopsBasis: 'derived', marketingTops: 11, bandwidthGBs: 54.90, dispatchMs: 0.23, workingSetMB: 2,
    sources: ['bandwidth 54.90 GB/s: anemll-bench', 'same 16-core ANE as M1 (11 TOPS): hollance'], assumed: ['fp16 throughput (M1 fit)', 'dispatch floor (M1)', 'working set (M1)'] },
  { id: 'M1Max', displayName: 'Apple M1 Max', tier: H13, tflops: M1_FIT, tflopsBasis: 'derived', marketingTops: 11, bandwidthGBs: 54.62, dispatchMs: 0.23, workingSetMB: 2,
    sources: ['bandwidth 54.62 GB/s: anemll-bench', 'same 16-core ANE as M1 (11 TOPS): hollance'], assumed: ['fp16 throughput (M1 fit)', 'dispatch floor (M1)', 'working set (M1)'] },
  { id: 'M2', displayName: 'Apple M2', tier: H14, tflops: M2_SCALED, tflopsBasis: 'marketing', marketingTops: 15.8, bandwidthGBs: 60.45, dispatchMs: 0.23, workingSetMB: 2,
    sources: ['bandwidth 60.45 GB/s: anemll-bench', '15.8 TOPS: Apple via hollance'], assumed: ['fp16 throughput (M1 fit × 15.8/11 TOPS)', 'dispatch floor (M1)', 'working set (M1)'] },
  { id: 'M2Pro', displayName: 'Apple M2 Pro', tier: H14, tflops: M2_SCALED, tflopsBasis: 'marketing', marketingTops: 15.8, bandwidthGBs: 61.93, dispatchMs: 0.23, workingSetMB: 2,
    sources: ['bandwidth 61.93 GB/s: anemll-bench'], assumed: ['fp16 throughput (M1 fit × 15.8/11 TOPS)', 'dispatch floor (M1)', 'working set (M1)'] },
  { id: 'M2Max', displayName: 'Apple M2 Max', tier: H14, tflops: M2_SCALED, tflopsBasis: 'marketing', marketingTops: 15.8, bandwidthGBs: 62.01, dispatchMs: 0.23, workingSetMB: 2,
    sources: ['bandwidth 62.01 GB/s: anemll-bench'], assumed: ['fp16 throughput (M1 fit × 15.8/11 TOPS)', 'dispatch floor (M1)', 'working set (M1)'] },
  { id: 'M3', displayName: 'Apple M3', tier: H14, tflops: M3_PEAK, tflopsBasis: 'derived', marketingTops: 18, bandwidthGBs: 63.10, dispatchMs: 0.095, workingSetMB: 32,
    sources: ['bandwidth 63.10 GB/s: anemll-bench', 'same 18-TOPS ANE as M3 Pro (16.77 TFLOP/s measured): maderix'], assumed: ['fp16 throughput (M3 Pro)', 'dispatch floor (M4)', 'working set (M4)'] },
  { id: 'M3Pro', displayName: 'Apple M3 Pro', tier: H14, tflops: M3_PEAK, tflopsBasis: 'measured', marketingTops: 18, bandwidthGBs: 63.10, dispatchMs: 0.095, workingSetMB: 32,
    sources: ['fp16 16.77 TFLOP/s peak (15.04 sustained), 128 stacked 1x1 convs 512 ch: maderix'], assumed: ['bandwidth (M3)', 'dispatch floor (M4)', 'working set (M4)'] },
  { id: 'M3Max', displayName: 'Apple M3 Max', tier: H14, tflops: M3_PEAK, tflopsBasis: 'derived', marketingTops: 18, bandwidthGBs: 120.22, dispatchMs: 0.095, workingSetMB: 32,
    sources: ['bandwidth 120.22 GB/s: anemll-bench'], assumed: ['fp16 throughput (M3 Pro)', 'dispatch floor (M4)', 'working set (M4)'] },
  { id: 'M4', displayName: 'Apple M4', tier: H16, tflops: 18.6, tflopsBasis: 'measured', marketingTops: 38, bandwidthGBs: 64.18, dispatchMs: 0.095, workingSetMB: 32,
    sources: ['fp16 18.6 TFLOP/s: maderix README (128 stacked 1x1 convs, 512 ch)', 'bandwidth 64.18 GB/s: anemll-bench llama_lm_head', 'dispatch 0.095 ms and ~32 MB working set: maderix blog'], assumed: [] },
  { id: 'M4Pro', displayName: 'Apple M4 Pro', tier: H16, tflops: 12.57, tflopsBasis: 'measured', marketingTops: 38, bandwidthGBs: 126.36, dispatchMs: 0.095, workingSetMB: 32,
    sources: ['fp16 12.57 TFLOP/s: maderix community results', 'bandwidth 126.36 GB/s: anemll-bench'], assumed: ['dispatch floor (M4)', 'working set (M4)'] },
  { id: 'M4Max', displayName: 'Apple M4 Max', tier: H16, tflops: 10.93, tflopsBasis: 'measured', marketingTops: 38, bandwidthGBs: 118.88, dispatchMs: 0.095, workingSetMB: 32,
    sources: ['fp16 10.93 TFLOP/s: maderix community results (run-to-run variance vs M4 Pro)', 'bandwidth 118.88 GB/s: anemll-bench'], assumed: ['dispatch floor (M4)', 'working set (M4)'] },
  { id: 'M5', displayName: 'Apple M5', tier: H16, tflops: 12.3, tflopsBasis: 'measured', bandwidthGBs: 70.21, dispatchMs: 0.07, workingSetMB: 4.72,
    sources: ['fp16 12.17-12.44 TFLOP/s: maderix', 'bandwidth 70.21 GB/s: anemll-bench', 'dispatch 0.07 ms: maderix m5result (single small conv eval); ane-guide fits 0.11 ms', 'working set 4.72 MB: ane-guide'], assumed: [] },
  { id: 'M5Max', displayName: 'Apple M5 Max', tier: H16, tflops: 12.3, tflopsBasis: 'derived', bandwidthGBs: 148.39, dispatchMs: 0.07, workingSetMB: 4.72,
    sources: ['bandwidth 148.39 GB/s: anemll-bench (lm_head 7.08 ms)'], assumed: ['fp16 throughput (M5)', 'dispatch floor (M5)', 'working set (M5)'] },
  { id: 'A14', displayName: 'Apple A14 Bionic', tier: H13, tflops: M1_FIT, tflopsBasis: 'derived', marketingTops: 11, bandwidthGBs: PHONE_BW(34.1), dispatchMs: 0.23, workingSetMB: 2,
    sources: ['11 TOPS, most likely the same ANE as M1: hollance'], assumed: ['fp16 throughput (M1 fit)', 'bandwidth (A15 SoC 34.1 GB/s × M1 ratio)', 'dispatch floor (M1)', 'working set (M1)'] },
  { id: 'A15', displayName: 'Apple A15 Bionic', tier: H14, tflops: M2_SCALED, tflopsBasis: 'marketing', marketingTops: 15.8, bandwidthGBs: PHONE_BW(34.1), dispatchMs: 0.23, workingSetMB: 2,
    sources: ['15.8 TOPS; M2 appears to use the A15 ANE: hollance', 'SoC bandwidth 34.1 GB/s: askgeek (42.7 per nanoreview; conflicting)'], assumed: ['fp16 throughput (M1 fit × 15.8/11 TOPS)', 'bandwidth (SoC × M1 ratio)', 'dispatch floor (M1)', 'working set (M1)'] },
  { id: 'A16', displayName: 'Apple A16 Bionic', tier: H14, tflops: A16_SCALED, tflopsBasis: 'marketing', marketingTops: 17, bandwidthGBs: PHONE_BW(51.2), dispatchMs: 0.23, workingSetMB: 2,
    sources: ['17 TOPS: hollance', 'SoC bandwidth 51.2 GB/s (LPDDR5): topcpu.net'], assumed: ['fp16 throughput (M1 fit × 17/11 TOPS)', 'bandwidth (SoC × M1 ratio)', 'dispatch floor (M1)', 'working set (M1)'] },
  { id: 'A17Pro', displayName: 'Apple A17 Pro', tier: H14, tflops: A17_SCALED, tflopsBasis: 'marketing', marketingTops: 35, bandwidthGBs: PHONE_BW(51.2), dispatchMs: 0.095, workingSetMB: 32,
    sources: ['35 TOPS INT8-style: hollance; W8A8 fast path from here: coremltools docs', 'SoC bandwidth 51.2 GB/s: top2gadget'], assumed: ['fp16 throughput (M4 18.6 × 35/38 TOPS)', 'bandwidth (SoC × M1 ratio)', 'dispatch floor (M4)', 'working set (M4)'] },
  { id: 'A18', displayName: 'Apple A18', tier: H16, tflops: A17_SCALED, tflopsBasis: 'marketing', marketingTops: 35, bandwidthGBs: PHONE_BW(51.2), dispatchMs: 0.095, workingSetMB: 32,
    sources: ['35 TOPS: hollance; H18 target: ane-guide'], assumed: ['fp16 throughput (M4 18.6 × 35/38 TOPS)', 'bandwidth (A17 Pro SoC × M1 ratio)', 'dispatch floor (M4)', 'working set (M4)'] },
  { id: 'A18Pro', displayName: 'Apple A18 Pro', tier: H16, tflops: A17_SCALED, tflopsBasis: 'marketing', bandwidthGBs: PHONE_BW(51.2), dispatchMs: 0.095, workingSetMB: 32,
    sources: ['16-core ANE, TOPS not stated: hollance'], assumed: ['fp16 throughput (A18)', 'bandwidth (A17 Pro SoC × M1 ratio)', 'dispatch floor (M4)', 'working set (M4)'] },
];

export const CHIPS: readonly ChipParams[] = ROWS.map(chip);

/** Op families whose ANE support starts at a generation (ane-knowledge §2): M generation, A generation. */
export const OP_FAMILIES: ReadonlyArray<{ family: string; ops: string[]; sinceM: number; sinceA: number; note: string }> = [
  { family: 'conv, pooling, elementwise, activations, normalization, reductions, layout', ops: ['conv', 'linear', 'matmul', 'avg_pool', 'max_pool', 'layer_norm', 'softmax'], sinceM: 1, sinceA: 14, note: 'core ops on every generation' },
  { family: 'resize / texture engine (bilinear, nearest, reflect pad, resample)', ops: ['resize_bilinear', 'upsample_bilinear', 'resample', 'crop_resize'], sinceM: 2, sinceA: 14, note: 'software fallback on M1' },
  { family: 'topk / argsort', ops: ['topk', 'argsort'], sinceM: 2, sinceA: 15, note: 'direct path; not on M1' },
  { family: 'gather in hardware', ops: ['gather', 'gather_nd'], sinceM: 2, sinceA: 15, note: 'Core ML still places gather on the CPU' },
  { family: 'sin / cos, random_uniform, argmin, blockwise weights streamed', ops: ['sin', 'cos', 'random_uniform', 'reduce_argmin'], sinceM: 3, sinceA: 17, note: 'host polynomial before' },
  { family: 'W8A8 int8 fast path', ops: ['quantize', 'dequantize'], sinceM: 4, sinceA: 17, note: 'coremltools docs, maderix' },
];

/** Whether an op family is native on a chip (by generation). */
export function nativeFrom(chipParams: ChipParams, op: string): boolean {
  const row = OP_FAMILIES.find((f) => f.ops.includes(op));
  if (!row) return true;
  return chipParams.generation >= (chipParams.family === 'M' ? row.sinceM : row.sinceA);
}

export const DEFAULT_CHIP = 'M4';

export class UnknownChipError extends Error {}

/** Case-insensitive lookup; an unknown name is an error that lists the known ones. */
export function findChip(name: string): ChipParams {
  // "M4 Max", "m4-max" and "M4Max" name the same chip.
  const wanted = name.trim().toLowerCase().replace(/[\s_-]+/g, '');
  const chip = CHIPS.find((c) => c.id.toLowerCase() === wanted);
  if (!chip) throw new UnknownChipError(`unknown chip "${name}"; known chips: ${CHIPS.map((c) => c.id).join(', ')}`);
  return chip;
}
