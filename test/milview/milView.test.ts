import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import * as oniguruma from 'vscode-oniguruma';
import * as textmate from 'vscode-textmate';
import { findChip } from '../../common/chips';
import { coremlModelType } from '../../server/src/coreml/coremlSchema';
import { readMilTextString, readMlmodelBytes } from '../../server/src/coreml/readCoreml';
import { placeModel } from '../../server/src/milview/modelView';
import { milOpPositions, renderMil } from '../../server/src/milview/renderMil';
import { ROOT } from '../helpers';

const t16 = (dims: number[]) => ({ tensorType: { dataType: 10, rank: dims.length, dimensions: dims.map((d) => ({ constant: { size: d } })) } });
const str = (s: string) => ({ type: { tensorType: { dataType: 2 } }, immediateValue: { tensor: { strings: { values: [s] } } } });
const bind = (name: string) => ({ arguments: [{ name }] });

/** x → cond(pred) { relu } { sigmoid } → y, as a protobuf ML program. */
function condProgram(): Uint8Array {
  const op = (type: string, name: string, inputs: Record<string, unknown>, out: string, blocks: unknown[] = []) => ({
    type, inputs, outputs: [{ name: out, type: t16([1, 8]) }], attributes: { name: str(name) }, blocks,
  });
  const model = {
    specificationVersion: 7,
    mlProgram: {
      version: 1,
      functions: {
        main: {
          inputs: [{ name: 'x', type: t16([1, 8]) }, { name: 'p', type: { tensorType: { dataType: 1, rank: 0 } } }],
          opset: 'CoreML6',
          block_specializations: {
            CoreML6: {
              outputs: ['y'],
              operations: [op('cond', 'branch', { pred: bind('p') }, 'y', [
                { outputs: ['a'], operations: [op('relu', 'r', { x: bind('x') }, 'a')] },
                { outputs: ['b'], operations: [op('sigmoid', 's', { x: bind('x') }, 'b')] },
              ])],
            },
          },
        },
      },
    },
  };
  const type = coremlModelType();
  return type.encode(type.fromObject(model)).finish();
}

test('nested cond blocks: flattened ops keep their block path, render indented, placed with the cond (ANE027)', () => {
  const r = readMlmodelBytes(condProgram(), 'cond.mlmodel');
  assert.deepEqual(r.graph.ops.map((o) => o.op), ['cond', 'relu', 'sigmoid']);
  assert.deepEqual(r.details.views.map((v) => v.path), [[], ['branch_true'], ['branch_false']]);
  const placed = placeModel(r.graph, findChip('M4'));
  assert.deepEqual(placed.ops.map((o) => o.placement?.rule), ['ANE027', 'ANE027', 'ANE027']);
  const mil = renderMil(placed, { functionName: 'main', opset: 'CoreML6' }, { views: r.details.views, blockOutputs: r.details.blockOutputs });
  assert.equal(mil.text, [
    '// cond',
    'main[CoreML6](%x: (1, 8, fp16)(Tensor),',
    '              %p: (bool)(Scalar)) {',
    '  block0() {',
    '    %y: (1, 8, fp16)(Tensor) = cond(pred=%p, name="branch")  // → CPU (ANE027)',
    '      branch_true() {',
    '        %a: (1, 8, fp16)(Tensor) = relu(x=%x, name="r")  // → CPU (ANE027)',
    '      } -> (%a)',
    '      branch_false() {',
    '        %b: (1, 8, fp16)(Tensor) = sigmoid(x=%x, name="s")  // → CPU (ANE027)',
    '      } -> (%b)',
    '  } -> (%y)',
    '}',
    '',
  ].join('\n'));
  assert.deepEqual(mil.opLines, [5, 7, 10]);
  assert.deepEqual(milOpPositions(placed, { views: r.details.views }), [{ line: 5, column: 5 }, { line: 7, column: 9 }, { line: 10, column: 9 }]);
  assert.deepEqual(mil.opColumns.map((c) => c.start), [5, 9, 9]);
});

