import { defineFigure } from '../figure';
import { argsort } from '../format';
import { OKABE_ITO, SIZES, UNITS, axis, baseLayout, logAxis } from '../theme';
import type { Figure, ScatterTrace } from '../types';
import { num, numbers, record, sameLength } from '../validate';

export const figure = defineFigure({
  id: 'grad-scale-vs-T',
  section: '2.3',
  title: 'Soft-target gradients shrink as 1/T² unless the loss is scaled by T²',
  notebook: '03-distillation-loss',
  build: gradScaleVsT,
});

export interface GradScaleInput {
  temperatures: number[];
  /** Mean |∂L_soft/∂z| with the loss multiplied by T² (roughly flat in T). */
  withT2: number[];
  /** The same without the T² factor (falls like 1/T²). */
  withoutT2: number[];
  /** Mean |∂L_hard/∂z| of the student's cross-entropy at T = 1, drawn as a reference line. */
  hardLossGradient?: number;
}

export function gradScaleVsT(input: GradScaleInput): Figure {
  const where = figure.id;
  const r = record(input, where);
  const temps = numbers(r.temperatures, where, 'temperatures', { positive: true });
  const withT2 = numbers(r.withT2, where, 'withT2', { positive: true });
  const withoutT2 = numbers(r.withoutT2, where, 'withoutT2', { positive: true });
  sameLength(where, ['temperatures', 'withT2'], temps, withT2);
  sameLength(where, ['temperatures', 'withoutT2'], temps, withoutT2);
  const hard = r.hardLossGradient === undefined ? undefined : num(r.hardLossGradient, where, 'hardLossGradient', { positive: true });
  const order = argsort(temps);
  const line = (name: string, y: number[], color: string, dash: 'solid' | 'dash'): ScatterTrace => ({
    type: 'scatter',
    mode: 'lines+markers',
    name,
    x: order.map((i) => temps[i]),
    y: order.map((i) => y[i]),
    line: { color, width: SIZES.line, dash },
    marker: { size: SIZES.marker },
    hovertemplate: `${name}<br>T = %{x}<br>%{y:.3e}<extra></extra>`,
  });
  const layout = baseLayout(figure.section, figure.title, {
    xaxis: logAxis(UNITS.temperatureLog, temps),
    // Over two or more decades Plotly labels every minor step; one tick per decade reads better.
    yaxis: axis('mean |∂L_soft/∂z| per logit (log scale)', {
      type: 'log',
      tickformat: '.0e',
      dtick: decades([...withT2, ...withoutT2, ...(hard === undefined ? [] : [hard])]) >= 1.3 ? 1 : undefined,
    }),
    legend: { x: 0.02, y: 0.02, xanchor: 'left', yanchor: 'bottom', bgcolor: 'rgba(255,255,255,0.8)' },
  });
  if (hard !== undefined) {
    layout.shapes = [
      { type: 'line', xref: 'paper', x0: 0, x1: 1, yref: 'y', y0: hard, y1: hard, line: { color: OKABE_ITO.black, width: 1, dash: 'dot' } },
    ];
    layout.annotations = [
      {
        text: `hard-label loss gradient (${hard.toExponential(1)})`,
        xref: 'paper',
        x: 0.98,
        yref: 'y',
        y: Math.log10(hard),
        xanchor: 'right',
        yanchor: 'bottom',
        showarrow: false,
        font: { size: 12 },
      },
    ];
  }
  return {
    data: [
      line('soft loss × T²', withT2, OKABE_ITO.blue, 'solid'),
      line('soft loss, no T² factor', withoutT2, OKABE_ITO.vermillion, 'dash'),
    ],
    layout,
  };
}

function decades(values: readonly number[]): number {
  return Math.log10(Math.max(...values) / Math.min(...values));
}
