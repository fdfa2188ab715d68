import { entropyOf, softmaxT } from '../../softmax-plain';
import { defineFigure } from '../figure';
import { OKABE_ITO, SIZES, UNITS, axis, baseLayout, logAxis } from '../theme';
import type { Figure, ScatterTrace } from '../types';
import { numbers, record } from '../validate';

/*
 * Temperature flattens the distribution (entropy and the largest probability against T),
 * computed in float64 from the logits (softmax-plain, no tfjs).
 */

export const figure = defineFigure({
  id: 'entropy-vs-T',
  section: '2.4',
  title: 'Temperature flattens the distribution: entropy and top probability',
  notebook: '01-soft-labels-and-temperature',
  build: entropyVsT,
});

export interface EntropyInput {
  logits: number[];
  /** Temperatures to evaluate; drawn on a log axis, so spread them geometrically (0.25 ... 100). */
  temperatures: number[];
}

export function entropyVsT(input: EntropyInput): Figure {
  const where = figure.id;
  const r = record(input, where);
  const logits = numbers(r.logits, where, 'logits', {}, 2);
  const temps = numbers(r.temperatures, where, 'temperatures', { positive: true }, 2).sort((a, b) => a - b);
  const probs = temps.map((T) => softmaxT(logits, T));
  const maxEntropy = Math.log(logits.length);
  const entropy: ScatterTrace = {
    type: 'scatter',
    mode: 'lines+markers',
    name: 'entropy H(q)',
    x: temps,
    y: probs.map(entropyOf),
    line: { color: OKABE_ITO.blue, width: SIZES.line },
    marker: { size: 6 },
    hovertemplate: 'T = %{x}<br>H = %{y:.4f} nats<extra></extra>',
  };
  const top: ScatterTrace = {
    type: 'scatter',
    mode: 'lines+markers',
    name: 'largest probability max q',
    x: temps,
    y: probs.map((p) => Math.max(...p)),
    yaxis: 'y2',
    line: { color: OKABE_ITO.vermillion, width: SIZES.line, dash: 'dash' },
    marker: { size: 6, symbol: 'square' },
    hovertemplate: 'T = %{x}<br>max q = %{y:.4f}<extra></extra>',
  };
  return {
    data: [entropy, top],
    layout: baseLayout(figure.section, figure.title, {
      xaxis: logAxis(UNITS.temperatureLog, temps),
      yaxis: axis(UNITS.entropy, { range: [0, maxEntropy * 1.05] }),
      yaxis2: axis('largest probability (max over classes)', {
        overlaying: 'y',
        side: 'right',
        range: [0, 1.05],
        showgrid: false,
      }),
      legend: { orientation: 'h', x: 0, y: -0.22, bgcolor: 'rgba(255,255,255,0.8)' },
      margin: { l: 70, r: 80, t: 70, b: 110 },
      shapes: [
        {
          type: 'line',
          xref: 'paper',
          x0: 0,
          x1: 1,
          yref: 'y',
          y0: maxEntropy,
          y1: maxEntropy,
          line: { color: '#888888', width: 1, dash: 'dot' },
        },
      ],
      annotations: [
        {
          text: `uniform: ln ${logits.length} = ${maxEntropy.toFixed(3)} nats`,
          xref: 'paper',
          x: 0.01,
          yref: 'y',
          y: maxEntropy,
          xanchor: 'left',
          yanchor: 'bottom',
          showarrow: false,
          font: { size: 12, color: '#555555' },
        },
      ],
    }),
  };
}
