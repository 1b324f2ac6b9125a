// Host side of the timing panel: one reused WebviewPanel, restored after a reload by a serializer
// with the last report (kept in workspaceState), and revealLayer → the layer's source line.
import * as vscode from 'vscode';
import { existsSync } from 'node:fs';
import { isWebviewToHost, type HostToWebview } from '../../common/webviewProtocol';
import { parseRunReport, type RunReport } from '../../common/runReport';
import { buildPanelHtml, makeNonce } from './webviewHtml';
import { modelKindOf } from '../../common/modelKind';
import { milViewUri } from './milView';

export const TIMING_VIEW_TYPE = 'aneLens.timing';
const LAST_REPORT_KEY = 'aneLens.lastReport';

interface StoredReport {
  report: RunReport;
  title: string;
}

export class TimingPanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private panelDisposables: vscode.Disposable[] = [];
  private current: StoredReport | undefined;
  /** What the webview shows while no report is final ('running' or 'error'); sent again on 'ready'. */
  private transient: HostToWebview | undefined;
  private readonly registration: vscode.Disposable;

  constructor(private readonly context: vscode.ExtensionContext, private readonly log: vscode.LogOutputChannel) {
    this.current = this.loadStored(context.workspaceState.get<unknown>(LAST_REPORT_KEY));
    this.registration = vscode.window.registerWebviewPanelSerializer(TIMING_VIEW_TYPE, {
      deserializeWebviewPanel: async (panel, state) => {
        // The webview's own state is newer than workspaceState when both exist.
        this.current = this.loadStored(state) ?? this.current;
        this.adopt(panel);
      },
    });
  }

  showRunning(title: string): void {
    this.transient = { type: 'running', title };
    this.ensurePanel();
    void this.post(this.transient);
  }

  showError(message: string): void {
    this.transient = { type: 'error', message };
    if (this.panel) void this.post(this.transient);
  }

  async showReport(report: RunReport, title: string): Promise<void> {
    this.current = { report, title };
    this.transient = undefined;
    await this.context.workspaceState.update(LAST_REPORT_KEY, this.current);
    this.ensurePanel();
    this.panel!.title = `ANE timing: ${title}`;
    await this.post({ type: 'report', report, title });
  }

  private loadStored(value: unknown): StoredReport | undefined {
    if (typeof value !== 'object' || value === null) return undefined;
    const v = value as { report?: unknown; title?: unknown };
    if (typeof v.title !== 'string') return undefined;
    try {
      return { report: parseRunReport(v.report, 'stored timing report'), title: v.title };
    } catch (err) {
      this.log.warn(`Dropping a stored timing report: ${err instanceof Error ? err.message : String(err)}`);
      return undefined;
    }
  }

  private ensurePanel(): void {
    if (this.panel) {
      this.panel.reveal(undefined, true);
      return;
    }
    const panel = vscode.window.createWebviewPanel(
      TIMING_VIEW_TYPE,
      'ANE timing',
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
      this.webviewOptions(),
    );
    this.adopt(panel);
  }

  private webviewOptions(): vscode.WebviewPanelOptions & vscode.WebviewOptions {
    return {
      enableScripts: true,
      // Hidden panels are torn down to save memory; the webview keeps its report in setState.
      retainContextWhenHidden: false,
      enableFindWidget: true,
      localResourceRoots: [vscode.Uri.joinPath(this.context.extensionUri, 'dist')],
    };
  }

  private adopt(panel: vscode.WebviewPanel): void {
    this.disposePanelListeners();
    this.panel = panel;
    panel.webview.options = this.webviewOptions();
    if (this.current) panel.title = `ANE timing: ${this.current.title}`;
    const scriptUri = panel.webview.asWebviewUri(vscode.Uri.joinPath(this.context.extensionUri, 'dist', 'webview.js'));
    panel.webview.html = buildPanelHtml({
      cspSource: panel.webview.cspSource,
      scriptUri: scriptUri.toString(),
      nonce: makeNonce(),
      title: panel.title,
    });
    this.panelDisposables.push(
      panel.webview.onDidReceiveMessage((msg: unknown) => this.onMessage(msg)),
      panel.onDidDispose(() => {
        this.disposePanelListeners();
        this.panel = undefined;
      }),
    );
  }

  private onMessage(msg: unknown): void {
    if (!isWebviewToHost(msg)) {
      this.log.warn(`Timing panel sent an unexpected message: ${JSON.stringify(msg)?.slice(0, 200)}`);
      return;
    }
    switch (msg.type) {
      case 'ready':
        // A (re)loaded webview asks for what it should show.
        if (this.transient) void this.post(this.transient);
        else if (this.current) void this.post({ type: 'report', report: this.current.report, title: this.current.title });
        break;
      case 'revealLayer':
        void this.revealLayer(msg.layerIndex);
        break;
    }
  }

  private async revealLayer(index: number): Promise<void> {
    const layer = this.current?.report.layers[index];
    if (!layer) {
      this.log.warn(`revealLayer: no layer ${index} in the current report`);
      return;
    }
    if (!layer.source) {
      void vscode.window.showInformationMessage(`Layer "${layer.name}" (${layer.op}) has no source location in the model.`);
      return;
    }
    const { file, line } = layer.source;
    if (!existsSync(file)) {
      void vscode.window.showWarningMessage(`Layer "${layer.name}" points at ${file}:${line}, which does not exist (any more).`);
      return;
    }
    try {
      // A layer of a binary model file points at its line in the model's MIL view; text (.py, model.mil) opens as it is.
      const kind = modelKindOf(file);
      const uri = kind === 'onnx' || kind === 'mlmodel' || kind === 'mlpackage' ? milViewUri(vscode.Uri.file(file)) : vscode.Uri.file(file);
      const document = await vscode.workspace.openTextDocument(uri);
      const lineIndex = Math.min(line - 1, document.lineCount - 1);
      const textLine = document.lineAt(lineIndex);
      const range = new vscode.Range(lineIndex, textLine.firstNonWhitespaceCharacterIndex, lineIndex, textLine.text.length);
      // Open beside nothing: the editor group the panel is not in, so the panel stays visible.
      const column = this.panel?.viewColumn === vscode.ViewColumn.One ? vscode.ViewColumn.Two : vscode.ViewColumn.One;
      const editor = await vscode.window.showTextDocument(document, { viewColumn: column, selection: range, preserveFocus: false });
      editor.revealRange(range, vscode.TextEditorRevealType.InCenter);
    } catch (err) {
      void vscode.window.showErrorMessage(`Could not open ${file}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private async post(message: HostToWebview): Promise<void> {
    if (!this.panel) return;
    const delivered = await this.panel.webview.postMessage(message);
    // Not delivered = the webview is hidden and torn down; it asks again with 'ready' when shown.
    if (!delivered) this.log.debug(`Timing panel hidden; '${message.type}' will be sent when it is shown`);
  }

  private disposePanelListeners(): void {
    for (const d of this.panelDisposables) d.dispose();
    this.panelDisposables = [];
  }

  dispose(): void {
    this.disposePanelListeners();
    this.panel?.dispose();
    this.registration.dispose();
  }
}
