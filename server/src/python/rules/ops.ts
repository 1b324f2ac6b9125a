// Operator family: layers and ops that have no ANE path, a slow one, or chip-dependent support.
// Torch functions are matched by canonical name (imports resolved); tensor methods (`x.tril()`) by
// method name, and then only inside nn.Module methods other than __init__, where they are traced.
import type { Node } from 'web-tree-sitter';
import type { AnalysisContext, ResolvedCall } from '../context';
import { chipFacts } from '../chipFacts';
import { argument, callArgs, enclosing, snippet, unparen } from '../syntax';
import { evalNumber, formatNumber } from '../values';
import type { Rule, RuleHit } from './rule';
import { keywordNode, methodName, pairValue, primeFactors, shortName, stringValue } from './util';

/** Calls to `functions` (canonical) anywhere in module code, or to tensor `methods` in traced module code. */
function matchCalls(ctx: AnalysisContext, functions: ReadonlySet<string>, methods: ReadonlySet<string>, computeOnly = true): { call: ResolvedCall; name: string }[] {
  const out: { call: ResolvedCall; name: string }[] = [];
  for (const call of ctx.calls) {
    if (call.callee && functions.has(call.callee)) {
      if (!computeOnly || ctx.inModuleCompute(call.node)) out.push({ call, name: shortName(call.callee) });
    } else if (!call.callee) {
      const m = methodName(call.node);
      if (m && methods.has(m) && ctx.inModuleCompute(call.node)) {
        // `self.attn(...)`/`nn.functional.x` style attributes on unresolved roots are still method calls.
        out.push({ call, name: `.${m}()` });
      }
    }
  }
  return out;
}

function where(ctx: AnalysisContext, node: Node): string {
  const label = ctx.computeLabel(node);
  return label ? ` in \`${label}\`` : '';
}

const ATTENTION = new Set(['torch.nn.MultiheadAttention', 'torch.nn.functional.scaled_dot_product_attention',
  'torch.nn.Transformer', 'torch.nn.TransformerEncoderLayer', 'torch.nn.TransformerDecoderLayer',
  'torch.nn.functional.multi_head_attention_forward']);

export const ANE022: Rule = {
  id: 'ANE022',
  severity: 'warning',
  title: 'Fused attention instead of per-head attention',
  explanation:
    'Apple\'s ANE recipe computes attention per head with explicit splits and einsum on (B, C, 1, S); Apple\'s Core AI ' +
    'NE rules say there is "no fused SDPA path". `nn.MultiheadAttention` and `F.scaled_dot_product_attention` trace ' +
    'to batched (B, H, S, D) matmuls with width-axis transposes and large score tensors; Core ML puts fused SDPA on ' +
    'the ANE only for large fp16 shapes, and on the private path SDPA ignores `attn_mask` (maderix, Orion).\n\n' +
    '**Fix:** split heads on the channel axis, `torch.einsum("bchq,bkhc->bkhq", q, k)`, add the mask, ' +
    '`softmax(dim=1)`, `torch.einsum("bkhq,bchk->bchq", w, v)`, `torch.cat(dim=1)` (ml-ane-transformers ' +
    '`multihead_attention.py`).',
  check(ctx) {
    return matchCalls(ctx, ATTENTION, new Set(), false).map(({ call, name }) => ({
      node: call.node,
      message: `${name}${where(ctx, call.node)} is fused attention: it traces to batched (B, H, S, D) matmuls with transposes of the width axis; on the ANE write per-head einsum attention on (B, C, 1, S).`,
    }));
  },
};

export const ANE023: Rule = {
  id: 'ANE023',
  severity: 'error',
  title: 'Causal mask built inside the model',
  explanation:
    '`torch.tril`/`torch.triu` trace to MIL `band_part`, which has no ANE path on any chip (ane-guide Appendix A); ' +
    'smpanaro found chunks starting with `matrix_band_part` forced whole segments to the CPU. A mask built in ' +
    '`__init__` and registered as a buffer is a constant and is fine.\n\n' +
    '**Fix:** build the mask on the host (fp16, -1e4 fill; Apple\'s ANE layout is (1, key_seq, 1, query_seq)) and pass ' +
    'it as an input, or build it once in `__init__` with `register_buffer`.',
  check(ctx) {
    return matchCalls(ctx, new Set(['torch.tril', 'torch.triu']), new Set(['tril', 'triu', 'tril_', 'triu_'])).map(({ call, name }) => ({
      node: call.node,
      message: `${name}${where(ctx, call.node)} builds a mask in the graph: it becomes band_part, which has no ANE path and runs on the CPU; build the mask on the host or in __init__ as a buffer.`,
    }));
  },
};

const GATHER_FNS = new Set(['torch.gather', 'torch.index_select', 'torch.take_along_dim', 'torch.take', 'torch.nn.functional.embedding']);
const GATHER_METHODS = new Set(['gather', 'index_select', 'take_along_dim']);
const INDEX_NAME = /(^|_)(idx|indices|index|ids)$|^position_ids$|^pos_ids$/;

