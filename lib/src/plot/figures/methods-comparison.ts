import { defineFigure } from '../figure';
import { applyPanels } from '../panels';
import { METHOD_COLORS, OKABE_ITO, PALETTE, SIZES, axis, baseLayout } from '../theme';
import type { Annotation, BarTrace, Figure, Shape } from '../types';
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
  /**
   * The method's key ('kd', 'dkd', …): picks its fixed colour (METHOD_COLORS), the same in every
   * panel and figure. Default: `name`.
   */
  method?: string;
  /** The pair it belongs to ('MLP', 'CNN'): one panel per pair, in order of first appearance. */
  group?: string;
}

export interface MethodsComparisonInput {
  methods: MethodResult[];
  /** The teacher's accuracy, drawn as a reference line (one panel: no groups). */
  teacherAccuracy?: number;
  /** Each group's teacher accuracy, drawn as a reference line in that group's panel. */
  teachers?: Record<string, number>;
  split?: string;
}

/** A method's colour: its fixed one (METHOD_COLORS) or, for a method it does not know, the palette's. */
function methodColor(method: string, index: number): string {
  return METHOD_COLORS[method.trim().toLowerCase()] ?? PALETTE[index % PALETTE.length];
}

/**
 * Horizontal bars of test ERROR (1 − accuracy): methods differ by tenths of a percent, which a
 * zero-based accuracy axis would flatten and a truncated one would exaggerate. With groups, one
 * panel per group side by side, each with its own teacher line; each method keeps one colour.
 */
export function methodsComparison(input: MethodsComparisonInput): Figure {
  const where = figure.id;
  const r = record(input, where);
  const split = optionalStr(r.split, where, 'split') ?? 'test';
  const methods = array(r.methods, where, 'methods').map((m, i) => {
    const o = record(m, where, `methods[${i}]`);
    const name = str(o.name, where, `methods[${i}].name`);
    return {
      name,
      accuracy: num(o.accuracy, where, `methods[${i}].accuracy`, { min: 0, max: 1 }),
      std: o.accuracyStd === undefined ? undefined : num(o.accuracyStd, where, `methods[${i}].accuracyStd`, { min: 0 }),
      method: optionalStr(o.method, where, `methods[${i}].method`) ?? name,
      group: optionalStr(o.group, where, `methods[${i}].group`),
    };
  });
  const teacher = r.teacherAccuracy === undefined ? undefined : num(r.teacherAccuracy, where, 'teacherAccuracy', { min: 0, max: 1 });
  const teachersIn = r.teachers === undefined ? {} : record(r.teachers, where, 'teachers');
  const teachers = Object.fromEntries(Object.entries(teachersIn).map(([g, a]) => [g, num(a, where, `teachers.${g}`, { min: 0, max: 1 })]));
  const grouped = methods.some((m) => m.group !== undefined);
  const groups = grouped ? [...new Set(methods.map((m) => m.group ?? ''))] : [''];
  const order = [...new Set(methods.map((m) => m.method))];
  const hasStd = methods.some((m) => m.std !== undefined);
  const rows = grouped ? new Set(methods.map((m) => m.name)).size / groups.length : methods.length;
  const layout = baseLayout(figure.section, figure.title, {
    showlegend: false,
    height: Math.max(SIZES.height, 140 + Math.ceil(rows) * 50),
    width: grouped ? Math.max(SIZES.width, 120 + groups.length * 380) : SIZES.width,
    margin: { l: 70, r: 60, t: grouped ? 90 : 70, b: 70 },
  });
  const xAxis = () => axis(`${split} error (%, lower is better)`, { tickformat: '.1%', rangemode: 'tozero' });
  const yAxis = (k: number) => axis(k === 0 ? 'method' : '', { type: 'category', autorange: 'reversed' });
  const errorPct = (a: number) => `${(100 * (1 - a)).toFixed(2)}%`;
  const panelTitle = (g: string) => (teachers[g] === undefined ? g : `${g} (dashed: teacher, ${errorPct(teachers[g])})`);
  const panels = grouped
    ? applyPanels(layout, { count: groups.length, columns: groups.length, xGap: 0.1 }, xAxis, yAxis, (k) => panelTitle(groups[k]))
    : [{ xref: 'x', yref: 'y' }];
  if (!grouped) Object.assign(layout, { xaxis: xAxis(), yaxis: yAxis(0) });
  const shapes: Shape[] = [];
  const annotations: Annotation[] = [...(layout.annotations ?? [])];
  const data = groups.map((g, k): BarTrace => {
    const own = methods.filter((m) => !grouped || m.group === g);
    const bar: BarTrace = {
      type: 'bar',
      orientation: 'h',
      name: grouped ? `${g} ${split} error` : `${split} error`,
      y: own.map((m) => m.name),
      x: own.map((m) => 1 - m.accuracy),
      marker: { color: own.map((m) => methodColor(m.method, order.indexOf(m.method))) },
      // Inside the bar: outside labels collide with error bars and clip at the axis end. The
      // teacher's line is drawn below the bars (seen between them), so it never crosses a label.
      texttemplate: '%{x:.2%}',
      textposition: 'inside',
      insidetextanchor: 'middle',
      textfont: { color: '#FFFFFF' },
      hovertemplate: `%{y}<br>${split} error %{x:.2%}<extra></extra>`,
    };
    if (k > 0) Object.assign(bar, { xaxis: panels[k].xref, yaxis: panels[k].yref });
    if (hasStd) bar.error_x = { type: 'data', array: own.map((m) => m.std ?? 0), visible: true };
    const t = grouped ? teachers[g] : teacher;
    if (t !== undefined) {
      const y = grouped ? `${panels[k].yref} domain` : 'paper';
      shapes.push({ type: 'line', xref: panels[k].xref, x0: 1 - t, x1: 1 - t, yref: y, y0: 0, y1: 1, line: { color: OKABE_ITO.black, dash: 'dash', width: 1.5 }, layer: 'below' });
      // One panel: a label above the line; panels: their titles name the teacher's error.
      if (!grouped) annotations.push({ text: 'teacher', xref: 'x', x: 1 - t, yref: 'paper', y: 1, yanchor: 'bottom', showarrow: false, font: { size: 12 } });
    }
    return bar;
  });
  if (shapes.length) layout.shapes = shapes;
  if (annotations.length) layout.annotations = annotations;
  return { data, layout };
}
