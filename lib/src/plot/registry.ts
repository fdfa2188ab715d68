import * as fs from 'node:fs';
import * as path from 'node:path';
import { KdlabError } from '../errors';
import { figureDataDir, writeFileAtomic } from '../paths';
import { FIGURE_IDS, FIGURE_INFO, type FigureId, type FigureInfo, isFigureId } from './catalog';
import { type GradScaleInput, type KlVsMseInput, type ModelSizeInput, gradScaleVsT, klVsMseHighT, modelSizeAndLatency } from './fig-models';
import {
  type HintonTableInput,
  type MethodsComparisonInput,
  type OmittedDigitInput,
  type TransferSetInput,
  accuracyVsTransferSetSize,
  hintonTable,
  methodsComparison,
  omittedDigit3,
} from './fig-results';
import {
  type DarkKnowledgeInput,
  type EntropyInput,
  type SoftLabelsInput,
  darkKnowledge,
  entropyVsT,
  softLabelsVsT,
} from './fig-temperature';
import {
  type AblationInput,
  type AccuracyVsTInput,
  type ConfusionInput,
  type TrainingCurvesInput,
  ablationHeatmap,
  ablationRows,
  accuracyVsTByStudentSize,
  confusionMatrix,
  trainingCurves,
} from './fig-training';
import type { Figure } from './types';

/** The input each figure's builder takes, by figure id. */
export interface FigureInputs {
  'soft-labels-vs-T': SoftLabelsInput;
  'entropy-vs-T': EntropyInput;
  'dark-knowledge': DarkKnowledgeInput;
  'model-size-and-latency': ModelSizeInput;
  'grad-scale-vs-T': GradScaleInput;
  'kl-vs-mse-high-T': KlVsMseInput;
  'training-curves': TrainingCurvesInput;
  'ablation-heatmap-T-alpha': AblationInput;
  'accuracy-vs-T-by-student-size': AccuracyVsTInput;
  'confusion-matrix': ConfusionInput;
  'accuracy-vs-transfer-set-size': TransferSetInput;
  'omitted-digit-3': OmittedDigitInput;
  'hinton-table': HintonTableInput;
  'methods-comparison': MethodsComparisonInput;
}

export interface FigureDefinition<K extends FigureId> extends FigureInfo {
  id: K;
  build(data: FigureInputs[K]): Figure;
  /** Turns the input into plain JSON for saving (e.g. a DataFrame into rows); default: as is. */
  toJson?(data: FigureInputs[K]): unknown;
}

function define<K extends FigureId>(
  id: K,
  build: (data: FigureInputs[K]) => Figure,
  toJson?: (data: FigureInputs[K]) => unknown,
): FigureDefinition<K> {
  return { ...FIGURE_INFO[id], id, build, toJson };
}

/** id -> {section, title, notebook, build}: every figure of the workbook. */
export const FIGURES: { readonly [K in FigureId]: FigureDefinition<K> } = {
  'soft-labels-vs-T': define('soft-labels-vs-T', softLabelsVsT),
  'entropy-vs-T': define('entropy-vs-T', entropyVsT),
  'dark-knowledge': define('dark-knowledge', darkKnowledge),
  'model-size-and-latency': define('model-size-and-latency', modelSizeAndLatency),
  'grad-scale-vs-T': define('grad-scale-vs-T', gradScaleVsT),
  'kl-vs-mse-high-T': define('kl-vs-mse-high-T', klVsMseHighT),
  'training-curves': define('training-curves', trainingCurves),
  'ablation-heatmap-T-alpha': define('ablation-heatmap-T-alpha', ablationHeatmap, ablationRows),
  'accuracy-vs-T-by-student-size': define('accuracy-vs-T-by-student-size', accuracyVsTByStudentSize),
  'confusion-matrix': define('confusion-matrix', confusionMatrix),
  'accuracy-vs-transfer-set-size': define('accuracy-vs-transfer-set-size', accuracyVsTransferSetSize),
  'omitted-digit-3': define('omitted-digit-3', omittedDigit3),
  'hinton-table': define('hinton-table', hintonTable),
  'methods-comparison': define('methods-comparison', methodsComparison),
};

/** Builds figure `id` from its typed input. */
export function buildFigure<K extends FigureId>(id: K, data: FigureInputs[K]): Figure {
  return (FIGURES[id] as FigureDefinition<K>).build(data);
}

/** Builds from data of unknown shape (read from disk); the builders check every field they read. */
export function buildFigureFromJson(id: FigureId, data: unknown): Figure {
  const build = FIGURES[id].build as (d: unknown) => Figure;
  return build(data);
}

