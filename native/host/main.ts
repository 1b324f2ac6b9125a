// Entry of dist/sideprocess.js. Without arguments it is the JSON-RPC side-process; with --job-worker it is
// the child that does the native work (see jobWorker.ts for why it is a separate process).
import { runWorker } from './jobWorker';
import { runServer } from './server';

if (process.argv.includes('--job-worker')) {
  runWorker();
} else {
  runServer(__filename);
}
