import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../lib/src/backend';
import { loadNativeAddon, setNativeKernels, withBlasThreads, withBlasThreadsSync } from '../../lib/src/kernels/native';
import { readCachedLogits, teacherLogitsCached } from '../../lib/src/cache';
import { predictLogits } from '../../lib/src/evaluate';
import { createTeacher } from '../../lib/src/models';
import { PIXELS } from '../../lib/src/data';
import { createStudent } from '../../lib/src/models';
import { Optimizer, trainableVariables, trainingForward } from '../../lib/src/train';
import { resolveObjective } from '../../lib/src/losses';
import { rng } from './reference';

/**
 * The native (OpenBLAS) kernels against the wasm kernels they replace, on the same tensors in
 * the same process: the wasm backend stays, only the kernel registrations switch. CI builds the
 * addon and sets KDLAB_REQUIRE_NATIVE=1, so a native path that silently failed to build fails here.
 */

const ROOT = path.resolve(__dirname, '..', '..');
const addon = loadNativeAddon();
const required = process.env.KDLAB_REQUIRE_NATIVE === '1';
const skip = addon.ok ? false : required ? false : `native kernels not built (${addon.ok ? '' : addon.why})`;

test('the native addon is built where CI requires it', { skip: required ? false : 'KDLAB_REQUIRE_NATIVE is not set' }, () => {
  assert.ok(addon.ok, addon.ok ? '' : addon.why);
});

/** Runs fn with the native kernels on, then off, and returns both results as arrays. */
function bothPaths(fn: () => tf.Tensor | tf.Tensor[]): { native: Float32Array[]; wasm: Float32Array[]; shapes: number[][] } {
  const run = (on: boolean) => {
    assert.equal(setNativeKernels(on), on);
    const out = tf.tidy(fn);
    const list = Array.isArray(out) ? out : [out];
    const values = list.map((t) => t.dataSync() as Float32Array);
    const shapes = list.map((t) => t.shape);
    tf.dispose(list);
    return { values, shapes };
  };
  const n = run(true);
  const w = run(false);
  setNativeKernels(true);
  assert.deepEqual(n.shapes, w.shapes, 'same output shapes on both paths');
  return { native: n.values, wasm: w.values, shapes: n.shapes };
}

/** Float32 sums of k products differ by summation order up to ~k·eps·|terms|: the tolerance grows with k. */
function assertClose(a: Float32Array, b: Float32Array, what: string, k = 1): void {
  assert.equal(a.length, b.length, `${what}: lengths`);
  for (let i = 0; i < a.length; i++) {
    const tol = 1e-5 * Math.max(1, Math.abs(b[i])) + 4e-7 * k;
    if (!(Math.abs(a[i] - b[i]) <= tol)) assert.fail(`${what} at ${i}: native ${a[i]} vs wasm ${b[i]}`);
  }
}

test('native BatchMatMul equals the wasm kernel: odd sizes, 1-row batches, both transposes, batch dims, broadcasting, empty', { skip }, async () => {
  await initBackend({ quiet: true, backend: 'native' });
  const before = tf.memory().numTensors;
  const cases: Array<{ a: number[]; b: number[] }> = [
    { a: [7, 13], b: [13, 5] },
    { a: [1, 31], b: [31, 1] },
    { a: [1, 784], b: [784, 800] },
    { a: [128, 800], b: [800, 10] },
    { a: [3, 17, 9], b: [3, 9, 11] },
    { a: [2, 2, 5, 6], b: [2, 2, 6, 3] },
    { a: [4, 5, 6], b: [1, 6, 3] }, // b broadcast over the batch
    { a: [5, 6], b: [4, 6, 3] }, // rank-2 a against a batch of b
    { a: [0, 6], b: [6, 3] },
    { a: [4, 0], b: [0, 3] }, // empty inner dimension: zeros
    { a: [2, 3, 4], b: [2, 4, 0] },
  ];
  let seed = 1;
  for (const c of cases) {
    for (const ta of [false, true]) {
      for (const tb of [false, true]) {
        const r = c.a.length;
        const aShape = ta ? [...c.a.slice(0, r - 2), c.a[r - 1], c.a[r - 2]] : c.a;
        const q = c.b.length;
        const bShape = tb ? [...c.b.slice(0, q - 2), c.b[q - 1], c.b[q - 2]] : c.b;
        const a = tf.randomNormal(aShape, 0, 1, 'float32', seed++);
        const b = tf.randomNormal(bShape, 0, 1, 'float32', seed++);
        const out = bothPaths(() => tf.matMul(a, b, ta, tb));
        const k = ta ? aShape[aShape.length - 2] : aShape[aShape.length - 1];
        if (k === 0) {
          // A sum over nothing is 0. (The stock wasm kernel leaves its output uninitialised here.)
          assert.ok(out.native[0].every((v) => v === 0), `matMul ${aShape}×${bShape}: empty inner dimension gives zeros`);
        } else {
          assertClose(out.native[0], out.wasm[0], `matMul ${aShape}×${bShape} ta=${ta} tb=${tb}`, k);
        }
        tf.dispose([a, b]);
      }
    }
  }
  assert.equal(tf.memory().numTensors, before, 'no tensors leaked');
});

