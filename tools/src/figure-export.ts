import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Figure } from 'kdlab';
import { escapeHtml, FIGURE_INFO, FONT_FAMILY, isFigureId, loadSavedFigures, plotlyJs, type SavedFigure, scriptJson, sectionLabel, sectionTitle, SIZES, workbookDir, workbookRoot, writeFileAtomic } from 'kdlab/internals';
import { ToolError } from './errors';

/*
 * Offline export: figures/<id>.html (one figure), figures/index.html (a gallery of every figure)
 * and, with a Chromium installed, figures/<id>.png rendered by Plotly.toImage in headless Chromium
 * through playwright-core. Every page loads ONE copy of plotly.js, figures/plotly.min.js, with a
 * relative <script src>: a classic script (not a module, not fetch) loads from file:// in every
 * browser, so pages still open straight from disk with no network, and ten figures cost one
 * 4.9 MB file instead of ten inlined copies. The book (`kdlab book`) reuses the same file.
 */

/** The file name of the shared plotly.js copy written next to the figure pages. */
export const PLOTLY_FILE = 'plotly.min.js';

/** What export needs of a figure: saved ones come from loadSavedFigures(), tests may pass their own. */
export interface ExportableFigure {
  id: string;
  section: string | null;
  title: string;
  notebook?: string;
  figure: Figure;
}

export interface ExportOptions {
  /** Output folder; relative paths from the workbook root. Default figures/. */
  outDir?: string;
  /** Also write PNGs through headless Chromium. */
  png?: boolean;
  /** Chromium binary; default $CHROMIUM_PATH, then /usr/bin/chromium. */
  chromiumPath?: string;
  /** PNG pixels per layout pixel (default 2: sharp on slides and in print). */
  scale?: number;
  /** Only these figure ids. */
  only?: string[];
  /** Where saved figure data is read from (see saveFigure). */
  resultsDir?: string;
  /** Export these instead of reading build/results/figures. */
  figures?: ExportableFigure[];
  /** Called for a saved file that cannot be rebuilt (it is skipped); default: throw. */
  onInvalid?: (file: string, error: Error) => void;
  /** A link every page adds to its footer, e.g. back to the book that holds the figures. */
  backLink?: BackLink;
}

export interface BackLink {
  /** Relative to the figure pages' folder, e.g. ../index.html. */
  href: string;
  label: string;
}

function backLinkHtml(link: BackLink | undefined): string {
  return link ? ` · <a href="${escapeHtml(link.href)}">${escapeHtml(link.label)}</a>` : '';
}

export interface WrittenFile {
  file: string;
  bytes: number;
}

export interface ExportedFigure {
  id: string;
  section: string | null;
  title: string;
  html: WrittenFile;
  png?: WrittenFile & { width: number; height: number };
}

export interface ExportResult {
  outDir: string;
  figures: ExportedFigure[];
  index: WrittenFile;
  /** Why no PNGs were written, when png was asked for but could not be done. */
  pngSkipped?: string;
  /** Console errors and failed requests seen while rendering PNGs (should be empty). */
  browserErrors: string[];
  /** The one copy of plotly.js every page of outDir loads. */
  plotly: { version: string; bytes: number; file: string };
}

/** Chromium flags for a sandbox-less, offline, quiet headless run (containers, CI). */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const DEFAULT_CHROMIUMS = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];

/**
 * The Chromium to use: the explicit path, else $CHROMIUM_PATH, else /usr/bin/chromium. A path given
 * explicitly (argument or variable) is used or reported missing, never silently replaced.
 */
export function findChromium(explicit?: string): string | undefined {
  const chosen = explicit || process.env.CHROMIUM_PATH;
  if (chosen) return fs.existsSync(chosen) ? chosen : undefined;
  return DEFAULT_CHROMIUMS.find((c) => fs.existsSync(c));
}

function noChromiumNotice(explicit?: string): string {
  const chosen = explicit || process.env.CHROMIUM_PATH;
  const where = chosen ? `no Chromium at ${chosen}` : `no Chromium found (looked for ${DEFAULT_CHROMIUMS.join(', ')})`;
  return (
    `PNG export skipped: ${where}. Set CHROMIUM_PATH to a Chromium binary, or install Debian's ` +
    '"chromium" package. The HTML figures were written.'
  );
}

const PAGE_STYLE =
  `body{margin:24px;font-family:${FONT_FAMILY};color:#222;background:#fff}` +
  `.meta{color:#666;font-size:13px;margin:6px 0 0}` +
  `.card{display:inline-block;vertical-align:top;margin:0 24px 32px 0}` +
  `.card h2{font-size:16px;margin:0 0 6px}` +
  `a{color:#0072B2}`;

/** The <script> that loads the shared plotly.js; `src` is relative to the page. */
export function plotlyScriptTag(src: string = PLOTLY_FILE): string {
  return `<script src="${escapeHtml(src)}"></script>`;
}

