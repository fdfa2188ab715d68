import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ScoredSplit } from './bias-shift';
import type { TeacherLogits } from './cache';
import { NUM_CLASSES, type SplitData } from './data';
import { buildTransferSet, classCounts, transferLogits, type TransferSetSpec } from './data/transfer-set';
import { InputError } from './errors';
import { runInWorkers } from './grid/run';
import type { SplitSettings, SplitWorkers } from './grid/split-data';
import { evaluateLogits, predictLogits } from './evaluate';
import { meanSd, type MeanSd } from './stats';
import { createStudent } from './models';
import { workbookDir, writeFileAtomic } from './paths';
import { train } from './train';

/**
 * Notebook 06's experiment driver: students trained on transfer sets (a fraction of the pool, the
 * pool without some digits, only some digits), with hard labels or with the teacher's soft
 * targets, for a fixed number of optimizer steps whatever the set's size. Every finished run is
 * saved as one JSON file keyed by a hash of its full configuration (plus its validation and test
 * logits when asked), so a rerun reads it back instead of training.
 */

export type TransferLoss = 'hard' | { temperature: number; alpha: number };

export interface TransferRunSpec {
  transfer: TransferSetSpec;
  loss: TransferLoss;
  /** Seeds the student's initial weights and batch order. */
  seed: number;
  hidden: number[];
  /** Optimizer steps (the same budget for every transfer-set size). */
  steps: number;
  batchSize: number;
  learningRate: number;
  /** Keep the student's validation and test logits (for a bias-shift study). */
  keepLogits?: boolean;
}

export interface SplitScore {
  accuracy: number;
  errors: number;
  /** Errors per true class 0..9. */
  errorsByClass: number[];
}

export interface TransferRun {
  key: string;
  spec: TransferRunSpec;
  transferSize: number;
  /** Images of each digit in the transfer set. */
  transferCounts: number[];
  steps: number;
  seconds: number;
  /** Scored only for runs that keep their logits (the bias-shift studies); null otherwise. */
  validation: SplitScore | null;
  test: SplitScore;
  /** True when read from the cache. */
  cached: boolean;
  /** Present when spec.keepLogits. */
  logits?: { validation: ScoredSplit; test: ScoredSplit };
}

export interface TransferExperimentOptions {
  /** data.train is the pool every transfer set is drawn from. */
  data: SplitData;
  /** The teacher's logits for every row of data.train (teacherLogitsCached(teacher, data.train)). */
  teacher: TeacherLogits;
  runs: TransferRunSpec[];
  /** Where finished runs are kept (default build/results/generalization). */
  dir?: string;
  onRun?: (run: TransferRun, index: number) => void;
  /** Train the unfinished runs in worker processes (see TransferWorkers) instead of in this one. */
  inWorkers?: TransferWorkers;
}

/**
 * The settings that rebuild `data` in a worker process: loadSplits({ validationSize, seed:
 * splitSeed }) with the pool cut to its first `poolSize` rows (chapterData). Each worker uses one
 * BLAS thread, so on 2 cores two runs train at once, about 40% more images per second than one
 * process with two threads. A worker refuses settings that do not rebuild the caller's pool (the
 * run keys differ). The digits of a run depend on that thread count; a run's files are its record,
 * read back whichever path trained it.
 */
export type TransferWorkers = SplitWorkers;

/** What runTransferExperiment sends a worker (grid/transfer-worker.ts). */
export interface TransferRequest {
  type: 'run';
  key: string;
  spec: TransferRunSpec;
  dir: string;
  teacherLogitsFile: string;
  teacherKey: string;
  split: SplitSettings;
}

const FORMAT = 1;

function hashOf(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);
}

/** The run's identity: everything that determines its result. */
export function transferRunKey(spec: TransferRunSpec, data: SplitData, teacherKey: string): string {
  const { keepLogits: _keep, ...rest } = spec;
  const t = rest.transfer;
  const transfer = { fraction: t.fraction ?? null, exclude: t.exclude ?? null, keep: t.keep ?? null, seed: t.fraction === undefined ? null : (t.seed ?? 0) };
  return hashOf({
    format: FORMAT, ...rest, transfer,
    pool: [data.train.id, data.train.size], validation: data.validation.id, test: data.test.id, teacherKey,
  });
}

function checkSpec(spec: TransferRunSpec): void {
  if (!Number.isInteger(spec.steps) || spec.steps <= 0) throw new InputError('BAD_EPOCHS', `transfer run: steps must be a positive integer, got ${spec.steps}.`);
  if (!Number.isInteger(spec.batchSize) || spec.batchSize <= 0) throw new InputError('BAD_BATCH_SIZE', `transfer run: batchSize must be a positive integer, got ${spec.batchSize}.`);
  if (spec.loss !== 'hard' && !(spec.loss.temperature > 0 && spec.loss.alpha >= 0 && spec.loss.alpha <= 1)) {
    throw new InputError('BAD_LOSS', `transfer run: loss must be 'hard' or { temperature > 0, alpha in [0, 1] }, got ${JSON.stringify(spec.loss)}.`);
  }
}

