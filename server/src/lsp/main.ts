// Entry of dist/server.js. The transport (--stdio, --node-ipc, --socket=N, --pipe=NAME) is whatever
// the client asked for on the command line. The editor's client uses stdio, where the server writes its
// own messages (stdioWriter.ts, jsonEncoder.ts); the other transports go through createConnection's own handling.
import { Console } from 'node:console';
import { createConnection, ProposedFeatures, StreamMessageReader, type Connection } from 'vscode-languageserver/node';
import { StdioMessageWriter } from './stdioWriter';
import { startServer } from './server';

/** What createConnection does for --stdio, with our writer (cached diagnostics, written in the same turn). */
function stdioConnection(): Connection {
  // stdout carries the protocol: anything logged goes to stderr, which the client shows in its output channel.
  Object.defineProperty(globalThis, 'console', { value: new Console(process.stderr, process.stderr), configurable: true, writable: true });
  const reader = new StreamMessageReader(process.stdin);
  const writer = new StdioMessageWriter(process.stdout);
  return createConnection(ProposedFeatures.all, reader, writer);
}

const overStdio = process.argv.includes('--stdio');
const connection = overStdio ? stdioConnection() : createConnection(ProposedFeatures.all);

// A bug in a handler must not take the editor's diagnostics down with it: log and keep serving.
process.on('uncaughtException', (error) => {
  try { connection.console.error(`[ANE Lens] uncaught: ${error.stack ?? error.message}`); } catch { /* ignore */ }
});
process.on('unhandledRejection', (reason) => {
  try { connection.console.error(`[ANE Lens] unhandled rejection: ${String(reason)}`); } catch { /* ignore */ }
});

const server = startServer(connection);

if (overStdio) {
  // The client went away without `exit` (or after it): stop, like createConnection does for streams.
  const stop = () => process.exit(server.shutdownRequested() ? 0 : 1);
  process.stdin.on('end', stop);
  process.stdin.on('close', stop);
}
