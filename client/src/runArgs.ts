// What "Run on ANE" was invoked with: the server's code-lens argument (contract 7), a file URI
// (explorer context menu, editor title), or nothing (command palette → the active editor).
// Pure: URIs are recognised by shape so this is unit tested without VS Code.
import type { RunLensArgs } from '../../common/commands';
import { modelKindOf } from '../../common/modelKind';
import type { RunTarget } from '../../common/sideProcessProtocol';

export interface UriLike {
  scheme: string;
  fsPath: string;
  path: string;
}

export type RunInvocation =
  | { kind: 'lens'; args: RunLensArgs }
  | { kind: 'uri'; uri: UriLike }
  | { kind: 'active' }
  | { kind: 'invalid'; message: string };

export function isUriLike(value: unknown): value is UriLike {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.scheme === 'string' && typeof v.fsPath === 'string' && typeof v.path === 'string';
}

const isPositiveInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;

/** Returns the problem with a lens argument, or undefined when it matches RunLensArgs. */
export function lensArgsProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return 'not an object';
  const v = value as Record<string, unknown>;
  if (typeof v.uri !== 'string' || v.uri === '') return '`uri` must be a non-empty string';
  if (!isPositiveInt(v.line)) return '`line` must be a 1-based line number';
  if (v.kind !== 'module' && v.kind !== 'convert') return '`kind` must be "module" or "convert"';
  if (v.className !== undefined && (typeof v.className !== 'string' || v.className === '')) return '`className` must be a non-empty string';
  if (v.inputShapes !== undefined) {
    if (!Array.isArray(v.inputShapes) || !v.inputShapes.every((s) => Array.isArray(s) && s.length > 0 && s.every(isPositiveInt))) {
      return '`inputShapes` must be lists of positive whole numbers';
    }
  }
  if (v.pragmaLine !== undefined && !isPositiveInt(v.pragmaLine)) return '`pragmaLine` must be a 1-based line number';
  if (v.reason !== undefined && typeof v.reason !== 'string') return '`reason` must be a string';
  return undefined;
}

export function classifyRunArgument(arg: unknown): RunInvocation {
  if (arg === undefined || arg === null) return { kind: 'active' };
  if (isUriLike(arg)) return { kind: 'uri', uri: arg };
  const problem = lensArgsProblem(arg);
  if (problem) return { kind: 'invalid', message: `Run on ANE was called with an unexpected argument: ${problem}.` };
  return { kind: 'lens', args: arg as RunLensArgs };
}

/** The run target for a model file the simulator runs (ONNX, Core ML), or undefined for other paths. */
export function modelRunTarget(path: string): RunTarget | undefined {
  const kind = modelKindOf(path);
  if (!kind) return undefined;
  return { kind: kind === 'onnx' ? 'onnx' : 'coreml', path };
}

/**
 * Picks the lens for a cursor: the nearest one starting at or above the cursor line (both 1-based),
 * else the first one in the file.
 */
export function lensForCursor(lenses: readonly RunLensArgs[], cursorLine: number): RunLensArgs | undefined {
  let best: RunLensArgs | undefined;
  for (const lens of lenses) {
    if (lens.line <= cursorLine && (!best || lens.line > best.line)) best = lens;
  }
  return best ?? [...lenses].sort((a, b) => a.line - b.line)[0];
}
