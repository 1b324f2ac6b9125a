// Input shapes typed by the user (input box) and written back as an `# ane: inputs=...` pragma.
// Pure: no vscode import, so it is unit tested directly and matches what the server's lens parser reads.

/** Largest element count accepted for one input: the side-process refuses more than 2^31 elements anyway. */
const MAX_ELEMENTS = 2 ** 31;

export type ShapeParse = { ok: true; shapes: number[][] } | { ok: false; error: string };

/**
 * Parses "(1, 3, 224, 224), (1, 128)" — one tuple (or [list]) per forward() argument. A bare
 * "1, 3, 224, 224" is taken as a single shape, since that is what people type for one input.
 */
export function parseShapeList(text: string): ShapeParse {
  const trimmed = text.trim();
  if (trimmed === '') return { ok: false, error: 'Enter one shape per forward() argument, e.g. (1, 3, 224, 224)' };
  const groups: string[] = [];
  if (/^[([]/.test(trimmed)) {
    let rest = trimmed;
    while (rest.length > 0) {
      const m = /^([([])([^()[\]]*)([)\]])\s*(,\s*)?/.exec(rest);
      if (!m) return { ok: false, error: `Cannot read "${rest}": write shapes as tuples, e.g. (1, 3, 224, 224), (1, 128)` };
      if ((m[1] === '(') !== (m[3] === ')')) return { ok: false, error: `Mismatched brackets in "${m[0].trim()}"` };
      groups.push(m[2]);
      rest = rest.slice(m[0].length);
    }
  } else {
    groups.push(trimmed);
  }
  const shapes: number[][] = [];
  for (const group of groups) {
    const parts = group.split(',').map((p) => p.trim());
    // A trailing comma is Python's one-element tuple "(5,)".
    if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
    if (parts.length === 0 || (parts.length === 1 && parts[0] === '')) return { ok: false, error: 'A shape needs at least one dimension, e.g. (1, 128)' };
    const dims: number[] = [];
    for (const part of parts) {
      if (!/^\d+$/.test(part)) return { ok: false, error: `"${part}" is not a positive whole number: dimensions must be static (no -1, None or names)` };
      const dim = Number(part);
      if (dim <= 0) return { ok: false, error: `Dimension ${dim} must be at least 1` };
      dims.push(dim);
    }
    const elements = dims.reduce((a, b) => a * b, 1);
    if (elements > MAX_ELEMENTS) return { ok: false, error: `Shape (${dims.join(', ')}) has ${elements} elements; the limit is 2^31` };
    shapes.push(dims);
  }
  return { ok: true, shapes };
}

/** Python tuple syntax, "(5,)" for one dimension, so the pragma reads like the code around it. */
export function formatShape(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
}

export function formatShapeList(shapes: readonly (readonly number[])[]): string {
  return shapes.map(formatShape).join(', ');
}

export function pragmaComment(shapes: readonly (readonly number[])[]): string {
  return `# ane: inputs=${formatShapeList(shapes)}`;
}

export interface PragmaEdit {
  /** 0-based line where the text goes. */
  line: number;
  /** True when that line already holds an `# ane:` pragma that is rewritten (keeping its `module=`). */
  replace: boolean;
  /** The full line, indentation included, without the newline. */
  text: string;
}

const PRAGMA = /^\s*#\s*ane\s*:/;
const MODULE_ITEM = /\bmodule\s*=\s*([A-Za-z_][\w.]*)/;

/**
 * Where the pragma goes for the class on `classLine` (1-based): directly above the class and its
 * decorators, with the class's indentation; an existing pragma there is rewritten, not doubled.
 */
export function pragmaEdit(lines: readonly string[], classLine: number, shapes: readonly (readonly number[])[]): PragmaEdit {
  const classIndex = classLine - 1;
  if (classIndex < 0 || classIndex >= lines.length) throw new RangeError(`line ${classLine} is outside the document (${lines.length} lines)`);
  const indent = /^\s*/.exec(lines[classIndex])![0];
  let top = classIndex;
  while (top > 0 && lines[top - 1].trim().startsWith('@')) top--;
  const text = indent + pragmaComment(shapes);
  if (top > 0 && PRAGMA.test(lines[top - 1])) {
    const module = MODULE_ITEM.exec(lines[top - 1]);
    return { line: top - 1, replace: true, text: module ? `${text}; module=${module[1]}` : text };
  }
  return { line: top, replace: false, text };
}

/** 1-based line of `class Name` in the text, for pragmas offered from a ct.convert lens. */
export function findClassLine(lines: readonly string[], className: string): number | undefined {
  const simple = className.split('.').pop()!;
  const re = new RegExp(`^\\s*class\\s+${simple.replace(/[^\w]/g, '')}\\b`);
  const index = lines.findIndex((l) => re.test(l));
  return index >= 0 ? index + 1 : undefined;
}
