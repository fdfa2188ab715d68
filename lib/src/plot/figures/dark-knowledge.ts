import { softmaxT } from '../../softmax-plain';
import { defineFigure } from '../figure';
import { classNames, fmt } from '../format';
import { applyPanels, panelRefs, type Panel } from '../panels';
import { PALETTE, SIZES, axis, baseLayout } from '../theme';
import type { Axis, Figure, Layout, Trace } from '../types';
import { FigureInputError, array, num, numbers, optionalStr, record } from '../validate';

/*
 * Soft vs hard labels: the teacher's probabilities for a few real digits at several
 * temperatures, computed in float64 from its logits (softmax-plain, no tfjs).
 */

export const figure = defineFigure({
  id: 'dark-knowledge',
  section: '2.2',
  title: "Dark knowledge: the teacher's soft labels for real digits",
  notebook: '01-soft-labels-and-temperature',
  build: darkKnowledge,
});

export interface DarkKnowledgeExample {
  /** The true digit. */
  label: number;
  /** The teacher's logits for this image (one per class). */
  logits: number[];
  /** Where the image sits in its split (see `split`), shown in the panel title. */
  index?: number;
  /** The image itself, 28 × 28 intensities in [0, 1] row by row: drawn beside its soft labels. */
  image?: number[];
}

export interface DarkKnowledgeInput {
  /** A few real digits (at most 9), each with the teacher's logits. */
  examples: DarkKnowledgeExample[];
  temperatures: number[];
  /** Default: "0" ... "9". */
  classNames?: string[];
  /** The split the images come from ("validation", "test"), named in the panel titles. */
  split?: string;
}

/** One panel per digit, grouped bars per T, log probability axis (wrong classes hold 1e-6..1e-2). */
export function darkKnowledge(input: DarkKnowledgeInput): Figure {
  const where = figure.id;
  const r = record(input, where);
  const examples = array(r.examples, where, 'examples').map((e, i) => {
    const ex = record(e, where, `examples[${i}]`);
    return {
      label: num(ex.label, where, `examples[${i}].label`, { integer: true, min: 0 }),
      logits: numbers(ex.logits, where, `examples[${i}].logits`, {}, 2),
      index: ex.index === undefined ? undefined : num(ex.index, where, `examples[${i}].index`, { integer: true, min: 0 }),
      image: ex.image === undefined ? undefined : numbers(ex.image, where, `examples[${i}].image`, { min: 0, max: 1 }, SIDE * SIDE),
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
  const split = optionalStr(r.split, where, 'split');
  examples.forEach((ex, i) => {
    if (ex.image && ex.image.length !== SIDE * SIDE) {
      throw new FigureInputError(where, `examples[${i}].image needs ${SIDE * SIDE} pixels (28 × 28), got ${ex.image.length}.`);
    }
  });
  const withImages = examples.some((ex) => ex.image !== undefined);
  const columns = Math.min(3, examples.length);
  const rows = Math.ceil(examples.length / columns);
  const layout = baseLayout(figure.section, figure.title, {
    barmode: 'group',
    bargap: 0.15,
    height: Math.max(SIZES.height, 120 + rows * 260),
    width: Math.max(SIZES.width, 120 + columns * (withImages ? 420 : 330)),
    legend: { title: { text: 'temperature' }, bgcolor: 'rgba(255,255,255,0.8)' },
    margin: { l: 70, r: 30, t: 90, b: 70 },
  });
  const panels = applyPanels(
    layout,
    { count: examples.length, columns, yGap: rows > 1 ? 0.16 : 0 },
    () => axis(rows > 1 ? 'class' : 'class (digit)', { type: 'category', tickfont: { size: 11 } }),
    (i) => axis(i % columns === 0 ? 'teacher probability (log scale)' : '', { type: 'log', range: [-8, 0.1], dtick: 2, tickformat: '.0e' }),
    (i) => `true digit ${names[examples[i].label]}${examples[i].index === undefined ? '' : ` (${split ?? 'image'} #${examples[i].index})`}`,
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
  if (withImages) addImages(data, layout, panels, examples);
  return { data, layout };
}

const SIDE = 28;

/**
 * Each digit's image in the right quarter of its panel (the bars keep the rest): a grey-scale
 * heatmap on its own pair of hidden axes, drawn with ink dark on white as the digit was written.
 */
function addImages(data: Trace[], layout: Layout, panels: Panel[], examples: { image?: number[] }[]): void {
  const axes = layout as Record<string, Axis | undefined>;
  examples.forEach((ex, i) => {
    if (!ex.image) return;
    const bars = axes[panels[i].xKey] as Axis;
    const [x0, x1] = bars.domain as number[];
    const split = x0 + 0.74 * (x1 - x0);
    bars.domain = [x0, round6(split - 0.01)];
    const imageAxes = panelRefs(examples.length + i);
    const hidden: Axis = { showgrid: false, zeroline: false, showline: false, ticks: '', tickvals: [] };
    axes[imageAxes.xKey] = { ...hidden, domain: [round6(split), x1], anchor: imageAxes.yref, range: [-0.5, SIDE - 0.5] };
    axes[imageAxes.yKey] = {
      ...hidden,
      domain: (axes[panels[i].yKey] as Axis).domain,
      anchor: imageAxes.xref,
      autorange: 'reversed',
      scaleanchor: imageAxes.xref,
      constrain: 'domain',
    };
    const image = ex.image;
    data.push({
      type: 'heatmap',
      name: `image ${i + 1}`,
      showlegend: false,
      z: Array.from({ length: SIDE }, (_, row) => image.slice(row * SIDE, (row + 1) * SIDE)),
      x: Array.from({ length: SIDE }, (_, c) => c),
      y: Array.from({ length: SIDE }, (_, c) => c),
      colorscale: [[0, '#FFFFFF'], [1, '#000000']],
      zmin: 0,
      zmax: 1,
      showscale: false,
      xaxis: imageAxes.xref,
      yaxis: imageAxes.yref,
      hovertemplate: 'pixel (%{x}, %{y}): %{z:.2f}<extra></extra>',
    });
  });
}

function round6(v: number): number {
  return Math.round(v * 1e6) / 1e6;
}
