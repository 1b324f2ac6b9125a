// JSON-RPC methods between a front end (the extension, the CLI) and the native side-process.
// Typed once here; both ends import these types. Transport: vscode-jsonrpc over stdio.
import { NotificationType, RequestType } from 'vscode-jsonrpc';
import type { RunReport } from './runReport';

/** What to run: a model file, or an nn.Module class traced by the Python helper. */
export type RunTarget =
  | { kind: 'onnx'; path: string }
  /** An .mlpackage (or its Manifest.json), an .mlmodel, or compiled MIL (model.mil, an .mlmodelc). */
  | { kind: 'coreml'; path: string }
  | {
      kind: 'pytorch';
      /** The .py file that defines the class. */
      file: string;
      className: string;
      /** One shape per forward() argument, e.g. [[1, 3, 224, 224]]. */
      inputShapes: number[][];
      /** Interpreter to trace with (aneLens.pythonPath, the Python extension's, or python3). */
      pythonPath: string;
    };

export interface RunParams {
  target: RunTarget;
  backend: 'sim';
  /** Chip id, e.g. "M4" (case-insensitive). */
  chip: string;
  /** Optional .npy files per graph input name; seeded random inputs otherwise. */
  inputNpy?: Record<string, string>;
  /** When set, the fp16 outputs are written here as <output name>.npy (float32 values). */
  saveOutputsTo?: string;
  /** Seed for random inputs. */
  seed?: number;
  /** Job time limit in ms (default 120000), counted from when the job starts (not while it waits in the queue). */
  timeoutMs?: number;
  /** Opaque tag echoed in this job's progress notifications, so a front end can tell concurrent runs apart. */
  tag?: string;
}

export interface PingResult {
  version: string;
  addon: string;
  pid: number;
}

export interface ProgressParams {
  jobId: number;
  message: string;
  /** RunParams.tag of the job, when one was given. */
  tag?: string;
}

export const RunRequest = new RequestType<RunParams, RunReport, void>('aneLens/run');
export const PingRequest = new RequestType<void, PingResult, void>('aneLens/ping');
/** Only honoured when the side-process runs with ANE_LENS_TEST_HOOKS=1: lets tests prove restart works. */
export const CrashForTestRequest = new RequestType<void, void, void>('aneLens/crashForTest');
export const ProgressNotification = new NotificationType<ProgressParams>('aneLens/progress');

/** Error codes carried in ResponseError.code, so front ends can word them. */
export const SideProcessErrorCodes = {
  BadInput: -32001,
  TraceFailed: -32002,
  Timeout: -32003,
  Internal: -32004,
  /** Client side: the process died while the request was pending (it is restarted). */
  Crashed: -32005,
  /** The request was cancelled (same value as LSP's RequestCancelled). */
  Cancelled: -32800,
} as const;
