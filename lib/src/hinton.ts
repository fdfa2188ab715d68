import type * as tf from '@tensorflow/tfjs';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TeacherLogits } from './cache';
import { setContentHash } from './cache';
import { chapterData, ensureTeacher, type ChapterConfig, type Mode, type TeacherRun } from './chapter';
import { NUM_CLASSES, type DigitSet, type SplitData } from './data';
import { InputError, KdlabError } from './errors';
import { argmaxRows, evaluate, evaluateLogits } from './evaluate';
import { runInWorkers } from './grid/run';
import type { SplitSettings, SplitWorkers } from './grid/split-data';
import { meanSd, type MeanSd } from './stats';
import { createStudent } from './models';
import { HINTON_2015, SRIVASTAVA_2014 } from './paper';
import { workbookDir, writeFileAtomic } from './paths';
import { train, type BatchProgress, type EpochRecord, type OptimizerSpec } from './train';

/**
 * Notebook 07: Hinton et al. 2015's MNIST table (teacher, 2×800 from scratch, 2×800 distilled at
 * T = 20) and the 30-unit student's temperature curve, with the paper's recipe as far as it is
 * known. The recipe per mode, the runs (each saved once, atomically, under
 * build/results/hinton/ and keyed by everything it depends on, so a re-execution reuses it), the
 * binomial interval of a test-error count and the comparison with the paper's numbers.
 */

/** How one kind of student is trained. */
export interface StudentRecipe {
  hidden: number[];
  epochs: number;
  batchSize: number;
  optimizer: OptimizerSpec;
}

export interface HintonRecipe {
  mode: Mode;
  /** Seeds of the students (the table's rows and every point of the curve). */
  seeds: number[];
  /** The teacher's settings (ensureTeacher). Quick mode: the chapter's own teacher, unchanged. */
  teacher: ChapterConfig['teacher'];
  /** Training rows the students see (null = the whole 55,000-image training split). */
  trainSize: number | null;
  scratch: StudentRecipe;
  distilled: StudentRecipe & { temperature: number; alpha: number };
  curve: StudentRecipe & { temperatures: number[]; alpha: number };
  /** Checkpoint every student epoch (full mode: runs of minutes that must survive interrupts). */
  checkpointStudents: boolean;
  /** The settings that are this workbook's choices, not the papers', in words. */
  ourChoices: string[];
}

/** Momentum SGD whose step size decays by `finalFraction` over the run and whose momentum ramps up. */
function sgdRecipe(
  lr: number, momentum: number, epochs: number, batchesPerEpoch: number, finalFraction: number, rampEpochs: number, dampened = false,
): OptimizerSpec {
  return {
    name: 'momentum',
    learningRate: lr,
    momentum,
    ...(dampened ? { dampened: true } : {}),
    rampMomentum: { from: 0.5, steps: Math.max(1, Math.round(rampEpochs * batchesPerEpoch)) },
    schedule: decayTo(finalFraction, epochs, batchesPerEpoch),
  };
}

/** Adam whose step decays by `finalFraction` over the run, per epoch. */
function adamRecipe(lr: number, epochs: number, batchesPerEpoch: number, finalFraction: number): OptimizerSpec {
  return { name: 'adam', learningRate: lr, schedule: decayTo(finalFraction, epochs, batchesPerEpoch) };
}

/** Per-epoch decay written per step: lr · rate^(step / batchesPerEpoch), reaching `finalFraction` · lr. */
function decayTo(finalFraction: number, epochs: number, batchesPerEpoch: number): NonNullable<OptimizerSpec['schedule']> {
  return { kind: 'exponential', decayRate: Math.pow(finalFraction, 1 / epochs), decaySteps: batchesPerEpoch };
}

const TRAIN_ROWS = 55000;