/** True when `name` is the target of an enclosing `for` loop (a Python int, not a tensor). */
export function isLoopVariable(id: Node): boolean {
  const binds = (left: Node | null) => left !== null && (left.text === id.text || left.descendantsOfType('identifier').some((i) => i.text === id.text));
  for (let p = id.parent; p; p = p.parent) {
    const type = p.type; // read once: each read is a call into wasm
    if (type === 'for_statement' && binds(p.childForFieldName('left'))) return true;
    if (type === 'list_comprehension' || type === 'generator_expression' || type === 'set_comprehension' || type === 'dictionary_comprehension') {
      if (p.namedChildren.some((c) => c.type === 'for_in_clause' && binds(c.childForFieldName('left')))) return true;
    }
    if (type === 'function_definition') break;
  }
  return false;
}

/** A name bound to a Python int (`i = int(...)`, `n = len(...)`, a literal) or a container (`d = {}`), not a tensor. */
function isPythonValue(id: Node, ctx: AnalysisContext): boolean {
  const rhs = ctx.assignedBefore(id.text, id);
  if (!rhs) return false;
  if (['integer', 'dictionary', 'list', 'dictionary_comprehension', 'list_comprehension', 'string'].includes(rhs.type)) return true;
  return rhs.type === 'call' && /^(int|len|dict|list|OrderedDict|defaultdict|collections\.OrderedDict)$/.test(rhs.childForFieldName('function')?.text ?? '');
}

export const ANE024: Rule = {
  id: 'ANE024',
  severity: 'warning',
  title: 'Gather / embedding lookup / tensor indexing',
  explanation:
    'Core ML usually runs gathers on the CPU: a gather-only model ran the same with CPU_ONLY and ALL ' +
    '(coremltools#1103); Apple\'s optimized DistilBERT keeps its embedding lookups (4 of 606 ops) on the CPU; the ' +
    'placement cost model has no engine tree for gather (ane-guide ch.18). Each one creates a CPU segment and two ' +
    'transfers. Sources disagree on some shapes (ane-knowledge §X.2): verify with MLComputePlan.\n\n' +
    '**Fix:** run embeddings in a separate small model or on the host and feed hidden states; pass RoPE cos/sin as ' +
    'precomputed inputs instead of indexing tables with position ids.',
  check(ctx) {
    const hits: RuleHit[] = matchCalls(ctx, GATHER_FNS, GATHER_METHODS).map(({ call, name }) => ({
      node: call.node,
      message: `${name}${where(ctx, call.node)} is a gather: Core ML usually places it on the CPU, splitting the graph; precompute it on the host or keep it outside the ANE model.`,
    }));
    for (const call of ctx.calls) {
      if (call.callee !== 'torch.nn.Embedding' || !ctx.moduleMethodOf(call.node)) continue;
      const args = callArgs(call.node);
      const n = evalNumber(argument(args, 'num_embeddings', 0), ctx);
      const d = evalNumber(argument(args, 'embedding_dim', 1), ctx);
      hits.push({ node: call.node, message: `nn.Embedding(${n ?? '?'}, ${d ?? '?'})${where(ctx, call.node)} is a gather lookup: Core ML usually runs it on the CPU (Apple keeps embeddings off the ANE); feed embeddings from the host or a separate model.` });
    }
    // Subscripts whose single index is a name like `idx`, `indices`, `position_ids` (regex first: cheap).
    for (const sub of ctx.nodesMatching(/\[\s*[A-Za-z_][\w.]*\s*\]/, ['subscript'])) {
      if (sub.parent?.type === 'assignment' && sub.parent.childForFieldName('left')?.id === sub.id) continue; // ANE025
      const index = sub.childrenForFieldName('subscript').filter((c) => c.type !== 'comment');
      if (index.length !== 1) continue;
      const idx = unparen(index[0]!);
      const name = idx.type === 'identifier' ? idx.text : idx.type === 'attribute' ? idx.childForFieldName('attribute')?.text : undefined;
      if (!name || !INDEX_NAME.test(name) || (idx.type === 'identifier' && (isLoopVariable(idx) || isPythonValue(idx, ctx)))) continue;
      const value = sub.childForFieldName('value');
      if (value?.type === 'identifier' && isPythonValue(value, ctx)) continue;
      if (!value || /^self\.(layers|blocks|heads|convs|modules)\b/.test(value.text) || !ctx.inModuleCompute(sub)) continue;
      hits.push({ node: sub, message: `\`${snippet(sub)}\`${where(ctx, sub)} indexes a tensor with the tensor \`${name}\`: a gather, which Core ML usually runs on the CPU; pass the gathered values (e.g. RoPE cos/sin) as inputs.` });
    }
    return hits;
  },
};

