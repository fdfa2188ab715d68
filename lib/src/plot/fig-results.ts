import { FIGURE_INFO } from './catalog';
import { argsort } from './fig-models';
import { escapeHover } from './fig-temperature';
import { OKABE_ITO, PALETTE, SIZES, axis, baseLayout, logAxis, seriesColor } from './theme';
import type { BarTrace, Datum, Figure, ScatterTrace, Trace } from './types';
import { FigureInputError, array, num, numbers, optionalStr, record, sameLength, str } from './validate';

/* Figures of notebooks 06 (generalization), 07 (Hinton's table) and 08 (beyond logits). */

export interface TransferSetInput {
  /** Transfer-set sizes (number of training images the student sees). */
  sizes: number[];
  /** Student accuracy in [0, 1] when trained on hard labels only. */
  hardTargets: number[];
  /** Student accuracy in [0, 1] when trained on the teacher's soft targets. */
  softTargets: number[];
  /** The teacher's accuracy, drawn as a reference line. */
  teacherAccuracy?: number;
  split?: string;
}

export function accuracyVsTransferSetSize(input: TransferSetInput): Figure {
  const where = 'accuracy-vs-transfer-set-size';
  const info = FIGURE_INFO[where];
  const r = record(input, where);
  const sizes = numbers(r.sizes, where, 'sizes', { positive: true, integer: true });
  const hard = numbers(r.hardTargets, where, 'hardTargets', { min: 0, max: 1 });
  const soft = numbers(r.softTargets, where, 'softTargets', { min: 0, max: 1 });
  sameLength(where, ['sizes', 'hardTargets'], sizes, hard);
  sameLength(where, ['sizes', 'softTargets'], sizes, soft);
  const teacher = r.teacherAccuracy === undefined ? undefined : num(r.teacherAccuracy, where, 'teacherAccuracy', { min: 0, max: 1 });
  const split = optionalStr(r.split, where, 'split') ?? 'test';
  const order = argsort(sizes);
  const xs = order.map((i) => sizes[i]);
  const line = (name: string, ys: number[], color: string, symbol: string): ScatterTrace => ({
    type: 'scatter',
    mode: 'lines+markers',
    name,
    x: xs,
    y: order.map((i) => ys[i]),
    line: { color, width: SIZES.line },
    marker: { size: SIZES.marker, symbol },
    hovertemplate: `${name}<br>%{x} images: %{y:.2%}<extra></extra>`,
  });
  const data: Trace[] = [
    line('hard labels only', hard, OKABE_ITO.vermillion, 'circle'),
    line("teacher's soft targets", soft, OKABE_ITO.blue, 'diamond'),
  ];
  if (teacher !== undefined) {
    data.push({
      type: 'scatter',
      mode: 'lines',
      name: 'teacher (full training set)',
      x: [xs[0], xs[xs.length - 1]],
      y: [teacher, teacher],
      line: { color: OKABE_ITO.black, width: 1.5, dash: 'dash' },
      hovertemplate: 'teacher: %{y:.2%}<extra></extra>',
    });
  }
  return {
    data,
    layout: baseLayout(info.section, info.title, {
      xaxis: logAxis('transfer-set size (images, log scale)', xs),
      yaxis: axis(`student ${split} accuracy (%)`, { tickformat: '.1%' }),
      legend: { x: 0.98, y: 0.02, xanchor: 'right', yanchor: 'bottom', bgcolor: 'rgba(255,255,255,0.8)' },
    }),
  };
}

export interface PerClassResult {
  /** E.g. "distilled, no 3s in transfer set", "+ bias of 3 raised", "teacher". */
  name: string;
  /** Accuracy in [0, 1] on the test images of each digit 0..9. */
  perClassAccuracy: number[];
}

export interface OmittedDigitInput {
  models: PerClassResult[];
  /** The digit left out of the transfer set (default 3, as in Hinton et al. 2015). */
  omittedDigit?: number;
}

