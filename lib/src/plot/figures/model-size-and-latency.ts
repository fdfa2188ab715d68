import { defineFigure } from '../figure';
import { applyPanels } from '../panels';
import { SIZES, axis, baseLayout, seriesColor } from '../theme';
import type { Figure, Trace } from '../types';
import { array, num, optionalStr, record, str } from '../validate';

export const figure = defineFigure({
  id: 'model-size-and-latency',
  section: '1.2',
  title: 'Teacher and students: parameters, size on disk, latency',
  notebook: '02-teacher-and-student',
  build: modelSizeAndLatency,
});

export interface ModelStats {
  name: string;
  /** Trainable parameters. */
  params: number;
  /** Bytes of the saved weights. */
  sizeBytes: number;
  /** Inference latency in milliseconds (say for what batch in `latencyNote`). */
  latencyMs: number;
}

export interface ModelSizeInput {
  models: ModelStats[];
  /** What the latency measures, e.g. "batch of 256, wasm backend, median of 20". */
  latencyNote?: string;
}

/** Three panels (parameters, size on disk, latency), one bar per model in each. */
export function modelSizeAndLatency(input: ModelSizeInput): Figure {
  const where = figure.id;
  const r = record(input, where);
  const models = array(r.models, where, 'models').map((m, i) => {
    const o = record(m, where, `models[${i}]`);
    return {
      name: str(o.name, where, `models[${i}].name`),
      params: num(o.params, where, `models[${i}].params`, { min: 0 }),
      sizeBytes: num(o.sizeBytes, where, `models[${i}].sizeBytes`, { min: 0 }),
      latencyMs: num(o.latencyMs, where, `models[${i}].latencyMs`, { min: 0 }),
    };
  });
  const note = optionalStr(r.latencyNote, where, 'latencyNote');
  const names = models.map((m) => m.name);
  const colors = names.map((n, i) => seriesColor(n, i));
  const metrics = [
    { title: 'parameters', unit: 'parameters (millions)', values: models.map((m) => m.params / 1e6), format: '.3f' },
    { title: 'size on disk', unit: 'size on disk (MB, 10⁶ bytes)', values: models.map((m) => m.sizeBytes / 1e6), format: '.2f' },
    { title: note ? `latency (${note})` : 'latency', unit: 'inference latency (ms)', values: models.map((m) => m.latencyMs), format: '.2f' },
  ];
  const layout = baseLayout(figure.section, figure.title, {
    width: Math.max(SIZES.width, 900),
    showlegend: false,
    margin: { l: 70, r: 30, t: 90, b: 80 },
  });
  const panels = applyPanels(
    layout,
    { count: 3, columns: 3, xGap: 0.1 },
    () => axis('model', { type: 'category' }),
    (k) => axis(metrics[k].unit, { rangemode: 'tozero' }),
    (k) => metrics[k].title,
  );
  const data: Trace[] = metrics.map((m, k) => ({
    type: 'bar',
    name: m.title,
    x: names,
    y: m.values,
    xaxis: panels[k].xref,
    yaxis: panels[k].yref,
    marker: { color: colors },
    texttemplate: `%{y:${m.format}}`,
    textposition: 'outside',
    hovertemplate: `%{x}<br>${m.unit}: %{y:${m.format}}<extra></extra>`,
  }));
  return { data, layout };
}
