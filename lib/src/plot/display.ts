import { randomBytes } from 'node:crypto';
import { KdlabError } from '../errors';
import { escapeHtml, inlineScript, scriptJson } from './html';
import { plotlyJs, plotlyJsGzipBase64 } from './plotlyjs';
import { SIZES, axis, baseLayout, seriesColor } from './theme';
import type { Figure, ScatterTrace } from './types';

/*
 * Rich display of figures in notebooks run by the tslab kernel.
 *
 * Each figure is ONE display_data message with three representations:
 * - application/vnd.plotly.v1+json: the figure itself; JupyterLab (with its plotly renderer) and
 *   VS Code draw it natively and it survives in the saved notebook without any JavaScript.
 * - text/html: a fallback for front-ends without that renderer (classic Notebook, nbconvert HTML):
 *   a <div> plus a short script calling Plotly.newPlot. It never references a CDN.
 * - text/plain: a one-line summary for terminals and text exports.
 *
 * The HTML fallback needs plotly.js in the page. Inlining it in every figure would cost ~5 MB per
 * figure; instead the FIRST show() (or liveChart()) in a kernel process emits one separate
 * "loader" display that defines window.Plotly, and every figure script waits for it. To keep an
 * executed notebook under 5 MB the loader carries plotly.min.js gzip-compressed and base64-encoded
 * (1.97 MB instead of 4.9 MB raw, 5.0 MB JSON-escaped) and decompresses it in the browser with the
 * standard DecompressionStream. A notebook with the loader and a dozen figures stays near 2.1 MB.
 * The loader is its own display, never part of a figure's, because a live chart's display is
 * replaced by each update: a loader inside it would vanish from the saved notebook.
 */

export const PLOTLY_MIME = 'application/vnd.plotly.v1+json';

/** Mime type -> value, as in a Jupyter display_data message's `data`. */
type MimeBundle = Record<string, unknown>;

export interface FigureBundle extends Record<string, unknown> {
  'application/vnd.plotly.v1+json': Figure;
  'text/html': string;
  'text/plain': string;
}

/** Where display messages go: the tslab kernel in a notebook, or a recorder in tests. */
export interface DisplaySink {
  display(data: Record<string, unknown>, displayId?: string): void;
  update(data: Record<string, unknown>, displayId: string): void;
}

const PLOTLY_CONFIG = { displaylogo: false, responsive: true };

let divCounter = 0;

function newDivId(): string {
  divCounter += 1;
  return `kdlab-plot-${randomBytes(4).toString('hex')}-${divCounter}`;
}

export interface BundleOptions {
  /** The id of the HTML fallback's <div> (default: fresh and unique). */
  divId?: string;
  /** Inline the plotly.js loader into this bundle's HTML too, making it self-sufficient. */
  includePlotlyJs?: boolean;
}

/** The display_data bundle for a figure: plotly JSON, HTML fallback, plain-text summary. */
export function displayBundle(figure: Figure, options: BundleOptions = {}): FigureBundle {
  const plain = toPlainFigure(figure);
  const divId = options.divId ?? newDivId();
  const html = (options.includePlotlyJs ? plotlyLoaderHtml() : '') + figureHtml(plain, divId);
  return { [PLOTLY_MIME]: plain, 'text/html': html, 'text/plain': figureSummary(plain) };
}

/**
 * The HTML fallback for one figure. The script waits for window.Plotly (the loader decompresses
 * asynchronously and, in a re-opened notebook, may render after this output), up to 60 s.
 */