/** What _FusedMatMul means, spelled out as separate (unfused) wasm ops. */
function unfused(a: tf.Tensor2D, b: tf.Tensor2D, ta: boolean, tb: boolean, bias: tf.Tensor, activation: string): tf.Tensor {
  const z = tf.add(tf.matMul(a, b, ta, tb), bias);
  switch (activation) {
    case 'relu': return tf.relu(z);
    case 'relu6': return tf.relu6(z);
    case 'leakyrelu': return tf.leakyRelu(z, 0.1);
    case 'sigmoid': return tf.sigmoid(z);
    case 'elu': return tf.elu(z);
    default: return z;
  }
}

test('native _FusedMatMul (bias per column or scalar; linear, relu, relu6, leakyrelu, sigmoid, elu) equals the unfused ops on wasm', { skip }, async () => {
  await initBackend({ quiet: true, backend: 'native' });
  const before = tf.memory().numTensors;
  const activations = ['linear', 'relu', 'relu6', 'leakyrelu', 'sigmoid', 'elu'] as const;
  let seed = 100;
  for (const [m, k, n] of [[9, 7, 5], [1, 33, 17], [64, 50, 3]]) {
    for (const activation of activations) {
      for (const biasShape of [[n], [1]]) {
        for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]]) {
          const a = tf.randomNormal(ta ? [k, m] : [m, k], 0, 2, 'float32', seed++);
          const b = tf.randomNormal(tb ? [n, k] : [k, n], 0, 2, 'float32', seed++);
          const bias = tf.randomNormal(biasShape, 0, 1, 'float32', seed++);
          const native = tf.tidy(() => {
            setNativeKernels(true);
            return tf.fused.matMul({ a, b, transposeA: ta, transposeB: tb, bias, activation, leakyreluAlpha: 0.1 }).dataSync() as Float32Array;
          });
          const reference = tf.tidy(() => {
            setNativeKernels(false);
            return unfused(a as tf.Tensor2D, b as tf.Tensor2D, ta, tb, bias, activation).dataSync() as Float32Array;
          });
          setNativeKernels(true);
          assertClose(native, reference, `fused ${activation} bias ${biasShape} ${m}x${k}x${n} ta=${ta} tb=${tb}`, k);
          tf.dispose([a, b, bias]);
        }
      }
    }
  }
  assert.equal(tf.memory().numTensors, before, 'no tensors leaked');
});

test('the native dense step gives the forward values and gradients of model.apply (and of the wasm path)', { skip }, async () => {
  await initBackend({ quiet: true, backend: 'native' });
  const model = createStudent({ hidden: [37, 21], seed: 3 });
  const r = rng(5);
  const x = tf.tensor2d(Float32Array.from({ length: 6 * 784 }, () => r()), [6, 784]);
  const teacher = tf.randomNormal([6, 10], 0, 3, 'float32', 4) as tf.Tensor2D;
  const oneHot = tf.oneHot(tf.tensor1d([1, 2, 3, 4, 5, 0], 'int32'), 10).toFloat() as tf.Tensor2D;
  const vars = trainableVariables(model);
  const kd = resolveObjective({ objective: 'kd', temperature: 4, alpha: 0.5 }).loss;
  const before = tf.memory().numTensors;
  const stepOutputs = (): tf.Tensor[] => {
    const { grads, value } = tf.variableGrads(() => kd(trainingForward(model)(x as tf.Tensor2D), teacher, oneHot), vars);
    return [value, trainingForward(model)(x as tf.Tensor2D), ...vars.map((v) => grads[v.name])];
  };
  const out = bothPaths(stepOutputs);
  out.native.forEach((v, i) => assertClose(v, out.wasm[i], i === 0 ? 'loss' : i === 1 ? 'logits' : `gradient ${vars[i - 2].name}`));
  // And against tfjs's own layers (no custom gradient at all), on the native kernels.
  const reference = tf.tidy(() => {
    const { grads, value } = tf.variableGrads(() => kd(model.apply(x, { training: true }) as tf.Tensor2D, teacher, oneHot), vars);
    return [value, ...vars.map((v) => grads[v.name])].map((t) => t.dataSync() as Float32Array);
  });
  assertClose(out.native[0], reference[0], 'loss vs model.apply');
  vars.forEach((v, i) => assertClose(out.native[i + 2], reference[i + 1], `gradient ${v.name} vs model.apply`));
  assert.equal(tf.memory().numTensors, before, 'no tensors leaked');
  tf.dispose([x, teacher, oneHot]);
  model.dispose();
});

