// Precision family: fp32 inside the model, squares that overflow fp16, manual RMSNorm, fp32 model I/O,
// quantization settings. Each rule matches source constructs that end up in the traced graph, i.e.
// inside nn.Module methods other than __init__, unless it is about a coremltools call.
import type { Node } from 'web-tree-sitter';
import type { AnalysisContext } from '../context';
import { chipFacts } from '../chipFacts';
import { argument, callArgs, snippet, unparen } from '../syntax';
import { evalNumber } from '../values';
import type { Rule, RuleHit } from './rule';
import { keywordNode, methodName, receiver, stringValue } from './util';

const FP32_DTYPES = new Set(['torch.float32', 'torch.float', 'torch.float64', 'torch.double']);

/** The first tensor parameter of the method around `node` (`x` in `def forward(self, x)`), for fixes. */
export function firstTensorParam(node: Node): string | undefined {
  for (let p = node.parent; p; p = p.parent) {
    if (p.type !== 'function_definition') continue;
    const params = p.childForFieldName('parameters')?.namedChildren ?? [];
    const names = params.map((q) => (q.type === 'identifier' ? q.text : q.type === 'typed_parameter' || q.type === 'default_parameter' || q.type === 'typed_default_parameter'
      ? (q.namedChildren.find((c) => c.type === 'identifier')?.text ?? q.childForFieldName('name')?.text) : undefined));
    const first = names.find((n, i) => n !== undefined && !(i === 0 && (n === 'self' || n === 'cls')));
    // Keep looking outward only through nested helpers; the method itself decides.
    if (first) return first;
  }
  return undefined;
}

export const ANE002: Rule = {
  id: 'ANE002',
  severity: 'warning',
  title: 'fp32 tensor inside an fp16 model',
  explanation:
    'The Neural Engine computes in fp16 only. A `.float()`/`.double()` cast or a tensor created with ' +
    '`dtype=torch.float32` inside `forward` becomes an fp32 op or constant in the converted graph; Core ML places ' +
    'it on the CPU/GPU and splits the model around it (Apple Core AI Neural Engine rules, "Float32 intermediates"; ' +
    'smpanaro measured a causal mask moving back to the ANE once it was fp16).\n\n' +
    '**Fix:** create tensors in the activation dtype (`dtype=x.dtype`, `mask.to(x.dtype)`), or keep fp32 work on the host.',
  check(ctx) {
    const hits: RuleHit[] = [];
    // One search of the block first: reading a call's text is a call into wasm, and most blocks have no dtype.
    const mentionsDtype = ctx.blockText().includes('dtype');
    for (const call of ctx.calls) {
      const node = call.node;
      const method = call.callee ? undefined : call.method;
      if (method !== 'float' && method !== 'double' && method !== 'to' && method !== 'type' && !(mentionsDtype && call.text.includes('dtype'))) continue;
      const kw = keywordNode(node, 'dtype');
      const castTo = method === 'to' || method === 'type' ? argument(callArgs(node), 'dtype', 0) : undefined;
      const isCast = method === 'float' || method === 'double';
      const castDtype = castTo && ctx.resolveValue(castTo);
      const kwDtype = kw && ctx.resolveValue(kw.value);
      if (!isCast && !(castDtype && FP32_DTYPES.has(castDtype)) && !(kwDtype && FP32_DTYPES.has(kwDtype))) continue;
      if (!ctx.inModuleCompute(node)) continue;
      if (isCast && callArgs(node).positional.length > 0) continue;
      // Casting shape arithmetic (`torch.min(im_shape).to(torch.float32)`, `max_size[1].float()`): with the
      // static input shapes Core ML needs, the converter folds it to a constant.
      const castOf = (isCast || castDtype) ? receiver(node) : undefined;
      if (castOf && /shape|size/.test(castOf.text)) continue;
      const x = firstTensorParam(node);
      const recv = receiver(node);
      const loc = `\`${ctx.computeLabel(node) ?? 'model code'}\``;
      if (isCast && recv) {
        const fix = x && recv.text !== x ? { title: `Cast to the activation dtype (.to(${x}.dtype))`, node, newText: `${recv.text}.to(${x}.dtype)` } : undefined;
        hits.push({ node, ...(fix ? { fix } : {}), message: `\`${snippet(node)}\` in ${loc} casts to ${method === 'double' ? 'fp64' : 'fp32'}: the ANE computes fp16 only, so this op and what consumes it run on the CPU/GPU; cast to the activation dtype instead.` });
      } else if (castDtype && castTo) {
        const fix = x ? { title: `Use the activation dtype (${x}.dtype)`, node: castTo, newText: `${x}.dtype` } : undefined;
        hits.push({ node, ...(fix ? { fix } : {}), message: `\`${snippet(node)}\` in ${loc} casts to ${castDtype.slice(6)}: the ANE computes fp16 only; this op and its consumers leave the ANE.` });
      } else if (kw) {
        const fix = x ? { title: `Use the activation dtype (dtype=${x}.dtype)`, node: kw.value, newText: `${x}.dtype` } : undefined;
        hits.push({ node: kw.node, ...(fix ? { fix } : {}), message: `\`${snippet(node)}\` in ${loc} creates a ${kwDtype!.slice(6)} tensor inside the model: fp32 constants and ops cannot run on the ANE; use dtype=${x ?? 'x'}.dtype.` });
      }
    }
    return hits;
  },
};

