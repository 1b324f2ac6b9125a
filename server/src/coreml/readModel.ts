// One entry for every model format the project reads: ONNX (.onnx), Core ML (.mlmodel, .mlpackage
// folder or its Manifest.json), compiled MIL text (model.mil or an .mlmodelc folder). Dispatches by name
// and, for folders, by content.
import { statSync } from 'node:fs';
import { modelKindOf } from '../../../common/modelKind';
import { ModelReadError, readOnnxFile } from '../onnx/readOnnx';
import { milOpPositions } from '../milview/renderMil';
import { readOnnxLazy } from './lazyOnnx';
import { readMilText, readMlmodelFile, readMlpackage, type ModelReadResult, type ReadOptions } from './readCoreml';

/** ONNX files from this size on are analysed without loading their weights. */
export const LAZY_ONNX_BYTES = 16 << 20;

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

// modelKindOf lives in common/ so the extension host can dispatch by name without bundling the readers.
export { modelKindOf, type ModelKind } from '../../../common/modelKind';

/**
 * Any model file into the graph IR. Every op gets its source position: its line in the file for compiled
 * model.mil text, else its line in the MIL view (renderMil), which does not move when placement adds notes.
 */
export function readModelFile(path: string, options: ReadOptions = {}): ModelReadResult {
  const result = readByKind(path, options);
  const { graph, details } = result;
  if (graph.format !== 'mil') {
    const at = milOpPositions(graph, { views: details.views });
    graph.ops.forEach((op, k) => { op.source = { file: path, line: at[k]!.line, column: at[k]!.column }; });
  }
  return result;
}

function readByKind(path: string, options: ReadOptions): ModelReadResult {
  const kind = modelKindOf(path);
  switch (kind) {
    case 'onnx': {
      // Big files are analysed without their weights (lazyOnnx.ts): analysis needs shapes, not values.
      const { graph, weights } = fileSize(path) >= LAZY_ONNX_BYTES && !options.loadWeights ? readOnnxLazy(path) : readOnnxFile(path);
      const histogram: Record<string, number> = {};
      for (const op of graph.ops) histogram[op.originalOp] = (histogram[op.originalOp] ?? 0) + 1;
      return {
        graph, weights,
        details: { modelType: 'onnx', histogram, sourceOps: graph.ops.length, views: [], blockOutputs: {}, updatable: false, weightFiles: [], checkedBlobs: 0 },
      };
    }
    case 'mlmodel': return readMlmodelFile(path, options);
    case 'mlpackage': return readMlpackage(path, options);
    case 'mil': return readMilText(path, options);
    default:
      throw new ModelReadError(path, 'not a model file ANE Lens reads (.onnx, .mlmodel, .mlpackage, model.mil, .mlmodelc)');
  }
}
