/**
 * The fused dropout kernel the training forward pass uses on wasm (kernels/dropout-wasm.ts):
 * keep rate, scaling, seeding, independence, gradient; checked by counting, not by snapshots.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../lib/src/backend';
import { dropout, dropoutMask, FUSED_DROPOUT } from '../../lib/src/kernels/dropout-wasm';
import { setNativeKernels, withBlasThreads } from '../../lib/src/kernels/native';

test('dropout mask: keep rate within 5 sd of 1 − rate, kept values scaled by 1 / (1 − rate), pairs independent', () => {
  const n = 200_000;
  const x = new Float32Array(n).fill(2);
  for (const rate of [0.2, 0.5, 0.9]) {
    const y = new Float32Array(n);
    const mask = new Float32Array(n);
    dropoutMask(x, rate, 7, y, mask);
    let kept = 0;
    let bothKept = 0;
    for (let i = 0; i < n; i++) {
      const k = mask[i] !== 0;
      if (k) {
        kept++;
        assert.ok(Math.abs(mask[i] - 1 / (1 - rate)) < 1e-6 && Math.abs(y[i] - 2 / (1 - rate)) < 1e-5);
        if (i + 1 < n && mask[i + 1] !== 0) bothKept++;
      } else {
        assert.equal(y[i], 0);
      }
    }
    const p = 1 - rate;
    const sd = Math.sqrt((p * (1 - p)) / n);
    assert.ok(Math.abs(kept / n - p) < 5 * sd, `rate ${rate}: kept ${kept / n}, expected ${p} ± ${5 * sd}`);
    // Neighbours: P(both kept) = p² when the hash decorrelates consecutive indices.
    const pairSd = Math.sqrt((p * p * (1 - p * p)) / n);
    assert.ok(Math.abs(bothKept / (n - 1) - p * p) < 6 * pairSd, `rate ${rate}: neighbours both kept ${bothKept / (n - 1)} vs ${p * p}`);
  }
});

test('dropout mask: same seed, same mask; seeds 1 apart agree only by chance (about half the time at rate 0.5)', () => {
  const n = 100_000;
  const x = new Float32Array(n).fill(1);
  const masks = [5, 5, 6].map((seed) => {
    const y = new Float32Array(n);
    const m = new Float32Array(n);
    dropoutMask(x, 0.5, seed, y, m);
    return m;
  });
  assert.deepEqual(masks[0], masks[1]);
  let agree = 0;
  for (let i = 0; i < n; i++) if ((masks[0][i] !== 0) === (masks[2][i] !== 0)) agree++;
  const sd = Math.sqrt(0.25 / n);
  assert.ok(Math.abs(agree / n - 0.5) < 5 * sd, `agreement ${agree / n}`);
});

test('dropout op: gradient is the scaled mask, and no tensors leak', async () => {
  await initBackend({ quiet: true });
  const x = tf.randomNormal([64, 30], 0, 1, 'float32', 3);
  const before = tf.memory().numTensors;
  const { y, dx } = tf.tidy(() => {
    const g = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(dropout(v, 0.3, 11), tf.range(0, 64 * 30).reshape([64, 30]))));
    return { y: dropout(x, 0.3, 11).dataSync() as Float32Array, dx: g(x).dataSync() as Float32Array };
  });
  const xs = x.dataSync();
  for (let i = 0; i < xs.length; i++) {
    const m = y[i] === 0 ? 0 : 1 / 0.7;
    if (y[i] !== 0) assert.ok(Math.abs(y[i] - xs[i] / 0.7) < 1e-5);
    // d/dx_i Σ_j y_j · j = mask_i · i
    assert.ok(Math.abs(dx[i] - m * i) < 1e-3 * Math.max(1, i), `index ${i}: ${dx[i]} vs ${m * i}`);
  }
  assert.equal(tf.memory().numTensors, before);
  x.dispose();
});

test('dropout on the native kernels: the bits of the JavaScript loop, on 1 and 2 threads, for odd sizes, negative inputs and large seeds', async (t) => {
  await initBackend({ quiet: true });
  if (!setNativeKernels(true)) {
    t.skip('native kernels not built');
    return;
  }
  for (const threads of [1, 2]) {
    await withBlasThreads(threads, async () => {
      for (const [n, rate, seed] of [[70_001, 0.5, 0], [128 * 1200, 0.2, 2147483647], [1_001, 0.9, 12345], [200_003, 0.5, 4294967295]] as const) {
        const values = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) * 3);
        const y = new Float32Array(n);
        const mask = new Float32Array(n);
        dropoutMask(values, rate, seed, y, mask);
        const x = tf.tensor1d(values);
        const [yNative, maskNative] = tf.engine().runKernel(FUSED_DROPOUT, { x }, { rate, seed } as unknown as tf.NamedAttrMap) as tf.Tensor[];
        assert.deepEqual(new Uint32Array((yNative.dataSync() as Float32Array).buffer), new Uint32Array(y.buffer), `y, n ${n}, ${threads} threads`);
        assert.deepEqual(new Uint32Array((maskNative.dataSync() as Float32Array).buffer), new Uint32Array(mask.buffer), `mask, n ${n}, ${threads} threads`);
        tf.dispose([x, yNative, maskNative]);
      }
    });
  }
});
