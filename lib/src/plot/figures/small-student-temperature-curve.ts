import { defineFigure } from '../figure';
import { argsort, fmt } from '../format';
import { OKABE_ITO, SIZES, UNITS, axis, baseLayout, logAxis } from '../theme';
import type { Figure, ScatterTrace } from '../types';
import { num, numbers, optionalStr, record, sameLength } from '../validate';

export const figure = defineFigure({
  id: 'small-student-temperature-curve',
  section: null,
  title: 'The 2×30 student: test errors vs temperature over seeds',
  notebook: '07-reproducing-hinton-2015',
  build: smallStudentTemperatureCurve,
});

export interface SmallStudentCurveInput {
  temperatures: number[];
  /** Mean test errors over the seeds at each temperature. */
  meanErrors: number[];
  /** Sample standard deviation over the seeds at each temperature (error bars). */
  sdErrors: number[];
  seeds: number;
  /** The same student on hard labels only: mean test errors over the same seeds. */
  scratchErrors?: number;
  /** The paper's best range of T for 30 units per layer, drawn as two dotted lines. */
  paperBest?: number[];
  /** E.g. "2x30 student, alpha 0.9". */
  label?: string;
}

export function smallStudentTemperatureCurve(input: SmallStudentCurveInput): Figure {
  const where = figure.id;
  const r = record(input, where);
  const temps = numbers(r.temperatures, where, 'temperatures', { positive: true });
  const mean = numbers(r.meanErrors, where, 'meanErrors', { min: 0 });
  const sd = numbers(r.sdErrors, where, 'sdErrors', { min: 0 });
  sameLength(where, ['temperatures', 'meanErrors'], temps, mean);
  sameLength(where, ['temperatures', 'sdErrors'], temps, sd);
  const seeds = num(r.seeds, where, 'seeds', { positive: true, integer: true });
  const scratch = r.scratchErrors === undefined ? undefined : num(r.scratchErrors, where, 'scratchErrors', { min: 0 });
  const band = r.paperBest === undefined ? undefined : numbers(r.paperBest, where, 'paperBest', { positive: true });
  const label = optionalStr(r.label, where, 'label') ?? 'distilled student';
  const order = argsort(temps);
  const xs = order.map((i) => temps[i]);
  const lo = Math.min(...order.map((i) => mean[i] - sd[i]), scratch ?? Infinity);
  const hi = Math.max(...order.map((i) => mean[i] + sd[i]), scratch ?? -Infinity);
  const data: ScatterTrace[] = [
    {
      type: 'scatter',
      mode: 'lines+markers',
      name: `${label} (mean ± sd, ${seeds} seeds)`,
      x: xs,
      y: order.map((i) => mean[i]),
      error_y: { type: 'data', array: order.map((i) => sd[i]), visible: true },
      line: { color: OKABE_ITO.blue, width: SIZES.line },
      marker: { size: SIZES.marker },
      hovertemplate: 'T = %{x}: %{y:.1f} test errors<extra></extra>',
    },
  ];
  if (scratch !== undefined) {
    data.push({
      type: 'scatter',
      mode: 'lines',
      name: `hard labels only: ${fmt(scratch)}`,
      x: [xs[0], xs[xs.length - 1]],
      y: [scratch, scratch],
      line: { color: OKABE_ITO.vermillion, width: 1.5, dash: 'dash' },
      hovertemplate: 'hard labels: %{y:.1f} test errors<extra></extra>',
    });
  }
  if (band && band.length === 2) {
    const pad = 0.05 * Math.max(1, hi - lo);
    data.push({
      type: 'scatter',
      mode: 'lines',
      name: `paper: best T ${fmt(band[0])}–${fmt(band[1])}`,
      x: [band[0], band[0], null, band[1], band[1]],
      y: [lo - pad, hi + pad, null, lo - pad, hi + pad],
      connectgaps: false,
      line: { color: OKABE_ITO.black, width: 1, dash: 'dot' },
      hovertemplate: 'paper: T = %{x}<extra></extra>',
    });
  }
  return {
    data,
    layout: baseLayout(figure.section, figure.title, {
      xaxis: logAxis(UNITS.temperatureLog, xs),
      yaxis: axis('test errors (of 10,000)'),
      legend: { orientation: 'h', x: 0, y: -0.22, bgcolor: 'rgba(255,255,255,0.8)' },
      margin: { l: 70, r: 30, t: 70, b: 110 },
    }),
  };
}
