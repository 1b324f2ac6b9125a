// Run targets for "▶ Run on ANE" and `ane-lens run file.py:Class`: nn.Module subclasses with their
// `# ane: inputs=` pragma, and ct.convert calls traced back to the class they convert.
import type { Node } from 'web-tree-sitter';
import { className, type AnalysisContext } from './context';
import { pragmaAbove, type AttachedPragma } from './pragmas';
import { argument, callArgs, enclosing, sequenceElements, snippet, unparen } from './syntax';
import { evalIntTuple, evalNumber } from './values';

export interface RunTargetClass {
  name: string;
  /** 1-based line of the `class` keyword. */
  line: number;
  inputsPragma?: number[][];
  /** 1-based line of the `# ane:` pragma above the class, if any (also when it is malformed). */
  pragmaLine?: number;
  /** Set when the pragma above the class is malformed. */
  pragmaError?: string;
}

export interface RunTargetConvert {
  /** 1-based line of the ct.convert call. */
  line: number;
  className?: string;
  inputShapes?: number[][];
  pragmaLine?: number;
  /** Why className or inputShapes could not be resolved. */
  reason?: string;
}

export interface RunTargets {
  classes: RunTargetClass[];
  convertCalls: RunTargetConvert[];
}

const PASS_THROUGH_METHODS = new Set(['eval', 'to', 'cpu', 'cuda', 'half', 'float', 'train', 'requires_grad_', 'double']);
const TRACERS = new Set(['torch.jit.trace', 'torch.jit.script', 'torch.export.export', 'torch.compile']);
const TENSOR_FACTORIES = new Set(['torch.rand', 'torch.randn', 'torch.zeros', 'torch.ones', 'torch.empty']);

/** The row a pragma must sit directly above: the first decorator of a class, or the class itself. */
export function anchorRow(cls: Node): number {
  return (cls.parent?.type === 'decorated_definition' ? cls.parent : cls).startPosition.row;
}

function isTopLevel(cls: Node): boolean {
  const holder = cls.parent?.type === 'decorated_definition' ? cls.parent : cls;
  return holder.parent?.type === 'module';
}

/** The statement that holds a call, for pragma attachment (`mlmodel = ct.convert(...)` starts the line). */
export function statementRow(node: Node): number {
  const stmt = enclosing(node, ['expression_statement', 'return_statement', 'with_statement', 'if_statement', 'for_statement']);
  return (stmt ?? node).startPosition.row;
}

export function collectRunTargets(ctx: AnalysisContext): RunTargets {
  const modules = new Set(ctx.moduleClasses().map((cls) => cls.node));
  const classes: RunTargetClass[] = [];
  for (const node of ctx.nodes('class_definition')) {
    const pragma = pragmaAbove(ctx.lineAt, anchorRow(node));
    // An nn.Module subclass the file shows as one, or any top-level class the user marked with a pragma: a
    // base imported from another file or library (`class Net(Backbone)`, `class R(tv.ResNet)`) cannot be
    // followed here, and the tracer checks it is a module when it runs.
    if (!modules.has(node) && !(pragma && isTopLevel(node))) continue;
    const name = className(node, ctx.text);
    if (name === undefined) continue;
    const target: RunTargetClass = { name, line: node.startPosition.row + 1 };
    if (pragma) {
      target.pragmaLine = pragma.row + 1;
      if (pragma.parse.ok) {
        if (pragma.parse.value.inputs) target.inputsPragma = pragma.parse.value.inputs;
      } else {
        target.pragmaError = pragma.parse.error.message;
      }
    }
    classes.push(target);
  }
  // The class a convert call converts may be defined in another block of the file.
  const moduleNames = ctx.facts.moduleClasses;
  const convertCalls = ctx.calls
    .filter((c) => c.callee === 'coremltools.convert')
    .map((c) => convertTarget(c.node, ctx, moduleNames));
  return { classes, convertCalls };
}

interface Trace { className?: string; exampleShapes?: number[][]; reason?: string }

