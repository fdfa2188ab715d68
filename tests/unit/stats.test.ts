/**
 * Summaries that several notebooks print: the Wilson interval of an error count (notebook 07's
 * table), against values worked out by hand.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../../lib/src/errors';
import { binomialInterval, formatPairedDifference, pairedDifference, tQuantile975 } from '../../lib/src/stats';

const near = (a: number, b: number, tol: number, what: string) => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

test('binomialInterval is the Wilson 95% interval, checked against hand-worked values', () => {
  // 67 of 10,000, z = 1.96: p = 0.0067, centre (p + z²/2n)/(1 + z²/n) = 0.0068894,
  // half-width z/(1 + z²/n)·√(p(1−p)/n + z²/4n²) = 0.0016098 → 52.796 .. 84.992 errors.
  const i = binomialInterval(67, 10000);
  near(i.low, 52.796, 0.001, 'low');
  near(i.high, 84.992, 0.001, 'high');
  // 0 of 100: the lower end is 0, the upper z²/(n + z²)·n = 3.8415/103.8415·100 = 3.6993.
  const z = binomialInterval(0, 100);
  near(z.low, 0, 1e-12, 'low at 0');
  near(z.high, 3.6993, 1e-4, 'high at 0');
  // Symmetric: k errors and n − k correct give mirrored intervals.
  const a = binomialInterval(30, 200);
  const b = binomialInterval(170, 200);
  near(a.low, 200 - b.high, 1e-9, 'mirror');
  // A mean over seeds need not be an integer: 94.5 of 10,000 lies inside its own interval.
  const m = binomialInterval(94.5, 10000);
  assert.ok(m.low < 94.5 && 94.5 < m.high);
  for (const [k, n] of [[-1, 10], [11, 10], [1, 0]]) {
    assert.throws(() => binomialInterval(k, n), (e: unknown) => e instanceof InputError && e.code === 'BAD_INPUT');
  }
});

test('pairedDifference: hand-worked 3 seeds, t interval with 2 degrees of freedom', () => {
  // differences 10-20 = -10, 14-20 = -6, 30-28 = 2: mean -14/3, sd sqrt(((−10+14/3)²+(−6+14/3)²+(2+14/3)²)/2)
  const d = pairedDifference([10, 14, 30], [20, 20, 28]);
  const mean = -14 / 3;
  const sd = Math.sqrt(((-10 - mean) ** 2 + (-6 - mean) ** 2 + (2 - mean) ** 2) / 2);
  assert.ok(Math.abs(d.mean - mean) < 1e-12);
  assert.ok(Math.abs(d.sd - sd) < 1e-12);
  const half = (4.303 * sd) / Math.sqrt(3);
  assert.ok(Math.abs(d.interval.low - (mean - half)) < 1e-9 && Math.abs(d.interval.high - (mean + half)) < 1e-9);
  assert.equal(d.lower, 2);
  assert.equal(formatPairedDifference(d), '−4.7 (95% CI −19.8 to 10.5; lower on 2 of 3 seeds)');
});

test('pairedDifference refuses unpaired or single values; t quantiles match the tables', () => {
  assert.throws(() => pairedDifference([1, 2], [1]), /SHAPE_MISMATCH|pair them by seed/);
  assert.throws(() => pairedDifference([1], [2]), /at least 2 pairs/);
  assert.equal(tQuantile975(1), 12.706);
  assert.equal(tQuantile975(4), 2.776);
  assert.ok(Math.abs(tQuantile975(1000) - 1.96) < 1e-3);
  assert.throws(() => tQuantile975(0), /positive integer/);
});
