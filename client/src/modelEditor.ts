// The read-only custom editor for model files (.mlmodel, .onnx, an .mlpackage's Manifest.json): a summary
// page (inputs/outputs, op histogram, ANE residency, fallbacks with reasons) with "Open as text" (the MIL
// view) and "▶ Run on ANE" (the simulator runs every format, with the model's own weights).
// `registerModelFiles` is the one hook extension.ts calls. The page is built from the language server's
// answer (aneLens/modelView): this host reads no model file.
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { RUN_ON_ANE_COMMAND } from '../../common/commands';
import { modelKindOf } from '../../common/modelKind';
import { errorPage, summaryPage } from '../../server/src/milview/presentation';
import { MIL_LANGUAGE, MIL_SCHEME, milViewUri, type ModelViewRequester, ModelViews, OPEN_MIL_VIEW_COMMAND, openMilView } from './milView';

// The literal id (not OPEN_MIL_VIEW_COMMAND) keeps test/client/manifest.test.ts's scan of registrations simple.
export const MODEL_EDITOR_VIEW_TYPE = 'aneLens.modelSummary';


export class ModelEditorProvider implements vscode.CustomReadonlyEditorProvider {
  constructor(private readonly views: ModelViews) {}

  openCustomDocument(uri: vscode.Uri): vscode.CustomDocument {
    return { uri, dispose: () => undefined };
  }

  async resolveCustomEditor(document: vscode.CustomDocument, panel: vscode.WebviewPanel): Promise<void> {
    const model = document.uri;
    const canRun = modelKindOf(model.fsPath) !== undefined;
    panel.webview.options = { enableScripts: true, localResourceRoots: [] };
    let disposed = false;
    /** Renders are numbered so that a slow answer for an older chip never replaces a newer page. */
    let latest = 0;
    const render = async () => {
      const mine = ++latest;
      const options = { cspSource: panel.webview.cspSource, nonce: randomBytes(16).toString('base64') };
      let html: string;
      try {
        const view = await this.views.load(model);
        html = summaryPage(view, { ...options, canRun });
      } catch (e) {
        html = errorPage((e as Error).message, options);
      }
      if (!disposed && mine === latest) panel.webview.html = html;
    };
    await render();
    const viewUri = milViewUri(model).toString();
    const subscriptions = [
      this.views.onDidChange((u) => { if (u.toString() === viewUri) void render(); }),
      panel.webview.onDidReceiveMessage((m: { type?: string }) => {
        if (m?.type === 'openText') void vscode.commands.executeCommand(OPEN_MIL_VIEW_COMMAND, model);
        else if (m?.type === 'run' && canRun) void vscode.commands.executeCommand(RUN_ON_ANE_COMMAND, model);
      }),
    ];
    panel.onDidDispose(() => { disposed = true; subscriptions.forEach((s) => s.dispose()); });
  }
}

/** The model a command argument names: an explicit uri, else the active custom editor's or text editor's file. */
function targetOf(arg: unknown): vscode.Uri | undefined {
  if (arg instanceof vscode.Uri) return arg;
  const tab = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  if (tab instanceof vscode.TabInputCustom || tab instanceof vscode.TabInputText) return tab.uri;
  return vscode.window.activeTextEditor?.document.uri;
}

export function registerModelFiles(log: vscode.LogOutputChannel, request: ModelViewRequester): vscode.Disposable {
  const views = new ModelViews(log, request);
  const hoverSelector: vscode.DocumentSelector = [{ scheme: MIL_SCHEME }, { scheme: 'file', language: MIL_LANGUAGE }];
  return vscode.Disposable.from(
    views,
    vscode.workspace.registerTextDocumentContentProvider(MIL_SCHEME, views),
    vscode.languages.registerHoverProvider(hoverSelector, views),
    vscode.window.registerCustomEditorProvider(MODEL_EDITOR_VIEW_TYPE, new ModelEditorProvider(views), {
      webviewOptions: { retainContextWhenHidden: false },
      supportsMultipleEditorsPerDocument: true,
    }),
    // An .mlpackage is a folder, which no editor opens: its summary is the custom editor on its Manifest.json.
    vscode.commands.registerCommand('aneLens.openModelSummary', async (arg?: unknown) => {
      const target = targetOf(arg);
      if (!target || !modelKindOf(target.fsPath)) {
        void vscode.window.showWarningMessage('ANE Lens: choose a model file or .mlpackage folder to summarize.');
        return;
      }
      const file = modelKindOf(target.fsPath) === 'mlpackage' && /\.mlpackage\/?$/i.test(target.path) ? vscode.Uri.joinPath(target, 'Manifest.json') : target;
      await vscode.commands.executeCommand('vscode.openWith', file, MODEL_EDITOR_VIEW_TYPE);
    }),
    vscode.commands.registerCommand('aneLens.openMilView', async (arg?: unknown) => {
      const target = targetOf(arg);
      if (!target || !modelKindOf(target.fsPath)) {
        void vscode.window.showWarningMessage('ANE Lens: open a model file (.mlmodel, .mlpackage, .onnx, model.mil) to see its MIL view.');
        return;
      }
      await openMilView(target);
    }),
  );
}