/**
 * Writes <dir>/plotly.min.js (plotly.js, MIT licence, with a banner naming its version) unless an
 * identical copy is already there, and returns its size.
 */
export function writePlotlyJs(dir: string): WrittenFile & { version: string } {
  const { version, source } = plotlyJs();
  const file = path.join(dir, PLOTLY_FILE);
  const text = `/* plotly.js ${version} (MIT licence), shipped once for every page of this folder */\n${source}\n`;
  const bytes = Buffer.byteLength(text);
  const same = fs.existsSync(file) && fs.statSync(file).size === bytes && fs.readFileSync(file, 'utf8') === text;
  if (!same) writeFileAtomic(file, text);
  return { file, bytes, version };
}

function drawScript(items: { divId: string; figure: Figure }[]): string {
  return (
    `<script>window.kdlabFigures=${scriptJson(items)};` +
    `window.kdlabDrawn=Promise.all(window.kdlabFigures.map(function(f){` +
    `return Plotly.newPlot(f.divId,f.figure.data,f.figure.layout,{displaylogo:false,responsive:false});}));</script>`
  );
}

function notebookNote(f: ExportableFigure): string {
  return f.notebook ? `, data from <code>notebooks/${escapeHtml(f.notebook)}.ipynb</code>` : '';
}

/** A page with one figure; it loads the shared plotly.min.js next to it. */
export function figurePage(f: ExportableFigure, backLink?: BackLink): string {
  return (
    `<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n` +
    `<meta name="viewport" content="width=device-width, initial-scale=1">\n` +
    `<title>${escapeHtml(sectionTitle(f.section, f.title))}</title>\n<style>${PAGE_STYLE}</style>\n` +
    `${plotlyScriptTag()}\n</head>\n<body>\n` +
    `<div id="kdlab-figure"></div>\n` +
    `<p class="meta">Figure <code>${escapeHtml(f.id)}</code>, ${f.section === null ? 'beyond the chapter' : `chapter §${escapeHtml(f.section)}`}${notebookNote(f)}. ` +
    `<a href="index.html">All figures</a>${backLinkHtml(backLink)}</p>\n` +
    `${drawScript([{ divId: 'kdlab-figure', figure: f.figure }])}\n</body>\n</html>\n`
  );
}

/** The gallery: every figure drawn live, with its section, and links to its page and PNG. */
export function galleryPage(figures: ExportableFigure[], pngs: ReadonlySet<string>, pages?: ReadonlySet<string>, backLink?: BackLink): string {
  const cards = figures
    .map((f, i) => {
      const links: string[] = [];
      if (!pages || pages.has(f.id)) links.push(`<a href="${encodeURIComponent(f.id)}.html">page</a>`);
      if (pngs.has(f.id)) links.push(`<a href="${encodeURIComponent(f.id)}.png">PNG</a>`);
      return (
        `<section class="card" id="${escapeHtml(f.id)}">\n<h2>${escapeHtml(sectionTitle(f.section, f.title))}</h2>\n` +
        `<div id="kdlab-gallery-${i}"></div>\n` +
        `<p class="meta"><code>${escapeHtml(f.id)}</code>${notebookNote(f)}${links.map((l) => ` · ${l}`).join('')}</p>\n</section>`
      );
    })
    .join('\n');
  const toc = figures
    .map((f) => `<li>${escapeHtml(sectionLabel(f.section))} <a href="#${escapeHtml(f.id)}">${escapeHtml(f.title)}</a></li>`)
    .join('\n');
  return (
    `<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n` +
    `<meta name="viewport" content="width=device-width, initial-scale=1">\n` +
    `<title>Knowledge distillation workbook: figures</title>\n<style>${PAGE_STYLE}</style>\n` +
    `${plotlyScriptTag()}\n</head>\n<body>\n<h1>Figures of the knowledge distillation workbook</h1>\n` +
    `<p class="meta">${figures.length} figure(s), in chapter order. Redraw with <code>kdlab figures</code>.${backLinkHtml(backLink)}</p>\n` +
    `<ul>\n${toc}\n</ul>\n${cards}\n` +
    `${drawScript(figures.map((f, i) => ({ divId: `kdlab-gallery-${i}`, figure: f.figure })))}\n</body>\n</html>\n`
  );
}

function toExportable(saved: SavedFigure): ExportableFigure {
  return { id: saved.id, section: saved.section, title: saved.title, notebook: saved.notebook, figure: saved.figure };
}

function writeFile(file: string, data: string | Buffer): WrittenFile {
  writeFileAtomic(file, data);
  return { file, bytes: typeof data === 'string' ? Buffer.byteLength(data) : data.length };
}

/**
 * Writes <outDir>/<id>.html for every saved figure, <outDir>/index.html, and with `png` the PNGs.
 * Without a Chromium, PNGs are skipped and `pngSkipped` says why (once, not per figure).
 */
