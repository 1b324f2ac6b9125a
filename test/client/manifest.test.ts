// The manifest's client keys agree with the code: chip enum = common/chips.ts, every command the
// client registers is contributed (and vice versa), the trust and activation declarations are there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CHIPS, DEFAULT_CHIP } from '../../common/chips';
import { ROOT } from '../helpers';

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
// Commands are registered in ctx.ts and in feature modules (modelEditor.ts); scan every client source.
const clientSources = readdirSync(join(ROOT, 'client', 'src')).filter((f) => f.endsWith('.ts')).map((f) => readFileSync(join(ROOT, 'client', 'src', f), 'utf8')).join('\n');
const registered = [...clientSources.matchAll(/registerCommand\('([^']+)'/g)].map((m) => m[1]);

test('manifest: commands contributed = commands registered, one prefix and category', () => {
  const contributed = pkg.contributes.commands.map((c: { command: string }) => c.command);
  assert.deepEqual([...contributed].sort(), [...registered].sort());
  assert.deepEqual([...registered].sort(), ['aneLens.openMilView', 'aneLens.openModelSummary', 'aneLens.restartServer', 'aneLens.restartSideProcess', 'aneLens.runOnAne', 'aneLens.selectChip', 'aneLens.showLogs']);
  for (const c of pkg.contributes.commands) assert.equal(c.category, 'ANE Lens', c.command);
  const menus = pkg.contributes.menus;
  // Run on ANE is offered on every model format the side-process runs (modelRunTarget in runArgs.ts).
  const runWhen = (where: string) => menus[where].find((m: { command: string; when: string }) => m.command === 'aneLens.runOnAne')?.when ?? '';
  for (const ext of ['onnx', 'mlmodel', 'mlpackage', 'mil', 'mlmodelc']) assert.ok(runWhen('explorer/context').includes(ext), `explorer/context: ${ext}`);
  for (const part of ['onnx', 'mlmodel', 'activeCustomEditorId == aneLens.modelSummary', 'resourceScheme == ane-lens-mil']) assert.ok(runWhen('editor/title').includes(part), `editor/title: ${part}`);
  assert.match(pkg.contributes.menus.commandPalette.find((m: { command: string }) => m.command === 'aneLens.runOnAne').when, /mlmodel/);
});

test('manifest: settings match the code', () => {
  const props = pkg.contributes.configuration.properties;
  assert.deepEqual(props['aneLens.chip'].enum, CHIPS.map((c) => c.id));
  assert.equal(props['aneLens.chip'].default, DEFAULT_CHIP);
  assert.equal(props['aneLens.chip'].enumDescriptions.length, CHIPS.length);
  assert.deepEqual(props['aneLens.backend'].enum, ['sim']);
  assert.match(props['aneLens.backend'].markdownDescription, /not built yet/);
  assert.equal(props['aneLens.pythonPath'].default, '');
  assert.deepEqual(props['aneLens.trace.server'].enum, ['off', 'messages', 'verbose']);
});

test('manifest: trust, virtual workspaces, activation, grammar file, VSIX ignore list', () => {
  assert.equal(pkg.capabilities.untrustedWorkspaces.supported, 'limited');
  assert.deepEqual(pkg.capabilities.untrustedWorkspaces.restrictedConfigurations, ['aneLens.pythonPath']);
  assert.equal(pkg.capabilities.virtualWorkspaces.supported, false);
  assert.ok(pkg.capabilities.virtualWorkspaces.description);
  for (const event of ['onLanguage:python', 'workspaceContains:**/*.onnx', 'onWebviewPanel:aneLens.timing']) {
    assert.ok(pkg.activationEvents.includes(event), event);
  }
  for (const grammar of pkg.contributes.grammars) assert.ok(existsSync(join(ROOT, grammar.path)), grammar.path);
  assert.ok(existsSync(join(ROOT, pkg.icon)), pkg.icon);
  const ignore = readFileSync(join(ROOT, '.vscodeignore'), 'utf8');
  for (const kept of ['!dist/*.js', '!native/build/Release/ane_native.node', '!docs/**', '!syntaxes/**', '!media/icon.png']) assert.ok(ignore.includes(kept), kept);
});
