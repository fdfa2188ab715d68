import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initBackend } from '../../lib/src/backend';
import { teacherLogitsCached } from '../../lib/src/cache';
import { saveCheckpoint } from '../../lib/src/checkpoint';
import { loadSplits, take } from '../../lib/src/data';
import * as tf from '@tensorflow/tfjs';
import { compareOverSeeds, trainSeedPair } from '../../lib/src/headline';
import { evaluate } from '../../lib/src/evaluate';
import { methodRunDir } from '../../lib/src/methods';
import { train } from '../../lib/src/train';
import { withBlasThreads } from '../../lib/src/kernels/native';
import { WORKER_BLAS_THREADS } from '../../lib/src/grid';
import { createStudent } from '../../lib/src/models';

process.env.KDLAB_CACHE_DIR ??= fs.mkdtempSync(path.join(os.tmpdir(), 'kdlab-cache-'));

/**
 * A slice of the training split, an untrained "teacher" (its logits only need to be fixed numbers)
 * saved as a checkpoint with its cached logits, and the inWorkers options that point at them.
 */
async function workerFixture(prefix: string, trainSize: number, teacherSeed: number) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const splits = loadSplits({ validationSize: 5000, seed: 0 });
  const data = { ...splits, train: take(splits.train, trainSize) };
  const teacher = createStudent({ hidden: [32], seed: teacherSeed });
  const soft = teacherLogitsCached(teacher, data.train);
  const checkpointDir = path.join(dir, 'teacher');
  await saveCheckpoint(checkpointDir, { model: teacher });
  teacher.dispose();
  const inWorkers = {
    resultsFile: path.join(dir, 'headline.jsonl'),
    teacher: { arch: { kind: 'mlp' as const, hidden: [32] }, checkpointDir, logits: { file: soft.file, key: soft.key } },
    trainSize, validationSize: 5000, splitSeed: 0,
  };
  return { data, soft, inWorkers };
}

test('compareOverSeeds in worker processes gives the digits of the in-process path at the same BLAS thread count, and a rerun reads them back', async () => {
  await initBackend({ quiet: true });
  const { data, soft, inWorkers } = await workerFixture('kdlab-headline-', 400, 123);
  const common = { data, hidden: [8], seeds: [0, 1], epochs: 1, batchSize: 64, distill: { teacherLogits: soft, temperature: 4, alpha: 0.5 } };
  const here = await withBlasThreads(WORKER_BLAS_THREADS, () => compareOverSeeds(common));
  const there = await compareOverSeeds({ ...common, inWorkers });
  assert.deepEqual(there.runs, here.runs);
  assert.equal(fs.readFileSync(inWorkers.resultsFile, 'utf8').trim().split('\n').length, 4, 'two seeds × (scratch, kd)');
  const before = fs.statSync(inWorkers.resultsFile).mtimeMs;
  const again = await compareOverSeeds({ ...common, inWorkers });
  assert.deepEqual(again.runs, here.runs);
  assert.equal(fs.statSync(inWorkers.resultsFile).mtimeMs, before, 'nothing trained or written on the rerun');
  await assert.rejects(compareOverSeeds({ ...common, inWorkers: { ...inWorkers, trainSize: 300 } }), /trainSize is 300 but data.train has 400/);
});

test('trainSeedPair: both students trained at once in workers equal in-process training (weights, per-epoch validation), stream their epochs, resume, and are read back', async () => {
  await initBackend({ quiet: true });
  const { data, soft, inWorkers } = await workerFixture('kdlab-pair-', 300, 321);
  const distill = { teacherLogits: soft, temperature: 4, alpha: 0.5 };
  const options = { data, hidden: [8], seed: 3, epochs: 2, batchSize: 64, distill, inWorkers };
  const baseline = tf.memory().numTensors;
  const epochs: string[] = [];
  const pair = await trainSeedPair({ ...options, onEpoch: (student, r) => epochs.push(`${student} ${r.epoch}`) });
  assert.deepEqual(epochs.sort(), ['distilled 1', 'distilled 2', 'scratch 1', 'scratch 2']);

  // The same students trained here, at the workers' BLAS thread count.
  for (const [name, loss] of [['scratch', 'hard'], ['distilled', distill]] as const) {
    const model = createStudent({ hidden: [8], seed: 3 });
    const here = await withBlasThreads(WORKER_BLAS_THREADS, () =>
      train(model, { train: data.train, validation: data.validation, epochs: 2, batchSize: 64, seed: 3, loss }));
    const kept = pair[name];
    assert.deepEqual(kept.result.history.map((r) => [r.epoch, r.loss, r.valAccuracy]), here.history.map((r) => [r.epoch, r.loss, r.valAccuracy]), name);
    assert.deepEqual(kept.result.last?.epoch, 2);
    assert.equal(kept.score.valAccuracy, here.last?.valAccuracy);
    assert.equal(kept.score.testErrors, evaluate(model, data.test).errors);
    const same = model.getWeights().every((w, i) => tf.tidy(() => tf.max(tf.abs(tf.sub(w, kept.model.getWeights()[i]))).dataSync()[0]) === 0);
    assert.ok(same, `${name}: the loaded weights are the worker's`);
    model.dispose();
  }
  pair.scratch.model.dispose();
  pair.distilled.model.dispose();
  assert.equal(tf.memory().numTensors, baseline, 'loaded students disposed, nothing left behind');

  // A rerun loads both; compareOverSeeds finds the seed in the same file.
  const before = fs.statSync(inWorkers.resultsFile).mtimeMs;
  const again = await trainSeedPair(options);
  const seeds = await compareOverSeeds({ data, hidden: [8], seeds: [3], epochs: 2, batchSize: 64, distill, inWorkers });
  assert.equal(fs.statSync(inWorkers.resultsFile).mtimeMs, before, 'nothing trained on the rerun');
  assert.deepEqual(seeds.runs[0].distilled, again.distilled.score);
  again.scratch.model.dispose();
  again.distilled.model.dispose();

  // A student whose checkpoint is gone is trained again, to the same digits.
  const rows = fs.readFileSync(inWorkers.resultsFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { key: string; method: string; seed: number });
  const scratchKey = rows.find((r) => r.method === 'scratch' && r.seed === 3)?.key as string;
  fs.rmSync(methodRunDir(inWorkers.resultsFile, scratchKey), { recursive: true });
  const retrained = await trainSeedPair(options);
  assert.deepEqual(retrained.scratch.result.history.map((r) => r.loss), pair.scratch.result.history.map((r) => r.loss));
  retrained.scratch.model.dispose();
  retrained.distilled.model.dispose();
});
