// The language client for dist/server.js (Python diagnostics, hovers, quick fixes, run lenses, and the
// aneLens/modelView request through which model files are read in the server, see ctx.ts modelView).
import * as vscode from 'vscode';
import { LanguageClient, TransportKind, type LanguageClientOptions, type ServerOptions } from 'vscode-languageclient/node';
import { readSettings, SECTION } from './settings';

export function createLanguageClient(context: vscode.ExtensionContext, output: vscode.LogOutputChannel): LanguageClient {
  const module = vscode.Uri.joinPath(context.extensionUri, 'dist', 'server.js').fsPath;
  const serverOptions: ServerOptions = {
    // stdio, not ipc: over a stream the server serializes its messages itself, and reuses the JSON of
    // diagnostics it already sent (server/src/lsp/jsonEncoder.ts).
    run: { module, transport: TransportKind.stdio },
    debug: { module, transport: TransportKind.stdio, options: { execArgv: ['--nolazy', '--inspect=6019'] } },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { language: 'python', scheme: 'file' },
      { language: 'python', scheme: 'untitled' },
    ],
    outputChannel: output,
    // The server reads aneLens.* (chip) with workspace/configuration and is told when it changes.
    synchronize: { configurationSection: SECTION },
    initializationOptions: { chip: readSettings().chip },
  };
  // The id 'aneLens' makes the client honour the aneLens.trace.server setting.
  return new LanguageClient('aneLens', 'ANE Lens', serverOptions, clientOptions);
}
