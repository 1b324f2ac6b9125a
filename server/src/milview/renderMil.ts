// The MIL view: a graph IR rendered as text in the style of coremltools' printed programs
// (`print(prog)`, coreml-format.md §3.1), one op per line, with a map from op to line so diagnostics and
// hovers land on the right line. Consts are not printed (as in coremltools); small resolved values appear
// inline as arguments. Ops off the ANE get a trailing `// → CPU (RULE)` note so the text reads on its own.
import type { AttrValue, GraphIR, OpNode, TensorType } from '../../../common/graphIR';
import { literalText, type OpView } from '../coreml/milProgram';

export interface MilViewHeader {
  functionName?: string;
  opset?: string;
  /** First line, a comment: what the model is and how it was placed. */
  title?: string;
}

export interface MilViewExtras {
  views?: OpView[];
  blockOutputs?: Record<string, string[]>;
}

export interface RenderedMil {
  text: string;
  /** 1-based line of each op, in graph.ops order. */
  opLines: number[];
  /** The character range of each op line's content (1-based columns, end exclusive). */
  opColumns: Array<{ start: number; end: number }>;
}

/** Parameter names per op when the source did not keep them (ONNX, PyTorch): contract 3's input order. */
const PARAMS: Record<string, string[]> = {
  conv: ['x', 'weight', 'bias'], conv_transpose: ['x', 'weight', 'bias'], linear: ['x', 'weight', 'bias'],
  matmul: ['x', 'y'], batch_norm: ['x', 'mean', 'variance', 'gamma', 'beta'], layer_norm: ['x', 'gamma', 'beta'],
  instance_norm: ['x', 'gamma', 'beta'], select: ['cond', 'a', 'b'], gather: ['x', 'indices'],
};
const VARIADIC = new Set(['concat', 'stack', 'einsum']);

export function formatType(t: TensorType | undefined): string {
  if (!t) return '(?)(Tensor)';
  const dtype = t.dtype === 'unknown' ? '?' : t.dtype;
  if (!t.shape) return `(?, ${dtype})(Tensor)`;
  if (t.shape.length === 0) return `(${dtype})(Scalar)`;
  if (t.shape.length === 1) return `(${t.shape[0]},${dtype})(Tensor)`;
  return `(${t.shape.join(', ')}, ${dtype})(Tensor)`;
}

function attrText(v: AttrValue): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (Array.isArray(v)) return `[${(v as Array<number | string>).map((x) => (typeof x === 'string' ? JSON.stringify(x) : String(x))).join(', ')}]`;
  return String(v);
}

function paramNames(op: OpNode, view: OpView | undefined): string[] {
  if (view && view.params.length === op.inputs.length) return view.params;
  if (VARIADIC.has(op.op)) return op.inputs.map(() => 'values');
  const known = PARAMS[op.op] ?? ['x', 'y'];
  return op.inputs.map((_, k) => known[k] ?? `x${k}`);
}

function argsText(op: OpNode, view: OpView | undefined): string {
  const names = paramNames(op, view);
  const groups = new Map<string, string[]>();
  op.inputs.forEach((inp, k) => {
    const list = groups.get(names[k]!) ?? [];
    list.push(inp ? `%${inp}` : 'None');
    groups.set(names[k]!, list);
  });
  const args: string[] = [];
  for (const [param, vals] of groups) args.push(vals.length === 1 && !VARIADIC.has(op.op) ? `${param}=${vals[0]}` : `${param}=(${vals.join(', ')})`);
  if (view && !view.showAttrs) {
    for (const [param, value] of view.literals) args.push(`${param}=${literalText(value)}`);
  } else {
    for (const [k, v] of Object.entries(op.attrs)) if (k !== 'blocks' && k !== 'parent_op') args.push(`${k}=${attrText(v)}`);
  }
  args.push(`name=${JSON.stringify(op.name)}`);
  return args.join(', ');
}

/**
 * Where renderMil puts each op (1-based line, first column), computed without building the text: the reader
 * calls this for every model, so it must stay cheap. Kept in step with renderMil by test/coreml/realModels.test.ts.
 */
export function milOpPositions(graph: GraphIR, extras: MilViewExtras = {}): Array<{ line: number; column: number }> {
  let line = 1 + Math.max(graph.inputs.length, 1) + 1;
  let path: string[] = [];
  return graph.ops.map((_, k) => {
    const want = extras.views?.[k]?.path ?? [];
    let common = 0;
    while (common < path.length && common < want.length && path[common] === want[common]) common++;
    line += path.length - common + (want.length - common);
    path = want;
    line++;
    return { line, column: path.length * 4 + 5 };
  });
}

export function renderMil(graph: GraphIR, header: MilViewHeader = {}, extras: MilViewExtras = {}): RenderedMil {
  const lines: string[] = [];
  const opLines: number[] = [];
  const opColumns: Array<{ start: number; end: number }> = [];
  // The title is always exactly one line and warnings go last, so op lines depend only on the program:
  // readers set them before placement, and placement notes never shift them.
  lines.push(`// ${header.title ?? graph.name}`);
  const fn = header.functionName ?? 'main';
  const opset = header.opset ? `[${header.opset}]` : '';
  const head = `${fn}${opset}(`;
  const ins = graph.inputs.map((i) => `%${i.name}: ${formatType(i.type)}`);
  if (ins.length <= 1) lines.push(`${head}${ins.join('')}) {`);
  else {
    ins.forEach((s, k) => {
      const last = k === ins.length - 1;
      lines.push(`${k === 0 ? head : ' '.repeat(head.length)}${s}${last ? ') {' : ','}`);
    });
  }
  lines.push('  block0() {');
  let path: string[] = [];
  const indent = () => '  '.repeat(path.length * 2 + 2);
  const closeTo = (depth: number) => {
    while (path.length > depth) {
      const label = path[path.length - 1]!;
      const outs = extras.blockOutputs?.[label] ?? [];
      path = path.slice(0, -1);
      lines.push(`${'  '.repeat(path.length * 2 + 3)}} -> (${outs.map((o) => `%${o}`).join(', ')})`);
    }
  };
  graph.ops.forEach((op, k) => {
    const view = extras.views?.[k];
    const want = view?.path ?? [];
    let common = 0;
    while (common < path.length && common < want.length && path[common] === want[common]) common++;
    closeTo(common);
    while (path.length < want.length) {
      const label = want[path.length]!;
      lines.push(`${'  '.repeat(path.length * 2 + 3)}${label}() {`);
      path = [...path, label];
    }
    const outs = op.outputs.map((o) => `%${o.name}: ${formatType(o.type)}`).join(', ');
    const p = op.placement;
    const note = p && p.device !== 'ane' ? `  // → ${p.device.toUpperCase()}${p.rule ? ` (${p.rule})` : ''}` : '';
    const pad = indent();
    const body = `${outs} = ${op.op}(${argsText(op, view)})`;
    lines.push(`${pad}${body}${note}`);
    opLines.push(lines.length);
    opColumns.push({ start: pad.length + 1, end: pad.length + body.length + 1 });
  });
  closeTo(0);
  lines.push(`  } -> (${graph.outputs.map((o) => `%${o}`).join(', ')})`);
  lines.push('}');
  for (const w of graph.warnings) lines.push(`// warning: ${w.replace(/[\r\n]+/g, ' ')}`);
  return { text: `${lines.join('\n')}\n`, opLines, opColumns };
}
