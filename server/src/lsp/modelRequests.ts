// aneLens/modelView: a model file read, placed for a chip and rendered as the MIL view, in the server
// process (not the extension host). Any failure, a bad file (ModelReadError: one line naming the file
// and the problem), an unknown chip or a reader bug, answers `{ error }`: the server keeps serving.
// The readers bound sizes and nesting themselves, so a hostile file cannot hang or exhaust this process.
import { fileURLToPath } from 'node:url';
import { findChip } from '../../../common/chips';
import type { ModelViewParams, ModelViewResponse } from '../../../common/lspExtensions';
import { loadModelView } from '../milview/modelView';
import { toModelViewData } from '../milview/viewData';
import { ModelReadError } from '../onnx/readOnnx';

export function modelViewFor(params: ModelViewParams, log: (message: string) => void): ModelViewResponse {
  let path = String(params?.uri ?? '');
  try {
    if (!path.startsWith('file:')) return { error: `${path}: not a file: URI (ANE Lens reads model files from disk)` };
    path = fileURLToPath(path);
    const started = Date.now();
    const view = loadModelView(path.replace(/[\\/]+$/, ''), findChip(String(params.chip ?? '')));
    log(`Read ${path}: ${view.summary.ops} ops, ${view.summary.aneOps} on the ANE of ${view.chip} (${Date.now() - started} ms)`);
    return toModelViewData(view);
  } catch (e) {
    const message = e instanceof ModelReadError ? e.message : `${path}: ${e instanceof Error ? e.message : String(e)}`;
    log(`Cannot read ${path}: ${message}`);
    return { error: message };
  }
}
