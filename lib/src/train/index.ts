/** Training: what lib/src/index.ts (notebooks) and lib/src/internals.ts (tools, tests) use. */
export { train } from './loop';
export type {
  TrainOptions, TrainResult, EpochRecord, BatchProgress, OptimizerSpec, OptimizerName, LearningRateSchedule, MomentumRamp, LossSpec, DistillSpec, TeacherSource,
  TrainingState, OptimizerState,
} from './types';
export { Optimizer } from './optimizer';
export { createTrainStep } from './step';
export type { StepBatch } from './step';
export { trainableVariables, trainingForward } from './forward';
