import { InputError } from '../errors';
import { NUM_CLASSES, PIXELS, subset, type DigitSet } from './dataset';
import { makeRng, shuffledIndices } from './random';

/**
 * Transfer sets (Hinton et al. 2015, §3): the images a student is distilled on. They are drawn
 * from a training pool only, never from validation or test, and every builder is seeded, so the
 * same arguments give the same rows. Each set remembers which rows of the pool it holds, so the
 * teacher's logits for it are a slice of the logits cached for the pool (`transferLogits`).
 */

export interface TransferSet extends DigitSet {
  /** Rows of the pool, in the set's order (ascending). */
  poolIndices: Int32Array;
  /** The pool's id (the set the rows index). */
  poolId: string;
}

export interface TransferSetSpec {
  /** Keep this fraction of the pool, in (0, 1] (a seeded random sample, at least one image). */
  fraction?: number;
  /** Drop every image of these classes (e.g. [3]: Hinton's "no 3s" transfer set). */
  exclude?: number[];
  /** Keep only images of these classes (e.g. [7, 8]). */
  keep?: number[];
  /** Seeds the sample of `fraction` (default 0); class filters are deterministic. */
  seed?: number;
}

/** Ids of the sets that must never feed a student's training (loadSplits' names for them). */
function looksHeldOut(id: string): boolean {
  return /\/val\(|:test\b|:t10k/.test(id);
}

function checkClasses(name: 'exclude' | 'keep', classes: unknown): number[] {
  if (!Array.isArray(classes) || classes.length === 0) {
    throw new InputError('BAD_CLASSES', `transfer set: ${name} must be a non-empty list of digits 0–${NUM_CLASSES - 1}, got ${JSON.stringify(classes)}.`);
  }
  for (const c of classes) {
    if (!Number.isInteger(c) || c < 0 || c >= NUM_CLASSES) {
      throw new InputError('BAD_CLASSES', `transfer set: unknown class ${JSON.stringify(c)} in ${name}; classes are the digits 0–${NUM_CLASSES - 1}.`);
    }
  }
  return [...new Set(classes as number[])].sort((a, b) => a - b);
}

/**
 * The transfer set `spec` describes, drawn from `pool` (a training split). Filters apply first,
 * then the fraction is sampled from what remains. Throws InputError for a fraction outside
 * (0, 1], an unknown class, both `keep` and `exclude`, a held-out pool, or an empty result.
 */
export function buildTransferSet(pool: DigitSet, spec: TransferSetSpec): TransferSet {
  if (looksHeldOut(pool.id)) {
    throw new InputError('HELD_OUT_POOL', `transfer set: ${pool.id} is a validation or test set; draw transfer sets from the training split (chapterData(cfg).train).`);
  }
  const { fraction, seed = 0 } = spec;
  if (fraction !== undefined && !(typeof fraction === 'number' && fraction > 0 && fraction <= 1)) {
    throw new InputError('BAD_FRACTION', `transfer set: fraction must be in (0, 1], got ${String(fraction)}; use 1 for the whole pool.`);
  }
  if (!Number.isInteger(seed)) throw new InputError('BAD_SEED', `transfer set: seed must be an integer, got ${String(seed)}.`);
  if (spec.keep !== undefined && spec.exclude !== undefined) {
    throw new InputError('BAD_CLASSES', 'transfer set: give keep or exclude, not both (keep [7, 8] already excludes every other digit).');
  }
  const exclude = spec.exclude === undefined ? null : checkClasses('exclude', spec.exclude);
  const keep = spec.keep === undefined ? null : checkClasses('keep', spec.keep);
  let rows: number[] = [];
  for (let i = 0; i < pool.size; i++) {
    const y = pool.labels[i];
    if (exclude && exclude.includes(y)) continue;
    if (keep && !keep.includes(y)) continue;
    rows.push(i);
  }
  const parts: string[] = [];
  if (exclude) parts.push(`without=${exclude.join('+')}`);
  if (keep) parts.push(`only=${keep.join('+')}`);
  if (fraction !== undefined && fraction < 1) {
    const n = Math.max(1, Math.round(fraction * rows.length));
    const order = shuffledIndices(rows.length, makeRng(`transfer:${seed}:${fraction}`));
    rows = Array.from(order.subarray(0, n), (k) => rows[k]).sort((a, b) => a - b);
    parts.push(`fraction=${fraction}`, `seed=${seed}`);
  }
  if (rows.length === 0) {
    throw new InputError('EMPTY_TRANSFER_SET', `transfer set: no image of ${pool.id} is left (${parts.join(', ')}); keep a class the pool holds.`);
  }
  const id = `${pool.id}/transfer(${parts.join(',') || 'all'})`;
  const poolIndices = Int32Array.from(rows);
  return { ...subset(pool, poolIndices, id), poolIndices, poolId: pool.id };
}

/** A seeded random `fraction` of the pool. */
export function transferSetFraction(pool: DigitSet, fraction: number, seed = 0): TransferSet {
  return buildTransferSet(pool, { fraction, seed });
}

/** The pool without any image of `classes`. */
export function transferSetWithout(pool: DigitSet, classes: number[]): TransferSet {
  return buildTransferSet(pool, { exclude: classes });
}

/** Only the images of `classes`. */
export function transferSetOnly(pool: DigitSet, classes: number[]): TransferSet {
  return buildTransferSet(pool, { keep: classes });
}

/** How many images of each digit a set holds. */
export function classCounts(set: DigitSet): number[] {
  const counts = new Array<number>(NUM_CLASSES).fill(0);
  for (let i = 0; i < set.size; i++) counts[set.labels[i]]++;
  return counts;
}

/** The teacher's logits for the transfer set's rows, sliced from the logits of its pool. */
export function transferLogits(poolLogits: Float32Array, set: TransferSet): Float32Array {
  if (poolLogits.length % NUM_CLASSES !== 0 || set.poolIndices.some((i) => (i + 1) * NUM_CLASSES > poolLogits.length)) {
    throw new InputError('TEACHER_LOGITS_MISMATCH', `transferLogits: the logits (${poolLogits.length / NUM_CLASSES} rows) do not cover the pool ${set.poolId}; compute them for the pool with teacherLogitsCached(teacher, pool).`);
  }
  const out = new Float32Array(set.size * NUM_CLASSES);
  set.poolIndices.forEach((i, r) => out.set(poolLogits.subarray(i * NUM_CLASSES, (i + 1) * NUM_CLASSES), r * NUM_CLASSES));
  return out;
}

/** Pixels of row `i` (for tests that compare images across sets). */
export function imageRow(set: DigitSet, i: number): Float32Array {
  return set.images.subarray(i * PIXELS, (i + 1) * PIXELS);
}
