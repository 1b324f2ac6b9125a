// Layout family: NHWC / channels_last, transposes that move the last (width) axis, rank > 5 views,
// dimensions above the chip's spatial limit, unaligned last axes on model I/O, channel counts and groups.
import type { Node } from 'web-tree-sitter';
import type { AnalysisContext } from '../context';
import { chipFacts } from '../chipFacts';
import { argument, callArgs, sequenceElements, snippet } from '../syntax';
import { evalIntTuple, evalNumber, formatNumber } from '../values';
import type { Rule, RuleHit } from './rule';
import { keywordNode, methodName, shortName } from './util';

const PERMUTES = new Set(['permute']);
const SHAPE_METHODS = new Set(['view', 'reshape']);
const SHAPE_FUNCTIONS = new Set(['torch.reshape', 'torch.zeros', 'torch.ones', 'torch.empty', 'torch.randn', 'torch.rand', 'torch.full']);

/** Integer dims of a permute/view call, from varargs (`x.permute(0, 2, 3, 1)`) or one tuple (`x.view((a, b))`). */
function dimArgs(call: Node, ctx: AnalysisContext, skipFirst = false): { dims: (number | undefined)[]; nodes: Node[] } | undefined {
  let positional = callArgs(call).positional;
  if (skipFirst) positional = positional.slice(1);
  if (positional.length === 1) {
    const seq = sequenceElements(positional[0]!);
    if (seq) return { dims: seq.map((e) => evalNumber(e, ctx)), nodes: seq };
  }
  if (positional.length === 0) return undefined;
  return { dims: positional.map((e) => evalNumber(e, ctx)), nodes: positional };
}

/**
 * The integer arguments of a method call written with literals only (`x.permute(0, 2, 3, 1)`,
 * `x.transpose(-2, -1)`), read from the text: most layout calls look like this, and reading them
 * from the tree costs a dozen wasm calls each. Undefined when anything but literals is there.
 */
export function literalIntArgs(text: string): number[] | undefined {
  const m = /\(([-\d\s,()[\]]*)\)\s*$/.exec(text);
  if (!m || !/\d/.test(m[1]!)) return undefined;
  const nums = m[1]!.match(/-?\d+/g);
  return nums ? nums.map(Number) : undefined;
}

function permutation(call: Node, ctx: AnalysisContext, callee: string | undefined, text?: string): number[] | undefined {
  const isMethod = !callee && PERMUTES.has(methodName(call) ?? '');
  const isFn = callee === 'torch.permute';
  if (!isMethod && !isFn) return undefined;
  const literal = isMethod && text !== undefined ? literalIntArgs(text) : undefined;
  const d = literal ?? (isFn ? evalIntTuple(argument(callArgs(call), 'dims', 1), ctx) : dimArgs(call, ctx)?.dims);
  if (!d || d.some((v) => v === undefined || !Number.isInteger(v))) return undefined;
  const n = d.length;
  return (d as number[]).map((v) => (v < 0 ? v + n : v));
}

const NHWC = [[0, 2, 3, 1], [0, 3, 1, 2]];

export const ANE011: Rule = {
  id: 'ANE011',
  severity: 'warning',
  title: 'channels_last / NHWC layout is not an ANE optimization',
  explanation:
    'The ANE wants channels-first: (B, C, H, W) for vision, (B, C, 1, S) for sequences, with the contiguous, ' +
    '64-byte-aligned width axis last (Apple "Deploying Transformers on the ANE"; Apple Core AI NE rules). PyTorch ' +
    '`channels_last` is only a memory format: the traced graph is still NCHW, so it does nothing for Core ML. ' +
    'Explicit NHWC permutes become `transpose` ops — full copies (coremltools#985: an NHWC model ran ~2× slower ' +
    'because of inserted transposes).\n\n' +
    '**Fix:** keep NCHW end to end; delete the layout permutes and the `channels_last` conversion.',
  check(ctx) {
    const hits: RuleHit[] = [];
    for (const call of ctx.calls) {
      if (call.method !== 'permute' && call.callee !== 'torch.permute' && !call.text.includes('memory_format')) continue;
      const mf = keywordNode(call.node, 'memory_format');
      if (mf && ctx.resolveValue(mf.value) === 'torch.channels_last') {
        hits.push({ node: mf.node, message: `\`${snippet(call.node)}\`: channels_last is a PyTorch memory format only; the converted Core ML graph stays NCHW and the ANE gains nothing from it (and NHWC is the wrong layout for the ANE).` });
        continue;
      }
      const perm = permutation(call.node, ctx, call.callee, call.text);
      if (!perm || !NHWC.some((p) => p.length === perm.length && p.every((v, i) => v === perm[i]))) continue;
      if (!ctx.inModuleCompute(call.node)) continue;
      const to = perm[3] === 1 ? 'NCHW → NHWC' : 'NHWC → NCHW';
      hits.push({ node: call.node, message: `\`${snippet(call.node)}\` converts ${to}: each layout permute is a full-copy transpose on the ANE, whose native layout is channels-first; keep (B, C, H, W).` });
    }
    return hits;
  },
};

