import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../lib/src/backend';
import { setNativeKernels } from '../../lib/src/kernels/native';
import { createConvNet } from '../../lib/src/models';
import { trainableVariables, trainingForward } from '../../lib/src/train/forward';
import { rng } from './reference';

/**
 * The conv nets' training forward pass on the native kernels (lib/src/train/conv-forward.ts):
 * the same logits and the same gradients as model.apply in training mode, one input gradient
 * fewer (the pixels'), and no tensors left behind.
 */

function close(a: ArrayLike<number>, b: ArrayLike<number>, what: string): void {
  assert.equal(a.length, b.length, `${what}: length`);
  let scale = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  for (let i = 0; i < b.length; i++) {
    assert.ok(Math.abs(a[i] - b[i]) <= 1e-5 * (1 + scale), `${what} [${i}]: ${a[i]} vs ${b[i]}`);
  }
}

test('conv training forward: model.apply\'s logits and gradients, without the pixels\' gradient', async (t) => {
  await initBackend({ quiet: true });
  if (tf.getBackend() !== 'wasm' || !setNativeKernels(true)) {
    t.skip('the conv ops run on the native kernels only (elsewhere trainingForward is model.apply)');
    return;
  }
  const model = createConvNet({ filters: [5, 7], seed: 3 });
  const r = rng(9);
  const x = tf.tensor2d(Float32Array.from({ length: 6 * 784 }, () => r()), [6, 784]);
  const target = tf.tensor2d(Float32Array.from({ length: 60 }, () => r() - 0.5), [6, 10]);
  const vars = trainableVariables(model);
  const baseline = tf.memory().numTensors;
  const viaPlan = trainingForward(model);
  const viaLayers = (v: tf.Tensor2D) => model.apply(v, { training: true }) as tf.Tensor2D;
  const run = (f: (v: tf.Tensor2D) => tf.Tensor2D) => {
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(f(x), target)) as tf.Scalar, vars);
    const out = { loss: value.dataSync()[0], grads: vars.map((v) => Array.from(grads[v.name].dataSync())) };
    value.dispose();
    tf.dispose(grads);
    return out;
  };
  const logits = [viaPlan, viaLayers].map((f) => tf.tidy(() => Array.from(f(x).dataSync())));
  close(logits[0], logits[1], 'logits');
  const a = run(viaPlan);
  const b = run(viaLayers);
  close([a.loss], [b.loss], 'loss');
  vars.forEach((v, i) => close(a.grads[i], b.grads[i], `gradient of ${v.name}`));
  const backpropInputs = async (f: (v: tf.Tensor2D) => tf.Tensor2D) =>
    (await tf.profile(() => run(f))).kernels.filter((k) => k.name === 'Conv2DBackpropInput').length;
  assert.equal(await backpropInputs(viaPlan), 1, 'only the second convolution needs an input gradient');
  assert.equal(await backpropInputs(viaLayers), 2, 'tfjs\'s fused op computes the pixels\' gradient too');
  assert.equal(tf.memory().numTensors, baseline, 'no tensors left behind');
  tf.dispose([x, target]);
  model.dispose();
});
