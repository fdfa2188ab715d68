import type * as tf from '@tensorflow/tfjs';
import type { TeacherLogits } from '../cache';
import type { DigitSet } from '../data';
import type { DistillObjective } from '../losses';
import type { TeacherFeatures } from '../teacher-features';

// train()'s options and results, and the training state a checkpoint holds.

export type OptimizerName = 'adam' | 'sgd' | 'momentum';

export interface OptimizerSpec {
  name?: OptimizerName;
  /** Step size (default 1e-3 for adam, 0.01 for sgd and momentum). */
  learningRate?: number;
  /** Alias of learningRate. */
  lr?: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  /** Momentum coefficient for 'momentum' (default 0.9); the final value when rampMomentum is set. */
  momentum?: number;
  /** How the step size changes with the step count (default: constant). */
  schedule?: LearningRateSchedule;
  /** 'momentum' only: start at `from` and rise linearly to `momentum` over `steps` updates. */
  rampMomentum?: MomentumRamp;
  /**
   * 'momentum' only: v = mu·v + (1 − mu)·g instead of v = mu·v + g (Hinton et al. 2012's form:
   * the velocity averages the gradients, so raising mu does not raise the step, lr·g at steady state).
   */
  dampened?: boolean;
}

/**
 * A step-size schedule, a pure function of the number of updates k already taken, so a resumed
 * run (the checkpoint keeps k) continues with exactly the step sizes of an uninterrupted one.
 * - 'constant': lr.
 * - 'exponential': lr · decayRate^(k / decaySteps) (with staircase: ^floor(k / decaySteps)),
 *   never below minLearningRate (default 0). Per-epoch decay: decaySteps = batches per epoch.
 */
export type LearningRateSchedule =
  | { kind: 'constant' }
  | { kind: 'exponential'; decayRate: number; decaySteps: number; staircase?: boolean; minLearningRate?: number };

/** Momentum `from` at update 0, rising linearly to the optimizer's `momentum` at update `steps`. */
export interface MomentumRamp {
  from: number;
  steps: number;
}

/** Where a distillation loss gets the teacher's logits: one of the two is required. */
export interface TeacherSource {
  /** Teacher logits for every row of the training set (n × 10), e.g. from teacherLogitsCached. */
  teacherLogits?: Float32Array | TeacherLogits | tf.Tensor2D;
  /** A teacher model: its logits are computed in inference mode (dropout off). */
  teacher?: tf.LayersModel;
}

/**
 * A distillation loss: an objective (see Objective in losses/types.ts; `objective` defaults to 'kd')
 * and the teacher, e.g. { teacherLogits, temperature: 4, alpha: 0.9 } or
 * { teacherLogits, objective: 'mse', alpha: 0.5 }. The feature objectives take the teacher model
 * (its hidden representations are computed per batch): { teacher, objective: 'cosine', alpha } or
 * { teacher, regressor, objective: 'hint', alpha }.
 */
export type DistillSpec = DistillObjective & TeacherSource & FeatureOptions;

/** For the feature objectives (notebook 08): 'hint' trains a regressor with the student. */
export interface FeatureOptions {
  /**
   * The teacher's last hidden layer for every training row (teacherFeaturesCached), so the
   * teacher does not run on every batch; by default train() computes them once itself when the
   * inputs are clean and they fit in TEACHER_FEATURES_MAX_BYTES.
   */
  teacherFeatures?: TeacherFeatures;
  /**
   * FitNets' regressor from the student's last hidden layer to the teacher's (createRegressor);
   * required by { objective: 'hint' }, trained by the same optimizer as the student, not saved in
   * checkpoints; the caller disposes it.
   */
  regressor?: tf.LayersModel;
}

/** 'hard': cross-entropy with the labels only (the objective { objective: 'hard' }). */
export type LossSpec = 'hard' | DistillSpec;

