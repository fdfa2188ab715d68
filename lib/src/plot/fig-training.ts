import { FIGURE_INFO } from './catalog';
import { argsort } from './fig-models';
import { escapeHover, fmt } from './fig-temperature';
import { type FrameLike, frameRows, isFrameLike } from './frame';
import { OKABE_ITO, SEQUENTIAL_SCALE, SIZES, UNITS, axis, baseLayout, logAxis, seriesColor } from './theme';
import type { Annotation, Figure, HeatmapTrace, ScatterTrace } from './types';
import { FigureInputError, array, num, numbers, optionalStr, record, sameLength, str } from './validate';

/* Figures of notebooks 04 (training) and 05 (evaluation and tuning). */

export interface TrainingSeries {
  /** "teacher", "scratch" and "distilled" get fixed colours; other names take palette colours. */
  name: string;
  /** Accuracy in [0, 1] after each epoch. */
  accuracy: number[];
  /** Epoch numbers (default 1, 2, ...). */
  epochs?: number[];
}

export interface TrainingCurvesInput {
  series: TrainingSeries[];
  /** Which split the accuracy is measured on, for the axis title (default "test"). */
  split?: string;
}

export function trainingCurves(input: TrainingCurvesInput): Figure {
  const where = 'training-curves';
  const info = FIGURE_INFO[where];
  const r = record(input, where);
  const split = optionalStr(r.split, where, 'split') ?? 'test';
  const data: ScatterTrace[] = array(r.series, where, 'series').map((s, i) => {
    const o = record(s, where, `series[${i}]`);
    const name = str(o.name, where, `series[${i}].name`);
    const acc = numbers(o.accuracy, where, `series[${i}].accuracy`, { min: 0, max: 1 });
    const epochs = o.epochs === undefined ? acc.map((_, e) => e + 1) : numbers(o.epochs, where, `series[${i}].epochs`, { min: 0 });
    sameLength(where, [`series[${i}].epochs`, `series[${i}].accuracy`], epochs, acc);
    return {
      type: 'scatter',
      mode: acc.length > 30 ? 'lines' : 'lines+markers',
      name,
      x: epochs,
      y: acc,
      line: { color: seriesColor(name, i), width: SIZES.line, dash: name.toLowerCase() === 'teacher' ? 'dash' : 'solid' },
      marker: { size: 6 },
      hovertemplate: `${escapeHover(name)}<br>epoch %{x}: %{y:.2%}<extra></extra>`,
    };
  });
  return {
    data,
    layout: baseLayout(info.section, info.title, {
      xaxis: axis(UNITS.epoch, { dtick: data.every((t) => t.x.length <= 20) ? 1 : undefined }),
      yaxis: axis(`${split} ${UNITS.accuracy}`, { tickformat: '.1%' }),
      legend: { x: 0.98, y: 0.02, xanchor: 'right', yanchor: 'bottom', bgcolor: 'rgba(255,255,255,0.8)' },
      hovermode: 'x unified',
    }),
  };
}

export interface AblationRow {
  temperature: number;
  alpha: number;
  /** Validation accuracy in [0, 1]. */
  valAccuracy: number;
}

/** Rows, or a danfojs DataFrame with columns temperature, alpha, valAccuracy. */
export type AblationInput = AblationRow[] | FrameLike;

/** The rows a DataFrame or row array holds, checked; what saveFigure stores for the heatmap. */
export function ablationRows(input: AblationInput | unknown): AblationRow[] {
  const where = 'ablation-heatmap-T-alpha';
  const rows = isFrameLike(input) ? frameRows(input) : array(input, where, 'rows');
  if (isFrameLike(input)) {
    for (const c of ['temperature', 'alpha', 'valAccuracy']) {
      if (!input.columns.includes(c)) {
        throw new FigureInputError(where, `the DataFrame needs a column "${c}"; it has ${input.columns.join(', ')}.`);
      }
    }
  }
  return rows.map((row, i) => {
    const o = record(row, where, `rows[${i}]`);
    return {
      temperature: num(o.temperature, where, `rows[${i}].temperature`, { positive: true }),
      alpha: num(o.alpha, where, `rows[${i}].alpha`, { min: 0, max: 1 }),
      valAccuracy: num(o.valAccuracy, where, `rows[${i}].valAccuracy`, { min: 0, max: 1 }),
    };
  });
}

