// Extension entry (bundled to dist/client.js).
import './zodSetup';
import type * as vscode from 'vscode';
import { AneLensContext } from './ctx';
import { registerModelFiles } from './modelEditor';

let ctx: AneLensContext | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  ctx = new AneLensContext(context);
  context.subscriptions.push(ctx);
  // Not awaited: commands and the panel work even while (or if) the server is still starting. Started
  // before the model views so that their first requests wait for it.
  void ctx.startServer();
  // Model files: the summary editor, the MIL view, their diagnostics and hovers (read by the language server).
  const owner = ctx;
  context.subscriptions.push(registerModelFiles(ctx.output, (params) => owner.modelView(params)));
}

export async function deactivate(): Promise<void> {
  // Stop the server before VS Code kills the host, so it exits cleanly.
  await ctx?.stopServer();
  ctx = undefined;
}
