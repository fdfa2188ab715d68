import * as fs from 'node:fs';
import * as path from 'node:path';
import { KdlabError } from '../errors';
import { figureDataDir, writeFileAtomic } from '../paths';
import type { FigureDefinition, FigureInfo } from './figure';
import { figure as softLabelsVsTFigure } from './figures/soft-labels-vs-T';
import { figure as entropyVsTFigure } from './figures/entropy-vs-T';
import { figure as darkKnowledgeFigure } from './figures/dark-knowledge';
import { figure as modelSizeAndLatencyFigure } from './figures/model-size-and-latency';
import { figure as gradScaleVsTFigure } from './figures/grad-scale-vs-T';
import { figure as klVsMseHighTFigure } from './figures/kl-vs-mse-high-T';
import { figure as trainingCurvesFigure } from './figures/training-curves';
import { figure as ablationHeatmapTAlphaFigure } from './figures/ablation-heatmap-T-alpha';
import { figure as accuracyVsTByStudentSizeFigure } from './figures/accuracy-vs-T-by-student-size';
import { figure as confusionMatrixFigure } from './figures/confusion-matrix';
import { figure as accuracyVsTransferSetSizeFigure } from './figures/accuracy-vs-transfer-set-size';
import { figure as omittedDigit3Figure } from './figures/omitted-digit-3';
import { figure as errorsVsBiasShiftFigure } from './figures/errors-vs-bias-shift';
import { figure as hintonTableFigure } from './figures/hinton-table';
import { figure as smallStudentTemperatureCurveFigure } from './figures/small-student-temperature-curve';
import { figure as methodsComparisonFigure } from './figures/methods-comparison';
import type { Figure } from './types';

/**
 * Every figure of the workbook, in chapter order: the one list everything below derives from.
 * To add a figure, write figures/<id>.ts (its input type, builder and
 * `export const figure = defineFigure({...})`) and add its import and one entry here.
 */
export const FIGURE_LIST = [
  softLabelsVsTFigure,
  entropyVsTFigure,
  darkKnowledgeFigure,
  modelSizeAndLatencyFigure,
  gradScaleVsTFigure,
  klVsMseHighTFigure,
  trainingCurvesFigure,
  ablationHeatmapTAlphaFigure,
  accuracyVsTByStudentSizeFigure,
  confusionMatrixFigure,
  accuracyVsTransferSetSizeFigure,
  omittedDigit3Figure,
  errorsVsBiasShiftFigure,
  hintonTableFigure,
  smallStudentTemperatureCurveFigure,
  methodsComparisonFigure,
] as const;

type Listed = (typeof FIGURE_LIST)[number];

export type FigureId = Listed['id'];

/** The input each figure's builder takes, by figure id. */
export type FigureInputs = {
  [D in Listed as D['id']]: D extends FigureDefinition<string, infer Input> ? Input : never;
};

/** Figure ids in chapter order. */
export const FIGURE_IDS: readonly FigureId[] = FIGURE_LIST.map((f) => f.id);

/** id -> {id, section, title, notebook}. */
export const FIGURE_INFO: Readonly<Record<FigureId, FigureInfo>> = Object.fromEntries(
  FIGURE_LIST.map(({ id, section, title, notebook }) => [id, { id, section, title, notebook }]),
) as Record<FigureId, FigureInfo>;

export function isFigureId(id: string): id is FigureId {
  return (FIGURE_IDS as readonly string[]).includes(id);
}

/** id -> {section, title, notebook, build}: every figure of the workbook. */
export const FIGURES = Object.fromEntries(FIGURE_LIST.map((f) => [f.id, f])) as unknown as {
  readonly [K in FigureId]: FigureDefinition<K, FigureInputs[K]>;
};

/** Builds figure `id` from its typed input. */
export function buildFigure<K extends FigureId>(id: K, data: FigureInputs[K]): Figure {
  return (FIGURES[id] as FigureDefinition<K, FigureInputs[K]>).build(data);
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
  section: string | null;
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
  const def = FIGURES[id] as FigureDefinition<K, FigureInputs[K]>;
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
      const error = err instanceof Error ? err : new KdlabError('FIGURE_DATA_INVALID', `${file}: ${String(err)}`);
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
