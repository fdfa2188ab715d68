/**
 * Transfer sets (fraction, without some digits, only some digits) and the bias-shift search of
 * notebook 06, against counts worked out by hand.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { biasShiftStudy, bestShift, errorsWithShift, shiftGrid, type ScoredSplit } from '../../lib/src/bias-shift';
import { chapterConfig } from '../../lib/src/chapter';
import { PIXELS, loadSplits, take, type DigitSet } from '../../lib/src/data';
import { buildTransferSet, classCounts, transferLogits, transferSetFraction, transferSetOnly, transferSetWithout } from '../../lib/src/data/transfer-set';
import { InputError } from '../../lib/src/errors';

/** 30 images, label i % 10, every pixel of image i equal to i / 100: rows are recognisable. */
function toyPool(n = 30): DigitSet {
  const images = new Float32Array(n * PIXELS);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    images.fill(i / 100, i * PIXELS, (i + 1) * PIXELS);
    labels[i] = i % 10;
  }
  return { id: 'toy:train', images, labels, size: n };
}

const codeOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof InputError, `expected an InputError, got ${String(e)}`);
    return e.code;
  }
  return 'no error';
};

test('transfer sets: class filters keep exactly the rows worked out by hand', () => {
  const pool = toyPool();
  const no3 = transferSetWithout(pool, [3]);
  assert.deepEqual(Array.from(no3.poolIndices), [...Array(30).keys()].filter((i) => i % 10 !== 3));
  assert.deepEqual(classCounts(no3), [3, 3, 3, 0, 3, 3, 3, 3, 3, 3]);
  const only = transferSetOnly(pool, [8, 7, 7]);
  assert.deepEqual(Array.from(only.poolIndices), [7, 8, 17, 18, 27, 28]);
  assert.deepEqual(Array.from(only.labels), [7, 8, 7, 8, 7, 8]);
  // Each row's pixels are the pool row's (image i is filled with i / 100).
  only.poolIndices.forEach((i, r) => assert.equal(only.images[r * PIXELS + 100], Math.fround(i / 100)));
  assert.match(only.id, /only=7\+8/);
  assert.equal(only.poolId, 'toy:train');
});

test('transfer sets: a fraction is a seeded sample of round(f · n) distinct rows', () => {
  const pool = toyPool();
  const a = transferSetFraction(pool, 0.3, 1);
  assert.equal(a.size, 9);
  assert.deepEqual(Array.from(transferSetFraction(pool, 0.3, 1).poolIndices), Array.from(a.poolIndices), 'same seed, same rows');
  assert.notDeepEqual(Array.from(transferSetFraction(pool, 0.3, 2).poolIndices), Array.from(a.poolIndices), 'another seed, other rows');
  assert.equal(new Set(a.poolIndices).size, 9);
  assert.deepEqual(Array.from(a.poolIndices), [...a.poolIndices].sort((x, y) => x - y));
  assert.equal(transferSetFraction(pool, 0.001).size, 1, 'at least one image');
  assert.equal(transferSetFraction(pool, 1).size, 30);
  // Filters first, then the fraction of what remains: 27 images without 3s, half of them → 14.
  const both = buildTransferSet(pool, { exclude: [3], fraction: 0.5, seed: 0 });
  assert.equal(both.size, 14);
  assert.equal(classCounts(both)[3], 0);
});

test('transfer sets: bad input names the problem', () => {
  const pool = toyPool();
  for (const f of [0, -0.1, 1.5, Number.NaN]) assert.equal(codeOf(() => transferSetFraction(pool, f)), 'BAD_FRACTION', `fraction ${f}`);
  for (const c of [[10], [-1], [2.5], []]) assert.equal(codeOf(() => transferSetWithout(pool, c)), 'BAD_CLASSES', `classes ${JSON.stringify(c)}`);
  assert.equal(codeOf(() => buildTransferSet(pool, { keep: [7], exclude: [3] })), 'BAD_CLASSES');
  assert.equal(codeOf(() => transferSetOnly(transferSetWithout(pool, [3]), [3])), 'EMPTY_TRANSFER_SET');
  assert.equal(codeOf(() => transferSetWithout(pool, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])), 'EMPTY_TRANSFER_SET');
  assert.equal(codeOf(() => transferLogits(new Float32Array(50), transferSetWithout(pool, [3]))), 'TEACHER_LOGITS_MISMATCH');
});

