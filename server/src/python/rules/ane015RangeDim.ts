// ANE015: flexible (RangeDim) input shapes run on the ANE only at the default shape.
import type { Rule, RuleHit } from './rule';
import { argument, callArgs } from '../syntax';
import { evalNumber, formatNumber } from '../values';

export const ANE015: Rule = {
  id: 'ANE015',
  severity: 'warning',
  title: 'Flexible RangeDim shape runs on the ANE only at its default',
  explanation:
    'For range-flexible models Core ML runs on the Neural Engine only for the *default* shape; every other size ' +
    'goes to the GPU/CPU (Apple engineer, developer forums thread 724930; coremltools#2370 measured ~0% ANE and ' +
    '60–100 it/s for random RangeDim shapes vs ~375 it/s at the default). Unbounded ranges (`upper_bound=-1`) are ' +
    'not allowed for ML programs at all.\n\n' +
    '**Fix:** use fixed shapes, or `ct.EnumeratedShapes` (each enumerated shape is compiled; verify each with ' +
    'MLComputePlan), or one static model/function per size bucket. From iOS 17.4, the load-time hint ' +
    '`optimization_hints={"reshapeFrequency": ct.ReshapeFrequency.Infrequent}` can let flexible models use the NE.',
  check(ctx) {
    const hits: RuleHit[] = [];
    for (const call of ctx.calls) {
      if (call.callee !== 'coremltools.RangeDim') continue;
      const args = callArgs(call.node);
      // RangeDim(lower_bound=1, upper_bound=-1, default=None, symbol=None)
      const lowerNode = argument(args, 'lower_bound', 0);
      const upperNode = argument(args, 'upper_bound', 1);
      const defaultNode = argument(args, 'default', 2);
      const lower = lowerNode ? evalNumber(lowerNode, ctx) : 1;
      const upper = upperNode ? evalNumber(upperNode, ctx) : -1;
      const def = defaultNode ? evalNumber(defaultNode, ctx) : lower;
      const show = (v: number | undefined, node: typeof lowerNode) => (v !== undefined ? formatNumber(v) : node ? `\`${node.text}\`` : '?');
      if (upper !== undefined && upper < 0) {
        hits.push({
          node: call.node,
          message: `Unbounded ct.RangeDim(lower_bound=${show(lower, lowerNode)}, upper_bound=-1): ML programs reject unbounded ranges, and flexible shapes run on the Neural Engine only at the default size (${show(def, defaultNode)}). Give an upper bound, or better use fixed shapes or ct.EnumeratedShapes.`,
        });
      } else {
        hits.push({
          node: call.node,
          message: `ct.RangeDim(${show(lower, lowerNode)}…${show(upper, upperNode)}): only the default size (${show(def, defaultNode)}) runs on the Neural Engine; other sizes in the range fall back to the GPU/CPU. Prefer fixed shapes or ct.EnumeratedShapes.`,
        });
      }
    }
    return hits;
  },
};