export const ANE012: Rule = {
  id: 'ANE012',
  severity: 'warning',
  title: 'Transpose moves the last (width) axis',
  explanation:
    'The ANE stores the last axis contiguously in 64-byte rows; a transpose/permute that moves it rewrites the whole ' +
    'tensor in memory, and the compiler cancels only some redundant pairs (Apple NE rules "Avoid unnecessary memory ' +
    'copies"; Apple "Deploying Transformers" principle 3). Attention written as `q @ k.transpose(-2, -1)` on ' +
    '(B, H, S, D) pays this on every layer.\n\n' +
    '**Fix:** one layout change at model entry/exit; write attention with einsum on (B, C, 1, S): ' +
    '`torch.einsum("bchq,bkhc->bkhq", q, k)`.',
  check(ctx) {
    const hits: RuleHit[] = [];
    for (const call of ctx.calls) {
      const m = call.callee ? undefined : call.method;
      if (m !== 'transpose' && m !== 'swapaxes' && m !== 'permute' && call.callee !== 'torch.transpose' && call.callee !== 'torch.permute') continue;
      let moved: string | undefined;
      if (m === 'transpose' || m === 'swapaxes' || call.callee === 'torch.transpose') {
        const literal = call.callee ? undefined : literalIntArgs(call.text);
        const args = literal ? [] : callArgs(call.node).positional.slice(call.callee ? 1 : 0);
        if (literal ? literal.length !== 2 : args.length !== 2) continue;
        const [a, b] = literal ?? args.map((x) => evalNumber(x, ctx));
        if (a === undefined || b === undefined || a === b || (a !== -1 && b !== -1)) continue;
        moved = `swaps the last axis with axis ${a === -1 ? b : a}`;
      } else {
        const perm = permutation(call.node, ctx, call.callee, call.text);
        if (!perm || perm[perm.length - 1] === perm.length - 1) continue;
        if (NHWC.some((p) => p.length === perm.length && p.every((v, i) => v === perm[i]))) continue; // ANE011
        moved = `puts axis ${perm[perm.length - 1]} last`;
      }
      if (!ctx.inModuleCompute(call.node)) continue;
      hits.push({ node: call.node, message: `\`${snippet(call.node)}\` in \`${ctx.computeLabel(call.node) ?? 'model code'}\` ${moved}: on the ANE that is a full-copy transpose of the width axis; keep the layout fixed (einsum on (B, C, 1, S)).` });
    }
    return hits;
  },
};

/** Literal shapes of view/reshape/creation calls in module code and of ct.TensorType/ct.Shape/StateType. */
interface LiteralShape { node: Node; dims: (number | undefined)[]; label: string; io: boolean }

/**
 * `io`: only model I/O shapes (ct.TensorType/Shape/ImageType); otherwise also view/reshape/creation
 * calls in module code — but only those whose text could hold a large dimension (a 5+ digit literal
 * or a name assigned one somewhere), since evaluating every view's arguments is what costs.
 */