test('transfer sets: drawn from the training split only, never from validation or test (MNIST)', () => {
  const splits = loadSplits({ validationSize: 5000, seed: 0 });
  assert.equal(codeOf(() => transferSetWithout(splits.validation, [3])), 'HELD_OUT_POOL');
  assert.equal(codeOf(() => transferSetFraction(splits.test, 0.5)), 'HELD_OUT_POOL');
  const pool = take(splits.train, 10000);
  const no3 = transferSetWithout(pool, [3]);
  let threes = 0;
  for (let i = 0; i < pool.size; i++) threes += pool.labels[i] === 3 ? 1 : 0;
  assert.equal(no3.size, pool.size - threes);
  const hashes = (set: DigitSet) => {
    const out = new Set<string>();
    for (let i = 0; i < set.size; i++) {
      out.add(crypto.createHash('sha1').update(set.images.subarray(i * PIXELS, (i + 1) * PIXELS)).digest('hex'));
    }
    return out;
  };
  const held = hashes(splits.validation);
  for (const h of hashes(splits.test)) held.add(h);
  const shared = [...hashes(transferSetFraction(pool, 0.1, 0))].filter((h) => held.has(h));
  // MNIST has a handful of byte-identical images across its files; none may come from the split.
  assert.ok(shared.length <= 2, `${shared.length} transfer images equal validation/test images`);
  const only = transferSetOnly(pool, [7, 8]);
  const counts = classCounts(only);
  assert.deepEqual(counts.map((n, d) => (d === 7 || d === 8 ? n > 0 : n === 0)), Array(10).fill(true));
});

test('transferLogits: the pool rows of the set, in order', () => {
  const pool = toyPool(12);
  const logits = Float32Array.from({ length: 120 }, (_, k) => k);
  const set = transferSetOnly(pool, [1]);
  assert.deepEqual(Array.from(set.poolIndices), [1, 11]);
  assert.deepEqual(Array.from(transferLogits(logits, set)), [...Array.from({ length: 10 }, (_, k) => 10 + k), ...Array.from({ length: 10 }, (_, k) => 110 + k)]);
});

/** Rows of logits: the true class gets `margin` below (negative) or above the runner-up 0. */
function scored(split: 'validation' | 'test', rows: Array<{ y: number; best: number; gap: number }>): ScoredSplit {
  const logits = new Float32Array(rows.length * 10);
  rows.forEach((r, i) => {
    logits[i * 10 + r.best] = 5;
    if (r.y !== r.best) logits[i * 10 + r.y] = 5 - r.gap;
  });
  return { split, logits, labels: rows.map((r) => r.y) };
}

test('errorsWithShift: counts by hand', () => {
  // Two 3s predicted 5 (gaps 1 and 4), one 3 right, one 5 right, one 7 predicted 3.
  const s = scored('validation', [{ y: 3, best: 5, gap: 1 }, { y: 3, best: 5, gap: 4 }, { y: 3, best: 3, gap: 0 }, { y: 5, best: 5, gap: 0 }, { y: 7, best: 3, gap: 2 }]);
  const at0 = errorsWithShift(s, [3], 0);
  assert.equal(at0.errors, 3);
  assert.deepEqual(at0.errorsByClass, [0, 0, 0, 2, 0, 0, 0, 1, 0, 0]);
  assert.deepEqual(at0.countByClass, [0, 0, 0, 3, 0, 1, 0, 1, 0, 0]);
  // +2: the first 3 (gap 1) flips to right; the 5 (logit of 3 at 0 + 2 < 5) stays right.
  assert.equal(errorsWithShift(s, [3], 2).errors, 2);
  // +5: both 3s right (gap 4 < 5), but the 5 now reads 3 (0 + 5 = 5 ties; first maximum is 3).
  assert.deepEqual(errorsWithShift(s, [3], 5).errorsByClass, [0, 0, 0, 0, 0, 1, 0, 1, 0, 0]);
  // −3 on 3: the 7 predicted 3 becomes right (logit 7 is 3 > 5 − 3 = 2).
  assert.equal(errorsWithShift(s, [3], -3).errorsByClass[7], 0);
  assert.deepEqual(shiftGrid(-1, 1, 0.5), [-1, -0.5, 0, 0.5, 1]);
  assert.equal(shiftGrid(-30, 30, 0.1).length, 601);
  assert.ok(shiftGrid(-30, 30, 0.1).includes(0));
});