const SCATTER_FNS = new Set(['torch.scatter', 'torch.scatter_add', 'torch.index_put', 'torch.index_add', 'torch.index_copy', 'torch.masked_scatter', 'torch.scatter_reduce']);
const SCATTER_METHODS = new Set(['scatter', 'scatter_', 'scatter_add', 'scatter_add_', 'scatter_reduce', 'scatter_reduce_', 'index_put', 'index_put_',
  'index_add', 'index_add_', 'index_copy', 'index_copy_', 'masked_scatter', 'masked_scatter_']);

/** `d` in `def f(self, d: Dict[str, T])`: a parameter annotated as a Python container. */
function isContainerParam(id: Node): boolean {
  const fn = enclosing(id, ['function_definition']);
  for (const p of fn?.childForFieldName('parameters')?.namedChildren ?? []) {
    if (p.type !== 'typed_parameter' && p.type !== 'typed_default_parameter') continue;
    const name = p.namedChildren.find((c) => c.type === 'identifier')?.text ?? p.childForFieldName('name')?.text;
    if (name === id.text) return /^(typing\.)?(Dict|List|Mapping|MutableMapping|OrderedDict|dict|list)\b/.test(p.childForFieldName('type')?.text ?? '');
  }
  return false;
}

/** An index element that is a runtime tensor rather than a literal, slice or loop counter. */
function isTensorIndex(n: Node): boolean {
  const e = unparen(n);
  const type = e.type;
  if (['integer', 'slice', 'ellipsis', 'none', 'unary_operator', 'string'].includes(type)) return false;
  if (type === 'identifier') return !isLoopVariable(e) && !/^[A-Z_0-9]+$/.test(e.text);
  return type === 'comparison_operator' || type === 'call' || type === 'attribute' || type === 'subscript' || type === 'boolean_operator';
}

export const ANE025: Rule = {
  id: 'ANE025',
  severity: 'error',
  title: 'Scatter / index_put / in-place index assignment',
  explanation:
    'Scatter ops (`scatter`, `index_put_`, `index_add`, `masked_scatter`, `x[idx] = v`) fall off the ANE ' +
    '(coremltools `frontend/torch/ops.py` comments; no path on any family per ane-guide). smpanaro\'s KV-cache update ' +
    'via scatter did not run on the ANE; `torch.where` with a precomputed mask did.\n\n' +
    '**Fix:** `torch.where(mask, new, old)` with a host-built mask, or return the new slice and update the cache ' +
    'outside the model.',
  check(ctx) {
    const hits: RuleHit[] = matchCalls(ctx, SCATTER_FNS, SCATTER_METHODS).map(({ call, name }) => ({
      node: call.node,
      message: `${name}${where(ctx, call.node)} is a scatter: it has no ANE path and runs on the CPU; use torch.where with a precomputed mask, or update outside the model.`,
    }));
    // `x[...] = v` / `x[...] += v`: the `]` right before an assignment operator.
    for (const sub of ctx.nodesMatching(/\]\s*(?:[-+*/|&]?=)(?!=)/, ['subscript'])) {
      const parent = sub.parent;
      if (!parent || (parent.type !== 'assignment' && parent.type !== 'augmented_assignment') || parent.childForFieldName('left')?.id !== sub.id) continue;
      const index = sub.childrenForFieldName('subscript');
      const elements = index.length === 1 && unparen(index[0]!).type === 'tuple' ? unparen(index[0]!).namedChildren : index;
      const tensorIdx = elements.find(isTensorIndex);
      const target = sub.childForFieldName('value');
      if (!tensorIdx || !ctx.inModuleCompute(sub)) continue;
      // Dicts and lists being filled (`out[name] = x`) are Python, not tensor scatters.
      if (target?.type === 'identifier' && (isPythonValue(target, ctx) || /dict|^out$|^result/.test(target.text) || isContainerParam(target))) continue;
      if (unparen(tensorIdx).type === 'identifier' && isPythonValue(unparen(tensorIdx), ctx)) continue;
      hits.push({ node: sub, message: `In-place assignment \`${snippet(parent, 50)}\`${where(ctx, sub)} indexes with \`${snippet(tensorIdx, 30)}\`: it converts to a scatter/index_put, which has no ANE path; use torch.where(mask, new, old).` });
    }
    return hits;
  },
};

