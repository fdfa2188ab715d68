import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../lib/src/backend';
import { setNativeKernels } from '../../lib/src/kernels/native';
import { createStudent } from '../../lib/src/models';
import { Optimizer } from '../../lib/src/train/optimizer';
import { trainableVariables } from '../../lib/src/train/forward';
import { rng } from './reference';

/**
 * The optimizer writes over a variable's buffer (and Adam's moments) when nothing else shares it
 * and no XNNPACK operator has cached it (kernels/optimizer-wasm.ts fusedUpdate): the same digits
 * as new buffers, a clone the caller keeps never changes, and a model that pure wasm has run
 * (XNNPACK packed its weights) is never updated in place afterwards, so its cached operators
 * cannot go stale.
 */

function gradientsFor(vars: tf.Variable[], seed: number): tf.Tensor[] {
  const r = rng(seed);
  return vars.map((v) => tf.tensor(Float32Array.from({ length: v.size }, () => r() - 0.5), v.shape));
}

function steps(opt: Optimizer, vars: tf.Variable[], n: number, seed: number): void {
  for (let s = 0; s < n; s++) {
    const g = gradientsFor(vars, seed + s);
    opt.step(vars, g);
    tf.dispose(g);
  }
}

async function nativeOrSkip(t: { skip: (why: string) => void }): Promise<boolean> {
  await initBackend({ quiet: true });
  if (tf.getBackend() !== 'wasm' || !setNativeKernels(true)) {
    t.skip('needs the native kernels (the in-place rule only lets them write over weights)');
    return false;
  }
  return true;
}

for (const name of ['adam', 'momentum', 'sgd'] as const) {
  test(`${name}: in place on native, the same digits as new buffers, and a kept clone unchanged`, async (t) => {
    if (!(await nativeOrSkip(t))) return;
    const a = createStudent({ hidden: [12], seed: 4 });
    const b = createStudent({ hidden: [12], seed: 4 });
    const va = trainableVariables(a);
    const vb = trainableVariables(b);
    const optA = new Optimizer({ name, learningRate: 0.05 });
    const optB = new Optimizer({ name, learningRate: 0.05 });
    steps(optA, va, 1, 1);
    steps(optB, vb, 1, 1);
    const ids = va.map((v) => v.dataId);
    // Clones share b's buffers, so b is updated into new buffers from here on.
    const kept = vb.map((v) => tf.clone(v));
    const keptValues = kept.map((k) => Array.from(k.dataSync()));
    steps(optA, va, 3, 2);
    steps(optB, vb, 3, 2);
    assert.deepEqual(va.map((v) => v.dataId), ids, 'a: every variable updated in its own buffer');
    assert.ok(vb.every((v, i) => v.dataId !== kept[i].dataId), 'b: new buffers while a clone shares them');
    kept.forEach((k, i) => assert.deepEqual(Array.from(k.dataSync()), keptValues[i], `kept clone ${i} unchanged`));
    va.forEach((v, i) => assert.deepEqual(Array.from(v.dataSync()), Array.from(vb[i].dataSync()), `variable ${i}: same digits`));
    tf.dispose(kept);
    for (const o of [optA, optB]) o.dispose();
    a.dispose();
    b.dispose();
  });
}

test('weights XNNPACK has packed (the model ran on pure wasm) are never overwritten: predictions stay right', async (t) => {
  if (!(await nativeOrSkip(t))) return;
  const model = createStudent({ hidden: [16], seed: 5 });
  const vars = trainableVariables(model);
  const opt = new Optimizer({ name: 'adam', learningRate: 0.05 });
  const x = tf.tensor2d(Float32Array.from({ length: 3 * 784 }, (_, i) => (i % 13) / 13), [3, 784]);
  try {
    steps(opt, vars, 1, 7);
    setNativeKernels(false);
    (model.predict(x) as tf.Tensor).dispose(); // XNNPACK packs the current weights
    const seen = vars.map((v) => v.dataId);
    setNativeKernels(true);
    steps(opt, vars, 1, 8);
    assert.ok(vars.every((v, i) => v.dataId !== seen[i]), 'packed buffers are replaced, not overwritten');
    setNativeKernels(false);
    const logits = () => tf.tidy(() => Array.from((model.predict(x) as tf.Tensor).dataSync()));
    const wasm = logits();
    setNativeKernels(true);
    const native = logits();
    wasm.forEach((v, i) => assert.ok(Math.abs(v - native[i]) < 1e-4, `logit ${i}: pure wasm ${v} vs native ${native[i]} (stale packed weights?)`));
  } finally {
    setNativeKernels(true);
    x.dispose();
    opt.dispose();
    model.dispose();
  }
});
