/** Crafting submissions from the source notebooks, for the homework tests. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Cell, Notebook } from '../../tools/src/runner/nbformat';
import { readNotebook } from '../../tools/src/runner/nbformat';
import { workbookRoot } from '../../lib/src/paths';
import type { GradeOutcome } from '../../tools/src/homework/grade';

export const HOMEWORK_DIR = path.join(workbookRoot(), 'homework');
export const sourcePath = (name: string) => path.join(HOMEWORK_DIR, `${name}.ipynb`);
export const loadSource = (name: string): Notebook => readNotebook(sourcePath(name));

export function text(cell: Cell): string {
  return Array.isArray(cell.source) ? cell.source.join('') : cell.source;
}

export function cellById(nb: Notebook, id: string): Cell {
  const c = nb.cells.find((x) => x.id === id);
  if (!c) throw new Error(`no cell ${id}`);
  return c;
}

export function setSource(nb: Notebook, id: string, source: string): void {
  cellById(nb, id).source = source;
}

export function codeCell(id: string, source: string, nbgrader?: Record<string, unknown>): Cell {
  return { cell_type: 'code', id, source, metadata: nbgrader ? { nbgrader } : {}, execution_count: null, outputs: [] };
}

/** Inserts `cells` right after the cell with id `afterId`. */
export function insertAfter(nb: Notebook, afterId: string, ...cells: Cell[]): void {
  const i = nb.cells.findIndex((c) => c.id === afterId);
  if (i < 0) throw new Error(`no cell ${afterId}`);
  nb.cells.splice(i + 1, 0, ...cells);
}

export function removeCell(nb: Notebook, id: string): Cell {
  const i = nb.cells.findIndex((c) => c.id === id);
  if (i < 0) throw new Error(`no cell ${id}`);
  return nb.cells.splice(i, 1)[0];
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function writeSubmission(dir: string, name: string, nb: Notebook): string {
  const file = path.join(dir, `${name}.ipynb`);
  fs.writeFileSync(file, JSON.stringify(nb, null, 1));
  return file;
}

export const clone = (nb: Notebook): Notebook => JSON.parse(JSON.stringify(nb)) as Notebook;

/** Points per question of a graded submission, by grade id. */
export const scores = (o: GradeOutcome): Record<string, number> => Object.fromEntries(o.report.questions.map((q) => [q.grade_id, q.score]));

/** Prints a grading's score and time as a TAP comment (read in CI logs, never asserted). */
export const timing = (name: string, o: GradeOutcome): void => {
  process.stdout.write(`# ${name}: ${o.report.total.score}/${o.report.total.max_score} in ${o.seconds.toFixed(1)} s\n`);
};
