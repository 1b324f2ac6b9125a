// ANE001: converting with compute_precision=FLOAT32 bars the whole ML program from the ANE.
import type { Rule, RuleHit } from './rule';
import { callArgs, snippet } from '../syntax';

export const ANE001: Rule = {
  id: 'ANE001',
  severity: 'error',
  title: 'fp32 compute precision keeps the model off the ANE',
  explanation:
    'An ML program treats its declared types as the minimum precision. The Neural Engine computes in fp16 only, ' +
    'so a model converted with `compute_precision=ct.precision.FLOAT32` can never be placed on it (coremltools ' +
    '"Typed execution": only the NE is barred when a model is typed fp32; Apple\'s ml-stable-diffusion hard-codes ' +
    'CPU_AND_GPU for fp32 because "ANE doesn\'t support FLOAT32").\n\n' +
    '**Fix:** drop the argument (FLOAT16 is the default for mlprogram since coremltools 7) or pass ' +
    '`ct.precision.FLOAT16`. If a few layers need fp32, use `ct.transform.FP16ComputePrecision(op_selector=...)` ' +
    'so only those ops stay fp32.',
  check(ctx) {
    const hits: RuleHit[] = [];
    for (const call of ctx.calls) {
      if (call.callee !== 'coremltools.convert') continue;
      const arg = callArgs(call.node).keywords.get('compute_precision');
      if (!arg) continue;
      if (ctx.resolveValue(arg.value) === 'coremltools.precision.FLOAT32') {
        // `ct.precision.FLOAT32` → `ct.precision.FLOAT16`: same spelling, so the import still covers it.
        const fix = arg.value.type === 'attribute' && arg.value.childForFieldName('attribute')?.text === 'FLOAT32'
          ? { title: 'Use fp16 compute precision (FLOAT16)', node: arg.value, newText: `${arg.value.childForFieldName('object')!.text}.FLOAT16` }
          : undefined;
        hits.push({
          ...(fix ? { fix } : {}),
          node: arg.node,
          message: `\`${snippet(arg.node)}\` types the whole ML program as fp32, which bars it from the Neural Engine (it can only run on CPU/GPU).`,
        });
      }
    }
    return hits;
  },
};
