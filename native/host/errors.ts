// One error type for everything a job can fail with, carrying the JSON-RPC code front ends word it by.
import { ResponseError } from 'vscode-jsonrpc';
import { UnknownChipError } from '../../common/chips';
import { GraphValidationError } from '../../common/graphIR';
import { SideProcessErrorCodes } from '../../common/sideProcessProtocol';
import { AddonLoadError, AddonRunError, oneLine } from './addon';
import { NpyError } from './npy';

export type JobErrorCode = (typeof SideProcessErrorCodes)[keyof typeof SideProcessErrorCodes];

export class JobError extends Error {
  constructor(readonly code: JobErrorCode, message: string) {
    super(oneLine(message));
  }
}

/** Map any thrown value to a JobError: known user-facing errors keep their message, the rest are Internal. */
export function toJobError(e: unknown): JobError {
  if (e instanceof JobError) return e;
  const err = e instanceof Error ? e : new Error(String(e));
  // ModelReadError comes from the ONNX reader; matched by name so this module does not pull the reader in.
  if (err instanceof NpyError || err instanceof UnknownChipError || err instanceof GraphValidationError ||
      err instanceof AddonRunError || err.name === 'ModelReadError' || err.constructor?.name === 'ModelReadError') {
    return new JobError(SideProcessErrorCodes.BadInput, err.message);
  }
  if (err instanceof AddonLoadError) return new JobError(SideProcessErrorCodes.Internal, err.message);
  return new JobError(SideProcessErrorCodes.Internal, `internal error: ${err.message || err.name}`);
}

export function toResponseError(e: unknown): ResponseError<void> {
  const j = toJobError(e);
  return new ResponseError(j.code, j.message);
}
