// Validates what the host posts: the webview trusts nothing it did not check, and a bad message is
// dropped (and logged) rather than breaking the panel.
import type { HostToWebview } from '../../common/webviewProtocol';
import { parseRunReport } from '../../common/runReport';

export function parseHostMessage(data: unknown): HostToWebview | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const msg = data as Record<string, unknown>;
  switch (msg.type) {
    case 'report':
      if (typeof msg.title !== 'string') return undefined;
      try {
        return { type: 'report', title: msg.title, report: parseRunReport(msg.report, 'timing panel message') };
      } catch (err) {
        console.error(String(err));
        return undefined;
      }
    case 'running':
      return typeof msg.title === 'string' ? { type: 'running', title: msg.title } : undefined;
    case 'error':
      return typeof msg.message === 'string' ? { type: 'error', message: msg.message } : undefined;
    default:
      return undefined;
  }
}
