/**
 * nbgrader's conventions, shared by release and grade: the region markers inside cell sources and
 * the `metadata.nbgrader` block that says which cells are solutions, tests, or locked.
 */
import type { Cell, Notebook } from '../runner/nbformat';
import { ToolError } from '../errors';

export const BEGIN_SOLUTION = 'BEGIN SOLUTION';
export const END_SOLUTION = 'END SOLUTION';
export const BEGIN_HIDDEN_TESTS = 'BEGIN HIDDEN TESTS';
export const END_HIDDEN_TESTS = 'END HIDDEN TESTS';
/** What a released solution region becomes (nbgrader's ClearSolutions.code_stub, TypeScript flavour). */
export const CODE_STUB = '// YOUR CODE HERE\nthrow new Error("not implemented");';

export interface NbgraderCellMeta {
  grade: boolean;
  solution: boolean;
  locked: boolean;
  grade_id: string;
  points?: number;
  schema_version?: number;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The cell's nbgrader block, or undefined when it has none (or a malformed one). */
export function nbgraderMeta(cell: Cell): NbgraderCellMeta | undefined {
  const meta = isRecord(cell.metadata) ? (cell.metadata as Record<string, unknown>).nbgrader : undefined;
  if (!isRecord(meta) || typeof meta.grade_id !== 'string' || meta.grade_id === '') return undefined;
  const points = typeof meta.points === 'number' && Number.isFinite(meta.points) && meta.points >= 0 ? meta.points : undefined;
  return {
    grade: meta.grade === true,
    solution: meta.solution === true,
    locked: meta.locked === true,
    grade_id: meta.grade_id,
    ...(points !== undefined ? { points } : {}),
    ...(typeof meta.schema_version === 'number' ? { schema_version: meta.schema_version } : {}),
  };
}

export function cellText(cell: Cell): string {
  return Array.isArray(cell.source) ? cell.source.join('') : cell.source;
}

/** Splits text into the line array nbformat stores (every line but the last keeps its newline). */
export function toSourceLines(text: string): string[] {
  if (text === '') return [];
  const parts = text.split('\n');
  return parts.map((l, i) => (i < parts.length - 1 ? `${l}\n` : l)).filter((l) => l !== '');
}

/**
 * Replaces every region between a line containing `begin` and the next line containing `end`
 * (both lines included) with `replacement` (re-indented like the begin line), or deletes it when
 * `replacement` is null. Matching on the marker text, as nbgrader does, lets `//` comments work.
 */
export function replaceRegions(text: string, begin: string, end: string, replacement: string | null, where: string): string {
  const out: string[] = [];
  let inside = false;
  let beginLine = 0;
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    if (line.includes(begin)) {
      if (inside) throw new ToolError('HOMEWORK_MARKERS', `${where}: "${begin}" on line ${i + 1} inside another region opened on line ${beginLine + 1}.`);
      inside = true;
      beginLine = i;
      if (replacement !== null) {
        const indent = /^\s*/.exec(line)?.[0] ?? '';
        for (const r of replacement.split('\n')) out.push(indent + r);
      }
      return;
    }
    if (line.includes(end)) {
      if (!inside) throw new ToolError('HOMEWORK_MARKERS', `${where}: "${end}" on line ${i + 1} without a matching "${begin}".`);
      inside = false;
      return;
    }
    if (!inside) out.push(line);
  });
  if (inside) throw new ToolError('HOMEWORK_MARKERS', `${where}: "${begin}" on line ${beginLine + 1} is never closed by "${end}".`);
  return out.join('\n');
}

export const stripSolutions = (text: string, where: string): string =>
  replaceRegions(text, BEGIN_SOLUTION, END_SOLUTION, CODE_STUB, where);

export const stripHiddenTests = (text: string, where: string): string =>
  replaceRegions(text, BEGIN_HIDDEN_TESTS, END_HIDDEN_TESTS, null, where);

export function hasMarker(text: string): boolean {
  return [BEGIN_SOLUTION, END_SOLUTION, BEGIN_HIDDEN_TESTS, END_HIDDEN_TESTS].some((m) => text.includes(m));
}

/** The assignment's name: the notebook file name without folder and extension. */
export function assignmentName(file: string): string {
  const base = file.split(/[\\/]/).pop() ?? file;
  return base.replace(/\.ipynb$/i, '');
}

/** Grade cells (tests with points) of a source notebook, in order. */
export function gradeCells(nb: Notebook): { cell: Cell; meta: NbgraderCellMeta }[] {
  const out: { cell: Cell; meta: NbgraderCellMeta }[] = [];
  for (const cell of nb.cells) {
    const meta = nbgraderMeta(cell);
    if (cell.cell_type === 'code' && meta?.grade) out.push({ cell, meta });
  }
  return out;
}
