/**
 * kdlab's export module (issue 29) in Node: half-float and uint8 encodings against their
 * definitions, layers-model export → model.json + weights → tf.loadLayersModel with tfjs's own
 * dequantization, tensor discipline, MNIST preprocessing of a drawn digit, the live distillation
 * loop, and the playground bundle (built from the library's sources, no Node code in it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createStudent, createTeacher, initBackend, loadSplits, tf, take } from 'kdlab';
import {
  exportLayersModel, float16Bits, float16Value, InputError, layersModelJson, LiveStudent, loadExportedModel, mnistPreprocess,
  parseLayersModelJson, PIXELS, quantizeWeights, uint8Range, accuracyOf,
} from 'kdlab/browser';
import { bundlePlaygroundScript } from '../../tools/src/playground/bundle';

function logitsOf(model: tf.LayersModel, images: Float32Array): Float32Array {
  return tf.tidy(() => (model.predict(tf.tensor2d(images, [images.length / PIXELS, PIXELS])) as tf.Tensor).dataSync() as Float32Array);
}

function randomImages(n: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n * PIXELS }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  });
}

test('float16Bits rounds to the nearest half float; float16Value reads it back', () => {
  const cases: [number, number][] = [
    [0, 0x0000], [-0, 0x8000], [1, 0x3c00], [-2, 0xc000], [0.5, 0x3800], [65504, 0x7bff], [1e6, 0x7c00], [-Infinity, 0xfc00],
    [2 ** -24, 0x0001], [2 ** -14, 0x0400], [1 + 2 ** -11, 0x3c00], [1 + 3 * 2 ** -11, 0x3c02], [0.1, 0x2e66],
  ];
  for (const [v, bits] of cases) assert.equal(float16Bits(v), bits, `float16Bits(${v})`);
  assert.ok(Number.isNaN(float16Value(float16Bits(NaN))));
  for (let i = 0; i < 2000; i++) {
    const v = (Math.sin(i * 12.9898) * 43758.5453) % 4;
    const back = float16Value(float16Bits(v));
    assert.ok(Math.abs(back - v) <= Math.max(Math.abs(v) * 2 ** -11, 2 ** -25), `${v} → ${back}`);
  }
});

test('uint8 ranges keep zero exact and cover the values', () => {
  const values = Float32Array.from([-0.37, 0, 0.11, 0.9]);
  const { scale, min } = uint8Range(values);
  assert.ok(Number.isInteger(-min / scale + 1e-9) || Math.abs(Math.round(-min / scale) - -min / scale) < 1e-6, 'zero is a grid point');
  assert.ok(min <= -0.37 + scale / 2 && min + 255 * scale >= 0.9 - scale / 2);
  assert.deepEqual(uint8Range(new Float32Array(4)), { scale: 1, min: 0 });
});

test('exported models load back through tfjs: float32 bit for bit, float16 and uint8 within their step', async () => {
  await initBackend({ quiet: true });
  const model = createStudent({ hidden: [40, 20], seed: 5 });
  const images = randomImages(16, 7);
  const reference = logitsOf(model, images);
  const baseline = tf.memory().numTensors;
  const sizes: Record<string, number> = {};
  for (const quantization of ['float32', 'float16', 'uint8'] as const) {
    const exported = await exportLayersModel(model, { quantization });
    assert.equal(tf.memory().numTensors, baseline, `exportLayersModel(${quantization}) left tensors behind`);
    sizes[quantization] = exported.weightData.byteLength;
    // Through model.json and one weight file, as a browser would read them.
    const json = JSON.parse(JSON.stringify(layersModelJson(exported, 'w.bin'))) as unknown;
    const back = parseLayersModelJson(json, exported.weightData.slice(0));
    assert.equal(back.quantization, quantization);
    const loaded = await loadExportedModel(back);
    const got = logitsOf(loaded, images);
    loaded.dispose();
    assert.equal(tf.memory().numTensors, baseline, `loading the ${quantization} model and disposing it left tensors behind`);
    let worst = 0;
    for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - reference[i]));
    const bound = { float32: 0, float16: 5e-3, uint8: 0.25 }[quantization];
    assert.ok(worst <= bound, `${quantization}: logits moved by ${worst}`);
    assert.equal(Array.from(got).length, 16 * 10);
  }
  const params = (784 * 40 + 40) + (40 * 20 + 20) + (20 * 10 + 10);
  assert.deepEqual(sizes, { float32: 4 * params, float16: 2 * params, uint8: params });
  model.dispose();
});

test('a teacher with dropout layers exports and loads in inference mode', async () => {
  await initBackend({ quiet: true });
  const teacher = createTeacher({ hidden: [32, 32], seed: 2 });
  const images = randomImages(4, 3);
  const exported = await exportLayersModel(teacher, { quantization: 'float16' });
  assert.ok(exported.weightSpecs.every((w) => w.quantization?.dtype === 'float16'));
  const loaded = await loadExportedModel(exported);
  assert.equal(loaded.layers.filter((l) => l.getClassName() === 'Dropout').length, 3);
  const a = logitsOf(teacher, images);
  const b = logitsOf(loaded, images);
  assert.ok(a.every((v, i) => Math.abs(v - b[i]) < 5e-3));
  teacher.dispose();
  loaded.dispose();
});

test('export errors name the problem and the fix', async () => {
  await assert.rejects(exportLayersModel({} as tf.LayersModel), (e: Error) => e instanceof InputError && /pass a tf\.LayersModel/.test(e.message));
  const m = createStudent({ hidden: [4], seed: 0 });
  await assert.rejects(exportLayersModel(m, { quantization: 'int4' as never }), (e: Error) => e instanceof InputError && /float32, float16, uint8/.test(e.message));
  const q = await exportLayersModel(m, { quantization: 'uint8' });
  assert.throws(() => quantizeWeights(q.weightSpecs, q.weightData, 'float16'), /already quantized/);
  assert.throws(() => parseLayersModelJson({ format: 'x' }, new ArrayBuffer(0)), /not a layers model\.json/);
  m.dispose();
});

test('mnistPreprocess: MNIST test digits drawn ten times larger come back as themselves', () => {
  const { test: set } = loadSplits({ validationSize: 5000, seed: 0 });
  const W = 280;
  const cosines: number[] = [];
  for (let k = 0; k < 50; k++) {
    const digit = set.images.subarray(k * PIXELS, (k + 1) * PIXELS);
    const big = new Float32Array(W * W);
    for (let y = 0; y < W; y++) for (let x = 0; x < W; x++) big[y * W + x] = digit[Math.floor(y / 10) * 28 + Math.floor(x / 10)];
    const out = mnistPreprocess(big, W, W);
    let dot = 0;
    let na = 0;
    let nb = 0;
    for (let i = 0; i < PIXELS; i++) {
      dot += out[i] * digit[i];
      na += out[i] ** 2;
      nb += digit[i] ** 2;
    }
    cosines.push(dot / Math.sqrt(na * nb));
  }
  // MNIST fitted each digit to 20×20 and centred it by mass; a digit wider than 20 pixels (faint
  // anti-aliased edges) is shrunk slightly here, and centring may round the other way by a pixel.
  const exact = cosines.filter((c) => c > 0.999).length;
  console.log(`  ${exact} of 50 test digits reproduced exactly; lowest cosine ${Math.min(...cosines).toFixed(3)}`);
  assert.ok(exact >= 45, `only ${exact} of 50 digits come back exactly`);
  assert.deepEqual(Array.from(mnistPreprocess(new Float32Array(100), 10, 10)), new Array(PIXELS).fill(0));
  assert.throws(() => mnistPreprocess(new Float32Array(10), 4, 4), /mnistPreprocess/);
});

test('LiveStudent: three epochs of the library loss on 2,000 images learn, and releases its tensors', async () => {
  await initBackend({ quiet: true });
  const { train: full, test: testSet } = loadSplits({ validationSize: 5000, seed: 0 });
  const train = take(full, 2000);
  const testImages = testSet.images.subarray(0, 500 * PIXELS);
  const baseline = tf.memory().numTensors;
  // Teacher logits stand-in: 5 on the label, 0 elsewhere (the page uses the real teacher's).
  const teacherLogits = new Float32Array(train.size * 10);
  for (let i = 0; i < train.size; i++) teacherLogits[i * 10 + train.labels[i]] = 5;
  const student = new LiveStudent({ hidden: [30, 30], alpha: 0.5, temperature: 4 });
  let epoch = await student.trainEpoch({ images: train.images, labels: train.labels, teacherLogits });
  for (let e = 1; e < 3; e++) epoch = await student.trainEpoch({ images: train.images, labels: train.labels, teacherLogits });
  const acc = accuracyOf(student.logits(testImages), testSet.labels.subarray(0, 500));
  console.log(`  3 epochs, 2,000 images: loss ${epoch.loss.toFixed(3)}, test accuracy ${(100 * acc).toFixed(1)}% (${epoch.seconds.toFixed(1)} s)`);
  assert.ok(acc > 0.7, `accuracy ${acc}`);
  student.dispose();
  assert.equal(tf.memory().numTensors, baseline);
  assert.throws(() => new LiveStudent({ hidden: [4], alpha: 2, temperature: 1 }), /alpha must be in \[0, 1\]/);
});

test('the playground bundle builds from the library sources with no Node module left to run', async () => {
  const b = await bundlePlaygroundScript();
  for (const f of ['models.ts', 'losses/kd.ts', 'softmax.ts', 'export/layers-model.ts', 'export/quantize.ts', 'export/live-train.ts', 'export/preprocess.ts']) {
    assert.ok(b.librarySources.some((s) => s.endsWith(f)), `${f} is not bundled`);
  }
  // The Node-only parts of training (checkpoints, the wasm optimizer, the run engine) stay out of the page.
  for (const f of ['checkpoint.ts', 'train/loop.ts', 'kernels/optimizer-wasm.ts', 'chapter.ts', 'runs/pool.ts']) {
    assert.ok(!b.librarySources.some((s) => s.endsWith(f)), `${f} is in the bundle`);
  }
  assert.ok(b.stubbedNodeModules.every((m) => ['crypto', 'fs', 'os', 'path', 'util', 'zlib'].includes(m)), `stubbed: ${b.stubbedNodeModules.join(', ')}`);
  assert.ok(b.bytes < 1_500_000, `bundle ${b.bytes} bytes`);
  assert.ok(!/require\("(node:)?fs"\)/.test(b.code));
  console.log(`  bundle ${(b.bytes / 1e3).toFixed(0)} kB from ${b.librarySources.length} library sources; Node built-ins stubbed: ${b.stubbedNodeModules.join(', ')}`);
});

test('kdlab playground: usage, bad flags, and a page asked for before any export say what to run', async () => {
  const { execFileSync } = await import('node:child_process');
  const fs = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');
  const cli = path.join(__dirname, '..', '..', 'tools', 'bin', 'kdlab.js');
  const run = (...args: string[]): { code: number; out: string } => {
    try {
      return { code: 0, out: execFileSync(process.execPath, [cli, 'playground', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }) };
    } catch (err) {
      const e = err as { status: number; stdout: string; stderr: string };
      return { code: e.status, out: `${e.stdout}${e.stderr}` };
    }
  };
  const help = run('--help');
  assert.equal(help.code, 0);
  assert.match(help.out, /float32, float16 and uint8/);
  assert.equal(run('--seed', '-1').code, 2);
  assert.equal(run('--bogus').code, 2);
  const { writePlaygroundPage } = await import('../../tools/src/playground/page');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kdlab-no-playground-'));
  try {
    await assert.rejects(writePlaygroundPage(dir, null), (e: Error & { code?: string }) => e.code === 'PLAYGROUND_MISSING' && /run `npx kdlab playground` first/.test(e.message));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
