// The graph JSON text is read straight into the C++ Graph (graph_parse.cpp's direct reader), which falls back
// to the Json tree when it meets anything unusual. An already-parsed object always takes the tree path, so
// run(text) and run(JSON.parse(text)) must agree — same result or same error — for any IR, valid or not.
// Hundreds of random mutations of a small graph that touches every field the reader knows check that.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { ADDON_PATH, type AneNative, GraphBuilder, chipM4, loadAddon, pseudoRandom } from './addonGraph';

const missing = existsSync(ADDON_PATH) ? false : `skipped: ${ADDON_PATH} is not built (run npm run build:native)`;
const addon: AneNative | undefined = missing ? undefined : loadAddon();
const A = () => addon as AneNative;

// Without `devices`, each op's placement.device is read from the IR: the options exercise that field too.
const OPTIONS = JSON.stringify({ chip: chipM4(), seed: 3, execute: true, threads: 1 });

function baseGraph() {
  const built = new GraphBuilder()
    .input('x', [1, 4, 6, 6])
    .constant('w', [3, 4, 3, 3], pseudoRandom(3 * 4 * 9, 1))
    .constant('b', [3], pseudoRandom(3, 2))
    .op({ name: 'conv', op: 'conv', inputs: ['x', 'w', 'b'], outputs: [['c', [1, 3, 6, 6]]], attrs: { strides: [1, 1], pad: [1, 1, 1, 1], dilations: [1, 1], groups: 1 } })
    .op({ name: 'relu', op: 'relu', inputs: ['c'], outputs: [['r', undefined]], attrs: { tags: ['a', 'b'], flag: true, note: 'x' } })
    .op({ name: 'scale', op: 'mul', inputs: ['r', 'k'], outputs: [['m', [1, 3, 6, 6]]] })
    .op({ name: 'mean', op: 'reduce_mean', inputs: ['m'], outputs: [['y', [1, 3, 6, 1]]], attrs: { axes: [-1], keep_dims: true } })
    .build(['y', 'm']);
  const g = built.graph as unknown as Record<string, any>;
  g.constants.push({ name: 'k', type: { dtype: 'fp32', shape: [1] }, value: [2] });
  g.constants.push({ name: 'unused', type: { dtype: 'fp16', shape: [2] }, unavailable: 'external data file u.bin is missing' });
  g.ops[2].placement = { device: 'cpu', reason: 'test', rule: 'ANE040' };
  g.ops[3].source = { file: 'm.py', line: 3 };
  g.ops[3].outputs[0].type.shape[3] = 'w';  // a symbolic dimension
  delete g.ops[1].originalOp;
  return { graph: g, weights: built.weights };
}

function outcome(run: () => ReturnType<AneNative['run']>): string {
  try {
    const { result, outputs } = run();
    const r = JSON.parse(result);
    delete r.timingMs;  // wall-clock times differ between any two runs
    const out = Object.entries(outputs).map(([name, o]) => `${name}:${Array.from(o.fp16).join(',')}|${Array.from(o.fp32).join(',')}`);
    return `ok ${JSON.stringify(r)} ${out.join(' ')}`;
  } catch (e) {
    return `error ${(e as Error).message}`;
  }
}

function agree(text: string, weights: Uint8Array, what: string) {
  let object: unknown;
  try {
    object = JSON.parse(text);
  } catch {
    return;  // only valid JSON has an object form
  }
  const direct = outcome(() => A().run(text, weights, OPTIONS, {}));
  const tree = outcome(() => A().run(object as string, weights, OPTIONS, {}));
  assert.equal(direct, tree, what);
}

/** Every [container, key] in a JSON value, the root excluded. */
function slots(v: unknown, out: Array<[any, string | number]> = []): Array<[any, string | number]> {
  if (Array.isArray(v)) v.forEach((x, i) => { out.push([v, i]); slots(x, out); });
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) { out.push([v, k]); slots(x, out); }
  return out;
}

