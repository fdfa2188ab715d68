/**
 * Exported figures in a real browser: every figures/<id>.html and the gallery open in headless
 * Chromium with no console error and no request leaving the machine, Plotly draws the expected
 * traces, and every PNG has the requested size and is not blank.
 * Needs Debian's `chromium` (CI installs it); skipped with a notice where none is installed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { CHROMIUM_ARGS, exportFigures, findChromium } from '../../tools/src/figure-export';
import { FIGURE_IDS, type FigureId, buildFigure, saveFigure } from '../../lib/src/plot/registry';
import { displayBundle, plotlyLoaderHtml } from '../../lib/src/plot/display';
import { EXPECTED_TRACES, SAMPLE_INPUTS } from '../plot/fixtures';
import { decodePng, greyVariance, pngSize } from '../plot/png';

const chromiumPath = findChromium();
const skip = chromiumPath
  ? false
  : 'no Chromium found: set CHROMIUM_PATH or install it (apt-get install -y chromium); CI installs it';

interface DrawnFigure {
  divId: string;
  dataLength: number;
  mainSvg: number;
  drawnTraces: number;
}

test('exported HTML pages render offline in headless Chromium; PNGs have the requested size', { skip, timeout: 240_000 }, async () => {
  const resultsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kdlab-browser-results-'));
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kdlab-browser-figures-'));
  const scale = 2;
  try {
    for (const id of FIGURE_IDS) saveFigure(id, SAMPLE_INPUTS[id] as never, { resultsDir });
    const result = await exportFigures({ resultsDir, outDir, png: true, chromiumPath, scale });
    assert.equal(result.pngSkipped, undefined);
    assert.deepEqual(result.browserErrors, []);
    assert.deepEqual(result.figures.map((f) => f.id), [...FIGURE_IDS]);

    // PNGs: size from the IHDR chunk, content from the decoded pixels.
    for (const id of FIGURE_IDS) {
      const layout = buildFigure(id, SAMPLE_INPUTS[id] as never).layout;
      const buf = fs.readFileSync(path.join(outDir, `${id}.png`));
      assert.deepEqual(pngSize(buf), { width: (layout.width ?? 0) * scale, height: (layout.height ?? 0) * scale }, `${id}.png size`);
      const png = decodePng(buf);
      const variance = greyVariance(png);
      assert.ok(variance > 0, `${id}.png is blank`);
      let ink = 0;
      for (let i = 0; i < png.pixels.length; i += png.channels) if (png.pixels[i] < 200) ink += 1;
      assert.ok(ink / (png.width * png.height) > 0.005, `${id}.png has almost nothing drawn (${ink} dark pixels)`);
    }

    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: CHROMIUM_ARGS });
    try {
      const pages = [...FIGURE_IDS.map((id) => `${id}.html`), 'index.html'];
      for (const name of pages) {
        const page = await browser.newPage();
        const problems: string[] = [];
        page.on('console', (m) => {
          if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
        });
        page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
        page.on('requestfailed', (r) => problems.push(`failed request: ${r.url()}`));
        await page.route('**/*', (route) => {
          const url = route.request().url();
          if (/^(file|data|blob|about):/.test(url)) return route.continue();
          problems.push(`network request: ${url}`);
          return route.abort();
        });
        await page.goto(pathToFileURL(path.join(outDir, name)).href);
        await page.waitForFunction(() => (window as unknown as { kdlabDrawn?: unknown }).kdlabDrawn !== undefined, undefined, { timeout: 30_000 });
        await page.evaluate(() => (window as unknown as { kdlabDrawn: Promise<unknown> }).kdlabDrawn);
        const drawn: DrawnFigure[] = await page.evaluate(() => {
          const figs = (window as unknown as { kdlabFigures: { divId: string }[] }).kdlabFigures;
          return figs.map((f) => {
            const gd = document.getElementById(f.divId) as (HTMLElement & { data?: unknown[] }) | null;
            if (!gd) return { divId: f.divId, dataLength: -1, mainSvg: 0, drawnTraces: 0 };
            return {
              divId: f.divId,
              dataLength: gd.data?.length ?? -1,
              mainSvg: gd.querySelectorAll('.main-svg').length,
              // Plotly's DOM: scatter/bar traces are g.trace, a heatmap is g.hm, a table g.table.
              drawnTraces: gd.querySelectorAll('g.trace, g.hm, g.table').length,
            };
          });
        });
        const ids: FigureId[] = name === 'index.html' ? [...FIGURE_IDS] : [name.replace(/\.html$/, '') as FigureId];
        assert.equal(drawn.length, ids.length, `${name}: figures on the page`);
        drawn.forEach((d, i) => {
          const expected = EXPECTED_TRACES[ids[i]];
          assert.ok(d.mainSvg > 0, `${name} ${ids[i]}: Plotly drew no .main-svg`);
          assert.equal(d.dataLength, expected, `${name} ${ids[i]}: gd.data.length`);
          assert.equal(d.drawnTraces, expected, `${name} ${ids[i]}: traces in the DOM`);
        });
        assert.deepEqual(problems, [], `${name}: console errors / requests`);
        await page.close();
      }
    } finally {
      await browser.close();
    }
  } finally {
    fs.rmSync(resultsDir, { recursive: true, force: true });
    fs.rmSync(outDir, { recursive: true, force: true });
  }
});