test('compiled MIL text: consts resolved into conv attributes, BLOBFILE weights, fp32 compute → ANE001', () => {
  const text = `program(1.3)
[buildInfo = dict<string, string>({{"coremltools-version", "8.1"}})]
{
    func main<ios18>(tensor<fp32, [1, 3, 64, 64]> x) {
            tensor<int32, [2]> s = const()[name = string("s"), val = tensor<int32, [2]>([2, 2])];
            string pt = const()[name = string("pt"), val = string("same")];
            tensor<int32, [2]> d = const()[name = string("d"), val = tensor<int32, [2]>([1, 1])];
            int32 g = const()[name = string("g"), val = int32(1)];
            tensor<fp32, [8, 3, 3, 3]> w = const()[name = string("w"), val = tensor<fp32, [8, 3, 3, 3]>(BLOBFILE(path = string("@model_path/weights/weight.bin"), offset = uint64(64)))];
            tensor<fp32, [1, 8, 32, 32]> y = conv(x = x, weight = w, strides = s, pad_type = pt, dilations = d, groups = g)[name = string("conv1")];
        } -> (y);
}
`;
  const r = readMilTextString(text, 'model.mil', null);
  const conv = r.graph.ops[0]!;
  assert.deepEqual([conv.op, conv.name, conv.inputs], ['conv', 'conv1', ['x', 'w']]);
  assert.deepEqual(conv.attrs, { strides: [2, 2], pad_type: 'same', dilations: [1, 1], groups: 1, kernel_sizes: [3, 3], pad: [0, 1, 0, 1] });
  assert.equal(conv.source?.line, 10);
  assert.deepEqual(r.graph.constants.find((c) => c.name === 'w')?.type, { dtype: 'fp32', shape: [8, 3, 3, 3] });
  assert.equal(placeModel(r.graph, findChip('M4')).ops[0]!.placement?.rule, 'ANE001');
  assert.throws(() => readMilTextString(text.replace('conv(x = x', 'conv(x = nowhere'), 'model.mil', null), /model\.mil: op "conv1" \(conv\) reads "nowhere", which nothing before it defines/);
  assert.throws(() => readMilTextString(text.replace('-> (y);', '-> (y)'), 'model.mil', null), /model\.mil: line 12: expected ";", found "}"/);
});

async function milGrammar(): Promise<textmate.IGrammar> {
  const wasm = readFileSync(join(ROOT, 'node_modules', 'vscode-oniguruma', 'release', 'onig.wasm'));
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  const registry = new textmate.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (p: string[]) => new oniguruma.OnigScanner(p),
      createOnigString: (s: string) => new oniguruma.OnigString(s),
    }),
    loadGrammar: async (scope) => {
      if (scope !== 'source.mil') return null;
      const path = join(ROOT, 'syntaxes', 'mil.tmLanguage.json');
      return textmate.parseRawGrammar(readFileSync(path, 'utf8'), path);
    },
  });
  const g = await registry.loadGrammar('source.mil');
  assert.ok(g);
  return g;
}

/** The innermost scope of the first token with each text. */
function scopes(g: textmate.IGrammar, line: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const t of g.tokenizeLine(line, textmate.INITIAL).tokens) {
    const text = line.slice(t.startIndex, t.endIndex);
    if (!m.has(text)) m.set(text, t.scopes.at(-1)!);
  }
  return m;
}

test('MIL grammar: the MIL view and compiled model.mil lines', async () => {
  const g = await milGrammar();
  const view = scopes(g, '    %ArgMax: (1, 512, 512, int32)(Tensor) = reduce_argmax(x=%transpose_158, axis=3, keep_dims=False, name="ArgMax")  // → CPU (ANE039)');
  assert.equal(view.get('%ArgMax'), 'variable.other.value.mil');
  assert.equal(view.get('int32'), 'storage.type.dtype.mil');
  assert.equal(view.get('Tensor'), 'storage.type.kind.mil');
  assert.equal(view.get('reduce_argmax'), 'entity.name.function.op.mil');
  assert.equal(view.get('axis'), 'variable.parameter.mil');
  assert.equal(view.get('3'), 'constant.numeric.mil');
  assert.equal(view.get('False'), 'constant.language.mil');
  assert.equal(view.get('ArgMax'), 'string.quoted.double.mil');
  assert.equal(view.get('ANE039'), 'constant.other.rule-id.mil');
  assert.equal(view.get('CPU'), 'markup.deleted.device.mil');
  const colon = scopes(g, '    %Conv2d_0/Conv2D:0: (1, 16, 96, 96, fp32)(Tensor) = conv(x=%image__0, name="c")');
  assert.equal(colon.get('%Conv2d_0/Conv2D:0'), 'variable.other.value.mil');
  assert.equal(scopes(g, 'main[CoreML5](%sub_2: (1, 512, 512, 3, fp32)(Tensor)) {').get('CoreML5'), 'constant.other.opset.mil');
  const compiled = scopes(g, '            tensor<fp16, [1, 10]> var_3 = mul(x = x, y = y)[name = tensor<string, []>("op_3_cast_fp16")];');
  assert.equal(compiled.get('tensor'), 'storage.type.mil');
  assert.equal(compiled.get('fp16'), 'storage.type.dtype.mil');
  assert.equal(compiled.get('mul'), 'entity.name.function.op.mil');
  assert.equal(compiled.get('op_3_cast_fp16'), 'string.quoted.double.mil');
  const func = scopes(g, '    func main<ios16>(tensor<fp16, [1, 10]> x, tensor<fp16, [1, 10]> y) {');
  assert.equal(func.get('func'), 'storage.type.function.mil');
  assert.equal(func.get('main'), 'entity.name.function.mil');
  assert.equal(func.get('ios16'), 'constant.other.opset.mil');
  assert.equal(scopes(g, '    val = tensor<fp16, [8]>(BLOBFILE(path = string("@model_path/weights/weight.bin"), offset = uint64(64)))').get('BLOBFILE'), 'support.function.blobfile.mil');
});
