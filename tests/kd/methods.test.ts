import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../lib/src/backend';
import { teacherLogitsCached } from '../../lib/src/cache';
import { loadSplits, take } from '../../lib/src/data';
import { InputError } from '../../lib/src/errors';
import {
  createModel, expandMethods, lastHiddenShape, METHODS, methodNeeds, methodRunKey, regressorParams, runMethods, summarizeMethods, type MethodRow,
  type MethodsSpec,
} from '../../lib/src/methods';
import { countParams, createConvStudent, createConvTeacher, createRegressor, hiddenLayers } from '../../lib/src/models';
import { train } from '../../lib/src/train';

/** Notebook 08's method comparison: runs as data, keys, workers, resume, summaries, needs. */

const code = (c: string) => (e: unknown) => e instanceof InputError && e.code === c;

test('lastHiddenShape and regressorParams agree with the models createModel and createRegressor build', async () => {
  await initBackend({ quiet: true });
  const cases = [
    { kind: 'mlp', hidden: [30, 20] },
    { kind: 'conv', filters: [4, 8] },
  ] as const;
  for (const arch of cases) {
    const m = createModel(arch.kind === 'mlp' ? { kind: 'mlp', hidden: [...arch.hidden] } : { kind: 'conv', filters: [...arch.filters] }, 0);
    assert.deepEqual(lastHiddenShape(arch.kind === 'mlp' ? { kind: 'mlp', hidden: [...arch.hidden] } : { kind: 'conv', filters: [...arch.filters] }), hiddenLayers(m).at(-1)?.shape);
    m.dispose();
  }
  const [s, t] = [createConvStudent({ filters: [4, 8] }), createConvTeacher({ filters: [8, 16] })];
  for (const [a, b] of [[[20], [30]], [hiddenLayers(s).at(-1)?.shape ?? [], hiddenLayers(t).at(-1)?.shape ?? []]]) {
    const r = createRegressor(a, b);
    assert.equal(regressorParams(a, b), countParams(r), `${a} → ${b}`);
    r.dispose();
  }
  s.dispose();
  t.dispose();
  const needs = methodNeeds(METHODS, { kind: 'mlp', hidden: [800, 800] }, { kind: 'mlp', hidden: [1200, 1200] });
  assert.deepEqual(needs.map((n) => n.fromTeacher), ['nothing', 'logits', 'logits', 'logits', 'logits', 'hidden layer', 'hidden layer']);
  assert.equal(needs.find((n) => n.method === 'hint')?.extraParams, 800 * 1200 + 1200);
  assert.match(needs.find((n) => n.method === 'dkd')?.hyperParameters ?? '', /T = 4, alpha = 1, beta = 8/);
});

test('expandMethods: seeds × methods, distinct keys, validation before anything trains', () => {
  const spec: MethodsSpec = {
    name: 't', student: { kind: 'mlp', hidden: [16] }, seeds: [0, 1], epochs: 1, batchSize: 32, trainSize: 64, validationSize: 100, splitSeed: 0,
    teacher: { arch: { kind: 'mlp', hidden: [32] }, checkpointDir: '/nonexistent', logits: { file: 'f', key: 'k' } },
  };
  const runs = expandMethods(spec);
  assert.equal(runs.length, 2 * METHODS.length);
  assert.equal(new Set(runs.map(methodRunKey)).size, runs.length);
  assert.notEqual(methodRunKey(runs[0]), methodRunKey({ ...runs[0], teacherKey: 'other' }), 'another teacher is another run');
  assert.throws(() => expandMethods({ ...spec, methods: [{ name: 'dkd', objective: { objective: 'dkd', temperature: 4, alpha: 1, beta: -1 } }] }), code('BAD_BETA'));
  assert.throws(() => expandMethods({ ...spec, seeds: [1, 1] }), code('BAD_GRID'));
  assert.throws(() => expandMethods({ ...spec, student: { kind: 'conv', filters: [16] as unknown as [number, number] } }), code('BAD_HIDDEN'));
});