test('a few hundred training steps reach the same accuracy on both paths (within noise)', { skip }, async () => {
  await initBackend({ quiet: true, backend: 'native' });
  const r = rng(11);
  // A learnable toy problem on MNIST-shaped input: the class is the brightest of 10 pixel bands.
  const n = 512;
  const images = new Float32Array(n * 784);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = Math.floor(r() * 10);
    for (let p = 0; p < 784; p++) images[i * 784 + p] = r() * 0.5 + (Math.floor(p / 78.4) === labels[i] ? 0.5 : 0);
  }
  const accuracyAfterTraining = (on: boolean): number => {
    setNativeKernels(on);
    const model = createStudent({ hidden: [32, 32], seed: 7 });
    const opt = new Optimizer({ name: 'adam', learningRate: 1e-3 });
    const vars = trainableVariables(model);
    const forward = trainingForward(model);
    const kd = resolveObjective({ objective: 'hard' }).loss;
    const before = tf.memory().numTensors;
    for (let s = 0; s < 300; s++) {
      const start = (s * 32) % n;
      tf.tidy(() => {
        const x = tf.tensor2d(images.subarray(start * 784, (start + 32) * 784), [32, 784]);
        const y = tf.oneHot(tf.tensor1d(labels.subarray(start, start + 32), 'int32'), 10).toFloat() as tf.Tensor2D;
        const { grads, value } = tf.variableGrads(() => kd(forward(x), undefined, y), vars);
        opt.step(vars, vars.map((v) => grads[v.name]));
        value.dispose();
      });
    }
    // Adam's two moments per variable are the optimizer's own tensors; everything else must be gone.
    assert.equal(tf.memory().numTensors, before + 2 * vars.length, 'training leaked tensors');
    const acc = tf.tidy(() => {
      const pred = (model.predict(tf.tensor2d(images, [n, 784])) as tf.Tensor2D).argMax(1);
      return tf.mean(tf.cast(tf.equal(pred, tf.tensor1d(labels, 'int32')), 'float32')).dataSync()[0];
    });
    opt.dispose();
    model.dispose();
    return acc;
  };
  const native = accuracyAfterTraining(true);
  const wasm = accuracyAfterTraining(false);
  setNativeKernels(true);
  assert.ok(native > 0.9 && wasm > 0.9, `both learn the toy task: native ${native}, wasm ${wasm}`);
  assert.ok(Math.abs(native - wasm) <= 0.03, `same accuracy within noise: native ${native}, wasm ${wasm}`);
});

/** The first `keep` weights of a seeded student after `steps` Adam steps on one random batch. */
function weightsAfterSteps(o: { hidden: number[]; seed: number; rows: number; dataSeed: number; learningRate: number; steps: number; keep: number }): number[] {
  const model = createStudent({ hidden: o.hidden, seed: o.seed });
  const opt = new Optimizer({ name: 'adam', learningRate: o.learningRate });
  const vars = trainableVariables(model);
  const x = tf.randomNormal([o.rows, 784], 0, 1, 'float32', o.dataSeed) as tf.Tensor2D;
  const y = tf.oneHot(tf.tensor1d([...Array(o.rows).keys()].map((i) => i % 10), 'int32'), 10).toFloat() as tf.Tensor2D;
  const loss = resolveObjective({ objective: 'hard' }).loss;
  for (let s = 0; s < o.steps; s++) {
    tf.tidy(() => {
      const { grads, value } = tf.variableGrads(() => loss(trainingForward(model)(x), undefined, y), vars);
      opt.step(vars, vars.map((v) => grads[v.name]));
      value.dispose();
    });
  }
  const w = Array.from(vars[0].dataSync().slice(0, o.keep));
  tf.dispose([x, y]);
  opt.dispose();
  model.dispose();
  return w;
}

test('same seed on the same path gives the same digits (native)', { skip }, async () => {
  await initBackend({ quiet: true, backend: 'native' });
  const once = () => weightsAfterSteps({ hidden: [40, 20], seed: 21, rows: 16, dataSeed: 2, learningRate: 1e-2, steps: 5, keep: 50 });
  assert.deepEqual(once(), once());
});

