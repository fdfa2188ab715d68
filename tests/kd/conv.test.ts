import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../lib/src/backend';
import { loadMnist, subset, type DigitSet } from '../../lib/src/data';
import { predictLogits } from '../../lib/src/evaluate';
import { setConv2DBackpropFilterChunk } from '../../lib/src/kernels/conv2d-backprop-filter';
import { stockWasmConv2DBackpropInput } from '../../lib/src/kernels/conv2d-backprop-input';
import { nativeKernelNames, setNativeKernels } from '../../lib/src/kernels/native';
import { createConvStudent, createConvTeacher } from '../../lib/src/models';
import { train } from '../../lib/src/train';
import { rng } from './reference';
import { onCpu } from './backends';

/**
 * The wasm Conv2DBackpropFilter kernel (lib/src/kernels/conv2d-backprop-filter.ts) against the
 * cpu backend's kernel and a float64 loop, on both wasm paths (XNNPACK and, where built, the
 * OpenBLAS matmul); conv2d gradients on wasm vs cpu; and conv training on wasm.
 */

type Pad = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];
interface Case {
  x: [number, number, number, number]; // NHWC or NCHW as dataFormat says
  filter: [number, number, number, number];
  strides: [number, number];
  pad: Pad;
  dataFormat: 'NHWC' | 'NCHW';
}

function outSize(n: number, f: number, s: number, pad: Pad, axis: 0 | 1): number {
  if (pad === 'same') return Math.ceil(n / s);
  if (pad === 'valid') return Math.ceil((n - f + 1) / s);
  const [a, b] = typeof pad === 'number' ? [pad, pad] : pad[axis + 1];
  return Math.floor((n + a + b - f) / s) + 1;
}

function padBefore(n: number, f: number, s: number, pad: Pad, axis: 0 | 1): number {
  if (pad === 'valid') return 0;
  if (typeof pad === 'number') return pad;
  if (pad !== 'same') return pad[axis + 1][0];
  const out = Math.ceil(n / s);
  return Math.floor(Math.max(0, (out - 1) * s + f - n) / 2);
}

const random = (n: number, seed: number): Float32Array => {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => r() * 2 - 1);
};

function shapesOf(c: Case): { dy: number[]; dims: { b: number; h: number; w: number; ci: number; oh: number; ow: number; co: number } } {
  const [fh, fw, ci, co] = c.filter;
  const nhwc = c.dataFormat === 'NHWC';
  const [b, h, w] = nhwc ? [c.x[0], c.x[1], c.x[2]] : [c.x[0], c.x[2], c.x[3]];
  const oh = outSize(h, fh, c.strides[0], c.pad, 0);
  const ow = outSize(w, fw, c.strides[1], c.pad, 1);
  return { dy: nhwc ? [b, oh, ow, co] : [b, co, oh, ow], dims: { b, h, w, ci, oh, ow, co } };
}

/** dW by its definition, in float64, independent of tfjs. */
function filterGrad64(c: Case, x: Float32Array, dy: Float32Array): Float64Array {
  const [fh, fw, ci, co] = c.filter;
  const { dims } = shapesOf(c);
  const nhwc = c.dataFormat === 'NHWC';
  const top = padBefore(dims.h, fh, c.strides[0], c.pad, 0);
  const left = padBefore(dims.w, fw, c.strides[1], c.pad, 1);
  const xi = (b: number, r: number, q: number, i: number) => (nhwc ? ((b * dims.h + r) * dims.w + q) * ci + i : ((b * ci + i) * dims.h + r) * dims.w + q);
  const di = (b: number, r: number, q: number, o: number) =>
    nhwc ? ((b * dims.oh + r) * dims.ow + q) * co + o : ((b * co + o) * dims.oh + r) * dims.ow + q;
  const dw = new Float64Array(fh * fw * ci * co);
  for (let r = 0; r < fh; r++)
    for (let q = 0; q < fw; q++)
      for (let i = 0; i < ci; i++)
        for (let o = 0; o < co; o++) {
          let s = 0;
          for (let b = 0; b < dims.b; b++)
            for (let y = 0; y < dims.oh; y++)
              for (let z = 0; z < dims.ow; z++) {
                const xr = y * c.strides[0] + r - top;
                const xc = z * c.strides[1] + q - left;
                if (xr < 0 || xr >= dims.h || xc < 0 || xc >= dims.w) continue;
                s += x[xi(b, xr, xc, i)] * dy[di(b, y, z, o)];
              }
          dw[((r * fw + q) * ci + i) * co + o] = s;
        }
  return dw;
}

