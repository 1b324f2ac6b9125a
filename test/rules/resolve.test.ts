import assert from 'node:assert/strict';
import { test } from 'node:test';
import { initPythonParser, parsePython } from '../../server/src/python/parser';
import { canonicalize, ImportResolver } from '../../server/src/python/resolve';

/** Resolves the expression on the last line of `source` (an expression statement). */
async function resolveLast(source: string): Promise<string | undefined> {
  const parser = await initPythonParser();
  const tree = parsePython(parser, source);
  try {
    const resolver = new ImportResolver(tree.rootNode.descendantsOfType(['import_statement', 'import_from_statement', 'class_definition', 'function_definition']));
    const statements = tree.rootNode.namedChildren;
    const expr = statements[statements.length - 1]!.namedChild(0);
    return resolver.resolve(expr);
  } finally {
    tree.delete();
  }
}

test('every import form resolves to the canonical dotted name', async () => {
  const cases: Array<[string, string, string]> = [
    ['import torch', 'torch.nn.LSTM', 'torch.nn.LSTM'],
    ['import torch.nn', 'torch.nn.Linear', 'torch.nn.Linear'],
    ['import torch.nn as nn', 'nn.LSTM', 'torch.nn.LSTM'],
    ['from torch import nn', 'nn.GRU', 'torch.nn.GRU'],
    ['from torch.nn import LSTM, Linear as L', 'L', 'torch.nn.Linear'],
    ['from torch.nn import LSTM, Linear as L', 'LSTM', 'torch.nn.LSTM'],
    ['import torch.nn.functional as F', 'F.linear', 'torch.nn.functional.linear'],
    ['from torch.nn import functional as F', 'F.linear', 'torch.nn.functional.linear'],
    ['import coremltools as ct', 'ct.precision.FLOAT32', 'coremltools.precision.FLOAT32'],
    ['import coremltools as ct', 'ct.ComputeUnit.CPU_ONLY', 'coremltools.ComputeUnit.CPU_ONLY'],
    ['from coremltools import ComputeUnit, precision', 'precision.FLOAT32', 'coremltools.precision.FLOAT32'],
    ['from coremltools import ComputeUnit, precision', 'ComputeUnit.CPU_AND_GPU', 'coremltools.ComputeUnit.CPU_AND_GPU'],
    ['import coremltools.converters as conv', 'conv.convert', 'coremltools.convert'],
    ['import coremltools.converters.mil.input_types as it', 'it.RangeDim', 'coremltools.RangeDim'],
    ['from coremltools.converters.mil.input_types import RangeDim as R', 'R', 'coremltools.RangeDim'],
    ['import coremltools', 'coremltools.models.model.MLModel', 'coremltools.models.MLModel'],
    ['from torch.nn.modules.normalization import LayerNorm', 'LayerNorm', 'torch.nn.LayerNorm'],
    ['import torch.nn as nn', '(nn).LSTM', 'torch.nn.LSTM'],
  ];
  for (const [imports, expr, expected] of cases) {
    assert.equal(await resolveLast(`${imports}\n${expr}\n`), expected, `${imports} / ${expr}`);
  }
});

test('names that are not imported, relative imports and local definitions do not resolve', async () => {
  const cases: Array<[string, string]> = [
    ['class LSTM: pass', 'LSTM'],
    ['from .models import nn', 'nn.LSTM'],
    ['import torchvision as nn', 'nn.LSTM.foo'],
    ['from torch.nn import *\nclass LSTM: pass', 'LSTM'],
    ['', 'nn.LSTM'],
    ['import torch.nn as nn', 'nn.LSTM(1, 2).weight'],
  ];
  for (const [source, expr] of cases) {
    const got = await resolveLast(`${source}\n${expr}\n`);
    assert.ok(got === undefined || !got.startsWith('torch.nn.LSTM'), `${source} / ${expr} → ${got}`);
  }
  assert.equal(await resolveLast('from torch.nn import *\nLSTM\n'), 'torch.nn.LSTM');
});

test('canonicalize normalises deep module paths only', () => {
  assert.equal(canonicalize('torch.nn.modules.rnn.LSTM'), 'torch.nn.LSTM');
  assert.equal(canonicalize('coremltools.converters._converters_entry.convert'), 'coremltools.convert');
  assert.equal(canonicalize('coremltools.precision.FLOAT32'), 'coremltools.precision.FLOAT32');
  assert.equal(canonicalize('mypkg.nn.modules.rnn.LSTM'), 'mypkg.nn.modules.rnn.LSTM');
});
