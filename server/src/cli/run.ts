// `ane-lens run`: resolve the target (a model file or file.py:Class with its inputs pragma), run it through
// the side-process (contract 5) and print the RunReport as a summary + per-layer table, or as JSON.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ChipParams } from '../../../common/chips';
import { noOverflowText, type RunReport } from '../../../common/runReport';
import type { RunParams, RunTarget } from '../../../common/sideProcessProtocol';
import { SideProcessClient } from '../../../native/host/supervisor';
import { modelKindOf } from '../../../common/modelKind';
import { readModelFile } from '../coreml/readModel';
import { placementSeverity } from '../placement/placeGraph';
import { findRunTargets } from '../python/analyzePython';
import { EXIT_FINDINGS, EXIT_OK, UsageError } from './usage';

export interface RunCliOptions {
  target: string;
  chip: ChipParams;
  python: string;
  /** Raw --inputs values: "NAME=FILE.npy" or "FILE.npy". */
  inputs: string[];
  /** Folder for the fp16 outputs as <output name>.npy. */
  saveOutputs?: string;
  /** Where dist/sideprocess.js lives (beside the CLI bundle). */
  scriptPath: string;
  onProgress?: (message: string) => void;
}

/** A model file (`.onnx`, Core ML) or `path/to/file.py:ClassName` → a RunTarget, with the pragma's shapes for PyTorch. */
export async function resolveTarget(spec: string, python: string): Promise<RunTarget> {
  const kind = modelKindOf(spec);
  if (kind) {
    // .mlpackage and .mlmodelc are folders; the others are files.
    const folder = /\.(mlpackage|mlmodelc)[\\/]*$/i.test(spec);
    if (!existsSync(spec) || statSync(spec).isDirectory() !== folder) throw new UsageError(`no such model ${folder ? 'folder' : 'file'}: ${spec}`);
    return { kind: kind === 'onnx' ? 'onnx' : 'coreml', path: resolve(spec) };
  }
  const m = /^(.+\.py):([A-Za-z_][A-Za-z0-9_]*)$/.exec(spec);
  if (!m) throw new UsageError(`run needs a model file (.onnx, .mlpackage, .mlmodel, model.mil, .mlmodelc) or file.py:ClassName, got "${spec}"`);
  const [, file, className] = m as unknown as [string, string, string];
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new UsageError(`no such Python file: ${file}`);
  }
  const targets = await findRunTargets(text);
  const cls = targets.classes.find((c) => c.name === className);
  if (!cls) {
    const known = targets.classes.map((c) => c.name);
    throw new UsageError(`${file}: no nn.Module class ${className}${known.length ? ` (classes: ${known.join(', ')})` : ''}`);
  }
  if (cls.pragmaError) throw new UsageError(`${file}:${cls.pragmaLine ?? cls.line}: bad "# ane: inputs=" pragma for ${className}: ${cls.pragmaError}`);
  if (!cls.inputsPragma || cls.inputsPragma.length === 0) {
    throw new UsageError(`${file}:${cls.line}: class ${className} has no "# ane: inputs=(...)" pragma; add one directly above it, e.g. "# ane: inputs=(1, 3, 224, 224)"`);
  }
  return { kind: 'pytorch', file: resolve(file), className, inputShapes: cls.inputsPragma, pythonPath: python };
}