export function figureHtml(figure: Figure, divId: string): string {
  const height = figure.layout.height ?? SIZES.height;
  return (
    `<div id="${escapeHtml(divId)}" class="kdlab-plot" style="min-height:${height}px">` +
    `${escapeHtml(figureSummary(figure))}</div>\n` +
    `<script>(function(){var el=document.getElementById(${scriptJson(divId)});if(!el)return;` +
    `var fig=${scriptJson(figure)};var cfg=${scriptJson(PLOTLY_CONFIG)};var tries=0;` +
    `function draw(P){el.textContent="";P.newPlot(el,fig.data,fig.layout,cfg);}` +
    `function wait(){if(window.Plotly)return draw(window.Plotly);` +
    `if(window.__kdlabPlotly)return window.__kdlabPlotly.then(draw);` +
    `if(++tries>600){el.textContent="plotly.js is not loaded in this page: run the notebook again (the first figure loads it).";return;}` +
    `setTimeout(wait,100);}wait();})();</script>`
  );
}

/**
 * The once-per-kernel display that defines window.Plotly from an inline gzip+base64 copy.
 * window.__kdlabPlotly is a promise figure scripts chain on; a page that already has Plotly
 * (e.g. the same notebook re-run) skips the work.
 */
export function plotlyLoaderHtml(): string {
  const { version } = plotlyJs();
  const b64 = plotlyJsGzipBase64();
  return (
    `<div class="kdlab-plotly-loader" style="font:12px sans-serif;color:#777">` +
    `plotly.js ${escapeHtml(version)} for the figures below (offline copy, loaded once per notebook)</div>\n` +
    `<script>(function(){if(window.Plotly||window.__kdlabPlotly)return;` +
    `var b64="${b64}";` +
    `window.__kdlabPlotly=(async function(){` +
    `if(typeof DecompressionStream==="undefined")throw new Error("this browser has no DecompressionStream; open the exported figures/*.html instead");` +
    `var bin=atob(b64);var bytes=new Uint8Array(bin.length);for(var i=0;i<bin.length;i++)bytes[i]=bin.charCodeAt(i);` +
    `var code=await new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"))).text();` +
    `var s=document.createElement("script");s.text=code;document.head.appendChild(s);return window.Plotly;` +
    `})();window.__kdlabPlotly.catch(function(e){console.error("kdlab: plotly.js failed to load:",e);});` +
    `})();</script>`
  );
}

/** Short text for terminals: "§4.1 Soft labels ... [4 traces: bar; x: class; y: probability]". */
export function figureSummary(figure: Figure): string {
  const title = figure.layout.title?.text ?? 'figure';
  const types = [...new Set(figure.data.map((t) => t.type))].join(', ');
  const x = figure.layout.xaxis?.title?.text;
  const y = figure.layout.yaxis?.title?.text;
  const axes = [x ? `x: ${x}` : '', y ? `y: ${y}` : ''].filter(Boolean).join('; ');
  const n = figure.data.length;
  return `${title} [${n} trace${n === 1 ? '' : 's'}: ${types || 'none'}${axes ? `; ${axes}` : ''}]`;
}

/** A deep copy through JSON, so what is displayed cannot change if the caller mutates its arrays. */
function toPlainFigure(figure: Figure): Figure {
  return JSON.parse(JSON.stringify(figure)) as Figure;
}

// ---------------------------------------------------------------------------------------------
// The tslab kernel as a DisplaySink.

type WriteDisplayData = (
  content: { data: MimeBundle; metadata: Record<string, unknown>; transient: { display_id?: string } },
  update: boolean,
) => void;

/**
 * tslab's public `display.raw(mime, value)` sends one MIME type per message; a bundle needs the
 * function it calls underneath, `lastWriteDisplayData` in tslab/dist/jupyter.js (tslab 1.0.22),
 * which the kernel re-points at the running cell's iopub channel on every execute_request.
 * It is found in Node's module cache rather than by require('tslab/...'), so it is the copy of
 * tslab that runs the kernel even if another copy sits in node_modules.
 */
let hookModule: { lastWriteDisplayData?: unknown } | undefined;

