/**
 * Summaries that several notebooks print: the Wilson interval of an error count (notebook 07's
 * table), against values worked out by hand.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../../lib/src/errors';
import { binomialInterval } from '../../lib/src/stats';

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
