import { InputError } from './errors';

/** Summaries over seeds: mean and sample standard deviation, and how they are printed. */

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
