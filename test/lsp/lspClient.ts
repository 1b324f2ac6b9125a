// A minimal LSP client over stdio for the protocol tests: spawns dist/server.js, speaks JSON-RPC
// with vscode-jsonrpc, and lets a test wait for a notification that matches a predicate.
import { spawn, type ChildProcess } from 'node:child_process';
import { createMessageConnection, type MessageConnection, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node';
import type { PublishDiagnosticsParams } from 'vscode-languageserver-protocol';
import { distFile } from '../helpers';

export interface LspSession {
  connection: MessageConnection;
  process: ChildProcess;
  stderr: () => string;
  logs: string[];
  /** Sections the server asked for with workspace/configuration. */
  configurationRequests: string[];
  /** Resolves with the first publishDiagnostics for `uri` that satisfies `accept`, or rejects after `timeoutMs`. */
  diagnostics(uri: string, accept: (p: PublishDiagnosticsParams) => boolean, timeoutMs?: number): Promise<PublishDiagnosticsParams>;
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>;
}

export function startServer(configuration?: Record<string, unknown>): LspSession {
  const child = spawn(process.execPath, [distFile('server.js'), '--stdio'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const connection = createMessageConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
  const logs: string[] = [];
  connection.onNotification('window/logMessage', (p: { message: string }) => { logs.push(p.message); });
  const configurationRequests: string[] = [];
  connection.onRequest('workspace/configuration', (p: { items: Array<{ section?: string }> }) => {
    configurationRequests.push(...p.items.map((item) => item.section ?? ''));
    return p.items.map((item) => (item.section === 'aneLens' ? configuration ?? null : null));
  });
  connection.onRequest('client/registerCapability', () => null);

  type Waiter = { uri: string; accept: (p: PublishDiagnosticsParams) => boolean; resolve: (p: PublishDiagnosticsParams) => void };
  const waiters = new Set<Waiter>();
  connection.onNotification('textDocument/publishDiagnostics', (p: PublishDiagnosticsParams) => {
    for (const w of [...waiters]) {
      if (w.uri === p.uri && w.accept(p)) {
        waiters.delete(w);
        w.resolve(p);
      }
    }
  });
  connection.listen();

  return {
    connection,
    process: child,
    stderr: () => stderr,
    logs,
    configurationRequests,
    exited,
    diagnostics(uri, accept, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const waiter: Waiter = { uri, accept, resolve: (p) => { clearTimeout(timer); resolve(p); } };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`no matching publishDiagnostics for ${uri} within ${timeoutMs} ms; stderr: ${stderr}; logs: ${logs.join(' | ')}`));
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
  };
}
