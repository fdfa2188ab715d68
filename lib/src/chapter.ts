import type * as tf from '@tensorflow/tfjs';
import { resolveData, type DataRef, type RunData } from './data';
import { InputError } from './errors';
import { usedRunsFile, workbookDir, workbookRelative, writeFileAtomic } from './paths';
import { loadRunModel, runAll, runDir, type RunResult, type RunSpec } from './runs';
import { runsUsed } from './runs/used';
import { bestAndLast, type EpochRecord } from './train';

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
  };
  students: { large: number[]; small: number[] };
  studentEpochs: number;
  batchSize: number;
  /** Soft-target temperature and weight used by notebook 04 (Hinton et al. used T = 20 for 2×800). */
  distill: { temperature: number; alpha: number };
  grid: { temperatures: number[]; alphas: number[]; trainSize: number | null; epochs: number; batchSize: number };
  /** Notebook 00's smoke test: a small MLP, one epoch, must reach `minAccuracy` on validation. */
  smoke: { hidden: number[]; trainSize: number; epochs: number; batchSize: number; minAccuracy: number };
  /** Notebook 06 (§1.2.3): students on limited or incomplete transfer sets. */
  generalization: GeneralizationSettings;
  /**
   * Notebook 04's headline: scratch vs distilled 2×800 over `seeds` seeds (cfg.seed, cfg.seed + 1,
   * …). What the full-scale reference measured is printed beside it (atFullScale), not typed here.
   */
  headline: { seeds: number };
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
  // Quick: a 10,000-image pool, 120 steps of 64 (0.76 of a pass over the whole pool, 60 passes
  // over its 1 %): 36 students (30 in the size sweep, 2 transfer sets × 3 seeds for the shifts).
  // Full: the whole training split, 12,000 steps of 128 (28 passes over 55,000 at 100%).
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
      headline: { seeds: 3 },
    };
  }
  return {
    ...common,
    trainSize: null,
    teacher: { hidden: [1200, 1200], dropout: 0.5, inputDropout: 0.2, maxNorm: 15, jitter: 2, epochs: 60, learningRate: 1e-3, trainSize: null },
    studentEpochs: 30,
    grid: { temperatures: [1, 2, 4, 8, 20], alphas: [0, 0.25, 0.5, 0.75, 0.9, 1], trainSize: null, epochs: 20, batchSize: 128 },
    headline: { seeds: 3 },
  };
}

/** The chapter's split with the training split cut to `trainSize` rows, as a DataRef. */
export function chapterDataRef(cfg: ChapterConfig, trainSize: number | null = cfg.trainSize): DataRef {
  return { validationSize: cfg.validationSize, splitSeed: cfg.seed, pool: trainSize };
}

/** Train / validation / test, with the training split cut to the mode's size (data.ref says how). */
export function chapterData(cfg: ChapterConfig, trainSize: number | null = cfg.trainSize): RunData {
  return resolveData(chapterDataRef(cfg, trainSize));
}

export interface TeacherRun {
  model: tf.Sequential;
  /** The teacher's run in the store: distilling runs name it as teacher: { run: key }. */
  key: string;
  run: RunResult;
  /** Its per-epoch history, best (validation) and last epoch. */
  result: { history: EpochRecord[]; best: EpochRecord | null; last: EpochRecord | null };
  /** Its folder in the run store (build/runs/<key>), and that path relative to the workbook. */
  checkpointDir: string;
  checkpointName: string;
  /** True when the teacher was already fully trained and only loaded. */
  loaded: boolean;
}

/**
 * The chapter's teacher (2×1200 ReLU, dropout, max-norm) as a run spec: trained once per
 * configuration, with a checkpoint every epoch so that an interrupted training resumes, its
 * validation curve, test score and weights kept. Two BLAS threads: one long run has both cores.
 */
export function teacherSpec(cfg: ChapterConfig): RunSpec {
  const t = cfg.teacher;
  return {
    label: `teacher ${t.hidden.join('×')}`,
    data: chapterDataRef(cfg, t.trainSize),
    model: { kind: 'mlp', hidden: t.hidden, dropout: t.dropout, inputDropout: t.inputDropout, maxNorm: t.maxNorm },
    objective: { objective: 'hard' },
    optimizer: { name: 'adam', learningRate: t.learningRate },
    budget: { epochs: t.epochs },
    batchSize: cfg.batchSize,
    seed: cfg.seed,
    jitter: t.jitter,
    record: { valCurve: true, test: true, weights: true },
    blasThreads: 2,
    checkpointEvery: 1,
  };
}

/**
 * The teacher of `spec` (teacherSpec(cfg) by default), trained once and kept in the run store.
 * Rerunning a notebook, or another notebook asking for the same teacher, loads it; an
 * interrupted training resumes from its last epoch. It trains in a worker process (at its spec's
 * BLAS threads, so with the same digits as here): inside a Jupyter kernel the same training ran
 * about 40% slower (the chapter teacher's epochs 10.6–11.8 s against 7.7–8.2 s in a plain Node
 * process, same code, quiet machine), while sgemm and plain loops measured alike in both.
 */
export async function ensureTeacher(
  cfg: ChapterConfig,
  options: {
    onEpoch?: (r: EpochRecord) => void;
    signal?: AbortSignal;
    /** Print one line per epoch while the teacher has to train. */
    progress?: boolean;
    /** Another teacher's spec (notebook 07's recipe, notebook 08's conv teacher). */
    spec?: RunSpec;
    /** 1 (default): train in a worker process; 0: in this one. */
    workers?: 0 | 1;
  } = {},
): Promise<TeacherRun> {
  const spec = options.spec ?? teacherSpec(cfg);
  const epochs = (spec.budget as { epochs?: number }).epochs ?? 0;
  const [run] = await runAll([spec], {
    workers: options.workers ?? 1,
    signal: options.signal,
    onEpoch: (_s, r) => {
      options.onEpoch?.(r);
      if (options.progress) {
        const val = r.valAccuracy === null ? '' : `, validation ${(100 * r.valAccuracy).toFixed(2)}%`;
        console.log(`${spec.label ?? 'teacher'}: epoch ${r.epoch}/${epochs}${val} (${r.seconds.toFixed(1)} s)`);
      }
    },
  });
  const model = await loadRunModel(run);
  const dir = runDir(run.key);
  return {
    model, key: run.key, run, result: { history: run.history, ...bestAndLast(run.history) },
    checkpointDir: dir, checkpointName: workbookRelative(dir), loaded: run.cached,
  };
}

/** Saves a notebook result (plain JSON) under build/results/<name>.json, atomically. */
export function saveResult(name: string, value: unknown): string {
  const file = workbookDir('results', `${name}.json`);
  writeFileAtomic(file, JSON.stringify(value, null, 2) + '\n');
  return file;
}

/** The run keys this process used, as <results>/runs/<name>.json (usedRunsFile): what the reference copies. */
export function saveRunsUsed(name: string, mode: string): string {
  const file = usedRunsFile(workbookDir('results'), name);
  writeFileAtomic(file, `${JSON.stringify({ notebook: name, mode, runs: runsUsed() }, null, 1)}\n`);
  return file;
}