const REPLACEMENTS: unknown[] = [
  null, true, false, 0, -1, 1.5, 2, 3, 1e300, 9.5e15, 'fp16', 'ane', 'cpu', 'gpu', 'x', 'c', 'batch', '', 'é"\\\n',
  [], [1], [1, 'a'], ['a', 1], [true, 2], [[1]], [null], {}, { name: 'q' }, { name: 'q', type: { dtype: 'fp32', shape: [1] } },
  { offset: 0, byteLength: 4 }, { device: 'cpu' }, { dtype: 'fp32' },
];

test('run(text) and run(object) agree on the base graph and its pretty-printed text', { skip: missing }, () => {
  const { graph, weights } = baseGraph();
  const text = JSON.stringify(graph);
  assert.match(outcome(() => A().run(text, weights, OPTIONS, {})), /^ok /);
  agree(text, weights, 'base graph');
  agree(JSON.stringify(graph, null, 2), weights, 'pretty-printed');
});

test('run(text) and run(object) agree on 800 random mutations of the IR', { skip: missing }, () => {
  let s = 12345;
  const rand = (n: number) => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s % n; };
  for (let i = 0; i < 800; i++) {
    const { graph, weights } = baseGraph();
    const all = slots(graph);
    const edits = 1 + rand(2);
    const done: string[] = [];
    for (let e = 0; e < edits; e++) {
      const [holder, key] = all[rand(all.length)]!;
      if (!Array.isArray(holder) && rand(4) === 0) {
        delete holder[key];
        done.push(`delete ${key}`);
      } else {
        const v = REPLACEMENTS[rand(REPLACEMENTS.length)];
        holder[key] = structuredClone(v);
        done.push(`${key} = ${JSON.stringify(v)}`);
      }
    }
    agree(JSON.stringify(graph), weights, `mutation ${i}: ${done.join('; ')}`);
  }
});

test('a repeated key keeps its first value, as the Json tree always did', { skip: missing }, () => {
  const { graph, weights } = baseGraph();
  const text = JSON.stringify(graph);
  const cases: Array<[string, string]> = [
    ['"name":"relu",', '"name":"relu","name":"other",'],
    ['"dtype":"fp32","shape":[1,4,6,6]', '"dtype":"fp32","shape":[1,4,6,6],"dtype":"int8"'],
    ['"device":"cpu"', '"device":"cpu","device":"ane"'],
  ];
  const reference = outcome(() => A().run(text, weights, OPTIONS, {}));
  for (const [from, to] of cases) {
    assert.ok(text.includes(from), from);
    assert.equal(outcome(() => A().run(text.replace(from, to), weights, OPTIONS, {})), reference, to);
  }
  // Repeated attributes are the exception: the last one wins, as in the tree path's map assignment.
  const twice = text.replace('"groups":1', '"groups":7,"groups":1');
  assert.equal(outcome(() => A().run(twice, weights, OPTIONS, {})), reference);
});

test('escaped names and malformed text give the tree reader\'s errors', { skip: missing }, () => {
  const { graph, weights } = baseGraph();
  graph.ops[0].name = 'con\u00e9v"\\/\t\u20ac\u{1F600}';
  agree(JSON.stringify(graph), weights, 'escapes');
  // Non-ASCII names come back intact (the result is handed to V8 as Latin-1 only when it is pure ASCII).
  assert.equal(JSON.parse(A().run(JSON.stringify(graph), weights, OPTIONS, {}).result).layers[0].name, graph.ops[0].name);
  const text = JSON.stringify(graph);
  assert.throws(() => A().run(text.slice(0, -1), weights, OPTIONS, {}), /graphJson is not valid JSON: expected '}' at offset \d+/);
  assert.throws(() => A().run(text + 'x', weights, OPTIONS, {}), /graphJson is not valid JSON: unexpected text after the JSON value/);
  const deep = text.replace('"note":"x"', `"note":${'['.repeat(70)}${']'.repeat(70)}`);
  assert.throws(() => A().run(deep, weights, OPTIONS, {}), /graphJson: JSON nests deeper than 64 levels/);
  const missingOps = JSON.stringify({ ...graph, ops: undefined });
  assert.throws(() => A().run(missingOps, weights, OPTIONS, {}), /graph IR: graph: missing field 'ops'/);
});
