// The job worker: a child of the side-process (same bundle, `--job-worker`) that runs one job at a time.
// The native call is synchronous and cannot be interrupted from JS, so timeouts and cancellation kill this
// process instead (a worker_thread could not be stopped while inside native code).
import { toJobError } from './errors';
import { preloadAddon, runJob } from './runJob';
import type { WorkerReply, WorkerRequest } from './workerMessages';

export function runWorker(): void {
  // Load the addon now, while the worker waits for its first job, rather than inside that job.
  try {
    preloadAddon();
  } catch {
    // reported by the first job that needs it, with the reason
  }
  const send = (m: WorkerReply) => process.send?.(m);
  process.on('message', (msg: WorkerRequest) => {
    try {
      const report = runJob(msg.params, msg.traced, (message) => send({ type: 'progress', jobId: msg.jobId, message }));
      send({ type: 'done', jobId: msg.jobId, report });
    } catch (e) {
      const err = toJobError(e);
      send({ type: 'error', jobId: msg.jobId, code: err.code, message: err.message });
    }
  });
  // The parent going away (crash, kill) closes the IPC channel: leave instead of lingering.
  process.on('disconnect', () => process.exit(0));
}
