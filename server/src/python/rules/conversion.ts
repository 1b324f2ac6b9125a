// Conversion and deployment family: EnumeratedShapes limits, old formats and targets, literal weight
// sizes above the per-model limit, stateful models and state widths.
import type { Node } from 'web-tree-sitter';
import type { AnalysisContext } from '../context';
import { argument, callArgs, enclosing, sequenceElements, snippet } from '../syntax';
import { evalNumber, formatNumber } from '../values';
import type { Rule, RuleHit } from './rule';
import { keywordNode, pairValue, stringValue } from './util';

/** Number of shapes in a literal list, or a comprehension over a literal range(). */
function shapeCount(node: Node | undefined, ctx: AnalysisContext): number | undefined {
  if (!node) return undefined;
  const seq = sequenceElements(node);
  if (seq) return seq.length;
  if (node.type === 'list_comprehension' || node.type === 'generator_expression') {
    const clauses = node.namedChildren.filter((c) => c.type === 'for_in_clause');
    if (clauses.length !== 1 || node.namedChildren.some((c) => c.type === 'if_clause')) return undefined;
    const right = clauses[0]!.childForFieldName('right');
    if (right?.type !== 'call' || right.childForFieldName('function')?.text !== 'range') return undefined;
    const args = callArgs(right).positional.map((a) => evalNumber(a, ctx));
    if (args.length === 0 || args.some((a) => a === undefined)) return undefined;
    const [start, stop, step] = args.length === 1 ? [0, args[0]!, 1] : [args[0]!, args[1]!, args[2] ?? 1];
    return step > 0 ? Math.max(0, Math.ceil((stop - start) / step)) : undefined;
  }
  if (node.type === 'identifier') {
    const rhs = ctx.assignedBefore(node.text, node);
    return rhs ? shapeCount(rhs, ctx) : undefined;
  }
  return undefined;
}

export const ANE054: Rule = {
  id: 'ANE054',
  severity: 'error',
  title: 'More than 128 enumerated shapes',
  explanation:
    'coremltools allows at most 128 shapes in `ct.EnumeratedShapes`; every shape is specialised at compile time and ' +
    'only the default is preallocated (coremltools `flexible-inputs`).\n\n' +
    '**Fix:** keep a handful of size buckets (pad inputs up to the next bucket), with the most common as default.',
  check(ctx) {
    const hits: RuleHit[] = [];
    for (const call of ctx.calls) {
      if (call.callee !== 'coremltools.EnumeratedShapes') continue;
      const n = shapeCount(argument(callArgs(call.node), 'shapes', 0), ctx);
      if (n !== undefined && n > 128) hits.push({ node: call.node, message: `ct.EnumeratedShapes with ${n} shapes exceeds coremltools' limit of 128; use a few size buckets instead.` });
    }
    return hits;
  },
};

export const ANE016: Rule = {
  id: 'ANE016',
  severity: 'warning',
  title: 'EnumeratedShapes with LayerNorm',
  explanation:
    'A model with `nn.LayerNorm(2048)` and `ct.EnumeratedShapes` did not run on the ANE (175 ms) while the same model ' +
    'with a fixed shape ran there (20 ms) (coremltools#1909): the enumerated lowering of layer_norm can become ' +
    'shape-dynamic. Enumerated shapes are also compiled per shape, and the first call at a non-default shape is slower.\n\n' +
    '**Fix:** check every enumerated shape with MLComputePlan; fall back to one static model per shape if any leaves ' +
    'the ANE.',
  check(ctx) {
    const enums = ctx.calls.filter((c) => c.callee === 'coremltools.EnumeratedShapes');
    if (enums.length === 0) return [];
    // The LayerNorm may be anywhere in the file: the first one is a file fact.
    if (ctx.facts1.firstLayerNormRow === undefined) return [];
    return enums.map((e) => ({
      node: e.node,
      citesLine: 'layerNorm',
      message: `ct.EnumeratedShapes with a LayerNorm in this file (line {line}): LayerNorm models with enumerated shapes have been seen to leave the ANE (coremltools#1909); verify each shape with MLComputePlan.`,
    }));
  },
};

const OLD_TARGETS = /^coremltools\.target\.(iOS1[1-4]|macOS1[0-1](_\d+)?|macOS10_\d+|watchOS[5-7]|tvOS1[1-4])$/;