function runFilterKernel(c: Case, x: Float32Array, dy: Float32Array): Float32Array {
  return tf.tidy(() => {
    const xt = tf.tensor4d(x, c.x);
    const dyt = tf.tensor4d(dy, shapesOf(c).dy as [number, number, number, number]);
    const attrs = { strides: c.strides, pad: c.pad, dataFormat: c.dataFormat, filterShape: c.filter } as unknown as tf.NamedAttrMap;
    const out = tf.engine().runKernel('Conv2DBackpropFilter', { x: xt, dy: dyt }, attrs) as tf.Tensor;
    assert.deepEqual(out.shape, c.filter);
    return out.dataSync() as Float32Array;
  });
}

/** dX by its definition, in float64. */
function inputGrad64(c: Case, w: Float32Array, dy: Float32Array): Float64Array {
  const [fh, fw, ci, co] = c.filter;
  const { dims } = shapesOf(c);
  const nhwc = c.dataFormat === 'NHWC';
  const top = padBefore(dims.h, fh, c.strides[0], c.pad, 0);
  const left = padBefore(dims.w, fw, c.strides[1], c.pad, 1);
  const xi = (b: number, r: number, q: number, i: number) => (nhwc ? ((b * dims.h + r) * dims.w + q) * ci + i : ((b * ci + i) * dims.h + r) * dims.w + q);
  const di = (b: number, r: number, q: number, o: number) =>
    nhwc ? ((b * dims.oh + r) * dims.ow + q) * co + o : ((b * co + o) * dims.oh + r) * dims.ow + q;
  const dx = new Float64Array(dims.b * dims.h * dims.w * ci);
  for (let b = 0; b < dims.b; b++)
    for (let y = 0; y < dims.oh; y++)
      for (let z = 0; z < dims.ow; z++)
        for (let r = 0; r < fh; r++)
          for (let q = 0; q < fw; q++) {
            const xr = y * c.strides[0] + r - top;
            const xc = z * c.strides[1] + q - left;
            if (xr < 0 || xr >= dims.h || xc < 0 || xc >= dims.w) continue;
            for (let i = 0; i < ci; i++)
              for (let o = 0; o < co; o++) dx[xi(b, xr, xc, i)] += w[((r * fw + q) * ci + i) * co + o] * dy[di(b, y, z, o)];
          }
  return dx;
}

function runInputKernel(c: Case, w: Float32Array, dy: Float32Array, kernel?: tf.KernelFunc): Float32Array {
  return tf.tidy(() => {
    const wt = tf.tensor4d(w, c.filter);
    const dyt = tf.tensor4d(dy, shapesOf(c).dy as [number, number, number, number]);
    const attrs = { strides: c.strides, pad: c.pad, dataFormat: c.dataFormat, inputShape: c.x } as unknown as tf.NamedAttrMap;
    if (kernel) {
      const info = kernel({ inputs: { dy: dyt, filter: wt }, backend: tf.backend(), attrs }) as tf.TensorInfo;
      return tf.engine().makeTensorFromTensorInfo(info).dataSync() as Float32Array;
    }
    const out = tf.engine().runKernel('Conv2DBackpropInput', { dy: dyt, filter: wt }, attrs) as tf.Tensor;
    assert.deepEqual(out.shape, c.x);
    return out.dataSync() as Float32Array;
  });
}


function close(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, rtol = 1e-4): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let scale = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]));
  for (let i = 0; i < expected.length; i++) {
    const tol = 1e-5 + rtol * Math.max(Math.abs(expected[i]), scale * 1e-2);
    assert.ok(Math.abs(actual[i] - expected[i]) <= tol, `${what}: index ${i}: ${actual[i]} vs ${expected[i]}`);
  }
}

const CASES: Case[] = [
  { x: [1, 5, 5, 1], filter: [3, 3, 1, 2], strides: [1, 1], pad: 'same', dataFormat: 'NHWC' },
  { x: [2, 7, 7, 3], filter: [3, 3, 3, 4], strides: [2, 2], pad: 'same', dataFormat: 'NHWC' },
  { x: [3, 9, 8, 2], filter: [3, 2, 2, 5], strides: [2, 2], pad: 'valid', dataFormat: 'NHWC' },
  { x: [2, 6, 7, 4], filter: [5, 5, 4, 3], strides: [1, 2], pad: 'same', dataFormat: 'NHWC' },
  { x: [1, 11, 11, 3], filter: [2, 2, 3, 6], strides: [3, 3], pad: 'valid', dataFormat: 'NHWC' },
  { x: [2, 5, 6, 2], filter: [3, 3, 2, 2], strides: [1, 1], pad: [[0, 0], [1, 2], [0, 1], [0, 0]], dataFormat: 'NHWC' },
  { x: [2, 7, 7, 3], filter: [3, 3, 3, 2], strides: [2, 2], pad: 1, dataFormat: 'NHWC' },
  { x: [2, 3, 7, 6], filter: [3, 3, 3, 4], strides: [2, 2], pad: 'same', dataFormat: 'NCHW' },
  { x: [1, 2, 6, 5], filter: [2, 3, 2, 3], strides: [1, 2], pad: 'valid', dataFormat: 'NCHW' },
  // The conv student's two layers on a small batch.
  { x: [4, 28, 28, 1], filter: [3, 3, 1, 16], strides: [2, 2], pad: 'same', dataFormat: 'NHWC' },
  { x: [4, 14, 14, 16], filter: [3, 3, 16, 32], strides: [2, 2], pad: 'same', dataFormat: 'NHWC' },
];

