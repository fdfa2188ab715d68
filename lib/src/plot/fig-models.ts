import { FIGURE_INFO } from './catalog';
import { fmt } from './fig-temperature';
import { applyGrid } from './grid';
import { OKABE_ITO, SIZES, UNITS, axis, baseLayout, logAxis, seriesColor } from './theme';
import type { Figure, ScatterTrace, Trace } from './types';
import { FigureInputError, array, num, numbers, optionalStr, record, sameLength, str } from './validate';

/* Figures of notebooks 02 (model sizes) and 03 (the distillation loss). */

export interface ModelStats {
  name: string;
  /** Trainable parameters. */
  params: number;
  /** Bytes of the saved weights. */
  sizeBytes: number;
  /** Inference latency in milliseconds (say for what batch in `latencyNote`). */
  latencyMs: number;
}

export interface ModelSizeInput {
  models: ModelStats[];
  /** What the latency measures, e.g. "batch of 256, wasm backend, median of 20". */
  latencyNote?: string;
}

/** Three panels (parameters, size on disk, latency), one bar per model in each. */
export function modelSizeAndLatency(input: ModelSizeInput): Figure {
  const where = 'model-size-and-latency';
  const info = FIGURE_INFO[where];
  const r = record(input, where);
  const models = array(r.models, where, 'models').map((m, i) => {
    const o = record(m, where, `models[${i}]`);
    return {
      name: str(o.name, where, `models[${i}].name`),
      params: num(o.params, where, `models[${i}].params`, { min: 0 }),
      sizeBytes: num(o.sizeBytes, where, `models[${i}].sizeBytes`, { min: 0 }),
      latencyMs: num(o.latencyMs, where, `models[${i}].latencyMs`, { min: 0 }),
    };
  });
  const note = optionalStr(r.latencyNote, where, 'latencyNote');
  const names = models.map((m) => m.name);
  const colors = names.map((n, i) => seriesColor(n, i));
  const metrics = [
    { title: 'parameters', unit: 'parameters (millions)', values: models.map((m) => m.params / 1e6), format: '.3f' },
    { title: 'size on disk', unit: 'size on disk (MB, 10⁶ bytes)', values: models.map((m) => m.sizeBytes / 1e6), format: '.2f' },
    { title: note ? `latency (${note})` : 'latency', unit: 'inference latency (ms)', values: models.map((m) => m.latencyMs), format: '.2f' },
  ];
  const layout = baseLayout(info.section, info.title, {
    width: Math.max(SIZES.width, 900),
    showlegend: false,
    margin: { l: 70, r: 30, t: 90, b: 80 },
  });
  const panels = applyGrid(
    layout,
    { count: 3, columns: 3, xGap: 0.1 },
    () => axis('model', { type: 'category' }),
    (k) => axis(metrics[k].unit, { rangemode: 'tozero' }),
    (k) => metrics[k].title,
  );
  const data: Trace[] = metrics.map((m, k) => ({
    type: 'bar',
    name: m.title,
    x: names,
    y: m.values,
    xaxis: panels[k].xref,
    yaxis: panels[k].yref,
    marker: { color: colors },
    texttemplate: `%{y:${m.format}}`,
    textposition: 'outside',
    hovertemplate: `%{x}<br>${m.unit}: %{y:${m.format}}<extra></extra>`,
  }));
  return { data, layout };
}

export interface GradScaleInput {
  temperatures: number[];
  /** Mean |∂L_soft/∂z| with the loss multiplied by T² (roughly flat in T). */
  withT2: number[];
  /** The same without the T² factor (falls like 1/T²). */
  withoutT2: number[];
  /** Mean |∂L_hard/∂z| of the student's cross-entropy at T = 1, drawn as a reference line. */
  hardLossGradient?: number;
}

