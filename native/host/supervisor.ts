// SideProcessClient: the one way front ends (the extension client, the CLI, tests) talk to the side-process.
// It owns the child: spawns it, restarts it when it dies (with backoff and a per-minute cap), fails the
// requests a dead process was holding with an error that says what happened, and kills it on dispose().
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  CancellationTokenSource, createMessageConnection, Emitter, ErrorCodes, ResponseError, StreamMessageReader, StreamMessageWriter,
  type CancellationToken, type Disposable, type Event, type MessageConnection,
} from 'vscode-jsonrpc/node';
import type { RunReport } from '../../common/runReport';
import {
  CrashForTestRequest, PingRequest, ProgressNotification, RunRequest, SideProcessErrorCodes,
  type PingResult, type ProgressParams, type RunParams, type RunTarget,
} from '../../common/sideProcessProtocol';

export interface SideProcessClientOptions {
  /** dist/sideprocess.js; default: beside this bundle (`__dirname`). */
  scriptPath?: string;
  /** Runtime to start it with; default process.execPath (Electron in the extension host, with ELECTRON_RUN_AS_NODE=1). */
  nodePath?: string;
  /** Extra environment (e.g. ANE_LENS_TEST_HOOKS). */
  env?: Record<string, string>;
  /** Unexpected exits tolerated per rolling minute before giving up (default 5). */
  maxRestartsPerMinute?: number;
  /** Delay before the n-th consecutive restart, ms (default 0, 250, 1000, 2000, 4000...). */
  restartDelayMs?: (attempt: number) => number;
}

export interface RestartEvent {
  /** "signal SIGABRT", "exit code 1". */
  cause: string;
  /** Restarts in the last minute, including this one. */
  restartsInLastMinute: number;
  pid: number | undefined;
}

/** Thrown by run()/ping(): code is one of SideProcessErrorCodes. */
export class SideProcessError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
    this.name = 'SideProcessError';
  }
}

interface Pending {
  describe: string;
  reject: (e: SideProcessError) => void;
}

interface Live {
  child: ChildProcess;
  connection: MessageConnection;
  pending: Set<Pending>;
  exited: boolean;
  /** Last "...Error: message" line on stderr: why a process that exited with a code died. */
  lastError?: string;
}

export function describeTarget(target: RunTarget): string {
  if (target.kind === 'onnx' || target.kind === 'coreml') return target.path;
  return `${target.className} (${target.file})`;
}

export class SideProcessClient implements Disposable {
  private readonly scriptPath: string;
  private readonly nodePath: string;
  private readonly maxRestartsPerMinute: number;
  private readonly restartDelayMs: (attempt: number) => number;
  private live: Live | undefined;
  private starting: Promise<Live> | undefined;
  private restartTimes: number[] = [];
  private consecutiveCrashes = 0;
  private gaveUp: string | undefined;
  private disposed = false;

  private readonly logEmitter = new Emitter<string>();
  private readonly restartEmitter = new Emitter<RestartEvent>();
  private readonly progressEmitter = new Emitter<ProgressParams>();
  /** Every stderr line of the side-process and the client's own notes. */
  readonly onLog: Event<string> = this.logEmitter.event;
  /** Fired after the process died unexpectedly and a new one was started. */
  readonly onDidRestart: Event<RestartEvent> = this.restartEmitter.event;
  /** Progress of any job (run() also takes a per-call callback). */
  readonly onProgress: Event<ProgressParams> = this.progressEmitter.event;

  constructor(private readonly options: SideProcessClientOptions = {}) {
    this.scriptPath = options.scriptPath ?? join(__dirname, 'sideprocess.js');
    this.nodePath = options.nodePath ?? process.execPath;
    this.maxRestartsPerMinute = options.maxRestartsPerMinute ?? 5;
    this.restartDelayMs = options.restartDelayMs ?? ((n) => (n <= 1 ? 0 : Math.min(8000, 250 * 2 ** (n - 2))));
  }

  /** pid of the running side-process, if one is up. */
  get pid(): number | undefined {
    return this.live && !this.live.exited ? this.live.child.pid : undefined;
  }