export function omittedDigit3(input: OmittedDigitInput): Figure {
  const where = 'omitted-digit-3';
  const info = FIGURE_INFO[where];
  const r = record(input, where);
  const omitted = r.omittedDigit === undefined ? 3 : num(r.omittedDigit, where, 'omittedDigit', { integer: true, min: 0 });
  const models = array(r.models, where, 'models').map((m, i) => {
    const o = record(m, where, `models[${i}]`);
    return {
      name: str(o.name, where, `models[${i}].name`),
      acc: numbers(o.perClassAccuracy, where, `models[${i}].perClassAccuracy`, { min: 0, max: 1 }, 2),
    };
  });
  const k = models[0].acc.length;
  models.forEach((m, i) => {
    if (m.acc.length !== k) throw new FigureInputError(where, `models[${i}].perClassAccuracy has ${m.acc.length} values, expected ${k}.`);
  });
  if (omitted >= k) throw new FigureInputError(where, `omittedDigit ${omitted} is not one of the ${k} classes.`);
  const digits = models[0].acc.map((_, d) => String(d));
  const data: BarTrace[] = models.map((m, i) => ({
    type: 'bar',
    name: m.name,
    x: digits,
    y: m.acc,
    marker: { color: seriesColor(m.name, i) },
    hovertemplate: `${escapeHover(m.name)}<br>digit %{x}: %{y:.1%}<extra></extra>`,
  }));
  return {
    data,
    layout: baseLayout(info.section, info.title.replace('a 3', `a ${omitted}`), {
      barmode: 'group',
      xaxis: axis('test digit (class)', { type: 'category' }),
      yaxis: axis('test accuracy on that digit (%)', { tickformat: '.0%', range: [0, 1.05] }),
      legend: { orientation: 'h', x: 0, y: -0.2, bgcolor: 'rgba(255,255,255,0.8)' },
      margin: { l: 70, r: 30, t: 70, b: 120 },
      shapes: [
        {
          // Category axes number their categories 0, 1, ...: a band from omitted - 0.5 to + 0.5.
          type: 'rect',
          xref: 'x',
          yref: 'paper',
          x0: omitted - 0.5,
          x1: omitted + 0.5,
          y0: 0,
          y1: 1,
          fillcolor: OKABE_ITO.yellow,
          opacity: 0.25,
          layer: 'below',
          line: { width: 0 },
        },
      ],
      annotations: [
        {
          text: `digit ${omitted} never in the transfer set`,
          xref: 'x',
          yref: 'paper',
          x: omitted,
          y: 1,
          yanchor: 'bottom',
          showarrow: false,
          font: { size: 12 },
        },
      ],
    }),
  };
}

export interface HintonRow {
  /** E.g. "teacher: 2x1200 ReLU, dropout, jitter". */
  system: string;
  /** Test errors (of 10,000) reported by Hinton et al. 2015; null where the paper has no number. */
  paperErrors: number | null;
  /** Test errors we measured; null where not run (e.g. quick mode). */
  ourErrors: number | null;
  note?: string;
}

export interface HintonTableInput {
  rows: HintonRow[];
  /** Size of the test set (default 10000). */
  testSize?: number;
  /** "quick" or "full", shown under the table. */
  mode?: string;
}

/** A table (Plotly's table trace) with both columns and the error rate, so it exports like a figure. */
export function hintonTable(input: HintonTableInput): Figure {
  const where = 'hinton-table';
  const info = FIGURE_INFO[where];
  const r = record(input, where);
  const testSize = r.testSize === undefined ? 10000 : num(r.testSize, where, 'testSize', { positive: true, integer: true });
  const mode = optionalStr(r.mode, where, 'mode');
  const rows = array(r.rows, where, 'rows').map((row, i) => {
    const o = record(row, where, `rows[${i}]`);
    const errors = (v: unknown, name: string): number | null =>
      v === null || v === undefined ? null : num(v, where, `rows[${i}].${name}`, { min: 0, max: testSize, integer: true });
    return {
      system: str(o.system, where, `rows[${i}].system`),
      paper: errors(o.paperErrors, 'paperErrors'),
      ours: errors(o.ourErrors, 'ourErrors'),
      note: o.note === undefined ? '' : str(o.note, where, `rows[${i}].note`),
    };
  });
  const cell = (v: number | null): Datum => (v === null ? '—' : v);
  const rate = (v: number | null): Datum => (v === null ? '—' : `${((100 * v) / testSize).toFixed(2)}%`);
  const columns: Datum[][] = [
    rows.map((x) => x.system),
    rows.map((x) => cell(x.paper)),
    rows.map((x) => rate(x.paper)),
    rows.map((x) => cell(x.ours)),
    rows.map((x) => rate(x.ours)),
    rows.map((x) => x.note),
  ];
  const height = Math.max(300, 170 + rows.length * 34);
  return {
    data: [
      {
        type: 'table',
        name: 'Hinton et al. 2015 vs this workbook',
        columnwidth: [3.2, 1.1, 1.1, 1.1, 1.1, 2.6],
        header: {
          values: ['system', 'paper: test errors', 'paper: error rate', 'ours: test errors', 'ours: error rate', 'note'],
          align: 'left',
          fill: { color: '#E8EEF4' },
          font: { size: 13 },
          height: 30,
        },
        cells: {
          values: columns,
          align: ['left', 'right', 'right', 'right', 'right', 'left'],
          fill: { color: rows.map((_, i) => (i % 2 === 0 ? '#FFFFFF' : '#F6F6F6')) },
          font: { size: 13 },
          height: 28,
        },
      },
    ],
    layout: baseLayout(info.section, info.title, {
      width: 980,
      height,
      margin: { l: 20, r: 20, t: 70, b: 50 },
      annotations: [
        {
          text: `errors are counts on the ${testSize.toLocaleString('en-US')} MNIST test images${mode ? `; our run: ${mode} mode` : ''}`,
          xref: 'paper',
          yref: 'paper',
          x: 0,
          y: 0,
          xanchor: 'left',
          yanchor: 'top',
          showarrow: false,
          font: { size: 12, color: '#555555' },
        },
      ],
    }),
  };
}

