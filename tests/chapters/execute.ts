import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FigureId } from '../../lib/src';
import { FIGURE_INFO } from '../../lib/src/plot/registry';
import { validateNotebook } from '../../tools/src/runner/nbformat';
import { runNotebook } from '../../tools/src/runner/runner';
import { FIGURES, ROOT, clearSavedResults, displayedFigureTitles, figureFile, notebookPath, readJson, type Chapter } from './helpers';

/** Where the chapter tests keep the executed notebooks (the book test reads them from here). */
export const OUT_DIR = path.join(ROOT, 'build', 'test-notebooks');

/**
 * Executes a chapter notebook in quick mode through the workbook's runner (the main job's code
 * path), once per test run: checks that every cell ran, the notebook is valid and small, and every
 * figure of the notebook was saved and displayed with its offline HTML fallback. Results saved
 * by an earlier run are removed first, so assertions only ever see this run's numbers.
 */
export async function execute(name: Chapter): Promise<void> {
  clearSavedResults([name]);
  fs.mkdirSync(OUT_DIR, { recursive: true });
  const outPath = path.join(OUT_DIR, `${name}.ipynb`);
  const r = await runNotebook(notebookPath(name), { parameters: { mode: 'quick' }, outPath, timeoutCellSeconds: 900 });
  const why = r.failure ? `cell ${r.failure.sourceCellNumber}: ${r.failure.sourceFirstLine}\n${r.failure.stderr}` : '';
  assert.equal(r.status, 'ok', `${name} failed: ${why}`);
  assert.equal(r.executedCells, r.cells);

  const size = fs.statSync(outPath).size;
  assert.ok(size < 5 * 1024 * 1024, `${name}: executed notebook is ${size} bytes (limit 5 MB)`);
  const nb = readJson<{ cells: Array<{ cell_type: string; outputs?: Array<{ output_type: string; data?: Record<string, unknown> }> }> }>(outPath);
  assert.deepEqual(validateNotebook(nb), [], `${name}: the executed notebook is not valid nbformat 4.5`);

  const titles = displayedFigureTitles(nb);
  for (const id of FIGURES[name]) {
    assert.ok(fs.existsSync(figureFile(id)), `${name} did not save figure data for ${id}`);
    const title = FIGURE_INFO[id as FigureId].title;
    assert.ok(titles.some((t) => t.includes(title.slice(0, 20))), `${name} did not display "${title}"; displayed: ${titles.join(' | ')}`);
  }
  // Every figure display carries the offline HTML fallback next to the Plotly JSON.
  for (const c of nb.cells) {
    for (const o of c.outputs ?? []) {
      if (o.data?.['application/vnd.plotly.v1+json']) assert.equal(typeof o.data['text/html'], 'string');
    }
  }
}

export const near = (actual: number, expected: number, tol: number, what: string): void =>
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} is not within ${tol} of ${expected}`);
