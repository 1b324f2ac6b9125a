// Parser for the typed MIL text a compiled .mlmodelc carries as `model.mil` (coreml-format.md §3.3):
//   program(1.0) [attrs] { func main<ios16>(tensor<fp16, [1, 10]> x, ...) { <typed outputs> = op(args)[attrs]; ... } -> (outs); }
// A tokenizer plus a recursive-descent parser with a depth limit. Each op keeps its 1-based line so
// diagnostics land on the text itself. Errors name the line and what was expected.
import type { Dim, DType, TensorType, ValueDecl } from '../../../common/graphIR';
import { ModelReadError } from '../onnx/readOnnx';
import { checkDims, MAX_BLOCK_DEPTH, MAX_INLINE_VALUES, type MilBinding, type MilBlock, type MilFunction, type MilOp, type MilValue } from './milProgram';

interface Token { kind: 'id' | 'num' | 'str' | 'punct'; text: string; line: number }

const PUNCT = new Set(['(', ')', '[', ']', '{', '}', '<', '>', ',', '=', ';']);
const MAX_LITERAL_DEPTH = 32;
const DTYPES: Record<string, DType> = {
  fp16: 'fp16', fp32: 'fp32', fp64: 'fp64', int8: 'int8', int16: 'int16', int32: 'int32', int64: 'int64',
  uint8: 'uint8', bool: 'bool', string: 'string',
};

function tokenize(file: string, text: string): Token[] {
  const out: Token[] = [];
  let line = 1;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '\n') { line++; i++; continue; }
    if (c === ' ' || c === '\t' || c === '\r') { i++; continue; }
    if (c === '/' && text[i + 1] === '/') { while (i < text.length && text[i] !== '\n') i++; continue; }
    if (c === '-' && text[i + 1] === '>') { out.push({ kind: 'punct', text: '->', line }); i += 2; continue; }
    if (PUNCT.has(c)) { out.push({ kind: 'punct', text: c, line }); i++; continue; }
    if (c === '"') {
      let j = i + 1;
      let s = '';
      while (j < text.length && text[j] !== '"') {
        if (text[j] === '\n') throw new ModelReadError(file, `line ${line}: unterminated string`);
        if (text[j] === '\\' && j + 1 < text.length) j++;
        s += text[j];
        j++;
      }
      if (j >= text.length) throw new ModelReadError(file, `line ${line}: unterminated string`);
      out.push({ kind: 'str', text: s, line });
      i = j + 1;
      continue;
    }
    const num = /^[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|inf|nan)/.exec(text.slice(i, i + 64));
    if (num && (/[\d.]/.test(c) || ((c === '-' || c === '+') && /[\d.in]/.test(text[i + 1] ?? '')))) {
      out.push({ kind: 'num', text: num[0], line });
      i += num[0].length;
      continue;
    }
    const id = /^[A-Za-z_@][A-Za-z0-9_@.\/]*/.exec(text.slice(i, i + 4096));
    if (id) { out.push({ kind: 'id', text: id[0], line }); i += id[0].length; continue; }
    throw new ModelReadError(file, `line ${line}: unexpected character ${JSON.stringify(c)}`);
  }
  return out;
}

type Literal = number | string | boolean | Literal[] | { blob: { fileName: string; offset: number } };

class Parser {
  private pos = 0;
  readonly blobs: Array<{ constName: string; fileName: string; offset: number }> = [];
  constructor(private readonly file: string, private readonly toks: Token[]) {}

  private peek(k = 0): Token | undefined { return this.toks[this.pos + k]; }
  private fail(what: string): never {
    const t = this.peek();
    throw new ModelReadError(this.file, t ? `line ${t.line}: expected ${what}, found "${t.text}"` : `unexpected end of file (expected ${what})`);
  }
  private is(text: string): boolean { return this.peek()?.text === text && this.peek()?.kind !== 'str'; }
  private eat(text: string): Token {
    if (!this.is(text)) this.fail(`"${text}"`);
    return this.toks[this.pos++]!;
  }
  private ident(): Token {
    const t = this.peek();
    if (!t || t.kind !== 'id') this.fail('a name');
    this.pos++;
    return t;
  }

  program(): MilFunction[] {
    this.eat('program');
    this.eat('(');
    while (!this.is(')')) { if (!this.peek()) this.fail('")"'); this.pos++; }
    this.eat(')');
    if (this.is('[')) this.attrList();
    this.eat('{');
    const fns: MilFunction[] = [];
    while (this.is('func')) fns.push(this.func());
    this.eat('}');
    if (this.peek()) this.fail('end of file');
    return fns;
  }

