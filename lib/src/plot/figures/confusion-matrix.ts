import { defineFigure } from '../figure';
import { SEQUENTIAL_SCALE, axis, baseLayout, noteAbovePlot } from '../theme';
import type { Figure } from '../types';
import { FigureInputError, array, numbers, optionalStr, record, str } from '../validate';

export const figure = defineFigure({
  id: 'confusion-matrix',
  section: '3.5',
  title: 'Confusion matrix on the test set',
  notebook: '05-evaluation-and-tuning',
  build: confusionMatrix,
});

export interface ConfusionInput {
  /** matrix[true][predicted] = number of test images. */
  matrix: number[][];
  /** Default "0" ... "9" (as many as rows). */
  classNames?: string[];
  /** Whose predictions, shown above the plot with the accuracy (e.g. "distilled 2x800 student"). */
  modelName?: string;
}

/** Rows are the true class (top to bottom), columns the prediction; colour = share of the row. */
export function confusionMatrix(input: ConfusionInput): Figure {
  const where = figure.id;
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
    layout: baseLayout(figure.section, figure.title, {
      width: 640,
      height: 600,
      xaxis: axis('predicted class', { type: 'category', side: 'bottom', constrain: 'domain' }),
      yaxis: axis('true class', { type: 'category', autorange: 'reversed', scaleanchor: 'x', constrain: 'domain' }),
      annotations: [
        // The model's name goes here, not in the title: a long name ran past the figure's edge.
        noteAbovePlot(`${model ? `${model} · ` : ''}accuracy ${total > 0 ? ((100 * correct) / total).toFixed(2) : '0'}% (${correct} of ${total} images)`),
      ],
    }),
  };
}
