import * as tf from '@tensorflow/tfjs';
import { dropoutNative } from './native';
import { heapView, registerKernelWithSavedGradient, type WasmHeapBackend } from './wasm-heap';

/**
 * Inverted dropout as one kernel on the wasm backend: y = x · m / (1 − rate) with a keep mask m
 * drawn from a counter-based hash of (seed, element index), and the scaled mask kept as a second
 * output for the backward pass (dx = dy · mask, one multiply).
 *
 * Why: tf.dropout draws its mask with tfjs's seeded JavaScript generator one number at a time
 * and then applies it with four element-wise kernels: about 10 ms for one 128 × 1200 layer, which
 * made dropout most of the teacher's training step once the matmuls ran on OpenBLAS. Hashing the
 * index is a few nanoseconds per element and needs no generator state, so a step's masks depend
 * only on its seed (the training loop reseeds every step from run seed, epoch and step, which
 * keeps same seed => same digits and bit-exact resume).
 *
 * The masks differ from tf.dropout's for the same seed (another generator), with the same
 * distribution: tests/kd/dropout.test.ts checks the keep rate, the scaling, independence across
 * seeds and the gradient.
 */

export const FUSED_DROPOUT = 'KdlabDropout';

/** lowbias32 (C. Wellons' integer hash): well-mixed 32-bit output for consecutive inputs. */
function hash32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** What a mask depends on: keep when hash ≥ threshold, the kept scale, the seed's key. */
export function maskParameters(rate: number, seed: number): { threshold: number; scale: number; key: number } {
  return { threshold: Math.floor(rate * 4294967296), scale: 1 / (1 - rate), key: hash32(seed >>> 0 ^ 0x5bd1e995) };
}

/**
 * Writes the scaled keep mask (0 or 1 / (1 − rate)) for `n` elements into `mask` and x · mask
 * into `y`. Element i is kept when hash(key + i · golden) ≥ rate · 2³².
 */
export function dropoutMask(x: ArrayLike<number>, rate: number, seed: number, y: Float32Array, mask: Float32Array): void {
  const { threshold, scale, key } = maskParameters(rate, seed);
  for (let i = 0; i < mask.length; i++) {
    const keep = hash32((key + Math.imul(i, 0x9e3779b9)) >>> 0) >= threshold;
    const m = keep ? scale : 0;
    mask[i] = m;
    y[i] = x[i] * m;
  }
}

function dropoutKernel({ inputs, attrs, backend }: { inputs: tf.NamedTensorInfoMap; attrs?: tf.NamedAttrMap; backend: object }): tf.TensorInfo[] {
  const b = backend as unknown as WasmHeapBackend;
  const { x } = inputs as { x: tf.TensorInfo };
  const { rate, seed } = attrs as unknown as { rate: number; seed: number };
  const n = x.shape.reduce((a, d) => a * d, 1);
  const y = b.makeOutput(x.shape, 'float32');
  const mask = b.makeOutput(x.shape, 'float32');
  if (dropoutNative(b, x, y, mask, n, maskParameters(rate, seed))) return [y, mask];
  // Views only after the last allocation: a growing heap detaches older ones.
  dropoutMask(heapView(b, x, n, FUSED_DROPOUT), rate, seed, heapView(b, y, n, FUSED_DROPOUT), heapView(b, mask, n, FUSED_DROPOUT));
  return [y, mask];
}

let installed = false;
let enabled = true;

/** Switches the fused dropout off (tf.dropout) or back on: benchmarks time both. */
export function setFusedDropout(on: boolean): void {
  enabled = on;
}

/** Registers the kernel and its gradient on the wasm backend; idempotent. */
export function installFusedDropout(): void {
  if (installed) return;
  installed = true;
  // Outputs [y, scaled mask]: dx = dy · mask.
  registerKernelWithSavedGradient(FUSED_DROPOUT, dropoutKernel, 'x', 2, 1);
}

/**
 * Training-mode dropout with rate in (0, 1): the fused kernel on the wasm backend, tf.dropout
 * elsewhere. `seed` is the layer's per-step seed (a non-negative integer); without one a random
 * seed is drawn, as tf.dropout does.
 */
export function dropout(x: tf.Tensor, rate: number, seed: number | undefined): tf.Tensor {
  if (!installed || !enabled || tf.getBackend() !== 'wasm' || x.dtype !== 'float32') return tf.dropout(x, rate, undefined, seed);
  const s = seed ?? Math.floor(Math.random() * 2147483647);
  const [y, mask] = tf.engine().runKernel(FUSED_DROPOUT, { x }, { rate, seed: s }) as tf.Tensor[];
  mask.dispose();
  return y;
}
