import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expandGrid, flattenRows, gridWeightsDir, loadGridWeights, readRows, runGrid, runKey, selectBest, WORKER_BLAS_THREADS, type GridSpec, type RunRow } from '../../lib/src/grid';
import { evaluate } from '../../lib/src/evaluate';
import { withBlasThreads } from '../../lib/src/kernels/native';
import { initBackend } from '../../lib/src/backend';
import { teacherLogitsCached } from '../../lib/src/cache';
import { loadSplits, take } from '../../lib/src/data';
import { createStudent } from '../../lib/src/models';

const ROOT = path.resolve(__dirname, '..', '..');
process.env.KDLAB_CACHE_DIR ??= fs.mkdtempSync(path.join(os.tmpdir(), 'kdlab-cache-'));

const TRAIN_SIZE = 400;

/** A tiny "teacher" (untrained: its logits only need to be fixed numbers) and its cached logits. */
async function tinySpec(overrides: Partial<GridSpec> = {}): Promise<GridSpec> {
  await initBackend({ quiet: true });
  const { train } = loadSplits({ validationSize: 5000, seed: 0 });
  const teacher = createStudent({ hidden: [32], seed: 123 });
  const cached = teacherLogitsCached(teacher, take(train, TRAIN_SIZE));
  teacher.dispose();
  return {
    name: 'tiny',
    temperatures: [2, 4],
    alphas: [0, 0.5],
    students: [[8]],
    epochs: 1,
    batchSize: 64,
    trainSize: TRAIN_SIZE,
    validationSize: 5000,
    teacherLogits: { file: cached.file, key: cached.key },
    ...overrides,
  };
}

function tmpResults(): string {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'kdlab-grid-')), 'rows.jsonl');
}

function lines(file: string): string[] {
  return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim());
}

test('a grid spec expands to one run per (student, seed, T, alpha) with distinct keys; bad specs are refused', async () => {
  const spec = await tinySpec({ temperatures: [1, 2, 4], alphas: [0, 0.5, 1], seeds: [0, 1] });
  const runs = expandGrid(spec);
  assert.equal(runs.length, 3 * 3 * 2);
  assert.equal(new Set(runs.map(runKey)).size, runs.length);
  assert.equal(runKey({ ...runs[0] }), runKey(runs[0]), 'the key depends on values, not object identity');
  assert.throws(() => expandGrid({ ...spec, temperatures: [0] }), /temperatures must be .* T > 0/);
  assert.throws(() => expandGrid({ ...spec, alphas: [1.5] }), /alphas must be .* \[0, 1\]/);
  assert.throws(() => expandGrid({ ...spec, students: [[0]] }), /students must be/);
});

test('a grid runs any objective: kd keys stay what they were before objectives; mse has an alpha axis only', async () => {
  const spec = await tinySpec();
  // The key of a kd run hashes no objective field: rows of older grids are still found.
  const pinned = { temperature: 1, alpha: 0, hidden: [8], seed: 0, epochs: 2, batchSize: 128, learningRate: 1e-3, trainSize: null, validationSize: 5000, splitSeed: 0, teacherKey: 'abc' };
  assert.equal(runKey(pinned), 'cae15e56a5112796');
  assert.equal(runKey({ ...pinned, objective: 'kd' }), 'cae15e56a5112796');
  assert.deepEqual(expandGrid({ ...spec, objective: 'kd' }).map(runKey), expandGrid(spec).map(runKey));

  const { temperatures: _t, ...settings } = spec;
  const mse: GridSpec<'mse'> = { ...settings, objective: 'mse', alphas: [0.5, 1] };
  const runs = expandGrid(mse);
  assert.deepEqual(runs.map((r) => [r.objective, r.alpha, 'temperature' in r]), [['mse', 0.5, false], ['mse', 1, false]]);
  const kdKeys = new Set(expandGrid(spec).map(runKey));
  for (const r of runs) assert.ok(!kdKeys.has(runKey(r)), 'the objective is part of a non-kd key');
  assert.throws(() => expandGrid({ ...mse, temperatures: [2] } as GridSpec<'mse'>), /objective 'mse' has no temperature: remove temperatures/);
  assert.throws(() => expandGrid({ ...mse, objective: 'hard' } as unknown as GridSpec<'mse'>), /objective must be a distillation objective/);

  const result = await runGrid(mse, { resultsFile: tmpResults(), workers: 1 });
  assert.equal(result.trained, 2);
  for (const r of result.rows) {
    assert.equal(r.objective, 'mse');
    assert.ok(r.valAccuracy > 0.1 && r.valAccuracy <= 1, `val accuracy ${r.valAccuracy}`);
  }
  const flat = flattenRows(result.rows);
  assert.deepEqual(Object.keys(flat[0]).slice(0, 4), ['student', 'objective', 'alpha', 'seed']);
  assert.equal(selectBest(result.rows).valAccuracy, Math.max(...result.rows.map((r) => r.valAccuracy)));
});

