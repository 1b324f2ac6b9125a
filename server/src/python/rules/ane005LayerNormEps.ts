// ANE005: normalisation eps below what fp16 can represent.
import type { Rule, RuleHit } from './rule';
import { argument, callArgs } from '../syntax';
import { evalNumber, formatNumber, toFp16 } from '../values';

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
  title: 'Normalisation eps underflows in fp16',
  explanation:
    'The Neural Engine computes in fp16, whose smallest subnormal is about 6e-8 (2⁻²⁴). An eps such as 1e-12 ' +
    '(the Hugging Face BERT/DistilBERT default) rounds to 0, so a near-constant row divides by ~0 and produces ' +
    'inf/NaN. Apple changed DistilBERT\'s eps to 1e-7 for the ANE (ml-ane-transformers `distilbert.py`); Apple\'s ' +
    'Core AI Neural Engine rules give the same advice.\n\n' +
    '**Fix:** use `eps >= 1e-7`; 1e-5 (the PyTorch default) is safe.',
  check(ctx) {
    const hits: RuleHit[] = [];
    for (const call of ctx.calls) {
      const spec = call.callee && EPS_POSITION.get(call.callee);
      if (!spec) continue;
      const epsNode = argument(callArgs(call.node), 'eps', spec[1]);
      const eps = evalNumber(epsNode, ctx);
      if (!epsNode || eps === undefined || eps <= 0 || eps >= MIN_EPS) continue;
      const half = toFp16(eps);
      const inFp16 = half === 0 ? 'rounds to 0 in fp16' : `becomes the fp16 subnormal ${formatNumber(Number(half.toPrecision(3)))}`;
      hits.push({
        // A literal is replaced in place; a named constant may be shared, so it is left to the user.
        ...(epsNode.type !== 'identifier' ? { fix: { title: 'Use eps=1e-5', node: epsNode, newText: '1e-5' } } : {}),
        node: epsNode.parent?.type === 'keyword_argument' ? epsNode.parent : epsNode,
        message: `${spec[0]} eps=${formatNumber(eps)} ${inFp16} (smallest fp16 subnormal ≈ 6e-8); use eps ≥ 1e-7, e.g. 1e-5.`,
      });
    }
    return hits;
  },
};
