// The side-process's life cycle through SideProcessClient: restart after a crash, bad input that leaves it
// alive, timeouts and cancellation that really stop a running job, and the serial queue.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CancellationTokenSource } from 'vscode-jsonrpc/node';
import { SideProcessErrorCodes, type RunParams } from '../../common/sideProcessProtocol';
import { SideProcessClient, type RestartEvent } from '../../native/host/supervisor';
import { distFile } from '../helpers';
import { matmulChainOnnx } from './onnxModel';
import { rejection } from './rejection';

let dir: string;
let chain: string;
let small: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'ane-lens-supervisor-'));
  chain = join(dir, 'chain.onnx');
  writeFileSync(chain, matmulChainOnnx(8, 1024));
  small = join(dir, 'small.onnx');
  writeFileSync(small, matmulChainOnnx(2, 16));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function onnx(path: string, extra: Partial<RunParams> = {}): RunParams {
  return { target: { kind: 'onnx', path }, backend: 'sim', chip: 'M4', ...extra };
}


describe('crash and restart', { timeout: 60_000 }, () => {
  test('a crash fails the pending requests with a clear error, the process is restarted, and ping works again', async (t) => {
    const client = new SideProcessClient({ scriptPath: distFile('sideprocess.js'), env: { ANE_LENS_TEST_HOOKS: '1' } });
    t.after(() => client.dispose());
    const first = await client.ping();
    assert.equal(first.pid, client.pid);

    const restarted = new Promise<RestartEvent>((resolve) => client.onDidRestart(resolve));
    // A job is in flight (its first progress arrived) when the process aborts.
    const running = client.run(onnx(chain));
    await new Promise<void>((resolve) => {
      const sub = client.onProgress(() => {
        sub.dispose();
        resolve();
      });
    });
    const [crash, job] = await Promise.all([rejection(client.crashForTest()), rejection(running)]);
    assert.equal(job.code, SideProcessErrorCodes.Crashed);
    assert.equal(job.message, `the ANE Lens side-process crashed (signal SIGABRT) while running job ${chain}; it was restarted`);
    assert.equal(crash.code, SideProcessErrorCodes.Crashed);
    assert.match(crash.message, /crashed \(signal SIGABRT\) during crashForTest; it was restarted/);

    const event = await restarted;
    assert.equal(event.cause, 'signal SIGABRT');
    assert.equal(event.restartsInLastMinute, 1);
    const second = await client.ping();
    assert.notEqual(second.pid, first.pid);
    assert.equal(second.pid, event.pid);
    const report = await client.run(onnx(small));
    assert.equal(report.layers.length, 4);
  });

  test('a missing side-process script is one clear error, not a restart loop', async (t) => {
    const client = new SideProcessClient({ scriptPath: join(dir, 'nope', 'sideprocess.js') });
    t.after(() => client.dispose());
    const restarts: unknown[] = [];
    client.onDidRestart((e) => restarts.push(e));
    const e = await rejection(client.ping());
    assert.equal(e.code, SideProcessErrorCodes.Internal);
    assert.equal(e.message, `the ANE Lens side-process script is missing at ${join(dir, 'nope', 'sideprocess.js')}; run npm run build`);
    assert.deepEqual(restarts, []);
  });

  test('concurrent first requests share one process start', async (t) => {
    const client = new SideProcessClient({ scriptPath: distFile('sideprocess.js') });
    t.after(() => client.dispose());
    const pings = await Promise.all([client.ping(), client.ping(), client.start().then(() => client.ping())]);
    assert.equal(new Set(pings.map((p) => p.pid)).size, 1);
    assert.match(pings[0].addon, /^ane_native /);
  });

  test('without ANE_LENS_TEST_HOOKS=1 the crash hook is refused and the process lives on', async (t) => {
    const client = new SideProcessClient({ scriptPath: distFile('sideprocess.js') });
    t.after(() => client.dispose());
    const { pid } = await client.ping();
    const e = await rejection(client.crashForTest());
    assert.equal(e.code, SideProcessErrorCodes.BadInput);
    assert.equal((await client.ping()).pid, pid);
  });

  test('after too many crashes in a minute it stops restarting and says so', async (t) => {
    const client = new SideProcessClient({ scriptPath: distFile('sideprocess.js'), env: { ANE_LENS_TEST_HOOKS: '1' }, maxRestartsPerMinute: 1 });
    t.after(() => client.dispose());
    const restarted = new Promise<RestartEvent>((resolve) => client.onDidRestart(resolve));
    assert.match((await rejection(client.crashForTest())).message, /it was restarted$/);
    await restarted;
    assert.match((await rejection(client.crashForTest())).message, /crashed too often and was not restarted$/);
    const e = await rejection(client.ping());
    assert.equal(e.code, SideProcessErrorCodes.Crashed);
    assert.match(e.message, /crashed 2 times within a minute \(last: signal SIGABRT\); not restarting/);
  });
});