export interface MethodResult {
  name: string;
  /** Accuracy in [0, 1]. */
  accuracy: number;
  /** Standard deviation over seeds, drawn as an error bar. */
  accuracyStd?: number;
}

export interface MethodsComparisonInput {
  methods: MethodResult[];
  /** The teacher's accuracy, drawn as a reference line. */
  teacherAccuracy?: number;
  split?: string;
}

/**
 * Horizontal bars of test ERROR (1 − accuracy): methods differ by tenths of a percent, which a
 * zero-based accuracy axis would flatten and a truncated one would exaggerate.
 */
export function methodsComparison(input: MethodsComparisonInput): Figure {
  const where = 'methods-comparison';
  const info = FIGURE_INFO[where];
  const r = record(input, where);
  const split = optionalStr(r.split, where, 'split') ?? 'test';
  const methods = array(r.methods, where, 'methods').map((m, i) => {
    const o = record(m, where, `methods[${i}]`);
    return {
      name: str(o.name, where, `methods[${i}].name`),
      accuracy: num(o.accuracy, where, `methods[${i}].accuracy`, { min: 0, max: 1 }),
      std: o.accuracyStd === undefined ? undefined : num(o.accuracyStd, where, `methods[${i}].accuracyStd`, { min: 0 }),
    };
  });
  const teacher = r.teacherAccuracy === undefined ? undefined : num(r.teacherAccuracy, where, 'teacherAccuracy', { min: 0, max: 1 });
  const hasStd = methods.some((m) => m.std !== undefined);
  const bar: BarTrace = {
    type: 'bar',
    orientation: 'h',
    name: `${split} error`,
    y: methods.map((m) => m.name),
    x: methods.map((m) => 1 - m.accuracy),
    marker: { color: methods.map((_, i) => PALETTE[i % PALETTE.length]) },
    // Inside the bar: outside labels collide with error bars and clip at the axis end.
    texttemplate: '%{x:.2%}',
    textposition: 'inside',
    insidetextanchor: 'middle',
    textfont: { color: '#FFFFFF' },
    hovertemplate: `%{y}<br>${split} error %{x:.2%}<extra></extra>`,
  };
  if (hasStd) bar.error_x = { type: 'data', array: methods.map((m) => m.std ?? 0), visible: true };
  const layout = baseLayout(info.section, info.title, {
    showlegend: false,
    height: Math.max(SIZES.height, 140 + methods.length * 50),
    xaxis: axis(`${split} error (%, lower is better)`, { tickformat: '.1%', rangemode: 'tozero' }),
    yaxis: axis('method', { type: 'category', autorange: 'reversed' }),
    margin: { l: 70, r: 60, t: 70, b: 70 },
  });
  if (teacher !== undefined) {
    layout.shapes = [
      { type: 'line', xref: 'x', x0: 1 - teacher, x1: 1 - teacher, yref: 'paper', y0: 0, y1: 1, line: { color: OKABE_ITO.black, dash: 'dash', width: 1.5 } },
    ];
    layout.annotations = [
      { text: 'teacher', xref: 'x', x: 1 - teacher, yref: 'paper', y: 1, yanchor: 'bottom', showarrow: false, font: { size: 12 } },
    ];
  }
  return { data: [bar], layout };
}
