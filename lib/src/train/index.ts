/** Training: what lib/src/index.ts (notebooks) and lib/src/internals.ts (tools, tests) use. */
export { train, bestAndLast } from './loop';
export { TrainingDiverged } from './diverged';
export type {
  TrainOptions, TrainResult, EpochRecord, BatchProgress, OptimizerSpec, OptimizerName, LearningRateSchedule, MomentumRamp, LossSpec, DistillSpec,
  TeacherSource, FeatureOptions,
  TrainingState, OptimizerState,
} from './types';
export { Optimizer } from './optimizer';
export { createTrainStep } from './step';
export type { StepBatch, FeatureSource, TrainObjective } from './step';
export { trainableVariables, trainingForward, trainingForwardWithFeatures } from './forward';
