/**
 * kdlab's internals for the tools package (CLI, runner, grader, figure export): importable as
 * 'kdlab/internals', never re-exported to notebooks. Light on purpose: nothing here loads
 * TensorFlow.js, so `kdlab figures`, `reproduce`, `release` and `--help` start in a blink.
 * What the benchmarks time (optimizer, step, kernels) is in 'kdlab/compute-internals'.
 */
export { KdlabError } from './errors';
export { workbookRoot, workbookDir, writeFileAtomic, figureDataDir, runsRoot, runDir, usedRunsFile } from './paths';
export { softmaxT, logSoftmaxT, entropyOf } from './softmax-plain';
export { FIGURE_IDS, FIGURE_INFO, isFigureId, loadSavedFigures, plotlyJs, FONT_FAMILY, SIZES, sectionLabel, sectionTitle } from './plot';
export type { FigureInfo, SavedFigure } from './plot';
export { escapeHtml, inlineScript, scriptJson } from './plot/html';
export { makeRng, shuffledIndices } from './data/random';
export { resetRunsUsed, runsUsed } from './runs/used';
export { formatMeanSd, formatPairedDifference } from './stats';
export type { MeanSd, PairedDifference } from './stats';
export { HINTON_2015 } from './paper';