  private func(): MilFunction {
    this.eat('func');
    const name = this.ident().text;
    let opset = '';
    if (this.is('<')) { this.eat('<'); opset = this.ident().text; this.eat('>'); }
    this.eat('(');
    const inputs: ValueDecl[] = [];
    while (!this.is(')')) {
      const type = this.type(0);
      inputs.push({ name: this.ident().text, type });
      if (!this.is(')')) this.eat(',');
    }
    this.eat(')');
    if (this.is('[')) this.attrList();
    const block = this.block(name, 0);
    return { name, opset, inputs, block };
  }

  private block(label: string, depth: number): MilBlock {
    if (depth > MAX_BLOCK_DEPTH) this.fail(`at most ${MAX_BLOCK_DEPTH} nested blocks`);
    const inputs: ValueDecl[] = [];
    if (this.is('(')) {
      this.eat('(');
      while (!this.is(')')) {
        const type = this.type(0);
        inputs.push({ name: this.ident().text, type });
        if (!this.is(')')) this.eat(',');
      }
      this.eat(')');
    }
    this.eat('{');
    const ops: MilOp[] = [];
    while (!this.is('}')) {
      if (!this.peek()) this.fail('"}"');
      ops.push(this.statement(depth));
    }
    this.eat('}');
    this.eat('->');
    this.eat('(');
    const outputs: string[] = [];
    while (!this.is(')')) { outputs.push(this.ident().text); if (!this.is(')')) this.eat(','); }
    this.eat(')');
    this.eat(';');
    return { label: depth === 0 ? '' : label, inputs, outputs, ops };
  }

  private statement(depth: number): MilOp {
    const line = this.peek()!.line;
    const outputs: ValueDecl[] = [];
    for (;;) {
      const type = this.type(0);
      outputs.push({ name: this.ident().text, type });
      if (this.is(',')) { this.eat(','); continue; }
      break;
    }
    this.eat('=');
    const opType = this.ident().text;
    this.eat('(');
    const inputs: MilOp['inputs'] = [];
    while (!this.is(')')) {
      const param = this.ident().text;
      this.eat('=');
      inputs.push([param, this.bindings()]);
      if (!this.is(')')) this.eat(',');
    }
    this.eat(')');
    const attrs = this.is('[') ? this.attrList() : {};
    const nameAttr = attrs.name;
    delete attrs.name;
    const name = nameAttr?.values?.length === 1 && typeof nameAttr.values[0] === 'string' ? nameAttr.values[0] : outputs[0]!.name;
    const blocks: MilBlock[] = [];
    while (this.is('{') || this.is('(')) blocks.push(this.block(`${name}_block${blocks.length}`, depth + 1));
    if (blocks.length === 0) this.eat(';');
    if (opType === 'const' && attrs.val?.blob) this.blobs.push({ constName: outputs[0]!.name, fileName: attrs.val.blob.fileName, offset: attrs.val.blob.offset });
    return { type: opType, name, inputs, outputs, blocks, attrs, line };
  }

  private bindings(): MilBinding[] {
    if (this.is('(')) {
      this.eat('(');
      const list: MilBinding[] = [];
      while (!this.is(')')) { list.push(this.binding()); if (!this.is(')')) this.eat(','); }
      this.eat(')');
      return list;
    }
    return [this.binding()];
  }

  private binding(): MilBinding {
    const t = this.peek();
    // A name is a value reference unless a type-with-literal follows: `x` vs `int32(1)` / `tensor<...>(...)`.
    if (t?.kind === 'id' && this.peek(1)?.text !== '(' && this.peek(1)?.text !== '<') { this.pos++; return { name: t.text }; }
    return { value: this.typedValue() };
  }

  private attrList(): Record<string, MilValue> {
    this.eat('[');
    const attrs: Record<string, MilValue> = {};
    while (!this.is(']')) {
      const key = this.ident().text;
      this.eat('=');
      attrs[key] = this.typedValue();
      if (!this.is(']')) this.eat(',');
    }
    this.eat(']');
    return attrs;
  }