function literalShapes(ctx: AnalysisContext, io: boolean): LiteralShape[] {
  const out: LiteralShape[] = [];
  const bigName = io ? undefined : ctx.facts.bigNames;
  const mayBeLarge = (text: string) => /\d{5}/.test(text) || (bigName !== undefined && bigName.test(text));
  // A call's text is part of its block's (and starts and ends at a token): no match in the block, none in a call.
  const blockMayBeLarge = !io && mayBeLarge(ctx.blockText());
  for (const call of ctx.calls) {
    const m = call.callee ? undefined : call.method;
    const isIo = call.callee === 'coremltools.TensorType' || call.callee === 'coremltools.Shape' || call.callee === 'coremltools.ImageType';
    if (io ? !isIo : !isIo && !(blockMayBeLarge && mayBeLarge(call.text))) continue;
    if (m && SHAPE_METHODS.has(m)) {
      if (!ctx.inModuleCompute(call.node)) continue;
      const d = dimArgs(call.node, ctx);
      if (d) out.push({ node: call.node, dims: d.dims, label: `.${m}`, io: false });
    } else if (call.callee && SHAPE_FUNCTIONS.has(call.callee)) {
      if (!ctx.moduleMethodOf(call.node)) continue;
      const first = callArgs(call.node).positional[call.callee === 'torch.reshape' ? 1 : 0];
      const seq = first && sequenceElements(first);
      const dims = seq ? seq.map((e) => evalNumber(e, ctx))
        : call.callee === 'torch.reshape' || call.callee === 'torch.full' ? undefined
          : callArgs(call.node).positional.map((e) => evalNumber(e, ctx));
      if (dims && dims.length > 0) out.push({ node: call.node, dims, label: shortName(call.callee), io: false });
    } else if (call.callee === 'coremltools.TensorType' || call.callee === 'coremltools.Shape' || call.callee === 'coremltools.ImageType') {
      const shapeNode = argument(callArgs(call.node), 'shape', call.callee === 'coremltools.Shape' ? 0 : undefined);
      const seq = shapeNode && sequenceElements(shapeNode);
      if (seq) out.push({ node: call.node, dims: seq.map((e) => evalNumber(e, ctx)), label: shortName(call.callee), io: true });
    }
  }
  return out;
}



function showDims(dims: (number | undefined)[]): string {
  return `(${dims.map((d) => (d === undefined ? '?' : formatNumber(d))).join(', ')})`;
}

export const ANE013: Rule = {
  id: 'ANE013',
  severity: 'error',
  title: 'Tensor rank above 5',
  explanation:
    'The ANE supports tensors of rank ≤ 5; a rank-6 intermediate (Swin `window_partition` with ' +
    '`view(B, H/ws, ws, W/ws, ws, C)`) is rejected and that part of the graph leaves the ANE (Apple NE rules "Max ' +
    'tensor rank: 5"; ml-vision-transformers-ane partitions windows "w/o resorting to 6D tensors"; ane-guide ch.17).\n\n' +
    '**Fix:** fold the batch or a singleton dimension into a neighbour so every view stays ≤ 5-D.',
  check(ctx) {
    const hits: RuleHit[] = [];
    for (const call of ctx.calls) {
      const m = call.callee ? undefined : call.method;
      const isShape = (m && (SHAPE_METHODS.has(m) || PERMUTES.has(m) || m === 'expand')) || call.callee === 'torch.reshape' || call.callee === 'torch.permute';
      // At least 6 commas in the text before counting arguments on the tree.
      if (!isShape || (call.text.match(/,/g)?.length ?? 0) < 5 || !ctx.inModuleCompute(call.node)) continue;
      let positional = callArgs(call.node).positional.slice(call.callee !== undefined ? 1 : 0);
      if (positional.length === 1) positional = sequenceElements(positional[0]!) ?? positional;
      if (positional.length <= 5) continue;
      hits.push({ node: call.node, message: `\`${snippet(call.node)}\` makes a rank-${positional.length} tensor; the ANE supports rank ≤ 5, so this op and its neighbours fall back to the CPU/GPU.` });
    }
    return hits;
  },
};