export async function exportFigures(options: ExportOptions = {}): Promise<ExportResult> {
  const outDir = options.outDir === undefined ? workbookDir('figures') : path.resolve(workbookRoot(), options.outDir);
  // The gallery always shows every saved figure; `only` limits which pages and PNGs are rewritten.
  const all: ExportableFigure[] =
    options.figures ?? loadSavedFigures({ resultsDir: options.resultsDir, onInvalid: options.onInvalid }).map(toExportable);
  if (options.only) {
    const unknown = options.only.filter((id) => !all.some((f) => f.id === id) && !isFigureId(id));
    if (unknown.length > 0) throw new ToolError('FIGURE_UNKNOWN', `exportFigures: unknown figure id(s): ${unknown.join(', ')}`);
  }
  const figures = options.only ? all.filter((f) => options.only?.includes(f.id)) : all;
  for (const f of all) {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(f.id)) throw new ToolError('FIGURE_UNKNOWN', `exportFigures: "${f.id}" is not a usable file name`);
  }
  const plotly = writePlotlyJs(outDir);
  const exported: ExportedFigure[] = figures.map((f) => ({
    id: f.id,
    section: f.section,
    title: f.title,
    html: writeFile(path.join(outDir, `${f.id}.html`), figurePage(f, options.backLink)),
  }));

  let pngSkipped: string | undefined;
  const browserErrors: string[] = [];
  if (options.png && figures.length > 0) {
    const chromium = findChromium(options.chromiumPath);
    if (!chromium) {
      pngSkipped = noChromiumNotice(options.chromiumPath);
    } else {
      // The gallery page has plotly.js and every figure: render PNGs from it in one page load.
      const galleryFile = path.join(outDir, 'index.html');
      // A temporary gallery of the figures to render; rewritten below with every figure and its links.
      writeFile(galleryFile, galleryPage(figures, new Set()));
      try {
        const pngs = await renderPngs(chromium, galleryFile, figures, options.scale ?? 2, browserErrors);
        exported.forEach((e, i) => {
          const png = pngs[i];
          e.png = { ...writeFile(path.join(outDir, `${e.id}.png`), png.data), width: png.width, height: png.height };
        });
      } catch (err) {
        pngSkipped = `PNG export skipped: Chromium at ${chromium} failed: ${(err as Error).message.split('\n')[0]}`;
      }
    }
  }
  const existing = (ext: string): Set<string> =>
    new Set(all.filter((f) => fs.existsSync(path.join(outDir, `${f.id}.${ext}`))).map((f) => f.id));
  const index = writeFile(path.join(outDir, 'index.html'), galleryPage(all, existing('png'), existing('html'), options.backLink));
  return { outDir, figures: exported, index, pngSkipped, browserErrors, plotly: { version: plotly.version, bytes: plotly.bytes, file: plotly.file } };
}

interface RenderedPng {
  data: Buffer;
  width: number;
  height: number;
}

interface PlotlyInPage {
  toImage(fig: Figure, opts: { format: 'png'; width: number; height: number; scale: number }): Promise<string>;
}

async function renderPngs(
  executablePath: string,
  galleryFile: string,
  figures: ExportableFigure[],
  scale: number,
  errors: string[],
): Promise<RenderedPng[]> {
  // Loaded only here: `require('kdlab')` in a notebook must not pay for playwright.
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
    page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()}`));
    // Nothing may leave the machine: only the page itself and inline data are allowed.
    await page.route('**/*', (route) => {
      const url = route.request().url();
      return /^(file|data|blob|about):/.test(url) ? route.continue() : route.abort();
    });
    await page.goto(pathToFileURL(galleryFile).href);
    await page.waitForFunction(() => (window as unknown as { kdlabDrawn?: unknown }).kdlabDrawn !== undefined);
    await page.evaluate(() => (window as unknown as { kdlabDrawn: Promise<unknown> }).kdlabDrawn);
    const out: RenderedPng[] = [];
    for (const f of figures) {
      const width = f.figure.layout.width ?? SIZES.width;
      const height = f.figure.layout.height ?? SIZES.height;
      const dataUrl = await page.evaluate(
        ([fig, w, h, s]) =>
          (window as unknown as { Plotly: PlotlyInPage }).Plotly.toImage(fig, { format: 'png', width: w, height: h, scale: s }),
        [f.figure, width, height, scale] as const,
      );
      const comma = dataUrl.indexOf(',');
      out.push({ data: Buffer.from(dataUrl.slice(comma + 1), 'base64'), width: Math.round(width * scale), height: Math.round(height * scale) });
    }
    return out;
  } finally {
    await browser.close();
  }
}

/** Ids in chapter order with the notebook that saves each: for "what is missing" messages. */
export function missingFigures(present: readonly string[]): { id: string; notebook: string }[] {
  return Object.values(FIGURE_INFO)
    .filter((info) => !present.includes(info.id) && isFigureId(info.id))
    .map((info) => ({ id: info.id, notebook: info.notebook }));
}