/** The recipe of notebook 07 for `mode`, given the chapter settings (which carry the seed). */
export function hintonRecipe(cfg: ChapterConfig): HintonRecipe {
  const seeds = [cfg.seed, cfg.seed + 1, cfg.seed + 2];
  const S = SRIVASTAVA_2014.mnist;
  if (cfg.mode === 'quick') {
    const rows = 10000;
    const batchSize = 64;
    const perEpoch = Math.ceil(rows / batchSize);
    const epochs = 3;
    const student = { epochs, batchSize, optimizer: sgdRecipe(0.05, 0.9, epochs, perEpoch, 0.1, 0.5) };
    return {
      mode: 'quick',
      seeds,
      teacher: cfg.teacher,
      trainSize: rows,
      scratch: { hidden: cfg.students.large, ...student },
      distilled: { hidden: cfg.students.large, ...student, temperature: HINTON_2015.student.temperature, alpha: cfg.distill.alpha },
      curve: { hidden: cfg.students.small, ...student, temperatures: [1, 2, 3, 4, 8, 20], alpha: cfg.distill.alpha },
      checkpointStudents: false,
      ourChoices: [
        `quick mode: the chapter's quick teacher (${cfg.teacher.epochs} epochs of Adam on ${cfg.teacher.trainSize} images, ` +
          `dropout ${cfg.teacher.inputDropout}/${cfg.teacher.dropout}, no jitter), not the paper's`,
        `students: ${epochs} epochs on ${rows} images, momentum SGD (0.5 → 0.9), step 0.05 decaying to a tenth`,
        `distillation weight alpha = ${cfg.distill.alpha} on the soft term (the paper gives no number)`,
      ],
    };
  }
  const teacherBatch = 100;
  // 400 epochs, chosen on validation accuracy after the last epoch: 200 epochs gave 98.86% (88 test
  // errors), 400 gave 98.96% (65); a step of 1.2 instead of 0.4 over 200 epochs gave 98.82% (94).
  const teacherEpochs = 400;
  const teacherPerEpoch = Math.ceil(TRAIN_ROWS / teacherBatch);
  const studentEpochs = 60;
  const studentBatch = 100;
  const studentPerEpoch = Math.ceil(TRAIN_ROWS / studentBatch);
  // Full mode uses the dampened form v = mu·v + (1 − mu)·g (Hinton et al. 2012): with the plain
  // form, the momentum ramp multiplies the step by 1/(1 − mu) and a trial at momentum 0.95 went
  // unstable (1,788 test errors after 2 epochs, loss rising), while the dampened form at the same
  // point of the schedule learned (401). Dampened lr = 2 × plain lr at momentum 0.5.
  // The 30-unit curve's students 0.2 (≙ plain 0.1: 278 test errors after 3 epochs, plain 0.05: 320,
  // Adam 1e-3: 287; measured on 2×800 students, which used it too until the choices below).
  const studentLr = 0.2;
  // The distilled student, chosen on validation (tools/probes/hinton-students.js, seed 0, the
  // 200-epoch teacher): momentum SGD from 0.2 over 60 epochs 98.48%, from 0.3 98.38%, decaying to
  // 10% 98.60%, that over 120 epochs 98.58%; T = 4 98.40%, T = 8 98.42%; Adam 1e-3 over 60 epochs
  // 98.52%, over 120 epochs 98.62%. At T = 20 the soft term's gradient is small and SGD's step is
  // capped by stability (0.4 diverged), so Adam's per-weight scaling and a longer run both help.
  const distilledEpochs = 120;
  const distilledAdamLr = 1e-3;
  const studentOptimizer = adamRecipe(distilledAdamLr, distilledEpochs, studentPerEpoch, 0.01);
  // The scratch student's step, chosen on validation over 60-epoch runs (tools/probes/hinton-students.js,
  // seed 0): 0.2 → best validation 98.06%, 0.4 → 98.16%, 0.8 → 98.24%, 1.6 → diverged in epoch 1.
  // (Momentum SGD for the distilled student went unstable at 0.4: 8,990 test errors.)
  const scratchLr = 0.8;
  const scratchOptimizer = sgdRecipe(scratchLr, 0.9, studentEpochs, studentPerEpoch, 0.01, 5, true);
  // Teacher 0.4 (≙ plain 0.2 at momentum 0.5: 277 test errors after 3 epochs; plain 0.05: 339).
  const teacherLr = 0.4;
  return {
    mode: 'full',
    seeds,
    teacher: {
      hidden: [...HINTON_2015.teacher.hidden],
      dropout: S.hiddenDropout,
      inputDropout: S.inputDropout,
      maxNorm: S.maxNorm,
      jitter: 2,
      epochs: teacherEpochs,
      learningRate: teacherLr,
      trainSize: null,
      optimizer: sgdRecipe(teacherLr, S.finalMomentum, teacherEpochs, teacherPerEpoch, 0.01, teacherEpochs / 6, true),
      batchSize: teacherBatch,
    },
    trainSize: null,
    scratch: { hidden: [...HINTON_2015.student.hidden], epochs: studentEpochs, batchSize: studentBatch, optimizer: scratchOptimizer },
    distilled: {
      hidden: [...HINTON_2015.student.hidden], epochs: distilledEpochs, batchSize: studentBatch, optimizer: studentOptimizer,
      temperature: HINTON_2015.student.temperature, alpha: cfg.distill.alpha,
    },
    curve: {
      hidden: cfg.students.small, epochs: 30, batchSize: studentBatch,
      optimizer: sgdRecipe(studentLr, 0.9, 30, studentPerEpoch, 0.01, 5, true),
      temperatures: [1, 2, 2.5, 3, 4, 6, 8, 20], alpha: cfg.distill.alpha,
    },
    checkpointStudents: true,
    ourChoices: [
      `validation: 5,000 of the 60,000 training images are held out (the paper trained on all ${HINTON_2015.trainImages})`,
      `teacher: ${teacherEpochs} epochs (Srivastava et al. trained far longer), batch ${teacherBatch}, step ${teacherLr} decaying ` +
        `to 1% of it, momentum ramped 0.5 → ${S.finalMomentum} over the first sixth, dampened (v = mu v + (1 − mu) g): ` +
        "the shape of Hinton et al. 2012's schedule",
      `max-norm c = ${S.maxNorm} on the hidden layers only (Srivastava et al. constrain every layer; our output layer is free)`,
      `scratch student: ${studentEpochs} epochs, batch ${studentBatch}, dampened momentum SGD 0.5 → 0.9, step ${scratchLr} ` +
        'decaying to 1% (the best of 0.2, 0.4, 0.8 on validation; 1.6 diverged)',
      `distilled student: ${distilledEpochs} epochs, batch ${studentBatch}, Adam ${distilledAdamLr} decaying to 1%: the best on ` +
        'validation of momentum SGD (steps 0.2, 0.3; 60 and 120 epochs), Adam over 60 and 120 epochs, and T = 4 and 8',
      `distillation weight alpha = ${cfg.distill.alpha} on the soft term (the paper gives no number)`,
      `the 30-unit curve: 30 epochs per temperature and seed, dampened momentum SGD 0.5 → 0.9, step ${studentLr} decaying to 1%`,
    ],
  };
}