export const ANE014: Rule = {
  id: 'ANE014',
  severity: 'error',
  title: 'Dimension above the chip\'s ANE limit',
  explanation:
    'The ANE compiler rejects a height/width (sequence on the width axis) above 16384 on M1–M3 and above 65536 ' +
    'from M4, and channels above 65536 (ane-guide ch.17 and Appendix A; ANEMLL splits the Llama lm_head into ' +
    '8 conv heads because "ANE tensors dimension size is limited to 16384"). A 32000-wide vocab projection on the ' +
    'last axis is the usual case. The limit comes from the target chip in the configuration (default M4).\n\n' +
    '**Fix:** split the op along that axis (several heads/chunks, concatenated on the host), or move the large ' +
    'dimension to the channel axis with a 1×1 conv (≤ 65536).',
  check(ctx) {
    const facts = chipFacts(ctx.chip);
    const hits: RuleHit[] = [];
    const bigName = ctx.facts.bigNames;
    for (const call of ctx.calls) {
      if (call.callee !== 'torch.nn.Linear' || !(/\d{5}/.test(call.text) || (bigName !== undefined && bigName.test(call.text)))) continue;
      if (!ctx.moduleMethodOf(call.node)) continue;
      const args = callArgs(call.node);
      for (const [key, pos] of [['in_features', 0], ['out_features', 1]] as const) {
        const v = evalNumber(argument(args, key, pos), ctx);
        if (v !== undefined && v > facts.spatialLimit) {
          hits.push({ node: call.node, message: `\`${snippet(call.node)}\`: ${key}=${formatNumber(v)} lies on the last (width) axis, above the ${facts.id} ANE limit of ${facts.spatialLimit}; split the projection into chunks of ≤ ${facts.spatialLimit} or use a 1×1 conv with it on channels.` });
          break;
        }
      }
    }
    for (const s of literalShapes(ctx, false)) {
      const n = s.dims.length;
      for (let i = 1; i < n; i++) {
        const v = s.dims[i];
        if (v === undefined) continue;
        const spatial = n <= 2 || i >= n - 2;
        const limit = spatial ? facts.spatialLimit : facts.channelLimit;
        if (v > limit) {
          hits.push({ node: s.node, message: `${s.label} shape ${showDims(s.dims)} has ${spatial ? 'spatial' : 'channel'} dim ${formatNumber(v)} above the ${facts.id} ANE limit of ${limit}; split it into chunks of ≤ ${limit}.` });
          break;
        }
      }
    }
    return hits;
  },
};

export const ANE010: Rule = {
  id: 'ANE010',
  severity: 'warning',
  title: 'Singleton or sub-64-byte last axis on model I/O',
  explanation:
    'The last axis of an ANE buffer is contiguous and padded to 64 bytes: a last dimension of 1 costs 32× the ' +
    'memory and bandwidth in fp16, and any last dimension under 32 fp16 elements is padded (Apple Core AI NE rules ' +
    '"Tensor memory alignment"; tinygrad: "All strides must be a multiple of 0x40 bytes"). The common cases are ' +
    '`(1, C, T, 1)` inputs and state/KV tensors with the sequence on an inner axis.\n\n' +
    '**Fix:** put the largest dimension last (sequence last for KV caches), use last dims that are multiples of 32.',
  check(ctx) {
    const hits: RuleHit[] = [];
    for (const s of literalShapes(ctx, true)) {
      if (!s.io || s.dims.length < 2) continue;
      const last = s.dims[s.dims.length - 1];
      const rest = s.dims.slice(0, -1).reduce<number | undefined>((a, d) => (a === undefined || d === undefined ? undefined : a * d), 1);
      if (last === undefined || rest === undefined || last * 2 >= 64 || rest < 32) continue;
      const factor = Math.ceil(32 / last) * last === 32 ? 32 / last : (Math.ceil((last * 2) / 64) * 64) / (last * 2);
      hits.push({ node: s.node, message: `${s.label} shape ${showDims(s.dims)}: last axis ${last} is ${last * 2} bytes in fp16, padded to 64 on the ANE (≈${formatNumber(Math.round(factor * 10) / 10)}× memory); put a dimension ≥ 32 last.` });
    }
    return hits;
  },
};

