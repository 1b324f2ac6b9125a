// ANE046: compute units that exclude the Neural Engine.
import type { Rule, RuleHit } from './rule';
import { callArgs, snippet } from '../syntax';

const EXCLUDING = new Map([
  ['coremltools.ComputeUnit.CPU_ONLY', 'CPU_ONLY'],
  ['coremltools.ComputeUnit.CPU_AND_GPU', 'CPU_AND_GPU'],
]);
const TAKES_COMPUTE_UNITS = new Map([
  ['coremltools.convert', 'ct.convert'],
  ['coremltools.models.MLModel', 'ct.models.MLModel'],
  ['coremltools.models.CompiledMLModel', 'ct.models.CompiledMLModel'],
]);

export const ANE046: Rule = {
  id: 'ANE046',
  severity: 'warning',
  title: 'Compute units exclude the ANE',
  explanation:
    '`ComputeUnit.CPU_ONLY` and `ComputeUnit.CPU_AND_GPU` tell Core ML never to use the Neural Engine, so nothing ' +
    'you optimise for the ANE takes effect (coremltools "new conversion options"; hollance, "running on the ANE"). ' +
    'Even `ALL` is only a preference: Core ML may still pick the GPU.\n\n' +
    '**Fix:** use `ct.ComputeUnit.CPU_AND_NE` (removes the GPU option, so ANE residency is easy to verify) or ' +
    '`ct.ComputeUnit.ALL`, then check placement with MLComputePlan or the Xcode performance report.',
  check(ctx) {
    const hits: RuleHit[] = [];
    for (const call of ctx.calls) {
      const api = call.callee && TAKES_COMPUTE_UNITS.get(call.callee);
      if (!api) continue;
      const arg = callArgs(call.node).keywords.get('compute_units');
      if (!arg) continue;
      const unit = EXCLUDING.get(ctx.resolveValue(arg.value) ?? '');
      if (unit) {
        const last = arg.value.type === 'attribute' ? arg.value.childForFieldName('attribute')?.text : undefined;
        const fix = last === unit
          ? { title: 'Use ComputeUnit.CPU_AND_NE', node: arg.value, newText: `${arg.value.childForFieldName('object')!.text}.CPU_AND_NE` }
          : undefined;
        hits.push({
          ...(fix ? { fix } : {}),
          node: arg.node,
          message: `\`${snippet(arg.node)}\` in ${api} excludes the Neural Engine (${unit}); use ct.ComputeUnit.CPU_AND_NE or ALL to let the model run on the ANE.`,
        });
      }
    }
    return hits;
  },
};