/** The chapter settings with the recipe's teacher (quick mode: cfg itself, the chapter's teacher). */
export function hintonTeacherConfig(cfg: ChapterConfig, recipe: HintonRecipe): ChapterConfig {
  return recipe.teacher === cfg.teacher ? cfg : { ...cfg, teacher: recipe.teacher };
}

/** The recipe's teacher, trained once and checkpointed (resumes after an interrupt). */
export function ensureHintonTeacher(
  cfg: ChapterConfig,
  recipe: HintonRecipe,
  options: { progress?: boolean; onEpoch?: (r: EpochRecord) => void; signal?: AbortSignal } = {},
): Promise<TeacherRun> {
  return ensureTeacher(hintonTeacherConfig(cfg, recipe), options);
}

/** The students' data: the chapter's split with the recipe's number of training rows. */
export function hintonData(cfg: ChapterConfig, recipe: HintonRecipe): SplitData {
  return chapterData(cfg, recipe.trainSize);
}

// ---------------------------------------------------------------------------------------------
// Binomial intervals

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

// ---------------------------------------------------------------------------------------------
// Runs: one student, trained once, its score saved under build/results/hinton/<key>.json

export interface StudentScore {
  seed: number;
  valAccuracy: number;
  testAccuracy: number;
  testErrors: number;
  /** Validation accuracy per epoch. */
  valCurve: number[];
  seconds: number;
  /** How closely the trained student fits the images it was trained on. */
  fit: TrainingFit;
  /** True when read from a finished run's file. */
  cached: boolean;
}

/**
 * A trained model on its own training images, in inference mode. A student that distils well
 * should agree with its teacher there: the disagreements count what it failed to learn from the
 * soft targets it was given, as opposed to what the teacher did not know.
 */
export interface TrainingFit {
  trainErrors: number;
  /** Training images on which its class differs from the teacher's (null: trained on hard labels). */
  teacherDisagreements: number | null;
}

