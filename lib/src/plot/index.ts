/**
 * Figures, tables and their display: pure builders (data -> Plotly spec, one file per figure under
 * figures/), the registry that lists them and saves each figure's data for `kdlab figures`, rich
 * display in tslab, and offline HTML/PNG export.
 *
 * Exported by name, not `export *`: lib/src/index.ts flattens every module into one namespace, and
 * internal helpers (fmt, axis, argsort...) would collide with other modules' names. Only what
 * lib/src/index.ts, lib/src/internals.ts, tests and tslab cells import is exported here.
 */
export type { Figure, BarTrace, HeatmapTrace, ScatterTrace, TableTrace } from './types';
export { FONT_FAMILY, SIZES, sectionLabel, sectionTitle } from './theme';
export type { FigureInfo } from './figure';
export {
  FIGURES,
  FIGURE_IDS,
  FIGURE_INFO,
  isFigureId,
  buildFigure,
  buildFigureFromJson,
  saveFigure,
  loadSavedFigures,
} from './registry';
export type { FigureId, FigureInputs, SavedFigure, LoadFiguresOptions } from './registry';
export { softLabelsVsT } from './figures/soft-labels-vs-T';
export { entropyVsT } from './figures/entropy-vs-T';
export { darkKnowledge } from './figures/dark-knowledge';
export { modelSizeAndLatency } from './figures/model-size-and-latency';
export { gradScaleVsT } from './figures/grad-scale-vs-T';
export { klVsMseHighT } from './figures/kl-vs-mse-high-T';
export { trainingCurves } from './figures/training-curves';
export { ablationHeatmap, ablationRows } from './figures/ablation-heatmap-T-alpha';
export { accuracyVsTByStudentSize } from './figures/accuracy-vs-T-by-student-size';
export { confusionMatrix } from './figures/confusion-matrix';
export { accuracyVsTransferSetSize } from './figures/accuracy-vs-transfer-set-size';
export { omittedDigit3 } from './figures/omitted-digit-3';
export { hintonTable } from './figures/hinton-table';
export { smallStudentTemperatureCurve } from './figures/small-student-temperature-curve';
export { methodsComparison } from './figures/methods-comparison';
export { PLOTLY_MIME, show, liveChart, displayBundle, figureHtml, figureSummary } from './display';
export type { FigureBundle, ShowOptions, LivePoint, LiveChartOptions, LiveChart } from './display';
export { showTable, saveTable } from './tables';
export type { ShowTableOptions } from './tables';
export { plotlyJs } from './plotlyjs';
export type { PlotlyJs } from './plotlyjs';
