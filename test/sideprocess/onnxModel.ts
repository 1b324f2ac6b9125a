// Builds small ONNX files in memory (no torch needed), through the reader's own protobuf schema.
import { onnxModelType, OnnxDataType } from '../../server/src/onnx/onnxSchema';

function floatTensor(name: string, dims: number[], seed: number) {
  const n = dims.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    data[i] = (s / 2147483648 - 0.5) * 0.05;
  }
  return { name, dims, data_type: OnnxDataType.FLOAT, raw_data: new Uint8Array(data.buffer) };
}

/**
 * x(1, width) → [MatMul(width×width) → Relu] × layers → y. With width 1024 and 8 layers the weights are
 * 32 MiB: big enough that a job with a 1 ms limit is always stopped, small enough to run in a second.
 */
export function matmulChainOnnx(layers: number, width: number): Uint8Array {
  const nodes = [];
  const initializers = [];
  let prev = 'x';
  for (let i = 0; i < layers; i++) {
    initializers.push(floatTensor(`w${i}`, [width, width], i + 1));
    nodes.push({ op_type: 'MatMul', name: `mm${i}`, input: [prev, `w${i}`], output: [`h${i}`] });
    const out = i === layers - 1 ? 'y' : `r${i}`;
    nodes.push({ op_type: 'Relu', name: `relu${i}`, input: [`h${i}`], output: [out] });
    prev = out;
  }
  const vi = (name: string) => ({
    name, type: { tensor_type: { elem_type: OnnxDataType.FLOAT, shape: { dim: [{ dim_value: 1 }, { dim_value: width }] } } },
  });
  const model = {
    ir_version: 7,
    producer_name: 'ane-lens-test',
    opset_import: [{ domain: '', version: 13 }],
    graph: { name: 'matmul_chain', node: nodes, initializer: initializers, input: [vi('x')], output: [vi('y')] },
  };
  const type = onnxModelType();
  return type.encode(type.fromObject(model)).finish();
}
