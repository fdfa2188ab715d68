import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../lib/src/backend';
import { nativeKernelNames, setNativeKernels } from '../../lib/src/kernels/native';
import { rng } from './reference';
import { onCpu } from './backends';

/**
 * The wasm step kernels (lib/src/kernels/step-kernels-wasm.ts): Identity shares its input's
 * buffer, Sum over every axis but the last is the float64 column sum rounded once, and
 * LeakyRelu and its gradient give the cpu backend's values bit for bit, on pure wasm and on the
 * native kernels alike.
 */

function values(shape: number[], seed: number): Float32Array {
  const r = rng(seed);
  // Exact zeros and both signs, as activations have.
  return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => (i % 7 === 0 ? 0 : (r() - 0.5) * 6));
}


/** Runs `f` on pure wasm and, where built, on the native kernels; puts the previous state back. */
async function onEachWasmPath(f: (path: string) => Promise<void> | void): Promise<void> {
  const nativeWas = nativeKernelNames().length > 0;
  try {
    setNativeKernels(false);
    await f('wasm');
    if (setNativeKernels(true)) await f('native');
  } finally {
    setNativeKernels(nativeWas);
  }
}

async function wasmOrSkip(t: { skip: (why: string) => void }): Promise<boolean> {
  await initBackend({ quiet: true });
  if (tf.getBackend() !== 'wasm') {
    t.skip(`backend ${tf.getBackend()} is not wasm`);
    return false;
  }
  return true;
}

test('Identity on wasm shares the buffer: a clone outlives its source, and nothing leaks', async (t) => {
  if (!(await wasmOrSkip(t))) return;
  const before = tf.memory();
  const x = tf.tensor2d([1, -2, 3, 4], [2, 2]);
  const y = tf.clone(x);
  assert.equal(y.dataId, x.dataId, 'the clone shares the buffer');
  assert.equal(tf.memory().numDataBuffers, before.numDataBuffers + 1, 'one buffer for both tensors');
  x.dispose();
  assert.deepEqual(Array.from(y.dataSync()), [1, -2, 3, 4]);
  y.dispose();
  assert.equal(tf.memory().numTensors, before.numTensors);
  assert.equal(tf.memory().numDataBuffers, before.numDataBuffers);
});

test('Sum over every axis but the last: the float64 column sum rounded once, keepDims, other axes unchanged', async (t) => {
  if (!(await wasmOrSkip(t))) return;
  const cases: { shape: number[]; axis: number[]; keepDims?: boolean }[] = [
    { shape: [37, 5], axis: [0] },
    { shape: [3, 4, 5, 7], axis: [0, 1, 2] },
    { shape: [3, 4, 5, 7], axis: [-4, -3, -2], keepDims: true },
    { shape: [0, 6], axis: [0] },
    { shape: [4, 0], axis: [0] },
    { shape: [3, 4, 5], axis: [1] }, // not leading axes: the wasm kernel
    { shape: [3, 4, 5], axis: [0, 1, 2] },
  ];
  await onEachWasmPath(async (path) => {
    for (const [k, c] of cases.entries()) {
      const data = values(c.shape, 10 + k);
      const got = tf.tidy(() => tf.sum(tf.tensor(data, c.shape), c.axis, c.keepDims));
      const want = await onCpu(() => tf.tidy(() => tf.sum(tf.tensor(data, c.shape), c.axis, c.keepDims)));
      assert.deepEqual(got.shape, want.shape, `${path} ${JSON.stringify(c)}: shape`);
      const g = got.dataSync();
      const w = want.dataSync();
      const leading = c.axis.length === c.shape.length - 1 && c.axis.every((a, i) => (a < 0 ? a + c.shape.length : a) === i);
      if (leading) {
        // Independent reference: each column summed in float64, rounded once.
        const cols = c.shape[c.shape.length - 1];
        const exact = new Float64Array(cols);
        data.forEach((v, i) => (exact[i % cols] += v));
        assert.deepEqual(Array.from(g), Array.from(Float32Array.from(exact)), `${path} ${JSON.stringify(c)}`);
      }
      g.forEach((v, i) => assert.ok(Math.abs(v - w[i]) <= 1e-5 * (1 + Math.abs(w[i])), `${path} ${JSON.stringify(c)} [${i}]: ${v} vs cpu ${w[i]}`));
      tf.dispose([got, want]);
    }
  });
});

test('the LeakyRelu gradient on wasm (both paths) equals the cpu backend and LeakyRelu on native the wasm kernel, bit for bit', async (t) => {
  if (!(await wasmOrSkip(t))) return;
  const shape = [3, 5, 5, 7];
  const x0 = values(shape, 3);
  const dy0 = values(shape, 4);
  const run = () =>
    tf.tidy(() => {
      const x = tf.tensor(x0, shape);
      const dy = tf.tensor(dy0, shape);
      const y = tf.leakyRelu(x, 0.2);
      const dx = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.leakyRelu(v, 0.2), dy)))(x);
      return [Array.from(y.dataSync()), Array.from(dx.dataSync())];
    });
  const [, dxCpu] = await onCpu(run);
  const baseline = tf.memory().numTensors;
  let yWasm: number[] = [];
  await onEachWasmPath((path) => {
    const [y, dx] = run();
    // 0 and −0 compare equal; every other value must be the same float. The forward pass: the
    // cpu backend multiplies by alpha in float64, tfjs-wasm by float32(alpha), and the native
    // kernel is held to wasm's (the two training paths must agree), checked against the
    // product rounded once.
    if (path === 'wasm') yWasm = y;
    else y.forEach((v, i) => assert.ok(v === yWasm[i], `${path} leakyRelu [${i}]: ${v} vs wasm ${yWasm[i]}`));
    y.forEach((v, i) => assert.ok(v === (x0[i] > 0 ? x0[i] : Math.fround(Math.fround(0.2) * x0[i])), `${path} leakyRelu [${i}]`));
    dx.forEach((v, i) => assert.ok(v === dxCpu[i], `${path} gradient [${i}]: ${v} vs ${dxCpu[i]}`));
  });
  assert.equal(tf.memory().numTensors, baseline);
});

test('a notebook that patches Array.prototype.every cannot change which Sum runs', async (t) => {
  if (!(await wasmOrSkip(t))) return;
  const x = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
  const real = Array.prototype.every;
  // What a graded student's cell did (tests/homework/grade-hw1.test.ts): every() always true.
  Array.prototype.every = function (): boolean {
    return true;
  };
  let rows: number[];
  try {
    rows = tf.tidy(() => Array.from(tf.sum(x, 1).dataSync()));
  } finally {
    Array.prototype.every = real;
  }
  x.dispose();
  assert.deepEqual(rows, [6, 15], 'row sums, not the column sums of the leading-axes kernel');
});