test('without the addon (hidden), the library loads, runs on wasm and says how to enable the native path', () => {
  const code = [
    "const k = require('./lib/src/backend'); const tf = require('@tensorflow/tfjs');",
    'k.initBackend({ quiet: true }).then((i) => {',
    "  const y = tf.matMul(tf.ones([2, 3]), tf.ones([3, 4]), false, true === false).dataSync();",
    "  console.log(JSON.stringify({ name: i.name, kernels: i.nativeKernels, hint: i.nativeHint, sum: Array.from(y).reduce((a, b) => a + b, 0), line: k.describeBackend(i) }));",
    '});',
  ].join('\n');
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', code], {
    cwd: ROOT,
    env: { ...process.env, KDLAB_BACKEND: '', KDLAB_NATIVE_ADDON: path.join(ROOT, 'no-such-dir', 'kdlab_native.node') },
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop() as string) as { name: string; kernels: string[]; hint: string; sum: number; line: string };
  if (out.name === 'tensorflow') return; // tfjs-node installed: native kernels are not consulted
  assert.equal(out.name, 'wasm');
  assert.deepEqual(out.kernels, []);
  assert.equal(out.sum, 24);
  assert.match(out.hint, /not built .*no-such-dir/);
  assert.match(out.hint, /apt-get install libopenblas-dev .*npm run build:native/);
  assert.match(out.line, /backend wasm .*Native kernels off/);

  const forced = spawnSync(process.execPath, ['--import', 'tsx', '-e',
    "require('./lib/src/backend').initBackend({quiet:true}).catch(e => { console.log(e.code + ': ' + e.message); process.exit(3); });"], {
    cwd: ROOT,
    env: { ...process.env, KDLAB_BACKEND: 'native', KDLAB_NATIVE_ADDON: '/nonexistent/kdlab_native.node' },
    encoding: 'utf8',
  });
  assert.equal(forced.status, 3, forced.stdout + forced.stderr);
  assert.match(forced.stdout, /BACKEND_UNAVAILABLE: KDLAB_BACKEND=native was requested but is not available: .*not built.*npm run build:native/);
});

test('the native build script never fails the install: missing prerequisites are a message and exit 0', () => {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'lib', 'native', 'build.js')], {
    cwd: ROOT,
    env: { ...process.env, KDLAB_SKIP_NATIVE_BUILD: '1' },
    encoding: 'utf8',
  });
  assert.equal(r.status, 0);
  assert.match(r.stdout, /skipped .*runs on wasm/);
  // An empty PATH: no compiler, no make, no python; still exit 0 with the enabling command (and
  // the addon built earlier is left in place).
  const bare = spawnSync(process.execPath, [path.join(ROOT, 'lib', 'native', 'build.js'), '--force'], {
    cwd: ROOT,
    env: { PATH: '/nonexistent' },
    encoding: 'utf8',
  });
  assert.equal(bare.status, 0, bare.stderr);
  assert.match(bare.stdout, /not built: no C\+\+ compiler .*runs on wasm\. To enable: apt-get install libopenblas-dev/);
});

test('the native max-norm constraint equals the tf ops it replaces (columns over and under the limit)', { skip }, async () => {
  await initBackend({ quiet: true, backend: 'native' });
  const { createTeacher, applyMaxNorm } = await import('../../lib/src/models');
  const model = createTeacher({ hidden: [50, 30], dropout: 0, inputDropout: 0, maxNorm: 1.5, seed: 4 });
  // Scale the first kernel up so that some columns exceed the limit and some do not.
  const k0 = model.layers.find((l) => l.getClassName() === 'Dense')?.trainableWeights[0];
  assert.ok(k0);
  k0.write(tf.tidy(() => tf.mul(k0.read(), tf.linspace(0.2, 3, 50).reshape([1, 50]))));
  const start = model.getWeights().map((w) => w.dataSync().slice());
  const run = (on: boolean): Float32Array[] => {
    model.setWeights(start.map((d, i) => tf.tensor(d, model.getWeights()[i].shape)));
    setNativeKernels(on);
    applyMaxNorm(model, 1.5);
    return model.getWeights().map((w) => w.dataSync() as Float32Array);
  };
  const native = run(true);
  const wasm = run(false);
  setNativeKernels(true);
  native.forEach((w, i) => assertClose(w, wasm[i], `weight ${i}`));
  // And the constraint itself: every column of the constrained kernels has norm ≤ 1.5.
  const w0 = native[0];
  for (let j = 0; j < 50; j++) {
    let s = 0;
    for (let r = 0; r < 784; r++) s += w0[r * 50 + j] ** 2;
    assert.ok(Math.sqrt(s) <= 1.5 + 1e-4, `column ${j} norm ${Math.sqrt(s)}`);
  }
  model.dispose();
});