test('runMethods trains every method in worker processes, writes one row per run, and a rerun trains nothing', async () => {
  await initBackend({ quiet: true });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kdlab-methods-'));
  const baseline = tf.memory().numTensors;
  const splits = loadSplits({ validationSize: 200, seed: 0 });
  const slice = take(splits.train, 128);
  const teacher = createModel({ kind: 'mlp', hidden: [32] }, 0);
  const teacherDir = path.join(dir, 'teacher');
  await train(teacher, { train: slice, epochs: 1, batchSize: 32, checkpoint: { dir: teacherDir } });
  const logits = teacherLogitsCached(teacher, slice, { dir });
  teacher.dispose();
  const methods = METHODS.filter((m) => ['scratch', 'dkd', 'hint', 'cosine'].includes(m.name));
  const spec: MethodsSpec = {
    name: 'tiny', student: { kind: 'mlp', hidden: [16] }, methods, seeds: [3], epochs: 1, batchSize: 32, trainSize: 128,
    validationSize: 200, splitSeed: 0, teacher: { arch: { kind: 'mlp', hidden: [32] }, checkpointDir: teacherDir, logits: { file: logits.file, key: logits.key } },
  };
  const resultsFile = path.join(dir, 'rows.jsonl');
  const first = await runMethods(spec, { resultsFile, workers: 2 });
  assert.equal(first.trained, 4);
  assert.deepEqual(first.rows.map((r) => r.method), ['scratch', 'dkd', 'hint', 'cosine']);
  for (const r of first.rows) {
    assert.ok(r.testAccuracy > 0.1 && r.testAccuracy <= 1, `${r.method}: ${r.testAccuracy}`);
    assert.equal(r.testErrors, Math.round((1 - r.testAccuracy) * 10000));
    assert.equal(r.params, 784 * 16 + 16 + 16 * 10 + 10);
    assert.equal(r.extraParams, r.method === 'hint' ? 16 * 32 + 32 : 0);
  }
  assert.equal(fs.readFileSync(resultsFile, 'utf8').trim().split('\n').length, 4);
  const again = await runMethods(spec, { resultsFile, workers: 2 });
  assert.deepEqual([again.trained, again.skipped], [0, 4]);
  assert.deepEqual(again.rows, first.rows);
  // Summaries: mean ± sd over seeds per method, by hand.
  const rows: MethodRow[] = [first.rows[0], { ...first.rows[0], seed: 9, testAccuracy: first.rows[0].testAccuracy + 0.02 }];
  const [s] = summarizeMethods(rows);
  assert.equal(s.runs, 2);
  assert.ok(Math.abs(s.testAccuracy.mean - (first.rows[0].testAccuracy + 0.01)) < 1e-12);
  assert.ok(Math.abs(s.testAccuracy.sd - Math.SQRT2 * 0.01) < 1e-12);
  assert.equal(tf.memory().numTensors, baseline, 'no tensors left in the parent');
  fs.rmSync(dir, { recursive: true, force: true });
});

test('ensureConvTeacher trains once per configuration, then loads the same weights from its checkpoint', async () => {
  await initBackend({ quiet: true });
  const { chapterConfig } = await import('../../lib/src/chapter');
  const { ensureConvTeacher } = await import('../../lib/src/methods');
  const cfg = chapterConfig('quick', 0);
  const settings = { filters: [2, 3] as [number, number], epochs: 1, trainSize: 64, batchSize: 32, learningRate: 1e-3 };
  const first = await ensureConvTeacher(cfg, settings);
  try {
    assert.equal(first.loaded, false);
    assert.deepEqual(first.arch, { kind: 'conv', filters: [2, 3] });
    const second = await ensureConvTeacher(cfg, settings);
    assert.equal(second.loaded, true);
    assert.equal(second.checkpointDir, first.checkpointDir);
    second.model.getWeights().forEach((w, i) => assert.deepEqual(Array.from(w.dataSync()), Array.from(first.model.getWeights()[i].dataSync())));
    const other = await ensureConvTeacher(cfg, { ...settings, epochs: 2 });
    assert.notEqual(other.checkpointDir, first.checkpointDir, 'another configuration, another checkpoint');
    for (const t of [second, other]) {
      t.model.dispose();
      fs.rmSync(t.checkpointDir, { recursive: true, force: true });
    }
  } finally {
    first.model.dispose();
    fs.rmSync(first.checkpointDir, { recursive: true, force: true });
  }
});
