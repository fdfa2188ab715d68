import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import type { ScoredSplit } from '../bias-shift';
import { hasCheckpoint, loadCheckpoint } from '../checkpoint';
import { NUM_CLASSES, resolveData } from '../data';
import { KdlabError } from '../errors';
import type { BlasKernelFamily } from '../kernels/native';
import type { EpochRecord } from '../train/types';
import { runDir, runsRoot, writeFileAtomic } from '../paths';
import { createModel } from './models';
import { RUN_FORMAT, type RunSpec } from './spec';

/**
 * The run store: build/runs/<key>/ holds one finished run: result.json (spec and scores), and
 * what the spec asked to keep (weights/, validation.f32, test.f32). A run trains in
 * build/runs/.partial/<key>/ (its resumable checkpoint lives there); when it finishes, the parent
 * process writes result.json into that folder and renames it into place, so a folder under
 * build/runs/ is always complete and the parent is its only writer. KDLAB_RUNS_DIR overrides the
 * location (tests).
 */

/** Accuracy, errors and errors per true class 0..9 of one split. */
export interface SplitScore {
  accuracy: number;
  errors: number;
  errorsByClass: number[];
}

/**
 * A trained model on its own training images, in inference mode. A student that distils well
 * agrees with its teacher there: the disagreements count what it failed to learn from the soft
 * targets it was given, as opposed to what the teacher did not know.
 */
export interface TrainingFit {
  trainErrors: number;
  /** Training images on which its class differs from the teacher's (null: trained without one). */
  teacherDisagreements: number | null;
}

/** What training one spec produced (what a worker reports). */
export interface RunOutcome {
  history: EpochRecord[];
  steps: number;
  /** The epoch whose weights were scored and kept (spec.keep). */
  keptEpoch: number;
  params: number;
  /** Parameters trained only while distilling (a hint's regressor), then thrown away. */
  extraParams: number;
  trainSize: number;
  /** Training images per digit. */
  trainCounts: number[];
  validation: SplitScore;
  test: SplitScore | null;
  fit: TrainingFit | null;
  /** Training and scoring time of this run (without time spent before a resume). */
  seconds: number;
  backend: string;
  blasThreads: number;
  /**
   * OpenBLAS's kernel family and who chose it, when the run's matmuls ran on it (native); null on
   * pure wasm. Digits depend on it as on blasThreads. Absent in results stored before it was kept.
   */
  blasKernels?: BlasKernelFamily | null;
  /** SHA-256 of the kept weights (reference/weights-hash.ts); absent in runs stored before it was recorded. */
  weightsHash?: string;
  /**
   * Set when the loss became NaN or infinite: the epoch (from 1) and the loss as text (JSON has
   * no NaN). Such a run has no model: history holds the epochs before it, every validation (and
   * test) image counts as an error, fit is null and no weights are kept. runAll returns it only
   * with keepDiverged.
   */
  diverged?: Divergence;
}

export interface Divergence {
  epoch: number;
  loss: string;
}

/** One finished run: its spec, its key and what training it produced. */
export interface RunResult extends RunOutcome {
  format: string;
  key: string;
  spec: RunSpec;
  finishedAt: string;
  /** True when read back from the store, false when trained by this call. */
  cached: boolean;
}

export { runsRoot, runDir };
export const partialRunDir = (key: string): string => path.join(runsRoot(), '.partial', key);
const resultFile = (dir: string): string => path.join(dir, 'result.json');

/** A finished run from the store (cached: true), or null when it has none (or one of an old format). */
export function readRun(key: string): RunResult | null {
  const file = resultFile(runDir(key));
  if (!fs.existsSync(file)) return null;
  let saved: RunResult;
  try {
    saved = JSON.parse(fs.readFileSync(file, 'utf8')) as RunResult;
  } catch {
    return null;
  }
  return saved.format === RUN_FORMAT && saved.key === key ? { ...saved, spec: { ...saved.spec }, cached: true } : null;
}

/**
 * Moves a finished run's folder into the store with its result.json: the store's only write. A
 * stale folder of the same key (a run of an old format) is replaced.
 */
export function commitRun(key: string, spec: RunSpec, outcome: RunOutcome): RunResult {
  const partial = partialRunDir(key);
  const result: RunResult = { format: RUN_FORMAT, key, spec, ...outcome, finishedAt: new Date().toISOString(), cached: false };
  fs.mkdirSync(partial, { recursive: true });
  fs.rmSync(path.join(partial, 'checkpoint'), { recursive: true, force: true });
  writeFileAtomic(resultFile(partial), JSON.stringify({ ...result, cached: undefined }, null, 1) + '\n');
  const final = runDir(key);
  fs.rmSync(final, { recursive: true, force: true });
  fs.renameSync(partial, final);
  return result;
}

/** The trained model of a run that kept its weights (record.weights), loaded fresh; the caller disposes it. */
export async function loadRunModel(run: RunResult | string): Promise<tf.Sequential> {
  const result = typeof run === 'string' ? readRun(run) : run;
  const key = typeof run === 'string' ? run : run.key;
  const dir = path.join(runDir(key), 'weights');
  if (result?.diverged) {
    throw new KdlabError('TRAINING_DIVERGED', `run ${key} (${result.spec.label ?? key}) diverged in epoch ${result.diverged.epoch}: it has no model to load.`);
  }
  if (!result || !hasCheckpoint(dir)) {
    throw new KdlabError('CACHE_MISSING', `run ${key} has no weights in the store (${dir}): give its spec record: { weights: true } and run it again.`);
  }
  const model = createModel(result.spec.model, result.spec.seed);
  try {
    await loadCheckpoint(dir, { model }, { weightsOnly: true });
  } catch (err) {
    model.dispose();
    throw err;
  }
  return model;
}

/** A run's validation or test logits (record.logits) with the labels, for a bias-shift study. */
export function runLogits(run: RunResult, split: 'validation' | 'test'): ScoredSplit {
  const data = resolveData(run.spec.data);
  const labels = data[split].labels;
  const file = path.join(runDir(run.key), `${split}.f32`);
  const n = labels.length * NUM_CLASSES;
  const buf = fs.existsSync(file) ? fs.readFileSync(file) : null;
  if (!buf || buf.byteLength !== n * 4) {
    throw new KdlabError('CACHE_MISSING', `run ${run.key} has no ${split} logits (${file}): give its spec record: { logits: true } and run it again.`);
  }
  const logits = new Float32Array(n);
  new Uint8Array(logits.buffer).set(buf);
  return { split, logits, labels };
}
