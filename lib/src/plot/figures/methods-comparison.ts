import { defineFigure } from '../figure';
import { OKABE_ITO, PALETTE, SIZES, axis, baseLayout } from '../theme';
import type { BarTrace, Figure } from '../types';
import { array, num, optionalStr, record, str } from '../validate';

export const figure = defineFigure({
  id: 'methods-comparison',
  section: null,
  title: 'Beyond logits: KD, MSE on logits, DKD and FitNets hints compared',
  notebook: '08-beyond-logits',
  build: methodsComparison,
});

export interface MethodResult {
  name: string;
  /** Accuracy in [0, 1]. */
  accuracy: number;
  /** Standard deviation over seeds, drawn as an error bar. */
  accuracyStd?: number;
}

export interface MethodsComparisonInput {
  methods: MethodResult[];
  /** The teacher's accuracy, drawn as a reference line. */
  teacherAccuracy?: number;
  split?: string;
}

/**
 * Horizontal bars of test ERROR (1 − accuracy): methods differ by tenths of a percent, which a
 * zero-based accuracy axis would flatten and a truncated one would exaggerate.
 */
export function methodsComparison(input: MethodsComparisonInput): Figure {
  const where = figure.id;
  const r = record(input, where);
  const split = optionalStr(r.split, where, 'split') ?? 'test';
  const methods = array(r.methods, where, 'methods').map((m, i) => {
    const o = record(m, where, `methods[${i}]`);
    return {
      name: str(o.name, where, `methods[${i}].name`),
      accuracy: num(o.accuracy, where, `methods[${i}].accuracy`, { min: 0, max: 1 }),
      std: o.accuracyStd === undefined ? undefined : num(o.accuracyStd, where, `methods[${i}].accuracyStd`, { min: 0 }),
    };
  });
  const teacher = r.teacherAccuracy === undefined ? undefined : num(r.teacherAccuracy, where, 'teacherAccuracy', { min: 0, max: 1 });
  const hasStd = methods.some((m) => m.std !== undefined);
  const bar: BarTrace = {
    type: 'bar',
    orientation: 'h',
    name: `${split} error`,
    y: methods.map((m) => m.name),
    x: methods.map((m) => 1 - m.accuracy),
    marker: { color: methods.map((_, i) => PALETTE[i % PALETTE.length]) },
    // Inside the bar: outside labels collide with error bars and clip at the axis end.
    texttemplate: '%{x:.2%}',
    textposition: 'inside',
    insidetextanchor: 'middle',
    textfont: { color: '#FFFFFF' },
    hovertemplate: `%{y}<br>${split} error %{x:.2%}<extra></extra>`,
  };
  if (hasStd) bar.error_x = { type: 'data', array: methods.map((m) => m.std ?? 0), visible: true };
  const layout = baseLayout(figure.section, figure.title, {
    showlegend: false,
    height: Math.max(SIZES.height, 140 + methods.length * 50),
    xaxis: axis(`${split} error (%, lower is better)`, { tickformat: '.1%', rangemode: 'tozero' }),
    yaxis: axis('method', { type: 'category', autorange: 'reversed' }),
    margin: { l: 70, r: 60, t: 70, b: 70 },
  });
  if (teacher !== undefined) {
    layout.shapes = [
      { type: 'line', xref: 'x', x0: 1 - teacher, x1: 1 - teacher, yref: 'paper', y0: 0, y1: 1, line: { color: OKABE_ITO.black, dash: 'dash', width: 1.5 } },
    ];
    layout.annotations = [
      { text: 'teacher', xref: 'x', x: 1 - teacher, yref: 'paper', y: 1, yanchor: 'bottom', showarrow: false, font: { size: 12 } },
    ];
  }
  return { data: [bar], layout };
}
