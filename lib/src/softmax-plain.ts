import { InputError } from './errors';

/**
 * Temperature softmax on plain arrays, in float64: worked examples, tables, figure builders and
 * test references. Kept free of tfjs so that drawing a figure never loads TensorFlow.js.
 */

/** Throws unless T is a finite number > 0 (T = 0 divides by zero; T < 0 reverses the ranking). */
export function assertTemperature(T: number, where = 'temperature'): void {
  if (typeof T !== 'number' || !Number.isFinite(T) || T <= 0) {
    throw new InputError(
      'BAD_TEMPERATURE',
      `${where}: the temperature T must be a finite number > 0, got ${String(T)}. ` +
        'T = 1 is the ordinary softmax; Hinton et al. used T between 2 and 20.',
    );
  }
}

/** Plain float64 softmax(logits / T), for worked examples and reference values in tests. */
export function softmaxT(logits: readonly number[], T: number): number[] {
  assertTemperature(T, 'softmaxT');
  if (logits.length === 0) throw new InputError('BAD_RANK', 'softmaxT: logits must not be empty.');
  const scaled = logits.map((z) => z / T);
  const m = Math.max(...scaled);
  const e = scaled.map((s) => Math.exp(s - m));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / sum);
}

/** Plain float64 log softmax(logits / T). */
export function logSoftmaxT(logits: readonly number[], T: number): number[] {
  assertTemperature(T, 'logSoftmaxT');
  const scaled = logits.map((z) => z / T);
  const m = Math.max(...scaled);
  const lse = m + Math.log(scaled.reduce((a, s) => a + Math.exp(s - m), 0));
  return scaled.map((s) => s - lse);
}

/** Entropy in nats of a probability vector (plain JS). */
export function entropyOf(probs: readonly number[]): number {
  let h = 0;
  for (const p of probs) if (p > 0) h -= p * Math.log(p);
  return h;
}

