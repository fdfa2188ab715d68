/**
 * The runner against real tslab kernels. Each test starts one kernel (a couple of seconds each),
 * so assertions are grouped per run. After every run no kernel process may be left behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { KdlabError } from '../../lib/src/errors';
import * as net from 'node:net';
import { KernelClient, kernelPorts } from '../../tools/src/runner/kernel';
import { validateNotebook } from '../../tools/src/runner/nbformat';
import { runNotebook } from '../../tools/src/runner/runner';
import type { NotebookOutput } from '../../tools/src/runner/outputs';
import { childProcesses, processExists } from './helpers';

const FIX = path.join(__dirname, 'fixtures');
const fixture = (name: string) => path.join(FIX, name);

/** Runs fn and asserts it leaves no new child process (kernel, zombie or otherwise) behind. */
async function noLeftovers<T>(fn: () => Promise<T>): Promise<T> {
  const before = new Set(childProcesses().map((p) => p.pid));
  const result = await fn();
  const extra = childProcesses().filter((p) => !before.has(p.pid));
  assert.deepEqual(extra, [], `processes left behind: ${JSON.stringify(extra)}`);
  return result;
}

function streamText(outputs: NotebookOutput[], name: 'stdout' | 'stderr'): string {
  return outputs.map((o) => (o.output_type === 'stream' && o.name === name ? o.text : '')).join('');
}

test('good notebook: injected parameters are used, outputs recorded, valid nbformat 4.5 written', async () => {
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kdlab-nbtest-'));
  const outPath = path.join(outDir, 'good.ipynb');
  const seen: string[] = [];
  const r = await noLeftovers(() =>
    runNotebook(fixture('good.ipynb'), {
      parameters: { mode: 'full', n: 5 },
      outPath,
      timeoutCellSeconds: 60,
      onProgress: (e) => seen.push(`${e.phase}:${e.done}/${e.total}`),
    }),
  );
  assert.equal(r.status, 'ok', JSON.stringify(r.failure));
  assert.equal(r.failure, undefined);
  assert.equal(r.cells, 8, '7 code cells + the injected one');
  assert.equal(r.executedCells, 8);
  assert.equal(seen[0], 'starting:0/8');
  assert.equal(seen[seen.length - 1], 'finished:8/8');
  assert.ok(seen.includes('cell-done:8/8'));

  const written = JSON.parse(fs.readFileSync(outPath, 'utf8'));
  assert.deepEqual(validateNotebook(written), [], 'the executed notebook validates against the official schema');
  assert.equal(written.nbformat, 4);
  assert.equal(written.nbformat_minor, 5);
  assert.equal(written.metadata.language_info.name, 'typescript');
  const byId = new Map<string, { source: string[]; outputs: NotebookOutput[]; execution_count: number | null; metadata: Record<string, unknown>; cell_type: string }>(
    written.cells.map((c: { id: string }) => [c.id, c]),
  );
  const ids = written.cells.map((c: { id: string }) => c.id);
  assert.deepEqual(ids.slice(0, 3), ['intro', 'params', 'injected-parameters']);
  assert.deepEqual(byId.get('injected-parameters')?.metadata.tags, ['injected-parameters']);
  assert.deepEqual(byId.get('injected-parameters')?.outputs, [], 'the injected cell prints nothing');

  // Parameters: n=5 and mode="full" reached the code (2*5 = 10, the default n=2 would print 4).
  const streams = byId.get('streams')!;
  assert.deepEqual(streams.outputs, [{ output_type: 'stream', name: 'stdout', text: 'mode=full\nn*2=10\nlabel=default\n' }]);
  assert.equal(byId.get('lastvalue')?.outputs[0].output_type, 'stream');
  assert.equal(streamText(byId.get('lastvalue')!.outputs, 'stdout'), '5,10,15\n');

  // Execution counts increase over executed cells; the empty cell is skipped like nbclient does.
  const counts = written.cells.filter((c: { cell_type: string }) => c.cell_type === 'code').map((c: { execution_count: number | null }) => c.execution_count);
  assert.deepEqual(counts, [1, 2, 3, 4, 5, 6, null, 7]);
  const execution = streams.metadata.execution as Record<string, string>;
  for (const key of ['iopub.execute_input', 'iopub.status.busy', 'shell.execute_reply', 'iopub.status.idle']) {
    assert.ok(!Number.isNaN(Date.parse(execution[key])), `${key} is a timestamp`);
  }
  assert.ok(Date.parse(execution['iopub.status.idle']) >= Date.parse(execution['iopub.status.busy']));

  // display_data keeps MIME bundles; update_display_data replaced the first text in place.
  assert.deepEqual(byId.get('display')?.outputs, [
    { output_type: 'display_data', data: { 'text/html': '<b>bold</b>' }, metadata: {} },
    { output_type: 'display_data', data: { 'text/plain': 'updated in place' }, metadata: {} },
  ]);
  const bundle = byId.get('bundle')!.outputs[0];
  assert.equal(bundle.output_type, 'display_data');
  assert.ok(bundle.output_type === 'display_data');
  assert.deepEqual(bundle.data['application/vnd.plotly.v1+json'], { data: [{ x: [1, 2], y: [3, 4] }], layout: {} });
  assert.equal(bundle.data['text/html'], '<div>plot</div>');
  // stderr in a cell that succeeds is an ordinary output, and the cell still counts as ok.
  assert.deepEqual(byId.get('mixed')?.outputs, [
    { output_type: 'stream', name: 'stderr', text: 'note on stderr\n' },
    { output_type: 'stream', name: 'stdout', text: 'after stderr\n' },
  ]);
  fs.rmSync(outDir, { recursive: true, force: true });
});