test('a run reproduces its digits only with the same BLAS thread count; withBlasThreads sets it and puts it back', { skip }, async () => {
  await initBackend({ quiet: true, backend: 'native' });
  const load = loadNativeAddon();
  assert.ok(load.ok);
  // Sizes above OpenBLAS's single-thread threshold, where its threads split the products.
  const once = () => weightsAfterSteps({ hidden: [256, 256], seed: 5, rows: 128, dataSeed: 3, learningRate: 1e-3, steps: 3, keep: 2000 });
  const before = load.addon.info().threads;
  const one = await withBlasThreads(1, async () => {
    assert.equal(load.addon.info().threads, 1);
    return once();
  });
  assert.equal(load.addon.info().threads, before, 'the previous count is back');
  assert.deepEqual(await withBlasThreads(1, async () => once()), one, 'same seed, same count: same digits');
  const two = await withBlasThreads(2, async () => once());
  assert.deepEqual(await withBlasThreads(2, async () => once()), two);
  await assert.rejects(withBlasThreads(0, async () => 1), /thread count must be an integer >= 1/);
  await assert.rejects(withBlasThreads(1, async () => { throw new Error('inside'); }), /inside/);
  assert.equal(load.addon.info().threads, before, 'put back after a throw too');
});

test('the cached teacher logits have the same digits whatever thread count the caller runs at', { skip }, async (t) => {
  await initBackend({ quiet: true, backend: 'native' });
  const load = loadNativeAddon();
  assert.ok(load.ok);
  const r = rng(11);
  const n = 2000; // 2000×784 by 784×1200: above OpenBLAS's single-thread threshold
  const set = { id: 'random:2000', images: Float32Array.from({ length: n * PIXELS }, () => r()), labels: new Uint8Array(n), size: n };
  const teacher = createTeacher({ hidden: [1200, 1200], seed: 4 });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kdlab-threads-'));
  try {
    const one = withBlasThreadsSync(1, () => predictLogits(teacher, set));
    const two = withBlasThreadsSync(2, () => predictLogits(teacher, set));
    const cached = withBlasThreadsSync(2, () => {
      const c = teacherLogitsCached(teacher, set, { dir });
      assert.equal(load.addon.info().threads, 2, 'the caller\'s count is back');
      return c;
    });
    assert.equal(cached.hit, false);
    assert.deepEqual(cached.logits, one, 'computed at one thread although the caller runs at two');
    assert.deepEqual(readCachedLogits(cached.file), one);
    t.diagnostic(`two threads alone ${two.some((v, i) => v !== one[i]) ? 'differ from' : 'equal'} one thread here`);
    assert.throws(() => withBlasThreadsSync(0, () => 1), /withBlasThreadsSync: the thread count must be an integer >= 1/);
  } finally {
    teacher.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the addon refuses operands outside the heap, misaligned or miscounted, naming the kernel', { skip }, () => {
  if (!addon.ok) return;
  const heap = new ArrayBuffer(64); // 16 floats
  const a = addon.addon;
  // 2×2 · 2×2 into 2×2 fits (12 floats); C at float 14 runs past the end.
  a.gemm(heap, false, false, 1, 2, 2, 2, 0, 0, 16, 0, 32, -1, 0, 0, 0);
  assert.throws(() => a.gemm(heap, false, false, 1, 2, 2, 2, 0, 0, 16, 0, 56, -1, 0, 0, 0), (e: unknown) => e instanceof RangeError && /kdlab_native\.gemm: operands outside/.test(e.message));
  assert.throws(() => a.maxNorm(heap, 2, 16, 2, 2, 1), (e: unknown) => e instanceof RangeError && /kdlab_native\.maxNorm: .*misaligned/.test(e.message));
  assert.throws(() => a.denseGrad(heap, 0, 0, 32, 48, 2, 5, false), (e: unknown) => e instanceof RangeError && /kdlab_native\.denseGrad/.test(e.message));
  assert.throws(() => a.dropout(heap, 0, 16, 32, 4, -1, 2, 0), (e: unknown) => e instanceof RangeError && /kdlab_native\.dropout: .*bad threshold/.test(e.message));
  const short = a.maxNorm as unknown as (...args: unknown[]) => void;
  assert.throws(() => short(heap, 0, 16), (e: unknown) => e instanceof TypeError && /kdlab_native\.maxNorm: expected \(ArrayBuffer, 5 numbers\)/.test(e.message));
});