export const ANE047: Rule = {
  id: 'ANE047',
  severity: 'info',
  title: 'Old NeuralNetwork format or deployment target',
  explanation:
    'NeuralNetwork (.mlmodel) models have untyped intermediates — fp16 on the ANE, fp32 on the CPU — so numerics ' +
    'depend on placement, and the broadcastable/ND layers emitted for iOS 13+ tended to fall off the ANE (hollance; ' +
    'coremltools#1196). Targets below iOS 15 / macOS 12 force this format. ML programs are the basis for fp16 I/O ' +
    '(iOS 16), weight decompression on the ANE (iOS 17) and states/SDPA (iOS 18) (coremltools `typed-execution`).\n\n' +
    '**Fix:** `convert_to="mlprogram"` (the default since coremltools 7) and `minimum_deployment_target=ct.target.iOS16` ' +
    'or newer.',
  check(ctx) {
    const hits: RuleHit[] = [];
    for (const call of ctx.calls) {
      if (call.callee !== 'coremltools.convert') continue;
      const ct = keywordNode(call.node, 'convert_to');
      if (ct && stringValue(ct.value, ctx) === 'neuralnetwork') {
        const q = ct.value.type === 'string' ? ct.value.text[0] : undefined;
        hits.push({ node: ct.node, ...(q ? { fix: { title: 'Convert to an ML program (convert_to="mlprogram")', node: ct.value, newText: `${q}mlprogram${q}` } } : {}), message: `\`${snippet(ct.node)}\` produces the old NeuralNetwork format: untyped intermediates, broadcastable layers that fall off the ANE, no fp16 I/O or ANE weight decompression; use an ML program.` });
      }
      const tgt = keywordNode(call.node, 'minimum_deployment_target');
      const resolved = tgt && ctx.resolveValue(tgt.value);
      if (tgt && resolved && OLD_TARGETS.test(resolved)) {
        hits.push({ node: tgt.node, message: `\`${snippet(tgt.node)}\` is below iOS 15/macOS 12, which forces the NeuralNetwork format; target iOS 16/macOS 13 or newer for fp16 I/O and ML-program ANE features.` });
      }
    }
    return hits;
  },
};

const IOS_LIMIT = 1024 ** 3;
const MACOS_LIMIT = 2 * 1024 ** 3;

/** Parameter count of a layer call when all its sizes are literal; undefined otherwise. */
function literalParams(call: Node, callee: string, ctx: AnalysisContext): number | undefined {
  const args = callArgs(call);
  if (callee === 'torch.nn.Linear') {
    const i = evalNumber(argument(args, 'in_features', 0), ctx);
    const o = evalNumber(argument(args, 'out_features', 1), ctx);
    return i !== undefined && o !== undefined ? i * o : undefined;
  }
  if (callee === 'torch.nn.Embedding') {
    const n = evalNumber(argument(args, 'num_embeddings', 0), ctx);
    const d = evalNumber(argument(args, 'embedding_dim', 1), ctx);
    return n !== undefined && d !== undefined ? n * d : undefined;
  }
  if (/^torch\.nn\.Conv[12]d$/.test(callee)) {
    const i = evalNumber(argument(args, 'in_channels', 0), ctx);
    const o = evalNumber(argument(args, 'out_channels', 1), ctx);
    const k = pairValue(argument(args, 'kernel_size', 2), ctx);
    const g = evalNumber(argument(args, 'groups', 6), ctx) ?? 1;
    if (i === undefined || o === undefined || !k) return undefined;
    const area = k.length === 1 ? (callee.endsWith('2d') ? k[0]! * k[0]! : k[0]!) : k.reduce((a, b) => a * b, 1);
    return (i / g) * o * area;
  }
  return undefined;
}

function gib(bytes: number): string {
  return `${formatNumber(Math.round((bytes / 1024 ** 3) * 100) / 100)} GiB`;
}