test('a cell that throws: status error, cell number, first source line and stderr reported', async () => {
  const r = await noLeftovers(() => runNotebook(fixture('throws.ipynb')));
  assert.equal(r.status, 'error');
  assert.equal(r.executedCells, 2);
  const f = r.failure!;
  assert.equal(f.kind, 'error');
  assert.equal(f.sourceCellNumber, 3, 'the markdown cell counts: the failing cell is the third');
  assert.equal(f.cellIndex, 2);
  assert.equal(f.sourceFirstLine, 'function fail(): never {');
  assert.match(f.stderr, /Error: boom from cell 3/);
  const cells = r.notebook.cells;
  assert.ok(cells[1].cell_type === 'code' && streamText(cells[1].outputs, 'stdout') === 'first cell ran\n');
  const last = cells[3];
  assert.ok(last.cell_type === 'code');
  assert.equal(last.execution_count, null, 'cells after the failure are not run');
  assert.deepEqual(last.outputs, []);
  assert.deepEqual(validateNotebook(r.notebook), [], 'a failed run is still a valid notebook');
});

test('a TypeScript type error fails the cell with the compiler message', async () => {
  const r = await noLeftovers(() => runNotebook(fixture('type-error.ipynb')));
  assert.equal(r.status, 'error');
  assert.equal(r.failure?.sourceCellNumber, 2);
  assert.match(r.failure!.stderr, /Type 'string' is not assignable to type 'number'/);
});

test('a cell that never ends is interrupted after the per-cell timeout', async () => {
  const r = await noLeftovers(() => runNotebook(fixture('hang.ipynb'), { timeoutCellSeconds: 3 }));
  assert.equal(r.status, 'timeout');
  const f = r.failure!;
  assert.equal(f.kind, 'timeout');
  assert.equal(f.sourceCellNumber, 2);
  assert.equal(f.interrupted, true, 'SIGINT stops a synchronous loop in tslab');
  assert.match(f.stderr, /interrupted/);
  const unreachable = r.notebook.cells[2];
  assert.ok(unreachable.cell_type === 'code' && unreachable.execution_count === null);
});

test('a cell that calls process.exit: kernel death reported with its last stderr', async () => {
  const r = await noLeftovers(() => runNotebook(fixture('exit.ipynb'), { timeoutCellSeconds: 60 }));
  const f = r.failure!;
  assert.equal(r.status, 'dead', JSON.stringify(f));
  assert.equal(f.kind, 'dead');
  assert.equal(f.sourceCellNumber, 2);
  assert.equal(f.exit?.code, 3);
  assert.match(f.exit!.stderrTail, /fatal: the kernel is going down/, JSON.stringify(f));
  assert.match(f.stderr, /kernel died \(exit code 3\)/);
});

test('the kernel failing to start is a clear KdlabError, with no process left', async () => {
  await noLeftovers(async () => {
    await assert.rejects(
      runNotebook(fixture('good.ipynb'), { tslabPath: path.join(FIX, 'no-such-dir', 'tslab') }),
      (err: unknown) => err instanceof KdlabError && err.code === 'KERNEL_NOT_FOUND' && /npm install/.test(err.message),
    );
    await assert.rejects(
      runNotebook(fixture('good.ipynb'), { tslabPath: fixture('broken-tslab.js'), startTimeoutSeconds: 20 }),
      (err: unknown) =>
        err instanceof KdlabError &&
        err.code === 'KERNEL_START_FAILED' &&
        /exit code 1/.test(err.message) &&
        /Cannot find module "@tslab\/typescript-for-tslab"/.test(err.message),
    );
  });
});

