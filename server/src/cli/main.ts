// Entry of dist/cli.js (bin `ane-lens`): argument parsing, dispatch and exit codes. The commands live
// in check.ts and run.ts; everything a user can get wrong ends here as one line on stderr and exit 2.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { findChip, DEFAULT_CHIP, UnknownChipError, type ChipParams } from '../../../common/chips';
import { version } from '../../../package.json';
import { SideProcessError } from '../../../native/host/supervisor';
import { ModelReadError } from '../onnx/readOnnx';
import { inspectModel } from './inspect';
import { checkExitCode, checkFiles, collectFiles, formatFindingsText } from './check';
import { matchesAnyRule } from '../config/projectConfig';
import { toSarif } from './sarif';
import { defaultScriptPath, formatReportText, runExitCode, runTarget } from './run';
import { EXIT_OK, EXIT_USAGE, HELP, UsageError } from './usage';

interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
}

function chipOf(name: string | undefined): ChipParams {
  try {
    return findChip(name ?? DEFAULT_CHIP);
  } catch (e) {
    if (e instanceof UnknownChipError) throw new UsageError(e.message);
    throw e;
  }
}

function formatOf(value: string | undefined): 'text' | 'json' {
  const f = value ?? 'text';
  if (f !== 'text' && f !== 'json') throw new UsageError(`--format must be text or json, got "${f}"`);
  return f;
}

function parse(args: string[], options: NonNullable<ParseArgsConfig['options']>) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (e) {
    // node's messages are multi-line and mention internals; keep the first line.
    throw new UsageError((e as Error).message.split('\n')[0]!.replace(/^TypeError \[[A-Z_]+\]: /, ''));
  }
}

function inspect(args: string[], io: Io): number {
  const { values, positionals } = parse(args, { format: { type: 'string' }, chip: { type: 'string' } });
  const format = formatOf(values.format as string | undefined);
  const chip = chipOf(values.chip as string | undefined);
  if (positionals.length !== 1) throw new UsageError('inspect takes one model: .onnx, .mlmodel, .mlpackage, model.mil or .mlmodelc');
  io.out(inspectModel(positionals[0]!, chip, format));
  return EXIT_OK;
}

async function check(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, {
    format: { type: 'string' }, chip: { type: 'string' },
    select: { type: 'string', multiple: true }, ignore: { type: 'string', multiple: true },
  });
  const format = (values.format as string | undefined) ?? 'text';
  if (format !== 'text' && format !== 'json' && format !== 'sarif') throw new UsageError(`--format must be text or json (or sarif for check), got "${format}"`);
  const chip = chipOf(values.chip as string | undefined);
  if (positionals.length === 0) throw new UsageError('check needs at least one file or folder');
  const overrides = { ...(values.chip ? { chip: chip.id } : {}), ...ruleFlags('select', values.select), ...ruleFlags('ignore', values.ignore) };
  const files = collectFiles(positionals);
  const result = await checkFiles(files, chip, overrides);
  for (const f of result.failures) io.err(`ane-lens: ${f}`);
  io.out(format === 'json' ? JSON.stringify(result.findings, null, 2)
    : format === 'sarif' ? JSON.stringify(toSarif(result.findings, version), null, 2) : formatFindingsText(result));
  return checkExitCode(result);
}

/** `--select ANE021,ANE03 --select ANE046` → ['ANE021', 'ANE03', 'ANE046'], each checked against the catalog. */
function ruleFlags(flag: 'select' | 'ignore', values: unknown): Partial<Record<'select' | 'ignore', string[]>> {
  if (!Array.isArray(values)) return {};
  const ids = (values as string[]).flatMap((v) => v.split(',')).map((v) => v.trim().toUpperCase()).filter((v) => v);
  for (const id of ids) if (!matchesAnyRule(id)) throw new UsageError(`--${flag}: "${id}" matches no rule (ids look like ANE021; a prefix like ANE02 selects a group)`);
  return { [flag]: ids };
}

async function run(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, {
    format: { type: 'string' }, chip: { type: 'string' }, backend: { type: 'string' },
    python: { type: 'string' }, inputs: { type: 'string', multiple: true }, 'save-outputs': { type: 'string' },
  });
  const format = formatOf(values.format as string | undefined);
  const chip = chipOf(values.chip as string | undefined);
  const backend = (values.backend as string | undefined) ?? 'sim';
  if (backend !== 'sim') throw new UsageError(`unknown backend "${backend}": only the sim backend exists; coreml needs macOS`);
  const inputs = ((values.inputs as string[] | undefined) ?? []).flatMap((v) => v.split(',')).filter((v) => v);
  const [target, ...rest] = positionals;
  if (!target) throw new UsageError('run needs a target: model.onnx or file.py:ClassName');
  // `--inputs a.npy b.npy` leaves b.npy as a positional; accept it as one more input file.
  for (const extra of rest) {
    if (inputs.length > 0 && /\.npy$/i.test(extra)) inputs.push(extra);
    else throw new UsageError(`unexpected argument "${extra}" (run takes one target)`);
  }
  const python = (values.python as string | undefined) ?? process.env.ANE_LENS_PYTHON ?? 'python3';
  const report = await runTarget({
    target, chip, python, inputs, scriptPath: defaultScriptPath(__dirname),
    saveOutputs: values['save-outputs'] as string | undefined,
    onProgress: process.stderr.isTTY && format === 'text' ? (m) => io.err(`… ${m}`) : undefined,
  });
  io.out(format === 'json' ? JSON.stringify(report, null, 2) : formatReportText(report, chip));
  return runExitCode(report);
}

export async function main(argv: string[], io: Io): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case undefined: case '-h': case '--help': case 'help':
        io.out(HELP);
        return command === undefined ? EXIT_USAGE : EXIT_OK;
      case '-v': case '--version':
        io.out(version);
        return EXIT_OK;
      case 'check': return await check(rest, io);
      case 'run': return await run(rest, io);
      case 'inspect': return inspect(rest, io);
      default:
        throw new UsageError(`unknown command "${command}" (commands: check, run, inspect; see --help)`);
    }
  } catch (e) {
    if (e instanceof UsageError || e instanceof ModelReadError) {
      io.err(`ane-lens: ${e.message}`);
      return EXIT_USAGE;
    }
    if (e instanceof SideProcessError) {
      io.err(`ane-lens: ${e.message.split('\n')[0]}`);
      return EXIT_USAGE;
    }
    io.err(`ane-lens: internal error: ${(e as Error).stack ?? String(e)}`);
    return EXIT_USAGE;
  }
}

if (require.main === module) {
  // `ane-lens check . | head`: the reader leaving is no error (Ruff and grep stop quietly too).
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    process.exit(process.exitCode ?? 0);
  });
  main(process.argv.slice(2), {
    out: (t) => process.stdout.write(`${t}\n`),
    err: (t) => process.stderr.write(`${t}\n`),
  }).then((code) => { process.exitCode = code; }, (e) => {
    process.stderr.write(`ane-lens: internal error: ${String(e)}\n`);
    process.exitCode = EXIT_USAGE;
  });
}
