// ANE005: normalisation eps below what fp16 can represent.
import type { Rule, RuleHit } from './rule';
import { argument, callArgs } from '../syntax';
import { evalNumber, formatNumber, toFp16 } from '../values';
import type { AnalysisContext } from '../context';
import type { Node } from 'web-tree-sitter';
import { stringValue } from './util';

const FP16_MAX = 65504;
// Mask fills: value positions of the calls that write a fill value into a tensor.
const FILL_METHODS = new Map([['masked_fill', 1], ['masked_fill_', 1], ['fill_', 0]]);
const FILL_FUNCTIONS = new Map([['torch.full', 1], ['torch.where', 2], ['torch.masked_fill', 2]]);

/** `float('-inf')`, `-float('inf')`, `-math.inf`, `torch.finfo(torch.float32).min`: a description, else undefined. */
function infiniteFill(node: Node, ctx: AnalysisContext): string | undefined {
  const n = node.type === 'parenthesized_expression' ? node.namedChildren[0] ?? node : node;
  if (n.type === 'call') {
    const fn = n.childForFieldName('function');
    if (fn?.type === 'identifier' && fn.text === 'float' && !ctx.imports.resolveName('float')) {
      const s = stringValue(n.childForFieldName('arguments')?.namedChildren[0], ctx)?.trim().toLowerCase();
      if (s === '-inf' || s === '-infinity') return `\`${n.text}\` (-inf)`;
    }
    return undefined;
  }
  if (n.type === 'unary_operator' && n.childForFieldName('operator')?.text === '-') {
    const arg = n.childForFieldName('argument')!;
    const canonical = ctx.imports.resolve(arg);
    if (canonical === 'math.inf' || canonical === 'torch.inf' || canonical === 'numpy.inf') return `\`${n.text}\` (-inf)`;
    if (arg.type === 'call' && arg.childForFieldName('function')?.text === 'float') {
      const s = stringValue(arg.childForFieldName('arguments')?.namedChildren[0], ctx)?.trim().toLowerCase();
      if (s === 'inf' || s === 'infinity') return `\`${n.text}\` (-inf)`;
    }
    return undefined;
  }
  if (n.type === 'attribute' && n.childForFieldName('attribute')?.text === 'min') {
    const obj = n.childForFieldName('object');
    if (obj?.type === 'call') {
      const callee = ctx.imports.resolve(obj.childForFieldName('function'));
      const dtype = ctx.resolveValue(obj.childForFieldName('arguments')?.namedChildren[0]);
      if ((callee === 'torch.finfo' || callee === 'numpy.finfo') && dtype && /float32|\.float$|float64|double/.test(dtype)) {
        return `\`${n.text}\` (≈ -3.4e38)`;
      }
    }
  }
  return undefined;
}

