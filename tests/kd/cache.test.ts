import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../lib/src/backend';
import { readCachedLogits, setContentHash, teacherLogitsCached, teacherLogitsDir, weightsHash } from '../../lib/src/cache';
import { PIXELS, type DigitSet } from '../../lib/src/data';
import { predictLogits } from '../../lib/src/evaluate';
import { WORKER_BLAS_THREADS, withBlasThreadsSync } from '../../lib/src/kernels/native';
import { createTeacher } from '../../lib/src/models';
import { rng } from './reference';

function randomSet(id: string, n: number, seed: number): DigitSet {
  const r = rng(seed);
  return {
    id,
    images: Float32Array.from({ length: n * PIXELS }, () => r()),
    labels: Uint8Array.from({ length: n }, () => Math.floor(r() * 10)),
    size: n,
  };
}

test('teacher-logit cache: computed once, reused, invalidated by any change of weights, slice or preprocessing', async () => {
  await initBackend({ quiet: true });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kdlab-cache-'));
  const saved = process.env.KDLAB_CACHE_DIR;
  process.env.KDLAB_CACHE_DIR = dir;
  try {
    assert.equal(teacherLogitsDir(), path.join(dir, 'teacher-logits'));
    const teacher = createTeacher({ hidden: [32, 16], seed: 3 });
    const set = randomSet('random:20', 20, 1);
    const first = teacherLogitsCached(teacher, set);
    assert.equal(first.hit, false);
    assert.ok(fs.existsSync(first.file));
    assert.ok(first.file.startsWith(path.join(dir, 'teacher-logits')));
    // Inference mode (dropout off), at the grid workers' BLAS thread count.
    assert.deepEqual(first.logits, withBlasThreadsSync(WORKER_BLAS_THREADS, () => predictLogits(teacher, set)));
    const second = teacherLogitsCached(teacher, set);
    assert.equal(second.hit, true);
    assert.equal(second.key, first.key);
    assert.deepEqual(second.logits, first.logits);
    assert.deepEqual(readCachedLogits(first.file), first.logits);

    // Same slice id, different content: the content hash changes the key.
    const lookalike = randomSet('random:20', 20, 2);
    assert.notEqual(setContentHash(lookalike), setContentHash(set));
    const other = teacherLogitsCached(teacher, lookalike);
    assert.equal(other.hit, false);
    assert.notEqual(other.key, first.key);

    // A different slice id with the same content is a different key too.
    assert.notEqual(teacherLogitsCached(teacher, { ...set, id: 'random:20b' }).key, first.key);

    // Preprocessing tag.
    const jit = teacherLogitsCached(teacher, set, { preprocessing: 'jitter2' });
    assert.equal(jit.hit, false);
    assert.notEqual(jit.key, first.key);

    // The teacher's weights change (one bias nudged): new key, fresh logits.
    const hashBefore = weightsHash(teacher);
    const bias = teacher.layers[teacher.layers.length - 1].getWeights()[1];
    const nudged = tf.tidy(() => bias.add(tf.oneHot(tf.tensor1d([3], 'int32'), 10).reshape([10]).toFloat()));
    teacher.layers[teacher.layers.length - 1].setWeights([teacher.layers[teacher.layers.length - 1].getWeights()[0], nudged]);
    nudged.dispose();
    assert.notEqual(weightsHash(teacher), hashBefore);
    const retrained = teacherLogitsCached(teacher, set);
    assert.equal(retrained.hit, false);
    assert.notEqual(retrained.key, first.key);
    assert.ok(Math.abs(retrained.logits[3] - first.logits[3] - 1) < 1e-5);

    // A truncated cache file is recomputed, not trusted.
    fs.writeFileSync(retrained.file, Buffer.alloc(12));
    const recomputed = teacherLogitsCached(teacher, set);
    assert.equal(recomputed.hit, false);
    assert.deepEqual(recomputed.logits, retrained.logits);
    assert.equal(fs.statSync(retrained.file).size, 20 * 10 * 4);
    // No temp files left behind by the atomic writes.
    assert.deepEqual(fs.readdirSync(path.join(dir, 'teacher-logits')).filter((f) => f.endsWith('.tmp')), []);
    teacher.dispose();
  } finally {
    if (saved === undefined) delete process.env.KDLAB_CACHE_DIR;
    else process.env.KDLAB_CACHE_DIR = saved;
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
