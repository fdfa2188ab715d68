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

/**
 * Two-sided 95% quantiles of Student's t for 1..30 degrees of freedom (t_{0.975, df}), from the
 * standard tables; beyond 30 the normal's 1.96 is within 4%.
 */
const T_975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11,
  2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/** t_{0.975, df}: the half-width factor of a 95% interval on a mean of df + 1 values. */
export function tQuantile975(df: number): number {
  if (!(Number.isInteger(df) && df >= 1)) throw new InputError('BAD_INPUT', `tQuantile975: df must be a positive integer, got ${df}.`);
  return T_975[df - 1] ?? 1.959963984540054;
}

/** A − B over paired runs (the same seed for both), with its 95% t interval and a count of wins. */
export interface PairedDifference extends MeanSd {
  /** 95% t interval of the mean difference (n − 1 degrees of freedom). */
  interval: Interval;
  /** Pairs where A is lower than B (fewer errors: A better). */
  lower: number;
}

/**
 * The paired difference A − B (e.g. test errors of two methods trained from the same seeds):
 * "A beats B" is a statement about this interval, not about two means read side by side. Needs
 * at least two pairs; a single pair has no spread to speak of.
 */
export function pairedDifference(a: readonly number[], b: readonly number[]): PairedDifference {
  if (a.length !== b.length) {
    throw new InputError('SHAPE_MISMATCH', `pairedDifference: ${a.length} values of A against ${b.length} of B; pair them by seed, one of each per seed.`);
  }
  if (a.length < 2) throw new InputError('BAD_INPUT', `pairedDifference needs at least 2 pairs (seeds), got ${a.length}: one pair has no spread.`);
  const d = meanSd(a.map((x, i) => x - (b[i] as number)));
  const half = (tQuantile975(d.n - 1) * d.sd) / Math.sqrt(d.n);
  const lower = a.filter((x, i) => x < (b[i] as number)).length;
  return { ...d, interval: { low: d.mean - half, high: d.mean + half }, lower };
}

/** "−28.3 (95% CI −61.0 to 4.4; lower on 3 of 3 seeds)" with `digits` decimals. */
export function formatPairedDifference(d: PairedDifference, digits = 1): string {
  const f = (x: number): string => (x < 0 ? `−${(-x).toFixed(digits)}` : x.toFixed(digits));
  return `${f(d.mean)} (95% CI ${f(d.interval.low)} to ${f(d.interval.high)}; lower on ${d.lower} of ${d.n} seeds)`;
}