test('runs once, appends one row per run, skips finished rows on rerun, and trains alpha = 0 once for all T', async () => {
  const spec = await tinySpec();
  const resultsFile = tmpResults();
  const first = await runGrid(spec, { resultsFile, workers: 2 });
  assert.equal(first.rows.length, 4);
  assert.equal(first.trained, 3, 'alpha = 0 at T = 4 reuses the alpha = 0 run at T = 2');
  assert.equal(first.reused, 1);
  assert.equal(lines(resultsFile).length, 4);
  const a0 = first.rows.filter((r) => r.alpha === 0);
  assert.equal(a0[0].valAccuracy, a0[1].valAccuracy);
  assert.ok(a0[1].sameAs === a0[0].key || a0[0].sameAs === a0[1].key);
  for (const r of first.rows) {
    assert.ok(r.valAccuracy > 0.1 && r.valAccuracy <= 1, `val accuracy ${r.valAccuracy}`);
    assert.equal(r.key, runKey({ temperature: r.temperature, alpha: r.alpha, hidden: r.hidden, seed: r.seed, epochs: r.epochs, batchSize: r.batchSize, learningRate: r.learningRate, trainSize: r.trainSize, validationSize: r.validationSize, splitSeed: r.splitSeed, teacherKey: r.teacherKey }));
  }

  const again = await runGrid(spec, { resultsFile, workers: 2 });
  assert.equal(again.trained, 0);
  assert.equal(again.skipped, 4);
  assert.equal(lines(resultsFile).length, 4, 'no duplicate rows');
  assert.deepEqual(again.rows.map((r) => r.valAccuracy), first.rows.map((r) => r.valAccuracy));

  // Killed before the alpha = 0 copy was written: the rerun copies it from the saved row.
  const copyKey = (a0[0].sameAs ? a0[0] : a0[1]).key;
  fs.writeFileSync(resultsFile, lines(resultsFile).filter((l) => !l.includes(copyKey)).map((l) => `${l}\n`).join(''));
  const resumed = await runGrid(spec, { resultsFile, workers: 2 });
  assert.equal(resumed.trained, 0, 'the saved alpha = 0 row stands in for every T');
  assert.equal(resumed.reused, 1);
  assert.equal(lines(resultsFile).length, 4);

  const best = selectBest(first.rows);
  assert.equal(best.valAccuracy, Math.max(...first.rows.map((r) => r.valAccuracy)));
});

test('one worker and two workers give the same numbers (each run is seeded, whatever process runs it)', async () => {
  const spec = await tinySpec({ alphas: [0.5, 1] });
  const one = await runGrid(spec, { resultsFile: tmpResults(), workers: 1 });
  const two = await runGrid(spec, { resultsFile: tmpResults(), workers: 2 });
  const byKey = (rows: RunRow[]): Record<string, number> => Object.fromEntries(rows.map((r) => [r.key, r.valAccuracy]));
  assert.deepEqual(byKey(two.rows), byKey(one.rows));
});