  /** `tensor<fp16, [1, 10]>`, `string`, `int32`, `dict<K, V>`, `list<T, N>`, `state<T>`. */
  private type(depth: number): TensorType {
    if (depth > MAX_LITERAL_DEPTH) this.fail(`a type nested at most ${MAX_LITERAL_DEPTH} deep`);
    const head = this.ident().text;
    if (!this.is('<')) return { dtype: DTYPES[head] ?? 'unknown', shape: [] };
    this.eat('<');
    if (head === 'tensor') {
      const dtype = DTYPES[this.ident().text] ?? 'unknown';
      this.eat(',');
      this.eat('[');
      const shape: Dim[] = [];
      const sizes: number[] = [];
      while (!this.is(']')) {
        const d = this.peek();
        if (d?.kind === 'num') { this.pos++; const v = Number(d.text); sizes.push(v); shape.push(v); }
        else if (d?.kind === 'id') { this.pos++; shape.push(d.text); }
        else this.fail('a dimension');
        if (shape.length > 64) this.fail('at most 64 dimensions');
        if (!this.is(']')) this.eat(',');
      }
      this.eat(']');
      this.eat('>');
      checkDims(this.file, `a tensor type on line ${this.peek(-1)?.line ?? '?'}`, sizes);
      return { dtype, shape };
    }
    // dict/list/tuple/state: keep the wrapped tensor type of a state, else unknown.
    let inner: TensorType = { dtype: 'unknown' };
    let first = true;
    while (!this.is('>')) {
      const t = this.peek();
      if (!t) this.fail('">"');
      if (t.kind === 'id') { const ty = this.type(depth + 1); if (first) inner = ty; first = false; }
      else this.pos++;
    }
    this.eat('>');
    return head === 'state' ? inner : { dtype: 'unknown' };
  }

  /** `tensor<int32, [2]>([1, 1])`, `string("x")`, `uint64(64)`, `tensor<fp16, [..]>(BLOBFILE(path = ..., offset = ...))`. */
  private typedValue(): MilValue {
    const type = this.type(0);
    this.eat('(');
    const lit = this.literal(0);
    this.eat(')');
    if (lit && typeof lit === 'object' && 'blob' in lit) return { type, blob: lit.blob };
    const flat: Array<number | string | boolean> = [];
    const walk = (l: Literal) => {
      if (Array.isArray(l)) l.forEach(walk);
      else if (typeof l !== 'object') flat.push(l);
    };
    walk(lit);
    if (flat.length > MAX_INLINE_VALUES) return { type, elided: true };
    return { type, values: flat };
  }

  private literal(depth: number): Literal {
    if (depth > MAX_LITERAL_DEPTH) this.fail(`a literal nested at most ${MAX_LITERAL_DEPTH} deep`);
    const t = this.peek();
    if (!t) this.fail('a value');
    if (t.kind === 'num') { this.pos++; return t.text === 'inf' ? Infinity : t.text === '-inf' ? -Infinity : Number(t.text); }
    if (t.kind === 'str') { this.pos++; return t.text; }
    if (t.text === 'true' || t.text === 'false') { this.pos++; return t.text === 'true'; }
    if (t.text === '[' || t.text === '{') {
      const close = t.text === '[' ? ']' : '}';
      this.pos++;
      const items: Literal[] = [];
      while (!this.is(close)) { items.push(this.literal(depth + 1)); if (!this.is(close)) this.eat(','); }
      this.eat(close);
      return items;
    }
    if (t.text === 'BLOBFILE') {
      this.pos++;
      this.eat('(');
      let fileName = '';
      let offset = Number.NaN;
      while (!this.is(')')) {
        const key = this.ident().text;
        this.eat('=');
        const v = this.typedValue();
        if (key === 'path') fileName = String(v.values?.[0] ?? '');
        if (key === 'offset') offset = Number(v.values?.[0]);
        if (!this.is(')')) this.eat(',');
      }
      this.eat(')');
      if (!fileName || !Number.isFinite(offset)) this.fail('BLOBFILE(path = ..., offset = ...)');
      return { blob: { fileName, offset } };
    }
    if (t.kind === 'id') {
      // A typed value inside a literal (dict entries, nested scalars).
      const v = this.typedValue();
      return v.values && v.values.length === 1 ? v.values[0]! : (v.values ?? []);
    }
    this.fail('a value');
  }
}

export interface MilTextResult { functions: MilFunction[]; blobs: Array<{ constName: string; fileName: string; offset: number }> }

export function parseMilText(file: string, text: string): MilTextResult {
  const parser = new Parser(file, tokenize(file, text));
  const functions = parser.program();
  if (functions.length === 0) throw new ModelReadError(file, 'the program has no functions');
  return { functions, blobs: parser.blobs };
}
