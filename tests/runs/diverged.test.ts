import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../lib/src/backend';
import { resolveData } from '../../lib/src/data';
import { tmp, withStore } from './helpers';
import { runKey, type RunSpec } from '../../lib/src/runs/spec';
import { runAll } from '../../lib/src/runs/pool';
import { loadRunModel, readRun } from '../../lib/src/runs/store';
import { runsFrame } from '../../lib/src/runs/frame';

// A search may hold a setting that diverges (07's momentum SGD at step 0.8 does for the student
// distilled at T = 20). runAll either stops with the run's name and the fix, or, asked to keep
// it, returns it as an outcome that never wins a choice by fewest errors and never loads a model.

process.env.KDLAB_CACHE_DIR ??= tmp('cache');

const data = { validationSize: 500, splitSeed: 3, pool: 1200 };
// A step of 1e20: the first epoch's loss is not finite on any backend.
const diverging: RunSpec = {
  label: 'sgd 1e20', data, model: { kind: 'mlp', hidden: [32] }, objective: { objective: 'hard' },
  optimizer: { name: 'sgd', learningRate: 1e20 }, budget: { epochs: 2 }, batchSize: 100, seed: 0,
  record: { test: true, fit: true, weights: true, valCurve: true },
};
const stable: RunSpec = { ...diverging, label: 'adam', optimizer: { name: 'adam' }, budget: { epochs: 1 } };
const isDiverged = (pattern: RegExp) => (e: Error & { code?: string }) => e.code === 'TRAINING_DIVERGED' && pattern.test(e.message);

test('without keepDiverged a diverging run stops runAll naming the run, the epoch and the fix, and is not stored', async () => {
  await initBackend({ quiet: true });
  await withStore(tmp('runs'), async () => {
    await assert.rejects(runAll([diverging], { workers: 0 }), isDiverged(/"sgd 1e20".*diverged in epoch 1.*lower its learning rate.*keepDiverged/));
    assert.equal(readRun(runKey(diverging)), null);
  });
});

test('with keepDiverged it is an outcome: every image an error, no model, the same in a worker, read back on a rerun', async () => {
  await initBackend({ quiet: true });
  const before = tf.memory().numTensors;
  const sets = resolveData(data);
  const store = tmp('runs');
  await withStore(store, async () => {
    const [bad, good] = await runAll([diverging, stable], { workers: 0, keepDiverged: true });
    assert.equal(tf.memory().numTensors, before, 'tensors left after a diverged run');
    assert.deepEqual(bad.diverged?.epoch, 1);
    assert.ok(['NaN', 'Infinity', '-Infinity'].includes(bad.diverged?.loss ?? ''), `loss as text: ${bad.diverged?.loss}`);
    assert.deepEqual(bad.history, []);
    assert.equal(bad.steps, Math.ceil(1200 / 100), 'the whole first epoch was stepped');
    assert.equal(bad.validation.errors, sets.validation.size);
    assert.equal(bad.validation.accuracy, 0);
    assert.equal(bad.validation.errorsByClass.reduce((a, b) => a + b, 0), sets.validation.size);
    assert.equal(bad.test?.errors, sets.test.size);
    assert.equal(bad.fit, null);
    assert.equal(bad.weightsHash, undefined);
    assert.equal(good.diverged, undefined);
    // Fewest validation errors never picks it while another setting trained.
    assert.ok(good.validation.errors < bad.validation.errors);
    const rows = runsFrame([bad, good]);
    assert.deepEqual(rows.column('diverged').values, [true, false]);
    assert.deepEqual(rows.column('valErrors').values, [null, good.validation.errors]);
    await assert.rejects(loadRunModel(bad), isDiverged(/diverged in epoch 1: it has no model/));

    const [again] = await runAll([diverging], { workers: 0, keepDiverged: true });
    assert.equal(again.cached, true);
    assert.deepEqual(again.diverged, bad.diverged);
    // Stored, it still stops a caller that did not ask for it.
    await assert.rejects(runAll([diverging], { workers: 0 }), isDiverged(/diverged in epoch 1/));

    const [inWorker] = await withStore(tmp('runs'), () => runAll([diverging], { workers: 1, keepDiverged: true }));
    assert.equal(inWorker.cached, false);
    assert.deepEqual([inWorker.diverged, inWorker.steps, inWorker.validation], [bad.diverged, bad.steps, bad.validation]);
  });
});
