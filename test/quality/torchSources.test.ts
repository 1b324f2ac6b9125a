// Quality on real code: `ane-lens check` over every model source of Debian's python3-torchvision and
// python3-torchaudio. No crash, no timeout, and a sane number of findings (the review behind the
// bounds is in docs/quality.md). Skips when the packages are not installed.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import type { Finding } from '../../common/findings';
import { distFile } from '../helpers';

const DIRS = ['/usr/lib/python3/dist-packages/torchvision/models', '/usr/lib/python3/dist-packages/torchaudio/models'];
const missing = DIRS.filter((d) => !existsSync(d));

test('ane-lens check over torchvision + torchaudio model sources', {
  skip: missing.length ? `skipped: ${missing.join(' and ')} not installed (Debian python3-torchvision / python3-torchaudio)` : false,
}, () => {
  const r = spawnSync(process.execPath, [distFile('cli.js'), 'check', '--format', 'json', ...DIRS], { encoding: 'utf8', timeout: 60_000, maxBuffer: 64 << 20 });
  assert.equal(r.error, undefined, String(r.error));
  assert.ok(r.status === 0 || r.status === 1, `exit ${r.status}: ${r.stderr}`);
  assert.doesNotMatch(r.stderr, /internal error|rule .* threw/i);
  const findings = JSON.parse(r.stdout) as Finding[];
  // docs/quality.md: 159 findings on torchvision 0.14 / torchaudio 0.13 (Debian), ~95% judged correct.
  assert.ok(findings.length >= 60 && findings.length <= 400, `${findings.length} findings`);
  const perRule = new Map<string, number>();
  for (const f of findings) perRule.set(f.rule, (perRule.get(f.rule) ?? 0) + 1);
  // Plain CNN classifiers get no layout/attention noise: only their real problems.
  for (const file of ['resnet.py', 'vgg.py', 'alexnet.py', 'densenet.py', 'squeezenet.py', 'mobilenetv2.py', 'mobilenetv3.py', 'efficientnet.py', 'regnet.py', 'shufflenetv2.py', 'googlenet.py', 'inception.py', 'mnasnet.py']) {
    const hits = findings.filter((f) => f.file.endsWith(`/torchvision/models/${file}`));
    assert.deepEqual(hits.map((f) => `${f.rule}:${f.line}`), [], file);
  }
  // Known true positives stay found.
  const has = (suffix: string, rule: string) => findings.some((f) => f.file.endsWith(suffix) && f.rule === rule);
  assert.ok(has('torchaudio/models/wav2letter.py', 'ANE031'), 'Conv1d kernel 250 > M4 cap');
  assert.ok(has('torchvision/models/swin_transformer.py', 'ANE036'), 'torch.roll in shifted windows');
  assert.ok(has('torchvision/models/swin_transformer.py', 'ANE013'), 'rank-6 window partition');
  assert.ok(has('torchaudio/models/conv_tasnet.py', 'ANE005'), 'GroupNorm eps=1e-8');
  assert.ok(has('torchvision/models/vision_transformer.py', 'ANE022'), 'nn.MultiheadAttention');
  assert.ok((perRule.get('ANE026') ?? 0) >= 5, 'recurrent layers in torchaudio');
});