test('saveWeights keeps every trained student: loaded, it scores its row exactly; copied rows point at their twin', async () => {
  const spec = await tinySpec();
  const resultsFile = tmpResults();
  const { rows } = await runGrid(spec, { resultsFile, workers: 2, saveWeights: true });
  const { validation } = loadSplits({ validationSize: 5000, seed: 0 });
  for (const row of rows) {
    const model = createStudent({ hidden: row.hidden, seed: 99 });
    // The workers evaluated with WORKER_BLAS_THREADS; so does this check.
    const accuracy = await withBlasThreads(WORKER_BLAS_THREADS, async () => {
      assert.ok(await loadGridWeights(resultsFile, row, model), `weights of T=${row.temperature}, alpha=${row.alpha}`);
      return evaluate(model, validation).accuracy;
    });
    model.dispose();
    assert.equal(accuracy, row.valAccuracy, `T=${row.temperature}, alpha=${row.alpha}`);
  }
  const copied = rows.filter((r) => r.sameAs !== null);
  assert.equal(copied.length, 1, 'alpha = 0 at the second T copies the first');
  assert.equal(fs.readdirSync(gridWeightsDir(resultsFile)).length, rows.length - copied.length, 'one checkpoint per trained run');
  // Without saveWeights nothing is saved, and loading says so instead of throwing.
  const plainFile = tmpResults();
  const plain = await runGrid(spec, { resultsFile: plainFile, workers: 1 });
  const model = createStudent({ hidden: [8] });
  assert.equal(await loadGridWeights(plainFile, plain.rows[0], model), false);
  model.dispose();
});

test('a torn last line (killed mid-write) is ignored and does not swallow the next row', async () => {
  const spec = await tinySpec({ temperatures: [3], alphas: [0.5, 1] });
  const resultsFile = tmpResults();
  await runGrid(spec, { resultsFile, workers: 1 });
  const kept = lines(resultsFile)[0];
  fs.writeFileSync(resultsFile, `${kept}\n{"key":"abc","valAcc`);
  assert.equal(readRows(resultsFile).length, 1);
  const r = await runGrid(spec, { resultsFile, workers: 1 });
  assert.equal(r.trained, 1);
  assert.equal(r.skipped, 1);
  assert.equal(readRows(resultsFile).length, 2);
});

function runCli(args: string[]): { child: ReturnType<typeof spawn>; out: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [path.join(ROOT, 'tools', 'bin', 'kdlab.js'), ...args], {
    cwd: ROOT,
    env: { ...process.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, out: () => out, exited };
}

async function waitFor(cond: () => boolean, seconds: number): Promise<void> {
  const end = Date.now() + seconds * 1000;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 100));
  }
}

function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(d));
    } catch {
      /* process ended */
    }
  }
  return out;
}

for (const signal of ['SIGKILL', 'SIGINT'] as const) {
  test(`killed mid-grid with ${signal}: the rerun keeps every finished row, writes no duplicate, recomputes only the rest`, { skip: process.platform !== 'linux' }, async () => {
    const spec = await tinySpec({ temperatures: [1, 2, 3, 4, 5, 6], alphas: [0.5, 1], epochs: 2 });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kdlab-grid-kill-'));
    const specFile = path.join(dir, 'spec.json');
    const resultsFile = path.join(dir, 'rows.jsonl');
    fs.writeFileSync(specFile, JSON.stringify(spec));
    const total = expandGrid(spec).length;

    const victim = runCli(['grid', specFile, '--results', resultsFile, '--workers', '1']);
    await waitFor(() => fs.existsSync(resultsFile) && lines(resultsFile).length >= 2, 120);
    const workers = childPids(victim.child.pid ?? -1);
    victim.child.kill(signal);
    const code = await victim.exited;
    assert.notEqual(code, 0, `interrupted grid must not report success:\n${victim.out()}`);
    if (signal === 'SIGINT') assert.match(victim.out(), /interrupted; finished runs are saved/);
    // The workers notice their parent is gone and exit instead of training on as orphans.
    await waitFor(() => workers.every((p) => !fs.existsSync(`/proc/${p}`) || fs.readFileSync(`/proc/${p}/stat`, 'utf8').includes(') Z')), 20);

    const before = readRows(resultsFile);
    assert.ok(before.length >= 2 && before.length < total, `finished before the kill: ${before.length}`);
    const rerun = runCli(['grid', specFile, '--results', resultsFile, '--workers', '2']);
    assert.equal(await rerun.exited, 0, rerun.out());
    assert.match(rerun.out(), new RegExp(`${total} rows in .* — ${total - before.length} trained now, ${before.length} already finished, 0 reused`));
    const after = lines(resultsFile).map((l) => JSON.parse(l) as RunRow);
    assert.equal(after.length, total, 'exactly one line per run');
    assert.equal(new Set(after.map((r) => r.key)).size, total);
    for (const row of before) assert.deepEqual(after.find((r) => r.key === row.key), row, 'finished rows are untouched');
  });
}
