import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadCheckpoint, saveCheckpoint } from '../checkpoint';
import { batches, IMAGE_SIZE, makeRng, type DigitSet } from '../data';
import { InputError, KdlabError } from '../errors';
import { evaluate } from '../evaluate';
import { applyMaxNorm, maxNormOf, reseedDropout } from '../models';
import { BatchAssembler, disposeBatch } from './batch';
import { Optimizer } from './optimizer';
import { createTrainStep, type StepBatch } from './step';
import { resolveLoss, withTeacherFeatures } from './teacher-targets';
import { TrainingDiverged } from './diverged';
import type { EpochRecord, TrainOptions, TrainResult } from './types';

/**
 * One training loop for the teacher, the scratch student and the distilled student: per epoch,
 * the seeded batches through one optimizer step each, then validation and a checkpoint. It stops
 * cleanly between two steps on an AbortSignal (or a kernel interrupt).
 */

/**
 * Trains `model` in place. Returns the per-epoch history with the best (validation) and last
 * epochs reported apart; stops cleanly on `signal`.
 */
export async function train(model: tf.LayersModel, options: TrainOptions): Promise<TrainResult> {
  const run = checkOptions(model, options);
  const loss = resolveLoss(options.loss ?? 'hard', run.set, run.jitter);
  const optimizer = new Optimizer(options.optimizer);
  const resumed = await resume(model, optimizer, options, run.seed);
  const step = createTrainStep(model, optimizer, loss.objective);
  const targets = withTeacherFeatures(loss, model, run.set, run.jitter).targets;
  const ctx: EpochRun = {
    model,
    run,
    options,
    optimizer,
    step,
    assembler: new BatchAssembler(run.batchSize, targets, run.jitter),
    stop: watchForStop(options),
    clock: { samples: 0, ms: 0 },
  };
  let history = resumed.history;
  let aborted = false;
  const keeper = new BestKeeper(model, run.keep, options.checkpoint?.dir);
  try {
    for (let epoch = resumed.epoch; epoch < run.epochs && !budgetSpent(ctx); epoch++) {
      const record = await trainEpoch(ctx, epoch);
      if (!record) {
        aborted = true;
        break;
      }
      history = [...history, record];
      await keeper.observe(record, history);
      options.onEpoch?.(record);
      await saveIfDue(ctx, record.epoch, history);
    }
    const steps = optimizer.iterations;
    const done = summary(history, aborted, steps, ctx.clock, resumed.epoch);
    return { ...done, kept: aborted ? done.last : await keeper.restore(done) };
  } catch (err) {
    if (err instanceof TrainingDiverged) Object.assign(err, { history, steps: optimizer.iterations });
    throw err;
  } finally {
    keeper.dispose();
    optimizer.dispose();
    ctx.stop.release();
  }
}

/** True once the step budget (options.steps) is used up. */
function budgetSpent(ctx: EpochRun): boolean {
  return ctx.run.maxSteps !== null && ctx.optimizer.iterations >= ctx.run.maxSteps;
}

/**
 * keep: 'best': holds a copy of the best epoch's weights (and writes them to <checkpoint>/best, so
 * a resumed run can go back to an epoch it trained before the interruption) and puts them back at
 * the end. With keep: 'last' it does nothing.
 */
class BestKeeper {
  private weights: tf.Tensor[] | null = null;
  private epoch = 0;
  constructor(private readonly model: tf.LayersModel, private readonly keep: 'last' | 'best', private readonly dir: string | undefined) {}

  async observe(record: EpochRecord, history: EpochRecord[]): Promise<void> {
    if (this.keep !== 'best' || bestAndLast(history).best !== record) return;
    this.dispose();
    this.weights = this.model.getWeights().map((w) => tf.keep(w.clone()));
    this.epoch = record.epoch;
    if (this.dir) await saveCheckpoint(path.join(this.dir, 'best'), { model: this.model, state: { epoch: record.epoch, seed: 0, step: 0, history: [] } });
  }

  async restore(done: TrainResult): Promise<EpochRecord | null> {
    const { best, last } = done;
    if (this.keep !== 'best' || !best || best === last) return last;
    if (this.weights && this.epoch === best.epoch) {
      this.model.setWeights(this.weights);
      return best;
    }
    const saved = this.dir ? await loadCheckpoint(path.join(this.dir, 'best'), { model: this.model }, { weightsOnly: true }) : null;
    if (!saved || saved.state.epoch !== best.epoch) {
      throw new KdlabError('CHECKPOINT_CORRUPT', `keep: 'best' needs the weights of epoch ${best.epoch}, which ${this.dir ? `${this.dir}/best does not hold` : 'were trained before a resume without a checkpoint'}; delete the checkpoint and train again.`);
    }
    return best;
  }

