// The side-process's JSON-RPC service: ping, run (queued, with progress, timeout and cancellation) and
// the crash hook for tests. stdout carries only JSON-RPC; every log line goes to stderr.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMessageConnection, ResponseError, StreamMessageReader, StreamMessageWriter, type CancellationToken } from 'vscode-jsonrpc/node';
import { findChip } from '../../common/chips';
import type { RunReport } from '../../common/runReport';
import {
  CrashForTestRequest, PingRequest, ProgressNotification, RunRequest, SideProcessErrorCodes, type PingResult, type RunParams,
} from '../../common/sideProcessProtocol';
import { NativeAddon } from './addon';
import { JobError, toJobError, toResponseError } from './errors';
import { SerialQueue } from './jobQueue';
import { tracePyTorch } from './trace';
import { WorkerPool } from './workerPool';

export const SIDE_PROCESS_VERSION = '0.1.0';
const DEFAULT_TIMEOUT_MS = 120_000;

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

export function runServer(scriptPath: string): void {
  const connection = createMessageConnection(new StreamMessageReader(process.stdin), new StreamMessageWriter(process.stdout));
  const queue = new SerialQueue();
  const pool = new WorkerPool(scriptPath, log);
  let nextJobId = 1;
  let addonVersion: string | undefined;

  connection.onRequest(PingRequest, (): PingResult => {
    if (addonVersion === undefined) {
      try {
        addonVersion = NativeAddon.load().version();
      } catch (e) {
        // Ping still answers: the front end shows why runs will fail.
        return { version: SIDE_PROCESS_VERSION, addon: `unavailable: ${(e as Error).message}`, pid: process.pid };
      }
    }
    return { version: SIDE_PROCESS_VERSION, addon: addonVersion, pid: process.pid };
  });

  connection.onRequest(CrashForTestRequest, () => {
    if (process.env.ANE_LENS_TEST_HOOKS !== '1') {
      return new ResponseError(SideProcessErrorCodes.BadInput, 'aneLens/crashForTest is only available with ANE_LENS_TEST_HOOKS=1');
    }
    log('crashForTest: aborting');
    process.abort();
  });

  connection.onRequest(RunRequest, async (params: RunParams, token: CancellationToken): Promise<RunReport | ResponseError<void>> => {
    const jobId = nextJobId++;
    try {
      validateRunParams(params);
      const controller = new AbortController();
      const cancel = token.onCancellationRequested(() => controller.abort(new JobError(SideProcessErrorCodes.Cancelled, `job ${jobId} was cancelled`)));
      const progress = (message: string) => {
        void connection.sendNotification(ProgressNotification, { jobId, message, ...(params.tag !== undefined ? { tag: params.tag } : {}) });
      };
      if (queue.length > 0) progress(`queued behind ${queue.length} job(s)`);
      try {
        return await queue.enqueue(() => executeJob(jobId, params, controller, progress, pool), controller.signal);
      } finally {
        cancel.dispose();
      }
    } catch (e) {
      const err = toJobError(e);
      log(`job ${jobId} failed: ${err.message}`);
      return toResponseError(err);
    }
  });

  connection.onClose(() => {
    pool.dispose();
    process.exit(0);
  });
  process.on('exit', () => pool.dispose());
  connection.listen();
  pool.prewarm();
  log(`ANE Lens side-process ${SIDE_PROCESS_VERSION} (pid ${process.pid}) listening on stdio`);
}

async function executeJob(
  jobId: number, params: RunParams, controller: AbortController, progress: (m: string) => void, pool: WorkerPool,
): Promise<RunReport> {
  const timeoutMs = params.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let phase = 'starting';
  const timer = setTimeout(() => controller.abort(new JobError(SideProcessErrorCodes.Timeout,
    `job ${jobId} exceeded its time limit of ${timeoutMs} ms while ${phase} and was stopped`)), timeoutMs);
  let tempDir: string | undefined;
  try {
    let traced;
    if (params.target.kind === 'pytorch') {
      phase = `tracing ${params.target.className} with ${params.target.pythonPath}`;
      progress(phase);
      tempDir = mkdtempSync(join(tmpdir(), 'ane-lens-trace-'));
      traced = await tracePyTorch(params.target, tempDir, params.seed ?? 0, controller.signal, log);
    }
    phase = 'running';
    return await pool.run({ jobId, params, traced }, controller.signal, (m) => {
      phase = m;
      progress(m);
    });
  } finally {
    clearTimeout(timer);
    if (tempDir) rmSync(tempDir, { recursive: true, force: true });
  }
}

/** Untrusted parameters (any JSON-RPC peer): one clear BadInput error instead of a failure deep inside. */
function validateRunParams(p: RunParams): void {
  const bad = (m: string) => new JobError(SideProcessErrorCodes.BadInput, m);
  if (!p || typeof p !== 'object' || !p.target || typeof p.target !== 'object') throw bad('run: missing target');
  if (p.backend !== 'sim') throw bad(`run: unsupported backend "${String(p.backend)}"; available: sim`);
  findChip(String(p.chip ?? ''));
  const t = p.target;
  if (t.kind === 'onnx' || t.kind === 'coreml') {
    if (typeof t.path !== 'string' || !t.path) throw bad('run: target.path must be a file path');
  } else if (t.kind === 'pytorch') {
    if (typeof t.file !== 'string' || !t.file) throw bad('run: target.file must be a file path');
    if (typeof t.className !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(t.className)) throw bad(`run: target.className "${String(t.className)}" is not a Python class name`);
    if (typeof t.pythonPath !== 'string' || !t.pythonPath) throw bad('run: target.pythonPath is required');
    if (!Array.isArray(t.inputShapes) || t.inputShapes.length === 0 ||
        !t.inputShapes.every((s) => Array.isArray(s) && s.length > 0 && s.every((d) => Number.isInteger(d) && d > 0))) {
      throw bad('run: target.inputShapes must be a non-empty list of shapes of positive integers, e.g. [[1, 3, 224, 224]]');
    }
  } else {
    throw bad(`run: unknown target kind "${String((t as { kind?: unknown }).kind)}"`);
  }
  if (p.timeoutMs !== undefined && !(Number.isFinite(p.timeoutMs) && p.timeoutMs > 0)) throw bad('run: timeoutMs must be a positive number');
  if (p.seed !== undefined && !Number.isInteger(p.seed)) throw bad('run: seed must be an integer');
  if (p.inputNpy !== undefined && (typeof p.inputNpy !== 'object' || Object.values(p.inputNpy).some((v) => typeof v !== 'string'))) {
    throw bad('run: inputNpy must map input names to .npy paths');
  }
  if (p.saveOutputsTo !== undefined && typeof p.saveOutputsTo !== 'string') throw bad('run: saveOutputsTo must be a folder path');
}
