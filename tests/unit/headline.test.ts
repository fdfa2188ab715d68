/** The headline summary over seeds: mean ± sample sd, paired differences, wins. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../../lib/src/errors';
import { summarize } from '../../lib/src/headline';
import { formatMeanSd, meanSd } from '../../lib/src/stats';

test('meanSd: mean and sample standard deviation (n − 1)', () => {
  const m = meanSd([1, 2, 3, 4]);
  assert.equal(m.mean, 2.5);
  assert.ok(Math.abs(m.sd - Math.sqrt(5 / 3)) < 1e-12);
  assert.equal(m.n, 4);
  assert.deepEqual(meanSd([7]), { mean: 7, sd: 0, n: 1 });
  assert.equal(formatMeanSd({ mean: 467, sd: 17.78, n: 3 }), '467.0 ± 17.8');
  assert.throws(() => meanSd([]), InputError);
  assert.throws(() => meanSd([1, Number.NaN]), InputError);
});

test('summarize: paired differences per seed, not the difference of the means alone', () => {
  const score = (testErrors: number) => ({ valAccuracy: 0.9, testAccuracy: 1 - testErrors / 10000, testErrors });
  const runs = [
    { seed: 0, scratch: score(481), distilled: score(393) },
    { seed: 1, scratch: score(447), distilled: score(396) },
    { seed: 2, scratch: score(400), distilled: score(403) },
  ];
  const s = summarize([800, 800], runs);
  assert.equal(s.scratchErrors.mean, (481 + 447 + 400) / 3);
  assert.equal(s.distilledErrors.mean, (393 + 396 + 403) / 3);
  assert.deepEqual(meanSd([88, 51, -3]), s.errorsSaved);
  assert.equal(s.distilledWins, 2);
});