export const ANE048: Rule = {
  id: 'ANE048',
  severity: 'warning',
  title: 'Model weights above the per-model ANE limit',
  explanation:
    'The ANE loads weights per model file into a limited address space: about 1 GB per model on iOS and 2 GB on ' +
    'macOS (ANEMLL `docs/convert.md`); Apple\'s Stable Diffusion recipe must split the UNet into < 1 GB chunks for ' +
    'the iPhone ANE. Larger models silently run on the CPU (smpanaro). This rule adds up the fp16 weights of layers ' +
    'whose sizes are literal in a module\'s `__init__` (loops and computed sizes are not counted, so it is a lower ' +
    'bound).\n\n' +
    '**Fix:** chunk the model into several mlpackages (embedding / body chunks / head), or palettize/quantize the ' +
    'weights (≤ 6 bits for Stable Diffusion on iOS).',
  check(ctx) {
    const hits: RuleHit[] = [];
    const perClass = new Map<number, { name: string; node: Node; params: number; largest: { node: Node; params: number } }>();
    for (const call of ctx.calls) {
      if (!call.callee || !/^torch\.nn\.(Linear|Embedding|Conv[12]d)$/.test(call.callee)) continue;
      const m = ctx.moduleMethodOf(call.node);
      if (!m || m.method !== '__init__') continue;
      // Layers built in loops are counted once at most: skip them (the sum is a lower bound).
      const at = call.node.startIndex;
      const around = (loop: Node) => loop.startIndex < at && loop.endIndex > at;
      if (ctx.nodes('for_statement').some(around) || ctx.nodes('while_statement').some(around)) continue;
      if (/\bfor\b/.test(ctx.lineAt(call.node.startPosition.row)) && enclosing(call.node, ['list_comprehension', 'generator_expression'])) continue;
      const p = literalParams(call.node, call.callee, ctx);
      if (p === undefined) continue;
      const entry = perClass.get(m.cls.node.id) ?? { name: m.cls.name, node: m.cls.node.childForFieldName('name') ?? m.cls.node, params: 0, largest: { node: call.node, params: 0 } };
      entry.params += p;
      if (p > entry.largest.params) entry.largest = { node: call.node, params: p };
      perClass.set(m.cls.node.id, entry);
    }
    for (const e of perClass.values()) {
      const bytes = e.params * 2;
      if (bytes <= IOS_LIMIT) continue;
      hits.push({
        node: e.node,
        ...(bytes > MACOS_LIMIT ? { severity: 'error' as const } : {}),
        message: `\`${e.name}\` has ≥ ${gib(bytes)} of fp16 weights from literal layer sizes (largest: \`${snippet(e.largest.node, 40)}\`, ${gib(e.largest.params * 2)}), above the ANE's ~1 GB per-model limit on iOS${bytes > MACOS_LIMIT ? ' and ~2 GB on macOS' : ''}; chunk the model or palettize the weights.`,
      });
    }
    return hits;
  },
};

export const ANE051: Rule = {
  id: 'ANE051',
  severity: 'warning',
  title: 'Stateful model (ct.StateType)',
  explanation:
    'Core ML stateful models (KV cache as `ct.StateType`, updated in place) often fail to run on the ANE ' +
    '(coremltools#2553, #2325); coremltools\' own stateful KV example converts with CPU_AND_GPU, and data-indexed ' +
    '`slice_update` failed to lower (coreai-models#5). Apple\'s ANE rules use a read-only KV pattern instead.\n\n' +
    '**Fix:** functional KV I/O: pass the cache in, return only the new K/V slice, and write it into the cache on the ' +
    'host; verify placement with MLComputePlan if you keep states.',
  check(ctx) {
    const hits: RuleHit[] = [];
    for (const call of ctx.calls) {
      if (call.callee !== 'coremltools.convert') continue;
      const states = keywordNode(call.node, 'states');
      if (!states) continue;
      const n = sequenceElements(states.value)?.length;
      hits.push({ node: states.node, message: `\`${snippet(states.node, 50)}\` makes a stateful model${n ? ` with ${n} state${n === 1 ? '' : 's'}` : ''}: in-place state updates often keep Core ML models off the ANE; prefer functional KV I/O (return the new slice, update on the host).` });
    }
    return hits;
  },
};

export const ANE052: Rule = {
  id: 'ANE052',
  severity: 'error',
  title: 'State width not a multiple of 32',
  explanation:
    'A `ct.StateType` whose last dimension is not a multiple of 32 fp16 elements failed on the ANE (M4, Xcode 16.3) ' +
    'while width 256 worked (coremltools#2631) — consistent with the 64-byte last-axis alignment (ANE010).\n\n' +
    '**Fix:** pad the state\'s last dimension to a multiple of 32 and slice on the host.',
  check(ctx) {
    const hits: RuleHit[] = [];
    for (const call of ctx.calls) {
      if (call.callee !== 'coremltools.StateType') continue;
      const wrapped = argument(callArgs(call.node), 'wrapped_type', 0);
      if (wrapped?.type !== 'call') continue;
      const shape = sequenceElements(argument(callArgs(wrapped), 'shape', undefined) ?? wrapped);
      const last = shape && evalNumber(shape[shape.length - 1], ctx);
      if (last === undefined || last === null || last % 32 === 0) continue;
      hits.push({ node: call.node, message: `ct.StateType last dimension ${last} is not a multiple of 32: states of this width fail on the ANE (coremltools#2631); pad it to ${Math.ceil(last / 32) * 32}.` });
    }
    return hits;
  },
};