/**
 * Heatmap with alpha across (x) and T down (y), one cell per grid point. Several rows for one cell
 * (several seeds) are averaged; a cell the grid has not reached yet stays empty.
 */
export function ablationHeatmap(input: AblationInput): Figure {
  const where = 'ablation-heatmap-T-alpha';
  const info = FIGURE_INFO[where];
  const rows = ablationRows(input);
  const temps = [...new Set(rows.map((r) => r.temperature))].sort((a, b) => a - b);
  const alphas = [...new Set(rows.map((r) => r.alpha))].sort((a, b) => a - b);
  const sum = temps.map(() => alphas.map(() => 0));
  const count = temps.map(() => alphas.map(() => 0));
  for (const r of rows) {
    const i = temps.indexOf(r.temperature);
    const j = alphas.indexOf(r.alpha);
    sum[i][j] += r.valAccuracy;
    count[i][j] += 1;
  }
  const z = sum.map((row, i) => row.map((s, j) => (count[i][j] > 0 ? s / count[i][j] : null)));
  let best = { i: 0, j: 0, v: -Infinity };
  z.forEach((row, i) => row.forEach((v, j) => {
    if (v !== null && v > best.v) best = { i, j, v };
  }));
  // The best cell is starred in its own label: shapes and annotations on a category axis whose
  // labels look like numbers ("1", "4") are ambiguous between label and index in Plotly.
  const text = z.map((row, i) =>
    row.map((v, j) => (v === null ? '' : `${i === best.i && j === best.j ? '★ ' : ''}${(100 * v).toFixed(2)}%`)),
  );
  const trace: HeatmapTrace = {
    type: 'heatmap',
    name: 'validation accuracy',
    x: alphas.map(fmt),
    y: temps.map(fmt),
    z,
    colorscale: SEQUENTIAL_SCALE,
    colorbar: { title: { text: 'val. acc. (%)' }, tickformat: '.1%' },
    text,
    texttemplate: '%{text}',
    textfont: { size: 12 },
    hoverongaps: false,
    xgap: 1,
    ygap: 1,
    hovertemplate: 'T = %{y}, alpha = %{x}<br>validation accuracy %{z:.2%}<extra></extra>',
  };
  const annotations: Annotation[] = [
    {
      text: `★ best: T = ${fmt(temps[best.i])}, alpha = ${fmt(alphas[best.j])} (${(100 * best.v).toFixed(2)}%)`,
      xref: 'paper',
      yref: 'paper',
      x: 0,
      y: 1.02,
      xanchor: 'left',
      yanchor: 'bottom',
      showarrow: false,
      font: { size: 12, color: OKABE_ITO.black },
    },
  ];
  return {
    data: [trace],
    layout: baseLayout(info.section, info.title, {
      xaxis: axis(UNITS.alpha, { type: 'category' }),
      yaxis: axis(UNITS.temperature, { type: 'category' }),
      annotations,
    }),
  };
}

export interface StudentSizeSeries {
  /** E.g. "2x30 student", "2x800 student". */
  name: string;
  temperatures: number[];
  /** Accuracy in [0, 1] at each temperature. */
  accuracy: number[];
}

export interface AccuracyVsTInput {
  students: StudentSizeSeries[];
  /** Which split (default "validation"). */
  split?: string;
}

