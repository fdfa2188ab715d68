import { defineFigure } from '../figure';
import { argsort, fmt } from '../format';
import { OKABE_ITO, SIZES, UNITS, axis, baseLayout, logAxis } from '../theme';
import type { Figure } from '../types';
import { FigureInputError, num, numbers, optionalStr, record, sameLength } from '../validate';

export const figure = defineFigure({
  id: 'kl-vs-mse-high-T',
  section: '3.3',
  title: 'At high temperature, T²·KL approaches matching logits (MSE)',
  notebook: '03-distillation-loss',
  build: klVsMseHighT,
});

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
  const where = figure.id;
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
    layout: baseLayout(figure.section, figure.title, {
      xaxis: logAxis(UNITS.temperatureLog, xs),
      yaxis: axis('loss value (nats, scaled by T²)', { rangemode: 'tozero' }),
      legend: { x: 0.98, y: 0.02, xanchor: 'right', yanchor: 'bottom', bgcolor: 'rgba(255,255,255,0.8)' },
    }),
  };
}
