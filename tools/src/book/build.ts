/**
 * The workbook as a static, offline book (build/book/): index.html (table of contents, how and when
 * the notebooks ran, the machine's `kdlab doctor`), one page per executed notebook and per released
 * assignment, figures/ (the exported figures and the ONE plotly.min.js every page loads), assets/
 * (stylesheet, KaTeX's stylesheet and fonts, the highlight.js theme), and the .ipynb files to
 * download. Pages link each other relatively and load nothing from the network, so the folder works
 * from file:// and from any static server. Nothing is executed: the book is rebuilt from what
 * `kdlab reproduce` and the notebooks' saved figure data left on disk.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { escapeHtml, FIGURE_INFO, loadSavedFigures, scriptJson, sectionLabel, workbookDir, workbookRoot, writeFileAtomic } from 'kdlab/internals';
import { ToolError } from '../errors';
import { bytesUnder } from '../files';
import { exportFigures, PLOTLY_FILE } from '../figure-export';
import { releaseHomework } from '../homework/release';
import { writePlaygroundPage, PLAYGROUND_PAGE, type PlaygroundPage } from '../playground/page';
import { readManifest } from '../playground/manifest';
import { readNotebook, type Notebook } from '../runner/nbformat';
import type { Heading } from './markdown';
import { figureTitle, renderNotebook } from './render';
import { BOOK_CSS } from './style';

export interface BookOptions {
  /** Executed notebooks (default build/notebooks/). */
  notebooksDir?: string;
  /** Output folder (default build/book/). */
  outDir?: string;
  /** Assignment sources released into the book without solutions (default homework/; null: none). */
  homeworkDir?: string | null;
  /** Results folder holding figures/*.json (default build/results/). */
  resultsDir?: string;
  /** Where `kdlab figures --png` wrote PNGs, copied next to the book's figure pages (default figures/). */
  figuresDir?: string;
  /** The environment text shown on the index page; default: the output of `kdlab doctor`. */
  environment?: string;
  /** The full-scale reference whose PNGs go beside the quick figures (default reference/full/, KDLAB_REFERENCE_DIR). */
  referenceDir?: string;
  /** Write playground.html from build/playground/ (default: when `kdlab playground` prepared it). */
  playground?: boolean;
}

export interface BookPage {
  /** Page file, relative to the book folder. */
  file: string;
  kind: 'chapter' | 'homework';
  title: string;
  /** The .ipynb offered for download, relative to the book folder. */
  notebook: string;
  figures: number;
  errorOutputs: number;
  mode?: string;
  ranAt?: string;
  /** When its last cell finished. */
  endedAt?: string;
  /** Full-scale reference figures shown on the page. */
  referenceFigures?: number;
}

export interface BookResult {
  outDir: string;
  index: string;
  pages: BookPage[];
  figurePages: string[];
  plotly: { file: string; bytes: number; version: string };
  bytes: number;
  /** The playground page, when build/playground/ had its models. */
  playground?: PlaygroundPage;
}

/** The folder's own files, never a user's: the only things a rebuild deletes first. */
const GENERATED = ['assets', 'figures', 'notebooks', 'homework', 'playground'];

function rel(p: string): string {
  const r = path.relative(workbookRoot(), p);
  return r.startsWith('..') ? p : r || '.';
}

function copyFile(from: string, to: string): void {
  writeFileAtomic(to, fs.readFileSync(from));
}

function packageDir(name: string): string {
  return path.dirname(require.resolve(`${name}/package.json`));
}

/** KaTeX's stylesheet and its woff2 fonts (every browser that runs the book reads woff2). */
function writeKatexAssets(dir: string): void {
  const dist = path.join(packageDir('katex'), 'dist');
  // Keep only the woff2 source of each @font-face: the other formats are not shipped.
  const css = fs
    .readFileSync(path.join(dist, 'katex.min.css'), 'utf8')
    .replace(/src:url\((fonts\/[^)]+\.woff2)\) format\("woff2"\)(,url\([^)]+\) format\("[a-z]+"\))*/g, 'src:url($1) format("woff2")');
  writeFileAtomic(path.join(dir, 'katex.min.css'), css);
  for (const f of fs.readdirSync(path.join(dist, 'fonts'))) {
    if (f.endsWith('.woff2')) copyFile(path.join(dist, 'fonts', f), path.join(dir, 'fonts', f));
  }
}

