// The CLI side of configuration and outputs: pyproject.toml [tool.ane-lens], flags overriding it,
// a clear error for bad config, SARIF output, and raw non-UTF-8 bytes.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { distFile } from '../helpers';

function cli(args: string[], cwd: string) {
  return spawnSync(process.execPath, [distFile('cli.js'), ...args], { cwd, encoding: 'utf8', timeout: 30_000 });
}

test('ane-lens check: pyproject config, --chip/--select/--ignore overrides, bad config exits 2, SARIF, latin-1 bytes', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ane-lens-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'm.py'), Buffer.concat([
    Buffer.from('# -*- coding: latin-1 -*-\n# d'), Buffer.from([0xe9]), Buffer.from('j\u00e0 vu\nimport torch.nn as nn\nclass M(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.c = nn.Conv1d(8, 8, kernel_size=14)\n        self.r = nn.LSTM(4, 8)\n'),
  ]));
  const rules = (out: string) => out.split('\n').filter((l) => /^m\.py:/.test(l)).map((l) => l.split(' ')[1]);

  // No config: chip M4 (kernel 14 is fine), LSTM found; the latin-1 byte did not stop anything.
  let r = cli(['check', 'm.py'], dir);
  assert.deepEqual(rules(r.stdout), ['ANE026']);
  assert.equal(r.status, 1);

  writeFileSync(join(dir, 'pyproject.toml'), '[tool.ane-lens]\nchip = "M1"\nignore = ["ANE026"]\n');
  r = cli(['check', 'm.py'], dir);
  assert.deepEqual(rules(r.stdout), ['ANE031'], 'chip M1 from pyproject, ANE026 ignored');
  assert.match(r.stdout, /M1 ANE cap of 13/);
  r = cli(['check', 'm.py', '--chip', 'M4', '--ignore', 'ANE031'], dir);
  assert.deepEqual(rules(r.stdout), ['ANE026'], 'flags replace the config values');
  r = cli(['check', 'm.py', '--select', 'ANE03'], dir);
  assert.deepEqual(rules(r.stdout), ['ANE031']);
  r = cli(['check', 'm.py', '--select', 'NOPE1'], dir);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--select: "NOPE1" matches no rule/);

  r = cli(['check', 'm.py', '--format', 'sarif'], dir);
  const log = JSON.parse(r.stdout);
  assert.equal(log.version, '2.1.0');
  assert.equal(log.runs[0].results[0].ruleId, 'ANE031');
  assert.equal(log.runs[0].results[0].locations[0].physicalLocation.artifactLocation.uri, 'm.py');

  writeFileSync(join(dir, 'pyproject.toml'), '[tool.ane-lens]\nchip = "M9"\n');
  r = cli(['check', 'm.py'], dir);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /pyproject\.toml:2:1: \[tool\.ane-lens\] chip: unknown chip "M9"/);
  assert.doesNotMatch(r.stderr, /internal error/);
});
