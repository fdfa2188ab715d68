import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../lib/src/backend';
import { setNativeKernels } from '../../lib/src/kernels/native';
import { resolveObjective } from '../../lib/src/losses';
import { createStudent } from '../../lib/src/models';
import { setDirectMlpStep } from '../../lib/src/train/direct-step';
import { trainableVariables } from '../../lib/src/train/forward';
import { Optimizer } from '../../lib/src/train/optimizer';
import { createTrainStep } from '../../lib/src/train/step';
import { rng } from './reference';

/**
 * The MLP step without a gradient tape (lib/src/train/direct-step.ts) against the taped step:
 * the same weights bit for bit after several Adam steps, the same losses and hits, for hard
 * labels and KD, and no tensors left behind.
 */

function batches(n: number, rows: number, seed: number) {
  const r = rng(seed);
  return Array.from({ length: n }, () => {
    const labels = Int32Array.from({ length: rows }, () => Math.floor(r() * 10));
    const oneHot = new Float32Array(rows * 10);
    labels.forEach((l, i) => (oneHot[i * 10 + l] = 1));
    return {
      x: Float32Array.from({ length: rows * 784 }, () => (r() < 0.7 ? 0 : r())),
      labels,
      oneHot,
      teacher: Float32Array.from({ length: rows * 10 }, () => (r() - 0.5) * 8),
    };
  });
}

for (const objective of [{ objective: 'hard' as const }, { objective: 'kd' as const, temperature: 4, alpha: 0.7 }]) {
  test(`direct MLP step (${objective.objective}): the taped step's weights, losses and hits, bit for bit`, async (t) => {
    await initBackend({ quiet: true });
    if (tf.getBackend() !== 'wasm' || !setNativeKernels(true)) {
      t.skip('the direct step runs on the native kernels only');
      return;
    }
    const data = batches(4, 33, 5);
    const run = (direct: boolean) => {
      setDirectMlpStep(direct);
      try {
        const model = createStudent({ hidden: [40, 24], seed: 2 });
        const opt = new Optimizer({ name: 'adam', learningRate: 0.01 });
        const step = createTrainStep(model, opt, resolveObjective(objective));
        let baseline = -1;
        const seen: number[] = [];
        for (const d of data) {
          const b = {
            x: tf.tensor2d(d.x, [33, 784]), oneHot: tf.tensor2d(d.oneHot, [33, 10]),
            labels: tf.tensor1d(d.labels, 'int32'), teacher: tf.tensor2d(d.teacher, [33, 10]),
          };
          const out = step(b);
          seen.push(out.loss.dataSync()[0], out.correct.dataSync()[0]);
          tf.dispose([out.loss, out.correct, b.x, b.oneHot, b.labels, b.teacher]);
          // After the first step: the optimizer's moments exist from then on.
          if (baseline < 0) baseline = tf.memory().numTensors;
        }
        assert.equal(tf.memory().numTensors, baseline, `${direct ? 'direct' : 'taped'} step leaves no tensors`);
        const weights = trainableVariables(model).map((v) => Array.from(v.dataSync()));
        opt.dispose();
        model.dispose();
        return { seen, weights };
      } finally {
        setDirectMlpStep(true);
      }
    };
    const direct = run(true);
    const taped = run(false);
    assert.deepEqual(direct.seen, taped.seen, 'losses and hits');
    direct.weights.forEach((w, i) => assert.deepEqual(w, taped.weights[i], `variable ${i}`));
  });
}
