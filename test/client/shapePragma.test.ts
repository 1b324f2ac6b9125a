import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findClassLine, formatShapeList, parseShapeList, pragmaComment, pragmaEdit } from '../../client/src/shapePragma';

test('parseShapeList reads tuples, lists and a bare shape', () => {
  assert.deepEqual(parseShapeList('(1, 3, 224, 224)'), { ok: true, shapes: [[1, 3, 224, 224]] });
  assert.deepEqual(parseShapeList(' (1, 3, 224, 224), (1, 128) '), { ok: true, shapes: [[1, 3, 224, 224], [1, 128]] });
  assert.deepEqual(parseShapeList('[1,16,80],[1,16]'), { ok: true, shapes: [[1, 16, 80], [1, 16]] });
  assert.deepEqual(parseShapeList('(5,)'), { ok: true, shapes: [[5]] });
  assert.deepEqual(parseShapeList('1, 3, 32, 32'), { ok: true, shapes: [[1, 3, 32, 32]] });
});

test('parseShapeList rejects what the tracer cannot use, with a reason', () => {
  const bad: Array<[string, RegExp]> = [
    ['', /one shape per forward\(\) argument/],
    ['(1, -1, 224)', /"-1" is not a positive whole number/],
    ['(1, None)', /"None" is not a positive whole number/],
    ['(1, 0, 3)', /Dimension 0 must be at least 1/],
    ['(1, 3', /Cannot read/],
    ['(1, 3]', /Mismatched brackets/],
    ['()', /at least one dimension/],
    ['(65536, 65536, 2)', /limit is 2\^31/],
    ['(1, 2.5)', /"2.5" is not a positive whole number/],
  ];
  for (const [text, message] of bad) {
    const result = parseShapeList(text);
    assert.equal(result.ok, false, text);
    if (!result.ok) assert.match(result.error, message, text);
  }
});

test('formatting round-trips through the parser', () => {
  const shapes = [[1, 3, 224, 224], [7], [1, 128]];
  assert.equal(formatShapeList(shapes), '(1, 3, 224, 224), (7,), (1, 128)');
  assert.equal(pragmaComment(shapes), '# ane: inputs=(1, 3, 224, 224), (7,), (1, 128)');
  const parsed = parseShapeList(formatShapeList(shapes));
  assert.deepEqual(parsed, { ok: true, shapes });
});

test('pragmaEdit goes above decorators with the class indentation', () => {
  const lines = [
    'import torch',
    'if True:',
    '    @register',
    '    @other(x=1)',
    '    class Net(nn.Module):',
    '        pass',
  ];
  assert.deepEqual(pragmaEdit(lines, 5, [[1, 3, 8, 8]]), { line: 2, replace: false, text: '    # ane: inputs=(1, 3, 8, 8)' });
  assert.deepEqual(pragmaEdit(['class A(nn.Module):', '  pass'], 1, [[2]]), { line: 0, replace: false, text: '# ane: inputs=(2,)' });
  assert.throws(() => pragmaEdit(lines, 99, [[1]]), /outside the document/);
});

test('pragmaEdit rewrites an existing pragma instead of doubling it, keeping module=', () => {
  const lines = ['# ane: inputs=(1, 2)', '@dec', 'class Net(nn.Module):'];
  assert.deepEqual(pragmaEdit(lines, 3, [[1, 4]]), { line: 0, replace: true, text: '# ane: inputs=(1, 4)' });
  const withModule = ['  # ane: module=pkg.Net', '  class Net(nn.Module):'];
  assert.deepEqual(pragmaEdit(withModule, 2, [[3]]), { line: 0, replace: true, text: '  # ane: inputs=(3,); module=pkg.Net' });
  // An ordinary comment is not a pragma.
  assert.deepEqual(pragmaEdit(['# the model', 'class Net(nn.Module):'], 2, [[1]]), { line: 1, replace: false, text: '# ane: inputs=(1,)' });
});

test('findClassLine locates the class for a ct.convert lens', () => {
  const lines = ['import coremltools as ct', 'class Classifier(nn.Module):', '    pass', 'class ClassifierHead:', 'm = ct.convert(x)'];
  assert.equal(findClassLine(lines, 'Classifier'), 2);
  assert.equal(findClassLine(lines, 'models.ClassifierHead'), 4);
  assert.equal(findClassLine(lines, 'Missing'), undefined);
});
