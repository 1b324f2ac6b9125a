import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findRunTargets } from '../../server/src/python/analyzePython';
import { py } from './analyze';

test('findRunTargets lists nn.Module subclasses through aliases and local bases, with pragmas above decorators', async () => {
  const targets = await findRunTargets(py(
    'import torch',
    'from torch import nn',
    'from torch.nn import Module as M',
    'import pytorch_lightning as pl',
    '',
    '# ane: inputs=(1, 3, 224, 224), (1, 10)',
    '@some.decorator',
    '@another',
    'class A(nn.Module):',
    '    pass',
    'class B(M):',
    '    pass',
    'class C(B):',
    '    class Inner(torch.nn.Sequential):',
    '        pass',
    'class D(pl.LightningModule):',
    '    pass',
    'class NotAModule(object):',
    '    pass',
    'class E(Unknown):',
    '    pass',
  ));
  assert.deepEqual(targets.classes.map((c) => [c.name, c.line]), [['A', 9], ['B', 11], ['C', 13], ['Inner', 14], ['D', 16]]);
  assert.deepEqual(targets.classes[0]!.inputsPragma, [[1, 3, 224, 224], [1, 10]]);
  assert.equal(targets.classes[0]!.pragmaLine, 6);
  assert.equal(targets.classes[1]!.inputsPragma, undefined);
});

test('a top-level class with an inputs pragma is a run target even when its base cannot be followed here', async () => {
  const targets = await findRunTargets(py(
    'from blocks import Backbone',
    'import torchvision.models as tv',
    '',
    '# ane: inputs=(1, 8)',
    'class Net(Backbone):',
    '    pass',
    '# ane: inputs=(1, 3, 64, 64)',
    'class R(tv.ResNet):',
    '    pass',
    '# ane: inputs=(1, 3, 64, 64)',
    'class W(wrap(tv.resnet18)):',
    '    pass',
    'class NoPragma(Backbone):',
    '    pass',
    'def factory():',
    '    # ane: inputs=(1, 8)',
    '    class Local(Backbone):',
    '        pass',
    '    return Local',
  ));
  // The tracer checks these are modules when they run ("X in f.py is not an nn.Module subclass" otherwise);
  // without a pragma, or nested where the tracer cannot reach it, such a class is not offered.
  assert.deepEqual(targets.classes.map((c) => [c.name, c.line, c.inputsPragma]), [
    ['Net', 5, [[1, 8]]], ['R', 8, [[1, 3, 64, 64]]], ['W', 11, [[1, 3, 64, 64]]],
  ]);
});

test('findRunTargets traces ct.convert back to the class and reads TensorType shapes', async () => {
  const targets = await findRunTargets(py(
    'import torch, coremltools as ct',
    'class Net(torch.nn.Module):',
    '    pass',
    'model = Net().eval()',
    'example = torch.rand(1, 3, 64, 64)',
    'traced = torch.jit.trace(model, example)',
    'ml = ct.convert(',
    '    traced,',
    '    inputs=[ct.TensorType(name="x", shape=(1, 3, 224, 224)), ct.TensorType(shape=ct.Shape(shape=(1, 10)))],',
    ')',
    'ml2 = ct.convert(torch.jit.trace(Net(), torch.zeros((2, 8))))',
    '# ane: module=Net inputs=(1, 4)',
    'ml3 = ct.convert(load_somehow())',
    'ml4 = ct.convert(load_somehow(), inputs=[ct.TensorType(shape=(1, ct.RangeDim(1, 64)))])',
    'from encoders import Encoder',
    'ml5 = ct.convert(torch.jit.trace(Encoder(), torch.rand(1, 8)))',
  ));
  assert.deepEqual(targets.convertCalls[0], { line: 7, className: 'Net', inputShapes: [[1, 3, 224, 224], [1, 10]] });
  assert.deepEqual(targets.convertCalls[1], { line: 11, className: 'Net', inputShapes: [[2, 8]] });
  assert.deepEqual(targets.convertCalls[2], { line: 13, className: 'Net', inputShapes: [[1, 4]], pragmaLine: 12 });
  const last = targets.convertCalls[3]!;
  assert.equal(targets.convertCalls.length, 5);
  assert.equal(last.className, undefined);
  assert.equal(last.inputShapes, undefined);
  assert.match(last.reason ?? '', /`load_somehow\(\.\.\.\)` is not an nn\.Module class defined in this file/);
  assert.match(last.reason ?? '', /flexible ct\.RangeDim dimension/);
  const imported = targets.convertCalls[4]!;
  assert.deepEqual(imported.inputShapes, [[1, 8]]);
  assert.match(imported.reason ?? '', /`Encoder` is imported from `encoders`, not defined in this file/);
});