function writeAssets(outDir: string): void {
  const assets = path.join(outDir, 'assets');
  writeFileAtomic(path.join(assets, 'book.css'), BOOK_CSS.trimStart());
  copyFile(path.join(packageDir('highlight.js'), 'styles', 'github.min.css'), path.join(assets, 'highlight.css'));
  writeKatexAssets(path.join(assets, 'katex'));
}

/** When the notebook ran: its first cell's execution start, else the file's modification time. */
function ranAt(nb: Notebook, file: string): string {
  for (const c of nb.cells) {
    const t = c.metadata.execution?.['iopub.execute_input'];
    if (t) return t;
  }
  return fs.statSync(file).mtime.toISOString();
}

/**
 * When the notebook finished: its last executed cell's idle time (tslab stamps a cell's reply with
 * the time the cell started, so idle is the one that marks the end), else its start plus its wall
 * time, else the file's modification time.
 */
function endedAt(nb: Notebook, file: string, started: string | undefined, wall: number | undefined): string {
  for (const c of [...nb.cells].reverse()) {
    const e = c.metadata.execution;
    const t = e?.['iopub.status.idle'] ?? e?.['shell.execute_reply'];
    if (t) return t;
  }
  if (started && wall !== undefined && !Number.isNaN(Date.parse(started))) return new Date(Date.parse(started) + wall * 1000).toISOString();
  return fs.statSync(file).mtime.toISOString();
}

/** The full-scale reference's PNGs (by figure id) and the caption that names it; null without PNGs. */
interface ReferenceFigures {
  pngs: Map<string, string>;
  caption: string;
}

function referenceFigures(dir: string): ReferenceFigures | null {
  const figures = path.join(dir, 'figures');
  if (!fs.existsSync(figures)) return null;
  const pngs = new Map<string, string>();
  for (const f of fs.readdirSync(figures).sort()) {
    const id = f.replace(/\.png$/, '');
    if (f.endsWith('.png') && id in FIGURE_INFO) pngs.set(id, path.join(figures, f));
  }
  if (pngs.size === 0) return null;
  let date = '?';
  let commit = '?';
  try {
    const p = JSON.parse(fs.readFileSync(path.join(dir, 'provenance.json'), 'utf8')) as { date?: unknown; commit?: unknown };
    if (typeof p.date === 'string') date = p.date.slice(0, 10);
    if (typeof p.commit === 'string') commit = p.commit.slice(0, 7);
  } catch {
    /* no or unreadable provenance: the caption says so with '?' */
  }
  return { pngs, caption: `At full scale (reference of ${date}, commit ${commit})` };
}

function referenceFigureHtml(id: string, caption: string): string {
  const info = FIGURE_INFO[id as keyof typeof FIGURE_INFO];
  return `<figure class="full-scale"><img src="figures/full-${escapeHtml(id)}.png" alt="${escapeHtml(`${info.title}, at full scale`)}" loading="lazy">` +
    `<figcaption class="meta">${escapeHtml(caption)}: ${escapeHtml(info.title)}</figcaption></figure>\n`;
}

function kdlabMeta(nb: Notebook): { mode?: string; status?: string; wall?: number } {
  const meta = nb.metadata.kdlab as { parameters?: { mode?: unknown }; status?: unknown; wall_seconds?: unknown } | undefined;
  return {
    mode: typeof meta?.parameters?.mode === 'string' ? meta.parameters.mode : undefined,
    status: typeof meta?.status === 'string' ? meta.status : undefined,
    wall: typeof meta?.wall_seconds === 'number' ? meta.wall_seconds : undefined,
  };
}

