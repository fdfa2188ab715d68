/**
 * The book with and without a full-scale reference: a reference PNG goes right under the quick plot
 * of the same figure, captioned with the reference's date and commit, a reference PNG with no quick
 * plot at the end of its notebook's page; without a reference nothing changes. And the index's
 * time range ends when the last notebook ended, not when it started.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildBook } from '../../tools/src/book/build';
import { buildFigure, saveFigure } from '../../lib/src/plot/registry';
import { displayBundle } from '../../lib/src/plot/display';
import { SAMPLE_INPUTS } from '../plot/fixtures';

/** A 2x2 PNG. */
const PNG_2X2 = 'iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFElEQVR4nGP4z8DAAMIM/////w8AH+4F+7C4l8kAAAAASUVORK5CYII=';

function executed(title: string, start: string, idle: string, outputs: object[]): object {
  const execution = { 'iopub.execute_input': start, 'iopub.status.busy': start, 'shell.execute_reply': start };
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: { name: 'tslab', display_name: 'TypeScript (tslab)', language: 'typescript' },
      kdlab: { parameters: { mode: 'quick' }, status: 'ok', wall_seconds: 3 },
    },
    cells: [
      { cell_type: 'markdown', id: 'title', metadata: {}, source: [`# ${title}\n`] },
      { cell_type: 'code', id: 'first', metadata: { execution: { ...execution, 'iopub.status.idle': start } }, execution_count: 1, source: ['1'], outputs: [] },
      // tslab stamps the reply with the cell's start: only idle marks the end.
      { cell_type: 'code', id: 'last', metadata: { execution: { ...execution, 'iopub.status.idle': idle } }, execution_count: 2, source: ['2'], outputs },
    ],
  };
}

function setup(): { work: string; notebooks: string; results: string; reference: string } {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kdlab-ref-book-'));
  const notebooks = path.join(work, 'notebooks');
  const results = path.join(work, 'results');
  const reference = path.join(work, 'reference');
  fs.mkdirSync(notebooks, { recursive: true });
  const figure = buildFigure('soft-labels-vs-T', SAMPLE_INPUTS['soft-labels-vs-T']);
  saveFigure('soft-labels-vs-T', SAMPLE_INPUTS['soft-labels-vs-T'], { resultsDir: results });
  const plot = { output_type: 'display_data', metadata: {}, data: displayBundle(figure) };
  fs.writeFileSync(path.join(notebooks, '01-soft-labels-and-temperature.ipynb'),
    JSON.stringify(executed('01 · soft labels', '2026-12-07T01:00:00.000Z', '2026-12-07T01:00:30.000Z', [plot])));
  fs.writeFileSync(path.join(notebooks, '02-teacher-and-student.ipynb'),
    JSON.stringify(executed('02 · teacher and student', '2026-12-07T01:10:00.000Z', '2026-12-07T01:45:10.000Z', [])));
  return { work, notebooks, results, reference };
}

const options = (s: ReturnType<typeof setup>, out: string) => ({
  notebooksDir: s.notebooks, outDir: out, homeworkDir: null, resultsDir: s.results, figuresDir: path.join(s.work, 'no-figures'),
  environment: 'test', playground: false, referenceDir: s.reference,
});

test('without a reference the book shows no full-scale figure; the index ends when the last notebook ended', async () => {
  const s = setup();
  const out = path.join(s.work, 'book');
  await buildBook(options(s, out));
  const page = fs.readFileSync(path.join(out, '01-soft-labels-and-temperature.html'), 'utf8');
  assert.doesNotMatch(page, /full-scale|At full scale/);
  const index = fs.readFileSync(path.join(out, 'index.html'), 'utf8');
  // 02 started at 01:10 and ended at 01:45:10: the range is 01:00 to 01:45, not 01:00 to 01:10.
  assert.match(index, /Run in quick mode, 2026-12-07 01:00 UTC to 2026-12-07 01:45 UTC\./);
  assert.doesNotMatch(index, /full-scale reference/);
});

test('with a reference, its PNG goes under the quick plot of the same figure, captioned with date and commit', async () => {
  const s = setup();
  fs.mkdirSync(path.join(s.reference, 'figures'), { recursive: true });
  fs.writeFileSync(path.join(s.reference, 'figures', 'soft-labels-vs-T.png'), Buffer.from(PNG_2X2, 'base64'));
  // entropy-vs-T (notebook 01) has a reference PNG but no quick plot on the page: it goes at the end.
  fs.writeFileSync(path.join(s.reference, 'figures', 'entropy-vs-T.png'), Buffer.from(PNG_2X2, 'base64'));
  fs.writeFileSync(path.join(s.reference, 'provenance.json'), JSON.stringify({ commit: 'abcdef1234567890', date: '2026-12-08T03:04:05.000Z', summary: 'x' }));
  const out = path.join(s.work, 'book');
  await buildBook(options(s, out));
  const page = fs.readFileSync(path.join(out, '01-soft-labels-and-temperature.html'), 'utf8');
  const plotEnd = page.indexOf('</div></div>\n', page.indexOf('kdlab-book-plot'));
  const under = page.slice(plotEnd + '</div></div>\n'.length);
  assert.ok(under.startsWith('<figure class="full-scale"><img src="figures/full-soft-labels-vs-T.png"'), under.slice(0, 200));
  assert.match(under, /<figcaption class="meta">At full scale \(reference of 2026-12-08, commit abcdef1\): /);
  assert.match(page, /<h2 id="at-full-scale">At full scale<\/h2>\n<figure class="full-scale"><img src="figures\/full-entropy-vs-T.png"/);
  assert.deepEqual(fs.readFileSync(path.join(out, 'figures', 'full-soft-labels-vs-T.png')), Buffer.from(PNG_2X2, 'base64'));
  const other = fs.readFileSync(path.join(out, '02-teacher-and-student.html'), 'utf8');
  assert.doesNotMatch(other, /full-scale/);
  assert.match(fs.readFileSync(path.join(out, 'index.html'), 'utf8'), /2 figures of the full-scale reference \(reference\/full\/\) shown beside the quick ones/);
});