function score(logits: Float32Array, labels: ArrayLike<number>): SplitScore {
  const e = evaluateLogits(logits, labels);
  const errorsByClass = e.confusion.map((row, y) => row.reduce((a, n, p) => a + (p === y ? 0 : n), 0));
  return { accuracy: e.accuracy, errors: e.errors, errorsByClass };
}

function readF32(file: string, n: number): Float32Array | null {
  if (!fs.existsSync(file)) return null;
  const buf = fs.readFileSync(file);
  if (buf.byteLength !== n * NUM_CLASSES * 4) return null;
  const out = new Float32Array(n * NUM_CLASSES);
  new Uint8Array(out.buffer).set(buf);
  return out;
}

const f32Bytes = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Reads a finished run (null when absent or incomplete). */
function readRun(dir: string, key: string, spec: TransferRunSpec, data: SplitData): TransferRun | null {
  const file = path.join(dir, `${key}.json`);
  if (!fs.existsSync(file)) return null;
  let saved: Omit<TransferRun, 'logits' | 'cached'>;
  try {
    saved = JSON.parse(fs.readFileSync(file, 'utf8')) as Omit<TransferRun, 'logits' | 'cached'>;
  } catch {
    return null;
  }
  if (saved.key !== key) return null;
  const run: TransferRun = { ...saved, spec, cached: true };
  if (spec.keepLogits) {
    const v = readF32(path.join(dir, `${key}.validation.f32`), data.validation.size);
    const t = readF32(path.join(dir, `${key}.test.f32`), data.test.size);
    if (!v || !t) return null;
    run.logits = { validation: { split: 'validation', logits: v, labels: data.validation.labels }, test: { split: 'test', logits: t, labels: data.test.labels } };
  }
  return run;
}

/** Trains (or reads back) one run. */
export async function transferRun(
  spec: TransferRunSpec,
  context: { data: SplitData; teacher: TeacherLogits; dir?: string },
): Promise<TransferRun> {
  checkSpec(spec);
  const { data, teacher } = context;
  if (teacher.size !== data.train.size) {
    throw new InputError('TEACHER_LOGITS_MISMATCH', `transfer run: the teacher logits cover ${teacher.size} rows, the pool ${data.train.size}; use teacherLogitsCached(teacher, data.train).`);
  }
  const dir = context.dir ?? workbookDir('results', 'generalization');
  const key = transferRunKey(spec, data, teacher.key);
  const done = readRun(dir, key, spec, data);
  if (done) return done;

  const set = buildTransferSet(data.train, spec.transfer);
  const loss = spec.loss === 'hard' ? ('hard' as const)
    : { teacherLogits: transferLogits(teacher.logits, set), temperature: spec.loss.temperature, alpha: spec.loss.alpha };
  const model = createStudent({ hidden: spec.hidden, seed: spec.seed });
  const started = performance.now();
  try {
    // A fixed number of steps: as many epochs as needed, stopped after the last step.
    const stop = new AbortController();
    const result = await train(model, {
      train: set, epochs: Math.ceil(spec.steps / Math.ceil(set.size / spec.batchSize)), batchSize: spec.batchSize,
      seed: spec.seed, loss, optimizer: { name: 'adam', learningRate: spec.learningRate },
      signal: stop.signal, progressEveryMs: 0,
      onBatch: (p) => {
        if (p.step >= spec.steps) stop.abort();
      },
    });
    const valLogits = spec.keepLogits ? predictLogits(model, data.validation) : null;
    const testLogits = predictLogits(model, data.test);
    const run: Omit<TransferRun, 'logits' | 'cached' | 'spec'> & { spec: TransferRunSpec } = {
      key, spec, transferSize: set.size, transferCounts: classCounts(set), steps: result.steps,
      seconds: (performance.now() - started) / 1000,
      validation: valLogits ? score(valLogits, data.validation.labels) : null, test: score(testLogits, data.test.labels),
    };
    if (valLogits) {
      writeFileAtomic(path.join(dir, `${key}.validation.f32`), f32Bytes(valLogits));
      writeFileAtomic(path.join(dir, `${key}.test.f32`), f32Bytes(testLogits));
    }
    writeFileAtomic(path.join(dir, `${key}.json`), JSON.stringify(run) + '\n');
    return {
      ...run, cached: false,
      logits: valLogits
        ? { validation: { split: 'validation', logits: valLogits, labels: data.validation.labels }, test: { split: 'test', logits: testLogits, labels: data.test.labels } }
        : undefined,
    };
  } finally {
    model.dispose();
  }
}