/** `kdlab doctor`'s report, run as its own process (it loads tfjs; the book command does not). */
function doctorReport(): string {
  const cli = path.join(workbookRoot(), 'tools', 'bin', 'kdlab.js');
  try {
    return execFileSync(process.execPath, [cli, 'doctor'], { cwd: workbookRoot(), encoding: 'utf8', timeout: 180_000, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stdout?: string; message: string };
    return e.stdout ? e.stdout : `(kdlab doctor could not run: ${e.message.split('\n')[0]})`;
  }
}

function formatDate(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

interface PageShell {
  title: string;
  body: string;
  /** Relative path of the .ipynb to download. */
  download?: string;
  prev?: { href: string; title: string };
  next?: { href: string; title: string };
  plotly: boolean;
  drawScript?: string;
}

function shell(p: PageShell): string {
  const pager =
    p.prev || p.next
      ? `<nav class="pager" aria-label="previous and next page">` +
        (p.prev ? `<a class="prev" rel="prev" href="${escapeHtml(p.prev.href)}">← ${escapeHtml(p.prev.title)}</a>` : '') +
        (p.next ? `<a class="next" rel="next" href="${escapeHtml(p.next.href)}">${escapeHtml(p.next.title)} →</a>` : '') +
        `</nav>\n`
      : '';
  return (
    `<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n` +
    `<meta name="viewport" content="width=device-width, initial-scale=1">\n` +
    `<title>${escapeHtml(p.title)}</title>\n` +
    `<link rel="stylesheet" href="assets/katex/katex.min.css">\n` +
    `<link rel="stylesheet" href="assets/highlight.css">\n` +
    `<link rel="stylesheet" href="assets/book.css">\n` +
    (p.plotly ? `<script src="figures/${PLOTLY_FILE}"></script>\n` : '') +
    `</head>\n<body>\n<header class="top"><div class="bar">` +
    `<a class="home" href="index.html">知识蒸馏 · KD workbook</a>` +
    `<a href="figures/index.html">Figures</a>` +
    (p.download ? `<a class="download" href="${escapeHtml(p.download)}" download>Download this notebook (.ipynb)</a>` : '') +
    `</div></header>\n<main>\n${p.body}${pager}</main>\n` +
    (p.drawScript ?? '') +
    `</body>\n</html>\n`
  );
}

/** Draws the page's figures once plotly.js (loaded in <head>) is there; window.kdlabDrawn settles when done. */
function drawScript(figures: { divId: string; figure: unknown }[]): string {
  return (
    `<script>window.kdlabFigures=${scriptJson(figures)};` +
    `window.kdlabDrawn=(window.Plotly?Promise.all(window.kdlabFigures.map(function(f){` +
    `return Plotly.newPlot(f.divId,f.figure.data,f.figure.layout,{displaylogo:false,responsive:true});}))` +
    `:Promise.reject(new Error("plotly.js did not load from figures/${PLOTLY_FILE}")));` +
    `window.kdlabDrawn.catch(function(e){console.error("kdlab book:",e);});</script>\n`
  );
}

function onThisPage(headings: Heading[]): string {
  const h2 = headings.filter((h) => h.level === 2);
  if (h2.length < 2) return '';
  return (
    `<nav class="toc" aria-label="on this page"><strong>On this page</strong><ul>` +
    h2.map((h) => `<li><a href="#${escapeHtml(h.id)}">${h.html}</a></li>`).join('') +
    `</ul></nav>\n`
  );
}

interface Pending {
  kind: 'chapter' | 'homework';
  name: string;
  source: string;
  notebook: string;
  nb: Notebook;
}

export async function buildBook(options: BookOptions = {}): Promise<BookResult> {
  const root = workbookRoot();
  const notebooksDir = options.notebooksDir ? path.resolve(root, options.notebooksDir) : workbookDir('notebooks');
  const outDir = options.outDir ? path.resolve(root, options.outDir) : workbookDir('book');
  const homeworkDir = options.homeworkDir === null ? null : path.resolve(root, options.homeworkDir ?? 'homework');
  const figuresDir = options.figuresDir ? path.resolve(root, options.figuresDir) : workbookDir('figures');

  const chapterFiles = fs.existsSync(notebooksDir)
    ? fs.readdirSync(notebooksDir).filter((f) => f.endsWith('.ipynb') && !f.startsWith('.')).sort()
    : [];
  if (chapterFiles.length === 0) {
    throw new ToolError('BOOK_NO_NOTEBOOKS', `no executed notebooks in ${rel(notebooksDir)}: run \`npm start\` (or \`kdlab reproduce\`) first.`);
  }
  if (path.resolve(outDir) === path.resolve(notebooksDir) || path.resolve(outDir) === root) {
    throw new ToolError('BAD_ARGS', `the book folder must be its own folder, not ${rel(outDir)}.`);
  }

  // A rebuild starts clean (pages of a deleted notebook must not linger) but keeps screenshots.
  fs.mkdirSync(outDir, { recursive: true });
  for (const e of fs.readdirSync(outDir)) {
    if (GENERATED.includes(e) || e.endsWith('.html')) fs.rmSync(path.join(outDir, e), { recursive: true, force: true });
  }
  writeAssets(outDir);

  // Figures: the PNGs `kdlab figures --png` made, then the pages and plotly.min.js.
  const bookFigures = path.join(outDir, 'figures');
  fs.mkdirSync(bookFigures, { recursive: true });
  if (fs.existsSync(figuresDir)) {
    for (const f of fs.readdirSync(figuresDir)) if (f.endsWith('.png')) copyFile(path.join(figuresDir, f), path.join(bookFigures, f));
  }
  // The full-scale reference's PNGs, each under the quick plot of the same figure (found by the
  // title the quick figure data gives it), the rest at the end of their notebook's page.
  const reference = referenceFigures(options.referenceDir ? path.resolve(root, options.referenceDir) : (process.env.KDLAB_REFERENCE_DIR ?? workbookDir('reference')));
  const idByTitle = new Map<string, string>();
  if (reference) {
    for (const [id, png] of reference.pngs) copyFile(png, path.join(bookFigures, `full-${id}.png`));
    for (const f of loadSavedFigures({ resultsDir: options.resultsDir, onInvalid: () => undefined })) {
      const title = figureTitle(f.figure);
      if (title && reference.pngs.has(f.id)) idByTitle.set(title, f.id);
    }
  }
  const figures = await exportFigures({
    outDir: bookFigures, resultsDir: options.resultsDir, png: false, backLink: { href: '../index.html', label: 'Back to the book' },
  });

  const pending: Pending[] = chapterFiles.map((f) => {
    const source = path.join(notebooksDir, f);
    const notebook = `notebooks/${f}`;
    copyFile(source, path.join(outDir, notebook));
    return { kind: 'chapter', name: f.replace(/\.ipynb$/, ''), source, notebook, nb: readNotebook(source) };
  });
  if (homeworkDir && fs.existsSync(homeworkDir)) {
    for (const r of releaseHomework(homeworkDir, path.join(outDir, 'homework'))) {
      const f = path.basename(r.output);
      pending.push({ kind: 'homework', name: f.replace(/\.ipynb$/, ''), source: r.output, notebook: `homework/${f}`, nb: readNotebook(r.output) });
    }
  }

  const pageNames = new Set(pending.map((p) => p.name));
  const rendered = pending.map((p) => {
    const shown = new Set<string>();
    const afterPlot = (figure: Parameters<typeof figureTitle>[0]): string => {
      const id = idByTitle.get(figureTitle(figure));
      if (!reference || !id || shown.has(id)) return '';
      shown.add(id);
      return referenceFigureHtml(id, reference.caption);
    };
    const r = renderNotebook(p.nb, p.name, pageNames, afterPlot);
    if (reference && p.kind === 'chapter') {
      const rest = [...reference.pngs.keys()].filter((id) => FIGURE_INFO[id as keyof typeof FIGURE_INFO].notebook === p.name && !shown.has(id));
      if (rest.length > 0) {
        r.html += `<h2 id="at-full-scale">At full scale</h2>\n` + rest.map((id) => referenceFigureHtml(id, reference.caption)).join('');
        rest.forEach((id) => shown.add(id));
      }
    }
    return { p, r, referenceFigures: shown.size };
  });
  const titles = rendered.map(({ p, r }) => r.title ?? p.name);
  const pages: BookPage[] = [];
  rendered.forEach(({ p, r, referenceFigures: fullScale }, i) => {
    const file = `${p.name}.html`;
    const prevIndex = i - 1;
    const nextIndex = i + 1;
    const meta = kdlabMeta(p.nb);
    const when = p.kind === 'chapter' ? ranAt(p.nb, p.source) : undefined;
    const ran =
      p.kind === 'chapter'
        ? `<p class="meta">Executed in ${escapeHtml(meta.mode ?? 'an unrecorded')} mode on ${escapeHtml(formatDate(when ?? ''))}` +
          `${meta.wall !== undefined ? ` in ${meta.wall.toFixed(1)} s` : ''} by <code>kdlab reproduce</code>. ` +
          `<a href="${escapeHtml(p.notebook)}" download>Download this notebook</a>.</p>\n`
        : `<p class="meta">Assignment, released without solutions (<code>kdlab release</code>): ` +
          `<a href="${escapeHtml(p.notebook)}" download>download it</a>, fill in the cells marked <code>YOUR CODE HERE</code>, ` +
          `and grade it with <code>kdlab grade</code>.</p>\n`;
    // The title heading comes first in the notebook; the run note and this page's contents follow it.
    const firstHeadingEnd = r.html.indexOf('</h1>');
    const body =
      firstHeadingEnd >= 0
        ? r.html.slice(0, firstHeadingEnd + 5) + '\n' + ran + onThisPage(r.headings) + r.html.slice(firstHeadingEnd + 5)
        : `<h1>${escapeHtml(titles[i])}</h1>\n${ran}${onThisPage(r.headings)}${r.html}`;
    const html = shell({
      title: `${titles[i]} · KD workbook`,
      body,
      download: p.notebook,
      prev: prevIndex >= 0 ? { href: `${rendered[prevIndex].p.name}.html`, title: titles[prevIndex] } : { href: 'index.html', title: 'Contents' },
      next: nextIndex < rendered.length ? { href: `${rendered[nextIndex].p.name}.html`, title: titles[nextIndex] } : { href: 'index.html', title: 'Contents' },
      plotly: r.figures.length > 0,
      drawScript: r.figures.length > 0 ? drawScript(r.figures) : undefined,
    });
    writeFileAtomic(path.join(outDir, file), html);
    const ended = p.kind === 'chapter' ? endedAt(p.nb, p.source, when, meta.wall) : undefined;
    pages.push({
      file, kind: p.kind, title: titles[i], notebook: p.notebook, figures: r.figures.length, errorOutputs: r.errorOutputs, mode: meta.mode,
      ranAt: when, endedAt: ended, referenceFigures: fullScale,
    });
  });

  const manifest = options.playground === false ? null : readManifest();
  const playground = manifest ? await writePlaygroundPage(outDir, manifest) : undefined;
  const environment = options.environment ?? doctorReport();
  const index = path.join(outDir, 'index.html');
  writeFileAtomic(index, indexPage(pages, figures.figures.map((f) => ({ id: f.id, section: f.section, title: f.title })), environment, playground !== undefined));
  return {
    outDir,
    index,
    pages,
    figurePages: figures.figures.map((f) => path.relative(outDir, f.html.file)),
    plotly: figures.plotly,
    // What a host serves: the screenshots the tests keep in the folder are not part of the book.
    bytes: bytesUnder(outDir) - (fs.existsSync(path.join(outDir, 'screenshots')) ? bytesUnder(path.join(outDir, 'screenshots')) : 0),
    playground,
  };
}

function indexPage(pages: BookPage[], figures: { id: string; section: string | null; title: string }[], environment: string, playground = false): string {
  const chapters = pages.filter((p) => p.kind === 'chapter');
  const fullScale = chapters.reduce((a, p) => a + (p.referenceFigures ?? 0), 0);
  const homework = pages.filter((p) => p.kind === 'homework');
  const modes = [...new Set(chapters.map((p) => p.mode ?? 'unrecorded'))];
  // From the first notebook's start to the last one's end (not to the last one's start).
  const starts = chapters.map((p) => p.ranAt).filter((d): d is string => !!d && !Number.isNaN(Date.parse(d))).sort((a, b) => Date.parse(a) - Date.parse(b));
  const ends = chapters.map((p) => p.endedAt).filter((d): d is string => !!d && !Number.isNaN(Date.parse(d))).sort((a, b) => Date.parse(a) - Date.parse(b));
  const dates = starts.length > 0 ? [starts[0], ends.length > 0 ? ends[ends.length - 1] : starts[starts.length - 1]] : [];
  const item = (p: BookPage): string =>
    `<li><a class="title" href="${escapeHtml(p.file)}">${escapeHtml(p.title)}</a>` +
    `<div class="meta">${p.kind === 'chapter' ? `${escapeHtml(p.mode ?? 'unrecorded')} mode · ${escapeHtml(formatDate(p.ranAt ?? ''))} · ` : ''}` +
    `${p.figures > 0 ? `${p.figures} interactive figure${p.figures === 1 ? '' : 's'} · ` : ''}<a href="${escapeHtml(p.notebook)}" download>.ipynb</a></div></li>`;
  const root = workbookRoot();
  const env = environment.split(root).join('<workbook>');
  const body =
    `<h1 id="contents">知识蒸馏的代码实战 — Knowledge distillation in code</h1>\n` +
    `<p>The chapter's notebooks, executed, with their real outputs and interactive figures. Every page works offline; ` +
    `open a notebook in Jupyter with the TypeScript (tslab) kernel to run it yourself.</p>\n` +
    `<p class="meta">Run in ${escapeHtml(modes.join(' and '))} mode` +
    (dates.length > 0 ? `, ${escapeHtml(formatDate(dates[0]))}${formatDate(dates[1]) !== formatDate(dates[0]) ? ` to ${escapeHtml(formatDate(dates[1]))}` : ''}` : '') +
    `. Rebuild with <code>npm start</code> (runs everything) or <code>npx kdlab book</code> (pages only).</p>\n` +
    (fullScale > 0 ? `<p class="meta">${fullScale} figure${fullScale === 1 ? '' : 's'} of the full-scale reference (reference/full/) shown beside the quick ones.</p>\n` : '') +
    `<h2 id="chapters">Chapters · 章节</h2>\n<ol class="chapters">\n${chapters.map(item).join('\n')}\n</ol>\n` +
    (playground
      ? `<h2 id="playground">Playground · 浏览器里的学生</h2>\n<p><a href="${PLAYGROUND_PAGE}">The distilled student in your browser</a>: ` +
        `draw a digit, move T, compare the exported models' sizes and latencies, and distil a small student live (§1.2.1–1.2.2).</p>\n`
      : '') +
    (homework.length > 0 ? `<h2 id="homework">Homework · 作业</h2>\n<ol class="chapters">\n${homework.map(item).join('\n')}\n</ol>\n` : '') +
    `<h2 id="figures">Figures · 图</h2>\n<p>${figures.length} figure${figures.length === 1 ? '' : 's'}, redrawn from the saved data: ` +
    `<a href="figures/index.html">the gallery</a>.</p>\n<ul>\n` +
    figures.map((f) => `<li>${escapeHtml(sectionLabel(f.section))} <a href="figures/${encodeURIComponent(f.id)}.html">${escapeHtml(f.title)}</a></li>`).join('\n') +
    `\n</ul>\n<h2 id="environment">Environment · 环境</h2>\n<p class="meta">What <code>kdlab doctor</code> reported when the book was built.</p>\n` +
    `<pre class="environment">${escapeHtml(env.trimEnd())}</pre>\n`;
  return shell({ title: 'Knowledge distillation workbook · 知识蒸馏的代码实战', body, plotly: false, next: pages[0] ? { href: pages[0].file, title: pages[0].title } : undefined });
}
