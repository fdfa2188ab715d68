/**
 * The book (`kdlab book`) as a reader sees it: built from a hand-made executed notebook (math,
 * code, a stream, a table, an image, a Plotly figure and show()'s plotly.js loader) plus the
 * executed chapter notebooks 01 and 03, every page opened from file:// in headless Chromium with no
 * console error, no failed request and no request off the machine; every figure drawn, math
 * rendered, code highlighted, links resolving; one screenshot per page in build/book/screenshots/
 * (the folder `kdlab book` keeps when it rebuilds; the test's own book is temporary).
 *
 * Notebooks 01 and 03: the copies tests/chapters executed in the same `npm test` (build/test-notebooks/)
 * when they are newer than their sources, else executed here in quick mode.
 * Needs Debian's `chromium` (CI installs it); skipped with a notice where none is installed.
 */
import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildBook, type BookResult } from '../../tools/src/book/build';
import { findChromium } from '../../tools/src/figure-export';
import { runNotebook } from '../../tools/src/runner/runner';
import { FIGURE_IDS, buildFigure, saveFigure } from '../../lib/src/plot/registry';
import { displayBundle, plotlyLoaderHtml } from '../../lib/src/plot/display';
import { SAMPLE_INPUTS } from '../plot/fixtures';
import { checkPage, cjkGlyphsDrawn, launch, type PageReport } from './browser';

const ROOT = path.resolve(__dirname, '..', '..');
const chromiumPath = findChromium();
const skip = chromiumPath ? false : 'no Chromium found: set CHROMIUM_PATH or install it (apt-get install -y chromium); CI installs it';
const CHAPTERS = ['01-soft-labels-and-temperature', '03-distillation-loss'];
const SCREENSHOTS = path.join(ROOT, 'build', 'book', 'screenshots');
/** A 2x2 PNG (red, green / blue, white). */
const PNG_2X2 = 'iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFElEQVR4nGP4z8DAAMIM/////w8AH+4F+7C4l8kAAAAASUVORK5CYII=';

let work: string;
let book: BookResult;

function fixtureNotebook(): object {
  const figure = buildFigure('soft-labels-vs-T', SAMPLE_INPUTS['soft-labels-vs-T']);
  const lines = (s: string): string[] => s.split(/(?<=\n)/);
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: { name: 'tslab', display_name: 'TypeScript (tslab)', language: 'typescript' },
      kdlab: { parameters: { mode: 'quick' }, status: 'ok', wall_seconds: 1.5 },
    },
    cells: [
      {
        cell_type: 'markdown',
        id: 'title',
        metadata: {},
        source: lines(
          '# 00 · §0 测试页 — A fixture page\n\nInline $T$ and $q_i$, a price of \\$5, and display math:\n\n' +
            '$$q_i = \\frac{\\exp(z_i / T)}{\\sum_j \\exp(z_j / T)}$$\n\n' +
            '$$\n\\begin{aligned} L &= \\alpha T^2 \\, \\mathrm{KL} \\\\ &+ (1 - \\alpha)\\,\\mathrm{CE} \\end{aligned}\n$$\n\n' +
            '## 第一节 — The limits $T \\to 0$ and $T \\to \\infty$\n\nSee [the next section](#second-section) and [the contents](index.html#chapters).\n\n' +
            '## Second section\n\n```ts\nconst x: number = 1;\n```\n',
        ),
      },
      {
        cell_type: 'code',
        id: 'c1',
        execution_count: 1,
        metadata: { tags: ['parameters'] },
        source: lines('let mode = "quick";\nconsole.log(`mode is ${mode}`);'),
        outputs: [{ output_type: 'stream', name: 'stdout', text: lines('mode is quick\n') }],
      },
      {
        cell_type: 'code',
        id: 'c2',
        execution_count: 2,
        metadata: {},
        source: lines("show(saveFigure('soft-labels-vs-T', inputs));"),
        outputs: [
          { output_type: 'display_data', metadata: {}, data: { 'text/html': plotlyLoaderHtml(), 'text/plain': '(plotly.js loaded)' } },
          { output_type: 'display_data', metadata: {}, data: displayBundle(figure) },
        ],
      },
      {
        cell_type: 'code',
        id: 'c3',
        execution_count: 3,
        metadata: {},
        source: lines('showTable(rows); image; 1 + 1'),
        outputs: [
          { output_type: 'display_data', metadata: {}, data: { 'text/html': '<table class="kdlab-table"><caption>a table</caption><tr><th>T</th><td>1</td></tr></table>', 'text/plain': 'T 1' } },
          { output_type: 'display_data', metadata: {}, data: { 'image/png': PNG_2X2, 'text/plain': '<image>' } },
          { output_type: 'execute_result', execution_count: 3, metadata: {}, data: { 'text/plain': '2' } },
        ],
      },
    ],
  };
}