  /** Starts the process if needed; concurrent callers share one start. */
  async start(): Promise<void> {
    await this.connection();
  }

  async ping(token?: CancellationToken): Promise<PingResult> {
    return this.request('ping', (c, t) => c.sendRequest(PingRequest, undefined, t), token);
  }

  /** Runs a job. Progress for this job goes to onProgress (the callback) as well as the onProgress event. */
  async run(params: RunParams, token?: CancellationToken, onProgress?: (p: ProgressParams) => void): Promise<RunReport> {
    const tag = params.tag ?? `run-${++runCounter}-${process.pid}`;
    const sub = onProgress ? this.onProgress((p) => { if (p.tag === tag) onProgress(p); }) : undefined;
    try {
      return await this.request(`job ${describeTarget(params.target)}`, (c, t) => c.sendRequest(RunRequest, { ...params, tag }, t), token);
    } finally {
      sub?.dispose();
    }
  }

  /** Only works when the process was started with ANE_LENS_TEST_HOOKS=1 (see options.env). */
  async crashForTest(): Promise<void> {
    return this.request('crashForTest', (c, t) => c.sendRequest(CrashForTestRequest, undefined, t));
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    const live = this.live;
    this.live = undefined;
    if (live) {
      this.failPending(live, new SideProcessError(SideProcessErrorCodes.Cancelled, 'the ANE Lens side-process was shut down'));
      live.connection.dispose();
      if (!live.exited) live.child.kill('SIGKILL');
    }
    this.logEmitter.dispose();
    this.restartEmitter.dispose();
    this.progressEmitter.dispose();
  }

  private async request<T>(
    describe: string,
    send: (c: MessageConnection, token: CancellationToken) => Promise<T>,
    token?: CancellationToken,
  ): Promise<T> {
    if (token?.isCancellationRequested) throw new SideProcessError(SideProcessErrorCodes.Cancelled, `${describe} was cancelled`);
    const live = await this.connection();
    return new Promise<T>((resolve, reject) => {
      let done = false;
      const entry: Pending = {
        describe,
        reject: (e) => {
          if (done) return;
          done = true;
          live.pending.delete(entry);
          reject(e);
        },
      };
      live.pending.add(entry);
      // Our own token source, so a caller's token from another jsonrpc instance (vscode's) also works.
      const source = new CancellationTokenSource();
      const sub = token?.onCancellationRequested(() => source.cancel());
      send(live.connection, source.token).then(
        (value) => {
          sub?.dispose();
          if (done) return;
          done = true;
          live.pending.delete(entry);
          resolve(value);
        },
        (e: unknown) => {
          sub?.dispose();
          // A connection torn down by a dying process rejects too; leave it to onExit, whose message
          // says what happened.
          if (live.exited || isTransportError(e)) return;
          entry.reject(toSideProcessError(e));
        },
      );
    });
  }