export interface BatchProgress {
  /** 1-based epoch being trained. */
  epoch: number;
  /** 1-based batch within the epoch. */
  batch: number;
  batchesPerEpoch: number;
  /** Optimizer steps taken since the model was created (or the checkpoint's count). */
  step: number;
  /** Mean loss over the epoch's batches so far. */
  loss: number;
  samplesPerSecond: number;
}

export interface EpochRecord {
  /** 1-based epoch number. */
  epoch: number;
  /** Mean training loss over the epoch's batches. */
  loss: number;
  /** Accuracy on the training batches while training (dropout on for a teacher). */
  trainAccuracy: number;
  /** Accuracy on the validation set in inference mode, or null without a validation set. */
  valAccuracy: number | null;
  seconds: number;
}

export interface TrainOptions {
  train: DigitSet;
  validation?: DigitSet;
  /** Total number of epochs (a resumed run continues up to this number). Default with `steps`: as many as the steps need. */
  epochs?: number;
  /**
   * Stop after this many optimizer steps in all (a fixed budget whatever the set's size); the last
   * epoch may be partial. With `epochs` too, whichever comes first.
   */
  steps?: number;
  /**
   * Which weights the model ends with: the last step's (default) or those of the epoch with the
   * best validation accuracy ('best' needs `validation`; with `checkpoint`, the best epoch's
   * weights are kept in <dir>/best so that a resumed run can still go back to them).
   */
  keep?: 'last' | 'best';
  batchSize?: number;
  optimizer?: OptimizerSpec;
  loss?: LossSpec;
  /** Seeds batch order, jitter and dropout masks. Weights are seeded by createStudent/createTeacher. */
  seed?: number;
  /** Shift each training image by up to this many pixels per axis (Hinton's teacher used 2). */
  jitter?: number;
  /** Overrides the model's max-norm bound (createTeacher({ maxNorm })). */
  maxNorm?: number;
  onBatch?: (progress: BatchProgress) => void;
  onEpoch?: (record: EpochRecord) => void;
  /** Minimum milliseconds between two onBatch calls (default 500). */
  progressEveryMs?: number;
  /** Stops between two steps; the model keeps the weights of the last completed step. */
  signal?: AbortSignal;
  /**
   * Also stop on SIGINT (a Jupyter kernel interrupt). tslab answers an interrupt by abandoning
   * the cell's promise, so without this the training would go on in the background and keep
   * changing the model. Default: on when some SIGINT handler is already installed (as in the
   * tslab kernel), off in a plain Node process (where Ctrl-C should still exit).
   */
  abortOnInterrupt?: boolean;
  /** Save a checkpoint every `every` epochs (default 1) and at the end. */
  checkpoint?: { dir: string; every?: number };
  /** Continue from the checkpoint in this directory (if one exists there). */
  resumeFrom?: string;
}

export interface TrainResult {
  history: EpochRecord[];
  /** The epoch with the highest validation accuracy (null without a validation set). */
  best: EpochRecord | null;
  /** The final completed epoch. */
  last: EpochRecord | null;
  /** The epoch whose weights the model holds now: `last`, or `best` with keep: 'best'. */
  kept: EpochRecord | null;
  aborted: boolean;
  /** Optimizer steps taken in total (including steps before a resume). */
  steps: number;
  /** Training throughput of this call (steps only, without validation). */
  samplesPerSecond: number;
  /** Epoch the run resumed after (0 for a fresh run). */
  resumedFromEpoch: number;
}

// ---------------------------------------------------------------------------------------------
// Checkpoint state (saved and loaded by checkpoint.ts)

export interface TrainingState {
  /** Epochs completed. */
  epoch: number;
  /** The run's seed: batch order, jitter and dropout masks are functions of (seed, epoch, step). */
  seed: number;
  /** Optimizer steps taken. */
  step: number;
  history: EpochRecord[];
}

/** An optimizer's state as plain data (Optimizer.getState / setState). */
export interface OptimizerState {
  name: string;
  config: Record<string, number>;
  iterations: number;
  slots: { name: string; shape: number[]; data: Float32Array }[];
}
