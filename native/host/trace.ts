// Runs the PyTorch tracer (python ane_trace.py) as a child process. Python may hang in user code (an
// import that waits for something, a giant model): the child is killed when the job is aborted.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SideProcessErrorCodes, type RunTarget } from '../../common/sideProcessProtocol';
import { JobError } from './errors';
import type { TracedGraphFiles } from './runJob';

const ERROR_PREFIX = 'ANE_TRACE_ERROR: ';

// Tracer children still running: killed if the side-process exits, so none outlive it.
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});
const STDERR_CAP = 64 * 1024;

/** dist/python/ane_trace.py beside the bundle; server/python/ane_trace.py when running from sources. */
export function tracerScriptPath(bundleDir: string = __dirname): string {
  const candidates = [join(bundleDir, 'python', 'ane_trace.py'), join(bundleDir, '..', '..', 'server', 'python', 'ane_trace.py')];
  return candidates.find((p) => existsSync(p)) ?? candidates[0];
}

export function tracePyTorch(
  target: Extract<RunTarget, { kind: 'pytorch' }>,
  outDir: string,
  seed: number,
  signal: AbortSignal,
  log: (line: string) => void,
): Promise<TracedGraphFiles> {
  const script = tracerScriptPath();
  const args = [script, '--file', target.file, '--class', target.className, '--inputs', JSON.stringify(target.inputShapes),
    '--out-dir', outDir, '--seed', String(seed)];
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    // No .pyc files in the user's folder; unbuffered so a kill loses nothing useful.
    const child = spawn(target.pythonPath, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1' },
    });
    running.add(child);
    child.on('exit', () => running.delete(child));
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => log(`[trace] ${d.trimEnd()}`));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      if (stderr.length < STDERR_CAP) stderr += d;
    });
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      fn();
    };
    const onAbort = () => finish(() => {
      child.kill('SIGKILL');
      reject(signal.reason);
    });
    signal.addEventListener('abort', onAbort, { once: true });
    child.on('error', (e: NodeJS.ErrnoException) => finish(() => {
      const why = e.code === 'ENOENT' ? 'not found' : e.message;
      reject(new JobError(SideProcessErrorCodes.TraceFailed, `cannot run Python ${target.pythonPath}: ${why}`));
    }));
    child.on('close', (code, sig) => finish(() => {
      if (code === 0) {
        resolve({ graphPath: join(outDir, 'graph.json'), weightsPath: join(outDir, 'weights.bin') });
        return;
      }
      if (stderr.trim()) log(`[trace] ${stderr.trimEnd()}`);
      const line = stderr.split('\n').find((l) => l.startsWith(ERROR_PREFIX));
      if (line) {
        reject(new JobError(SideProcessErrorCodes.TraceFailed, line.slice(ERROR_PREFIX.length)));
        return;
      }
      // Not our message: the interpreter itself failed (wrong Python version, SyntaxError in the helper...).
      const last = stderr.trim().split('\n').filter((l) => l.trim()).pop() ?? '';
      const how = sig ? `was killed by ${sig}` : `exited with code ${code}`;
      reject(new JobError(SideProcessErrorCodes.TraceFailed, `the PyTorch tracer (${target.pythonPath}) ${how}${last ? `: ${last}` : ''}`));
    }));
  });
}
