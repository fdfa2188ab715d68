import { createHash } from 'node:crypto';
import type * as tf from '@tensorflow/tfjs';
import { loadSplits, take, type SplitData } from './data';
import { InputError } from './errors';
import { createTeacher } from './models';
import { workbookDir, workbookRelative, writeFileAtomic } from './paths';
import { train, type BatchProgress, type EpochRecord, type OptimizerSpec, type TrainResult } from './train';

/**
 * The chapter notebooks' shared settings and the steps several notebooks repeat (the teacher,
 * saved results). Quick mode runs every notebook in minutes on two cores;
 * full mode is the paper's scale. Notebooks read numbers from here, never type them in.
 */

export type Mode = 'quick' | 'full';

export interface ChapterConfig {
  mode: Mode;
  seed: number;
  validationSize: number;
  /** Rows of the 55,000-image training split used for training (null = all). */
  trainSize: number | null;
  teacher: {
    hidden: number[];
    dropout: number;
    inputDropout: number;
    maxNorm: number;
    jitter: number;
    epochs: number;
    learningRate: number;
    /** The teacher may see more data than the students (quick mode: a stronger teacher fast). */
    trainSize: number | null;
    /**
     * Another optimizer (e.g. notebook 07's momentum SGD with a decaying step size). Absent in
     * notebooks 00–05: their teacher is Adam at `learningRate`, and its identity (the checkpoint's
     * hash) does not change because this field exists.
     */
    optimizer?: OptimizerSpec;
    /** Another batch size for the teacher (absent: cfg.batchSize). */
    batchSize?: number;
  };
  students: { large: number[]; small: number[] };
  studentEpochs: number;
  batchSize: number;
  /** Soft-target temperature and weight used by notebook 04 (Hinton et al. used T = 20 for 2×800). */
  distill: { temperature: number; alpha: number };
  grid: { temperatures: number[]; alphas: number[]; trainSize: number | null; epochs: number; batchSize: number };
  /**
   * Notebook 04's headline: scratch vs distilled 2×800 over `seeds` seeds (cfg.seed, cfg.seed + 1,
   * …). `expected` is what a reference run measured (wasm backend, cfg.seed 0): test errors as
   * mean ± sd, so a reader can tell a normal run from a broken one; null where none was recorded.
   */
  /** Notebook 00's smoke test: a small MLP, one epoch, must reach `minAccuracy` on validation. */
  smoke: { hidden: number[]; trainSize: number; epochs: number; batchSize: number; minAccuracy: number };
  /** Notebook 06 (§1.2.3): students on limited or incomplete transfer sets. */
  generalization: GeneralizationSettings;
  headline: {
    seeds: number;
    expected: { scratchErrors: { mean: number; sd: number }; distilledErrors: { mean: number; sd: number }; measuredWith: string } | null;
  };
}

/**
 * Notebook 06's settings. Every student (2×800, no dropout) gets the same number of optimizer
 * steps whatever its transfer set's size; soft targets use `temperature` and `alpha`.
 */
export interface GeneralizationSettings {
  /** Rows of the training split the transfer sets are drawn from (null = all 55,000). */
  poolSize: number | null;
  fractions: number[];
  seeds: number;
  hidden: number[];
  steps: number;
  batchSize: number;
  learningRate: number;
  temperature: number;
  alpha: number;
  /** Left out of the "missing digit" transfer set (Hinton et al.: 3). */
  omitted: number[];
  /** The only digits of the "only 7s and 8s" transfer set. */
  kept: number[];
  /** Bias shifts tried on validation: min, max, step. */
  shifts: { min: number; max: number; step: number };
}

function generalizationSettings(mode: Mode): GeneralizationSettings {
  const common = {
    fractions: [0.01, 0.03, 0.1, 0.3, 1], seeds: 3, hidden: [800, 800], learningRate: 1e-3,
    temperature: 20, omitted: [3], kept: [7, 8], shifts: { min: -30, max: 30, step: 0.1 },
  };
  // Quick: a 10,000-image pool, 120 steps of 64 (under one pass over the pool): 32 students.
  // Full: the whole training split, 12,000 steps of 128 (28 epochs of 55,000 at 100%).
  return mode === 'quick'
    ? { ...common, poolSize: 10000, steps: 120, batchSize: 64, alpha: 0.9 }
    : { ...common, poolSize: null, steps: 12000, batchSize: 128, alpha: 0.9 };
}

export function checkMode(mode: string): Mode {
  if (mode !== 'quick' && mode !== 'full') {
    throw new InputError('BAD_MODE', `mode must be "quick" or "full", got ${JSON.stringify(mode)}. Set it in the parameters cell or with -p mode=quick.`);
  }
  return mode;
}

