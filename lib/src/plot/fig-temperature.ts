import { entropyOf, softmaxT } from '../softmax-plain';
import { FIGURE_INFO } from './catalog';
import { applyGrid } from './grid';
import { OKABE_ITO, PALETTE, SIZES, UNITS, axis, baseLayout, logAxis } from './theme';
import type { BarTrace, Figure, ScatterTrace, Trace } from './types';
import { FigureInputError, array, num, numbers, record, str } from './validate';

/*
 * Figures of notebook 01 (§2.2 soft vs hard labels, §2.4 temperature, §4.1 the worked example).
 * The builders compute softmax in float64 from the logits they are given (softmax-plain, no tfjs),
 * so the saved data stays the chapter's own numbers (logits, T) and the figure can be redrawn.
 */

export interface SoftLabelsInput {
  /** The logits z; the chapter's example is [2.0, 1.0, 0.5]. */
  logits: number[];
  /** Temperatures to compare, e.g. [1, 2, 5, 10]. */
  temperatures: number[];
  /** Names of the classes (default "class 1 (z = 2)", ...). */
  classNames?: string[];
  /** A distribution to overlay as markers, e.g. the values the chapter printed for T = 1. */
  reference?: { name: string; probabilities: number[] };
}

export function softLabelsVsT(input: SoftLabelsInput): Figure {
  const where = 'soft-labels-vs-T';
  const info = FIGURE_INFO[where];
  const r = record(input, where);
  const logits = numbers(r.logits, where, 'logits', {}, 2);
  const temps = numbers(r.temperatures, where, 'temperatures', { positive: true });
  const names = classNames(r.classNames, logits, where, (z, i) => `class ${i + 1} (z = ${fmt(z)})`);
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
  return {
    data,
    layout: baseLayout(info.section, info.title, {
      barmode: 'group',
      xaxis: axis('class (logit z)', { type: 'category' }),
      yaxis: axis(`${UNITS.probability} q = softmax(z / T)`, { range: [0, 1.08], tickformat: '.1f' }),
      legend: { title: { text: 'temperature' }, bgcolor: 'rgba(255,255,255,0.8)' },
    }),
  };
}

export interface EntropyInput {
  logits: number[];
  /** Temperatures to evaluate; drawn on a log axis, so spread them geometrically (0.25 ... 100). */
  temperatures: number[];
}

export function entropyVsT(input: EntropyInput): Figure {
  const where = 'entropy-vs-T';
  const info = FIGURE_INFO[where];
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
    layout: baseLayout(info.section, info.title, {
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

export interface DarkKnowledgeExample {
  /** The true digit. */
  label: number;
  /** The teacher's logits for this image (one per class). */
  logits: number[];
  /** Where the image sits in the test set, shown in the panel title. */
  index?: number;
}

export interface DarkKnowledgeInput {
  /** A few real digits (at most 9), each with the teacher's logits. */
  examples: DarkKnowledgeExample[];
  temperatures: number[];
  /** Default: "0" ... "9". */
  classNames?: string[];
}

/** One panel per digit, grouped bars per T, log probability axis (wrong classes hold 1e-6..1e-2). */
export function darkKnowledge(input: DarkKnowledgeInput): Figure {
  const where = 'dark-knowledge';
  const info = FIGURE_INFO[where];
  const r = record(input, where);
  const examples = array(r.examples, where, 'examples').map((e, i) => {
    const ex = record(e, where, `examples[${i}]`);
    return {
      label: num(ex.label, where, `examples[${i}].label`, { integer: true, min: 0 }),
      logits: numbers(ex.logits, where, `examples[${i}].logits`, {}, 2),
      index: ex.index === undefined ? undefined : num(ex.index, where, `examples[${i}].index`, { integer: true, min: 0 }),
    };
  });
  if (examples.length > 9) throw new FigureInputError(where, `at most 9 examples fit, got ${examples.length}.`);
  const temps = numbers(r.temperatures, where, 'temperatures', { positive: true });
  const k = examples[0].logits.length;
  examples.forEach((ex, i) => {
    if (ex.logits.length !== k) throw new FigureInputError(where, `examples[${i}].logits has ${ex.logits.length} values, expected ${k}.`);
    if (ex.label >= k) throw new FigureInputError(where, `examples[${i}].label ${ex.label} is not a class (0..${k - 1}).`);
  });
  const names = classNames(r.classNames, examples[0].logits, where, (_z, i) => String(i));
  const columns = Math.min(3, examples.length);
  const rows = Math.ceil(examples.length / columns);
  const layout = baseLayout(info.section, info.title, {
    barmode: 'group',
    bargap: 0.15,
    height: Math.max(SIZES.height, 120 + rows * 260),
    width: Math.max(SIZES.width, 120 + columns * 330),
    legend: { title: { text: 'temperature' }, bgcolor: 'rgba(255,255,255,0.8)' },
    margin: { l: 70, r: 30, t: 90, b: 70 },
  });
  const panels = applyGrid(
    layout,
    { count: examples.length, columns, yGap: rows > 1 ? 0.16 : 0 },
    () => axis(rows > 1 ? 'class' : 'class (digit)', { type: 'category', tickfont: { size: 11 } }),
    (i) => axis(i % columns === 0 ? 'teacher probability (log scale)' : '', { type: 'log', range: [-8, 0.1], dtick: 2, tickformat: '.0e' }),
    (i) => `true digit ${names[examples[i].label]}${examples[i].index === undefined ? '' : ` (test #${examples[i].index})`}`,
  );
  const data: Trace[] = [];
  examples.forEach((ex, i) => {
    temps.forEach((T, t) => {
      const p = softmaxT(ex.logits, T);
      data.push({
        type: 'bar',
        name: `T = ${fmt(T)}`,
        legendgroup: `T${t}`,
        showlegend: i === 0,
        x: names,
        // A log axis cannot show 0: clamp underflowed probabilities to the axis floor.
        y: p.map((q) => Math.max(q, 1e-8)),
        xaxis: panels[i].xref,
        yaxis: panels[i].yref,
        marker: { color: PALETTE[t % PALETTE.length] },
        hovertemplate: `T = ${fmt(T)}<br>class %{x}: %{y:.2e}<extra></extra>`,
      });
    });
  });
  return { data, layout };
}

function classNames(
  value: unknown,
  logits: readonly number[],
  where: string,
  fallback: (z: number, i: number) => string,
): string[] {
  if (value === undefined) return logits.map(fallback);
  const names = array(value, where, 'classNames').map((v, i) => str(v, where, `classNames[${i}]`));
  if (names.length !== logits.length) {
    throw new FigureInputError(where, `classNames needs ${logits.length} names, got ${names.length}.`);
  }
  return names;
}

/** Short number formatting for labels: 2, 0.5, 1.25 (no trailing zeros). */
export function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4)));
}

/** Plotly hover templates treat %{...} specially; a literal name must not inject one. */
export function escapeHover(s: string): string {
  return s.replace(/%\{/g, '%\u200b{');
}
