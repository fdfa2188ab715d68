import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../lib/src/backend';
import { setNativeKernels } from '../../lib/src/kernels/native';
import { createConvNet } from '../../lib/src/models';
import { trainableVariables, trainingForward, trainingForwardWithFeatures } from '../../lib/src/train/forward';
import { forwardWithFeatures } from '../../lib/src/models';
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

test('conv training forward: model.apply\'s logits, hidden representations and gradients, without the pixels\' gradient', async (t) => {
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
  // The feature objectives' side: the same hidden representations, and the same gradients of a
  // loss on the last one.
  const featurePlan = trainingForwardWithFeatures(model);
  const featureLayers = (v: tf.Tensor2D) => forwardWithFeatures(model, v, { training: true });
  const feats = [featurePlan, featureLayers].map((f) => tf.tidy(() => f(x).features.map((h) => Array.from(h.dataSync()))));
  assert.equal(feats[0].length, feats[1].length, 'as many hidden representations');
  feats[0].forEach((h, i) => close(h, feats[1][i], `hidden representation ${i}`));
  const featureGrads = (f: (v: tf.Tensor2D) => { features: tf.Tensor[] }) => {
    const { value, grads } = tf.variableGrads(() => {
      const last = f(x).features.at(-1) as tf.Tensor;
      return tf.sum(tf.mul(last, last)) as tf.Scalar;
    }, vars.slice(0, 4));
    const out = vars.slice(0, 4).map((v) => Array.from(grads[v.name].dataSync()));
    value.dispose();
    tf.dispose(grads);
    return out;
  };
  const ga = featureGrads(featurePlan);
  const gb = featureGrads(featureLayers);
  ga.forEach((g, i) => close(g, gb[i], `feature-loss gradient ${i}`));
  assert.equal(tf.memory().numTensors, baseline, 'no tensors left behind');
  tf.dispose([x, target]);
  model.dispose();
});
