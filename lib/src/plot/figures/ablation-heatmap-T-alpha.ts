import { defineFigure } from '../figure';
import { fmt } from '../format';
import { type FrameLike, frameRows, isFrameLike } from '../frame';
import { OKABE_ITO, SEQUENTIAL_SCALE, UNITS, axis, baseLayout, noteAbovePlot } from '../theme';
import type { Annotation, Figure, HeatmapTrace } from '../types';
import { FigureInputError, array, num, record } from '../validate';

export const figure = defineFigure({
  id: 'ablation-heatmap-T-alpha',
  section: '3.5',
  title: 'Validation accuracy over temperature T and alpha',
  notebook: '05-evaluation-and-tuning',
  build: ablationHeatmap,
  toJson: ablationRows,
});

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
  const where = figure.id;
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
  const where = figure.id;
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
    noteAbovePlot(`★ best: T = ${fmt(temps[best.i])}, alpha = ${fmt(alphas[best.j])} (${(100 * best.v).toFixed(2)}%)`, { color: OKABE_ITO.black }),
  ];
  return {
    data: [trace],
    layout: baseLayout(figure.section, figure.title, {
      xaxis: axis(UNITS.alpha, { type: 'category' }),
      yaxis: axis(UNITS.temperature, { type: 'category' }),
      annotations,
    }),
  };
}