export function accuracyVsTByStudentSize(input: AccuracyVsTInput): Figure {
  const where = 'accuracy-vs-T-by-student-size';
  const info = FIGURE_INFO[where];
  const r = record(input, where);
  const split = optionalStr(r.split, where, 'split') ?? 'validation';
  const annotations: Annotation[] = [];
  const data: ScatterTrace[] = array(r.students, where, 'students').map((s, i) => {
    const o = record(s, where, `students[${i}]`);
    const name = str(o.name, where, `students[${i}].name`);
    const temps = numbers(o.temperatures, where, `students[${i}].temperatures`, { positive: true });
    const acc = numbers(o.accuracy, where, `students[${i}].accuracy`, { min: 0, max: 1 });
    sameLength(where, [`students[${i}].temperatures`, `students[${i}].accuracy`], temps, acc);
    const order = argsort(temps);
    const bestIdx = acc.indexOf(Math.max(...acc));
    const color = seriesColor(name, i);
    annotations.push({
      // Annotations on a log axis are placed by log10(x).
      text: `best T = ${fmt(temps[bestIdx])}`,
      x: Math.log10(temps[bestIdx]),
      y: acc[bestIdx],
      xref: 'x',
      yref: 'y',
      showarrow: true,
      font: { size: 12, color },
    });
    return {
      type: 'scatter',
      mode: 'lines+markers',
      name,
      x: order.map((k) => temps[k]),
      y: order.map((k) => acc[k]),
      line: { color, width: SIZES.line },
      marker: { size: SIZES.marker },
      hovertemplate: `${escapeHover(name)}<br>T = %{x}: %{y:.2%}<extra></extra>`,
    };
  });
  return {
    data,
    layout: baseLayout(info.section, info.title, {
      xaxis: logAxis(UNITS.temperatureLog, data.flatMap((t) => t.x.filter((v): v is number => typeof v === 'number'))),
      yaxis: axis(`${split} ${UNITS.accuracy}`, { tickformat: '.1%' }),
      annotations,
      legend: { x: 0.98, y: 0.02, xanchor: 'right', yanchor: 'bottom', bgcolor: 'rgba(255,255,255,0.8)' },
    }),
  };
}

export interface ConfusionInput {
  /** matrix[true][predicted] = number of test images. */
  matrix: number[][];
  /** Default "0" ... "9" (as many as rows). */
  classNames?: string[];
  /** Whose predictions, for the title (e.g. "distilled 2x800 student"). */
  modelName?: string;
}

/** Rows are the true class (top to bottom), columns the prediction; colour = share of the row. */
export function confusionMatrix(input: ConfusionInput): Figure {
  const where = 'confusion-matrix';
  const info = FIGURE_INFO[where];
  const r = record(input, where);
  const m = array(r.matrix, where, 'matrix', 2).map((row, i) => numbers(row, where, `matrix[${i}]`, { min: 0, integer: true }));
  const k = m.length;
  m.forEach((row, i) => {
    if (row.length !== k) throw new FigureInputError(where, `matrix must be square: row ${i} has ${row.length} entries, expected ${k}.`);
  });
  const names =
    r.classNames === undefined
      ? m.map((_, i) => String(i))
      : array(r.classNames, where, 'classNames').map((v, i) => str(v, where, `classNames[${i}]`));
  if (names.length !== k) throw new FigureInputError(where, `classNames needs ${k} names, got ${names.length}.`);
  const model = optionalStr(r.modelName, where, 'modelName');
  const total = m.reduce((a, row) => a + row.reduce((b, v) => b + v, 0), 0);
  const correct = m.reduce((a, row, i) => a + row[i], 0);
  // Colour by row share so a rare class's errors are as visible as a frequent one's; text keeps counts.
  const share = m.map((row) => {
    const n = row.reduce((a, b) => a + b, 0);
    return row.map((v) => (n > 0 ? v / n : 0));
  });
  const title = model ? `${info.title.replace('the distilled student', model)}` : info.title;
  return {
    data: [
      {
        type: 'heatmap',
        name: 'confusion',
        x: names,
        y: names,
        z: share,
        zmin: 0,
        zmax: 1,
        colorscale: SEQUENTIAL_SCALE,
        colorbar: { title: { text: 'share of true class' }, tickformat: '.0%' },
        text: m.map((row) => row.map(String)),
        texttemplate: '%{text}',
        textfont: { size: 11 },
        xgap: 1,
        ygap: 1,
        hovertemplate: 'true %{y}, predicted %{x}<br>%{text} images (%{z:.1%} of the row)<extra></extra>',
      },
    ],
    layout: baseLayout(info.section, title, {
      width: 640,
      height: 600,
      xaxis: axis('predicted class', { type: 'category', side: 'bottom', constrain: 'domain' }),
      yaxis: axis('true class', { type: 'category', autorange: 'reversed', scaleanchor: 'x', constrain: 'domain' }),
      annotations: [
        {
          text: `accuracy ${total > 0 ? ((100 * correct) / total).toFixed(2) : '0'}% (${correct} of ${total} images)`,
          xref: 'paper',
          yref: 'paper',
          x: 0,
          y: 1.02,
          xanchor: 'left',
          yanchor: 'bottom',
          showarrow: false,
          font: { size: 12 },
        },
      ],
    }),
  };
}
