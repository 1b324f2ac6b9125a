// `# ane:` pragmas: a comment directly above a class (or its decorators) or a ct.convert statement
// that tells ANE Lens what the source cannot: `# ane: inputs=(1, 3, 224, 224), (1, 128)` and
// `# ane: module=Net`. Parsed strictly: a malformed pragma is reported where it is wrong rather
// than silently ignored, because a typo would otherwise run the model with the wrong shapes.

export interface PragmaValue {
  inputs?: number[][];
  module?: string;
}

export interface PragmaSyntaxError {
  /** 0-based offsets in the line, end exclusive. */
  start: number;
  end: number;
  message: string;
}

export type PragmaParse = { ok: true; value: PragmaValue } | { ok: false; error: PragmaSyntaxError };

// `# ane: ignore...` comments are suppressions (suppressions.ts), not pragmas.
const PRAGMA_START = /^(\s*#\s*)ane\s*:(?!\s*ignore\b)/;

/** True if the line is an `# ane:` pragma comment (well-formed or not). */
export function isPragmaLine(line: string): boolean {
  return PRAGMA_START.test(line);
}

/** Parses one pragma line; undefined if it is not a pragma at all. */
export function parsePragmaLine(line: string): PragmaParse | undefined {
  const head = PRAGMA_START.exec(line);
  if (!head) return undefined;
  return new PragmaParser(line, head[0].length).parse();
}

class PragmaParser {
  private pos: number;
  constructor(private readonly s: string, start: number) { this.pos = start; }

  parse(): PragmaParse {
    const value: PragmaValue = {};
    try {
      this.ws();
      if (this.pos >= this.s.length) this.fail(this.pos, this.s.length, 'empty `# ane:` pragma: expected `inputs=(...)` or `module=Name`');
      let first = true;
      while (this.pos < this.s.length) {
        if (!first) {
          // Items are separated by `;`, `,` or plain spaces.
          if (this.s[this.pos] === ';' || this.s[this.pos] === ',') this.pos++;
          this.ws();
          if (this.pos >= this.s.length) break;
        }
        first = false;
        const keyStart = this.pos;
        const key = this.identifier();
        if (!key) this.fail(keyStart, keyStart + 1, `expected a key (\`inputs\` or \`module\`), found \`${this.s[keyStart]}\``);
        this.ws();
        if (this.s[this.pos] !== '=') this.fail(this.pos, this.pos + 1, `expected \`=\` after \`${key}\``);
        this.pos++;
        this.ws();
        if (key === 'inputs') {
          if (value.inputs) this.fail(keyStart, keyStart + key.length, '`inputs` is given twice');
          value.inputs = this.shapes();
        } else if (key === 'module') {
          if (value.module) this.fail(keyStart, keyStart + key.length, '`module` is given twice');
          const start = this.pos;
          const name = this.dotted();
          if (!name) this.fail(start, start + 1, '`module=` expects a class name, e.g. `module=Net`');
          value.module = name;
        } else {
          this.fail(keyStart, keyStart + key.length, `unknown pragma key \`${key}\` (expected \`inputs\` or \`module\`)`);
        }
        this.ws();
      }
    } catch (e) {
      if (e instanceof PragmaFailure) return { ok: false, error: e.error };
      throw e;
    }
    return { ok: true, value };
  }

  /** One or more shape tuples separated by commas: `(1, 3, 224, 224), (1, 128)`. */
  private shapes(): number[][] {
    const shapes: number[][] = [this.shape()];
    for (;;) {
      const save = this.pos;
      this.ws();
      if (this.s[this.pos] !== ',') { this.pos = save; break; }
      this.pos++;
      this.ws();
      if (this.s[this.pos] !== '(' && this.s[this.pos] !== '[') { this.pos = save; break; } // next `key=` item
      shapes.push(this.shape());
    }
    return shapes;
  }

  private shape(): number[] {
    const open = this.s[this.pos];
    const start = this.pos;
    if (open !== '(' && open !== '[') {
      this.fail(this.pos, this.pos + 1, `expected a shape like \`(1, 3, 224, 224)\`, found \`${this.s.slice(this.pos, this.pos + 12) || 'end of line'}\``);
    }
    const close = open === '(' ? ')' : ']';
    this.pos++;
    const dims: number[] = [];
    for (;;) {
      this.ws();
      if (this.s[this.pos] === close && dims.length > 0) { this.pos++; break; }
      const numStart = this.pos;
      const m = /^[+-]?\d[\d_]*(\.\d*)?([eE][+-]?\d+)?/.exec(this.s.slice(this.pos));
      if (!m) {
        if (this.pos >= this.s.length) this.fail(start, this.s.length, `unclosed shape: missing \`${close}\``);
        this.fail(numStart, numStart + 1, dims.length === 0 && this.s[this.pos] === close
          ? 'a shape needs at least one dimension'
          : `expected a dimension (a positive integer), found \`${this.s[this.pos]}\``);
      }
      const text = m![0];
      this.pos += text.length;
      const dim = Number(text.replace(/_/g, ''));
      if (!/^\+?\d[\d_]*$/.test(text) || !Number.isSafeInteger(dim) || dim <= 0) {
        this.fail(numStart, this.pos, `dimension \`${text}\` must be a positive integer`);
      }
      dims.push(dim);
      this.ws();
      if (this.s[this.pos] === ',') { this.pos++; continue; }
      if (this.s[this.pos] === close) { this.pos++; break; }
      if (this.pos >= this.s.length) this.fail(start, this.s.length, `unclosed shape: missing \`${close}\``);
      this.fail(this.pos, this.pos + 1, `expected \`,\` or \`${close}\` in shape, found \`${this.s[this.pos]}\``);
    }
    return dims;
  }

  private identifier(): string | undefined {
    const m = /^[A-Za-z_]\w*/.exec(this.s.slice(this.pos));
    if (!m) return undefined;
    this.pos += m[0].length;
    return m[0];
  }

  private dotted(): string | undefined {
    const m = /^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*/.exec(this.s.slice(this.pos));
    if (!m) return undefined;
    this.pos += m[0].length;
    return m[0];
  }

  private ws(): void {
    while (this.pos < this.s.length && /\s/.test(this.s[this.pos]!)) this.pos++;
  }

  private fail(start: number, end: number, message: string): never {
    throw new PragmaFailure({ start, end: Math.max(end, start + 1), message });
  }
}

class PragmaFailure extends Error {
  constructor(readonly error: PragmaSyntaxError) { super(error.message); }
}

export interface AttachedPragma {
  /** 0-based row of the pragma comment. */
  row: number;
  parse: PragmaParse;
}

/**
 * The `# ane:` pragma in the run of comment lines directly above `row` (0-based; the class, its first
 * decorator, or the statement), or undefined. A blank line breaks the attachment.
 */
export function pragmaAbove(lineAt: (row: number) => string, row: number): AttachedPragma | undefined {
  for (let r = row - 1; r >= 0; r--) {
    const line = lineAt(r);
    if (!/^\s*#/.test(line)) return undefined;
    const parse = parsePragmaLine(line);
    if (parse) return { row: r, parse };
  }
  return undefined;
}
