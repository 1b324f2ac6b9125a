// One object owns everything the extension creates (language client, side-process, panel, status
// bar, commands) and disposes it in one place; restarts go through here.
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { modelViewRequest, type ModelViewParams, type ModelViewResponse } from '../../common/lspExtensions';
import { createLanguageClient } from './languageClient';
import { runOnAne } from './runOnAne';
import { selectChip } from './selectChip';
import { SECTION } from './settings';
import { SideProcess } from './sideProcess';
import { AneStatusBar } from './statusBar';
import { TimingPanel } from './timingPanel';

const STOP_GRACE_MS = 2000;

export class AneLensContext implements vscode.Disposable {
  readonly output: vscode.LogOutputChannel;
  private readonly disposables: vscode.Disposable[] = [];
  private client: LanguageClient | undefined;
  /** The client once started; requests wait on it (models may be opened while the server starts). */
  private clientReady: Promise<LanguageClient> | undefined;
  /** A restart in progress; a second request while one runs joins it instead of racing it. */
  private restarting: Promise<void> | undefined;
  private readonly sideProcess: SideProcess;
  private readonly panel: TimingPanel;
  private readonly statusBar: AneStatusBar;

  constructor(private readonly extension: vscode.ExtensionContext) {
    this.output = this.own(vscode.window.createOutputChannel('ANE Lens', { log: true }));
    this.sideProcess = this.own(new SideProcess(extension.extensionUri, this.output));
    this.panel = this.own(new TimingPanel(extension, this.output));
    this.statusBar = this.own(new AneStatusBar());
    const deps = { sideProcess: this.sideProcess, panel: this.panel, log: this.output };
    this.own(
      vscode.commands.registerCommand('aneLens.runOnAne', (arg?: unknown) => runOnAne(deps, arg)),
      vscode.commands.registerCommand('aneLens.restartServer', () => this.restartServer()),
      vscode.commands.registerCommand('aneLens.showLogs', () => this.output.show(true)),
      vscode.commands.registerCommand('aneLens.restartSideProcess', () => this.restartSideProcess()),
      vscode.commands.registerCommand('aneLens.selectChip', () => selectChip()),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration(SECTION)) this.statusBar.update();
      }),
    );
  }

  private own<T extends vscode.Disposable>(...items: [T, ...vscode.Disposable[]]): T {
    this.disposables.push(...items);
    return items[0];
  }

  async startServer(): Promise<void> {
    const client = createLanguageClient(this.extension, this.output);
    this.client = client;
    const ready = client.start().then(() => client);
    this.clientReady = ready;
    try {
      await ready;
      this.output.info('Language server started');
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.output.error(`Language server failed to start: ${message}`);
      const showLogs = 'Show logs';
      void vscode.window.showErrorMessage(`ANE Lens: the language server failed to start: ${message}`, showLogs)
        .then((choice) => { if (choice === showLogs) this.output.show(true); });
    }
  }

  /** The model view from the language server, which reads model files (never this extension host). */
  async modelView(params: ModelViewParams): Promise<ModelViewResponse> {
    if (!this.clientReady) throw new Error('the ANE Lens language server is not running (command "ANE Lens: Restart Language Server")');
    const client = await this.clientReady;
    return client.sendRequest(modelViewRequest, params);
  }

  restartServer(): Promise<void> {
    this.restarting ??= (async () => {
      try {
        await this.stopServer();
        await this.startServer();
      } finally {
        this.restarting = undefined;
      }
    })();
    return this.restarting;
  }

  async stopServer(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.clientReady = undefined;
    if (!client) return;
    try {
      if (client.isRunning()) await client.stop(STOP_GRACE_MS);
    } catch (err) {
      this.output.warn(`Language server did not stop cleanly: ${err instanceof Error ? err.message : String(err)}`);
    }
    await client.dispose().catch(() => undefined);
  }

  private async restartSideProcess(): Promise<void> {
    try {
      const info = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Window, title: 'ANE Lens: restarting side-process' },
        () => this.sideProcess.restart(),
      );
      this.output.info(`Side-process restarted: pid ${info.pid}, ${info.version}, addon ${info.addon}`);
      void vscode.window.showInformationMessage(`ANE Lens side-process restarted (pid ${info.pid}, addon ${info.addon}).`);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.output.error(`Side-process restart failed: ${message}`);
      const showLogs = 'Show logs';
      if ((await vscode.window.showErrorMessage(`ANE Lens: the side-process did not start: ${message}`, showLogs)) === showLogs) this.output.show(true);
    }
  }

  dispose(): void {
    void this.stopServer();
    for (const d of this.disposables.reverse()) {
      try {
        d.dispose();
      } catch {
        // keep disposing the rest
      }
    }
    this.disposables.length = 0;
  }
}
