// `ane-lens check`: Python sources through the rule engine, ONNX models through reader + placement,
// printed like a linter (file:line:col: RULE message) or as a JSON array of Finding.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import { findChip, type ChipParams } from '../../../common/chips';
import { applyConfig, disabledRules, loadConfigFor, type ConfigOverrides } from '../config/projectConfig';
import { decodePythonSource } from '../python/sourceText';
import type { Finding } from '../../../common/findings';
import { analyzePython } from '../python/analyzePython';
import { readOnnxFile, ModelReadError } from '../onnx/readOnnx';
import { modelKindOf } from '../coreml/readModel';
import { loadModelView } from '../milview/modelView';
import { placeGraph, placementSeverity } from '../placement/placeGraph';
import { EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, UsageError } from './usage';

const SKIP_DIRS = new Set(['.git', 'node_modules', '__pycache__', '.venv', 'venv', 'env', '.env', '.tox', '.nox', '.mypy_cache', '.pytest_cache', 'site-packages']);
const CHECKED_EXTENSIONS = new Set(['.py', '.onnx', '.mlmodel', '.mil']);

/** A folder is a virtual environment when it has pyvenv.cfg, whatever its name. */
function isVenv(dir: string): boolean {
  try {
    return statSync(join(dir, 'pyvenv.cfg')).isFile();
  } catch {
    return false;
  }
}

function isModelFolder(dir: string): boolean {
  const kind = modelKindOf(dir);
  return kind === 'mlpackage' || kind === 'mil';
}

/** The files to check, in a stable order; explicit files must exist and have a checked extension. */
export function collectFiles(paths: string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (e) {
      throw new UsageError(`cannot read folder ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const full = join(dir, e.name);
      if (e.isDirectory()) {
        // .mlpackage / .mlmodelc folders are models, checked whole.
        if (isModelFolder(full)) out.push(full);
        else if (!SKIP_DIRS.has(e.name) && !isVenv(full)) walk(full);
      } else if (e.isFile() && CHECKED_EXTENSIONS.has(extname(e.name).toLowerCase())) {
        out.push(full);
      }
    }
  };
  for (const p of paths) {
    let st;
    try {
      st = statSync(p);
    } catch {
      throw new UsageError(`no such file or folder: ${p}`);
    }
    if (st.isDirectory()) {
      if (isModelFolder(p)) out.push(p);
      else walk(p);
    } else if (CHECKED_EXTENSIONS.has(extname(p).toLowerCase()) || modelKindOf(p)) out.push(p);
    else throw new UsageError(`${p}: only .py files, .onnx models and folders can be checked, and Core ML models (.mlmodel, .mlpackage, model.mil, .mlmodelc)`);
  }
  return [...new Set(out)];
}

/** Findings for an ONNX model: one per op placed off the ANE, plus graph-level notes. */
export function onnxFindings(file: string, chip: ChipParams): Finding[] {
  const placed = placeGraph(readOnnxFile(file).graph, chip);
  const at = { file, line: 1, column: 1, endLine: 1, endColumn: 1 };
  const findings: Finding[] = [];
  for (const op of placed.ops) {
    const p = op.placement;
    if (!p || p.device === 'ane') continue;
    findings.push({
      ...at,
      rule: p.rule ?? 'ANE000',
      severity: placementSeverity(p.rule),
      message: `${op.name} (${op.originalOp} → ${op.op}) runs on the ${p.device.toUpperCase()}: ${p.reason ?? 'no ANE path'}`,
    });
  }
  for (const w of placed.warnings) {
    const m = /^(ANE\d{3}): (.*)$/.exec(w);
    if (m) findings.push({ ...at, rule: m[1]!, severity: 'info', message: m[2]! });
  }
  return findings;
}

export interface CheckResult {
  findings: Finding[];
  /** Files that could not be read (reported on stderr; exit 2). */
  failures: string[];
  fileCount: number;
}

/** `[tool.ane-lens]` from the nearest pyproject.toml applies per file; flags (`overrides`) win over it. */
export async function checkFiles(files: string[], chip: ChipParams, overrides: ConfigOverrides = {}): Promise<CheckResult> {
  const findings: Finding[] = [];
  const failures: string[] = [];
  const reportedConfigs = new Set<string>();
  for (const file of files) {
    const loaded = loadConfigFor(resolve(file));
    if (loaded.file && !reportedConfigs.has(loaded.file)) {
      reportedConfigs.add(loaded.file);
      // Bad config values are input errors (exit 2), reported once per pyproject.toml, like Ruff.
      for (const p of loaded.problems) failures.push(`${loaded.file}:${p.line}:${p.column}: [tool.ane-lens] ${p.message}`);
    }
    const fileChip = !overrides.chip && loaded.config.chip ? findChip(loaded.config.chip) : chip;
    const kind = modelKindOf(file);
    if (kind && kind !== 'onnx') {
      try {
        findings.push(...loadModelView(file, fileChip).fileFindings);
      } catch (e) {
        failures.push(e instanceof ModelReadError ? e.message : `${file}: ${(e as Error).message}`);
      }
      continue;
    }
    if (extname(file).toLowerCase() === '.onnx') {
      try {
        findings.push(...onnxFindings(file, fileChip));
      } catch (e) {
        failures.push(e instanceof ModelReadError ? e.message : `${file}: ${(e as Error).message}`);
      }
      continue;
    }
    let text: string;
    try {
      text = decodePythonSource(readFileSync(file));
    } catch (e) {
      failures.push(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
      continue;
    }
    const found = applyConfig(await analyzePython(text, file, { chip: fileChip.id, skipRules: disabledRules(loaded, overrides), fixes: false }), loaded, resolve(file), overrides);
    found.sort((a, b) => a.line - b.line || a.column - b.column);
    findings.push(...found);
  }
  return { findings, failures, fileCount: files.length };
}

export function formatFindingsText(result: CheckResult): string {
  const lines = result.findings.map((f) => `${f.file}:${f.line}:${f.column}: ${f.rule} ${f.message}`);
  const count = (s: Finding['severity']) => result.findings.filter((f) => f.severity === s).length;
  const [e, w, i] = [count('error'), count('warning'), count('info')];
  const files = `${result.fileCount} file${result.fileCount === 1 ? '' : 's'}`;
  if (result.findings.length === 0) lines.push(`All checks passed (${files}).`);
  else {
    const n = result.findings.length;
    lines.push(`Found ${n} problem${n === 1 ? '' : 's'} (${e} error${e === 1 ? '' : 's'}, ${w} warning${w === 1 ? '' : 's'}, ${i} info) in ${files}.`);
  }
  return lines.join('\n');
}

export function checkExitCode(result: CheckResult): number {
  if (result.failures.length > 0) return EXIT_USAGE;
  return result.findings.some((f) => f.severity === 'error') ? EXIT_FINDINGS : EXIT_OK;
}
