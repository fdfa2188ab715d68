import { defineFigure } from '../figure';
import { argsort } from '../format';
import { OKABE_ITO, SIZES, axis, baseLayout, logAxis } from '../theme';
import type { Figure, ScatterTrace, Trace } from '../types';
import { num, numbers, optionalStr, record, sameLength } from '../validate';

export const figure = defineFigure({
  id: 'accuracy-vs-transfer-set-size',
  section: '1.2.3',
  title: 'Accuracy vs transfer-set size: hard labels and soft targets',
  notebook: '06-generalization',
  build: accuracyVsTransferSetSize,
});

export interface TransferSetInput {
  /** Transfer-set sizes (number of training images the student sees). */
  sizes: number[];
  /** Student accuracy in [0, 1] when trained on hard labels only. */
  hardTargets: number[];
  /** Student accuracy in [0, 1] when trained on the teacher's soft targets. */
  softTargets: number[];
  /** Standard deviations over seeds (error bars), one per size; optional. */
  hardTargetsSd?: number[];
  softTargetsSd?: number[];
  /** The teacher's accuracy, drawn as a reference line. */
  teacherAccuracy?: number;
  /** How many training images the teacher saw (its legend entry says so). */
  teacherTrainSize?: number;
  split?: string;
}

export function accuracyVsTransferSetSize(input: TransferSetInput): Figure {
  const where = figure.id;
  const r = record(input, where);
  const sizes = numbers(r.sizes, where, 'sizes', { positive: true, integer: true });
  const hard = numbers(r.hardTargets, where, 'hardTargets', { min: 0, max: 1 });
  const soft = numbers(r.softTargets, where, 'softTargets', { min: 0, max: 1 });
  sameLength(where, ['sizes', 'hardTargets'], sizes, hard);
  sameLength(where, ['sizes', 'softTargets'], sizes, soft);
  const sdOf = (key: 'hardTargetsSd' | 'softTargetsSd'): number[] | undefined => {
    if (r[key] === undefined) return undefined;
    const sd = numbers(r[key], where, key, { min: 0 });
    sameLength(where, ['sizes', key], sizes, sd);
    return sd;
  };
  const hardSd = sdOf('hardTargetsSd');
  const softSd = sdOf('softTargetsSd');
  const teacher = r.teacherAccuracy === undefined ? undefined : num(r.teacherAccuracy, where, 'teacherAccuracy', { min: 0, max: 1 });
  const teacherImages = r.teacherTrainSize === undefined ? undefined : num(r.teacherTrainSize, where, 'teacherTrainSize', { positive: true, integer: true });
  const split = optionalStr(r.split, where, 'split') ?? 'test';
  const order = argsort(sizes);
  const xs = order.map((i) => sizes[i]);
  const line = (name: string, ys: number[], color: string, symbol: string, sd?: number[]): ScatterTrace => ({
    type: 'scatter',
    mode: 'lines+markers',
    name,
    x: xs,
    y: order.map((i) => ys[i]),
    line: { color, width: SIZES.line },
    marker: { size: SIZES.marker, symbol },
    hovertemplate: `${name}<br>%{x} images: %{y:.2%}<extra></extra>`,
    ...(sd ? { error_y: { type: 'data' as const, array: order.map((i) => sd[i]), visible: true } } : {}),
  });
  const data: Trace[] = [
    line(hardSd ? 'hard labels only (mean ± sd)' : 'hard labels only', hard, OKABE_ITO.vermillion, 'circle', hardSd),
    line(softSd ? "teacher's soft targets (mean ± sd)" : "teacher's soft targets", soft, OKABE_ITO.blue, 'diamond', softSd),
  ];
  if (teacher !== undefined) {
    data.push({
      type: 'scatter',
      mode: 'lines',
      name: teacherImages === undefined ? 'teacher' : `teacher (trained on ${teacherImages.toLocaleString('en-US')} images)`,
      x: [xs[0], xs[xs.length - 1]],
      y: [teacher, teacher],
      line: { color: OKABE_ITO.black, width: 1.5, dash: 'dash' },
      hovertemplate: 'teacher: %{y:.2%}<extra></extra>',
    });
  }
  return {
    data,
    layout: baseLayout(figure.section, figure.title, {
      xaxis: logAxis('transfer-set size (images, log scale)', xs),
      yaxis: axis(`student ${split} accuracy (%)`, { tickformat: '.1%' }),
      legend: { x: 0.98, y: 0.02, xanchor: 'right', yanchor: 'bottom', bgcolor: 'rgba(255,255,255,0.8)' },
    }),
  };
}