function convertTarget(call: Node, ctx: AnalysisContext, moduleNames: ReadonlyMap<string, unknown>): RunTargetConvert {
  const target: RunTargetConvert = { line: call.startPosition.row + 1 };
  const pragma: AttachedPragma | undefined = pragmaAbove(ctx.lineAt, statementRow(call));
  const reasons: string[] = [];
  if (pragma) target.pragmaLine = pragma.row + 1;
  if (pragma && !pragma.parse.ok) reasons.push(`the # ane: pragma above is malformed: ${pragma.parse.error.message}`);
  const pragmaValue = pragma?.parse.ok ? pragma.parse.value : undefined;

  const args = callArgs(call);
  const modelArg = argument(args, 'model', 0);
  const trace: Trace = modelArg ? traceModel(modelArg, ctx, moduleNames, 0) : { reason: 'ct.convert has no model argument' };

  if (pragmaValue?.module) {
    target.className = pragmaValue.module;
    if (!moduleNames.has(pragmaValue.module)) reasons.push(`\`# ane: module=${pragmaValue.module}\` names no nn.Module subclass defined in this file`);
  } else if (trace.className) {
    target.className = trace.className;
  } else if (trace.reason) {
    reasons.push(trace.reason);
  }

  if (pragmaValue?.inputs) {
    target.inputShapes = pragmaValue.inputs;
  } else {
    const fromInputs = inputShapesOf(argument(args, 'inputs', 2), ctx);
    if (fromInputs.shapes) target.inputShapes = fromInputs.shapes;
    else if (trace.exampleShapes) target.inputShapes = trace.exampleShapes;
    else if (fromInputs.reason) reasons.push(fromInputs.reason);
    else reasons.push('no input shapes: add `inputs=[ct.TensorType(shape=(...))]` or a `# ane: inputs=(...)` pragma');
  }
  if (reasons.length > 0) target.reason = reasons.join('; ');
  return target;
}

/** Follows the converted object back through simple assignments, tracers and `.eval()`-style calls. */
function traceModel(node: Node, ctx: AnalysisContext, moduleNames: ReadonlyMap<string, unknown>, depth: number): Trace {
  const n = unparen(node);
  if (depth > 8) return { reason: `could not trace \`${snippet(n, 30)}\` back to a class (too many steps)` };
  if (n.type === 'identifier') {
    const rhs = ctx.assignedBefore(n.text, n);
    if (!rhs) return { reason: `\`${n.text}\` is not assigned in this file before the call` };
    return traceModel(rhs, ctx, moduleNames, depth + 1);
  }
  if (n.type === 'string' || n.type === 'concatenated_string') {
    return { reason: 'ct.convert is given a file path, not a module defined in this file' };
  }
  if (n.type !== 'call') return { reason: `could not trace \`${snippet(n, 30)}\` back to an nn.Module class in this file` };
  const fn = n.childForFieldName('function');
  const callee = ctx.imports.resolve(fn);
  const args = callArgs(n);
  if (callee && TRACERS.has(callee)) {
    const inner = args.positional[0] ?? args.keywords.get('model')?.value ?? args.keywords.get('obj')?.value ?? args.keywords.get('mod')?.value;
    if (!inner) return { reason: `\`${snippet(n, 30)}\` has no module argument` };
    const result = traceModel(inner, ctx, moduleNames, depth + 1);
    const example = args.positional[1] ?? args.keywords.get('example_inputs')?.value ?? args.keywords.get('args')?.value;
    const shapes = example ? exampleShapes(example, ctx) : undefined;
    return shapes && !result.exampleShapes ? { ...result, exampleShapes: shapes } : result;
  }
  if (fn?.type === 'identifier' && moduleNames.has(fn.text) && !ctx.imports.resolveName(fn.text)) return { className: fn.text };
  const imported = fn?.type === 'identifier' ? ctx.imports.bindings.get(fn.text) : undefined;
  if (imported) {
    return { reason: `\`${fn!.text}\` is imported from \`${imported.slice(0, imported.lastIndexOf('.')) || imported}\`, not defined in this file: run it from the "Run on ANE" lens in its own file, or add \`# ane: module=ClassName\` above the call` };
  }
  if (fn?.type === 'attribute') {
    const method = fn.childForFieldName('attribute')?.text;
    const object = fn.childForFieldName('object');
    if (method && object && PASS_THROUGH_METHODS.has(method)) return traceModel(object, ctx, moduleNames, depth + 1);
  }
  return { reason: `\`${snippet(fn ?? n, 30)}(...)\` is not an nn.Module class defined in this file; add \`# ane: module=ClassName\` above the call` };
}