  private connection(): Promise<Live> {
    if (this.disposed) return Promise.reject(new SideProcessError(SideProcessErrorCodes.Internal, 'the ANE Lens side-process client was disposed'));
    if (this.gaveUp) return Promise.reject(new SideProcessError(SideProcessErrorCodes.Crashed, this.gaveUp));
    if (this.live && !this.live.exited) return Promise.resolve(this.live);
    this.starting ??= this.spawnProcess(0).finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  private async spawnProcess(delayMs: number): Promise<Live> {
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
    if (this.disposed) throw new SideProcessError(SideProcessErrorCodes.Internal, 'the ANE Lens side-process client was disposed');
    if (!existsSync(this.scriptPath)) {
      throw new SideProcessError(SideProcessErrorCodes.Internal, `the ANE Lens side-process script is missing at ${this.scriptPath}; run npm run build`);
    }
    const child = spawn(this.nodePath, [this.scriptPath], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, ...this.options.env, ELECTRON_RUN_AS_NODE: '1' },
    });
    const spawned = await new Promise<Error | undefined>((resolve) => {
      child.once('spawn', () => resolve(undefined));
      child.once('error', (e) => resolve(e));
    });
    if (spawned) {
      throw new SideProcessError(SideProcessErrorCodes.Internal, `cannot start the ANE Lens side-process (${this.nodePath} ${this.scriptPath}): ${spawned.message}`);
    }
    if (this.disposed) {
      child.kill('SIGKILL');
      throw new SideProcessError(SideProcessErrorCodes.Internal, 'the ANE Lens side-process client was disposed');
    }
    const connection = createMessageConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
    const live: Live = { child, connection, pending: new Set(), exited: false };
    child.stdin?.on('error', () => undefined); // EPIPE after a crash is reported through 'exit'
    let buffered = '';
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      buffered += d;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        if (/^\w*Error\b/.test(line)) live.lastError = line.trim();
        this.logEmitter.fire(line);
      }
    });
    connection.onNotification(ProgressNotification, (p) => this.progressEmitter.fire(p));
    connection.onError(([e]) => this.logEmitter.fire(`side-process connection error: ${e.message}`));
    // 'close' rather than 'exit': it comes after stderr is drained, so the last error line is known.
    child.on('close', (code, signal) => {
      if (buffered) this.logEmitter.fire(buffered);
      this.onExit(live, code, signal);
    });
    connection.listen();
    this.live = live;
    return live;
  }

  private onExit(live: Live, code: number | null, signal: NodeJS.Signals | null): void {
    live.exited = true;
    const cause = signal ? `signal ${signal}` : `exit code ${code}${live.lastError ? `: ${live.lastError}` : ''}`;
    if (this.disposed || this.live !== live) return;
    this.live = undefined;
    this.logEmitter.fire(`the ANE Lens side-process (pid ${live.child.pid}) exited (${cause})`);

    const now = Date.now();
    this.restartTimes = this.restartTimes.filter((t) => now - t < 60_000);
    const willRestart = this.restartTimes.length < this.maxRestartsPerMinute;
    const what = (p: Pending) => (p.describe.startsWith('job ') ? `while running ${p.describe}` : `during ${p.describe}`);
    for (const p of [...live.pending]) {
      p.reject(new SideProcessError(SideProcessErrorCodes.Crashed,
        `the ANE Lens side-process crashed (${cause}) ${what(p)}; ${willRestart ? 'it was restarted' : 'it crashed too often and was not restarted'}`));
    }
    live.connection.dispose();
    if (!willRestart) {
      this.gaveUp = `the ANE Lens side-process crashed ${this.restartTimes.length + 1} times within a minute (last: ${cause}); not restarting`;
      this.logEmitter.fire(this.gaveUp);
      return;
    }
    this.restartTimes.push(now);
    this.consecutiveCrashes++;
    const attempt = this.consecutiveCrashes;
    // Restart eagerly (the next request should not pay for it), merged with any start a request triggers.
    this.starting ??= this.spawnProcess(this.restartDelayMs(attempt)).then(
      (next) => {
        this.restartEmitter.fire({ cause, restartsInLastMinute: this.restartTimes.length, pid: next.child.pid });
        this.scheduleCrashCounterReset(next);
        return next;
      },
    ).finally(() => {
      this.starting = undefined;
    });
    this.starting.catch((e: Error) => this.logEmitter.fire(`restart failed: ${e.message}`));
  }

  /** A process that stays up for a while resets the backoff. */
  private scheduleCrashCounterReset(live: Live): void {
    const timer = setTimeout(() => {
      if (this.live === live && !live.exited) this.consecutiveCrashes = 0;
    }, 10_000);
    timer.unref();
  }

  private failPending(live: Live, error: SideProcessError): void {
    for (const p of [...live.pending]) p.reject(error);
  }
}

let runCounter = 0;

function isTransportError(e: unknown): boolean {
  return e instanceof ResponseError &&
    (e.code === ErrorCodes.PendingResponseRejected || e.code === ErrorCodes.ConnectionInactive || e.code === ErrorCodes.MessageWriteError);
}

function toSideProcessError(e: unknown): SideProcessError {
  if (e instanceof SideProcessError) return e;
  if (e instanceof ResponseError) return new SideProcessError(e.code, e.message);
  const err = e instanceof Error ? e : new Error(String(e));
  return new SideProcessError(SideProcessErrorCodes.Internal, err.message);
}
