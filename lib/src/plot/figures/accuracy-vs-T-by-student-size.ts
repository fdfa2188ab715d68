import { defineFigure } from '../figure';
import { argsort, escapeHover, fmt } from '../format';
import { SIZES, UNITS, axis, baseLayout, logAxis, seriesColor } from '../theme';
import type { Annotation, Figure, ScatterTrace } from '../types';
import { array, numbers, optionalStr, record, sameLength, str } from '../validate';

export const figure = defineFigure({
  id: 'accuracy-vs-T-by-student-size',
  section: '3.5',
  title: 'Validation accuracy vs temperature, by student size (best alpha per T, one seed)',
  notebook: '05-evaluation-and-tuning',
  build: accuracyVsTByStudentSize,
});

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
  const where = figure.id;
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
    layout: baseLayout(figure.section, figure.title, {
      xaxis: logAxis(UNITS.temperatureLog, data.flatMap((t) => t.x.filter((v): v is number => typeof v === 'number'))),
      yaxis: axis(`${split} ${UNITS.accuracy}`, { tickformat: '.1%' }),
      annotations,
      // Outside the plot area, right of it: inside, any corner can hide a curve (the 2×30 student's
      // low accuracies sat under the bottom-right legend).
      legend: { x: 1.02, y: 1, xanchor: 'left', yanchor: 'top', bgcolor: 'rgba(255,255,255,0)' },
      margin: { l: 70, r: 190, t: 70, b: 70 },
      width: SIZES.width + 120,
    }),
  };
}
