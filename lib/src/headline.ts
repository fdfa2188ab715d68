import type * as tf from '@tensorflow/tfjs';
import type { TeacherLogits } from './cache';
import { loadCheckpoint } from './checkpoint';
import type { ChapterConfig, TeacherRun } from './chapter';
import type { SplitData } from './data';
import { InputError, KdlabError } from './errors';
import { evaluate } from './evaluate';
import type { Objective } from './losses';
import { methodRunDir, runMethods, type MethodName, type MethodRow, type MethodsSpec, type TeacherRef } from './methods';
import { createStudent } from './models';
import { workbookDir } from './paths';
import { meanSd, type MeanSd } from './stats';
import { bestAndLast, train, type DistillSpec, type EpochRecord, type TrainResult } from './train';

/**
 * The chapter's headline comparison repeated over seeds: a student trained on the hard labels
 * ("scratch") and the same student distilled from the teacher, with the same initial weights,
 * batch order and budget per seed. The seed varies the student's initial weights and batch order;
 * the data split and the teacher stay fixed, so the spread measures what the student's training
 * adds. Reported as mean ± sample standard deviation, and the paired difference per seed.
 */

/** What one trained student scored (validation at the last epoch, test once at the end). */
export interface RunScore {
  valAccuracy: number;
  testAccuracy: number;
  testErrors: number;
}

export interface SeedRun {
  seed: number;
  scratch: RunScore;
  distilled: RunScore;
}

export interface SeedComparison {
  hidden: number[];
  runs: SeedRun[];
  /** Test errors, mean ± sd over the seeds. */
  scratchErrors: MeanSd;
  distilledErrors: MeanSd;
  /** Scratch minus distilled test errors, per seed then mean ± sd (> 0: distillation helped). */
  errorsSaved: MeanSd;
  /** Seeds on which the distilled student made fewer test errors. */
  distilledWins: number;
}

export interface CompareOverSeedsOptions {
  data: SplitData;
  hidden: number[];
  seeds: number[];
  epochs: number;
  batchSize: number;
  /** The distilled student's loss (teacher logits for data.train, temperature, alpha). */
  distill: DistillSpec;
  /** Seeds already trained (e.g. the notebook's own run): not trained again. */
  done?: SeedRun[];
  /** Called after each seed finishes. */
  onSeed?: (run: SeedRun) => void;
  /** Train the missing seeds in worker processes instead of in this one (see SeedWorkers). */
  inWorkers?: SeedWorkers;
}

/**
 * The missing seeds as jobs for worker processes (runMethods with the methods 'scratch' and
 * 'kd'), one BLAS thread each: on 2 cores two such workers train about 40% more samples per
 * second than one process with 2 BLAS threads. A worker rebuilds the data from the split settings
 * and reads the teacher's logits from their cache file, so `data` and `distill.teacherLogits`
 * must be the ones these settings describe. Rows go to `resultsFile`: an interrupted comparison
 * resumes. The digits of a seed differ from an in-process run of the same seed (another BLAS
 * thread count sums in another order), so a seed is always trained on one path.
 */
export interface SeedWorkers {
  resultsFile: string;
  teacher: TeacherRef;
  trainSize: number | null;
  validationSize: number;
  splitSeed: number;
  /** Default: the number of cores. */
  workers?: number;
}

/** Notebook 04's worker settings: the chapter's split, its teacher and logits, rows in build/results/grids/. */
export function chapterSeedWorkers(cfg: ChapterConfig, teacher: TeacherRun, logits: TeacherLogits): SeedWorkers {
  return {
    resultsFile: workbookDir('results', 'grids', `04-${cfg.mode}-headline.jsonl`),
    teacher: { arch: { kind: 'mlp', hidden: cfg.teacher.hidden }, checkpointDir: teacher.checkpointDir, logits: { file: logits.file, key: logits.key } },
    trainSize: cfg.trainSize,
    validationSize: cfg.validationSize,
    splitSeed: cfg.seed,
  };
}

/** Scratch and distilled students per seed, then the summary over seeds. */
export async function compareOverSeeds(options: CompareOverSeedsOptions): Promise<SeedComparison> {
  const { data, hidden, seeds, epochs, batchSize, distill } = options;
  if (seeds.length === 0 || new Set(seeds).size !== seeds.length) {
    throw new InputError('BAD_INPUT', `compareOverSeeds: seeds must be distinct and at least one, got [${seeds.join(', ')}].`);
  }
  const missing = seeds.filter((seed) => !options.done?.some((r) => r.seed === seed));
  const trainedElsewhere = options.inWorkers && missing.length > 0 ? await trainInWorkers(options, missing, options.inWorkers) : new Map<number, SeedRun>();
  const runs: SeedRun[] = [];
  for (const seed of seeds) {
    const known = options.done?.find((r) => r.seed === seed) ?? trainedElsewhere.get(seed);
    const run = known ?? {
      seed,
      scratch: await trainAndScore(data, hidden, seed, epochs, batchSize, 'hard'),
      distilled: await trainAndScore(data, hidden, seed, epochs, batchSize, distill),
    };
    runs.push(run);
    options.onSeed?.(run);
  }
  return summarize(hidden, runs);
}

