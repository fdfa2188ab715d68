/**
 * One notebook as the body of a book page: markdown cells through BookMarkdown (KaTeX, anchors),
 * code cells highlighted, then every output: streams, tables and other HTML, images, errors, and
 * Plotly figures collected as JSON for the page to draw with the book's one copy of plotly.js.
 */
import type { Figure } from 'kdlab';
import { escapeHtml } from 'kdlab/internals';
import type { Cell, Notebook, Source } from '../runner/nbformat';
import type { MimeBundle, NotebookOutput } from '../runner/outputs';
import { BookMarkdown, codeBlock, renderTex, type Heading } from './markdown';

export const PLOTLY_MIME = 'application/vnd.plotly.v1+json';

export interface RenderedNotebook {
  /** The page's article HTML. */
  html: string;
  /** The first heading's text, else undefined. */
  title?: string;
  headings: Heading[];
  /** Figures to draw: div id and the Plotly JSON. */
  figures: { divId: string; figure: Figure }[];
  codeCells: number;
  errorOutputs: number;
}

function text(source: Source | undefined): string {
  if (source === undefined) return '';
  return Array.isArray(source) ? source.join('') : source;
}

// Terminal colour codes (tslab's tracebacks carry some) are dropped, not shown as garbage.
// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*[A-Za-z]/g;

function stripAnsi(s: string): string {
  return s.replace(ANSI, '');
}

/**
 * The plotly.js loader display that show() emits once per kernel (a 2 MB gzip+base64 copy): the
 * book ships plotly.js once as a file instead, so the loader output is left out.
 */
export function isPlotlyLoader(bundle: MimeBundle): boolean {
  const html = bundle['text/html'];
  return typeof html === 'string' || Array.isArray(html) ? text(html as Source).includes('kdlab-plotly-loader') : false;
}

function isFigure(value: unknown): value is Figure {
  return typeof value === 'object' && value !== null && Array.isArray((value as { data?: unknown }).data);
}

/**
 * A figure for a page column: the notebook's fixed width is dropped so Plotly sizes the plot to the
 * column (and to a phone's screen); the height is kept.
 */
function forPage(figure: Figure): Figure {
  const copy = JSON.parse(JSON.stringify(figure)) as Figure;
  const layout = copy.layout as Figure['layout'] & { autosize?: boolean };
  delete layout.width;
  layout.autosize = true;
  return copy;
}

/** The title text of a figure's layout ('' without one): how the book finds a plot's full-scale twin. */
export function figureTitle(figure: Figure): string {
  const t = (figure.layout as { title?: { text?: unknown } | string }).title;
  return typeof t === 'string' ? t : typeof t?.text === 'string' ? t.text : '';
}

export function renderNotebook(
  nb: Notebook,
  pageId: string,
  pages: ReadonlySet<string> = new Set(),
  /** HTML to put right under a plot (the full-scale figure beside the quick one); '' for none. */
  afterPlot: (figure: Figure) => string = () => '',
): RenderedNotebook {
  const md = new BookMarkdown(pages);
  const parts: string[] = [];
  const figures: RenderedNotebook['figures'] = [];
  let codeCells = 0;
  let errorOutputs = 0;

  const renderBundle = (bundle: MimeBundle, cls: string): string => {
    const plot = bundle[PLOTLY_MIME];
    if (isFigure(plot)) {
      const divId = `${pageId}-figure-${figures.length + 1}`;
      figures.push({ divId, figure: forPage(plot) });
      const height = plot.layout.height ?? 460;
      const summary = typeof bundle['text/plain'] === 'string' ? bundle['text/plain'] : '';
      return `<div class="${cls} plot"><div class="kdlab-book-plot" id="${escapeHtml(divId)}" style="min-height:${height}px" role="img" aria-label="${escapeHtml(summary)}"></div></div>\n${afterPlot(plot)}`;
    }
    for (const mime of ['image/png', 'image/jpeg', 'image/gif'] as const) {
      const data = bundle[mime];
      if (typeof data === 'string' || Array.isArray(data)) {
        const b64 = text(data as Source).replace(/\s+/g, '');
        return `<div class="${cls} image"><img alt="" src="data:${mime};base64,${b64}"></div>\n`;
      }
    }
    const svg = bundle['image/svg+xml'];
    if (typeof svg === 'string' || Array.isArray(svg)) return `<div class="${cls} image">${text(svg as Source)}</div>\n`;
    const html = bundle['text/html'];
    if (typeof html === 'string' || Array.isArray(html)) return `<div class="${cls} html">${text(html as Source)}</div>\n`;
    const markdown = bundle['text/markdown'];
    if (typeof markdown === 'string' || Array.isArray(markdown)) return `<div class="${cls} markdown">${md.render(text(markdown as Source))}</div>\n`;
    const latex = bundle['text/latex'];
    if (typeof latex === 'string' || Array.isArray(latex)) {
      const tex = text(latex as Source).trim().replace(/^\$\$?|\$\$?$/g, '');
      return `<div class="${cls} math-display">${renderTex(tex, true)}</div>\n`;
    }
    const plain = bundle['text/plain'];
    if (typeof plain === 'string' || Array.isArray(plain)) return `<pre class="${cls} text">${escapeHtml(stripAnsi(text(plain as Source)))}</pre>\n`;
    return '';
  };

  const renderOutput = (o: NotebookOutput): string => {
    switch (o.output_type) {
      case 'stream':
        return `<pre class="output stream ${o.name}">${escapeHtml(stripAnsi(text(o.text as Source)))}</pre>\n`;
      case 'error':
        errorOutputs += 1;
        return `<pre class="output error">${escapeHtml(stripAnsi(o.traceback.length > 0 ? o.traceback.join('\n') : `${o.ename}: ${o.evalue}`))}</pre>\n`;
      case 'display_data':
      case 'execute_result':
        if (isPlotlyLoader(o.data)) return '';
        return renderBundle(o.data, 'output');
      default:
        return '';
    }
  };

  const renderCell = (cell: Cell, index: number): string => {
    if (cell.cell_type !== 'code') {
      if (cell.cell_type === 'markdown') return `<section class="cell markdown">\n${md.render(text(cell.source))}</section>\n`;
      return `<pre class="cell raw">${escapeHtml(text(cell.source))}</pre>\n`;
    }
    codeCells += 1;
    const source = text(cell.source);
    const tags = cell.metadata.tags ?? [];
    const label = cell.execution_count === null ? '[ ]' : `[${cell.execution_count}]`;
    const outputs = cell.outputs.map(renderOutput).join('');
    const cls = ['cell', 'code', ...tags.map((t) => `tag-${t.replace(/[^A-Za-z0-9_-]/g, '')}`)].join(' ');
    return (
      `<section class="${cls}" id="cell-${escapeHtml(cell.id ?? String(index + 1))}">\n` +
      `<div class="input"><span class="prompt" aria-hidden="true">${label}</span>${codeBlock(source)}</div>\n` +
      (outputs ? `<div class="outputs">\n${outputs}</div>\n` : '') +
      `</section>\n`
    );
  };

  nb.cells.forEach((cell, i) => parts.push(renderCell(cell, i)));
  const first = md.headings[0];
  return { html: parts.join(''), title: first?.text, headings: md.headings, figures, codeCells, errorOutputs };
}
