/**
 * kdlab: what the chapter notebooks and the assignments import, by name. Listed one by one so
 * that a reader sees the whole vocabulary here and nothing internal leaks into a notebook's
 * namespace: every value here is used by a chapter notebook or an assignment. The tools (CLI,
 * runner, grader, benchmarks) use 'kdlab/internals' and 'kdlab/compute-internals' for the rest.
 */
export * as tf from '@tensorflow/tfjs';

export { KdlabError } from './errors';
export type { ErrorCode, InputErrorCode, DataErrorCode, RuntimeErrorCode } from './errors';

export { initBackend } from './backend';
export type { BackendInfo, BackendName } from './backend';

export { workbookDir, workbookRelative } from './paths';
export type { WorkbookDir } from './paths';

export { loadMnist, loadSplits, take, subset, batches, NUM_CLASSES } from './data';
export type { DigitSet, SplitData, MnistData, Batch, Rng } from './data';

export {
  softmaxWithTemperature, logSoftmaxWithTemperature, entropy, softmaxT, entropyOf,
  WORKED_EXAMPLE_LOGITS, CHAPTER_PRINTED_T1,
} from './softmax';

export {
  kdLoss, distillationLoss, studentLoss, softTargetCrossEntropy, mseLogitsLoss, mseProbabilitiesLoss, dkdLoss, dkdTerms, poolFeatures,
  DKD_DEFAULTS, hintLoss, cosineEmbeddingLoss,
} from './losses';
export { resolveObjective } from './losses';
export type { KdLossOptions, Objective, DistillObjective, DkdLossOptions, DkdTerms, Regressor } from './losses';

export { createTeacher, createStudent, countParams, describeModel, createRegressor } from './models';
export type { TeacherOptions, StudentOptions, RegressorOptions } from './models';

export { train } from './train';

export { runAll, executeRun, runKey, readRun, loadRunModel, runLogits, runsFrame, createModel } from './runs';
export { lastHiddenShape } from './runs';
export type { RunSpec, DataRef, ModelSpec, TeacherRef, Budget, RecordSpec, RunResult, RunAllOptions, SplitScore, TrainingFit, RunTableRow, Divergence } from './runs';
export type { TrainOptions, TrainResult, EpochRecord, BatchProgress, OptimizerSpec, OptimizerName, LearningRateSchedule, MomentumRamp, LossSpec, DistillSpec, TeacherSource } from './train';

export { evaluate, evaluateLogits, predictLogits } from './evaluate';
export type { Evaluation } from './evaluate';

export { teacherLogitsCached } from './cache';
export type { TeacherLogits, TeacherLogitsOptions } from './cache';
export { teacherFeaturesCached, TEACHER_FEATURES_MAX_BYTES } from './teacher-features';
export type { TeacherFeatures } from './teacher-features';

export { saveCheckpoint } from './checkpoint';

export { chapterConfig, chapterData, chapterDataRef, ensureTeacher, teacherSpec } from './chapter';
export type { ChapterConfig, GeneralizationSettings, Mode, TeacherRun } from './chapter';
export { atFullScale, referenceDir, referenceProvenance, referenceResult } from './reference';
export type { ReferenceProvenance } from './reference';
export { startNotebook } from './session';
export { meanSd, formatMeanSd } from './stats';
export type { MeanSd } from './stats';
export { binomialInterval, formatPairedDifference, pairedDifference, tQuantile975 } from './stats';
export type { Interval, PairedDifference } from './stats';
export { buildTransferSet, transferSetWithout, classCounts } from './data/transfer-set';
export type { TransferSet, TransferSetSpec } from './data/transfer-set';
export { errorsWithShift, shiftGrid, bestShift, biasShiftStudy } from './bias-shift';
export type { ScoredSplit, ShiftErrors, BiasShiftOptions, BiasShiftStudy } from './bias-shift';
export { HINTON_2015, DARK_KNOWLEDGE_TALK, OTHER_CONVENTIONS, PEERS_REPORTED, SRIVASTAVA_2014 } from './paper';
export type { NotebookSession, Disposable } from './session';

export { show, liveChart, showTable, saveTable, saveFigure, buildFigure } from './plot';
export type { Figure, LiveChart, LivePoint, LiveChartOptions, ShowOptions, ShowTableOptions, FigureId, FigureInputs } from './plot';

export { danfo } from './danfo';

export { exportLayersModel, loadExportedModel } from './export';
export type { ExportedModel, WeightQuantization } from './export';

// 06-generalization: a bias-shift study repeated over seeds, as the errors-vs-bias-shift figure's panels.
export { shiftCurves } from './bias-shift';
export type { ShiftCurves, ShiftCurveSeed } from './bias-shift';
