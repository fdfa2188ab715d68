import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../lib/src/backend';
import { stockWasmMatMul } from '../../lib/src/kernels/wasm-matmul';
import { loadNativeAddon } from '../../lib/src/kernels/native';

const ROOT = path.resolve(__dirname, '..', '..');
const NATIVE_INSTALLED = ((): boolean => {
  try {
    require.resolve('@tensorflow/tfjs-node');
    return true;
  } catch {
    return false;
  }
})();
const ADDON_BUILT = loadNativeAddon().ok;
const EXPECTED = ADDON_BUILT ? 'native' : NATIVE_INSTALLED ? 'tensorflow' : 'wasm';

/** Runs a snippet against the source library in a fresh process (backend choice is per process). */
function runSnippet(code: string, env: Record<string, string>): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', code], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Plain float64 reference product with optional transposes, independent of tfjs. */
function referenceMatMul(a: Float32Array, aShape: number[], b: Float32Array, bShape: number[], ta: boolean, tb: boolean): Float64Array {
  const [batch, ar, ac] = aShape;
  const [, br, bc] = bShape;
  const m = ta ? ac : ar;
  const k = ta ? ar : ac;
  const n = tb ? br : bc;
  const out = new Float64Array(batch * m * n);
  for (let p = 0; p < batch; p++) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let q = 0; q < k; q++) {
          const av = ta ? a[p * ar * ac + q * ac + i] : a[p * ar * ac + i * ac + q];
          const bv = tb ? b[p * br * bc + j * bc + q] : b[p * br * bc + q * bc + j];
          s += av * bv;
        }
        out[p * m * n + i * n + j] = s;
      }
    }
  }
  return out;
}

test('auto-selection picks the OpenBLAS kernels where they are built, then tfjs-node, else wasm, and says why, in one line', async () => {
  const info = await initBackend({ quiet: true });
  assert.equal(info.name, EXPECTED);
  assert.equal(info.tfjsVersion, tf.version.tfjs);
  assert.equal(typeof info.simd, 'boolean');
  assert.ok(info.threads >= 1);
  if (EXPECTED === 'native') assert.equal(info.reason, 'the OpenBLAS kernels are built');
  else if (!NATIVE_INSTALLED) assert.match(info.reason, /tfjs-node is not installed/);
  if (EXPECTED === 'native') {
    assert.equal(info.tfjsBackend, 'wasm');
    assert.deepEqual(info.nativeKernels, ['BatchMatMul', '_FusedMatMul']);
    assert.match(info.blas?.library ?? '', /^OpenBLAS \d/);
  }
  const r = runSnippet(
    "require('./lib/src/backend').initBackend().then(i => console.log('name=' + i.name)); ",
    { KDLAB_BACKEND: '' },
  );
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 2, `one backend line plus ours, got:\n${r.stdout}`);
  assert.match(lines[0], new RegExp(`^kdlab: tfjs \\S+ backend ${EXPECTED}`));
  assert.doesNotMatch(r.stdout + r.stderr, /Hi, looks like you are running TensorFlow\.js in Node/);
});

test('KDLAB_BACKEND=cpu forces the cpu backend; the tfjs-node banner stays silent', () => {
  const r = runSnippet(
    "const k=require('./lib/src/backend'); const tf=require('@tensorflow/tfjs'); k.initBackend().then(i => { tf.add(tf.scalar(1), tf.scalar(2)).dataSync(); console.log('name=' + i.name); });",
    { KDLAB_BACKEND: 'cpu' },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /name=cpu/);
  assert.match(r.stdout, /forced by KDLAB_BACKEND=cpu/);
  assert.doesNotMatch(r.stdout + r.stderr, /looks like you are running TensorFlow\.js/);
});

