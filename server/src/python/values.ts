// Constant evaluation of the small numeric expressions people write for eps, shapes and bounds:
// `1e-12`, `1.0E-12`, `10**-12`, `-1`, `2 * 64`, names assigned once from such expressions.
import type { Node } from 'web-tree-sitter';
import type { AnalysisContext } from './context';
import { NAME_AT, sequenceElements, sourceOf, unparen } from './syntax';

// A plain numeric literal, maybe signed: most values evaluated are these, and reading the text is one call
// into wasm where unparen and the type switch were two more.
const NUMERIC_LITERAL = /^[-+]?(?:(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][-+]?\d[\d_]*)?|0[xXoObB][\da-fA-F_]+)$/;

/**
 * The value of `text` when it is a plain, maybe signed, int or float literal (undefined when it does not fit
 * a double); null when it is anything else (names, expressions, complex literals), left to the tree.
 */
export function numericLiteralValue(text: string): number | undefined | null {
  if (!NUMERIC_LITERAL.test(text)) return null;
  // The sign apart: Number() reads `0x10` but not `-0x10`.
  const signed = text[0] === '-' || text[0] === '+';
  const value = Number((signed ? text.slice(1) : text).replace(/_/g, ''));
  if (!Number.isFinite(value)) return undefined;
  return text[0] === '-' ? -value : value;
}

/** An identifier node's name, from the source when there is one (no call into wasm for the node's end). */
function identifierText(n: Node, source: string | undefined): string {
  if (source === undefined) return n.text;
  NAME_AT.lastIndex = n.startIndex;
  return NAME_AT.exec(source)?.[0] ?? n.text;
}

export function evalNumber(node: Node | null | undefined, ctx: AnalysisContext, depth = 0): number | undefined {
  if (!node || depth > 8) return undefined;
  // A literal starts with a digit, a sign or a dot; anything else (most often a name) is not worth the text.
  const source = sourceOf(node);
  const first = source?.charCodeAt(node.startIndex);
  if (first === undefined || (first >= 48 && first <= 57) || first === 45 || first === 43 || first === 46) {
    const literal = numericLiteralValue(node.text);
    if (literal !== null) return literal;
  }
  const n = unparen(node);
  switch (n.type) {
    case 'integer':
    case 'float': {
      const raw = n.text.replace(/_/g, '');
      if (/[jJ]$/.test(raw)) return undefined; // complex literal
      // Python allows `0o17`/`0b1`/`0x1F` (Number does too) and legacy-free decimal ints.
      const value = Number(raw);
      return Number.isFinite(value) ? value : undefined;
    }
    case 'unary_operator': {
      const arg = evalNumber(n.childForFieldName('argument'), ctx, depth + 1);
      const op = n.childForFieldName('operator')?.text;
      if (arg === undefined) return undefined;
      return op === '-' ? -arg : op === '+' ? arg : undefined;
    }
    case 'binary_operator': {
      const left = evalNumber(n.childForFieldName('left'), ctx, depth + 1);
      const right = evalNumber(n.childForFieldName('right'), ctx, depth + 1);
      if (left === undefined || right === undefined) return undefined;
      const op = n.childForFieldName('operator')?.text;
      switch (op) {
        case '+': return left + right;
        case '-': return left - right;
        case '*': return left * right;
        case '/': return right === 0 ? undefined : left / right;
        case '//': return right === 0 ? undefined : Math.floor(left / right);
        case '**': return left ** right;
        default: return undefined;
      }
    }
    case 'identifier': {
      const rhs = ctx.assignedBefore(identifierText(n, source), n);
      return rhs ? evalNumber(rhs, ctx, depth + 1) : undefined;
    }
    case 'call': {
      // float("1e-12") / int(3)
      const fn = n.childForFieldName('function');
      const args = n.childForFieldName('arguments')?.namedChildren ?? [];
      if (fn?.type === 'identifier' && (fn.text === 'float' || fn.text === 'int') && args.length === 1) {
        const only = args[0]!;
        if (only.type === 'string') {
          const content = only.namedChildren.find((c) => c.type === 'string_content')?.text ?? '';
          const value = Number(content.trim());
          return Number.isFinite(value) ? (fn.text === 'int' ? Math.trunc(value) : value) : undefined;
        }
        const value = evalNumber(only, ctx, depth + 1);
        return value === undefined ? undefined : fn.text === 'int' ? Math.trunc(value) : value;
      }
      return undefined;
    }
    default:
      return undefined;
  }
}

/** A tuple/list of integer expressions (`(1, 3, 224, 224)`, `[B, 128]` with B assigned), else undefined. */
export function evalIntTuple(node: Node | null | undefined, ctx: AnalysisContext): number[] | undefined {
  if (!node) return undefined;
  let elements = sequenceElements(node);
  if (!elements && unparen(node).type === 'identifier') {
    const rhs = ctx.assignedBefore(unparen(node).text, node);
    elements = rhs ? sequenceElements(rhs) : undefined;
  }
  if (!elements || elements.length === 0) return undefined;
  const out: number[] = [];
  for (const e of elements) {
    const v = evalNumber(e, ctx);
    if (v === undefined || !Number.isInteger(v)) return undefined;
    out.push(v);
  }
  return out;
}

/** Short human form of a number as written in messages: 1e-12, 0.00001 → 1e-5, 768. */
export function formatNumber(value: number): string {
  if (Number.isInteger(value) && Math.abs(value) < 1e15) return String(value);
  const abs = Math.abs(value);
  if (abs !== 0 && (abs < 1e-3 || abs >= 1e6)) return value.toExponential().replace(/\.?0+e/, 'e').replace('e+', 'e');
  return String(Number(value.toPrecision(6)));
}

/** Rounds to the nearest IEEE binary16 value (round-half-even), as the ANE stores constants. */
export function toFp16(value: number): number {
  const f32 = new Float32Array(1);
  f32[0] = value;
  const x = f32[0]!;
  if (!Number.isFinite(x)) return x;
  const abs = Math.abs(x);
  if (abs >= 65520) return x > 0 ? Infinity : -Infinity;
  // Below 2^-14 values are subnormal: a fixed step of 2^-24.
  const exponent = abs < 2 ** -14 ? -14 : Math.floor(Math.log2(abs));
  const step = 2 ** (exponent - 10);
  const q = abs / step;
  let r = Math.round(q);
  if (Math.abs(q - Math.trunc(q) - 0.5) < 1e-12) r = Math.trunc(q) % 2 === 0 ? Math.trunc(q) : Math.trunc(q) + 1;
  return Math.sign(x) * r * step;
}
