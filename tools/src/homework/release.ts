/**
 * `kdlab release`: the student version of each assignment. Solution regions become a stub that
 * throws, hidden test regions disappear, outputs and execution counts are cleared. The result is
 * checked for leftovers of either kind before it is written.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readNotebook, validateNotebook, type Cell, type Notebook } from '../runner/nbformat';
import { writeFileAtomic } from 'kdlab/internals';
import { ToolError } from '../errors';
import {
  BEGIN_HIDDEN_TESTS,
  BEGIN_SOLUTION,
  END_HIDDEN_TESTS,
  END_SOLUTION,
  cellText,
  hasMarker,
  nbgraderMeta,
  stripHiddenTests,
  stripSolutions,
  toSourceLines,
} from './markers';

export interface ReleasedHomework {
  source: string;
  output: string;
  solutionRegions: number;
  hiddenRegions: number;
}

function countRegions(text: string, begin: string): number {
  return text.split('\n').filter((l) => l.includes(begin)).length;
}

/** The student version of one source notebook (pure; the input is not modified). */
export function releaseNotebook(nb: Notebook, where = 'notebook'): { notebook: Notebook; solutionRegions: number; hiddenRegions: number } {
  let solutionRegions = 0;
  let hiddenRegions = 0;
  const cells = nb.cells.map((cell, i): Cell => {
    const label = `${where}, cell ${i + 1}${cell.id ? ` (${cell.id})` : ''}`;
    let text = cellText(cell);
    solutionRegions += countRegions(text, BEGIN_SOLUTION);
    hiddenRegions += countRegions(text, BEGIN_HIDDEN_TESTS);
    text = stripHiddenTests(text, label);
    text = stripSolutions(text, label);
    if (hasMarker(text)) throw new ToolError('HOMEWORK_MARKERS', `${label}: a marker is left after release.`);
    const meta = nbgraderMeta(cell);
    if (meta?.grade && meta.solution) {
      throw new ToolError('HOMEWORK_METADATA', `${label}: a cell cannot be both a grade (test) cell and a solution cell.`);
    }
    const metadata = { ...cell.metadata };
    delete metadata.execution;
    if (cell.cell_type === 'code') {
      return { ...cell, metadata, source: toSourceLines(text), outputs: [], execution_count: null };
    }
    return { ...cell, metadata, source: toSourceLines(text) };
  });
  return { notebook: { ...nb, cells }, solutionRegions, hiddenRegions };
}

/** Source notebooks of a homework folder: `*.ipynb`, without checkpoints, sorted. */
export function listHomework(sourceDir: string): string[] {
  if (!fs.existsSync(sourceDir) || !fs.statSync(sourceDir).isDirectory()) {
    throw new ToolError('HOMEWORK_NO_SOURCE', `homework folder not found: ${sourceDir}`);
  }
  return fs
    .readdirSync(sourceDir)
    .filter((f) => f.endsWith('.ipynb') && !f.startsWith('.'))
    .sort()
    .map((f) => path.join(sourceDir, f));
}

/** Releases every notebook of `sourceDir` into `outDir`; refuses to write into the source folder. */
export function releaseHomework(sourceDir: string, outDir: string): ReleasedHomework[] {
  const src = path.resolve(sourceDir);
  const out = path.resolve(outDir);
  if (src === out) throw new ToolError('HOMEWORK_RELEASE_INTO_SOURCE', 'the release folder must differ from the source folder.');
  const files = listHomework(src);
  if (files.length === 0) throw new ToolError('HOMEWORK_NO_SOURCE', `no .ipynb files in ${sourceDir}`);
  return files.map((file) => {
    const nb = readNotebook(file);
    const { notebook, solutionRegions, hiddenRegions } = releaseNotebook(nb, path.basename(file));
    const errors = validateNotebook(notebook);
    if (errors.length > 0) {
      throw new ToolError('HOMEWORK_INVALID', `${file}: the released notebook is not valid nbformat 4.5: ${errors.slice(0, 3).join('; ')}`);
    }
    const text = JSON.stringify(notebook, null, 1) + '\n';
    for (const m of [BEGIN_SOLUTION, END_SOLUTION, BEGIN_HIDDEN_TESTS, END_HIDDEN_TESTS]) {
      if (text.includes(m)) throw new ToolError('HOMEWORK_MARKERS', `${file}: "${m}" is still present after release.`);
    }
    const output = path.join(out, path.basename(file));
    writeFileAtomic(output, text);
    return { source: file, output, solutionRegions, hiddenRegions };
  });
}