export function chapterConfig(mode: string, seed = 0): ChapterConfig {
  const m = checkMode(mode);
  const common = {
    mode: m,
    seed,
    validationSize: 5000,
    students: { large: [800, 800], small: [30, 30] },
    batchSize: 128,
    distill: { temperature: 20, alpha: 0.9 },
    smoke: { hidden: [100], trainSize: 5000, epochs: 1, batchSize: 64, minAccuracy: 0.8 },
    generalization: generalizationSettings(m),
  };
  if (m === 'quick') {
    return {
      ...common,
      trainSize: 10000,
      // Full dropout (0.5 / 0.2) needs many epochs to pay off; a quick teacher uses less so that
      // three epochs on 30k images already beat students trained on 10k.
      teacher: { hidden: [1200, 1200], dropout: 0.3, inputDropout: 0.1, maxNorm: 15, jitter: 0, epochs: 3, learningRate: 1e-3, trainSize: 30000 },
      studentEpochs: 3,
      // Small batches: more optimizer steps for the same number of images seen.
      grid: { temperatures: [1, 2, 4, 8, 20], alphas: [0, 0.25, 0.5, 0.75, 0.9, 1], trainSize: 5000, epochs: 3, batchSize: 64 },
      // Measured with seeds 0, 1, 2 (T 20, alpha 0.9, 3 epochs on 10,000 images): the distilled
      // student made fewer test errors on every seed, by 70 ± 19 on average.
      headline: {
        seeds: 3,
        expected: {
          scratchErrors: { mean: 467.0, sd: 17.8 },
          distilledErrors: { mean: 397.3, sd: 5.1 },
          measuredWith: 'wasm backend, seeds 0, 1, 2',
        },
      },
    };
  }
  return {
    ...common,
    trainSize: null,
    teacher: { hidden: [1200, 1200], dropout: 0.5, inputDropout: 0.2, maxNorm: 15, jitter: 2, epochs: 60, learningRate: 1e-3, trainSize: null },
    studentEpochs: 30,
    grid: { temperatures: [1, 2, 4, 8, 20], alphas: [0, 0.25, 0.5, 0.75, 0.9, 1], trainSize: null, epochs: 20, batchSize: 128 },
    headline: { seeds: 3, expected: null },
  };
}

/** Train / validation / test, with the training split cut to the mode's size. */
export function chapterData(cfg: ChapterConfig, trainSize: number | null = cfg.trainSize): SplitData {
  const splits = loadSplits({ validationSize: cfg.validationSize, seed: cfg.seed });
  return { ...splits, train: trainSize === null ? splits.train : take(splits.train, trainSize) };
}

function hashOf(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 12);
}

export interface TeacherRun {
  model: tf.Sequential;
  /** Everything the teacher's training saw (for reports); `history` spans all epochs. */
  result: TrainResult;
  checkpointDir: string;
  /** checkpointDir relative to the workbook (build/models/teacher-…), for printing. */
  checkpointName: string;
  /** True when the teacher was already fully trained and only loaded. */
  loaded: boolean;
}

/**
 * The chapter's teacher (2×1200 ReLU, dropout, max-norm), trained once per configuration and
 * kept as a checkpoint under build/models/. Rerunning a notebook, or another notebook asking for
 * the same teacher, loads it; an interrupted training resumes from its last epoch.
 */
export async function ensureTeacher(
  cfg: ChapterConfig,
  options: {
    onEpoch?: (r: EpochRecord) => void;
    signal?: AbortSignal;
    /** Print a text progress bar (every 10% of the steps) while the teacher has to train. */
    progress?: boolean;
  } = {},
): Promise<TeacherRun> {
  const t = cfg.teacher;
  const checkpointDir = teacherCheckpointDir(cfg);
  const data = chapterData(cfg, t.trainSize);
  const model = createTeacher({ hidden: t.hidden, dropout: t.dropout, inputDropout: t.inputDropout, maxNorm: t.maxNorm, seed: cfg.seed });
  const result = await train(model, {
    train: data.train,
    validation: data.validation,
    epochs: t.epochs,
    batchSize: t.batchSize ?? cfg.batchSize,
    optimizer: t.optimizer ?? { name: 'adam', learningRate: t.learningRate },
    seed: cfg.seed,
    jitter: t.jitter,
    checkpoint: { dir: checkpointDir },
    resumeFrom: checkpointDir,
    onEpoch: options.onEpoch,
    onBatch: options.progress ? progressBar(`teacher ${t.hidden.join('×')}`, t.epochs) : undefined,
    signal: options.signal,
  });
  return { model, result, checkpointDir, checkpointName: workbookRelative(checkpointDir), loaded: result.resumedFromEpoch >= t.epochs };
}

/**
 * Where ensureTeacher keeps the teacher of `cfg`: build/models/teacher-<hash of its settings>.
 * Fields left undefined (optimizer, batchSize) drop out of the JSON, so 00–05's hash is stable.
 */
export function teacherCheckpointDir(cfg: ChapterConfig): string {
  const identity = { t: cfg.teacher, validationSize: cfg.validationSize, seed: cfg.seed, batchSize: cfg.batchSize };
  return workbookDir('models', `teacher-${hashOf(identity)}`);
}

/** An onBatch callback printing "label [#####.....] 50% (epoch 2/3)" each time another 10% is done. */
function progressBar(label: string, epochs: number): (p: BatchProgress) => void {
  let shown = -1;
  return (p) => {
    const done = ((p.epoch - 1) * p.batchesPerEpoch + p.batch) / (epochs * p.batchesPerEpoch);
    const tenths = Math.floor(done * 10 + 1e-9);
    if (tenths <= shown) return;
    shown = tenths;
    const bar = '#'.repeat(tenths) + '.'.repeat(10 - tenths);
    console.log(`${label} [${bar}] ${(100 * done).toFixed(0)}% (epoch ${p.epoch}/${epochs}, ${p.samplesPerSecond.toFixed(0)} images/s)`);
  };
}

/** Saves a notebook result (plain JSON) under build/results/<name>.json, atomically. */
export function saveResult(name: string, value: unknown): string {
  const file = workbookDir('results', `${name}.json`);
  writeFileAtomic(file, JSON.stringify(value, null, 2) + '\n');
  return file;
}
