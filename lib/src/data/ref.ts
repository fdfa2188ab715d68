import { InputError } from '../errors';
import { loadSplits, type SplitData } from './mnist';
import { take, type DigitSet } from './dataset';
import { buildTransferSet, type TransferSet, type TransferSetSpec } from './transfer-set';

/**
 * Which images a run trains on, as data: a worker process rebuilds exactly the caller's sets
 * from it (the split is seeded, the pool is a prefix, a transfer set is a seeded recipe), so a
 * notebook never describes its data twice.
 */
export interface DataRef {
  /** Images held out of the 60,000 training images for validation. */
  validationSize: number;
  /** Seeds the train/validation split. */
  splitSeed: number;
  /** Train on the first `pool` rows of the shuffled training split (null or absent: all of it). */
  pool?: number | null;
  /** A transfer set drawn from the pool: a fraction, or the pool without / with only some digits. */
  transfer?: TransferSetSpec;
}

/** The sets a DataRef describes: `train` is the transfer set when there is one, else the pool. */
export interface RunData extends SplitData {
  ref: DataRef;
  /** The pool the transfer set was drawn from (= train without a transfer set). */
  pool: DigitSet;
  /** Rows of the pool in `train` (a transfer set's poolIndices), null when train is the pool. */
  poolIndices: Int32Array | null;
}

const built = new Map<string, RunData>();

/** Builds (once per process and reference) the train, validation and test sets of `ref`. */
export function resolveData(ref: DataRef): RunData {
  const id = JSON.stringify([ref.validationSize, ref.splitSeed, ref.pool ?? null, ref.transfer ?? null]);
  const hit = built.get(id);
  if (hit) return hit;
  const splits = loadSplits({ validationSize: ref.validationSize, seed: ref.splitSeed });
  const pool = ref.pool === undefined || ref.pool === null ? splits.train : take(splits.train, ref.pool);
  if (ref.pool && pool.size < ref.pool) {
    throw new InputError('BAD_INPUT', `data.pool is ${ref.pool} but the training split has only ${splits.train.size} rows; use null for all of them.`);
  }
  const transfer: TransferSet | null = ref.transfer ? buildTransferSet(pool, ref.transfer) : null;
  const data: RunData = { ...splits, train: transfer ?? pool, ref, pool, poolIndices: transfer?.poolIndices ?? null };
  built.set(id, data);
  return data;
}

/** The same data with a transfer set drawn from its pool. */
export function withTransfer(ref: DataRef, transfer: TransferSetSpec): DataRef {
  return { ...ref, transfer };
}