export function gradScaleVsT(input: GradScaleInput): Figure {
  const where = 'grad-scale-vs-T';
  const info = FIGURE_INFO[where];
  const r = record(input, where);
  const temps = numbers(r.temperatures, where, 'temperatures', { positive: true });
  const withT2 = numbers(r.withT2, where, 'withT2', { positive: true });
  const withoutT2 = numbers(r.withoutT2, where, 'withoutT2', { positive: true });
  sameLength(where, ['temperatures', 'withT2'], temps, withT2);
  sameLength(where, ['temperatures', 'withoutT2'], temps, withoutT2);
  const hard = r.hardLossGradient === undefined ? undefined : num(r.hardLossGradient, where, 'hardLossGradient', { positive: true });
  const order = argsort(temps);
  const line = (name: string, y: number[], color: string, dash: 'solid' | 'dash'): ScatterTrace => ({
    type: 'scatter',
    mode: 'lines+markers',
    name,
    x: order.map((i) => temps[i]),
    y: order.map((i) => y[i]),
    line: { color, width: SIZES.line, dash },
    marker: { size: SIZES.marker },
    hovertemplate: `${name}<br>T = %{x}<br>%{y:.3e}<extra></extra>`,
  });
  const layout = baseLayout(info.section, info.title, {
    xaxis: logAxis(UNITS.temperatureLog, temps),
    // Over two or more decades Plotly labels every minor step; one tick per decade reads better.
    yaxis: axis('mean |∂L_soft/∂z| per logit (log scale)', {
      type: 'log',
      tickformat: '.0e',
      dtick: decades([...withT2, ...withoutT2, ...(hard === undefined ? [] : [hard])]) >= 1.3 ? 1 : undefined,
    }),
    legend: { x: 0.02, y: 0.02, xanchor: 'left', yanchor: 'bottom', bgcolor: 'rgba(255,255,255,0.8)' },
  });
  if (hard !== undefined) {
    layout.shapes = [
      { type: 'line', xref: 'paper', x0: 0, x1: 1, yref: 'y', y0: hard, y1: hard, line: { color: OKABE_ITO.black, width: 1, dash: 'dot' } },
    ];
    layout.annotations = [
      {
        text: `hard-label loss gradient (${hard.toExponential(1)})`,
        xref: 'paper',
        x: 0.98,
        yref: 'y',
        y: Math.log10(hard),
        xanchor: 'right',
        yanchor: 'bottom',
        showarrow: false,
        font: { size: 12 },
      },
    ];
  }
  return {
    data: [
      line('soft loss × T²', withT2, OKABE_ITO.blue, 'solid'),
      line('soft loss, no T² factor', withoutT2, OKABE_ITO.vermillion, 'dash'),
    ],
    layout,
  };
}

export interface KlVsMseInput {
  temperatures: number[];
  /** T² · KL(softmax(v/T) || softmax(z/T)) at each temperature. */
  klTimesT2: number[];
  /** The high-T limit, Σ(z − v)² / (2K) for zero-mean logits (Hinton et al. 2015, §2.1). */
  mseLimit: number;
  /** Legend name of the limit line. */
  mseLabel?: string;
}

export function klVsMseHighT(input: KlVsMseInput): Figure {
  const where = 'kl-vs-mse-high-T';
  const info = FIGURE_INFO[where];
  const r = record(input, where);
  const temps = numbers(r.temperatures, where, 'temperatures', { positive: true });
  const kl = numbers(r.klTimesT2, where, 'klTimesT2', { min: 0 });
  sameLength(where, ['temperatures', 'klTimesT2'], temps, kl);
  const limit = num(r.mseLimit, where, 'mseLimit', { min: 0 });
  const label = optionalStr(r.mseLabel, where, 'mseLabel') ?? 'MSE on logits, Σ(z − v)² / 2K';
  const order = argsort(temps);
  const xs = order.map((i) => temps[i]);
  if (new Set(xs).size !== xs.length) throw new FigureInputError(where, 'temperatures must not repeat.');
  return {
    data: [
      {
        type: 'scatter',
        mode: 'lines+markers',
        name: 'T² · KL(teacher ‖ student)',
        x: xs,
        y: order.map((i) => kl[i]),
        line: { color: OKABE_ITO.blue, width: SIZES.line },
        marker: { size: SIZES.marker },
        hovertemplate: 'T = %{x}<br>T²·KL = %{y:.4g}<extra></extra>',
      },
      {
        type: 'scatter',
        mode: 'lines',
        name: label,
        x: [xs[0], xs[xs.length - 1]],
        y: [limit, limit],
        line: { color: OKABE_ITO.vermillion, width: 2, dash: 'dash' },
        hovertemplate: `limit = ${fmt(limit)}<extra></extra>`,
      },
    ],
    layout: baseLayout(info.section, info.title, {
      xaxis: logAxis(UNITS.temperatureLog, xs),
      yaxis: axis('loss value (nats, scaled by T²)', { rangemode: 'tozero' }),
      legend: { x: 0.98, y: 0.02, xanchor: 'right', yanchor: 'bottom', bgcolor: 'rgba(255,255,255,0.8)' },
    }),
  };
}

function decades(values: readonly number[]): number {
  return Math.log10(Math.max(...values) / Math.min(...values));
}

export function argsort(values: readonly number[]): number[] {
  return values.map((_, i) => i).sort((a, b) => values[a] - values[b]);
}
