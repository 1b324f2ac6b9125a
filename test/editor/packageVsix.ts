// Packages the extension as a VSIX for the real-editor test.
//
// `vsce package` always runs the manifest's `vscode:prepublish` (npm run build), and build.mjs deletes
// and rewrites out/test and dist/ while `node --test` is running the other test files from there.
// So the test packages a staged copy of the project whose manifest has no prepublish step: the
// bundles are already fresh (npm test's pretest built them) and .vscodeignore still decides what ships.
import { spawn } from 'node:child_process';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { ROOT } from '../helpers';

/** Top-level folders that never belong in a package and are big or volatile. */
const NOT_STAGED = new Set(['.git', 'node_modules', '.tools', 'out', 'test-results', '.vscode-test']);

function staged(source: string): boolean {
  const rel = relative(ROOT, source);
  if (rel === '') return true;
  const parts = rel.split(sep);
  if (NOT_STAGED.has(parts[0])) return false;
  if (parts[0].endsWith('.vsix')) return false;
  // Of the native build folder only the addon itself can be needed at run time.
  if (parts[0] === 'native' && parts[1] === 'build') {
    if (parts.length === 2) return true;
    if (parts.length === 3) return parts[2] === 'Release';
    return parts.length === 4 && parts[3].endsWith('.node');
  }
  return true;
}

export async function packageVsix(stageDir: string, outFile: string, timeoutMs: number): Promise<string> {
  cpSync(ROOT, stageDir, { recursive: true, filter: staged });
  const manifestPath = join(stageDir, 'package.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { scripts?: Record<string, string> };
  if (manifest.scripts) delete manifest.scripts['vscode:prepublish'];
  writeFileSync(manifestPath, JSON.stringify(manifest, null, 2));

  const vsce = join(ROOT, 'node_modules', '@vscode', 'vsce', 'vsce');
  if (!existsSync(vsce)) throw new Error(`${vsce} is missing: run npm ci`);
  const args = [vsce, 'package', '--no-dependencies', '-o', outFile];
  // vsce asks y/N on stdin for these; with no stdin it would fail, and the test is not about them.
  // Without a repository URL vsce refuses README relative links (it cannot make them absolute); a VSIX
  // for a local install keeps them relative.
  if (!manifestHas(manifestPath, 'repository')) args.push('--allow-missing-repository', '--no-rewrite-relative-links');
  if (!['LICENSE', 'LICENSE.md', 'LICENSE.txt'].some((f) => existsSync(join(stageDir, f)))) args.push('--skip-license');

  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: stageDir, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => { output += d; });
    child.stderr.on('data', (d) => { output += d; });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`vsce package timed out:\n${output}`)); }, timeoutMs);
    child.on('error', (err) => { clearTimeout(timer); reject(err); });
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0 && existsSync(outFile)) resolve(output);
      else reject(new Error(`vsce package failed (exit ${code}):\n${output}`));
    });
  });
}

function manifestHas(path: string, key: string): boolean {
  return key in (JSON.parse(readFileSync(path, 'utf8')) as object);
}
