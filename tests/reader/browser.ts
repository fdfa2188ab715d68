/**
 * A book checked as a reader sees it: every page opened from file:// in headless Chromium, with
 * the checks of issue 15 (no console error or failed request, every Plotly figure drawn, no raw TeX
 * left, code highlighted, links resolve) and a screenshot per page (default <book>/screenshots/).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { CHROMIUM_ARGS } from '../../tools/src/figure-export';

export interface PageReport {
  page: string;
  errors: string[];
  plots: number;
  drawnPlots: number;
  rawTex: string[];
  katexErrors: number;
  codeBlocks: number;
  highlightedBlocks: number;
  brokenLinks: string[];
  screenshot: string;
}

export async function launch(executablePath: string): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS, timeout: 180_000 });
}

/** Opens one page, records every problem, waits for its figures, saves a screenshot. */
export async function checkPage(
  browser: Browser,
  bookDir: string,
  file: string,
  options: { width?: number; screenshotName?: string; screenshotDir?: string } = {},
): Promise<PageReport> {
  const errors: string[] = [];
  const context = await browser.newContext({ viewport: { width: options.width ?? 1100, height: 900 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  page.setDefaultTimeout(180_000);
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()} (${r.failure()?.errorText ?? ''})`));
  // Nothing may leave the machine: a request for anything but the book's own files is an error.
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (/^(file|data|blob|about):/.test(url)) return route.continue();
    errors.push(`network request: ${url}`);
    return route.abort();
  });
  try {
    const response = await page.goto(pathToFileURL(path.join(bookDir, file)).href, { waitUntil: 'load' });
    if (response && !response.ok()) errors.push(`status ${response.status()}`);
    await waitForFigures(page);
    const found = await page.evaluate(inspectPage);
    const brokenLinks = found.links.filter((href) => !linkResolves(bookDir, file, href, found.ids));
    const shots = options.screenshotDir ?? path.join(bookDir, 'screenshots');
    fs.mkdirSync(shots, { recursive: true });
    const screenshot = path.join(shots, options.screenshotName ?? `${file.replace(/[\\/]/g, '__').replace(/\.html$/, '')}.png`);
    await page.screenshot({ path: screenshot, fullPage: true });
    return { page: file, errors, brokenLinks, screenshot, ...found.counts };
  } finally {
    await context.close();
  }
}

async function waitForFigures(page: Page): Promise<void> {
  const hasFigures = await page.evaluate(() => 'kdlabDrawn' in window || 'kdlabFigures' in window);
  if (hasFigures) {
    await page.waitForFunction(() => (window as unknown as { kdlabDrawn?: unknown }).kdlabDrawn !== undefined);
    await page.evaluate(() => (window as unknown as { kdlabDrawn: Promise<unknown> }).kdlabDrawn);
  }
}

interface Inspection {
  counts: { plots: number; drawnPlots: number; rawTex: string[]; katexErrors: number; codeBlocks: number; highlightedBlocks: number };
  links: string[];
  ids: string[];
}

/** Runs in the page. */
function inspectPage(): Inspection {
  const plots = Array.from(document.querySelectorAll('.kdlab-book-plot, #kdlab-figure, [id^="kdlab-gallery-"]'));
  const drawnPlots = plots.filter((p) => p.classList.contains('js-plotly-plot') && p.querySelector('svg.main-svg') !== null).length;
  // Text a reader sees outside code and outputs: raw TeX there means math was not rendered.
  const clone = document.body.cloneNode(true) as HTMLElement;
  clone.querySelectorAll('pre, code, script, style, .katex-mathml, .outputs').forEach((e) => e.remove());
  const visible = clone.textContent ?? '';
  const rawTex = (visible.match(/\$\$|\\(frac|sum|exp|log|mathrm|text|operatorname|begin|alpha|tau)\b[^\n]{0,30}|\$[^$\s][^$\n]{0,40}\$/g) ?? []).slice(0, 10);
  const codeBlocks = document.querySelectorAll('pre.code').length;
  const highlightedBlocks = Array.from(document.querySelectorAll('pre.code')).filter((p) => p.querySelector('[class^="hljs-"]') !== null).length;
  const links = Array.from(document.querySelectorAll('a[href]')).map((a) => a.getAttribute('href') ?? '');
  const ids = Array.from(document.querySelectorAll('[id]')).map((e) => e.id);
  return {
    counts: { plots: plots.length, drawnPlots, rawTex, katexErrors: document.querySelectorAll('.katex-error').length, codeBlocks, highlightedBlocks },
    links,
    ids,
  };
}

/** A same-page anchor names an element; a relative link names a file of the book (and an anchor in it). */
function linkResolves(bookDir: string, from: string, href: string, ids: string[]): boolean {
  if (href.startsWith('#')) return ids.includes(decodeURIComponent(href.slice(1)));
  if (/^(https?:|mailto:)/.test(href)) return true; // leaving the book is the reader's choice; nothing loads
  const base = pathToFileURL(path.join(bookDir, from));
  const url = new URL(href, base);
  if (url.protocol !== 'file:') return false;
  const target = fileURLToPath(url);
  if (!target.startsWith(bookDir + path.sep) || !fs.existsSync(target)) return false;
  if (url.hash && target.endsWith('.html')) {
    const id = decodeURIComponent(url.hash.slice(1));
    return fs.readFileSync(target, 'utf8').includes(`id="${id}"`);
  }
  return true;
}

/**
 * Whether the page draws Chinese with a real font: the glyphs of two different CJK characters,
 * drawn on a canvas in the given element's font, differ from each other and from a character no
 * font has (U+E000, private use), which every browser draws as the same empty box ("tofu").
 */
export async function cjkGlyphsDrawn(browser: Browser, bookDir: string, file: string, selector: string): Promise<{ ok: boolean; font: string }> {
  const page = await browser.newPage();
  try {
    await page.goto(pathToFileURL(path.join(bookDir, file)).href);
    return await page.evaluate((sel) => {
      const el = document.querySelector(sel);
      const style = el ? getComputedStyle(el) : getComputedStyle(document.body);
      const font = `48px ${style.fontFamily}`;
      // No named inner functions: the test's TypeScript loader would wrap them in a helper the page lacks.
      const [a, b, tofu] = ['软', '标', '\uE000'].map(function (ch) {
        const c = document.createElement('canvas');
        c.width = 64;
        c.height = 64;
        const g = c.getContext('2d');
        if (!g) return '';
        g.font = font;
        g.fillStyle = '#000';
        g.fillText(ch, 4, 52);
        const px = g.getImageData(0, 0, 64, 64).data;
        let sig = '';
        for (let i = 3; i < px.length; i += 4 * 7) sig += px[i] > 127 ? '1' : '0';
        return sig;
      });
      const inked = a.includes('1') && b.includes('1');
      return { ok: inked && a !== b && a !== tofu && b !== tofu, font: style.fontFamily };
    }, selector);
  } finally {
    await page.close();
  }
}