/** Runs every spec in order (finished ones are read back), one student at a time. */
export async function runTransferExperiment(options: TransferExperimentOptions): Promise<TransferRun[]> {
  const workers = options.inWorkers ? await trainInWorkers(options, options.inWorkers) : { trained: new Set<string>(), read: new Map<TransferRunSpec, TransferRun>() };
  const out: TransferRun[] = [];
  for (const [i, spec] of options.runs.entries()) {
    const run = workers.read.get(spec) ?? (await transferRun(spec, options));
    if (workers.trained.has(run.key)) run.cached = false;
    out.push(run);
    options.onRun?.(run, i);
  }
  return out;
}

/**
 * Trains the runs that have no files yet in worker processes. Returns their keys, and the runs
 * that were finished before, as read while looking (so they are not read again).
 */
async function trainInWorkers(
  options: TransferExperimentOptions, w: TransferWorkers,
): Promise<{ trained: Set<string>; read: Map<TransferRunSpec, TransferRun> }> {
  const { data, teacher } = options;
  const dir = options.dir ?? workbookDir('results', 'generalization');
  if (!teacher.file || !fs.existsSync(teacher.file)) {
    throw new InputError('BAD_INPUT', `runTransferExperiment in workers: the teacher logits need their cache file (teacherLogitsCached), got ${JSON.stringify(teacher.file)}.`);
  }
  const pending = new Map<string, TransferRunSpec>();
  const read = new Map<TransferRunSpec, TransferRun>();
  for (const spec of options.runs) {
    checkSpec(spec);
    const key = transferRunKey(spec, data, teacher.key);
    if (pending.has(key)) continue;
    const finished = readRun(dir, key, spec, data);
    if (finished) read.set(spec, finished);
    else pending.set(key, spec);
  }
  if (pending.size === 0) return { trained: new Set(), read };
  const split = { validationSize: w.validationSize, splitSeed: w.splitSeed, poolSize: w.poolSize };
  const keyOf = new Map([...pending].map(([k, s]) => [s, k]));
  await runInWorkers<TransferRunSpec, { seconds: number }>({
    pending: [...pending.values()],
    workers: Math.max(1, Math.min(w.workers ?? os.availableParallelism(), pending.size)),
    entry: 'transfer-worker',
    request: (spec): TransferRequest => ({ type: 'run', key: keyOf.get(spec) ?? '', spec, dir, teacherLogitsFile: teacher.file, teacherKey: teacher.key, split }),
    describe: (spec) => `transfer run ${JSON.stringify(spec.transfer)}, loss ${JSON.stringify(spec.loss)}, seed ${spec.seed}`,
    onDone: () => {},
  });
  return { trained: new Set(pending.keys()), read };
}

export interface TransferSizePoint {
  fraction: number;
  /** Images in the transfer set (the same for every seed of a fraction). */
  size: number;
  hard: MeanSd;
  soft: MeanSd;
  /** Per seed, soft minus hard test accuracy. */
  gains: number[];
}

/** Test accuracy by fraction, hard and soft, mean ± sd over the seeds. */
export function summarizeTransferSizes(runs: readonly TransferRun[]): TransferSizePoint[] {
  const fractions = [...new Set(runs.map((r) => r.spec.transfer.fraction ?? 1))].sort((a, b) => a - b);
  return fractions.map((fraction) => {
    const at = runs.filter((r) => (r.spec.transfer.fraction ?? 1) === fraction);
    const hard = at.filter((r) => r.spec.loss === 'hard');
    const soft = at.filter((r) => r.spec.loss !== 'hard');
    if (hard.length === 0 || soft.length === 0) {
      throw new InputError('BAD_INPUT', `summarizeTransferSizes: fraction ${fraction} needs runs with hard labels and with soft targets.`);
    }
    const gains = soft.map((s) => {
      const twin = hard.find((h) => h.spec.seed === s.spec.seed);
      return twin ? s.test.accuracy - twin.test.accuracy : Number.NaN;
    });
    return {
      fraction, size: at[0].transferSize,
      hard: meanSd(hard.map((r) => r.test.accuracy)), soft: meanSd(soft.map((r) => r.test.accuracy)), gains,
    };
  });
}

/** The accuracy-vs-transfer-set-size figure's input from the summary. */
export function transferSizeFigureData(points: readonly TransferSizePoint[], teacherAccuracy?: number) {
  return {
    sizes: points.map((p) => p.size),
    hardTargets: points.map((p) => p.hard.mean),
    softTargets: points.map((p) => p.soft.mean),
    hardTargetsSd: points.map((p) => p.hard.sd),
    softTargetsSd: points.map((p) => p.soft.sd),
    teacherAccuracy,
    split: 'test',
  };
}

/** Accuracy per test digit from errors per class and the test set's class counts. */
export function perClassAccuracy(errorsByClass: readonly number[], countByClass: readonly number[]): number[] {
  return countByClass.map((n, c) => (n > 0 ? 1 - errorsByClass[c] / n : 0));
}