/** --inputs values → input name → .npy path. Bare paths bind to a model file's graph inputs in order. */
export function bindInputs(values: string[], target: RunTarget): Record<string, string> | undefined {
  if (values.length === 0) return undefined;
  const named: Record<string, string> = {};
  const bare: string[] = [];
  for (const v of values) {
    const eq = v.indexOf('=');
    const [name, path] = eq > 0 ? [v.slice(0, eq), v.slice(eq + 1)] : [undefined, v];
    if (!/\.npy$/i.test(path)) throw new UsageError(`--inputs takes .npy files, got "${v}"`);
    if (!existsSync(path)) throw new UsageError(`no such input file: ${path}`);
    if (name) named[name] = resolve(path);
    else bare.push(resolve(path));
  }
  if (bare.length > 0) {
    if (target.kind === 'pytorch') {
      throw new UsageError('for a PyTorch class, name each input: --inputs NAME=FILE.npy (NAME is the forward() parameter)');
    }
    const graphInputs = readModelFile(target.path).graph.inputs.map((i) => i.name).filter((n) => !(n in named));
    if (bare.length > graphInputs.length) {
      throw new UsageError(`${bare.length} unnamed --inputs files but the model has ${graphInputs.length} unbound input(s)${graphInputs.length ? ` (${graphInputs.join(', ')})` : ''}`);
    }
    bare.forEach((p, k) => { named[graphInputs[k]!] = p; });
  }
  return named;
}

export async function runTarget(options: RunCliOptions): Promise<RunReport> {
  const target = await resolveTarget(options.target, options.python);
  const inputNpy = bindInputs(options.inputs, target);
  const params: RunParams = { target, backend: 'sim', chip: options.chip.id, seed: 0 };
  if (inputNpy) params.inputNpy = inputNpy;
  if (options.saveOutputs) params.saveOutputsTo = resolve(options.saveOutputs);
  const client = new SideProcessClient({ scriptPath: options.scriptPath });
  try {
    return await client.run(params, undefined, (p) => options.onProgress?.(p.message));
  } finally {
    client.dispose();
  }
}

/** Exit code for a finished run: 1 when any layer is off the ANE for an error-severity reason. */
export function runExitCode(report: RunReport): number {
  return report.layers.some((l) => l.device !== 'ane' && placementSeverity(l.rule) === 'error') ? EXIT_FINDINGS : EXIT_OK;
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

function ms(x: number): string {
  return x >= 100 ? x.toFixed(1) : x >= 1 ? x.toFixed(3) : x.toFixed(4);
}

export function formatReportText(report: RunReport, chip: ChipParams): string {
  const off = report.layers.filter((l) => l.device !== 'ane').length;
  const summary: Array<[string, string]> = [
    ['backend', `sim (simulated ${chip.displayName}; not measured on a device)`],
    ['chip', report.chip],
    ['model', `${report.model.name} (${report.model.format})`],
    ['total', `${ms(report.totalMs)} ms (estimated)`],
    ['ANE residency', `${pct(report.aneResidency)} of layers, ${pct(report.aneTimeShare)} of time${off ? ` (${off} layer${off === 1 ? '' : 's'} off the ANE)` : ''}`],
    ['segments', String(report.segments)],
    ['peak activations', formatBytes(report.peakActivationBytes)],
    ['first fp16 overflow', report.firstOverflowLayer ?? noOverflowText(report)],
  ];
  const keyWidth = Math.max(...summary.map(([k]) => k.length));
  const lines = summary.map(([k, v]) => `${k.padEnd(keyWidth)}  ${v}`);
  for (const w of report.warnings) lines.push(`warning: ${w}`);
  lines.push('');
  const rows = report.layers.map((l) => [
    l.name, l.op, l.device.toUpperCase(), ms(l.estMs),
    l.device === 'ane' ? (l.notExecuted ? `(not executed: ${l.notExecuted})` : '') : `${l.rule ? `${l.rule} ` : ''}${l.reason ?? ''}`,
  ]);
  const header = ['layer', 'op', 'device', 'est ms', 'reason'];
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const fmt = (r: string[]) => r.map((cell, c) => (c === r.length - 1 ? cell : c === 3 ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ').trimEnd();
  lines.push(fmt(header));
  for (const r of rows) lines.push(fmt(r));
  return lines.join('\n');
}

export function defaultScriptPath(bundleDir: string): string {
  return join(bundleDir, 'sideprocess.js');
}