// Conditions that read tensor values (not shapes, flags or types).
const DATA_DEPENDENT = /\.item\(\)|\.any\(|\.all\(|torch\.(any|all|equal|is_nonzero|count_nonzero)\(|\.sum\(\)|\.max\(\)|\.min\(\)|\.mean\(\)|\.nonzero\(|\.tolist\(\)|\bbool\(/;

export const ANE027: Rule = {
  id: 'ANE027',
  severity: 'warning',
  title: 'Data-dependent control flow in the model',
  explanation:
    'The ANE executes a static graph. Under `torch.jit.trace` a branch or loop on tensor values is baked in for the ' +
    'example input (a silent wrong model for other inputs); under `torch.jit.script` it becomes MIL `cond`/' +
    '`while_loop`, which never runs on the ANE (smpanaro: a branch forces the CPU; ane-guide Appendix A).\n\n' +
    '**Fix:** make the branch static (shapes, config flags), compute both sides and `torch.where`, or move the ' +
    'decision outside the model (two models / a multifunction model); trace rather than script.',
  check(ctx) {
    const hits: RuleHit[] = [];
    for (const call of ctx.calls) {
      if (call.callee !== 'torch.jit.script') continue;
      hits.push({ node: call.node, severity: 'error', message: `\`${snippet(call.node)}\` scripts the model: Python control flow becomes cond/while_loop ops, which never run on the ANE; convert a torch.jit.trace of it instead.` });
    }
    for (const dec of ctx.nodes('decorator')) {
      const expr = dec.namedChildren[0];
      if (!expr || ctx.imports.resolve(expr) !== 'torch.jit.script') continue;
      const def = dec.parent?.childForFieldName('definition');
      const flow = def?.descendantsOfType(['if_statement', 'while_statement', 'for_statement']) ?? [];
      if (flow.length === 0) continue;
      hits.push({ node: dec, severity: 'error', message: `@torch.jit.script on \`${def?.childForFieldName('name')?.text ?? '?'}\` keeps its ${flow.length} if/for/while statement(s) as cond/while_loop ops, which never run on the ANE; trace it or make the control flow static.` });
    }
    const check = (stmt: Node, cond: Node | null, kind: string) => {
      if (!cond || !DATA_DEPENDENT.test(cond.text) || /is_scripting|is_tracing|isinstance|\.shape|\.dim\(|\.size\(|\.training/.test(cond.text)) return;
      if (!ctx.inModuleCompute(stmt)) return;
      hits.push({ node: cond, message: `\`${kind} ${snippet(cond, 50)}\`${where(ctx, stmt)} branches on tensor values: tracing bakes in one path, scripting makes a cond/while_loop that cannot run on the ANE; use torch.where or decide outside the model.` });
    };
    for (const s of ctx.nodes('if_statement')) check(s, s.childForFieldName('condition'), 'if');
    for (const s of ctx.nodes('while_statement')) check(s, s.childForFieldName('condition'), 'while');
    for (const s of ctx.nodes('for_statement')) {
      const right = s.childForFieldName('right');
      if (!right || !ctx.inModuleCompute(s)) continue;
      const r = unparen(right);
      // `for t in x` over a forward() tensor argument, or range(x.item()) / x.tolist().
      const method = ctx.moduleMethodOf(s)?.method;
      const fn = (() => { for (let p = s.parent; p; p = p.parent) if (p.type === 'function_definition') return p; return null; })();
      // Only parameters annotated as tensors: `x: List[Tensor]` (feature pyramids) is a static Python list.
      const tensorParams = (fn?.childForFieldName('parameters')?.namedChildren ?? [])
        .filter((q) => q.type === 'typed_parameter' || q.type === 'typed_default_parameter')
        .filter((q) => /^(torch\.)?Tensor$/.test(q.childForFieldName('type')?.text ?? ''))
        .map((q) => q.namedChildren.find((c) => c.type === 'identifier')?.text ?? q.childForFieldName('name')?.text);
      const overParam = method === 'forward' && r.type === 'identifier' && tensorParams.includes(r.text);
      if (overParam || /\.item\(\)|\.tolist\(\)|\.nonzero\(/.test(r.text)) {
        hits.push({ node: right, message: `\`for … in ${snippet(right, 40)}\`${where(ctx, s)} loops over tensor data: the trip count depends on values, so tracing unrolls it for the example input and scripting makes a while_loop that cannot run on the ANE.` });
      }
    }
    return hits;
  },
};

const CONV_LIKE = new Map([
  ['torch.nn.Conv1d', 1], ['torch.nn.Conv2d', 2], ['torch.nn.ConvTranspose1d', 1], ['torch.nn.ConvTranspose2d', 2],
  ['torch.nn.MaxPool1d', 1], ['torch.nn.MaxPool2d', 2], ['torch.nn.AvgPool1d', 1], ['torch.nn.AvgPool2d', 2],
  ['torch.nn.functional.max_pool2d', 2], ['torch.nn.functional.avg_pool2d', 2], ['torch.nn.functional.max_pool1d', 1], ['torch.nn.functional.avg_pool1d', 1],
]);
const IS_POOL = (c: string) => /Pool|pool/.test(c);

/** kernel_size / stride / dilation node of a conv or pool call, by keyword or position. */
function convArg(call: ResolvedCall, key: 'kernel_size' | 'stride' | 'dilation'): Node | undefined {
  const args = callArgs(call.node);
  const fnl = call.callee!.startsWith('torch.nn.functional.');
  const pool = IS_POOL(call.callee!);
  const pos = pool
    ? { kernel_size: fnl ? 1 : 0, stride: fnl ? 2 : 1, dilation: -1 }[key]
    : call.callee!.includes('Transpose') ? { kernel_size: 2, stride: 3, dilation: 7 }[key] : { kernel_size: 2, stride: 3, dilation: 5 }[key];
  return argument(args, key, pos >= 0 ? pos : undefined);
}

export const ANE031: Rule = {
  id: 'ANE031',
  severity: 'error',
  title: 'Kernel width above the chip\'s cap',
  explanation:
    'The fp16 convolution/pooling kernel width is capped: 13 on M1-class engines (14 is rejected; 2020 os_log "kernel ' +
    'width = 28 > 13" for an average pool), 16 from M2 (ane-guide Appendix A; its ch.12 says 15 from M4). 1-D convs ' +
    'run on the width axis, so their kernel length counts as width. The cap comes from the target chip (default M4).\n\n' +
    '**Fix:** decompose the kernel (k = k1 + k2 − 1, e.g. 9×9 → two 5×5), use reductions/adaptive pooling for ' +
    'global pools, or transpose so the long kernel runs on the height axis (cap 29–32).',
  check(ctx) {
    const facts = chipFacts(ctx.chip);
    const hits: RuleHit[] = [];
    for (const call of ctx.calls) {
      if (!call.callee || !CONV_LIKE.has(call.callee) || !ctx.moduleMethodOf(call.node)) continue;
      const k = pairValue(convArg(call, 'kernel_size'), ctx);
      if (!k) continue;
      const width = k[k.length - 1]!;
      if (width <= facts.kernelWidthCap) continue;
      hits.push({ node: call.node, message: `${shortName(call.callee)} kernel width ${width} exceeds the ${facts.id} ANE cap of ${facts.kernelWidthCap}: the layer falls off the ANE; decompose it into smaller kernels${CONV_LIKE.get(call.callee) === 1 ? ' or lay the sequence on the height axis' : ''}.` });
    }
    return hits;
  },
};

export const ANE032: Rule = {
  id: 'ANE032',
  severity: 'warning',
  title: 'Stride whose factors are not 2 or 3',
  explanation:
    'Native ANE strides factor into 2s and 3s (the native list is {2, 3, 4, 8}); strides such as 5, 7 or 10 take a ' +
    'slower decomposed path, and older engines rejected pooling strides above 2 (Apple Core AI NE rules "Convolution ' +
    'stride optimization", "Pooling stride"; ane-guide Appendix A; hollance#2).\n\n' +
    '**Fix:** use strides from {2, 3, 4, 6, 8, 9, 12, 16}, equal on both axes; pooling stride 2 or 4.',
  check(ctx) {
    const hits: RuleHit[] = [];
    for (const call of ctx.calls) {
      if (!call.callee || !CONV_LIKE.has(call.callee) || !ctx.moduleMethodOf(call.node)) continue;
      const node = convArg(call, 'stride');
      const s = pairValue(node, ctx);
      if (!s || !node) continue;
      const bad = s.find((v) => v > 1 && primeFactors(v).some((f) => f !== 2 && f !== 3));
      if (bad === undefined) continue;
      hits.push({ node: node.parent?.type === 'keyword_argument' ? node.parent : node, message: `${shortName(call.callee)} stride ${s.length > 1 ? `(${s.join(', ')})` : bad} has the factor ${primeFactors(bad).filter((f) => f > 3).join('·')}: the ANE handles strides made of 2s and 3s natively; this one takes a slower decomposed path.` });
    }
    return hits;
  },
};

export const ANE033: Rule = {
  id: 'ANE033',
  severity: 'warning',
  title: 'Dilated convolution',
  explanation:
    'Dilated convolutions compile on the ANE but are costly, the more so for large rates; 2020-era reports said they ' +
    'did not run at all (hollance). Apple\'s Core AI NE rules recommend factoring the rate into chains of 2s and 3s.\n\n' +
    '**Fix:** factor the dilation (8 → 2·2·2, 6 → 2·3) into a chain of convolutions, or use a strided/downsampled ' +
    'branch instead of a large rate (ASPP).',
  check(ctx) {
    const hits: RuleHit[] = [];
    for (const call of ctx.calls) {
      if (!call.callee || !CONV_LIKE.has(call.callee) || IS_POOL(call.callee) || !ctx.moduleMethodOf(call.node)) continue;
      const node = convArg(call, 'dilation');
      const d = pairValue(node, ctx);
      if (!d || !node) continue;
      const rate = Math.max(...d);
      if (rate <= 1) continue;
      const simple = rate === 2 || rate === 3;
      hits.push({
        node: node.parent?.type === 'keyword_argument' ? node.parent : node,
        ...(simple ? { severity: 'info' as const } : {}),
        message: simple
          ? `${shortName(call.callee)} dilation=${rate}: dilated convs run on the ANE but slower than dense ones; fine if measured.`
          : `${shortName(call.callee)} dilation=${rate}: large dilation rates are expensive on the ANE; factor it into a chain of 2s and 3s (${primeFactors(rate).join('·')}) or restructure the branch.`,
      });
    }
    return hits;
  },
};

const THREE_D = new Set(['torch.nn.Conv3d', 'torch.nn.ConvTranspose3d', 'torch.nn.functional.conv3d', 'torch.nn.functional.conv_transpose3d',
  'torch.nn.MaxPool3d', 'torch.nn.AvgPool3d', 'torch.nn.functional.max_pool3d', 'torch.nn.functional.avg_pool3d']);

export const ANE034: Rule = {
  id: 'ANE034',
  severity: 'error',
  title: '3-D convolution or pooling',
  explanation:
    'The ANE has a capability bit for 3-D convolution, but lowering fails on every chip family measured ' +
    '(ane-guide ch.4), so 3-D conv/pool layers run on the CPU/GPU.\n\n' +
    '**Fix:** factor it as (2+1)-D: a Conv2d over (H, W) with time folded into the batch or channel axis, then a ' +
    'Conv2d with a (k, 1) kernel over time.',
  check(ctx) {
    return matchCalls(ctx, THREE_D, new Set(), false).filter(({ call }) => ctx.moduleMethodOf(call.node) || call.callee!.includes('functional')).map(({ call, name }) => ({
      node: call.node,
      message: `${name}${where(ctx, call.node)} is a 3-D op: it fails to lower to the ANE on every chip and runs on the CPU/GPU; factor it into 2-D convs ((2+1)-D).`,
    }));
  },
};

const RESIZE = new Set(['torch.nn.functional.interpolate', 'torch.nn.functional.upsample', 'torch.nn.Upsample',
  'torch.nn.UpsamplingBilinear2d', 'torch.nn.UpsamplingNearest2d']);
const SAMPLERS = new Set(['torch.nn.functional.grid_sample', 'torchvision.ops.roi_align', 'torchvision.ops.RoIAlign', 'torchvision.ops.ps_roi_align']);

export const ANE035: Rule = {
  id: 'ANE035',
  severity: 'warning',
  title: 'Resize mode, factor or sampler without a good ANE path',
  explanation:
    'Resizes run on the ANE\'s texture engine, which exists from M2 (M1 uses a software fallback; ane-guide ' +
    'Appendix A). Integer factors (2, chained for 4) of nearest/bilinear are the safe form; bicubic is not supported ' +
    'by the converter, non-integer factors need general resampling, and `grid_sample` (MIL `resample`) ran on the CPU ' +
    'under Core ML (coremltools#1875).\n\n' +
    '**Fix:** nearest or bilinear with an integer scale factor, `pixel_shuffle`, or a transposed conv; keep ' +
    '`grid_sample`/`roi_align` at the model boundary.',
  check(ctx) {
    const facts = chipFacts(ctx.chip);
    const hits: RuleHit[] = [];
    for (const call of ctx.calls) {
      if (!call.callee) continue;
      if (SAMPLERS.has(call.callee)) {
        if (!ctx.moduleMethodOf(call.node)) continue;
        hits.push({ node: call.node, severity: call.callee.endsWith('grid_sample') ? 'error' : 'warning', message: `${shortName(call.callee)}${where(ctx, call.node)} samples at data-dependent positions (MIL resample/crop_resize): Core ML runs it on the CPU; keep it at the model boundary.` });
        continue;
      }
      if (!RESIZE.has(call.callee) || !ctx.moduleMethodOf(call.node)) continue;
      const args = callArgs(call.node);
      const fnl = call.callee.includes('functional');
      const mode = stringValue(argument(args, 'mode', fnl ? 3 : 2), ctx) ?? (call.callee.endsWith('Bilinear2d') ? 'bilinear' : 'nearest');
      const scaleNode = argument(args, 'scale_factor', fnl ? 2 : 1);
      const scale = pairValue(scaleNode, ctx);
      const name = shortName(call.callee);
      if (mode === 'bicubic' || mode === 'area' || mode === 'trilinear') {
        const fix = mode === 'bicubic' && keywordNode(call.node, 'mode')?.value.type === 'string'
          ? { title: 'Use bilinear resize', node: keywordNode(call.node, 'mode')!.value, newText: `"bilinear"` } : undefined;
        hits.push({ node: call.node, ...(fix ? { fix } : {}), severity: 'error', message: `${name}(mode="${mode}") has no ANE resize path (${mode === 'bicubic' ? 'bicubic is not supported by the converter' : 'it lowers to pooling/general resampling'}); use "bilinear" or "nearest" with an integer factor.` });
      } else if (scale && scale.some((s) => !Number.isInteger(s))) {
        hits.push({ node: scaleNode!.parent?.type === 'keyword_argument' ? scaleNode!.parent : scaleNode!, message: `${name} scale_factor=${scale.map(formatNumber).join('×')} is not an integer: the ANE resizes natively by integer factors (2, chained for 4); use an integer factor or resize on the host.` });
      } else if (!facts.textureEngine) {
        hits.push({ node: call.node, message: `${name}(mode="${mode}") on ${facts.id}: resize has no texture engine before M2, so the ANE uses a slow software fallback; prefer pixel_shuffle or a transposed conv.` });
      }
    }
    return hits;
  },
};

export const ANE036: Rule = {
  id: 'ANE036',
  severity: 'warning',
  title: 'torch.roll / cyclic shift',
  explanation:
    'There is "no native shifting support for ANE" (Apple ml-vision-transformers-ane `attention_utils.py`, which ' +
    'supports only non-shifted windows); `torch.roll` becomes slice+concat copies or falls back (ane-guide ' +
    'Appendix A: `sliding_windows` has no path). Swin\'s shifted windows are the common case.\n\n' +
    '**Fix:** non-shifted windows with cross-window mixing by convolution, or precomputed slices/concats.',
  check(ctx) {
    return matchCalls(ctx, new Set(['torch.roll']), new Set(['roll'])).map(({ call, name }) => ({
      node: call.node,
      message: `${name}${where(ctx, call.node)} is a cyclic shift: the ANE has no native shift, so it becomes slice/concat copies or leaves the ANE; use non-shifted windows or precomputed slices.`,
    }));
  },
};

const ARG_FNS = new Set(['torch.argmax', 'torch.argmin', 'torch.topk', 'torch.sort', 'torch.argsort', 'torch.kthvalue', 'torch.multinomial']);
const ARG_METHODS = new Set(['argmax', 'argmin', 'topk', 'sort', 'argsort', 'kthvalue', 'multinomial']);

export const ANE039: Rule = {
  id: 'ANE039',
  severity: 'warning',
  title: 'argmax / topk / sort inside the model',
  explanation:
    'Arg-reductions on the ANE are capped at a 2048-element axis (a vocab-size argmax cannot run), top-k/sort need ' +
    'M2+ on the direct path, and Core ML\'s placement model never puts argmax on the engine (ane-guide ch.17, ch.18, ' +
    'Appendix A). Greedy decoding inside the graph therefore ends in a CPU segment.\n\n' +
    '**Fix:** return the logits (or the last position only) and do argmax/top-k/sampling on the CPU.',
  check(ctx) {
    return matchCalls(ctx, ARG_FNS, ARG_METHODS).map(({ call, name }) => ({
      node: call.node,
      message: `${name}${where(ctx, call.node)} runs on the CPU under Core ML (arg-reductions are capped at 2048 elements on the ANE; top-k/sort have no reliable ANE path); return logits and do it on the host.`,
    }));
  },
};

const NO_PATH_FNS = new Map([
  ['torch.remainder', 'mod'], ['torch.fmod', 'mod'], ['torch.logical_and', 'logical_and'], ['torch.logical_or', 'logical_or'],
  ['torch.logical_xor', 'logical_xor'], ['torch.prod', 'reduce_prod'], ['torch.tan', 'tan'], ['torch.asin', 'asin'],
  ['torch.acos', 'acos'], ['torch.arcsin', 'asin'], ['torch.arccos', 'acos'], ['torch.sinh', 'sinh'], ['torch.cosh', 'cosh'],
  ['torch.atanh', 'atanh'], ['torch.asinh', 'asinh'], ['torch.acosh', 'acosh'], ['torch.nn.functional.one_hot', 'one_hot'],
  ['torch.nonzero', 'non_zero'], ['torch.cumprod', 'cumprod'],
]);
const NO_PATH_METHODS = new Map([
  ['remainder', 'mod'], ['fmod', 'mod'], ['logical_and', 'logical_and'], ['logical_or', 'logical_or'], ['logical_xor', 'logical_xor'],
  ['prod', 'reduce_prod'], ['tan', 'tan'], ['asin', 'asin'], ['acos', 'acos'], ['sinh', 'sinh'], ['cosh', 'cosh'],
  ['atanh', 'atanh'], ['asinh', 'asinh'], ['acosh', 'acosh'], ['nonzero', 'non_zero'],
]);

export const ANE040: Rule = {
  id: 'ANE040',
  severity: 'error',
  title: 'Op with no ANE path',
  explanation:
    'These ops have no Neural Engine implementation and run on the host (ane-guide Appendix A op matrix, measured on ' +
    'M1/M2/M5): `remainder`/`fmod` (MIL `mod`), `logical_and/or/xor`, `prod` (`reduce_prod`), `tan`, inverse and ' +
    'hyperbolic trig, `one_hot`, `nonzero`. `sin`/`cos` are native only from M3 (host polynomial on M1/M2), so they ' +
    'are flagged when the target chip is older.\n\n' +
    '**Fix:** precompute (positional and RoPE tables, one-hot via comparisons), use `minimum`/`maximum`/`mul` for ' +
    'logical ops, `torch.where` for masks.',
  check(ctx) {
    const facts = chipFacts(ctx.chip);
    const hits: RuleHit[] = [];
    const fns = new Map(NO_PATH_FNS);
    const methods = new Map(NO_PATH_METHODS);
    if (!facts.sinCosNative) for (const f of ['sin', 'cos']) { fns.set(`torch.${f}`, f); methods.set(f, f); }
    for (const { call, name } of matchCalls(ctx, new Set(fns.keys()), new Set(methods.keys()))) {
      const mil = call.callee ? fns.get(call.callee) : methods.get(methodName(call.node)!);
      // `.prod()` on a Python shape (x.shape.numel-like) is not a tensor op.
      if (!call.callee && /shape|size\(/.test(call.node.childForFieldName('function')?.text ?? '')) continue;
      const chipNote = mil === 'sin' || mil === 'cos' ? ` before M3 (target ${facts.id})` : '';
      hits.push({ node: call.node, message: `${name}${where(ctx, call.node)} lowers to MIL ${mil}, which has no ANE path${chipNote}: it runs on the CPU and splits the graph; precompute it or rewrite with supported ops.` });
    }
    return hits;
  },
};

const PAD_LAYERS = new Map([
  ['torch.nn.ReflectionPad1d', 'reflect'], ['torch.nn.ReflectionPad2d', 'reflect'], ['torch.nn.ReplicationPad1d', 'replicate'],
  ['torch.nn.ReplicationPad2d', 'replicate'], ['torch.nn.CircularPad1d', 'circular'], ['torch.nn.CircularPad2d', 'circular'],
  ['torch.nn.ReflectionPad3d', 'reflect'], ['torch.nn.ReplicationPad3d', 'replicate'],
]);

export const ANE044: Rule = {
  id: 'ANE044',
  severity: 'warning',
  title: 'Reflect / replicate / circular padding',
  explanation:
    'Constant (zero) padding is native everywhere. Reflect/replicate padding needs the texture engine, which exists ' +
    'from M2 (software on M1); circular padding lowers to slices and concats (ane-guide ch.17, Appendix A; hollance#1). ' +
    'The severity depends on the target chip.\n\n' +
    '**Fix:** zero padding (`padding_mode="zeros"`, `F.pad(mode="constant")`) where the model tolerates it, or pad ' +
    'on the host.',
  check(ctx) {
    const facts = chipFacts(ctx.chip);
    const hits: RuleHit[] = [];
    const report = (node: Node, mode: string, what: string, fix?: RuleHit['fix']) => {
      const native = facts.textureEngine && mode !== 'circular';
      hits.push({
        node, ...(fix ? { fix } : {}), ...(native ? { severity: 'info' as const } : {}),
        message: native
          ? `${what}: ${mode} padding runs on the ${facts.id} texture engine, not the conv datapath; zero padding is cheaper if the model allows it.`
          : `${what}: ${mode} padding has no native path on ${facts.id} (${mode === 'circular' ? 'it lowers to slices and concats' : 'software fallback before M2'}); use zero padding or pad on the host.`,
      });
    };
    for (const call of ctx.calls) {
      if (!call.callee || !ctx.moduleMethodOf(call.node)) continue;
      const layerMode = PAD_LAYERS.get(call.callee);
      if (layerMode) { report(call.node, layerMode, shortName(call.callee)); continue; }
      if (call.callee === 'torch.nn.functional.pad') {
        const modeNode = argument(callArgs(call.node), 'mode', 2);
        const mode = stringValue(modeNode, ctx);
        if (mode && mode !== 'constant') report(call.node, mode, `F.pad(mode="${mode}")`);
        continue;
      }
      if (/^torch\.nn\.Conv(Transpose)?[12]d$/.test(call.callee)) {
        const pm = keywordNode(call.node, 'padding_mode');
        const mode = pm && stringValue(pm.value, ctx);
        if (pm && mode && mode !== 'zeros') {
          const fix = pm.value.type === 'string' ? { title: 'Use zero padding (padding_mode="zeros")', node: pm.value, newText: '"zeros"' } : undefined;
          report(pm.node, mode, `${shortName(call.callee)}(padding_mode="${mode}")`, fix);
        }
      }
    }
    return hits;
  },
};

const NMS = new Set(['torchvision.ops.nms', 'torchvision.ops.batched_nms', 'torchvision.ops.boxes.nms', 'torchvision.ops.boxes.batched_nms']);

export const ANE045: Rule = {
  id: 'ANE045',
  severity: 'warning',
  title: 'Non-maximum suppression inside the model',
  explanation:
    'NMS (MIL `non_maximum_suppression`) is never placed on the ANE; it runs on the CPU/GPU and its data-dependent ' +
    'output size ends the static graph (ane-guide Appendix A).\n\n' +
    '**Fix:** end the Core ML model at boxes and scores; run NMS in Vision or on the CPU.',
  check(ctx) {
    const hits: RuleHit[] = [];
    for (const call of ctx.calls) {
      const isNms = (call.callee && NMS.has(call.callee))
        || (!call.callee && (call.method === 'nms' || call.method === 'batched_nms') && /^(box_ops|ops|boxes)\s*\.\s*(batched_)?nms\s*\(/.test(call.text));
      if (!isNms || !ctx.moduleMethodOf(call.node)) continue;
      hits.push({ node: call.node, message: `\`${snippet(call.node, 40)}\`${where(ctx, call.node)} is non-maximum suppression: it never runs on the ANE and has a data-dependent output size; end the model at boxes/scores and run NMS on the host (Vision/CPU).` });
    }
    return hits;
  },
};
