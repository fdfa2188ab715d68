import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../lib/src/backend';
import { loadMnist, subset, type DigitSet } from '../../lib/src/data';
import { evaluate } from '../../lib/src/evaluate';
import { loadNativeAddon, setNativeKernels, withBlasThreads } from '../../lib/src/kernels/native';
import { nativeConvKernelNames, setNativeConvChunk, type ConvGeometry } from '../../lib/src/kernels/native-conv';
import { createConvStudent } from '../../lib/src/models';
import { train } from '../../lib/src/train';
import { rng } from './reference';
import { onCpu } from './backends';

/**
 * The native convolution and max-pool kernels (lib/native/kdlab_conv.cc through
 * lib/src/kernels/native-conv.ts) against the cpu backend's kernels on odd shapes, paddings,
 * strides, chunk sizes and empty batches; their gradients through tf.grads; the addon's range
 * checks; and a short conv training on native against pure wasm.
 */

const addon = loadNativeAddon();
const required = process.env.KDLAB_REQUIRE_NATIVE === '1';
const skip = addon.ok || required ? false : `native kernels not built (${addon.ok ? '' : addon.why})`;

type Shape4 = [number, number, number, number];
type Pad = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];
type Rounding = 'floor' | 'round' | 'ceil';
interface ConvCase {
  x: Shape4;
  filter: Shape4;
  strides: [number, number] | number;
  pad: Pad;
  dimRoundingMode?: Rounding;
}

const CONV_CASES: ConvCase[] = [
  { x: [2, 7, 7, 3], filter: [3, 3, 3, 5], strides: 1, pad: 'same' },
  { x: [3, 9, 8, 1], filter: [3, 3, 1, 7], strides: 2, pad: 'same' },
  { x: [1, 11, 10, 5], filter: [5, 5, 5, 3], strides: [2, 3], pad: 'valid' },
  { x: [2, 6, 7, 3], filter: [2, 2, 3, 4], strides: [1, 2], pad: 'valid' },
  { x: [1, 11, 11, 2], filter: [2, 3, 2, 6], strides: 3, pad: 'same' },
  { x: [2, 5, 6, 3], filter: [3, 3, 3, 2], strides: 1, pad: [[0, 0], [1, 2], [0, 1], [0, 0]] },
  { x: [2, 8, 7, 3], filter: [3, 3, 3, 3], strides: 2, pad: 1, dimRoundingMode: 'ceil' },
  { x: [1, 9, 9, 3], filter: [5, 5, 3, 4], strides: 2, pad: 2, dimRoundingMode: 'floor' },
  { x: [3, 5, 4, 7], filter: [1, 1, 7, 3], strides: 1, pad: 'valid' }, // pointwise: no im2col
  { x: [2, 6, 6, 3], filter: [1, 1, 3, 5], strides: 2, pad: 'same' },
  { x: [1, 3, 3, 2], filter: [5, 5, 2, 3], strides: 1, pad: 'same' }, // window wider than the image
  { x: [0, 7, 7, 3], filter: [3, 3, 3, 4], strides: 2, pad: 'same' }, // empty batch
  { x: [0, 4, 4, 3], filter: [1, 1, 3, 2], strides: 1, pad: 'valid' },
  { x: [4, 28, 28, 1], filter: [3, 3, 1, 16], strides: 2, pad: 'same' }, // the conv student's layers
  { x: [4, 14, 14, 16], filter: [3, 3, 16, 32], strides: 2, pad: 'same' },
];

interface PoolCase {
  x: Shape4;
  filterSize: [number, number] | number;
  strides: [number, number] | number;
  pad: 'same' | 'valid' | number;
  dimRoundingMode?: Rounding;
}

const POOL_CASES: PoolCase[] = [
  { x: [2, 14, 14, 5], filterSize: 2, strides: 1, pad: 'same' }, // the conv nets' pooling
  { x: [1, 7, 9, 3], filterSize: 3, strides: 2, pad: 'same' },
  { x: [2, 8, 7, 1], filterSize: [2, 3], strides: [2, 1], pad: 'valid' },
  { x: [1, 10, 10, 4], filterSize: 3, strides: 3, pad: 'valid' },
  { x: [1, 6, 5, 3], filterSize: 5, strides: 1, pad: 'same' },
  { x: [2, 7, 7, 2], filterSize: 3, strides: 2, pad: 1, dimRoundingMode: 'ceil' },
  { x: [1, 5, 5, 3], filterSize: 1, strides: 1, pad: 'valid' },
  { x: [0, 6, 6, 3], filterSize: 2, strides: 2, pad: 'valid' },
];

