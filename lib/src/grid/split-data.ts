/**
 * What a worker process needs to rebuild the caller's data: the split settings (chapterData's
 * loadSplits + take), rebuilt once per setting and process, and the teacher's logits from their
 * cache file.
 */
import { readCachedLogits, type TeacherLogits } from '../cache';
import { loadSplits, NUM_CLASSES, take, type SplitData } from '../data';

/** loadSplits({ validationSize, seed: splitSeed }) with the training split cut to `poolSize` rows. */
export interface SplitSettings {
  validationSize: number;
  splitSeed: number;
  poolSize: number | null;
}

const rebuilt = new Map<string, SplitData>();

export function splitDataOf(split: SplitSettings): SplitData {
  const id = JSON.stringify([split.validationSize, split.splitSeed, split.poolSize]);
  let data = rebuilt.get(id);
  if (!data) {
    const splits = loadSplits({ validationSize: split.validationSize, seed: split.splitSeed });
    data = { ...splits, train: split.poolSize === null ? splits.train : take(splits.train, split.poolSize) };
    rebuilt.set(id, data);
  }
  return data;
}

/** The teacher's logits on `data.train` as the parent cached them (file and key from the parent). */
export function teacherLogitsFromFile(file: string, key: string, data: SplitData): TeacherLogits {
  const logits = readCachedLogits(file);
  return { logits, key, setId: data.train.id, size: logits.length / NUM_CLASSES, preprocessing: 'none', hit: true, file };
}

/** Split settings plus how many worker processes train at once. */
export interface SplitWorkers extends SplitSettings {
  /** Default: the number of cores. */
  workers?: number;
}
