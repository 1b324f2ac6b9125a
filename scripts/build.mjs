// Bundles one entry per process with esbuild, plus each test file, and copies the runtime assets
// (tree-sitter wasm, the Python helper) beside the bundles that load them.
import * as esbuild from 'esbuild';
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const watch = process.argv.includes('--watch');

const nodeCommon = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  sourcemap: true,
  keepNames: true,
  logLevel: 'warning',
  absWorkingDir: root,
};

const builds = [
  { ...nodeCommon, entryPoints: ['client/src/extension.ts'], outfile: 'dist/client.js', external: ['vscode'] },
  { ...nodeCommon, entryPoints: ['server/src/lsp/main.ts'], outfile: 'dist/server.js' },
  { ...nodeCommon, entryPoints: ['server/src/cli/main.ts'], outfile: 'dist/cli.js', banner: { js: '#!/usr/bin/env node' } },
  { ...nodeCommon, entryPoints: ['native/host/main.ts'], outfile: 'dist/sideprocess.js' },
  {
    bundle: true, platform: 'browser', format: 'iife', target: 'es2022', sourcemap: true, logLevel: 'warning',
    absWorkingDir: root, entryPoints: ['webview/src/main.ts'], outfile: 'dist/webview.js',
  },
];

// Tests are bundled one file each into out/test, keeping node_modules external so they load the
// same package code the bundles embed.
const testFiles = existsSync(join(root, 'test'))
  ? readdirSync(join(root, 'test'), { recursive: true }).map(String).filter((f) => f.endsWith('.test.ts'))
  : [];
if (testFiles.length > 0) {
  builds.push({
    ...nodeCommon, entryPoints: testFiles.map((f) => join('test', f)), outdir: 'out/test', outbase: 'test',
    packages: 'external', define: { 'process.env.ANE_LENS_ROOT': JSON.stringify(root) },
  });
}

rmSync(join(root, 'out', 'test'), { recursive: true, force: true });
mkdirSync(dist, { recursive: true });
const copies = [
  ['node_modules/web-tree-sitter/web-tree-sitter.wasm', 'dist/web-tree-sitter.wasm'],
  ['node_modules/tree-sitter-python/tree-sitter-python.wasm', 'dist/tree-sitter-python.wasm'],
  ['server/python', 'dist/python'],
  ['node_modules/@vscode/codicons/dist/codicon.css', 'dist/codicon.css'],
  ['node_modules/@vscode/codicons/dist/codicon.ttf', 'dist/codicon.ttf'],
];
for (const [from, to] of copies) {
  if (existsSync(join(root, from))) cpSync(join(root, from), join(root, to), { recursive: true });
}

if (watch) {
  for (const options of builds) (await esbuild.context(options)).watch();
} else {
  await Promise.all(builds.map((options) => esbuild.build(options)));
}
