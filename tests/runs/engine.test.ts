import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { blasKernelFamily, initBackend } from '../../lib/src/backend';
import { evaluate } from '../../lib/src/evaluate';
import { resolveData } from '../../lib/src/data';
import { tmp, withStore } from './helpers';
import { canonical, checkRunSpec, runKey, RUN_FORMAT, type RunSpec } from '../../lib/src/runs/spec';
import { executeRun, runAll } from '../../lib/src/runs/pool';
import { loadRunModel, readRun, runLogits, type RunResult } from '../../lib/src/runs/store';
import { runsFrame } from '../../lib/src/runs/frame';

// One engine suite for every experiment: keys, the store, resume after SIGKILL, rerun reads
// back, and the same digits in this process and in a worker. Small runs on real MNIST slices.

const ROOT = path.resolve(__dirname, '..', '..');
process.env.KDLAB_CACHE_DIR ??= tmp('cache');

const data = { validationSize: 500, splitSeed: 3, pool: 1200 };
const teacher: RunSpec = {
  label: 'teacher', data, model: { kind: 'mlp', hidden: [64], dropout: 0.2, inputDropout: 0.1, maxNorm: 15 },
  objective: { objective: 'hard' }, optimizer: { name: 'adam', learningRate: 2e-3 }, budget: { epochs: 2 },
  batchSize: 64, seed: 0, jitter: 1, record: { weights: true, valCurve: true, test: true },
};
const teacherKey = runKey(teacher);
const student = (seed: number, objective: RunSpec['objective'], extra: Partial<RunSpec> = {}): RunSpec => ({
  label: `${objective.objective} ${seed}`, data, model: { kind: 'mlp', hidden: [32] }, objective,
  ...(objective.objective === 'hard' ? {} : { teacher: { run: teacherKey } }),
  optimizer: { name: 'adam' }, budget: { steps: 30 }, batchSize: 50, seed, record: { test: true, fit: true, weights: true }, ...extra,
});
const kd = { objective: 'kd', temperature: 4, alpha: 0.9 } as const;

async function weightsHash(r: RunResult): Promise<string> {
  const model = await loadRunModel(r);
  const h = createHash('sha256');
  for (const w of model.getWeights()) h.update(new Uint8Array((w.dataSync() as Float32Array).buffer));
  model.dispose();
  return h.digest('hex');
}

test('the key hashes the format and the canonical identity; label, tags and checkpointEvery are not part of it', () => {
  const s = student(1, kd);
  const identity = { ...s, data: { ...data }, jitter: 0, keep: 'last', blasThreads: 1,
    record: { valCurve: false, test: true, fit: true, logits: false, weights: true } } as Record<string, unknown>;
  delete identity.label;
  const expected = createHash('sha256').update(`${RUN_FORMAT}\n${canonical(identity)}`).digest('hex').slice(0, 16);
  assert.equal(runKey(s), expected);
  assert.equal(runKey({ ...s, label: 'other', tags: { method: 'kd' }, checkpointEvery: 3 }), expected);
  // Defaults written out give the same run; anything that changes the result gives another.
  assert.equal(runKey({ ...s, jitter: 0, keep: 'last', blasThreads: 1 }), expected);
  assert.equal(canonical({ b: 1, a: [2, { d: undefined, c: 3 }] }), '{"a":[2,{"c":3}],"b":1}');
  for (const changed of [{ seed: 2 }, { blasThreads: 2 }, { batchSize: 51 }, { budget: { steps: 31 } }, { objective: { ...kd, alpha: 0.5 } },
    { data: { ...data, transfer: { exclude: [3] } } }, { record: { test: true } }]) {
    assert.notEqual(runKey({ ...s, ...changed } as RunSpec), expected, JSON.stringify(changed));
  }
});