/** Shapes of `torch.rand(1, 3, 224, 224)` or a tuple of such example inputs. */
function exampleShapes(node: Node, ctx: AnalysisContext, depth = 0): number[][] | undefined {
  const n = unparen(node);
  if (depth > 4) return undefined;
  if (n.type === 'identifier') {
    const rhs = ctx.assignedBefore(n.text, n);
    return rhs ? exampleShapes(rhs, ctx, depth + 1) : undefined;
  }
  const elements = sequenceElements(n);
  if (elements) {
    const shapes: number[][] = [];
    for (const e of elements) {
      const s = exampleShapes(e, ctx, depth + 1);
      if (!s || s.length !== 1) return undefined;
      shapes.push(s[0]!);
    }
    return shapes.length > 0 ? shapes : undefined;
  }
  if (n.type !== 'call') return undefined;
  const callee = ctx.imports.resolve(n.childForFieldName('function'));
  if (!callee || !TENSOR_FACTORIES.has(callee)) return undefined;
  const { positional } = callArgs(n);
  // torch.rand((1, 3, 224, 224)) or torch.rand(1, 3, 224, 224)
  if (positional.length === 1 && sequenceElements(positional[0]!)) {
    const tuple = evalIntTuple(positional[0], ctx);
    return tuple ? [tuple] : undefined;
  }
  const dims: number[] = [];
  for (const p of positional) {
    const v = evalNumber(p, ctx);
    if (v === undefined || !Number.isInteger(v) || v <= 0) return undefined;
    dims.push(v);
  }
  return dims.length > 0 ? [dims] : undefined;
}

/** Static shapes from `inputs=[ct.TensorType(shape=(...)), ...]`. */
function inputShapesOf(node: Node | undefined, ctx: AnalysisContext): { shapes?: number[][]; reason?: string } {
  if (!node) return {};
  let list = unparen(node);
  if (list.type === 'identifier') {
    const rhs = ctx.assignedBefore(list.text, list);
    if (rhs) list = unparen(rhs);
  }
  const elements = sequenceElements(list);
  if (!elements) return { reason: `could not read input shapes from \`${snippet(list, 30)}\`` };
  const shapes: number[][] = [];
  for (const element of elements) {
    const e = unparen(element);
    const callee = e.type === 'call' ? ctx.imports.resolve(e.childForFieldName('function')) : undefined;
    if (callee !== 'coremltools.TensorType' && callee !== 'coremltools.ImageType') {
      return { reason: `input \`${snippet(e, 30)}\` is not a ct.TensorType/ct.ImageType with a literal shape` };
    }
    const shapeNode = argument(callArgs(e), 'shape', 1);
    if (!shapeNode) return { reason: `\`${snippet(e, 30)}\` has no shape` };
    const shape = staticShape(shapeNode, ctx);
    if ('reason' in shape) return { reason: shape.reason };
    shapes.push(shape.dims);
  }
  return shapes.length > 0 ? { shapes } : {};
}

function staticShape(node: Node, ctx: AnalysisContext): { dims: number[] } | { reason: string } {
  let n = unparen(node);
  if (n.type === 'identifier') {
    const rhs = ctx.assignedBefore(n.text, n);
    if (rhs) n = unparen(rhs);
  }
  if (n.type === 'call') {
    const callee = ctx.imports.resolve(n.childForFieldName('function'));
    const args = callArgs(n);
    if (callee === 'coremltools.Shape') {
      const inner = argument(args, 'shape', 0);
      if (inner) return staticShape(inner, ctx);
    }
    if (callee === 'coremltools.EnumeratedShapes') {
      // Run at the default shape, which is also the one Core ML preallocates.
      const def = argument(args, 'default', 1);
      const first = sequenceElements(argument(args, 'shapes', 0) ?? n)?.[0];
      const pick = def ?? first;
      if (pick) return staticShape(pick, ctx);
    }
  }
  const dims = evalIntTuple(n, ctx);
  if (dims && dims.every((d) => d > 0)) return { dims };
  if (n.descendantsOfType('call').some((c) => ctx.imports.resolve(c.childForFieldName('function')) === 'coremltools.RangeDim')) {
    return { reason: `shape \`${snippet(n, 40)}\` has a flexible ct.RangeDim dimension: give the shape to run with in a \`# ane: inputs=(...)\` pragma` };
  }
  return { reason: `shape \`${snippet(n, 40)}\` is not a tuple of integers` };
}
