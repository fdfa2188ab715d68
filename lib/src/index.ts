/**
 * kdlab: what the chapter notebooks and the assignments import, by name. Listed one by one so
 * that a reader sees the whole vocabulary here and nothing internal leaks into a notebook's
 * namespace. The tools (CLI, runner, grader, benchmarks) use 'kdlab/internals' for the rest.
 */
export * as tf from '@tensorflow/tfjs';

export { KdlabError, InputError, DataError, BackendError } from './errors';
export type { ErrorCode, InputErrorCode, DataErrorCode, RuntimeErrorCode } from './errors';

export { initBackend, describeBackend } from './backend';
export { withBlasThreads } from './kernels/native';
export type { BackendInfo, BackendName } from './backend';

export { workbookDir } from './paths';
export type { WorkbookDir } from './paths';

export {
  loadMnist, loadSplits, take, subset, trainValidationSplit, batches, makeRng, jitterImages,
  IMAGE_SIZE, PIXELS, NUM_CLASSES,
} from './data';
export type { DigitSet, SplitData, MnistData, Batch, Rng } from './data';

export {
  softmaxWithTemperature, logSoftmaxWithTemperature, entropy, softmaxT, logSoftmaxT, entropyOf,
  WORKED_EXAMPLE_LOGITS, CHAPTER_PRINTED_T1,
} from './softmax';

export {
  kdLoss, distillationLoss, studentLoss, softTargetCrossEntropy, mseLogitsLoss, mseProbabilitiesLoss, dkdLoss, dkdTerms, poolFeatures,
  DKD_DEFAULTS,
} from './losses';
export type { KdLossOptions, Objective, DistillObjective, DkdLossOptions, DkdTerms } from './losses';
export { hintLoss, cosineEmbeddingLoss } from './feature-losses';
export type { Regressor } from './feature-losses';

export {
  createTeacher, createStudent, createMlp, countParams, describeModel,
  createConvNet, createConvTeacher, createConvStudent, createRegressor, forwardWithFeatures, hiddenLayers,
} from './models';
export type {
  MlpOptions, TeacherOptions, StudentOptions, ConvNetOptions, ConvTeacherOptions, ConvStudentOptions, RegressorOptions,
  HiddenLayer, ForwardWithFeatures,
} from './models';

export { train } from './train';
export type { TrainOptions, TrainResult, EpochRecord, BatchProgress, OptimizerSpec, OptimizerName, LearningRateSchedule, MomentumRamp, LossSpec, DistillSpec, TeacherSource } from './train';

export { evaluate, evaluateLogits, predictLogits } from './evaluate';
export type { Evaluation } from './evaluate';

export { teacherLogitsCached } from './cache';
export type { TeacherLogits, TeacherLogitsOptions } from './cache';

export { saveCheckpoint, loadCheckpoint } from './checkpoint';

export { runGrid, expandGrid, selectBest, flattenRows, gridFrame, WORKER_BLAS_THREADS, loadGridWeights, gridWeightsDir } from './grid';
export type { GridSpec, RunConfig, RunRow, GridResult, GridRunOptions, GridProgress, SplitSettings, SplitWorkers } from './grid';

export { chapterConfig, chapterData, ensureTeacher, teacherCheckpointDir, saveResult } from './chapter';
export type { ChapterConfig, GeneralizationSettings, Mode, TeacherRun } from './chapter';
export { startNotebook } from './session';
export { compareOverSeeds, summarize, chapterSeedWorkers, trainSeedPair } from './headline';
export { meanSd, formatMeanSd } from './stats';
export type { SeedComparison, SeedRun, RunScore, CompareOverSeedsOptions, SeedWorkers, SeedPairOptions, KeptStudent } from './headline';
export type { MeanSd } from './stats';
export {
  buildTransferSet, transferSetFraction, transferSetWithout, transferSetOnly, classCounts, transferLogits,
} from './data/transfer-set';
export type { TransferSet, TransferSetSpec } from './data/transfer-set';
export { errorsWithShift, shiftGrid, bestShift, biasShiftStudy } from './bias-shift';
export type { ScoredSplit, ShiftErrors, BiasShiftOptions, BiasShiftStudy } from './bias-shift';
export {
  transferRun, runTransferExperiment, transferRunKey, summarizeTransferSizes, transferSizeFigureData, perClassAccuracy,
} from './generalization';
export type { TransferRun, TransferRunSpec, TransferLoss, TransferExperimentOptions, TransferWorkers, TransferSizePoint, SplitScore } from './generalization';
export { HINTON_2015, DARK_KNOWLEDGE_TALK, OTHER_CONVENTIONS, PEERS_REPORTED, SRIVASTAVA_2014 } from './paper';
export {
  hintonRecipe, hintonData, ensureHintonTeacher, hintonTeacherConfig, binomialInterval, runStudent, runHintonTable,
  runTemperatureCurve, targetOf, gapFacts, runStudents, trainingFit,
} from './hinton';
export type {
  HintonRecipe, StudentRecipe, Interval, StudentScore, StudentRunSpec, TableRow, HintonTable, CurvePoint, TemperatureCurve,
  RunTableOptions, GapFacts, StudentJob, RunStudentsOptions, TrainingFit,
} from './hinton';
export type { NotebookSession, Disposable } from './session';

export { show, liveChart, showTable, saveTable, saveFigure, buildFigure } from './plot';
export type { Figure, LiveChart, LivePoint, LiveChartOptions, ShowOptions, ShowTableOptions, FigureId, FigureInputs } from './plot';

export { danfo } from './danfo';

export {
  runMethods, expandMethods, summarizeMethods, methodNeeds, methodRunKey, methodRunDir, createModel, ensureConvTeacher, beyondLogitsSettings,
  lastHiddenShape, regressorParams, METHODS,
} from './methods';
export type {
  ModelArch, MethodName, Method, TeacherRef, MethodsSpec, MethodRunConfig, MethodRow, MethodsResult, MethodsRunOptions,
  MethodsProgress, MethodSummary, MethodNeeds, BeyondLogitsSettings, ConvTeacherSettings, ConvTeacherRun,
} from './methods';
export * from './export';
