// Entry of dist/server.js. The transport (--stdio, --node-ipc, --socket=N, --pipe=NAME) is whatever
// the client asked for on the command line; createConnection reads it from process.argv.
import { createConnection, ProposedFeatures } from 'vscode-languageserver/node';
import { startServer } from './server';

const connection = createConnection(ProposedFeatures.all);

// A bug in a handler must not take the editor's diagnostics down with it: log and keep serving.
process.on('uncaughtException', (error) => {
  try { connection.console.error(`[ANE Lens] uncaught: ${error.stack ?? error.message}`); } catch { /* ignore */ }
});
process.on('unhandledRejection', (reason) => {
  try { connection.console.error(`[ANE Lens] unhandled rejection: ${String(reason)}`); } catch { /* ignore */ }
});

startServer(connection);