/** The comparison's two methods for `seeds`, as a runMethods spec for the workers. */
function headlineSpec(o: { data: SplitData; hidden: number[]; epochs: number; batchSize: number; distill: DistillSpec }, seeds: number[], w: SeedWorkers): MethodsSpec {
  const { teacherLogits: _logits, teacher: _teacher, regressor: _regressor, ...objective } = o.distill;
  if (w.trainSize !== null && w.trainSize !== o.data.train.size) {
    throw new InputError('BAD_INPUT', `compareOverSeeds: inWorkers.trainSize is ${w.trainSize} but data.train has ${o.data.train.size} rows; pass the settings that built data.`);
  }
  return {
    name: 'headline',
    student: { kind: 'mlp', hidden: o.hidden },
    teacher: w.teacher,
    methods: [
      { name: 'scratch', objective: { objective: 'hard' } },
      { name: 'kd', objective: { objective: 'kd', ...objective } as Objective },
    ],
    seeds,
    epochs: o.epochs,
    batchSize: o.batchSize,
    trainSize: w.trainSize,
    validationSize: w.validationSize,
    splitSeed: w.splitSeed,
  };
}

const scoreOf = (row: MethodRow): RunScore => ({ valAccuracy: row.valAccuracy, testAccuracy: row.testAccuracy, testErrors: row.testErrors });

async function trainInWorkers(options: CompareOverSeedsOptions, seeds: number[], w: SeedWorkers): Promise<Map<number, SeedRun>> {
  const result = await runMethods(headlineSpec(options, seeds, w), { resultsFile: w.resultsFile, workers: w.workers });
  const score = (seed: number, method: string): RunScore => {
    const row = result.rows.find((r) => r.seed === seed && r.method === method);
    if (!row) throw new InputError('BAD_INPUT', `compareOverSeeds: no ${method} row for seed ${seed} in ${w.resultsFile}.`);
    return scoreOf(row);
  };
  return new Map(seeds.map((seed) => [seed, { seed, scratch: score(seed, 'scratch'), distilled: score(seed, 'kd') }]));
}

/** A student trained in a worker process and loaded back: weights, per-epoch history, scores. */
export interface KeptStudent {
  model: tf.Sequential;
  /** From the worker's checkpoint; samplesPerSecond counts the epochs' validation too. */
  result: TrainResult;
  /** What the worker measured on these weights (validation, and test once at the end). */
  score: RunScore;
}

export interface SeedPairOptions {
  data: SplitData;
  hidden: number[];
  seed: number;
  epochs: number;
  batchSize: number;
  distill: DistillSpec;
  inWorkers: SeedWorkers;
  /** Each epoch of either student as its worker finishes it (validation accuracy included). */
  onEpoch?: (student: 'scratch' | 'distilled', record: EpochRecord) => void;
}

/**
 * One seed's scratch and distilled students trained at the same time, in two worker processes
 * of one BLAS thread each, instead of one after the other in this process: on 2 cores that takes
 * about 60% of the time. Each worker validates after every epoch, reports it (for a live chart)
 * and checkpoints it, so an interrupted pair resumes; the finished students are loaded here. The
 * rows go to the headline's results file, where compareOverSeeds with the same settings finds
 * this seed.
 */
export async function trainSeedPair(o: SeedPairOptions): Promise<{ scratch: KeptStudent; distilled: KeptStudent }> {
  const w = o.inWorkers;
  const result = await runMethods(headlineSpec(o, [o.seed], w), {
    resultsFile: w.resultsFile,
    workers: w.workers,
    keepModels: true,
    onEpoch: (config, record) => o.onEpoch?.(config.method === 'scratch' ? 'scratch' : 'distilled', record),
  });
  const load = async (method: MethodName): Promise<KeptStudent> => {
    const row = result.rows.find((r) => r.method === method) as MethodRow;
    const model = createStudent({ hidden: o.hidden, seed: o.seed });
    const dir = methodRunDir(w.resultsFile, row.key);
    const kept = await loadCheckpoint(dir, { model }, { weightsOnly: true });
    if (!kept || kept.state.epoch !== o.epochs) {
      model.dispose();
      throw new KdlabError('CHECKPOINT_CORRUPT', `trainSeedPair: the ${method} student in ${dir} is missing or unfinished; delete the directory and rerun.`);
    }
    const history = kept.state.history;
    const seconds = history.reduce((a, r) => a + r.seconds, 0);
    return {
      model,
      result: { ...bestAndLast(history), kept: bestAndLast(history).last, history, aborted: false, steps: kept.state.step, samplesPerSecond: (o.data.train.size * o.epochs) / seconds, resumedFromEpoch: 0 },
      score: scoreOf(row),
    };
  };
  const scratch = await load('scratch');
  return { scratch, distilled: await load('kd') };
}

/** The summary of per-seed runs (exported for tests and for runs trained elsewhere). */
export function summarize(hidden: number[], runs: SeedRun[]): SeedComparison {
  return {
    hidden,
    runs,
    scratchErrors: meanSd(runs.map((r) => r.scratch.testErrors)),
    distilledErrors: meanSd(runs.map((r) => r.distilled.testErrors)),
    errorsSaved: meanSd(runs.map((r) => r.scratch.testErrors - r.distilled.testErrors)),
    distilledWins: runs.filter((r) => r.distilled.testErrors < r.scratch.testErrors).length,
  };
}

async function trainAndScore(
  data: SplitData,
  hidden: number[],
  seed: number,
  epochs: number,
  batchSize: number,
  loss: 'hard' | DistillSpec,
): Promise<RunScore> {
  const model = createStudent({ hidden, seed });
  try {
    await train(model, { train: data.train, epochs, batchSize, seed, loss });
    const val = evaluate(model, data.validation);
    const test = evaluate(model, data.test);
    return { valAccuracy: val.accuracy, testAccuracy: test.accuracy, testErrors: test.errors };
  } finally {
    model.dispose();
  }
}
