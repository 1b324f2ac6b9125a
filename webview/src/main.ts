// Timing panel entry (browser bundle). Renders the run report the host posts; keeps it in the
// webview state so the panel survives being hidden (retainContextWhenHidden is off to save memory).
import './zodSetup';
import '@vscode-elements/elements/dist/vscode-badge/index.js';
import '@vscode-elements/elements/dist/vscode-progress-ring/index.js';
import type { WebviewToHost } from '../../common/webviewProtocol';
import { parseRunReport, type RunReport } from '../../common/runReport';
import { LayerTable } from './layerTable';
import { parseHostMessage } from './messages';
import { adoptPanelStyles } from './styles';
import { renderSummary } from './summary';

interface VsCodeApi {
  postMessage(message: WebviewToHost): void;
  getState(): unknown;
  setState(state: unknown): void;
}
interface PanelState {
  report: RunReport;
  title: string;
}

declare function acquireVsCodeApi(): VsCodeApi;
declare global {
  interface Window {
    litNonce?: string;
  }
}

const vscode = acquireVsCodeApi();
const doc = document;
// Lit falls back to <style> elements where constructable stylesheets are missing; they need the nonce.
const scriptNonce = (doc.currentScript as HTMLScriptElement | null)?.nonce;
if (scriptNonce) window.litNonce = scriptNonce;
adoptPanelStyles(doc);

const app = doc.getElementById('app') ?? doc.body.appendChild(doc.createElement('main'));
const reveal = (layerIndex: number): void => vscode.postMessage({ type: 'revealLayer', layerIndex });
const table = new LayerTable(doc, reveal);

function showReport(report: RunReport, title: string): void {
  const toolbar = doc.createElement('div');
  toolbar.className = 'toolbar';
  const label = doc.createElement('label');
  const checkbox = doc.createElement('input');
  checkbox.type = 'checkbox';
  checkbox.addEventListener('change', () => table.setOffAneOnly(checkbox.checked));
  label.append(checkbox, doc.createTextNode('Only layers off the ANE'));
  const hint = doc.createElement('span');
  hint.textContent = 'Click a row (or Enter) to open its source line.';
  toolbar.append(label, hint);
  table.setOffAneOnly(false);
  app.replaceChildren(renderSummary(doc, report, title, reveal), toolbar, table.element);
  table.setReport(report);
}

function showStatus(text: string, busy: boolean, isError = false): void {
  const box = doc.createElement('div');
  box.className = 'status';
  if (busy) {
    const ring = doc.createElement('vscode-progress-ring');
    ring.setAttribute('aria-label', text);
    box.appendChild(ring);
  }
  const span = doc.createElement('span');
  span.textContent = text;
  if (isError) span.className = 'error';
  box.appendChild(span);
  app.replaceChildren(box);
}

window.addEventListener('message', (event: MessageEvent) => {
  const msg = parseHostMessage(event.data);
  if (!msg) return;
  switch (msg.type) {
    case 'report':
      vscode.setState({ report: msg.report, title: msg.title } satisfies PanelState);
      showReport(msg.report, msg.title);
      break;
    case 'running':
      showStatus(`Running ${msg.title}…`, true);
      break;
    case 'error':
      showStatus(msg.message, false, true);
      break;
  }
});

function restore(): boolean {
  const state = vscode.getState() as Partial<PanelState> | undefined;
  if (!state || typeof state.title !== 'string') return false;
  try {
    showReport(parseRunReport(state.report, 'saved panel state'), state.title);
    return true;
  } catch {
    return false; // state from an older schema: wait for the host's copy
  }
}

if (!restore()) {
  const empty = doc.createElement('p');
  empty.className = 'empty';
  empty.textContent = 'No run yet. Use "▶ Run on ANE" above a model class, or "Run on ANE" on an .onnx file.';
  app.replaceChildren(empty);
}
vscode.postMessage({ type: 'ready' });
