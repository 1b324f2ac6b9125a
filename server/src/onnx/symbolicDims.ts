// Symbolic dimension arithmetic for exports with dynamic axes. torch.onnx.export computes reshape targets
// at run time (Shape → Gather → Mul → Unsqueeze → Concat → Reshape); with a symbolic batch those chains
// cannot fold to numbers, but they can fold to symbols ("batch", "batch*4"), which gives every reshape a
// known output shape and lets the chain itself be dropped as dead code.
import type { Dim } from '../../../common/graphIR';

/** A product of a number and symbol factors, e.g. 4·batch·seq. */
interface Monomial { coeff: number; symbols: string[] }

function toMonomial(d: Dim): Monomial | undefined {
  if (typeof d === 'number') return { coeff: d, symbols: [] };
  if (d === '?' || d === '') return undefined;
  const m: Monomial = { coeff: 1, symbols: [] };
  for (const f of d.split('*')) {
    if (/^\d+$/.test(f)) m.coeff *= Number(f);
    else if (/^[A-Za-z_][\w.:-]*$/.test(f)) m.symbols.push(f);
    else return undefined;
  }
  return m;
}

function fromMonomial(m: Monomial): Dim {
  const symbols = [...m.symbols].sort();
  if (symbols.length === 0) return m.coeff;
  return [...(m.coeff !== 1 ? [String(m.coeff)] : []), ...symbols].join('*');
}

export function mulDims(a: Dim, b: Dim): Dim {
  const x = toMonomial(a);
  const y = toMonomial(b);
  if (!x || !y) return '?';
  return fromMonomial({ coeff: x.coeff * y.coeff, symbols: [...x.symbols, ...y.symbols] });
}

/** a / b when b's symbols all occur in a and the coefficient divides; '?' otherwise. */
export function divDims(a: Dim, b: Dim): Dim {
  const x = toMonomial(a);
  const y = toMonomial(b);
  if (!x || !y || y.coeff === 0 || x.coeff % y.coeff !== 0) return '?';
  const rest = [...x.symbols];
  for (const s of y.symbols) {
    const at = rest.indexOf(s);
    if (at < 0) return '?';
    rest.splice(at, 1);
  }
  return fromMonomial({ coeff: x.coeff / y.coeff, symbols: rest });
}

export function productDims(dims: readonly Dim[]): Dim {
  return dims.reduce<Dim>((acc, d) => mulDims(acc, d), 1);
}

/** Elementwise integer arithmetic on shape values; only exact results, '?' for anything symbolic but + and -. */
export function arithDims(op: string, a: Dim, b: Dim): Dim {
  if (typeof a === 'number' && typeof b === 'number') {
    switch (op) {
      case 'Add': return a + b;
      case 'Sub': return a - b;
      case 'Mul': return a * b;
      case 'Div': return b === 0 ? '?' : Math.trunc(a / b);
      default: return '?';
    }
  }
  if (op === 'Mul') return mulDims(a, b);
  if (op === 'Div') return divDims(a, b);
  return '?';
}

/**
 * ONNX Reshape target → output shape over symbols: 0 copies the input dimension (unless allowzero), -1 is
 * the input's element count divided by the other target dimensions when that division is exact.
 */
export function resolveReshapeSymbolic(input: readonly Dim[] | undefined, target: readonly Dim[], allowZero: boolean): Dim[] | undefined {
  if (target.some((d) => typeof d === 'number' && (!Number.isInteger(d) || d < -1))) return undefined;
  if (target.filter((d) => d === -1).length > 1) return undefined;
  const out: Dim[] = [];
  for (const [k, d] of target.entries()) {
    if (d === 0 && !allowZero) {
      const copied = input?.[k];
      if (copied === undefined) return undefined;
      out.push(copied);
    } else {
      out.push(d);
    }
  }
  const inferAt = out.indexOf(-1);
  if (inferAt >= 0) {
    if (!input) return undefined;
    const known = productDims(out.filter((_, k) => k !== inferAt));
    if (known === 0) return undefined;
    const inferred = divDims(productDims(input), known);
    if (typeof inferred === 'number' && !Number.isInteger(inferred)) return undefined;
    out[inferAt] = inferred;
  }
  return out;
}