const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

function random(n: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => r() * 2 - 1);
}

/** Values from {-1, 0, 1, 2}: most pooling windows hold ties. */
function tied(n: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => Math.floor(r() * 4) - 1);
}

interface Out {
  shape: number[];
  values: Float32Array;
}

/** Runs one kernel on the current backend from plain arrays, returning every output as arrays. */
function runKernel(name: string, inputs: Record<string, { values: Float32Array; shape: number[] }>, attrs: object): Out {
  return tf.tidy(() => {
    const tensors: Record<string, tf.Tensor> = {};
    for (const [k, v] of Object.entries(inputs)) tensors[k] = tf.tensor(v.values, v.shape, 'float32');
    const out = tf.engine().runKernel(name, tensors, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
    return { shape: out.shape, values: out.dataSync() as Float32Array };
  });
}

/**
 * Runs f counting the addon's calls per function, so that a kernel silently taking its wasm
 * fallback fails the test. (The kernels look the function up on the addon at each call.)
 */
function countingCalls<T>(f: () => T): { result: T; calls: Map<string, number> } {
  assert.ok(addon.ok);
  const target = addon.addon as unknown as Record<string, unknown>;
  const calls = new Map<string, number>();
  const originals = new Map<string, (...args: unknown[]) => unknown>();
  for (const name of ['conv2d', 'conv2dBackpropInput', 'conv2dBackpropFilter', 'maxPool', 'maxPoolGrad']) {
    const original = target[name] as (...args: unknown[]) => unknown;
    originals.set(name, original);
    target[name] = (...args: unknown[]) => {
      calls.set(name, (calls.get(name) ?? 0) + 1);
      return original(...args);
    };
  }
  try {
    return { result: f(), calls };
  } finally {
    for (const [name, original] of originals) target[name] = original;
  }
}


/** Sums of k float32 products in another order differ by ~k·eps relative to the terms' scale. */
function close(actual: Out, expected: Out, what: string, rtol = 1e-4): void {
  assert.deepEqual(actual.shape, expected.shape, `${what}: shape`);
  const a = actual.values;
  const e = expected.values;
  let scale = 0;
  for (let i = 0; i < e.length; i++) if (Number.isFinite(e[i])) scale = Math.max(scale, Math.abs(e[i]));
  for (let i = 0; i < e.length; i++) {
    if (Number.isNaN(e[i]) || !Number.isFinite(e[i])) {
      assert.ok(Object.is(a[i], e[i]), `${what}: index ${i}: ${a[i]} vs ${e[i]}`);
      continue;
    }
    const tol = 1e-5 + rtol * Math.max(Math.abs(e[i]), scale * 1e-2);
    assert.ok(Math.abs(a[i] - e[i]) <= tol, `${what}: index ${i}: ${a[i]} vs ${e[i]}`);
  }
}

/** The kernels' computations for one case, as (name, inputs, attrs) triples. */
function convCalls(c: ConvCase, k: number): Array<{ what: string; name: string; inputs: Record<string, { values: Float32Array; shape: number[] }>; attrs: object }> {
  const info = tf.backend_util.computeConv2DInfo(c.x, c.filter, c.strides, 1, c.pad, c.dimRoundingMode, false, 'channelsLast');
  const base = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', dilations: 1, dimRoundingMode: c.dimRoundingMode };
  const x = { values: random(size(c.x), 100 + k), shape: c.x };
  const filter = { values: random(size(c.filter), 200 + k), shape: c.filter };
  const dy = { values: random(size(info.outShape), 300 + k), shape: info.outShape };
  const co = c.filter[3];
  const calls: ReturnType<typeof convCalls> = [
    { what: 'Conv2D', name: 'Conv2D', inputs: { x, filter }, attrs: base },
    { what: 'Conv2DBackpropInput', name: 'Conv2DBackpropInput', inputs: { dy, filter }, attrs: { ...base, inputShape: c.x } },
    { what: 'Conv2DBackpropFilter', name: 'Conv2DBackpropFilter', inputs: { x, dy }, attrs: { ...base, filterShape: c.filter } },
  ];
  const biases = [
    { values: random(co, 400 + k), shape: [co] },
    { values: Float32Array.of(0.25), shape: [] },
  ];
  ['linear', 'relu', 'relu6', 'leakyrelu', 'sigmoid', 'elu'].forEach((activation, a) => {
    const bias = biases[a % 2];
    calls.push({
      what: `FusedConv2D ${activation} bias [${bias.shape.join(', ')}]`,
      name: 'FusedConv2D',
      // Scaled so that relu6's upper clamp is reached too.
      inputs: { x: { values: x.values.map((v) => v * 4), shape: c.x }, filter, bias },
      attrs: { ...base, activation, leakyreluAlpha: 0.15 },
    });
  });
  calls.push({ what: 'FusedConv2D without bias', name: 'FusedConv2D', inputs: { x, filter }, attrs: { ...base, activation: 'relu' } });
  return calls;
}

function poolCalls(c: PoolCase, k: number): ReturnType<typeof convCalls> {
  const info = tf.backend_util.computePool2DInfo(c.x, c.filterSize, c.strides, 1, c.pad, c.dimRoundingMode);
  const attrs = { filterSize: c.filterSize, strides: c.strides, pad: c.pad, dimRoundingMode: c.dimRoundingMode };
  const x = { values: tied(size(c.x), 500 + k), shape: c.x };
  // NaN never wins a window and −∞ only where nothing else is there (tfjs-backend-cpu's pool()).
  if (x.values.length > 3) {
    x.values[1] = Number.NaN;
    x.values[2] = Number.NEGATIVE_INFINITY;
  }
  const dy = { values: random(size(info.outShape), 600 + k), shape: info.outShape };
  // MaxPoolGrad's `output` operand is not read by tfjs's kernels: any tensor of the right shape.
  const output = { values: new Float32Array(size(info.outShape)), shape: info.outShape };
  return [
    { what: 'MaxPool', name: 'MaxPool', inputs: { x }, attrs },
    { what: 'MaxPoolGrad', name: 'MaxPoolGrad', inputs: { dy, input: x, output }, attrs },
  ];
}

test('native conv kernels are registered on the native path', { skip }, async () => {
  await initBackend({ quiet: true, backend: 'native' });
  assert.deepEqual(nativeConvKernelNames().sort(), ['Conv2D', 'Conv2DBackpropFilter', 'Conv2DBackpropInput', 'FusedConv2D', 'MaxPool', 'MaxPoolGrad']);
  setNativeKernels(false);
  assert.deepEqual(nativeConvKernelNames(), [], 'pure wasm again');
  setNativeKernels(true);
  assert.equal(nativeConvKernelNames().length, 6);
});

test('native Conv2D, FusedConv2D (every activation), Conv2DBackpropInput/Filter equal the cpu kernels: sizes 1/2/3/5, strides 1/2/3, same/valid/explicit pads, empty batch, chunked', { skip }, async () => {
  await initBackend({ quiet: true, backend: 'native' });
  const calls = CONV_CASES.flatMap((c, k) => convCalls(c, k).map((call) => ({ ...call, what: `${call.what} ${JSON.stringify(c)}` })));
  const cpu = await onCpu(() => calls.map((c) => runKernel(c.name, c.inputs, c.attrs)));
  const before = tf.memory().numTensors;
  // 7 floats: one output row per sgemm (every K here is larger); 100: a few rows; default: one chunk.
  for (const chunk of [undefined, 7, 100]) {
    const previous = setNativeConvChunk(chunk);
    try {
      const { calls: used } = countingCalls(() =>
        calls.forEach((c, i) => close(runKernel(c.name, c.inputs, c.attrs), cpu[i], `${c.what} chunk=${chunk ?? 'default'}`)),
      );
      // Every call with a non-empty output reaches the addon (the empty-batch cases return early).
      const nonEmpty = (name: string) => calls.filter((c) => c.name === name && size(cpu[calls.indexOf(c)].shape) > 0).length;
      assert.equal(used.get('conv2d'), nonEmpty('Conv2D') + nonEmpty('FusedConv2D'), 'Conv2D and FusedConv2D ran natively');
      assert.equal(used.get('conv2dBackpropInput'), nonEmpty('Conv2DBackpropInput'));
      assert.equal(used.get('conv2dBackpropFilter'), nonEmpty('Conv2DBackpropFilter'));
    } finally {
      setNativeConvChunk(previous);
    }
  }
  assert.equal(tf.memory().numTensors, before, 'the kernels leave no tensors');
});

test('native MaxPool and MaxPoolGrad equal the cpu kernels, ties to the first maximum in scan order, NaN and −∞ as cpu', { skip }, async () => {
  await initBackend({ quiet: true, backend: 'native' });
  const calls = POOL_CASES.flatMap((c, k) => poolCalls(c, k).map((call) => ({ ...call, what: `${call.what} ${JSON.stringify(c)}` })));
  const cpu = await onCpu(() => calls.map((c) => runKernel(c.name, c.inputs, c.attrs)));
  const before = tf.memory().numTensors;
  // Exact: a maximum is one of the inputs, and each gradient a sum of the same dy in the same order.
  const { calls: used } = countingCalls(() => calls.forEach((c, i) => close(runKernel(c.name, c.inputs, c.attrs), cpu[i], c.what, 0)));
  assert.equal(used.get('maxPool'), POOL_CASES.filter((c) => size(c.x) > 0).length, 'MaxPool ran natively');
  assert.equal(used.get('maxPoolGrad'), POOL_CASES.filter((c) => size(c.x) > 0).length, 'MaxPoolGrad ran natively');
  assert.equal(tf.memory().numTensors, before, 'the kernels leave no tensors');
});

test('tf.grads of conv2d → maxPool → fused conv2d on native equal the cpu backend', { skip }, async () => {
  await initBackend({ quiet: true, backend: 'native' });
  const cases = [
    { x: [2, 9, 9, 3], w1: [3, 3, 3, 5], w2: [2, 2, 5, 4], s1: 2, pool: 2, s2: 1 },
    { x: [3, 12, 11, 1], w1: [5, 5, 1, 4], w2: [3, 3, 4, 3], s1: 1, pool: 3, s2: 2 },
  ] as const;
  const grads = () =>
    cases.map((c, k) =>
      tf.tidy(() => {
        const x = tf.tensor4d(random(size(c.x), 700 + k), [...c.x]);
        const w1 = tf.tensor4d(random(size(c.w1), 800 + k), [...c.w1]);
        const w2 = tf.tensor4d(random(size(c.w2), 900 + k), [...c.w2]);
        const b2 = tf.tensor1d(random(c.w2[3], 1000 + k));
        const f = (xx: tf.Tensor, a: tf.Tensor, b: tf.Tensor, bias: tf.Tensor): tf.Scalar => {
          const h = tf.maxPool(tf.conv2d(xx as tf.Tensor4D, a as tf.Tensor4D, c.s1, 'same'), c.pool, 1, 'same');
          const y = tf.fused.conv2d({ x: h, filter: b as tf.Tensor4D, strides: c.s2, pad: 'valid', bias, activation: 'linear' });
          return tf.sum(tf.mul(y, y));
        };
        return tf.grads(f)([x, w1, w2, b2]).map((g) => ({ shape: g.shape, values: g.dataSync() as Float32Array }));
      }),
    );
  const cpu = await onCpu(grads);
  const before = tf.memory().numTensors;
  const native = grads();
  assert.equal(tf.memory().numTensors, before, 'no tensors left behind');
  cases.forEach((c, k) => ['x', 'w1', 'w2', 'bias'].forEach((name, i) => close(native[k][i], cpu[k][i], `d${name} ${JSON.stringify(c)}`, 1e-3)));
});

test('the addon range-checks every operand: an offset past the heap, a misaligned one, or a bad geometry throws a RangeError', { skip }, () => {
  assert.ok(addon.ok);
  const a = addon.addon;
  const heap = new ArrayBuffer(4096);
  const g: ConvGeometry = [1, 4, 4, 2, 2, 2, 3, 3, 3, 2, 2, 1, 1]; // x 32, y 12, w 54 floats
  const chunk = 1024;
  // In range, these run (a sanity check that the arguments themselves are right).
  a.conv2d(heap, 0, 256, 512, -1, 0, 0, 0, ...g, chunk);
  a.conv2dBackpropInput(heap, 0, 256, 512, ...g, chunk);
  a.conv2dBackpropFilter(heap, 0, 256, 512, ...g, chunk);
  const pg: ConvGeometry = [1, 4, 4, 3, 2, 2, 3, 2, 2, 2, 2, 0, 0];
  a.maxPool(heap, 0, 512, ...pg);
  a.maxPoolGrad(heap, 0, 256, 512, ...pg);
  const past = heap.byteLength - 8; // 2 floats before the end: every operand here is longer
  const rangeError = (name: string) => (e: unknown) => e instanceof RangeError && e.message.includes(`kdlab_native.${name}`);
  assert.throws(() => a.conv2d(heap, past, 256, 512, -1, 0, 0, 0, ...g, chunk), rangeError('conv2d'));
  assert.throws(() => a.conv2d(heap, 0, 256, heap.byteLength + 4096, -1, 0, 0, 0, ...g, chunk), rangeError('conv2d'));
  assert.throws(() => a.conv2d(heap, 0, 256, 512, past, 3, 0, 0, ...g, chunk), rangeError('conv2d'));
  assert.throws(() => a.conv2d(heap, 0, 256, 512, 1024, 2, 0, 0, ...g, chunk), rangeError('conv2d'), 'bias size neither 1 nor outC');
  assert.throws(() => a.conv2d(heap, 2, 256, 512, -1, 0, 0, 0, ...g, chunk), rangeError('conv2d'), 'misaligned');
  assert.throws(() => a.conv2d(heap, 0, 256, 512, -1, 0, 3, 0, ...g, chunk), rangeError('conv2d'), 'prelu is not the addon\'s');
  assert.throws(() => a.conv2d(heap, 0, 256, 512, -1, 0, 0, 0, 1, 4, 4, 2, 2, 2, 3, 3, 3, 0, 2, 1, 1, chunk), rangeError('conv2d'), 'stride 0');
  assert.throws(() => a.conv2d(heap, -4, 256, 512, -1, 0, 0, 0, ...g, chunk), rangeError('conv2d'));
  assert.throws(() => a.conv2dBackpropInput(heap, 0, 256, past, ...g, chunk), rangeError('conv2dBackpropInput'));
  assert.throws(() => a.conv2dBackpropFilter(heap, 0, past, 512, ...g, chunk), rangeError('conv2dBackpropFilter'));
  assert.throws(() => a.maxPool(heap, past, 512, ...pg), rangeError('maxPool'));
  assert.throws(() => a.maxPoolGrad(heap, 0, 256, past, ...pg), rangeError('maxPoolGrad'));
  assert.throws(() => a.maxPool(heap, 0, 512, 1, 4, 4, 3, 2, 2, 4, 2, 2, 2, 2, 0, 0), rangeError('maxPool'), 'pooling keeps the channels');
  // A huge geometry whose spans overflow any heap.
  assert.throws(() => a.maxPoolGrad(heap, 0, 256, 512, 1e6, 1e6, 1e6, 3, 1, 1, 3, 2, 2, 2, 2, 0, 0), rangeError('maxPoolGrad'));
});

// Real MNIST digits, small slices so that the test stays short on a busy machine.
let sets: { train: DigitSet; check: DigitSet } | undefined;
function data(): { train: DigitSet; check: DigitSet } {
  if (!sets) {
    const mnist = loadMnist();
    const range = (a: number, b: number) => Int32Array.from({ length: b - a }, (_, i) => a + i);
    sets = { train: subset(mnist.train, range(0, 384), 'mnist:train[0:384]'), check: subset(mnist.train, range(1000, 1500), 'mnist:train[1000:1500]') };
  }
  return sets;
}

async function trainStudent(native: boolean): Promise<{ accuracy: number; weights: Float32Array[]; leaked: number }> {
  assert.equal(setNativeKernels(native), native);
  const { train: set, check } = data();
  const student = createConvStudent({ seed: 5 });
  const baseline = tf.memory().numTensors;
  // One BLAS thread: OpenBLAS's sums, and so the digits, depend on the thread count.
  const result = await withBlasThreads(1, () =>
    train(student, { train: set, epochs: 10, batchSize: 32, optimizer: { name: 'adam', learningRate: 2e-3 }, seed: 5, loss: 'hard' }),
  );
  assert.equal(result.steps, 120);
  const leaked = tf.memory().numTensors - baseline;
  const accuracy = evaluate(student, check).accuracy;
  const weights = student.getWeights().map((w) => w.dataSync() as Float32Array);
  student.dispose();
  return { accuracy, weights, leaked };
}

test('a conv student trains on native as on pure wasm (same accuracy within 3 points), reproducibly, leaking nothing', { skip }, async () => {
  await initBackend({ quiet: true, backend: 'native' });
  try {
    const first = await trainStudent(true);
    const again = await trainStudent(true);
    const wasm = await trainStudent(false);
    assert.equal(first.leaked, 0, 'training on native leaves no tensors');
    assert.equal(wasm.leaked, 0, 'training on wasm leaves no tensors');
    assert.ok(first.accuracy > 0.6, `native accuracy ${first.accuracy}`);
    assert.ok(Math.abs(first.accuracy - wasm.accuracy) <= 0.03, `accuracy native ${first.accuracy} vs wasm ${wasm.accuracy}`);
    assert.equal(first.weights.length, again.weights.length);
    first.weights.forEach((w, i) => assert.deepEqual(w, again.weights[i], `weight ${i} identical on a second native run`));
  } finally {
    setNativeKernels(true);
  }
});
