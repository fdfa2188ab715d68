import * as fs from 'node:fs';
import * as path from 'node:path';
import { FIGURE_IDS, FIGURE_INFO } from '../../lib/src/plot/registry';

export const ROOT = path.resolve(__dirname, '..', '..');
export const CHAPTERS = [
  '00-setup',
  '01-soft-labels-and-temperature',
  '02-teacher-and-student',
  '03-distillation-loss',
  '04-training-the-student',
  '05-evaluation-and-tuning',
  '06-generalization',
  '07-reproducing-hinton-2015',
  '08-beyond-logits',
] as const;
export type Chapter = (typeof CHAPTERS)[number];

/** Figures each notebook must save (build/results/figures/<id>.json) and display: the registry's. */
export const FIGURES = Object.fromEntries(
  CHAPTERS.map((name) => [name, FIGURE_IDS.filter((id) => FIGURE_INFO[id].notebook === name)]),
) as Record<Chapter, string[]>;

export function notebookPath(name: Chapter): string {
  return path.join(ROOT, 'notebooks', `${name}.ipynb`);
}

export function resultsFile(name: string): string {
  return path.join(ROOT, 'build', 'results', `${name}.json`);
}

export function figureFile(id: string): string {
  return path.join(ROOT, 'build', 'results', 'figures', `${id}.json`);
}

/** Removes what a previous run saved, so assertions only ever see this run's numbers. */
export function clearSavedResults(names: readonly string[]): void {
  for (const n of names) {
    fs.rmSync(resultsFile(n), { force: true });
    for (const id of FIGURES[n as Chapter] ?? []) fs.rmSync(figureFile(id), { force: true });
  }
}

export function readJson<T>(file: string): T {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
}

interface Output {
  output_type: string;
  data?: Record<string, unknown>;
}
interface Cell {
  cell_type: string;
  outputs?: Output[];
}

/** The Plotly figures an executed notebook displays (their JSON layout titles). */
export function displayedFigureTitles(nb: { cells: Cell[] }): string[] {
  const titles: string[] = [];
  for (const c of nb.cells) {
    for (const o of c.outputs ?? []) {
      const fig = o.data?.['application/vnd.plotly.v1+json'] as { layout?: { title?: { text?: string } | string } } | undefined;
      if (!fig) continue;
      const t = fig.layout?.title;
      titles.push(typeof t === 'string' ? t : t?.text ?? '');
    }
  }
  return titles;
}