const CONVS = new Set(['torch.nn.Conv1d', 'torch.nn.Conv2d', 'torch.nn.ConvTranspose1d', 'torch.nn.ConvTranspose2d']);
const LANE = 16;

/** A channel argument worth evaluating: a literal or a name, or any expression once `groups` is known. */
function worthEvaluating(n: Node | undefined, groups: number | undefined): n is Node {
  if (n === undefined) return false;
  if (groups !== undefined) return true;
  const type = n.type;
  return type === 'integer' || type === 'identifier';
}

export const ANE017: Rule = {
  id: 'ANE017',
  severity: 'info',
  title: 'Channel count or conv groups misaligned with the ANE lanes',
  explanation:
    'The ANE stores tensors channel-interleaved; a channel count that is not a multiple of the interleave factor ' +
    '(16/32 as a practical rule) is padded, wasting lanes. Conv `groups` must divide both channel counts — PyTorch ' +
    'refuses the layer otherwise — and groups that do not divide the core count lose the one-to-one lane mapping ' +
    '(ane-guide ch.17, reverse-engineered on M1). Depthwise convs are exempt.\n\n' +
    '**Fix:** round hidden sizes to multiples of 16/32/64; use groups in {1, 2, 4, 8, 16} or depthwise.',
  check(ctx) {
    const hits: RuleHit[] = [];
    for (const call of ctx.calls) {
      if (!call.callee || !(CONVS.has(call.callee) || call.callee === 'torch.nn.Linear')) continue;
      // Channel counts written with no digit at all (`nn.Conv2d(cin, cout, 3)`) are only evaluated when
      // the file assigns numbers to names; most model code passes them through parameters.
      if (!/\d/.test(call.text)) continue;
      const args = callArgs(call.node);
      const isConv = CONVS.has(call.callee);
      const groupsNode = isConv && call.text.includes('groups') ? argument(args, 'groups', 6) : isConv && args.positional.length > 6 ? args.positional[6] : undefined;
      const groups = evalNumber(groupsNode, ctx);
      const inNode = argument(args, isConv ? 'in_channels' : 'in_features', 0);
      const outNode = argument(args, isConv ? 'out_channels' : 'out_features', 1);
      const inC = worthEvaluating(inNode, groups) ? evalNumber(inNode, ctx) : undefined;
      const outC = worthEvaluating(outNode, groups) ? evalNumber(outNode, ctx) : undefined;
      const label = `${shortName(call.callee)}(${inC ?? '?'}, ${outC ?? '?'}${groups ? `, groups=${groups}` : ''})`;
      if (groups !== undefined && groups > 1 && inC !== undefined && outC !== undefined) {
        if (inC % groups !== 0 || outC % groups !== 0) {
          hits.push({ node: groupsNode!.parent?.type === 'keyword_argument' ? groupsNode!.parent : groupsNode!, severity: 'error', message: `${label}: groups=${groups} does not divide ${inC % groups !== 0 ? `in_channels=${inC}` : `out_channels=${outC}`}; the layer is invalid (PyTorch and the ANE compiler reject it).` });
          continue;
        }
        if (groups !== inC && 16 % groups !== 0 && groups % 16 !== 0) {
          hits.push({ node: groupsNode!.parent?.type === 'keyword_argument' ? groupsNode!.parent : groupsNode!, message: `${label}: groups=${groups} does not divide the ANE core count (16), so groups do not map one-to-one onto cores; prefer 1, 2, 4, 8, 16 or depthwise.` });
        }
      }
      for (const [what, c] of [['out', outC], ['in', inC]] as const) {
        if (c === undefined || c < LANE || c % LANE === 0) continue;
        const padded = Math.ceil(c / LANE) * LANE;
        const waste = (padded - c) / padded;
        if (waste < 0.1) continue;
        hits.push({ node: call.node, message: `${label}: ${what} channels ${c} pad to ${padded} on the ANE's ${LANE}-lane interleave (${Math.round(waste * 100)}% of the lanes idle); use a multiple of ${LANE}.` });
        break;
      }
    }
    return hits;
  },
};