test('a forced backend that is absent, or an unknown name, is a clear error', () => {
  const absent = NATIVE_INSTALLED ? null : runSnippet(
    "require('./lib/src/backend').initBackend({quiet:true}).catch(e => { console.log(e.code + ': ' + e.message); process.exit(3); });",
    { KDLAB_BACKEND: 'tensorflow' },
  );
  if (absent) {
    assert.equal(absent.status, 3);
    assert.match(absent.stdout, /BACKEND_UNAVAILABLE: KDLAB_BACKEND=tensorflow was requested but is not available/);
    assert.match(absent.stdout, /unset KDLAB_BACKEND/);
  }

  const unknown = runSnippet(
    "try { require('./lib/src/backend').initBackend({quiet:true}).catch(e => { console.log(e.message); process.exit(3); }); } catch (e) { console.log(e.message); process.exit(3); }",
    { KDLAB_BACKEND: 'gpu' },
  );
  assert.equal(unknown.status, 3);
  assert.match(unknown.stdout, /KDLAB_BACKEND=gpu is not a backend this workbook knows\. Use one of native, tensorflow, wasm, cpu/);
});

test('fixed wasm matMul equals the stock kernel (1e-5) and a float64 reference, all transposes, batched and odd shapes', async () => {
  await initBackend({ quiet: true, backend: 'wasm' });
  const before = tf.memory().numTensors;
  const shapes: Array<{ batch: number; m: number; k: number; n: number }> = [
    { batch: 1, m: 7, k: 13, n: 5 },
    { batch: 3, m: 17, k: 9, n: 11 },
    { batch: 1, m: 1, k: 31, n: 1 },
    { batch: 2, m: 64, k: 33, n: 65 },
  ];
  for (const { batch, m, k, n } of shapes) {
    for (const ta of [false, true]) {
      for (const tb of [false, true]) {
        const aShape = ta ? [batch, k, m] : [batch, m, k];
        const bShape = tb ? [batch, n, k] : [batch, k, n];
        const a = tf.randomNormal(aShape, 0, 1, 'float32', 11);
        const b = tf.randomNormal(bShape, 0, 1, 'float32', 12);
        const a2 = batch === 1 ? a.squeeze([0]) : a;
        const b2 = batch === 1 ? b.squeeze([0]) : b;
        const fixed = tf.matMul(a2, b2, ta, tb);
        const stock = stockWasmMatMul(a2, b2, ta, tb);
        assert.deepEqual(fixed.shape, batch === 1 ? [m, n] : [batch, m, n]);
        assert.deepEqual(stock.shape, fixed.shape);
        const f = fixed.dataSync();
        const s = stock.dataSync();
        const ref = referenceMatMul(a.dataSync() as Float32Array, aShape, b.dataSync() as Float32Array, bShape, ta, tb);
        for (let i = 0; i < f.length; i++) {
          assert.ok(Math.abs(f[i] - s[i]) <= 1e-5 * Math.max(1, Math.abs(s[i])), `stock vs fixed at ${i}: ${s[i]} vs ${f[i]} (ta=${ta}, tb=${tb}, ${m}x${k}x${n})`);
          assert.ok(Math.abs(f[i] - ref[i]) <= 1e-4 * Math.max(1, Math.abs(ref[i])), `reference at ${i}`);
        }
        tf.dispose([a, b, a2, b2, fixed, stock]);
      }
    }
  }
  assert.equal(tf.memory().numTensors, before, 'no tensors leaked');
});

test('gradients through transposed products (a dense layer backward pass) match the float64 reference', async () => {
  await initBackend({ quiet: true });
  // d/dW sum(x·W) = xᵀ·1, which tfjs computes with a transposed matMul.
  const x = tf.randomNormal([5, 3], 0, 1, 'float32', 3);
  const w = tf.randomNormal([3, 4], 0, 1, 'float32', 4);
  const g = tf.grad((W: tf.Tensor) => tf.matMul(x, W).sum())(w);
  const xs = x.dataSync();
  const gs = g.dataSync();
  for (let i = 0; i < 3; i++) {
    let colSum = 0;
    for (let r = 0; r < 5; r++) colSum += xs[r * 3 + i];
    for (let j = 0; j < 4; j++) assert.ok(Math.abs(gs[i * 4 + j] - colSum) < 1e-5);
  }
  tf.dispose([x, w, g]);
});
