import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { atFullScale, KdlabError, referenceResult, runAll, runKey, type RunSpec } from 'kdlab';
import { resetRunsUsed, runsUsed } from 'kdlab/internals';
import {
  drawSample, firstDifference, recordReference, sittingsOf, verifyReference,
} from '../../tools/src/commands/reference';
import { appendTiming, readTimings, type TimingEntry } from '../../tools/src/runner/timings';

// The reference's whole path on a cheap pair of runs (a 2-epoch MLP teacher on 1200 images and a
// 30-step student distilled from it): record it, verify it digit for digit, then break it.

const tmp = (what: string) => fs.mkdtempSync(path.join(os.tmpdir(), `kdlab-ref-${what}-`));
process.env.KDLAB_CACHE_DIR ??= tmp('cache');

function withEnv<T>(vars: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  return fn().finally(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
}

const data = { validationSize: 500, splitSeed: 3, pool: 1200 };
const teacher: RunSpec = {
  label: 'tiny teacher', data, model: { kind: 'mlp', hidden: [64], dropout: 0.2, inputDropout: 0.1, maxNorm: 15 },
  objective: { objective: 'hard' }, optimizer: { name: 'adam', learningRate: 2e-3 }, budget: { epochs: 2 },
  batchSize: 64, seed: 0, record: { weights: true, valCurve: true, test: true },
};
const student: RunSpec = {
  label: 'tiny student', data, model: { kind: 'mlp', hidden: [32] }, teacher: { run: runKey(teacher) },
  objective: { objective: 'kd', temperature: 4, alpha: 0.9 }, optimizer: { name: 'adam' }, budget: { steps: 30 },
  batchSize: 50, seed: 1, record: { test: true, fit: true },
};

const entry = (over: Partial<TimingEntry>): TimingEntry => ({
  notebook: '00-tiny.ipynb', mode: 'full', status: 'ok', commit: 'c0ffee0c0ffee0c0ffee0c0ffee0c0ffee0c0ff', dirty: false,
  start: '2026-01-01T00:00:00.000Z', end: '2026-01-01T00:01:00.000Z', wallSeconds: 60, ...over,
});

test('sittings: the last complete full-mode execution and the interrupted full-mode attempts just before it', () => {
  const t = [
    entry({ status: 'ok', mode: 'quick', wallSeconds: 5 }),
    entry({ status: 'ok', wallSeconds: 100 }),
    entry({ status: 'interrupted', wallSeconds: 30 }),
    entry({ status: 'error', wallSeconds: 20 }),
    entry({ status: 'ok', wallSeconds: 10 }),
    entry({ notebook: '01-other.ipynb', status: 'ok', wallSeconds: 7 }),
  ];
  assert.deepEqual(sittingsOf('00-tiny.ipynb', t)?.map((s) => s.wallSeconds), [30, 20, 10]);
  assert.equal(sittingsOf('00-tiny.ipynb', t.slice(0, 1)), null);
  assert.equal(sittingsOf('02-none.ipynb', t), null);
  // An earlier complete sitting counts too when one of the notebook's runs finished inside it.
  const trainedAt = [Date.parse(entry({}).start) + 30_000];
  assert.deepEqual(sittingsOf('00-tiny.ipynb', t, trainedAt)?.map((s) => s.wallSeconds), [100, 30, 20, 10]);
});

test('record copies the runs a notebook listed, however long ago they were trained, and counts the sitting that trained them', async () => {
  const store = tmp('listed-runs');
  const work = tmp('listed');
  const [notebooks, executed, results, ref] = ['notebooks', 'executed', 'results', 'ref'].map((d) => path.join(work, d));
  fs.mkdirSync(notebooks, { recursive: true });
  fs.writeFileSync(path.join(notebooks, '00-tiny.ipynb'), '{}');
  const sitting1 = entry({ start: '2026-01-02T00:00:00.000Z', end: '2026-01-02T01:00:00.000Z', wallSeconds: 3600 });
  const sitting2 = entry({ start: '2026-01-03T00:00:00.000Z', end: '2026-01-03T00:00:10.000Z', wallSeconds: 10 });
  for (const e of [sitting1, sitting2]) appendTiming(executed, e);
  const fake = (key: string, finishedAt: string) => {
    fs.mkdirSync(path.join(store, key), { recursive: true });
    const run = { format: 'x', key, spec: { label: key }, seconds: 1, backend: 'native', finishedAt };
    fs.writeFileSync(path.join(store, key, 'result.json'), JSON.stringify(run));
  };
  fake('aaaaaaaaaaaaaaaa', '2025-12-01T00:00:00.000Z'); // trained in another clone, before any sitting here
  fake('bbbbbbbbbbbbbbbb', '2026-01-02T00:30:00.000Z'); // trained in sitting 1
  fake('cccccccccccccccc', '2026-01-02T00:40:00.000Z'); // also finished then, but the notebook never used it
  fs.mkdirSync(path.join(results, 'runs'), { recursive: true });
  fs.writeFileSync(path.join(results, '00-tiny.json'), '{"mode":"full"}');
  const listed = { notebook: '00-tiny', mode: 'full', runs: ['aaaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbbb'] };
  fs.writeFileSync(path.join(results, 'runs', '00-tiny.json'), JSON.stringify(listed));
  const options = { notebooksDir: notebooks, executedDir: executed, resultsDir: results, noPng: true, outDir: ref };
  await withEnv({ KDLAB_RUNS_DIR: store }, async () => {
    const summary = await recordReference(options);
    assert.deepEqual(fs.readdirSync(path.join(ref, 'runs')).sort(), ['aaaaaaaaaaaaaaaa.json', 'bbbbbbbbbbbbbbbb.json', 'index.json']);
    const nb = summary.provenance.notebooks?.[0];
    assert.deepEqual(nb?.sittings.map((s) => s.wallSeconds), [3600, 10], 'the sitting that trained run b, and the read-back one');
    assert.equal(nb?.wallSeconds, 3610);
    assert.equal(nb?.runs, 2);
    assert.equal(nb?.trainedBeforeSittings, 1);
    assert.ok(summary.warnings.some((w) => w.includes('00-tiny: 1 of its 2 runs were trained before any full-mode sitting')), summary.warnings.join('\n'));
    // A run the notebook listed that the store lacks, and a list from a quick run, are refused.
    fs.writeFileSync(path.join(results, 'runs', '00-tiny.json'), JSON.stringify({ ...listed, runs: ['dddddddddddddddd'] }));
    await assert.rejects(recordReference(options), /run dddddddddddddddd, which 00-tiny used, is not in the run store/);
    fs.writeFileSync(path.join(results, 'runs', '00-tiny.json'), JSON.stringify({ ...listed, mode: 'quick' }));
    await assert.rejects(recordReference(options), /00-tiny: its result is from a quick-mode run/);
  });
});

test('timings.json is appended to, entry by entry', () => {
  const dir = tmp('timings');
  appendTiming(dir, entry({ wallSeconds: 1 }));
  appendTiming(dir, entry({ wallSeconds: 2 }));
  assert.deepEqual(readTimings(dir).map((e) => e.wallSeconds), [1, 2]);
  assert.deepEqual(fs.readdirSync(dir), ['timings.json']);
});

test('firstDifference names the first differing field with both values, ignoring times; drawSample is fixed by its seed', () => {
  const ref = { history: [{ epoch: 1, loss: 0.5, seconds: 3 }], validation: { accuracy: 0.9, errorsByClass: [1, 2] }, seconds: 10 };
  assert.equal(firstDifference(ref, { ...ref, seconds: 99, history: [{ epoch: 1, loss: 0.5, seconds: 4 }] }), null);
  assert.deepEqual(firstDifference(ref, { ...ref, validation: { accuracy: 0.9, errorsByClass: [1, 3] } }), {
    field: 'validation.errorsByClass[1]', reference: '2', now: '3',
  });
  assert.deepEqual(firstDifference(ref, { ...ref, history: [] }), { field: 'history.length', reference: '1', now: '0' });
  const keys = ['a', 'b', 'c', 'd', 'e', 'f'];
  const s = drawSample(keys, 3, 42);
  assert.equal(s.length, 3);
  assert.equal(new Set(s).size, 3);
  assert.deepEqual(drawSample([...keys].reverse(), 3, 42), s);
  assert.deepEqual(drawSample(keys, 10, 1).sort(), keys);
});

test('record a reference from one cheap run, verify it digit for digit, then break it', { timeout: 600_000 }, async () => {
  const store = tmp('runs');
  const work = tmp('work');
  const notebooks = path.join(work, 'notebooks');
  const executed = path.join(work, 'executed');
  const results = path.join(work, 'results');
  const ref = path.join(work, 'reference', 'full');
  fs.mkdirSync(notebooks, { recursive: true });
  fs.writeFileSync(path.join(notebooks, '00-tiny.ipynb'), '{}');
  fs.mkdirSync(results, { recursive: true });

  await withEnv({ KDLAB_RUNS_DIR: store }, async () => {
    const start = new Date();
    const [t, s] = await runAll([teacher, student], { workers: 0 });
    assert.ok(t.weightsHash && /^[0-9a-f]{64}$/.test(t.weightsHash), 'the store records a weights hash');
    assert.deepEqual(runsUsed().slice(-2), [t.key, s.key], 'runAll notes the runs it gave back, for finish() to list');
    resetRunsUsed(); // what startNotebook does
    await runAll([student], { workers: 0 });
    assert.deepEqual(runsUsed(), [s.key], 'after a reset, only the runs given back since (read back here)');
    fs.writeFileSync(path.join(results, '00-tiny.json'), JSON.stringify({ studentAccuracy: s.validation.accuracy }));
    const end = new Date();
    appendTiming(executed, entry({ status: 'interrupted', start: new Date(start.getTime() - 60_000).toISOString(), end: start.toISOString(), wallSeconds: 12.5 }));
    appendTiming(executed, entry({ start: start.toISOString(), end: end.toISOString(), wallSeconds: 30.25 }));

    // A notebook without a full-mode result is refused, by name, with the command that makes it.
    fs.writeFileSync(path.join(notebooks, '01-missing.ipynb'), '{}');
    await assert.rejects(recordReference({ notebooksDir: notebooks, executedDir: executed, resultsDir: results, noPng: true, outDir: ref }),
      /01-missing: no result .*npx kdlab reproduce --mode full --only 01/);
    fs.writeFileSync(path.join(results, '01-missing.json'), JSON.stringify({ mode: 'quick' }));
    await assert.rejects(recordReference({ notebooksDir: notebooks, executedDir: executed, resultsDir: results, noPng: true, outDir: ref }),
      /01-missing: its result is from a quick-mode run: run `npx kdlab reproduce --mode full --only 01`/);
    fs.rmSync(path.join(notebooks, '01-missing.ipynb'));
    assert.equal(fs.existsSync(ref), false, 'a refused record writes nothing');

    const summary = await recordReference({ notebooksDir: notebooks, executedDir: executed, resultsDir: results, noPng: true, outDir: ref });
    assert.equal(summary.runs, 2);
    assert.equal(summary.teachers, 1);
    assert.ok(fs.existsSync(path.join(ref, 'runs', `${t.key}.json`)) && fs.existsSync(path.join(ref, 'runs', `${s.key}.json`)));
    assert.ok(fs.existsSync(path.join(ref, 'weights', t.key)));
    assert.equal(summary.teacherBytes, fs.readdirSync(path.join(ref, 'weights', t.key)).reduce((a, f) => a + fs.statSync(path.join(ref, 'weights', t.key, f)).size, 0));
    const p = summary.provenance;
    assert.equal(p.notebooks?.[0].wallSeconds, 42.75);
    assert.equal(p.notebooks?.[0].sittings.length, 2);
    assert.equal(p.totalWallSeconds, 42.75);
    assert.equal(p.date, end.toISOString());
    assert.equal(p.commit, entry({}).commit);
    assert.equal(p.cores, os.cpus().length);
    assert.ok(fs.readdirSync(path.dirname(ref)).every((f) => f === 'full'), 'no temporary folder is left');
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(ref, 'results', '00-tiny.json'), 'utf8')), { studentAccuracy: s.validation.accuracy });
  });

  // Verify both runs: the teacher from scratch, the student from the reference's teacher weights.
  const lines: string[] = [];
  const report = await verifyReference({ refDir: ref, runs: [runKey(teacher), runKey(student)], log: (l) => lines.push(l) });
  assert.equal(report.identical, true, lines.join('\n'));
  assert.equal(report.outcomes.length, 2);
  assert.ok(lines.some((l) => l.includes('tiny student') && l.endsWith('identical')), lines.join('\n'));
  assert.equal(fs.readdirSync(store).filter((f) => !f.startsWith('.')).length, 2, 'verify leaves the real store alone');

  // One digit changed in the reference: verify names the field and both values.
  const file = path.join(ref, 'runs', `${runKey(student)}.json`);
  const saved = fs.readFileSync(file, 'utf8');
  const run = JSON.parse(saved) as { history: Array<{ loss: number }>; blasThreads: number };
  const loss = run.history[0].loss;
  run.history[0].loss = loss + Math.abs(loss) * 1e-6;
  fs.writeFileSync(file, JSON.stringify(run));
  const broken = await verifyReference({ refDir: ref, runs: [runKey(student)] });
  assert.equal(broken.identical, false);
  assert.deepEqual(broken.outcomes[0].difference, { field: 'history[0].loss', reference: JSON.stringify(run.history[0].loss), now: JSON.stringify(loss) });

  // A reference recorded with another BLAS thread count is refused before anything trains.
  run.history[0].loss = loss;
  run.blasThreads = 2;
  fs.writeFileSync(file, JSON.stringify(run));
  await assert.rejects(verifyReference({ refDir: ref, runs: [runKey(student)] }), /recorded with 2 BLAS threads, its spec trains it with 1 here/);
  // So is one from another backend, and (on the OpenBLAS kernels) one from another kernel family.
  const original = JSON.parse(saved) as { backend: string };
  const other = original.backend === 'cpu' ? 'wasm' : 'cpu';
  fs.writeFileSync(file, JSON.stringify({ ...original, backend: other }));
  await assert.rejects(verifyReference({ refDir: ref, runs: [runKey(student)] }), new RegExp(`trained on the ${other} backend, this machine runs ${original.backend}: the digits cannot match`));
  fs.writeFileSync(file, saved);
  if (original.backend === 'native') {
    const provenanceFile = path.join(ref, 'provenance.json');
    const provenance = fs.readFileSync(provenanceFile, 'utf8');
    fs.writeFileSync(provenanceFile, JSON.stringify({ ...JSON.parse(provenance), blasKernels: 'NoSuchCore' }));
    // The run's own record wins over the provenance's; without it the provenance decides.
    const { blasKernels: _k, ...unrecorded } = JSON.parse(saved) as Record<string, unknown>;
    fs.writeFileSync(file, JSON.stringify(unrecorded));
    await assert.rejects(verifyReference({ refDir: ref, runs: [runKey(student)] }), /ran on OpenBLAS's NoSuchCore kernels, this machine's OpenBLAS picks \w+: the digits cannot match/);
    fs.writeFileSync(provenanceFile, provenance);
    const recorded = JSON.parse(saved) as { blasKernels: { core: string } };
    fs.writeFileSync(file, JSON.stringify({ ...recorded, blasKernels: { ...recorded.blasKernels, core: 'OtherCore' } }));
    await assert.rejects(verifyReference({ refDir: ref, runs: [runKey(student)] }), /ran on OpenBLAS's OtherCore kernels, this machine's OpenBLAS picks \w+: the digits cannot match/);
    fs.writeFileSync(file, saved);
  }

  // The reference as notebooks read it.
  await withEnv({ KDLAB_REFERENCE_DIR: ref }, async () => {
    const r = referenceResult<{ studentAccuracy: number }>('00-tiny');
    assert.ok(r);
    assert.equal(atFullScale<{ studentAccuracy: number }>('00-tiny', (x) => `student ${x.studentAccuracy}`),
      `At full scale (reference of ${new Date().toISOString().slice(0, 10)}, commit c0ffee0): student ${r.studentAccuracy}`);
    assert.equal(referenceResult('99-none'), null);
  });
});