function maskHits(ctx: AnalysisContext): RuleHit[] {
  const hits: RuleHit[] = [];
  const seen = new Set<number>();
  const push = (node: Node, what: string) => {
    if (seen.has(node.id)) return;
    seen.add(node.id);
    hits.push({
      node,
      fix: { title: 'Use -1e4 as the mask value', node, newText: '-1e4' },
      message: `Mask value ${what} is not representable in fp16 (max 65504): the ANE sees -inf and its softmax gives NaN; use -1e4 (Apple ml-ane-transformers) or -40000.`,
    });
  };
  // Infinite fills anywhere inside a model class (buffers and forward alike).
  const candidates = [
    ...ctx.calls.filter((c) => !c.callee && !c.method && /^float\s*\(\s*["']-inf/i.test(c.text)).map((c) => c.node),
    ...ctx.nodesMatching(/-\s*(?:float\s*\(\s*["']inf|[A-Za-z_]\w*\.inf\b)/, ['unary_operator']),
  ];
  for (const node of candidates) {
    const what = infiniteFill(node, ctx);
    if (what && ctx.moduleMethodOf(node)) push(node, what);
  }
  for (const call of ctx.calls) {
    const isFinfo = call.callee !== undefined && /finfo$/.test(call.callee);
    const pos = call.callee ? FILL_FUNCTIONS.get(call.callee) : FILL_METHODS.get(call.method ?? '');
    if ((!isFinfo && pos === undefined) || !ctx.moduleMethodOf(call.node)) continue;
    // torch.finfo(torch.float32).min: the finfo call sits under the `.min` attribute.
    const parent = isFinfo ? call.node.parent : null;
    if (parent?.type === 'attribute') {
      const what = infiniteFill(parent, ctx);
      if (what) push(parent, what);
    }
    // Finite fills beyond fp16 (-1e9, -1e10) become -inf too.
    // Only literals that can exceed fp16 (`-1e9`, `-100000`) or names need evaluating.
    if (pos === undefined || !/\de[+-]?\d|\d{5,}|[A-Za-z_]\w*\s*\)\s*$/.test(call.text)) continue;
    const valueNode = callArgs(call.node).positional[pos] ?? callArgs(call.node).keywords.get('value')?.value;
    const v = evalNumber(valueNode, ctx);
    if (valueNode && v !== undefined && Math.abs(v) > FP16_MAX) push(valueNode, `\`${valueNode.text}\` (${formatNumber(v)})`);
  }
  return hits;
}

const MIN_EPS = 1e-7;
// Where eps sits in each API's signature (positional index) so `nn.LayerNorm(768, 1e-12)` is caught too.
const EPS_POSITION = new Map<string, [label: string, position: number]>([
  ['torch.nn.LayerNorm', ['nn.LayerNorm', 1]],
  ['torch.nn.functional.layer_norm', ['F.layer_norm', 4]],
  ['torch.nn.RMSNorm', ['nn.RMSNorm', 1]],
  ['torch.nn.GroupNorm', ['nn.GroupNorm', 2]],
]);

export const ANE005: Rule = {
  id: 'ANE005',
  severity: 'warning',
  title: 'eps or mask constant outside fp16 range',
  explanation:
    'The Neural Engine computes in fp16, whose smallest subnormal is about 6e-8 (2⁻²⁴). An eps such as 1e-12 ' +
    '(the Hugging Face BERT/DistilBERT default) rounds to 0, so a near-constant row divides by ~0 and produces ' +
    'inf/NaN. Apple changed DistilBERT\'s eps to 1e-7 for the ANE (ml-ane-transformers `distilbert.py`); Apple\'s ' +
    'Core AI Neural Engine rules give the same advice.\n\n' +
    'Mask fills such as `float(\'-inf\')`, `torch.finfo(torch.float32).min` or `-1e9` are not representable ' +
    'either: they become -inf, which the ANE softmax does not handle (a fully masked row gives NaN); Apple uses ' +
    '-1e4 (ml-ane-transformers) or -40000 (Core AI Neural Engine rules "Causal mask").\n\n' +
    '**Fix:** use `eps >= 1e-7`; 1e-5 (the PyTorch default) is safe. Fill masks with `-1e4`.',
  check(ctx) {
    const hits: RuleHit[] = maskHits(ctx);
    for (const call of ctx.calls) {
      const spec = call.callee && EPS_POSITION.get(call.callee);
      if (!spec) continue;
      const args = callArgs(call.node);
      const epsNode = argument(args, 'eps', spec[1]);
      const eps = evalNumber(epsNode, ctx);
      if (!epsNode || eps === undefined || eps <= 0 || eps >= MIN_EPS) continue;
      const half = toFp16(eps);
      const inFp16 = half === 0 ? 'rounds to 0 in fp16' : `becomes the fp16 subnormal ${formatNumber(Number(half.toPrecision(3)))}`;
      hits.push({
        // A literal is replaced in place; a named constant may be shared, so it is left to the user.
        ...(epsNode.type !== 'identifier' ? { fix: { title: 'Use eps=1e-5', node: epsNode, newText: '1e-5' } } : {}),
        // The whole `eps=...` when passed by keyword (its node is at hand: `parent` is a walk from the root).
        node: args.keywords.get('eps')?.node ?? epsNode,
        message: `${spec[0]} eps=${formatNumber(eps)} ${inFp16} (smallest fp16 subnormal ≈ 6e-8); use eps ≥ 1e-7, e.g. 1e-5.`,
      });
    }
    return hits;
  },
};
