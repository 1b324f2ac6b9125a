// The extension's handle on the native side-process (contract 5): created on the first run, so
// editing alone never spawns it; crashes and restarts are logged and told to the user.
import * as vscode from 'vscode';
import type { PingResult, RunParams } from '../../common/sideProcessProtocol';
import type { RunReport } from '../../common/runReport';
import { SideProcessClient, type RestartEvent } from '../../native/host/supervisor';

export class SideProcess implements vscode.Disposable {
  private client: SideProcessClient | undefined;
  private listeners: { dispose(): void }[] = [];

  constructor(private readonly extensionUri: vscode.Uri, private readonly log: vscode.LogOutputChannel) {}

  private get(): SideProcessClient {
    if (this.client) return this.client;
    const scriptPath = vscode.Uri.joinPath(this.extensionUri, 'dist', 'sideprocess.js').fsPath;
    const client = new SideProcessClient({ scriptPath });
    this.listeners = [
      client.onLog((line: string) => this.log.info(`[side-process] ${line}`)),
      client.onDidRestart((event: RestartEvent) => {
        this.log.warn(`Side-process restarted after ${event.cause} (new pid ${event.pid}; ${event.restartsInLastMinute} restart(s) in the last minute)`);
        const showLogs = 'Show logs';
        void vscode.window.showWarningMessage(`ANE Lens: the side-process crashed (${event.cause}) and was restarted.`, showLogs)
          .then((choice) => { if (choice === showLogs) this.log.show(true); });
      }),
    ];
    this.client = client;
    return client;
  }

  run(params: RunParams, token: vscode.CancellationToken, onProgress: (message: string) => void): Promise<RunReport> {
    return this.get().run(params, token, (p) => onProgress(p.message));
  }

  /** Stops the process and starts a fresh one; resolves with the new process's identity. */
  async restart(): Promise<PingResult> {
    this.stop();
    return this.get().ping();
  }

  private stop(): void {
    for (const d of this.listeners) d.dispose();
    this.listeners = [];
    this.client?.dispose();
    this.client = undefined;
  }

  dispose(): void {
    this.stop();
  }
}