  dispose(): void {
    if (this.weights) tf.dispose(this.weights);
    this.weights = null;
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers of train(), in the order it calls them

interface RunSettings {
  set: DigitSet;
  epochs: number;
  /** options.steps, or null: no step budget. */
  maxSteps: number | null;
  keep: 'last' | 'best';
  batchSize: number;
  seed: number;
  jitter: number;
  maxNorm: number | undefined;
  progressEveryMs: number;
}

function checkOptions(model: tf.LayersModel, options: TrainOptions): RunSettings {
  const { train: set } = options;
  const batchSize = options.batchSize ?? 128;
  const maxSteps = options.steps ?? null;
  if (maxSteps !== null && !(Number.isInteger(maxSteps) && maxSteps > 0)) throw new InputError('BAD_EPOCHS', `steps must be a positive integer, got ${maxSteps}.`);
  if (options.epochs === undefined && maxSteps === null) throw new InputError('BAD_EPOCHS', 'train: give epochs (whole passes over the set) or steps (optimizer steps in all).');
  const batchesPerEpoch = set && set.size > 0 ? Math.ceil(set.size / batchSize) : 1;
  const epochs = options.epochs ?? Math.ceil((maxSteps ?? 0) / batchesPerEpoch);
  const keep = options.keep ?? 'last';
  if (keep !== 'last' && keep !== 'best') throw new InputError('BAD_INPUT', `keep must be 'last' or 'best', got ${JSON.stringify(keep)}.`);
  if (keep === 'best' && !options.validation) throw new InputError('BAD_INPUT', "keep: 'best' picks the epoch with the best validation accuracy: pass validation too.");
  const seed = options.seed ?? 0;
  const jitter = options.jitter ?? 0;
  if (!set || !(set.images instanceof Float32Array) || set.size <= 0) {
    throw new InputError('BAD_INPUT', 'train: options.train must be a non-empty DigitSet.');
  }
  if (!Number.isInteger(epochs) || epochs < 0) throw new InputError('BAD_EPOCHS', `epochs must be an integer >= 0, got ${epochs}.`);
  if (!Number.isInteger(batchSize) || batchSize <= 0) {
    throw new InputError('BAD_BATCH_SIZE', `batchSize must be a positive integer, got ${batchSize}.`);
  }
  if (!Number.isSafeInteger(seed) || seed < 0) throw new InputError('BAD_SEED', `seed must be a non-negative integer, got ${seed}.`);
  if (!(Number.isInteger(jitter) && jitter >= 0 && jitter < IMAGE_SIZE)) {
    throw new InputError('BAD_JITTER', `jitter must be a whole number of pixels in 0..${IMAGE_SIZE - 1}, got ${jitter}.`);
  }
  const maxNorm = options.maxNorm ?? maxNormOf(model);
  return { set, epochs, maxSteps, keep, batchSize, seed, jitter, maxNorm, progressEveryMs: options.progressEveryMs ?? 500 };
}

/** Loads the checkpoint in options.resumeFrom (if any) into the model and the optimizer. */
async function resume(
  model: tf.LayersModel,
  optimizer: Optimizer,
  options: TrainOptions,
  seed: number,
): Promise<{ history: EpochRecord[]; epoch: number }> {
  const restored = options.resumeFrom ? await loadCheckpoint(options.resumeFrom, { model }) : null;
  if (!restored) return { history: [], epoch: 0 };
  if (restored.state.seed !== seed) {
    throw new InputError(
      'CHECKPOINT_MISMATCH',
      `the checkpoint in ${options.resumeFrom} was trained with seed ${restored.state.seed}, this run asks for ${seed}.`,
    );
  }
  if (restored.optimizer) optimizer.setState(restored.optimizer);
  return { history: restored.state.history.slice(), epoch: restored.state.epoch };
}

interface StopWatch {
  requested(): boolean;
  release(): void;
}

/**
 * Stop requests: options.signal, and SIGINT when abortOnInterrupt is on. tslab answers a kernel
 * interrupt by abandoning the cell's promise, so without the hook training would go on in the
 * background (default: on when some SIGINT handler is already installed, as in the kernel).
 */
function watchForStop(options: TrainOptions): StopWatch {
  let interrupted = false;
  const onInterrupt = () => {
    interrupted = true;
  };
  const hook = options.abortOnInterrupt ?? process.listenerCount('SIGINT') > 0;
  if (hook) process.on('SIGINT', onInterrupt);
  return {
    requested: () => options.signal?.aborted === true || interrupted,
    release: () => {
      if (hook) process.off('SIGINT', onInterrupt);
    },
  };
}

/** What one epoch needs; the clock counts training steps only (no validation) over the call. */
interface EpochRun {
  model: tf.LayersModel;
  run: RunSettings;
  options: TrainOptions;
  optimizer: Optimizer;
  step: (batch: StepBatch) => { loss: tf.Scalar; correct: tf.Scalar };
  assembler: BatchAssembler;
  stop: StopWatch;
  clock: { samples: number; ms: number };
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));
const samplesPerSecond = (clock: EpochRun['clock']) => (clock.ms > 0 ? (clock.samples / clock.ms) * 1000 : 0);

/** Trains epoch `epoch` (0-based); null when a stop was requested before it finished. */
async function trainEpoch(ctx: EpochRun, epoch: number): Promise<EpochRecord | null> {
  const { model, run, options, clock } = ctx;
  const epochStart = performance.now();
  const jitterRng = run.jitter > 0 ? makeRng(`jitter:${run.seed}:${epoch}`) : undefined;
  const batchesPerEpoch = Math.ceil(run.set.size / run.batchSize);
  // Summed on the device; read back only for progress and at the end of the epoch.
  let lossSum: tf.Scalar = tf.keep(tf.scalar(0));
  let correctSum: tf.Scalar = tf.keep(tf.scalar(0));
  let seen = 0;
  let batchIndex = 0;
  let lastProgress = performance.now();
  try {
    for (const batch of batches(run.set, run.batchSize, { seed: run.seed, epoch })) {
      if (ctx.stop.requested()) return null;
      if (budgetSpent(ctx)) break;
      const t0 = performance.now();
      const input = ctx.assembler.assemble(batch, jitterRng);
      reseedDropout(model, stepSeed(run.seed, epoch, batchIndex));
      try {
        const out = ctx.step(input);
        const newLoss = tf.keep(tf.add(lossSum, out.loss)) as tf.Scalar;
        const newCorrect = tf.keep(tf.add(correctSum, out.correct)) as tf.Scalar;
        tf.dispose([lossSum, correctSum, out.loss, out.correct]);
        lossSum = newLoss;
        correctSum = newCorrect;
      } finally {
        disposeBatch(input);
      }
      if (run.maxNorm !== undefined) applyMaxNorm(model, run.maxNorm);
      seen += batch.indices.length;
      batchIndex++;
      clock.samples += batch.indices.length;
      clock.ms += performance.now() - t0;
      const now = performance.now();
      if (options.onBatch && (now - lastProgress >= run.progressEveryMs || batchIndex === batchesPerEpoch)) {
        lastProgress = now;
        const meanLoss = lossSum.dataSync()[0] / batchIndex;
        if (!Number.isFinite(meanLoss)) throw new TrainingDiverged(epoch + 1, meanLoss);
        const step = ctx.optimizer.iterations;
        options.onBatch({ epoch: epoch + 1, batch: batchIndex, batchesPerEpoch, step, loss: meanLoss, samplesPerSecond: samplesPerSecond(clock) });
      }
      // Lets a kernel interrupt (AbortSignal) and timers run between steps.
      await yieldToEventLoop();
    }
    const loss = lossSum.dataSync()[0] / batchIndex;
    if (!Number.isFinite(loss)) throw new TrainingDiverged(epoch + 1, loss);
    const trainAccuracy = correctSum.dataSync()[0] / seen;
    const valAccuracy = options.validation ? evaluate(model, options.validation).accuracy : null;
    return { epoch: epoch + 1, loss, trainAccuracy, valAccuracy, seconds: (performance.now() - epochStart) / 1000 };
  } finally {
    tf.dispose([lossSum, correctSum]);
  }
}

function stepSeed(seed: number, epoch: number, batch: number): number {
  // A 31-bit mix of (seed, epoch, batch): distinct dropout masks per step, same ones on a rerun.
  let h = (seed * 2654435761) >>> 0;
  h = Math.imul(h ^ (epoch + 0x9e3779b9), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (batch + 0x27d4eb2f), 0xc2b2ae35) >>> 0;
  return h & 0x7fffffff;
}

/** Saves a checkpoint every `checkpoint.every` epochs (default 1) and after the last one. */
async function saveIfDue(ctx: EpochRun, epochsDone: number, history: EpochRecord[]): Promise<void> {
  const { checkpoint } = ctx.options;
  if (!checkpoint) return;
  if (epochsDone % (checkpoint.every ?? 1) !== 0 && epochsDone !== ctx.run.epochs && !budgetSpent(ctx)) return;
  const { optimizer } = ctx;
  const state = { epoch: epochsDone, seed: ctx.run.seed, step: optimizer.iterations, history };
  await saveCheckpoint(checkpoint.dir, { model: ctx.model, optimizer: optimizer.getState(), state });
}

function summary(history: EpochRecord[], aborted: boolean, steps: number, clock: EpochRun['clock'], resumedFromEpoch: number): TrainResult {
  const bl = bestAndLast(history);
  return { ...bl, kept: bl.last, history, aborted, steps, samplesPerSecond: samplesPerSecond(clock), resumedFromEpoch };
}

/** The epoch with the highest validation accuracy (the first of equals) and the last epoch. */
export function bestAndLast(history: EpochRecord[]): Pick<TrainResult, 'best' | 'last'> {
  const withVal = history.filter((r) => r.valAccuracy !== null);
  const best = withVal.length ? withVal.reduce((a, b) => ((b.valAccuracy as number) > (a.valAccuracy as number) ? b : a)) : null;
  return { best, last: history.length ? history[history.length - 1] : null };
}