test('a spec that cannot run is refused with the field and the fix', () => {
  const refuse = (spec: RunSpec, pattern: RegExp) => assert.throws(() => checkRunSpec(spec), (e: Error & { code?: string }) => {
    assert.match(e.message, pattern);
    return e.code === 'BAD_RUN_SPEC' || e.code === 'BAD_TEMPERATURE' || e.code === 'BAD_ALPHA';
  });
  const { teacher: _t, ...noTeacher } = student(0, kd);
  refuse(noTeacher as RunSpec, /needs teacher: \{ run/);
  refuse({ ...student(0, { objective: 'hard' }), teacher: { run: 'x' } }, /remove teacher/);
  refuse({ ...student(0, kd), budget: { epochs: 1, steps: 2 } as unknown as RunSpec['budget'] }, /budget must be \{ epochs: n \} or \{ steps: n \}/);
  refuse({ ...student(0, kd), keep: 'best' }, /set record\.valCurve/);
  refuse({ ...student(0, kd), model: { kind: 'mlp', hidden: [] } }, /model must be/);
  refuse({ ...student(0, { objective: 'kd', temperature: 0, alpha: 0.5 }) }, /temperature|T/);
  refuse({ ...student(0, { objective: 'kd', temperature: 2, alpha: 1.5 }) }, /alpha/);
});

test('a student whose teacher is not in the store fails naming the teacher and the fix', async () => {
  await initBackend({ quiet: true });
  await withStore(tmp('runs'), async () => {
    await assert.rejects(executeRun(student(0, kd)), (e: Error & { code?: string }) => e.code === 'TEACHER_MISSING' && /run the teacher's spec first/.test(e.message));
  });
});

test('in this process and in worker processes a run gives the same digits; a rerun reads every run back', async () => {
  await initBackend({ quiet: true });
  const specs = [
    student(0, kd), student(0, { objective: 'hard' }),
    student(1, kd, { data: { ...data, transfer: { exclude: [3] } }, record: { test: true, fit: true, weights: true, logits: true } }),
    teacher, // listed last: runAll trains it first, its students wait for it
    student(0, kd), // a duplicate trains once
  ];
  const here = await withStore(tmp('runs'), () => runAll(specs, { workers: 0 }));
  const epochs: string[] = [];
  const [inWorkers, again] = await withStore(tmp('runs'), async () => {
    const first = await runAll(specs, { workers: 2, onEpoch: (s, r) => epochs.push(`${s.label}:${r.epoch}`) });
    const second = await runAll(specs, { workers: 2, onEpoch: () => assert.fail('a finished run trained again') });
    return [first, second];
  });
  assert.ok(epochs.includes('teacher:2') && epochs.includes('kd 0:1'), `epochs streamed from the workers: ${epochs.join(' ')}`);
  assert.equal(here.length, specs.length);
  for (let i = 0; i < specs.length; i++) {
    const [a, b, c] = [here[i], inWorkers[i], again[i]];
    assert.equal(a.key, runKey(specs[i]));
    assert.deepEqual([b.key, c.key], [a.key, a.key]);
    assert.deepEqual(b.validation, a.validation, `${specs[i].label}: validation`);
    assert.deepEqual(b.test, a.test, `${specs[i].label}: test`);
    assert.deepEqual(b.fit, a.fit, `${specs[i].label}: fit`);
    assert.equal(b.steps, a.steps);
    assert.deepEqual(b.history.map((h) => [h.loss, h.valAccuracy]), a.history.map((h) => [h.loss, h.valAccuracy]));
    assert.equal(c.cached, true);
    assert.equal(c.spec, specs[i], 'results carry the caller\'s spec (labels and tags as given now)');
    assert.deepEqual([b.blasKernels, c.blasKernels], [a.blasKernels, a.blasKernels], `${specs[i].label}: the kernel family, from a worker and read back`);
  }
  // The digits depend on OpenBLAS's kernel family: each result says which ran (none on pure wasm).
  assert.deepEqual(here[0].blasKernels, (await initBackend({ quiet: true })).name === 'native' ? blasKernelFamily() : null);
  // Step budget: 30 steps of 50 over the pool; a transfer set without 3s is smaller.
  assert.equal(here[0].steps, 30);
  assert.equal(here[0].trainSize, 1200);
  assert.equal(here[2].trainCounts[3], 0);
  assert.equal(here[2].trainSize, 1200 - resolveData(data).train.labels.filter((y) => y === 3).length);
  assert.equal(here[3].history.length, 2);
  assert.equal(here[1].fit?.teacherDisagreements, null);
  assert.ok((here[0].fit?.teacherDisagreements ?? -1) >= 0);
});

test('weights, logits and scores in the store are those of the trained model', async () => {
  await initBackend({ quiet: true });
  await withStore(tmp('runs'), async () => {
    const spec = student(2, kd, { record: { test: true, weights: true, logits: true } });
    const [, r] = await runAll([teacher, spec], { workers: 0 });
    const baseline = tf.memory().numTensors;
    const model = await loadRunModel(r);
    const d = resolveData(data);
    const val = evaluate(model, d.validation);
    const test = evaluate(model, d.test);
    model.dispose();
    assert.equal(tf.memory().numTensors, baseline);
    assert.equal(r.validation.errors, val.errors);
    assert.equal(r.test?.errors, test.errors);
    assert.deepEqual(r.test?.errorsByClass, test.confusion.map((row, y) => row.reduce((a, n, p) => a + (p === y ? 0 : n), 0)));
    const logits = runLogits(r, 'test');
    assert.equal(logits.logits.length, d.test.size * 10);
    assert.equal(await weightsHash(r), await weightsHash(readRun(r.key) as RunResult));
    const frame = runsFrame([r]);
    assert.deepEqual(frame.columns.slice(0, 3), ['label', 'key', 'model']);
  });
});

test('a run killed with SIGKILL mid-training resumes from its checkpoint to the digits of an uninterrupted run', async () => {
  await initBackend({ quiet: true });
  const spec: RunSpec = { ...student(4, { objective: 'hard' }), budget: { epochs: 12 }, batchSize: 16, checkpointEvery: 1, record: { test: true, weights: true, valCurve: true } };
  const [whole, wholeWeights] = await withStore(tmp('runs'), async () => {
    const r = await executeRun(spec);
    return [r, await weightsHash(r)] as const;
  });
  const store = tmp('runs');
  const script = path.join(store, 'run.ts');
  fs.writeFileSync(script, `import { initBackend } from '${ROOT}/lib/src/backend';\nimport { executeRun } from '${ROOT}/lib/src/runs/pool';\n` +
    `(async () => { await initBackend({ quiet: true }); await executeRun(${JSON.stringify(spec)}); })();\n`);
  const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: ROOT, env: { ...process.env, KDLAB_RUNS_DIR: store }, stdio: 'ignore' });
  const manifest = path.join(store, '.partial', runKey(spec), 'checkpoint', 'checkpoint.json');
  const deadline = Date.now() + 120_000;
  while (!fs.existsSync(manifest)) {
    if (Date.now() > deadline || child.exitCode !== null) assert.fail(`no checkpoint appeared (exit ${child.exitCode})`);
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  await withStore(store, async () => {
    assert.equal(readRun(runKey(spec)), null, 'a killed run is not in the store');
    let resumedAt = -1;
    const resumed = await executeRun(spec, { onEpoch: (_s, r) => (resumedAt = resumedAt < 0 ? r.epoch : resumedAt) });
    assert.ok(resumedAt > 1, `resumed after epoch 1 or later, first new epoch ${resumedAt}`);
    assert.deepEqual(resumed.history.map((h) => h.loss), whole.history.map((h) => h.loss));
    assert.deepEqual(resumed.test, whole.test);
    assert.equal(await weightsHash(resumed), wholeWeights);
    assert.ok(!fs.existsSync(path.join(store, '.partial', runKey(spec))), 'the partial folder was moved into the store');
  });
});

test("keep: 'best' ends with the weights of the best validation epoch", async () => {
  await initBackend({ quiet: true });
  await withStore(tmp('runs'), async () => {
    const spec: RunSpec = { ...student(5, { objective: 'hard' }), optimizer: { name: 'sgd', learningRate: 0.5 }, budget: { epochs: 5 }, keep: 'best', record: { valCurve: true, weights: true } };
    const r = await executeRun(spec);
    const curve = r.history.map((h) => h.valAccuracy as number);
    assert.equal(r.keptEpoch, curve.indexOf(Math.max(...curve)) + 1);
    assert.equal(r.validation.accuracy, Math.max(...curve));
    const model = await loadRunModel(r);
    assert.equal(evaluate(model, resolveData(data).validation).accuracy, Math.max(...curve));
    model.dispose();
  });
});