/** 01 and 03 executed in quick mode: reused from tests/chapters when fresh, else run here. */
async function chapterNotebooks(dir: string): Promise<void> {
  for (const name of CHAPTERS) {
    const source = path.join(ROOT, 'notebooks', `${name}.ipynb`);
    const cached = path.join(ROOT, 'build', 'test-notebooks', `${name}.ipynb`);
    const out = path.join(dir, `${name}.ipynb`);
    if (fs.existsSync(cached) && fs.statSync(cached).mtimeMs > fs.statSync(source).mtimeMs) {
      fs.copyFileSync(cached, out);
      continue;
    }
    const r = await runNotebook(source, { parameters: { mode: 'quick' }, outPath: out, timeoutCellSeconds: 900 });
    assert.equal(r.status, 'ok', `${name} failed: ${r.failure?.stderr ?? ''}`);
  }
}

before(async () => {
  if (skip) return;
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'kdlab-book-'));
  const notebooks = path.join(work, 'notebooks');
  const results = path.join(work, 'results');
  fs.mkdirSync(notebooks);
  fs.writeFileSync(path.join(notebooks, '00-fixture.ipynb'), JSON.stringify(fixtureNotebook(), null, 1));
  await chapterNotebooks(notebooks);
  for (const id of FIGURE_IDS) saveFigure(id, SAMPLE_INPUTS[id] as never, { resultsDir: results });
  book = await buildBook({
    notebooksDir: notebooks,
    outDir: path.join(work, 'book'),
    resultsDir: results,
    figuresDir: path.join(work, 'no-pngs'),
    environment: 'kdlab doctor — fixture environment\n[ok  ] node v20',
    // The fixture book is the same on every machine: no playground page, even where
    // `kdlab playground` has run (tests/playground/page.test.ts checks that one).
    playground: false,
  });
});

after(() => {
  if (work && !process.env.KDLAB_KEEP_BOOK) fs.rmSync(work, { recursive: true, force: true });
});

test('the book: index, one page per notebook and assignment, one plotly.js, no solutions', { skip }, () => {
  const out = book.outDir;
  assert.deepEqual(
    book.pages.map((p) => p.file),
    ['00-fixture.html', ...CHAPTERS.map((c) => `${c}.html`), 'hw1-temperature.html', 'hw2-distillation-loss.html', 'hw3-ablation.html', 'hw4-generalization.html'],
  );
  assert.equal(book.pages[0].title, '00 · §0 测试页 — A fixture page');
  assert.equal(book.pages[0].figures, 1);
  assert.ok(book.pages.every((p) => p.errorOutputs === 0));
  // plotly.js exactly once, in figures/; no page inlines it and none carries the notebook's loader.
  const plotlyCopies: string[] = [];
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) walk(full);
      else if (/\.(html|js)$/.test(e.name) && fs.statSync(full).size > 1e6) plotlyCopies.push(path.relative(out, full));
      if (e.name.endsWith('.html')) assert.ok(!fs.readFileSync(full, 'utf8').includes('kdlab-plotly-loader'), `${e.name} carries the notebook's plotly.js loader`);
    }
  };
  walk(out);
  assert.deepEqual(plotlyCopies, ['figures/plotly.min.js']);
  const index = fs.readFileSync(book.index, 'utf8');
  assert.match(index, /fixture environment/);
  assert.match(index, /quick mode/);
  for (const p of book.pages) assert.ok(index.includes(`href="${p.file}"`), `index links ${p.file}`);
  // Released assignments: the download has no solution, and neither does the page.
  for (const hw of ['hw1-temperature', 'hw2-distillation-loss', 'hw3-ablation', 'hw4-generalization']) {
    for (const f of [path.join(out, 'homework', `${hw}.ipynb`), path.join(out, `${hw}.html`)]) {
      assert.ok(!/BEGIN SOLUTION|BEGIN HIDDEN TESTS/.test(fs.readFileSync(f, 'utf8')), `${f} shows a solution`);
    }
  }
  // Figure pages and their gallery lead back to the book.
  for (const f of ['figures/index.html', ...book.figurePages]) {
    assert.match(fs.readFileSync(path.join(out, f), 'utf8'), /<a href="\.\.\/index\.html">Back to the book<\/a>/, `${f} has no link back to the book`);
  }
  // KaTeX ships its fonts with the book.
  assert.ok(fs.readdirSync(path.join(out, 'assets', 'katex', 'fonts')).some((f) => f.endsWith('.woff2')));
});

