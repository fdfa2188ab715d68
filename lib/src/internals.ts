/**
 * kdlab's internals for the tools package (CLI, runner, grader, figure export, benchmarks):
 * importable as 'kdlab/internals', never re-exported to notebooks. Tests import the modules
 * themselves.
 */
export { workbookRoot, writeFileAtomic, figureDataDir, gridResultsDir } from './paths';
export { layerWidths } from './models';
export { stockWasmMatMul } from './kernels/wasm-matmul';
export { adamImplementation } from './kernels/adam-wasm';
export { createTrainStep, Optimizer, trainableVariables, trainingForward } from './train';
export { resolveObjective } from './losses';
export type { ObjectiveLoss } from './losses';
export { FIGURE_IDS, FIGURE_INFO, isFigureId, loadSavedFigures, plotlyJs, FONT_FAMILY, SIZES, sectionTitle } from './plot';
export type { FigureInfo, SavedFigure } from './plot';
export { escapeHtml, inlineScript, scriptJson } from './plot/html';