export interface ResultsOptions {
  /** Results root; relative paths are taken from the workbook root. Default build/results. */
  resultsDir?: string;
}


const FORMAT = 1;

interface SavedFile {
  kdlabFigure: number;
  id: string;
  section: string;
  title: string;
  notebook: string;
  data: unknown;
}

/**
 * Builds figure `id` from `data` and saves the builder's INPUT (not the Plotly spec) to
 * build/results/figures/<id>.json, so `kdlab figures` can redraw it, with a newer theme too,
 * without retraining. Building first means bad data throws before anything is written.
 * Returns the figure, ready for show().
 */
export function saveFigure<K extends FigureId>(id: K, data: FigureInputs[K], options: ResultsOptions = {}): Figure {
  if (!isFigureId(id)) throw new KdlabError('FIGURE_UNKNOWN', `saveFigure: unknown figure id "${String(id)}"; known: ${FIGURE_IDS.join(', ')}.`);
  const def = FIGURES[id] as FigureDefinition<K>;
  const figure = def.build(data);
  const plain = toPlainJson(def.toJson ? def.toJson(data) : data);
  const file: SavedFile = { kdlabFigure: FORMAT, id, section: def.section, title: def.title, notebook: def.notebook, data: plain };
  writeFileAtomic(path.join(figureDataDir(options.resultsDir), `${id}.json`), `${JSON.stringify(file, null, 1)}\n`);
  return figure;
}

export interface SavedFigure extends FigureInfo {
  id: FigureId;
  /** The JSON file it was read from. */
  file: string;
  data: unknown;
  figure: Figure;
}

export interface LoadFiguresOptions extends ResultsOptions {
  /** Only these ids (unknown ids throw). */
  only?: string[];
  /**
   * Called for a file that cannot be read or built, which is then skipped. Without it such a file
   * throws: a figure silently missing from the book is worse than a loud error.
   */
  onInvalid?: (file: string, error: Error) => void;
}

/** Reads every saved figure back and rebuilds it, in chapter order (the order of FIGURE_IDS). */
export function loadSavedFigures(options: LoadFiguresOptions = {}): SavedFigure[] {
  const dir = figureDataDir(options.resultsDir);
  if (options.only) {
    const unknown = options.only.filter((id) => !isFigureId(id));
    if (unknown.length > 0) {
      throw new KdlabError('FIGURE_UNKNOWN', `unknown figure id(s): ${unknown.join(', ')}; known: ${FIGURE_IDS.join(', ')}.`);
    }
  }
  if (!fs.existsSync(dir)) return [];
  const wanted = new Set<string>(options.only ?? FIGURE_IDS);
  const out: SavedFigure[] = [];
  for (const id of FIGURE_IDS) {
    if (!wanted.has(id)) continue;
    const file = path.join(dir, `${id}.json`);
    if (!fs.existsSync(file)) continue;
    try {
      out.push(readSaved(id, file));
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      if (!options.onInvalid) throw error;
      options.onInvalid(file, error);
    }
  }
  return out;
}

function readSaved(id: FigureId, file: string): SavedFigure {
  const info = FIGURE_INFO[id];
  const fix = `re-run notebooks/${info.notebook}.ipynb (or \`npm start\`) to write it again`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new KdlabError('FIGURE_DATA_INVALID', `${file}: not valid JSON (${(err as Error).message}); ${fix}.`);
  }
  const saved = parsed as Partial<SavedFile> | null;
  if (typeof saved !== 'object' || saved === null || saved.kdlabFigure !== FORMAT || saved.id !== id) {
    throw new KdlabError('FIGURE_DATA_INVALID', `${file}: not a kdlab figure file for "${id}" (format ${FORMAT}); ${fix}.`);
  }
  let figure: Figure;
  try {
    figure = buildFigureFromJson(id, saved.data);
  } catch (err) {
    throw new KdlabError('FIGURE_DATA_INVALID', `${file}: ${(err as Error).message}; ${fix}.`, { cause: err });
  }
  return { ...info, id, file, data: saved.data, figure };
}

/** JSON round trip that keeps typed arrays as arrays (JSON.stringify would make them objects). */
function toPlainJson(value: unknown): unknown {
  const text = JSON.stringify(value, (_key, v: unknown) => (ArrayBuffer.isView(v) && !(v instanceof DataView) ? Array.from(v as unknown as ArrayLike<number>) : v));
  return text === undefined ? null : (JSON.parse(text) as unknown);
}