test('Conv2DBackpropFilter on wasm equals the cpu kernel and a float64 loop (shapes, strides, paddings, NHWC/NCHW, chunked)', async (t) => {
  await initBackend({ quiet: true });
  if (tf.getBackend() !== 'wasm') {
    t.skip(`backend ${tf.getBackend()} is not wasm`);
    return;
  }
  assert.ok(tf.getKernel('Conv2DBackpropFilter', 'wasm'), 'initBackend registers the kernel on wasm');
  const nativeWas = nativeKernelNames().length > 0;
  const paths = nativeWas ? [true, false] : [false];
  const inputs = CASES.map((c, k) => ({ x: random(c.x.reduce((a, b) => a * b, 1), 1000 + k), dy: random(shapesOf(c).dy.reduce((a, b) => a * b, 1), 2000 + k) }));
  const onCpuResults = await onCpu(() => CASES.map((c, k) => runFilterKernel(c, inputs[k].x, inputs[k].dy)));
  try {
    for (const native of paths) {
      setNativeKernels(native);
      for (const chunk of [undefined, 40]) {
        // 40 floats: one image per matrix product, so the per-chunk sums are exercised.
        const previous = setConv2DBackpropFilterChunk(chunk);
        try {
          const before = tf.memory().numTensors;
          CASES.forEach((c, k) => {
            const what = `${JSON.stringify(c)} native=${native} chunk=${chunk ?? 'default'}`;
            const got = runFilterKernel(c, inputs[k].x, inputs[k].dy);
            close(got, onCpuResults[k], `${what} vs cpu`);
            close(got, filterGrad64(c, inputs[k].x, inputs[k].dy), `${what} vs float64`);
          });
          assert.equal(tf.memory().numTensors, before, 'the kernel leaves no tensors');
        } finally {
          setConv2DBackpropFilterChunk(previous);
        }
      }
    }
  } finally {
    setNativeKernels(nativeWas);
  }
});

test('Conv2DBackpropInput (matmul + col2im) on wasm equals the cpu kernel, the stock wasm kernel and a float64 loop', async (t) => {
  await initBackend({ quiet: true });
  if (tf.getBackend() !== 'wasm') {
    t.skip(`backend ${tf.getBackend()} is not wasm`);
    return;
  }
  const stock = stockWasmConv2DBackpropInput();
  assert.ok(stock, 'initBackend replaced the stock kernel');
  const nativeWas = nativeKernelNames().length > 0;
  const inputs = CASES.map((c, k) => ({ w: random(c.filter.reduce((a, b) => a * b, 1), 6000 + k), dy: random(shapesOf(c).dy.reduce((a, b) => a * b, 1), 7000 + k) }));
  const cpu = await onCpu(() => CASES.map((c, k) => runInputKernel(c, inputs[k].w, inputs[k].dy)));
  try {
    for (const native of nativeWas ? [true, false] : [false]) {
      setNativeKernels(native);
      for (const chunk of [undefined, 40]) {
        const previous = setConv2DBackpropFilterChunk(chunk);
        try {
          const before = tf.memory().numTensors;
          CASES.forEach((c, k) => {
            const what = `${JSON.stringify(c)} native=${native} chunk=${chunk ?? 'default'}`;
            const got = runInputKernel(c, inputs[k].w, inputs[k].dy);
            close(got, cpu[k], `${what} vs cpu`);
            close(got, inputGrad64(c, inputs[k].w, inputs[k].dy), `${what} vs float64`);
            if (c.dataFormat === 'NHWC' && stock) close(got, runInputKernel(c, inputs[k].w, inputs[k].dy, stock), `${what} vs stock wasm`);
          });
          assert.equal(tf.memory().numTensors, before, 'the kernel leaves no tensors');
        } finally {
          setConv2DBackpropFilterChunk(previous);
        }
      }
    }
  } finally {
    setNativeKernels(nativeWas);
  }
});

