/**
 * kdlab's internals for the tools package (CLI, runner, grader, figure export, benchmarks) and
 * the tests: importable as 'kdlab/internals', never re-exported to notebooks.
 */
export { KdlabError, INPUT_ERROR_CODES, DATA_ERROR_CODES, RUNTIME_ERROR_CODES } from './errors';
export {
  workbookRoot, cacheDir, writeFileAtomic, resultsDir, figureDataDir, gridResultsDir, WORKBOOK_DIRS,
} from './paths';
export { readChecksums, verifyFile, sha256, checksumsFile, resolveDataDir, parseIdx, encodeIdx, shuffledIndices } from './data';
export type { ChecksumTable, RecordedFile, Verification, DatasetName } from './data';
export { stockWasmMatMul, installWasmMatMulFix } from './kernels/wasm-matmul';
export { adamImplementation } from './kernels/adam-wasm';
export { createTrainStep, Optimizer, trainableVariables, trainingForward } from './train';
export type { StepBatch } from './train';
export { resolveObjective, objectiveParameters, OBJECTIVE_NAMES } from './losses';
export type { ObjectiveLoss, ResolvedObjective } from './losses';
export { readCachedLogits, teacherLogitsKey, weightsHash } from './cache';
export { runKey, readRows, describeRun } from './grid/grid';
export {
  FIGURES, FIGURE_IDS, FIGURE_INFO, isFigureId, buildFigureFromJson, loadSavedFigures, plotlyJs,
  FONT_FAMILY, SIZES, sectionTitle, displayBundle, figureHtml, figureSummary, PLOTLY_MIME,
} from './plot';
export type { FigureInfo, SavedFigure, LoadFiguresOptions, FigureBundle, PlotlyJs } from './plot';
export { escapeHtml, inlineScript, scriptJson } from './plot/html';
