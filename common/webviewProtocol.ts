// Messages between the extension host and the timing panel webview: one discriminated union per
// direction, imported by both sides.
import type { RunReport } from './runReport';

export type HostToWebview =
  | { type: 'report'; report: RunReport; title: string }
  | { type: 'running'; title: string }
  | { type: 'error'; message: string };

export type WebviewToHost =
  | { type: 'ready' }
  /** Reveal the source line of the layer at this index of report.layers. */
  | { type: 'revealLayer'; layerIndex: number };

export function isWebviewToHost(value: unknown): value is WebviewToHost {
  if (typeof value !== 'object' || value === null) return false;
  const msg = value as { type?: unknown; layerIndex?: unknown };
  if (msg.type === 'ready') return true;
  return msg.type === 'revealLayer' && typeof msg.layerIndex === 'number' && Number.isInteger(msg.layerIndex) && msg.layerIndex >= 0;
}