/** The fit of `model` to `set` and, when given, to the teacher's logits on it (n × 10). */
export function trainingFit(model: tf.LayersModel, set: DigitSet, teacherLogits: Float32Array | null): TrainingFit {
  if (teacherLogits !== null && teacherLogits.length !== set.size * NUM_CLASSES) {
    throw new InputError('SHAPE_MISMATCH', `trainingFit: teacher logits for ${teacherLogits.length / NUM_CLASSES} images, the set has ${set.size}.`);
  }
  const ours = evaluate(model, set);
  if (teacherLogits === null) return { trainErrors: ours.errors, teacherDisagreements: null };
  const theirs = argmaxRows(teacherLogits);
  return { trainErrors: ours.errors, teacherDisagreements: ours.predictions.filter((c, i) => c !== theirs[i]).length };
}

export interface StudentRunSpec {
  recipe: StudentRecipe;
  seed: number;
  /** 'hard' or a temperature and weight with the teacher's logits on data.train. */
  loss: 'hard' | { temperature: number; alpha: number; teacherLogits: TeacherLogits };
}

function hashOf(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);
}

/** The key of a run: everything its result depends on. */
export function runKey(data: SplitData, spec: StudentRunSpec): string {
  const loss = spec.loss === 'hard' ? 'hard' : { T: spec.loss.temperature, alpha: spec.loss.alpha, teacher: spec.loss.teacherLogits.key };
  return hashOf({
    format: 'kdlab-hinton-run-1',
    recipe: spec.recipe,
    seed: spec.seed,
    loss,
    train: [data.train.id, setContentHash(data.train)],
    validation: [data.validation.id, data.validation.size],
    test: [data.test.id, data.test.size],
  });
}

const scoreFile = (dir: string | undefined, key: string): string => path.join(dir ?? workbookDir('results', 'hinton'), `${key}.json`);

/** A finished run's score (cached: true), or null when it has none or one saved before `fit` was measured. */
function readScore(file: string): StudentScore | null {
  if (!fs.existsSync(file)) return null;
  const score = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<StudentScore>;
  return score.fit === undefined ? null : { ...(score as StudentScore), cached: true };
}

/** Trains one student (or reads its finished run) and scores it on validation and test. */
export async function runStudent(
  data: SplitData,
  spec: StudentRunSpec,
  options: {
    checkpoint?: boolean;
    onBatch?: (p: BatchProgress) => void;
    /** Where finished runs are kept (default build/results/hinton). */
    dir?: string;
  } = {},
): Promise<StudentScore> {
  const key = runKey(data, spec);
  const file = scoreFile(options.dir, key);
  const saved = readScore(file);
  if (saved) return saved;
  const { recipe, seed } = spec;
  const model = createStudent({ hidden: recipe.hidden, seed });
  const dir = workbookDir('models', `hinton-student-${key}`);
  try {
    const loss = spec.loss === 'hard' ? 'hard' : { teacherLogits: spec.loss.teacherLogits, temperature: spec.loss.temperature, alpha: spec.loss.alpha };
    const r = await train(model, {
      train: data.train, validation: data.validation, epochs: recipe.epochs, batchSize: recipe.batchSize, seed, loss,
      optimizer: recipe.optimizer, onBatch: options.onBatch,
      ...(options.checkpoint ? { checkpoint: { dir }, resumeFrom: dir } : {}),
    });
    if (r.aborted) {
      throw new KdlabError('ABORTED', `runStudent: the training was stopped${options.checkpoint ? '; run the cell again to resume' : ''}.`);
    }
    const test = evaluate(model, data.test);
    const score: StudentScore = {
      seed,
      valAccuracy: r.last?.valAccuracy ?? NaN,
      testAccuracy: test.accuracy,
      testErrors: test.errors,
      valCurve: r.history.map((h) => h.valAccuracy ?? NaN),
      seconds: r.history.reduce((a, h) => a + h.seconds, 0),
      fit: trainingFit(model, data.train, spec.loss === 'hard' ? null : spec.loss.teacherLogits.logits),
      cached: false,
    };
    writeFileAtomic(file, JSON.stringify(score, null, 1) + '\n');
    // The result file is the run's record; the checkpoint only served a resume.
    if (options.checkpoint) fs.rmSync(dir, { recursive: true, force: true });
    return score;
  } finally {
    model.dispose();
  }
}