test('bestShift: fewest errors; among ties the shift closest to 0', () => {
  const s = scored('validation', [{ y: 3, best: 5, gap: 1 }, { y: 3, best: 5, gap: 4 }, { y: 5, best: 5, gap: 0 }]);
  // Errors: shift < 1 → 2; 1 < shift ≤ 4 → 1; 4 < shift < 5 → 0; shift ≥ 5 → 1 (the 5 flips to 3).
  const { best, curve } = bestShift(s, [3], [0, 1.5, 4.5, 4.8, 6]);
  assert.deepEqual(curve.map((c) => c.errors), [2, 1, 0, 0, 1]);
  assert.equal(best.shift, 4.5);
  assert.equal(bestShift(s, [3], [-2, 2, 3]).best.shift, 2, 'tie between 2 and 3: closer to 0');
  assert.equal(bestShift(s, [3], [-2, 0, 2]).best.shift, 2);
});

test('biasShiftStudy: the shift is chosen on validation; the test optimum only when asked', () => {
  const validation = scored('validation', [{ y: 3, best: 5, gap: 1 }, { y: 3, best: 5, gap: 1.7 }, { y: 8, best: 8, gap: 0 }]);
  // On test the 3s need +3, and a shift of 2 already costs nothing: its optimum differs.
  const test = scored('test', [{ y: 3, best: 5, gap: 2.5 }, { y: 3, best: 5, gap: 2.8 }, { y: 3, best: 5, gap: 1 }]);
  const shifts = shiftGrid(0, 4, 0.5);
  const s = biasShiftStudy({ classes: [3], shifts, validation, test });
  assert.equal(s.chosenShift, 2, 'validation: 0 errors from 2 on (1.7 < 2), closest to 0');
  assert.equal(s.validation.atZero.errors, 2);
  assert.equal(s.validation.atChosen.errors, 0);
  assert.equal(s.test.atZero.errors, 3);
  assert.equal(s.test.atChosen.errors, 2, 'at +2 only the gap-1 three is fixed on test');
  assert.equal(s.testOptimum, null, 'the test set is not searched unless asked');
  const peek = biasShiftStudy({ classes: [3], shifts, validation, test, reportTestOptimum: true });
  assert.equal(peek.chosenShift, 2, 'asking for the report does not change the choice');
  assert.equal(peek.testOptimum?.shift, 3);
  assert.equal(peek.testOptimum?.atOptimum.errors, 0);
  assert.equal(codeOf(() => biasShiftStudy({ classes: [3], shifts, validation: test, test })), 'TEST_SET_PEEK');
  assert.equal(codeOf(() => biasShiftStudy({ classes: [12], shifts, validation, test })), 'BAD_CLASSES');
  assert.equal(codeOf(() => errorsWithShift({ ...validation, logits: new Float32Array(7) }, [3], 0)), 'SHAPE_MISMATCH');
});

test('chapter settings for notebook 06: the paper\'s fractions, at least 3 seeds, same steps in both modes\' runs', () => {
  for (const mode of ['quick', 'full'] as const) {
    const g = chapterConfig(mode).generalization;
    assert.deepEqual(g.fractions, [0.01, 0.03, 0.1, 0.3, 1]);
    assert.ok(g.seeds >= 3);
    assert.deepEqual(g.hidden, [800, 800]);
    assert.deepEqual(g.omitted, [3]);
    assert.deepEqual(g.kept, [7, 8]);
  }
  assert.equal(chapterConfig('full').generalization.poolSize, null, 'full mode draws from all 55,000 training images');
});
