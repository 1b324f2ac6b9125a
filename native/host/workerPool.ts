// Runs jobs in the job worker child, one at a time, keeping the child warm between jobs. Aborting a job
// kills the child (SIGKILL: the native code may be mid-loop and will not look at any flag); the next job
// starts a fresh one.
import { fork, type ChildProcess } from 'node:child_process';
import type { RunReport } from '../../common/runReport';
import { SideProcessErrorCodes } from '../../common/sideProcessProtocol';
import { JobError } from './errors';
import type { WorkerReply, WorkerRequest } from './workerMessages';

export class WorkerPool {
  private child: ChildProcess | undefined;
  private disposed = false;

  constructor(private readonly scriptPath: string, private readonly log: (line: string) => void) {}

  run(request: WorkerRequest, signal: AbortSignal, onProgress: (message: string) => void): Promise<RunReport> {
    if (signal.aborted) return Promise.reject(signal.reason);
    const child = this.ensureChild();
    return new Promise<RunReport>((resolve, reject) => {
      const cleanup = () => {
        child.off('message', onMessage);
        child.off('exit', onExit);
        signal.removeEventListener('abort', onAbort);
      };
      const onMessage = (m: WorkerReply) => {
        if (m.jobId !== request.jobId) return;
        if (m.type === 'progress') {
          onProgress(m.message);
          return;
        }
        cleanup();
        if (m.type === 'done') resolve(m.report);
        else reject(new JobError(m.code, m.message));
      };
      const onExit = (code: number | null, sig: NodeJS.Signals | null) => {
        cleanup();
        if (this.child === child) this.child = undefined;
        const how = sig ? `signal ${sig}` : `exit code ${code}`;
        reject(new JobError(SideProcessErrorCodes.Internal, `the native executor process died (${how}) while running job ${request.jobId}`));
      };
      const onAbort = () => {
        cleanup();
        this.kill(child);
        reject(signal.reason);
      };
      child.on('message', onMessage);
      child.on('exit', onExit);
      signal.addEventListener('abort', onAbort, { once: true });
      child.send(request);
    });
  }

  /**
   * Start a worker ahead of need: a cold one costs a Node start plus loading the bundle and the addon
   * (0.1–1 s on a busy 2-core machine), which would otherwise land on the next run.
   */
  prewarm(): void {
    if (!this.disposed) this.ensureChild();
  }

  dispose(): void {
    this.disposed = true;
    if (this.child) this.kill(this.child);
  }

  private kill(child: ChildProcess): void {
    if (this.child === child) this.child = undefined;
    child.kill('SIGKILL');
    if (!this.disposed) setImmediate(() => this.prewarm());
  }

  private ensureChild(): ChildProcess {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) return this.child;
    const child = fork(this.scriptPath, ['--job-worker'], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'advanced',
      execArgv: [],
    });
    // The worker's stdout must never reach our stdout (that is the JSON-RPC channel): both go to the log.
    child.stdout?.setEncoding('utf8').on('data', (d: string) => this.log(`[worker] ${d.trimEnd()}`));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => this.log(`[worker] ${d.trimEnd()}`));
    child.on('error', (e) => this.log(`job worker error: ${e.message}`));
    this.child = child;
    return child;
  }
}
