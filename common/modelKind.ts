// Which model format a path names, by name and (for an .mlpackage's Manifest.json) by the folder beside it.
// Shared by the readers and the extension host, which must not bundle the readers themselves.
import { statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';

export type ModelKind = 'onnx' | 'mlmodel' | 'mlpackage' | 'mil';

/** The model kind a path names, or undefined when it is not a model file the project reads. */
export function modelKindOf(path: string): ModelKind | undefined {
  const name = basename(path.replace(/[\\/]+$/, '')).toLowerCase();
  const ext = extname(name);
  if (ext === '.onnx') return 'onnx';
  if (ext === '.mlmodel') return 'mlmodel';
  if (ext === '.mlpackage') return 'mlpackage';
  if (name === 'manifest.json') {
    try {
      if (statSync(join(path, '..', 'Data')).isDirectory()) return 'mlpackage';
    } catch {
      return undefined;
    }
    return undefined;
  }
  if (ext === '.mil' || ext === '.mlmodelc') return 'mil';
  return undefined;
}
