export { describeRun, expandGrid, objectiveOf, runKey } from './spec';
export type { GridAxes, GridSettings, GridSpec, RunConfig, RunResult, RunRow, RunSettings } from './spec';
export { flattenRows, gridFrame, readRows, selectBest } from './rows';
export { runGrid } from './run';
export { WORKER_BLAS_THREADS } from '../kernels/native';
export type { GridProgress, GridResult, GridRunOptions, WorkerReply, WorkerRequest } from './run';
export { gridWeightsDir, gridRunWeightsDir, loadGridWeights } from './weights';
export type { SplitSettings, SplitWorkers } from './split-data';
