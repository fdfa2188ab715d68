import { softmaxT } from '../../softmax-plain';
import { defineFigure } from '../figure';
import { classNames, escapeHover, fmt } from '../format';
import { OKABE_ITO, PALETTE, SIZES, UNITS, axis, baseLayout } from '../theme';
import type { BarTrace, Figure, Layout, ScatterTrace, Trace } from '../types';
import { FigureInputError, numbers, record, str } from '../validate';

/*
 * The chapter's worked example: softmax(v / T) of three logits, one bar group per temperature. The builder
 * computes softmax in float64 from the logits it is given (softmax-plain, no tfjs), so the saved data
 * stays the chapter's own numbers (logits, T) and the figure can be redrawn.
 */

export const figure = defineFigure({
  id: 'soft-labels-vs-T',
  section: '4.1',
  title: 'Soft labels of logits [2.0, 1.0, 0.5] at several temperatures',
  notebook: '01-soft-labels-and-temperature',
  build: softLabelsVsT,
});

export interface SoftLabelsInput {
  /** The teacher's logits v; the chapter's example is [2.0, 1.0, 0.5]. */
  logits: number[];
  /** Temperatures to compare, e.g. [1, 2, 5, 10]. */
  temperatures: number[];
  /** Names of the classes (default "class 1 (v = 2)", ...). */
  classNames?: string[];
  /** A distribution to overlay as markers, e.g. the values the chapter printed for T = 1. */
  reference?: { name: string; probabilities: number[] };
  /**
   * Temperatures for an interactive slider: one more bar trace ("T (slider)") whose bars follow
   * the slider. Each slider step carries its softmax (Plotly 'restyle'), so the slider works
   * wherever the figure is drawn: notebook, exported HTML, offline.
   */
  sliderTemperatures?: number[];
  /** Replaces the title (e.g. for a real digit's soft label); the section prefix stays. */
  title?: string;
}

export function softLabelsVsT(input: SoftLabelsInput): Figure {
  const where = figure.id;
  const r = record(input, where);
  const logits = numbers(r.logits, where, 'logits', {}, 2);
  const temps = numbers(r.temperatures, where, 'temperatures', { positive: true });
  const names = classNames(r.classNames, logits, where, (v, i) => `class ${i + 1} (v = ${fmt(v)})`);
  const data: Trace[] = temps.map((T, i): BarTrace => {
    const p = softmaxT(logits, T);
    return {
      type: 'bar',
      name: `T = ${fmt(T)}`,
      x: names,
      y: p,
      text: p.map((q) => q.toFixed(3)),
      textposition: 'outside',
      marker: { color: PALETTE[i % PALETTE.length] },
      hovertemplate: `T = ${fmt(T)}<br>%{x}: %{y:.4f}<extra></extra>`,
    };
  });
  if (r.reference !== undefined) {
    const ref = record(r.reference, where, 'reference');
    const refName = str(ref.name, where, 'reference.name');
    const refP = numbers(ref.probabilities, where, 'reference.probabilities', { min: 0, max: 1 });
    if (refP.length !== logits.length) {
      throw new FigureInputError(where, `reference.probabilities needs ${logits.length} values, got ${refP.length}.`);
    }
    const marker: ScatterTrace = {
      type: 'scatter',
      mode: 'markers',
      name: refName,
      x: names,
      y: refP,
      marker: { color: OKABE_ITO.black, symbol: 'x-thin-open', size: 14, line: { color: OKABE_ITO.black, width: 2 } },
      hovertemplate: `${escapeHover(refName)}<br>%{x}: %{y:.3f}<extra></extra>`,
    };
    data.push(marker);
  }
  const layout = baseLayout(figure.section, r.title === undefined ? figure.title : str(r.title, where, 'title'), {
    barmode: 'group',
    xaxis: axis('class (logit v)', { type: 'category' }),
    yaxis: axis(`${UNITS.probability} p = softmax(v / T)`, { range: [0, 1.08], tickformat: '.1f' }),
    legend: { title: { text: 'temperature' }, bgcolor: 'rgba(255,255,255,0.8)' },
  });
  if (r.sliderTemperatures !== undefined) {
    const sliderTs = numbers(r.sliderTemperatures, where, 'sliderTemperatures', { positive: true }, 2);
    addSlider(data, layout, logits, names, sliderTs);
  }
  return { data, layout };
}

/** Prepends the slider's bar trace and writes layout.sliders (one 'restyle' step per temperature). */
function addSlider(data: Trace[], layout: Layout, logits: number[], names: string[], temps: number[]): void {
  const sorted = [...new Set(temps)].sort((a, b) => a - b);
  const active = sorted.includes(1) ? sorted.indexOf(1) : 0;
  const at = (T: number) => softmaxT(logits, T);
  const first = at(sorted[active]);
  data.unshift({
    type: 'bar',
    name: 'T (slider)',
    x: names,
    y: first,
    text: first.map((q) => q.toFixed(3)),
    textposition: 'outside',
    marker: { color: OKABE_ITO.black, opacity: 0.85 },
    hovertemplate: 'slider T<br>%{x}: %{y:.4f}<extra></extra>',
  });
  layout.sliders = [
    {
      active,
      currentvalue: { prefix: 'T = ', visible: true, xanchor: 'left' },
      pad: { t: 55 },
      x: 0,
      len: 1,
      steps: sorted.map((T) => {
        const p = at(T);
        return { label: fmt(T), method: 'restyle', args: [{ y: [p], text: [p.map((q) => q.toFixed(3))] }, [0]] };
      }),
    },
  ];
  layout.height = (layout.height ?? SIZES.height) + 110;
  layout.margin = { ...layout.margin, b: 150 };
}