describe('jobs', { timeout: 60_000 }, () => {
  let client: SideProcessClient;
  before(() => {
    client = new SideProcessClient({ scriptPath: distFile('sideprocess.js') });
  });
  after(() => client.dispose());

  test('a corrupt ONNX file is a BadInput error naming the file; the process stays up', async () => {
    const { pid } = await client.ping();
    const corrupt = join(dir, 'corrupt.onnx');
    writeFileSync(corrupt, Buffer.concat([Buffer.from(matmulChainOnnx(2, 16)).subarray(0, 200), Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f])]));
    const e = await rejection(client.run(onnx(corrupt)));
    assert.equal(e.code, SideProcessErrorCodes.BadInput);
    assert.ok(e.message.includes(corrupt), e.message);
    assert.doesNotMatch(e.message, /\n/);
    assert.equal((await client.ping()).pid, pid);
    assert.equal((await client.run(onnx(small))).layers.length, 4);
  });

  test('bad parameters are BadInput errors: missing file, unknown chip, bad backend, input name and .npy', async () => {
    const missing = await rejection(client.run(onnx(join(dir, 'nope.onnx'))));
    assert.equal(missing.code, SideProcessErrorCodes.BadInput);
    const chip = await rejection(client.run(onnx(small, { chip: 'Z9' })));
    assert.equal(chip.code, SideProcessErrorCodes.BadInput);
    assert.match(chip.message, /unknown chip "Z9"; known chips: M1, (\w+, )*M4, (\w+, )*M5\b/);
    const backend = await rejection(client.run({ ...onnx(small), backend: 'coreml' as 'sim' }));
    assert.match(backend.message, /unsupported backend "coreml"/);
    const name = await rejection(client.run(onnx(small, { inputNpy: { nope: join(dir, 'x.npy') } })));
    assert.match(name.message, /inputNpy names "nope", which is not a graph input; inputs: x/);
    const notNpy = join(dir, 'bad.npy');
    writeFileSync(notNpy, 'hello');
    const npy = await rejection(client.run(onnx(small, { inputNpy: { x: notNpy } })));
    assert.equal(npy.code, SideProcessErrorCodes.BadInput);
    assert.match(npy.message, /bad\.npy: not a \.npy file/);
  });

  test('a job past its timeoutMs is stopped with a Timeout error; the next job runs normally', async () => {
    const { pid } = await client.ping();
    const started = Date.now();
    const e = await rejection(client.run(onnx(chain, { timeoutMs: 1 })));
    assert.equal(e.code, SideProcessErrorCodes.Timeout);
    assert.match(e.message, /^job \d+ exceeded its time limit of 1 ms while .+ and was stopped$/);
    assert.ok(Date.now() - started < 5_000, 'stopped promptly');
    assert.equal((await client.ping()).pid, pid, 'the side-process itself survived');
    const report = await client.run(onnx(chain));
    assert.equal(report.layers.length, 16);
    assert.ok(report.totalMs > 0);
  });

  test('a crash of the native job worker fails only that job; the side-process lives on', async () => {
    const { pid } = await client.ping();
    const running = client.run(onnx(chain));
    await new Promise<void>((resolve) => {
      const sub = client.onProgress((p) => {
        if (p.message.startsWith('running')) {
          sub.dispose();
          resolve();
        }
      });
    });
    // The worker is the side-process's child started with --job-worker; a segfault in the addon looks like this.
    const worker = readdirSync('/proc').filter((p) => /^\d+$/.test(p)).find((p) => {
      try {
        const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        return ppid === pid && readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('--job-worker');
      } catch {
        return false;
      }
    });
    assert.ok(worker, 'found the job worker');
    process.kill(Number(worker), 'SIGSEGV');
    const e = await rejection(running);
    assert.equal(e.code, SideProcessErrorCodes.Internal);
    assert.match(e.message, /^the native executor process died \(signal SIGSEGV\) while running job \d+$/);
    assert.equal((await client.ping()).pid, pid);
    assert.equal((await client.run(onnx(small))).layers.length, 4);
  });

  test('cancelling through the token stops a running job', async () => {
    const source = new CancellationTokenSource();
    const running = client.run(onnx(chain), source.token, () => source.cancel());
    const e = await rejection(running);
    assert.equal(e.code, SideProcessErrorCodes.Cancelled);
    assert.match(e.message, /^job \d+ was cancelled$/);
    assert.equal((await client.run(onnx(small))).layers.length, 4);
  });

  test('concurrent runs are queued, run one at a time, and each gets its own progress', async () => {
    const seen: string[][] = [[], []];
    const finished: string[] = [];
    const bigRun = client.run(onnx(chain), undefined, (p) => seen[0].push(p.message)).then((r) => { finished.push('big'); return r; });
    // The small job is sent once the big one is known to be running, so it must wait behind it.
    await new Promise<void>((resolve) => {
      const sub = client.onProgress((p) => {
        if (p.message.startsWith('running')) {
          sub.dispose();
          resolve();
        }
      });
    });
    const smallRun = client.run(onnx(small), undefined, (p) => seen[1].push(p.message)).then((r) => { finished.push('small'); return r; });
    const [a, b] = await Promise.all([bigRun, smallRun]);
    assert.equal(a.layers.length, 16);
    assert.equal(b.layers.length, 4);
    assert.deepEqual(finished, ['big', 'small']);
    assert.equal(seen[1][0], 'queued behind 1 job(s)', JSON.stringify(seen));
    assert.ok(!seen[0].some((m) => m.startsWith('queued')), JSON.stringify(seen));
  });
});