function findWriteDisplayData(): WriteDisplayData | undefined {
  // The property is re-read on every call (tslab re-assigns it per execution); only the module is remembered.
  const known = hookModule?.lastWriteDisplayData;
  if (typeof known === 'function') return known as WriteDisplayData;
  const cache = require.cache;
  for (const file of Object.keys(cache)) {
    if (!/[\\/]tslab[\\/]dist[\\/]jupyter\.js$/.test(file)) continue;
    const exported = cache[file]?.exports as { lastWriteDisplayData?: unknown } | undefined;
    const fn = exported?.lastWriteDisplayData;
    if (typeof fn === 'function') {
      hookModule = exported;
      return fn as WriteDisplayData;
    }
  }
  return undefined;
}

const kernelSinkObject: DisplaySink = {
  display(data, displayId) {
    write(data, displayId, false);
  },
  update(data, displayId) {
    write(data, displayId, true);
  },
};

function write(data: MimeBundle, displayId: string | undefined, update: boolean): void {
  const fn = findWriteDisplayData();
  if (!fn) throw new KdlabError('DISPLAY_UNAVAILABLE', 'kdlab: the tslab kernel display hook disappeared');
  fn({ data, metadata: {}, transient: displayId ? { display_id: displayId } : {} }, update);
}

/** The tslab kernel's display channel, or undefined outside a kernel (plain node, CLI, tests). */
export function kernelSink(): DisplaySink | undefined {
  return findWriteDisplayData() ? kernelSinkObject : undefined;
}

const loaderSent = new WeakSet<DisplaySink>();

/** Emits the plotly.js loader once per sink (once per kernel process for the kernel). */
export function ensurePlotlyLoaded(sink: DisplaySink): void {
  if (loaderSent.has(sink)) return;
  sink.display({
    'text/html': plotlyLoaderHtml(),
    'text/plain': `(plotly.js ${plotlyJs().version} loaded for the figures of this notebook)`,
  });
  loaderSent.add(sink);
}

export interface ShowOptions {
  /** Where to send it; default the tslab kernel, else a text summary on stdout. */
  sink?: DisplaySink;
}

/**
 * Shows a figure in the notebook as one display_data (plotly JSON + offline HTML + text).
 * Outside a notebook it prints the one-line summary instead.
 */
export function show(figure: Figure, options: ShowOptions = {}): void {
  const sink = options.sink ?? kernelSink();
  if (!sink) {
    process.stdout.write(`${figureSummary(figure)}\n`);
    return;
  }
  ensurePlotlyLoaded(sink);
  sink.display(displayBundle(figure));
}

// ---------------------------------------------------------------------------------------------
// Live chart: one display, updated in place while a model trains.

/** One observation: `x` (e.g. epoch or step) and a value per series: {x: 3, scratch: 0.95, distilled: 0.97}. */
export interface LivePoint {
  x: number;
  [series: string]: number;
}

export interface LiveChartOptions {
  title: string;
  /** Chapter section for the title ("3.4"); omitted: no "§" prefix. */
  section?: string;
  /** Default "epoch". */
  xTitle?: string;
  /** Default "accuracy (%)". */
  yTitle?: string;
  /** Plotly tick format of the y axis (default ".1%" for accuracies; "" for raw numbers). */
  yTickFormat?: string;
  yRange?: number[];
  logY?: boolean;
  /** Series names in legend order; others are added as they first appear. */
  series?: string[];
  /** Minimum time between two updates sent to the notebook (default 500 ms). */
  throttleMs?: number;
  sink?: DisplaySink;
  /** Clock, for tests (default Date.now). */
  now?: () => number;
}

export interface LiveChart {
  /** Records a point; redraws at most once per throttle interval (the last point is never lost). */
  update(point: LivePoint): void;
  /**
   * Sends the final state now and stops. Returns nothing on purpose: tslab prints a cell's last
   * value, and `chart.close()` often ends a cell. Use figure() for the chart itself.
   */
  close(): void;
  /** The chart as it stands. */
  figure(): Figure;
  /** Points recorded and messages sent so far (updates beyond the first display). */
  readonly stats: { points: number; sends: number };
}

