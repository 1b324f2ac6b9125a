// Extension entry (bundled to dist/client.js).
import './zodSetup';
import type * as vscode from 'vscode';
import { AneLensContext } from './ctx';
import { registerModelFiles } from './modelEditor';

let ctx: AneLensContext | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  ctx = new AneLensContext(context);
  context.subscriptions.push(ctx);
  // Model files: the summary editor, the MIL view, their diagnostics and hovers (read in this host).
  context.subscriptions.push(registerModelFiles(ctx.output));
  // Not awaited: commands and the panel work even while (or if) the server is still starting.
  void ctx.startServer();
}

export async function deactivate(): Promise<void> {
  // Stop the server before VS Code kills the host, so it exits cleanly.
  await ctx?.stopServer();
  ctx = undefined;
}
