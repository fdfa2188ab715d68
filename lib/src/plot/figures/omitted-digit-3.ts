import { defineFigure } from '../figure';
import { escapeHover } from '../format';
import { OKABE_ITO, axis, baseLayout, seriesColor } from '../theme';
import type { BarTrace, Figure } from '../types';
import { FigureInputError, array, num, numbers, record, str } from '../validate';

export const figure = defineFigure({
  id: 'omitted-digit-3',
  section: '1.2.3',
  title: 'A student that never saw a 3: per-digit accuracy and the bias fix',
  notebook: '06-generalization',
  build: omittedDigit3,
});

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
  const where = figure.id;
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
    layout: baseLayout(figure.section, figure.title.replace('a 3', `a ${omitted}`), {
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