/**
 * A chart that updates in place (tslab display id -> update_display_data). Serialising the figure
 * costs well under a millisecond for hundreds of points, and throttling bounds it to two per
 * second, so the chart never slows training measurably.
 */
export function liveChart(options: LiveChartOptions): LiveChart {
  const sink = options.sink ?? kernelSink();
  const now = options.now ?? Date.now;
  const throttleMs = options.throttleMs ?? 500;
  const displayId = `kdlab-live-${randomBytes(6).toString('hex')}`;
  const names: string[] = [...(options.series ?? [])];
  const xs = new Map<string, number[]>();
  const ys = new Map<string, (number | null)[]>();
  const stats = { points: 0, sends: 0 };
  let lastSent = -Infinity;
  let pending = false;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let last: LivePoint | undefined;

  const build = (): Figure => {
    const title = options.section ? `§${options.section} ${options.title}` : options.title;
    const layout = baseLayout('', '', {
      xaxis: axis(options.xTitle ?? 'epoch'),
      yaxis: axis(options.yTitle ?? 'accuracy (%)', {
        tickformat: options.yTickFormat ?? '.1%',
        range: options.yRange,
        type: options.logY ? 'log' : undefined,
      }),
      legend: { x: 0.98, y: 0.02, xanchor: 'right', yanchor: 'bottom', bgcolor: 'rgba(255,255,255,0.8)' },
    });
    layout.title = { text: title, x: 0.02, xanchor: 'left', font: { size: SIZES.title } };
    const data: ScatterTrace[] = names.map((name, i) => ({
      type: 'scatter',
      mode: 'lines+markers',
      name,
      x: xs.get(name) ?? [],
      y: ys.get(name) ?? [],
      line: { color: seriesColor(name, i), width: SIZES.line },
      marker: { size: 5 },
    }));
    return { data, layout };
  };

  const flush = (): void => {
    timer = undefined;
    if (!pending || !sink) return;
    pending = false;
    lastSent = now();
    stats.sends += 1;
    sink.update(displayBundle(build(), { divId: `${displayId}-${stats.sends}` }), displayId);
  };

  if (sink) {
    ensurePlotlyLoaded(sink);
    sink.display(displayBundle(build(), { divId: `${displayId}-0` }), displayId);
  }

  return {
    stats,
    update(point: LivePoint) {
      if (closed) return;
      if (typeof point?.x !== 'number' || !Number.isFinite(point.x)) return;
      for (const [key, value] of Object.entries(point)) {
        if (key === 'x' || typeof value !== 'number') continue;
        if (!names.includes(key)) names.push(key);
        if (!xs.has(key)) {
          xs.set(key, []);
          ys.set(key, []);
        }
        xs.get(key)?.push(point.x);
        // NaN (a diverged loss) becomes a gap rather than breaking the JSON.
        ys.get(key)?.push(Number.isFinite(value) ? value : null);
      }
      stats.points += 1;
      last = point;
      pending = true;
      if (!sink) return;
      const elapsed = now() - lastSent;
      if (elapsed >= throttleMs) {
        if (timer) clearTimeout(timer);
        flush();
      } else if (!timer) {
        timer = setTimeout(flush, throttleMs - elapsed);
        // A pending redraw must not keep a script (or the CLI) alive after training returns.
        timer.unref?.();
      }
    },
    close() {
      if (timer) clearTimeout(timer);
      timer = undefined;
      if (!closed) {
        closed = true;
        if (sink) flush();
        else if (last) {
          const values = Object.entries(last)
            .filter(([k]) => k !== 'x')
            .map(([k, v]) => `${k} ${Number.isFinite(v) ? Number(v.toPrecision(4)) : v}`)
            .join(', ');
          process.stdout.write(`${options.title}: ${stats.points} points; last x = ${last.x}: ${values}\n`);
        }
      }
    },
    figure: () => toPlainFigure(build()),
  };
}
