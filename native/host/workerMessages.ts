// Messages between the side-process and its job worker (IPC, structured clone).
import type { RunReport } from '../../common/runReport';
import type { RunParams } from '../../common/sideProcessProtocol';
import type { JobErrorCode } from './errors';
import type { TracedGraphFiles } from './runJob';

export interface WorkerRequest {
  jobId: number;
  params: RunParams;
  traced?: TracedGraphFiles;
}

export type WorkerReply =
  | { type: 'progress'; jobId: number; message: string }
  | { type: 'done'; jobId: number; report: RunReport }
  | { type: 'error'; jobId: number; code: JobErrorCode; message: string };
