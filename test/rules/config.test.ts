import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Finding } from '../../common/findings';
import { applyConfig, clearConfigCache, disabledRules, globToRegExp, loadConfigFor, parseConfigText } from '../../server/src/config/projectConfig';

const finding = (rule: string, file = '/p/src/m.py'): Finding => ({ file, line: 1, column: 1, endLine: 1, endColumn: 2, rule, severity: 'warning', message: 'm' });

test('a valid [tool.ane-lens] table is read', () => {
  const { config, problems } = parseConfigText([
    '[project]', 'name = "x"', '', '[tool.ane-lens]', 'chip = "m1"', 'select = ["ANE0"]', 'ignore = ["ane017"]',
    'severity = { ANE021 = "error", ANE008 = "off" }', '[tool.ane-lens.per-file-ignores]', '"tests/**" = ["ANE02"]',
  ].join('\n'), 'pyproject.toml');
  assert.deepEqual(problems, []);
  assert.deepEqual(config, { chip: 'M1', select: ['ANE0'], ignore: ['ANE017'], severity: { ANE021: 'error', ANE008: 'off' }, perFileIgnores: [{ pattern: 'tests/**', rules: ['ANE02'] }] });
});

test('bad values become problems at their position, valid keys still apply', () => {
  const text = ['[tool.ane-lens]', 'chip = "M9"', 'select = ["ANE021", "XYZ9"]', 'severity = { ANE021 = "loud" }', 'colour = 1'].join('\n');
  const { config, problems } = parseConfigText(text, 'pyproject.toml');
  assert.deepEqual(config.select, ['ANE021']);
  assert.equal(config.chip, undefined);
  const byLine = problems.map((p) => [p.line, p.column, p.severity, p.message.split(':')[0]]);
  assert.deepEqual(byLine, [
    [5, 1, 'warning', 'unknown key "colour" in [tool.ane-lens] (known'],
    [2, 1, 'error', 'chip'],
    [3, 21, 'error', 'select'],
    [4, 14, 'error', 'severity.ANE021'],
  ]);
  assert.match(problems[1]!.message, /unknown chip "M9"; known chips: M1, .*M4.*M5/);
});

test('a TOML syntax error is one problem with its line, never a throw', () => {
  const { config, problems } = parseConfigText('[tool.ane-lens]\nchip = "M1\n', 'pyproject.toml');
  assert.deepEqual(config, {});
  assert.equal(problems.length, 1);
  assert.equal(problems[0]!.line, 2);
  assert.match(problems[0]!.message, /not valid TOML/);
  for (const junk of ['\u0000\u0001', '[tool.ane-lens', 'tool = 3', '[tool]\nane-lens = 5', '[tool.ane-lens]\nselect = "ANE021"']) {
    assert.doesNotThrow(() => parseConfigText(junk, 'p.toml'), junk);
  }
  assert.match(parseConfigText('[tool.ane-lens]\nselect = "ANE021"', 'p').problems[0]!.message, /must be a list of rule ids/);
});

test('applyConfig: select, ignore, per-file-ignores (glob and bare name), severity, CLI overrides', () => {
  const loaded = {
    file: '/p/pyproject.toml', root: '/p', problems: [],
    config: { select: ['ANE0'], ignore: ['ANE017'], severity: { ANE021: 'error' as const, ANE008: 'off' as const }, perFileIgnores: [{ pattern: 'tests/**', rules: ['ANE02'] }, { pattern: 'export_*.py', rules: ['ANE046'] }] },
  };
  const all = ['ANE017', 'ANE021', 'ANE008', 'ANE026', 'ANE046', 'ANE-PRAGMA'].map((r) => finding(r));
  assert.deepEqual(applyConfig(all, loaded, '/p/src/m.py').map((f) => `${f.rule}:${f.severity}`), ['ANE021:error', 'ANE026:warning', 'ANE046:warning', 'ANE-PRAGMA:warning']);
  assert.deepEqual(applyConfig(all, loaded, '/p/tests/deep/t.py').map((f) => f.rule), ['ANE046', 'ANE-PRAGMA']);
  assert.deepEqual(applyConfig(all, loaded, '/p/tools/export_model.py').map((f) => f.rule), ['ANE021', 'ANE026', 'ANE-PRAGMA']);
  assert.deepEqual(applyConfig(all, loaded, '/p/src/m.py', { select: ['ANE017'], ignore: [] }).map((f) => f.rule), ['ANE017', 'ANE-PRAGMA']);
  assert.ok(disabledRules(loaded).has('ANE017') && disabledRules(loaded).has('ANE008') && !disabledRules(loaded).has('ANE021'));
  assert.ok(globToRegExp('src/**/*.py').test('src/a/b/c.py') && globToRegExp('src/**/*.py').test('src/c.py') && !globToRegExp('*.py').test('a/b.py'));
});

test('loadConfigFor finds the nearest pyproject.toml and sees edits', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ane-lens-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'pkg', 'sub'), { recursive: true });
  writeFileSync(join(dir, 'pyproject.toml'), '[tool.ane-lens]\nchip = "M5"\n');
  writeFileSync(join(dir, 'pkg', 'pyproject.toml'), '[project]\nname = "inner"\n');
  clearConfigCache();
  const inner = loadConfigFor(join(dir, 'pkg', 'sub', 'm.py'));
  assert.equal(inner.file, join(dir, 'pkg', 'pyproject.toml'));
  assert.deepEqual(inner.config, {}, 'the nearest file wins even without the table, like Ruff');
  assert.equal(loadConfigFor(join(dir, 'm.py')).config.chip, 'M5');
  writeFileSync(join(dir, 'pyproject.toml'), '[tool.ane-lens]\nchip = "M1"\nextra = true\n');
  const edited = loadConfigFor(join(dir, 'm.py'));
  assert.equal(edited.config.chip, 'M1');
  assert.equal(edited.problems.length, 1);
});