test('atFullScale without a reference, and a corrupt reference file with its fix', async () => {
  const empty = tmp('empty');
  await withEnv({ KDLAB_REFERENCE_DIR: empty }, async () => {
    assert.equal(referenceResult('04-training-the-student'), null);
    assert.equal(atFullScale('04-training-the-student', () => 'never called'),
      'At full scale: no reference recorded for 04-training-the-student yet (reference/full/, see docs/reference.md).');
    fs.mkdirSync(path.join(empty, 'results'));
    fs.writeFileSync(path.join(empty, 'results', '04-training-the-student.json'), '{"acc": 0.9');
    assert.throws(() => referenceResult('04-training-the-student'), (err: unknown) =>
      err instanceof KdlabError && err.code === 'REFERENCE_CORRUPT' && /is not valid JSON.*git checkout/.test(err.message));
    fs.writeFileSync(path.join(empty, 'results', '04-training-the-student.json'), '{"acc": 0.9}');
    fs.writeFileSync(path.join(empty, 'provenance.json'), '[1, 2]');
    assert.throws(() => atFullScale('04-training-the-student', () => ''), (err: unknown) =>
      err instanceof KdlabError && err.code === 'REFERENCE_CORRUPT' && /provenance\.json is not a JSON object.*kdlab reference record/.test(err.message));
  });
});