test('tf.grad of conv2d (filter and input) on wasm equals cpu', async (t) => {
  await initBackend({ quiet: true });
  if (tf.getBackend() !== 'wasm') {
    t.skip(`backend ${tf.getBackend()} is not wasm`);
    return;
  }
  const cases = CASES.filter((c) => c.dataFormat === 'NHWC');
  const grads = () =>
    cases.map((c, k) =>
      tf.tidy(() => {
        const x = tf.tensor4d(random(c.x.reduce((a, b) => a * b, 1), 3000 + k), c.x);
        const w = tf.tensor4d(random(c.filter.reduce((a, b) => a * b, 1), 4000 + k), c.filter);
        const r = tf.tensor(random(shapesOf(c).dy.reduce((a, b) => a * b, 1), 5000 + k), shapesOf(c).dy);
        const f = (xx: tf.Tensor4D, ww: tf.Tensor4D) => tf.sum(tf.mul(tf.conv2d(xx, ww, c.strides, c.pad as 'same'), r));
        const [dx, dw] = tf.grads((xx: tf.Tensor, ww: tf.Tensor) => f(xx as tf.Tensor4D, ww as tf.Tensor4D))([x, w]);
        return [dx.dataSync() as Float32Array, dw.dataSync() as Float32Array];
      }),
    );
  const cpu = await onCpu(grads);
  const wasm = grads();
  cases.forEach((c, k) => {
    close(wasm[k][0], cpu[k][0], `dx ${JSON.stringify(c)}`);
    close(wasm[k][1], cpu[k][1], `dW ${JSON.stringify(c)}`);
  });
});

// Real MNIST digits, small slices so that the test stays short on a busy machine.
let sets: { train: DigitSet; check: DigitSet } | undefined;
function data(): { train: DigitSet; check: DigitSet } {
  if (!sets) {
    const mnist = loadMnist();
    const range = (a: number, b: number) => Int32Array.from({ length: b - a }, (_, i) => a + i);
    sets = { train: subset(mnist.train, range(0, 192), 'mnist:train[0:192]'), check: subset(mnist.train, range(0, 192), 'mnist:train[0:192]') };
  }
  return sets;
}

function meanCrossEntropy(logits: Float32Array, labels: Uint8Array): number {
  let total = 0;
  for (let i = 0; i < labels.length; i++) {
    const row = logits.subarray(i * 10, i * 10 + 10);
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((a, z) => a + Math.exp(z - m), 0));
    total += lse - row[labels[i]];
  }
  return total / labels.length;
}

test('the conv student trains on pure wasm: a few train() steps run, reduce the loss and leak nothing; KD from a conv teacher too', async (t) => {
  await initBackend({ quiet: true });
  if (tf.getBackend() !== 'wasm') {
    t.skip(`backend ${tf.getBackend()} is not wasm`);
    return;
  }
  const nativeWas = nativeKernelNames().length > 0;
  setNativeKernels(false);
  try {
    const { train: set, check } = data();
    const student = createConvStudent({ seed: 1 });
    const baseline = tf.memory().numTensors;
    const before = meanCrossEntropy(predictLogits(student, check.images), check.labels);
    const result = await train(student, { train: set, epochs: 2, batchSize: 32, optimizer: { name: 'adam', learningRate: 3e-3 }, seed: 1, loss: 'hard' });
    const after = meanCrossEntropy(predictLogits(student, check.images), check.labels);
    assert.equal(result.steps, 12);
    assert.ok(result.history.every((r) => Number.isFinite(r.loss)));
    assert.ok(after < before - 0.3, `cross-entropy on the training digits ${before} → ${after}`);
    assert.ok(result.history[1].loss < result.history[0].loss, `epoch losses ${result.history.map((r) => r.loss).join(', ')}`);
    assert.equal(tf.memory().numTensors, baseline, 'training leaves no tensors');
    // Distillation from a (narrow, for speed) conv teacher through train()'s usual loss spec.
    const teacher = createConvTeacher({ filters: [8, 16], seed: 2 });
    const kdStudent = createConvStudent({ seed: 3 });
    const kd = await train(kdStudent, { train: set, epochs: 1, batchSize: 64, seed: 3, loss: { teacher, temperature: 4, alpha: 0.9 } });
    assert.equal(kd.steps, 3);
    assert.ok(Number.isFinite(kd.history[0].loss));
    for (const m of [student, teacher, kdStudent]) m.dispose();
  } finally {
    setNativeKernels(nativeWas);
  }
});