test('every page opens offline in Chromium: no errors, figures drawn, math rendered, code highlighted, links resolve', { skip, timeout: 900_000 }, async () => {
  const browser = await launch(chromiumPath as string);
  const reports: PageReport[] = [];
  try {
    const files = ['index.html', ...book.pages.map((p) => p.file), 'figures/index.html', ...book.figurePages];
    // Stale page screenshots go; the ones other tests keep here (jupyter-*, playground-*) stay.
    for (const f of fs.existsSync(SCREENSHOTS) ? fs.readdirSync(SCREENSHOTS) : []) {
      if (!/^(jupyter|playground)-/.test(f)) fs.rmSync(path.join(SCREENSHOTS, f), { recursive: true, force: true });
    }
    for (const file of files) reports.push(await checkPage(browser, book.outDir, file, { screenshotDir: SCREENSHOTS }));
    // The same chapter on a phone.
    reports.push(await checkPage(browser, book.outDir, `${CHAPTERS[0]}.html`, { width: 390, screenshotName: 'phone.png', screenshotDir: SCREENSHOTS }));

    for (const r of reports) {
      assert.deepEqual(r.errors, [], `${r.page}: browser errors`);
      assert.deepEqual(r.brokenLinks, [], `${r.page}: links that do not resolve`);
      assert.equal(r.drawnPlots, r.plots, `${r.page}: ${r.plots - r.drawnPlots} of ${r.plots} figure(s) not drawn`);
      assert.deepEqual(r.rawTex, [], `${r.page}: raw TeX left in the text`);
      assert.equal(r.katexErrors, 0, `${r.page}: KaTeX could not render some math`);
      assert.equal(r.highlightedBlocks, r.codeBlocks, `${r.page}: code blocks without highlighting`);
      assert.ok(fs.statSync(r.screenshot).size > 10_000, `${r.page}: screenshot is empty`);
    }
    const byPage = new Map(reports.map((r) => [r.page, r]));
    assert.equal(byPage.get('00-fixture.html')?.plots, 1);
    assert.equal(byPage.get(`${CHAPTERS[0]}.html`)?.plots, book.pages[1].figures);
    assert.ok((book.pages[1].figures ?? 0) >= 2, 'notebook 01 shows its figures');
    assert.ok((byPage.get(`${CHAPTERS[1]}.html`)?.codeBlocks ?? 0) > 3);
    assert.equal(byPage.get('figures/index.html')?.plots, FIGURE_IDS.length);

    // Bilingual headings: the Chinese is drawn with a real CJK font, not as empty boxes.
    const cjk = await cjkGlyphsDrawn(browser, book.outDir, '00-fixture.html', 'h1');
    assert.ok(cjk.ok, `Chinese in the heading is drawn as missing-glyph boxes with font "${cjk.font}": install a CJK font (Debian: fonts-noto-cjk)`);
  } finally {
    await browser.close();
  }
});

test('kdlab book refuses to build from nothing and says what to run', async () => {
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'kdlab-book-empty-'));
  try {
    await assert.rejects(buildBook({ notebooksDir: empty, outDir: path.join(empty, 'book'), homeworkDir: null, environment: '' }), (err: Error) => {
      assert.match(err.message, /no executed notebooks in .*: run `npm start`/);
      return true;
    });
  } finally {
    fs.rmSync(empty, { recursive: true, force: true });
  }
});
