// ANE026: recurrent layers have no Neural Engine path at all.
import type { Rule, RuleHit } from './rule';
import { snippet } from '../syntax';

const RECURRENT = new Set(['LSTM', 'GRU', 'RNN', 'LSTMCell', 'GRUCell', 'RNNCell'].map((n) => `torch.nn.${n}`));

export const ANE026: Rule = {
  id: 'ANE026',
  severity: 'error',
  title: 'Recurrent layer has no ANE path',
  explanation:
    'Core ML has no Neural Engine implementation of LSTM, GRU or RNN layers (confirmed by an Apple engineer in ' +
    'coremltools#1780; no path on any chip family per ane-guide). The layer runs on the CPU, which splits the model ' +
    'into ANE/CPU segments with a transfer at every boundary.\n\n' +
    '**Fix:** for a fixed sequence length, unroll the recurrence into 1×1 convolutions/matmuls plus activations, ' +
    'or replace it with convolution or attention blocks; otherwise keep the recurrent part in a separate CPU model.',
  check(ctx) {
    const hits: RuleHit[] = [];
    for (const call of ctx.calls) {
      if (call.callee && RECURRENT.has(call.callee)) {
        const layer = call.callee.slice('torch.nn.'.length);
        hits.push({
          node: call.node,
          message: `${layer} (\`${snippet(call.node)}\`) has no Neural Engine path: Core ML runs it on the CPU and splits the graph around it.`,
        });
      }
    }
    // `class MyLSTM(nn.LSTM)` builds the same layer without a call to it.
    for (const cls of ctx.nodes('class_definition')) {
      for (const base of cls.childForFieldName('superclasses')?.namedChildren ?? []) {
        const canonical = ctx.imports.resolve(base);
        if (canonical && RECURRENT.has(canonical)) {
          hits.push({
            node: base,
            message: `\`${cls.childForFieldName('name')?.text ?? 'class'}\` subclasses ${canonical.slice(9)}, which has no Neural Engine path: Core ML runs it on the CPU.`,
          });
        }
      }
    }
    return hits;
  },
};
