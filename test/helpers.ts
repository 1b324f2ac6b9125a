// Shared by the test files (each is bundled on its own by scripts/build.mjs).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** The project root, baked in at build time so bundled tests find dist/, examples/ and fixtures. */
export const ROOT: string = process.env.ANE_LENS_ROOT ?? process.cwd();
export const DIST = join(ROOT, 'dist');
export const FIXTURES = join(ROOT, 'test', 'fixtures');
/** Real third-party models, beside the project root (read-only). */
export const SHARED_MODELS = join(ROOT, '..', 'shared', 'models');

let torchPython: string | null | undefined;
/**
 * A Python interpreter that can import torch and onnx, or null. Debian's /usr/bin/python3 carries
 * python3-torch; the pyenv python3 first on PATH usually does not.
 */
export function findTorchPython(): string | null {
  if (torchPython !== undefined) return torchPython;
  torchPython = null;
  for (const candidate of [process.env.ANE_LENS_TEST_PYTHON, '/usr/bin/python3', 'python3']) {
    if (!candidate) continue;
    try {
      execFileSync(candidate, ['-c', 'import torch, onnx'], { stdio: 'ignore', timeout: 60_000 });
      torchPython = candidate;
      break;
    } catch {
      // try the next one
    }
  }
  return torchPython;
}

/** The reason a torch-needing test is skipped, printed by node --test as "# SKIP ...". */
export const NO_TORCH = 'skipped: no Python with torch and onnx (install Debian python3-torch python3-onnx, or set ANE_LENS_TEST_PYTHON)';

export function distFile(name: string): string {
  const file = join(DIST, name);
  if (!existsSync(file)) throw new Error(`${file} is missing: run npm run build first`);
  return file;
}

/** Deterministic PRNG (mulberry32): a failing seeded test names inputs that can be replayed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Row and column (UTF-16 units, rows after each `\n`, as tree-sitter counts them here) of `index` in `text`. */
export function pointAt(text: string, index: number): { row: number; column: number } {
  const before = text.slice(0, index);
  const row = before.split('\n').length - 1;
  return { row, column: index - (before.lastIndexOf('\n') + 1) };
}
