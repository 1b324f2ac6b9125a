// `ane-lens inspect <model>`: what a model file contains and where each op runs on the chosen chip,
// as the MIL view text or as JSON (docs/inspect.md).
import type { ChipParams } from '../../../common/chips';
import { inspectJson, inspectText } from '../milview/inspect';
import { loadModelView } from '../milview/modelView';

export function inspectModel(path: string, chip: ChipParams, format: 'text' | 'json'): string {
  const view = loadModelView(path.replace(/[\\/]+$/, ''), chip);
  return format === 'json' ? JSON.stringify(inspectJson(view), null, 2) : inspectText(view);
}