/** One student of a table or curve, and how progress names it. */
export interface StudentJob {
  label: string;
  spec: StudentRunSpec;
}

/** What runStudents sends a worker (grid/hinton-worker.ts); the worker rebuilds data from `split`. */
export interface StudentRequest {
  type: 'run';
  key: string;
  recipe: StudentRecipe;
  seed: number;
  loss: 'hard' | { temperature: number; alpha: number };
  teacherLogitsFile: string;
  teacherKey: string;
  split: SplitSettings;
  dir: string;
  checkpoint: boolean;
}

export interface RunStudentsOptions {
  checkpoint?: boolean;
  /** Where finished runs are kept (default build/results/hinton). */
  dir?: string;
  /**
   * Train the unfinished runs in worker processes with one BLAS thread each (two at once on two
   * cores), from split settings that rebuild `data`. Their digits are those of one BLAS thread;
   * a run's file is its record, read back whichever path trained it.
   */
  inWorkers?: SplitWorkers;
  /** Each run as it finishes (or is read back). */
  onRun?: (label: string, score: StudentScore) => void;
}

/** Every job's score in job order: finished runs read back, the others trained. */
export async function runStudents(data: SplitData, jobs: readonly StudentJob[], o: RunStudentsOptions = {}): Promise<StudentScore[]> {
  const keys = jobs.map((j) => runKey(data, j.spec));
  const trained = new Map<string, StudentScore>();
  const w = o.inWorkers;
  if (w) {
    const pending = new Map<string, StudentJob>();
    jobs.forEach((j, i) => {
      if (!pending.has(keys[i]) && !fs.existsSync(scoreFile(o.dir, keys[i]))) pending.set(keys[i], j);
    });
    const keyOf = new Map([...pending].map(([k, j]) => [j, k]));
    const logitsOf = (j: StudentJob) => (j.spec.loss === 'hard' ? null : j.spec.loss.teacherLogits);
    const noFile = [...pending.values()].find((j) => logitsOf(j)?.file === '');
    if (noFile) throw new InputError('BAD_INPUT', `runStudents in workers: ${noFile.label} needs the teacher logits' cache file (teacherLogitsCached), the workers read them from there.`);
    const dir = o.dir ?? workbookDir('results', 'hinton');
    const split = { validationSize: w.validationSize, splitSeed: w.splitSeed, poolSize: w.poolSize };
    const lost: string[] = [];
    await runInWorkers<StudentJob, { seconds: number }>({
      pending: [...pending.values()],
      workers: Math.max(1, Math.min(w.workers ?? os.availableParallelism(), pending.size)),
      entry: 'hinton-worker',
      request: (j): StudentRequest => {
        const t = logitsOf(j);
        return {
          type: 'run', key: keyOf.get(j) ?? '', recipe: j.spec.recipe, seed: j.spec.seed, split, dir, checkpoint: o.checkpoint ?? false,
          loss: j.spec.loss === 'hard' ? 'hard' : { temperature: j.spec.loss.temperature, alpha: j.spec.loss.alpha },
          teacherLogitsFile: t?.file ?? '', teacherKey: t?.key ?? '',
        };
      },
      describe: (j) => j.label,
      onDone: (j) => {
        const key = keyOf.get(j) ?? '';
        const score = readScore(scoreFile(o.dir, key));
        if (!score) {
          lost.push(j.label);
          return;
        }
        const fresh = { ...score, cached: false };
        trained.set(key, fresh);
        o.onRun?.(j.label, fresh);
      },
    });
    if (lost.length > 0) {
      throw new KdlabError('CHECKPOINT_CORRUPT', `runStudents: ${lost.join('; ')} finished in a worker but left no score file in ${dir}; is the directory writable?`);
    }
  }
  const out: StudentScore[] = [];
  for (const [i, j] of jobs.entries()) {
    const now = trained.get(keys[i]);
    if (now) {
      out.push(now);
      continue;
    }
    const s = await runStudent(data, j.spec, { checkpoint: o.checkpoint, dir: o.dir });
    o.onRun?.(j.label, s);
    out.push(s);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The table and the curve

export interface TableRow {
  system: 'teacher' | 'scratch' | 'distilled';
  hidden: number[];
  paperErrors: number;
  /** Paper's count + 15%, rounded: the target. */
  target: number;
  /** Our test errors per seed. */
  errors: number[];
  seeds: number[];
  mean: MeanSd;
  /** Wilson 95% interval of the mean count on the test set. */
  interval: Interval;
  /** The paper's count's own 95% interval. */
  paperInterval: Interval;
  withinTarget: boolean;
}

export interface HintonTable {
  mode: Mode;
  testSize: number;
  rows: TableRow[];
  teacher: { seed: number; testErrors: number; trainErrors: number };
  scratch: StudentScore[];
  distilled: StudentScore[];
  /** teacher < distilled < scratch on the mean test errors. */
  orderingHolds: boolean;
}

/** Paper count + 15%, rounded (67 → 77, 146 → 168, 74 → 85). */
export const targetOf = (paperErrors: number): number => Math.round(paperErrors * 1.15);

function row(system: TableRow['system'], hidden: number[], paperErrors: number, seeds: number[], errors: number[], testSize: number): TableRow {
  const mean = meanSd(errors);
  const target = targetOf(paperErrors);
  return {
    system, hidden, paperErrors, target, errors, seeds, mean,
    interval: binomialInterval(mean.mean, testSize),
    paperInterval: binomialInterval(paperErrors, HINTON_2015.testImages),
    withinTarget: mean.mean <= target,
  };
}

export interface RunTableOptions {
  data: SplitData;
  recipe: HintonRecipe;
  teacher: TeacherRun;
  teacherSeed: number;
  /** The teacher's logits on data.train (teacherLogitsCached). */
  teacherLogits: TeacherLogits;
  onRun?: (what: string, score: StudentScore) => void;
  /** Train the students in worker processes (runStudents). */
  inWorkers?: SplitWorkers;
}

/** Scratch and distilled 2×800 students for every seed of the recipe, and the table's rows. */
export async function runHintonTable(o: RunTableOptions): Promise<HintonTable> {
  const { data, recipe } = o;
  const { temperature, alpha } = recipe.distilled;
  const jobs = recipe.seeds.flatMap((seed): StudentJob[] => [
    { label: `scratch, seed ${seed}`, spec: { recipe: recipe.scratch, seed, loss: 'hard' } },
    { label: `distilled, seed ${seed}`, spec: { recipe: recipe.distilled, seed, loss: { temperature, alpha, teacherLogits: o.teacherLogits } } },
  ]);
  const scores = await runStudents(data, jobs, { checkpoint: recipe.checkpointStudents, inWorkers: o.inWorkers, onRun: o.onRun });
  const scratch = scores.filter((_, i) => i % 2 === 0);
  const distilled = scores.filter((_, i) => i % 2 === 1);
  const n = data.test.size;
  const teacherErrors = evaluate(o.teacher.model, data.test).errors;
  // The teacher's logits on the training images are already cached: no second pass over them.
  const teacherTrainErrors = evaluateLogits(o.teacherLogits.logits, data.train.labels).errors;
  const H = HINTON_2015;
  const rows = [
    row('teacher', recipe.teacher.hidden, H.teacher.testErrors, [o.teacherSeed], [teacherErrors], n),
    row('scratch', recipe.scratch.hidden, H.student.scratchTestErrors, recipe.seeds, scratch.map((s) => s.testErrors), n),
    row('distilled', recipe.distilled.hidden, H.student.distilledTestErrors, recipe.seeds, distilled.map((s) => s.testErrors), n),
  ];
  const [t, sc, di] = rows.map((r) => r.mean.mean);
  return {
    mode: recipe.mode, testSize: n, rows, teacher: { seed: o.teacherSeed, testErrors: teacherErrors, trainErrors: teacherTrainErrors }, scratch, distilled,
    orderingHolds: t < di && di < sc,
  };
}

/** The measured facts that bear on a row's distance from its target. */
export interface GapFacts {
  system: TableRow['system'];
  /** Mean test errors minus the target: above 0, the row misses it. */
  gap: number;
  epochs: number;
  trainImages: number;
  runs: number;
  /** Runs whose validation accuracy was at its best in the last epoch (cut short, not peaked). */
  improvingAtEnd: number;
  /** Per run, the epoch (1-based, the first of equals) with the best validation accuracy. */
  bestEpochs: number[];
  /** Per run, the best validation accuracy minus the last epoch's (0: the last was the best). */
  lostSinceBest: number[];
  /**
   * Per run, its errors on the students' training images (the teacher: unjittered, dropout off).
   * In full mode these are the teacher's training images too; in quick mode a part of them.
   */
  trainErrors: number[];
  /** Distilled rows: per run, the training images on which it and its teacher disagree; else null. */
  teacherDisagreements: number[] | null;
}

/**
 * For every row of the table, its gap to the target and what its validation curves say: a model
 * whose curve still rises in the last epoch ran out of budget; one that peaked early and fell
 * overfits; one that sits flat at its best had what its recipe could give.
 */
export function gapFacts(
  table: HintonTable, teacherValCurve: readonly number[], trainImages: { teacher: number; students: number },
): GapFacts[] {
  const curves: Record<TableRow['system'], (readonly number[])[]> = {
    teacher: [teacherValCurve],
    scratch: table.scratch.map((s) => s.valCurve),
    distilled: table.distilled.map((s) => s.valCurve),
  };
  const trainErrors: Record<TableRow['system'], number[]> = {
    teacher: [table.teacher.trainErrors],
    scratch: table.scratch.map((s) => s.fit.trainErrors),
    distilled: table.distilled.map((s) => s.fit.trainErrors),
  };
  return table.rows.map((r) => {
    const runs = curves[r.system].filter((c) => c.length > 0);
    const best = runs.map((c) => Math.max(...c));
    return {
      system: r.system,
      gap: r.mean.mean - r.target,
      epochs: Math.max(0, ...runs.map((c) => c.length)),
      trainImages: r.system === 'teacher' ? trainImages.teacher : trainImages.students,
      runs: runs.length,
      improvingAtEnd: runs.filter((c, i) => c[c.length - 1] >= best[i]).length,
      bestEpochs: runs.map((c, i) => c.indexOf(best[i]) + 1),
      lostSinceBest: runs.map((c, i) => best[i] - c[c.length - 1]),
      trainErrors: trainErrors[r.system],
      teacherDisagreements: r.system === 'distilled' ? table.distilled.map((s) => s.fit.teacherDisagreements ?? NaN) : null,
    };
  });
}

export interface CurvePoint {
  temperature: number;
  runs: StudentScore[];
  valAccuracy: MeanSd;
  testErrors: MeanSd;
}

export interface TemperatureCurve {
  hidden: number[];
  alpha: number;
  points: CurvePoint[];
  /** The same student on hard labels (alpha = 0), per seed: the baseline. */
  scratch: { runs: StudentScore[]; valAccuracy: MeanSd; testErrors: MeanSd };
  /** Temperature with the best mean validation accuracy. */
  bestTemperature: number;
}

/** The small student distilled at every temperature of the recipe, for every seed. */
export async function runTemperatureCurve(
  o: Omit<RunTableOptions, 'teacher' | 'teacherSeed'>,
): Promise<TemperatureCurve> {
  const { data, recipe } = o;
  const c = recipe.curve;
  const summarise = (runs: StudentScore[]) => ({
    runs, valAccuracy: meanSd(runs.map((r) => r.valAccuracy)), testErrors: meanSd(runs.map((r) => r.testErrors)),
  });
  const name = `2×${c.hidden[0]}`;
  const jobs: StudentJob[] = [
    ...recipe.seeds.map((seed): StudentJob => ({ label: `${name} scratch, seed ${seed}`, spec: { recipe: c, seed, loss: 'hard' } })),
    ...c.temperatures.flatMap((temperature) => recipe.seeds.map((seed): StudentJob => ({
      label: `${name} T = ${temperature}, seed ${seed}`,
      spec: { recipe: c, seed, loss: { temperature, alpha: c.alpha, teacherLogits: o.teacherLogits } },
    }))),
  ];
  const scores = await runStudents(data, jobs, { checkpoint: recipe.checkpointStudents, inWorkers: o.inWorkers, onRun: o.onRun });
  const n = recipe.seeds.length;
  const scratchRuns = scores.slice(0, n);
  const points: CurvePoint[] = c.temperatures.map((temperature, t) => ({
    temperature, ...summarise(scores.slice(n * (t + 1), n * (t + 2))),
  }));
  const best = points.reduce((a, b) => (b.valAccuracy.mean > a.valAccuracy.mean ? b : a));
  return { hidden: c.hidden, alpha: c.alpha, points, scratch: summarise(scratchRuns), bestTemperature: best.temperature };
}
