// Shape arithmetic for the ONNX reader's own inference. Dimensions are numbers when static and strings
// (symbols) otherwise; every helper degrades to a symbol or undefined rather than guessing.
import type { Dim } from '../../../common/graphIR';

export type Shape = Dim[];

export function isStatic(shape: Shape | undefined): shape is number[] {
  return !!shape && shape.every((d) => typeof d === 'number');
}

/** Numpy broadcasting of two shapes. */
export function broadcastShapes(a: Shape | undefined, b: Shape | undefined): Shape | undefined {
  if (!a || !b) return undefined;
  const rank = Math.max(a.length, b.length);
  const out: Shape = [];
  for (let k = 0; k < rank; k++) {
    const da = a[a.length - rank + k] ?? 1;
    const db = b[b.length - rank + k] ?? 1;
    if (da === 1) out.push(db);
    else if (db === 1) out.push(da);
    else if (typeof da === 'number') out.push(da);
    else out.push(db);
  }
  return out;
}

export function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

export function product(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

/** A derived dimension: arithmetic on static dims, a fresh symbol otherwise. */
export function dimOp(d: Dim, f: (n: number) => number, symbol: string): Dim {
  return typeof d === 'number' ? f(d) : symbol;
}

/** Output extent of a windowed op (conv, pool) on one axis. */
export function windowOut(input: Dim, kernel: number, stride: number, padBegin: number, padEnd: number, dilation: number, ceil: boolean): Dim {
  if (typeof input !== 'number') return input;
  const effective = (kernel - 1) * dilation + 1;
  const span = input + padBegin + padEnd - effective;
  if (span < 0) return 0;
  let out = (ceil ? Math.ceil(span / stride) : Math.floor(span / stride)) + 1;
  // With ceil_mode the last window must start inside the input or the begin padding (PyTorch/ONNX rule).
  if (ceil && (out - 1) * stride >= input + padBegin) out--;
  return out;
}

/** Begin/end padding for auto_pad SAME_UPPER / SAME_LOWER on one axis. */
export function samePadding(input: number, kernel: number, stride: number, dilation: number, upper: boolean): [number, number] {
  const effective = (kernel - 1) * dilation + 1;
  const out = Math.ceil(input / stride);
  const total = Math.max(0, (out - 1) * stride + effective - input);
  const small = Math.floor(total / 2);
  return upper ? [small, total - small] : [total - small, small];
}

/** Numpy matmul output shape. */
export function matmulShape(a: Shape | undefined, b: Shape | undefined, transA = false, transB = false): Shape | undefined {
  if (!a || !b || a.length === 0 || b.length === 0) return undefined;
  let x = [...a];
  let y = [...b];
  const xVec = x.length === 1;
  const yVec = y.length === 1;
  if (xVec) x = [1, x[0]!];
  if (yVec) y = [y[0]!, 1];
  if (transA) x = [...x.slice(0, -2), x[x.length - 1]!, x[x.length - 2]!];
  if (transB) y = [...y.slice(0, -2), y[y.length - 1]!, y[y.length - 2]!];
  const batch = broadcastShapes(x.slice(0, -2), y.slice(0, -2)) ?? [];
  const out: Shape = [...batch];
  if (!xVec) out.push(x[x.length - 2]!);
  if (!yVec) out.push(y[y.length - 1]!);
  return out;
}