interface Square { node: Node; base: Node }

/** `x ** 2`, `x.pow(2)`, `torch.pow(x, 2)`, `torch.square(x)`, `x.square()`, `x * x`. */
function squareOf(node: Node, ctx: AnalysisContext): Square | undefined {
  if (node.type === 'binary_operator') {
    const op = node.childForFieldName('operator')?.text;
    const left = node.childForFieldName('left');
    const right = node.childForFieldName('right');
    if (!left || !right) return undefined;
    if (op === '**' && evalNumber(right, ctx) === 2) return { node, base: left };
    if (op === '*' && left.text === right.text && (left.type === 'identifier' || left.type === 'attribute')) return { node, base: left };
    return undefined;
  }
  if (node.type !== 'call') return undefined;
  const callee = ctx.imports.resolve(node.childForFieldName('function'));
  const args = callArgs(node).positional;
  if (callee === 'torch.pow' && args.length === 2 && evalNumber(args[1], ctx) === 2) return { node, base: args[0]! };
  if (callee === 'torch.square' && args.length === 1) return { node, base: args[0]! };
  if (callee) return undefined;
  const m = methodName(node);
  const recv = receiver(node);
  if (recv && m === 'pow' && args.length === 1 && evalNumber(args[0], ctx) === 2) return { node, base: recv };
  if (recv && m === 'square' && args.length === 0) return { node, base: recv };
  return undefined;
}