test('notebook HTML fallback: the gzip loader defines Plotly and every figure draws, in any order', { skip, timeout: 120_000 }, async () => {
  // What nbconvert's HTML export or a front-end without the plotly renderer shows: the outputs'
  // text/html one after another. The second figure comes BEFORE the loader to check the wait.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kdlab-fallback-'));
  try {
    const a = displayBundle(buildFigure('training-curves', SAMPLE_INPUTS['training-curves']), { divId: 'fa' });
    const b = displayBundle(buildFigure('confusion-matrix', SAMPLE_INPUTS['confusion-matrix']), { divId: 'fb' });
    const file = path.join(dir, 'notebook.html');
    fs.writeFileSync(file, `<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>\n${b['text/html']}\n${plotlyLoaderHtml()}\n${a['text/html']}\n</body></html>`);
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: CHROMIUM_ARGS });
    try {
      const page = await browser.newPage();
      const problems: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      await page.route('**/*', (route) => {
        const url = route.request().url();
        if (/^(file|data|blob|about):/.test(url)) return route.continue();
        problems.push(`network request: ${url}`);
        return route.abort();
      });
      await page.goto(pathToFileURL(file).href);
      await page.waitForFunction(
        () => ['fa', 'fb'].every((id) => (document.getElementById(id)?.querySelectorAll('.main-svg').length ?? 0) > 0),
        undefined,
        { timeout: 60_000 },
      );
      const counts = await page.evaluate(() =>
        ['fa', 'fb'].map((id) => document.getElementById(id)?.querySelectorAll('g.trace, g.hm').length ?? -1),
      );
      assert.deepEqual(counts, [3, 1]);
      assert.deepEqual(problems, []);
    } finally {
      await browser.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('without a Chromium, --png is skipped with one notice and the HTML is still written', async () => {
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kdlab-nochromium-'));
  try {
    const figures = ['entropy-vs-T', 'training-curves'].map((id) => ({
      id,
      section: '0',
      title: id,
      figure: buildFigure(id as FigureId, SAMPLE_INPUTS[id as FigureId] as never),
    }));
    const missing = path.join(outDir, 'no-such-chromium');
    const result = await exportFigures({ figures, outDir, png: true, chromiumPath: missing });
    assert.equal(result.pngSkipped, `PNG export skipped: no Chromium at ${missing}. Set CHROMIUM_PATH to a Chromium binary, or install Debian's "chromium" package. The HTML figures were written.`);
    assert.ok(result.figures.every((f) => f.png === undefined));
    // The pages share one plotly.js, written next to them.
    assert.deepEqual(fs.readdirSync(outDir).sort(), ['entropy-vs-T.html', 'index.html', 'plotly.min.js', 'training-curves.html']);
  } finally {
    fs.rmSync(outDir, { recursive: true, force: true });
  }
});
