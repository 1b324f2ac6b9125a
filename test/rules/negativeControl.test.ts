// Negative control: an ANE-optimized transformer block (BC1S layout, 1x1 convs, per-head einsum
// attention, host-built mask) must get no layout, linear or attention warnings.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { analyzePython } from '../../server/src/python/analyzePython';
import { FAMILY } from '../../server/src/python/rules/index';
import { FIXTURES } from '../helpers';

test('Apple-style ANE transformer block: no layout / linear / attention findings', async () => {
  const text = readFileSync(join(FIXTURES, 'python', 'ane_transformer_block.py'), 'utf8');
  const findings = await analyzePython(text, 'ane_transformer_block.py');
  const layout = findings.filter((f) => FAMILY[f.rule] === 'layout');
  assert.deepEqual(layout, [], 'layout family (incl. ANE021 linear) must be silent');
  for (const rule of ['ANE022', 'ANE023', 'ANE024', 'ANE025', 'ANE027', 'ANE002', 'ANE005', 'ANE-PRAGMA']) {
    assert.deepEqual(findings.filter((f) => f.rule === rule), [], rule);
  }
  // What may remain is the documented fp16 caveat of the hand-written channel LayerNorm (squares of
  // centered activations; Apple's own LayerNormANE offers clip_mag for the same reason).
  assert.ok(findings.every((f) => f.rule === 'ANE004' || f.rule === 'ANE037'), JSON.stringify(findings));
});
