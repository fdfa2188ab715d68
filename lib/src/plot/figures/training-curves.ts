import { defineFigure } from '../figure';
import { escapeHover } from '../format';
import { SIZES, UNITS, axis, baseLayout, seriesColor } from '../theme';
import type { Figure, ScatterTrace } from '../types';
import { array, numbers, optionalStr, record, sameLength, str } from '../validate';

export const figure = defineFigure({
  id: 'training-curves',
  section: '3.4',
  title: 'Accuracy per epoch: teacher, student from scratch, distilled student',
  notebook: '04-training-the-student',
  build: trainingCurves,
});

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
  const where = figure.id;
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
    layout: baseLayout(figure.section, figure.title, {
      xaxis: axis(UNITS.epoch, { dtick: data.every((t) => t.x.length <= 20) ? 1 : undefined }),
      yaxis: axis(`${split} ${UNITS.accuracy}`, { tickformat: '.1%' }),
      legend: { x: 0.98, y: 0.02, xanchor: 'right', yanchor: 'bottom', bgcolor: 'rgba(255,255,255,0.8)' },
      hovermode: 'x unified',
    }),
  };
}