// Bases that are not raw activations: shapes and sizes (Python ints), already-normalised values.
const NOT_ACTIVATION = /shape|size\(|\bdim\b|len\(|\/|normalize|softmax|sigmoid|tanh|norm\(|scale|\bstd\b|\d\.?\d*$/;

/** Max-abs reductions: dividing by one of these bounds |x| by 1 before squaring (the rules' own fix). */
const MAX_ABS = /\.amax\(|\bamax\(|\.abs\(\)\.max\(|\.norm\(|\bnorm\(/;

/** `x / s` where `s` is (or was assigned) a max-abs of the same data: squares of it cannot overflow fp16. */
function isMaxAbsScaled(base: Node, ctx: AnalysisContext): boolean {
  const n = unparen(base);
  if (n.type !== 'binary_operator' || n.childForFieldName('operator')?.text !== '/') return false;
  const divisor = n.childForFieldName('right');
  if (!divisor) return false;
  if (MAX_ABS.test(divisor.text)) return true;
  if (divisor.type !== 'identifier') return false;
  const rhs = ctx.assignedBefore(divisor.text, divisor);
  return !!rhs && MAX_ABS.test(rhs.text);
}

function isRawActivation(base: Node, ctx: AnalysisContext): boolean {
  const n = unparen(base);
  const type = n.type;
  if (type === 'integer' || type === 'float' || type === 'string') return false;
  if (isMaxAbsScaled(n, ctx)) return false;
  if (NOT_ACTIVATION.test(n.text)) return false;
  if (type === 'identifier') {
    // Upper-case names (B, H, P, N_HEADS) are sizes by convention; names bound to sizes or ints too.
    if (/^[A-Z][A-Z0-9_]*$/.test(n.text)) return false;
    const rhs = ctx.assignedBefore(n.text, n);
    if (rhs && (rhs.type === 'integer' || rhs.type === 'float' || /shape|size|len\(|int\(|self\.\w+$/.test(rhs.text))) return false;
  }
  if (type === 'attribute' && n.childForFieldName('object')?.text === 'self') return false;
  return true;
}

interface RmsPattern { call: Node; square: Square; mean: Node }

/** `rsqrt(mean(x**2) + eps)` / `sqrt(...)` with the mean of a square inside (following one assignment). */
function rmsPatterns(ctx: AnalysisContext): RmsPattern[] {
  const out: RmsPattern[] = [];
  for (const call of ctx.calls) {
    const isRoot = call.callee === 'torch.rsqrt' || call.callee === 'torch.sqrt'
      || (!call.callee && (methodName(call.node) === 'rsqrt' || methodName(call.node) === 'sqrt'));
    if (!isRoot || !ctx.inModuleCompute(call.node)) continue;
    const arg = call.callee ? callArgs(call.node).positional[0] : receiver(call.node);
    if (!arg) continue;
    const found = findMeanOfSquare(arg, ctx, 0);
    if (found && !isMaxAbsScaled(found.square.base, ctx)) out.push({ call: call.node, ...found });
  }
  return out;
}

function findMeanOfSquare(node: Node, ctx: AnalysisContext, depth: number): { square: Square; mean: Node } | undefined {
  if (depth > 2) return undefined;
  const stack = [node];
  while (stack.length) {
    const n = stack.pop()!;
    if (n.type === 'call') {
      const callee = ctx.imports.resolve(n.childForFieldName('function'));
      const isMean = callee === 'torch.mean' || (!callee && methodName(n) === 'mean');
      if (isMean) {
        const inner = callee ? callArgs(n).positional[0] : receiver(n);
        const sq = inner && findSquare(inner, ctx, depth);
        if (sq) return { square: sq, mean: n };
      }
    }
    if (n.type === 'identifier' && depth < 2) {
      const rhs = ctx.assignedBefore(n.text, n);
      const found = rhs && findMeanOfSquare(rhs, ctx, depth + 1);
      if (found) return found;
    }
    for (const c of n.namedChildren) stack.push(c);
  }
  return undefined;
}

function findSquare(node: Node, ctx: AnalysisContext, depth: number): Square | undefined {
  const n = unparen(node);
  const sq = squareOf(n, ctx);
  if (sq) return sq;
  if (n.type === 'identifier' && depth < 2) {
    const rhs = ctx.assignedBefore(n.text, n);
    return rhs ? findSquare(rhs, ctx, depth + 1) : undefined;
  }
  return undefined;
}

const WORD = /[\w.]/;
const SPACE = /\s/;

/**
 * Offsets of `a * a` products (the left operand's start): a dotted name, `*` (not `**`), the same name, and
 * nothing after it that makes it longer, a call or a subscript. What the regex
 * `(?<![\w.])([A-Za-z_][\w.]*)\s*\*\s*\1(?![\w.(\[])` finds, but scanning from each `*`: the regex tried
 * every position of the text and was the slowest search of the analysis.
 */
export function selfProducts(text: string): number[] {
  const out: number[] = [];
  let lastEnd = 0;
  for (let star = text.indexOf('*'); star >= 0; star = text.indexOf('*', star + 1)) {
    if (text[star + 1] === '*' || text[star - 1] === '*') continue;
    let end = star;
    while (end > 0 && SPACE.test(text[end - 1]!)) end--;
    let start = end;
    while (start > 0 && WORD.test(text[start - 1]!)) start--;
    if (start === end || start < lastEnd || !/[A-Za-z_]/.test(text[start]!)) continue;
    let right = star + 1;
    while (right < text.length && SPACE.test(text[right]!)) right++;
    const name = text.slice(start, end);
    if (!text.startsWith(name, right)) continue;
    const after = text[right + name.length];
    if (after !== undefined && (WORD.test(after) || after === '(' || after === '[')) continue;
    out.push(start);
    lastEnd = right + name.length;
  }
  return out;
}

const rmsCache = new WeakMap<AnalysisContext, RmsPattern[]>();
function rmsOf(ctx: AnalysisContext): RmsPattern[] {
  let v = rmsCache.get(ctx);
  if (!v) rmsCache.set(ctx, (v = rmsPatterns(ctx)));
  return v;
}

export const ANE004: Rule = {
  id: 'ANE004',
  severity: 'warning',
  title: 'Square of a raw activation can overflow fp16',
  explanation:
    'The ANE computes fp16 end to end, whose largest finite value is 65504: any |x| > 256 squared overflows to inf ' +
    '(256² = 65536), and the inf/NaN propagates. LLM residual streams and some encoders (ModernBERT) carry outliers ' +
    'of 10⁴ and more. coremltools lowers RMSNorm with a max-abs pre-scale for this reason (`ops.py`).\n\n' +
    '**Fix:** scale before squaring (`s = x.abs().amax(dim, keepdim=True); (x / s) ** 2`), clamp, or use a ' +
    'high-level op (`nn.LayerNorm`, `nn.RMSNorm`, `F.normalize`) that the converter lowers safely.',
  check(ctx) {
    const hits: RuleHit[] = [];
    const candidates = [
      // `a ** 2` (match on the operator) and `a * a` (match on the left operand).
      ...ctx.nodesMatching(/\*\*\s*2(?![\d.\w])/, ['binary_operator']),
      ...ctx.nodesAt(selfProducts(ctx.blockText()), ['binary_operator']),
      ...ctx.calls.filter((c) => c.callee === 'torch.pow' || c.callee === 'torch.square' || (!c.callee && (c.method === 'pow' || c.method === 'square'))).map((c) => c.node),
    ];
    if (candidates.length === 0) return hits;
    const covered = new Set(rmsOf(ctx).map((p) => p.square.node.id));
    for (const node of candidates) {
      const sq = squareOf(node, ctx);
      if (!sq || covered.has(node.id) || !isRawActivation(sq.base, ctx) || !ctx.inModuleCompute(node)) continue;
      hits.push({
        node,
        message: `\`${snippet(node)}\` in \`${ctx.computeLabel(node) ?? 'model code'}\` squares an unnormalised activation: in fp16 any |${snippet(sq.base, 30)}| > 256 overflows to inf (max 65504); pre-scale by the max-abs or use a normalisation op.`,
      });
    }
    return hits;
  },
};

export const ANE037: Rule = {
  id: 'ANE037',
  severity: 'warning',
  title: 'Manual RMSNorm / norm decomposition overflows fp16',
  explanation:
    'A hand-written RMSNorm (`x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)`, Hugging Face `LlamaRMSNorm`) ' +
    'squares raw activations: above |x| = 256 the square overflows fp16 on the ANE and the row becomes 0 or NaN. ' +
    'There is no native RMSNorm on the ANE; coremltools lowers `nn.RMSNorm` with a max-abs pre-scale, and ANEMLL ' +
    'writes RMSNorm as mean-subtraction plus `F.layer_norm` (ane-knowledge ANE037; Apple NE rules "Prefer high-level ops").\n\n' +
    '**Fix:** use `nn.RMSNorm` (coremltools ≥ 8 lowers it safely), pre-scale: `s = x.abs().amax(-1, keepdim=True); ' +
    'x = x / s` before the mean of squares, or the ANEMLL layer_norm formulation.',
  check(ctx) {
    return rmsOf(ctx).map(({ call, square, mean }) => {
      return {
        node: call,
        message: `Manual RMSNorm in \`${ctx.computeLabel(call) ?? 'model code'}\`: \`${snippet(mean, 40)}\` averages \`${snippet(square.node, 30)}\`, which overflows fp16 for |x| > 256 on the ANE; use nn.RMSNorm or pre-scale by the max-abs.`,
      };
    });
  },
};

const NUMPY_FP16 = new Set(['numpy.float16', 'torch.float16', 'torch.half']);

export const ANE008: Rule = {
  id: 'ANE008',
  severity: 'info',
  title: 'fp32 model inputs/outputs on an fp16 model',
  explanation:
    'A `ct.TensorType` without `dtype=np.float16` gives the model fp32 inputs/outputs; Core ML then converts ' +
    'fp32↔fp16 on the CPU and copies at every call (coremltools "Model input and output types"; maderix measured fp16 ' +
    'direct I/O ~37% faster on the private path).\n\n' +
    '**Fix:** `ct.TensorType(name=..., shape=..., dtype=np.float16)` for inputs and outputs (iOS 16 / macOS 13 and ' +
    'later), with `minimum_deployment_target=ct.target.iOS16` or newer.',
  check(ctx) {
    const hits: RuleHit[] = [];
    let npAlias: string | undefined;
    for (const call of ctx.calls) {
      if (call.callee !== 'coremltools.convert') continue;
      npAlias ??= ctx.imports.aliasOf('numpy');
      const args = callArgs(call.node);
      if (stringValue(args.keywords.get('convert_to')?.value, ctx) === 'neuralnetwork') continue;
      if (ctx.resolveValue(args.keywords.get('compute_precision')?.value) === 'coremltools.precision.FLOAT32') continue;
      for (const key of ['inputs', 'outputs']) {
        const list = args.keywords.get(key)?.value;
        if (!list || (list.type !== 'list' && list.type !== 'tuple')) continue;
        for (const el of list.namedChildren) {
          if (el.type !== 'call' || ctx.imports.resolve(el.childForFieldName('function')) !== 'coremltools.TensorType') continue;
          const elArgs = callArgs(el);
          const dtype = elArgs.keywords.get('dtype');
          if (dtype && NUMPY_FP16.has(ctx.resolveValue(dtype.value) ?? '')) continue;
          if (dtype && !/float32|float\b|float64|double/.test(dtype.value.text)) continue;
          const name = stringValue(elArgs.keywords.get('name')?.value, ctx);
          const label = `${key === 'inputs' ? 'input' : 'output'}${name ? ` "${name}"` : ''}`;
          const argList = el.childForFieldName('arguments')!;
          let fix: RuleHit['fix'];
          if (npAlias && !dtype) {
            const inner = argList.text.slice(1, -1).replace(/,\s*$/, '');
            fix = { title: `Declare ${label} as fp16 (dtype=${npAlias}.float16)`, node: argList, newText: `(${inner}${inner.trim() ? ', ' : ''}dtype=${npAlias}.float16)` };
          } else if (npAlias && dtype) {
            fix = { title: `Declare ${label} as fp16 (dtype=${npAlias}.float16)`, node: dtype.value, newText: `${npAlias}.float16` };
          }
          hits.push({
            node: el, ...(fix ? { fix } : {}),
            message: `Model ${label} \`${snippet(el, 50)}\` is fp32${dtype ? '' : ' (no dtype)'}: Core ML converts it to fp16 on the CPU and copies it every call; pass dtype=np.float16 (iOS 16+/macOS 13+).`,
          });
        }
      }
    }
    return hits;
  },
};

function isQuantizer(callee: string | undefined, name: string): boolean {
  return callee !== undefined && callee.startsWith('coremltools.optimize') && callee.endsWith(`.${name}`);
}

export const ANE006: Rule = {
  id: 'ANE006',
  severity: 'info',
  title: 'Quantization setting that does not suit the ANE',
  explanation:
    'coremltools recommends `per_channel` scales for the Neural Engine; `per_block` scales are meant for the GPU ' +
    '(coremltools `opt-quantization-overview`). Activation quantization (W8A8) only gets the faster int8-int8 path on ' +
    'A17 Pro / M4 and newer; on older chips it saves memory, not time (coremltools `opt-quantization-perf`). ' +
    'Grouped-channel palettization with many small groups adds LUTs and slows the ANE.\n\n' +
    '**Fix:** `granularity="per_channel"` for int8 weights, palettization (1–8 bits, per-tensor or large groups) for ' +
    'bandwidth-bound layers, W8A8 only when targeting A17 Pro/M4+; verify with MLComputePlan.',
  check(ctx) {
    const hits: RuleHit[] = [];
    const facts = chipFacts(ctx.chip);
    for (const call of ctx.calls) {
      if (isQuantizer(call.callee, 'OpLinearQuantizerConfig') || isQuantizer(call.callee, 'OpPalettizerConfig')) {
        const g = keywordNode(call.node, 'granularity');
        const gran = g && stringValue(g.value, ctx);
        if (g && gran === 'per_block') {
          const fix = g.value.type === 'string' ? { title: 'Use per_channel granularity', node: g.value, newText: `${g.value.text[0]}per_channel${g.value.text[0]}` } : undefined;
          hits.push({ node: g.node, ...(fix ? { fix } : {}), severity: 'warning', message: `\`${snippet(g.node)}\`: per-block scales are meant for the GPU; for the Neural Engine coremltools recommends granularity="per_channel".` });
        } else if (g && gran === 'per_grouped_channel') {
          const size = evalNumber(keywordNode(call.node, 'group_size')?.value, ctx);
          if (size !== undefined && size < 16) {
            hits.push({ node: g.node, message: `Palettization per_grouped_channel with group_size=${size} creates a LUT per ${size} channels; many LUTs slow the Neural Engine — use larger groups or per-tensor LUTs.` });
          }
        }
      }
      if (isQuantizer(call.callee, 'linear_quantize_activations') && !facts.w8a8Fast) {
        hits.push({ node: call.node, message: `Activation quantization (W8A8) has no faster int8-int8 path on ${facts.id} (A17 Pro / M4 and newer only): it saves memory but not time on the target chip.` });
      }
    }
    return hits;
  },
};
