/**
 * Figures, tables and their display: pure builders (data -> Plotly spec), the registry that saves
 * each figure's data for `kdlab figures`, rich display in tslab, and offline HTML/PNG export.
 *
 * Exported by name, not `export *`: lib/src/index.ts flattens every module into one namespace, and
 * internal helpers (fmt, axis, argsort...) would collide with other modules' names.
 */
export type { Figure, Trace, Layout, Datum, ScatterTrace, BarTrace, HeatmapTrace, TableTrace } from './types';
export { OKABE_ITO, PALETTE, ROLE_COLORS, SEQUENTIAL_SCALE, FONT_FAMILY, SIZES, UNITS, sectionTitle } from './theme';
export { FIGURE_IDS, FIGURE_INFO, isFigureId } from './catalog';
export type { FigureId, FigureInfo } from './catalog';
export { FigureInputError } from './validate';
export type { FrameLike } from './frame';
export { softLabelsVsT, entropyVsT, darkKnowledge } from './fig-temperature';
export type { SoftLabelsInput, EntropyInput, DarkKnowledgeInput, DarkKnowledgeExample } from './fig-temperature';
export { modelSizeAndLatency, gradScaleVsT, klVsMseHighT } from './fig-models';
export type { ModelStats, ModelSizeInput, GradScaleInput, KlVsMseInput } from './fig-models';
export { trainingCurves, ablationHeatmap, ablationRows, accuracyVsTByStudentSize, confusionMatrix } from './fig-training';
export type {
  TrainingSeries,
  TrainingCurvesInput,
  AblationRow,
  AblationInput,
  StudentSizeSeries,
  AccuracyVsTInput,
  ConfusionInput,
} from './fig-training';
export { accuracyVsTransferSetSize, omittedDigit3, hintonTable, methodsComparison } from './fig-results';
export type {
  TransferSetInput,
  PerClassResult,
  OmittedDigitInput,
  HintonRow,
  HintonTableInput,
  MethodResult,
  MethodsComparisonInput,
} from './fig-results';
export {
  FIGURES,
  buildFigure,
  buildFigureFromJson,
  saveFigure,
  loadSavedFigures,
} from './registry';
export type { FigureInputs, FigureDefinition, ResultsOptions, SavedFigure, LoadFiguresOptions } from './registry';
export {
  PLOTLY_MIME,
  show,
  liveChart,
  displayBundle,
  figureHtml,
  plotlyLoaderHtml,
  figureSummary,
  kernelSink,
  ensurePlotlyLoaded,
} from './display';
export type {
  FigureBundle,
  DisplaySink,
  BundleOptions,
  ShowOptions,
  LivePoint,
  LiveChartOptions,
  LiveChart,
} from './display';
export { showTable, tableBundle, frameToCsv, saveTable, formatCell } from './tables';
export type { TableInput, TableOptions, ShowTableOptions } from './tables';
export { plotlyJs } from './plotlyjs';
export type { PlotlyJs } from './plotlyjs';
