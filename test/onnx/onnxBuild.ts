// Hand-built ONNX models for reader tests, encoded with the reader's own schema subset, so edge cases
// (opset differences, cycles, dangling inputs, external data) need no Python.
import { onnxModelType } from '../../server/src/onnx/onnxSchema';

export const FLOAT = 1;
export const INT64 = 7;

export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  attrs?: Record<string, number | number[] | string | { floats: number[] } | { float: number } | { tensor: object } | { graph: object }>;
  domain?: string;
}

function attr(name: string, v: NonNullable<NodeSpec['attrs']>[string]): object {
  if (typeof v === 'number') return { name, i: v, type: 2 };
  if (typeof v === 'string') return { name, s: new TextEncoder().encode(v), type: 3 };
  if (Array.isArray(v)) return { name, ints: v, type: 7 };
  if ('floats' in v) return { name, floats: v.floats, type: 6 };
  if ('float' in v) return { name, f: v.float, type: 1 };
  if ('tensor' in v) return { name, t: v.tensor, type: 4 };
  return { name, g: v.graph, type: 5 };
}

export function node(spec: NodeSpec): object {
  return {
    op_type: spec.op, input: spec.inputs, output: spec.outputs, name: spec.name ?? spec.outputs[0],
    attribute: Object.entries(spec.attrs ?? {}).map(([k, v]) => attr(k, v)), domain: spec.domain,
  };
}

export function valueInfo(name: string, shape: Array<number | string> | undefined, elemType = FLOAT): object {
  return {
    name,
    type: { tensor_type: { elem_type: elemType, shape: shape ? { dim: shape.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) } : undefined } },
  };
}

export function floatTensor(name: string, dims: number[], values?: number[]): object {
  const n = dims.reduce((a, b) => a * b, 1);
  const data = values ?? Array.from({ length: n }, (_, k) => ((k * 37) % 11) / 10 - 0.5);
  return { name, dims, data_type: FLOAT, raw_data: new Uint8Array(Float32Array.from(data).buffer) };
}

export function int64Tensor(name: string, values: number[], dims = [values.length]): object {
  return { name, dims, data_type: INT64, int64_data: values };
}

export interface ModelSpec {
  nodes: object[];
  inputs: object[];
  outputs: object[];
  initializers?: object[];
  valueInfo?: object[];
  opset?: number;
}

export function graphProto(spec: ModelSpec): object {
  return {
    name: 'test', node: spec.nodes, input: spec.inputs, output: spec.outputs,
    initializer: spec.initializers ?? [], value_info: spec.valueInfo ?? [],
  };
}

export function buildModel(spec: ModelSpec): Uint8Array {
  const type = onnxModelType();
  const message = type.fromObject({
    ir_version: 8, producer_name: 'ane-lens-test', opset_import: [{ domain: '', version: spec.opset ?? 13 }],
    graph: graphProto(spec),
  });
  return type.encode(message).finish();
}
