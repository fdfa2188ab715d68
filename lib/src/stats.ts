import { InputError } from './errors';

/** Summaries over seeds (mean and sample standard deviation, and how they are printed) and the binomial interval of an error count. */

export interface MeanSd {
  mean: number;
  /** Sample standard deviation (n − 1); 0 for a single value. */
  sd: number;
  n: number;
}

/** Mean and sample standard deviation of `xs` (at least one value). */
export function meanSd(xs: readonly number[]): MeanSd {
  if (xs.length === 0 || xs.some((x) => !Number.isFinite(x))) {
    throw new InputError('BAD_INPUT', `meanSd needs at least one finite number, got [${xs.join(', ')}].`);
  }
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, sd, n };
}

/** "412.3 ± 17.0" with `digits` decimals. */
export function formatMeanSd(m: MeanSd, digits = 1): string {
  return `${m.mean.toFixed(digits)} ± ${m.sd.toFixed(digits)}`;
}

/** A range of error counts. */
export interface Interval {
  low: number;
  high: number;
}

/**
 * Wilson score interval for `errors` out of `n` test images, as error counts (default 95%,
 * z = 1.96): the uncertainty a finite test set puts on an error rate. Non-integer `errors` (a
 * mean over seeds) are allowed.
 */
export function binomialInterval(errors: number, n: number, z = 1.959963984540054): Interval {
  if (!(Number.isInteger(n) && n > 0)) throw new InputError('BAD_INPUT', `binomialInterval: n must be a positive integer, got ${n}.`);
  if (!(errors >= 0 && errors <= n)) throw new InputError('BAD_INPUT', `binomialInterval: errors must be in [0, ${n}], got ${errors}.`);
  if (!(z > 0 && Number.isFinite(z))) throw new InputError('BAD_INPUT', `binomialInterval: z must be > 0, got ${z}.`);
  const p = errors / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return { low: n * Math.max(0, centre - half), high: n * Math.min(1, centre + half) };
}