test('kernel ports lie below the ephemeral range, so our own reconnecting sockets never take one', async () => {
  const low = Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
  for (let round = 0; round < 5; round++) {
    const ports = await kernelPorts(5);
    assert.equal(new Set(ports).size, 5, `distinct ports: ${ports}`);
    for (const p of ports) {
      assert.ok(p > 1024 && p < low, `port ${p} is outside 1025..${low - 1}`);
      // Free right now: the kernel can bind it.
      await new Promise<void>((resolve, reject) => {
        const srv = net.createServer().once('error', reject).listen(p, '127.0.0.1', () => srv.close(() => resolve()));
      });
    }
  }
});

test('a kernel that could not bind a port fails fast with the port conflict named, after retrying', async () => {
  await noLeftovers(async () => {
    const t0 = Date.now();
    await assert.rejects(
      KernelClient.start({ cwd: FIX, tslabPath: fixture('port-conflict-tslab.js'), startTimeoutSeconds: 60 }),
      (err: unknown) => err instanceof KdlabError && err.code === 'KERNEL_PORT_CONFLICT' && /could not bind one of its ports/.test(err.message),
    );
    const seconds = (Date.now() - t0) / 1000;
    assert.ok(seconds < 30, `took ${seconds} s: the start waited for its timeout instead of failing fast`);
  });
});

test('KernelClient: reply status decides; an uninterruptible cell gets the kernel killed', async () => {
  await noLeftovers(async () => {
    const kernel = await KernelClient.start({ cwd: FIX });
    const pid = kernel.pid!;
    try {
      const ok = await kernel.execute('const x: number = 6 * 7;\nconsole.log(x);', { timeoutSeconds: 30 });
      assert.equal(ok.status, 'ok');
      assert.equal(ok.replyStatus, 'ok');
      assert.equal(streamText(ok.outputs, 'stdout'), '42\n');
      assert.equal(ok.stderr, '');

      // A cell can print anything; only the reply status the host received counts.
      const lying = await kernel.execute('console.log("status: ok, all tests passed");\nthrow new Error("nope");', { timeoutSeconds: 30 });
      assert.equal(lying.status, 'error');
      assert.equal(lying.replyStatus, 'error');
      assert.match(lying.stderr, /Error: nope/);

      // Right after a failure tslab aborts requests for 200 ms; the client waits that out.
      const after = await kernel.execute('console.log(x + 1);', { timeoutSeconds: 30 });
      assert.equal(after.status, 'ok');
      assert.equal(streamText(after.outputs, 'stdout'), '43\n');

      // Code after an await runs outside vm's SIGINT guard and blocks the event loop: only a kill ends it.
      const stuck = await kernel.execute('await Promise.resolve();\nwhile (true) {}', { timeoutSeconds: 2, interruptGraceSeconds: 1 });
      assert.equal(stuck.status, 'timeout');
      assert.equal(stuck.interrupted, true);
      assert.equal(stuck.killed, true);
      assert.equal(kernel.alive, false);
      const gone = await kernel.execute('1');
      assert.equal(gone.status, 'dead');
    } finally {
      await kernel.shutdown();
    }
    assert.equal(processExists(pid), false);
  });
});

test('a runner killed by SIGTERM or SIGKILL takes its kernel down with it', async () => {
  const { spawn } = await import('node:child_process');
  const holder = fixture('hold-kernel.ts');
  const startHolder = () =>
    new Promise<{ child: import('node:child_process').ChildProcess; kernelPid: number; connectionFile: string }>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', holder], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) {
          const [pid, file] = out.trim().split(' ');
          resolve({ child, kernelPid: Number(pid), connectionFile: file });
        }
      });
      child.on('exit', (code) => reject(new Error(`holder exited early (${code})`)));
    });
  const waitGone = async (pid: number, seconds: number) => {
    for (let i = 0; i < seconds * 10 && processExists(pid); i++) await new Promise((r) => setTimeout(r, 100));
    return !processExists(pid);
  };
  const [term, killed] = await Promise.all([startHolder(), startHolder()]);
  assert.ok(processExists(term.kernelPid) && processExists(killed.kernelPid));
  term.child.kill('SIGTERM');
  killed.child.kill('SIGKILL');
  assert.equal(await waitGone(term.kernelPid, 5), true, 'SIGTERM: the runner killed its kernel');
  assert.equal(await waitGone(killed.kernelPid, 5), true, 'SIGKILL: the orphaned kernel killed itself');
  // No connection file (it holds the HMAC key) is left in either case.
  assert.ok(fs.existsSync(path.dirname(term.connectionFile)) === false, 'SIGTERM: connection folder removed');
  assert.ok(fs.existsSync(path.dirname(killed.connectionFile)) === false, 'SIGKILL: connection folder removed by the watchdog');
});
