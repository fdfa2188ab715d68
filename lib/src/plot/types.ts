/**
 * The small part of Plotly's figure schema the workbook uses, typed by hand.
 *
 * Why not Plotly's own typings: they pull in DOM and d3 types, are huge, and tslab type-checks every
 * notebook cell against our .d.ts with TypeScript 5.0; a few plain interfaces keep that fast and
 * keep figures plain JSON (no functions, no class instances, no undefined-only holes that matter).
 */

/** One value on an axis. `null` leaves a gap (Plotly's convention for missing data). */
export type Datum = number | string | null;

export interface Font {
  family?: string;
  size?: number;
  color?: string;
}

export interface Title {
  text: string;
  font?: Font;
  x?: number;
  xanchor?: 'auto' | 'left' | 'center' | 'right';
  standoff?: number;
}

export interface Axis {
  title?: Title;
  type?: 'linear' | 'log' | 'category';
  range?: number[];
  autorange?: boolean | 'reversed';
  rangemode?: 'normal' | 'tozero' | 'nonnegative';
  tickformat?: string;
  tickvals?: Datum[];
  ticktext?: string[];
  dtick?: number | string;
  ticks?: '' | 'outside' | 'inside';
  showgrid?: boolean;
  gridcolor?: string;
  zeroline?: boolean;
  showline?: boolean;
  linecolor?: string;
  mirror?: boolean;
  automargin?: boolean;
  domain?: number[];
  anchor?: string;
  side?: 'left' | 'right' | 'top' | 'bottom';
  overlaying?: string;
  scaleanchor?: string;
  constrain?: 'range' | 'domain';
  tickfont?: Font;
}

export interface Line {
  color?: string;
  width?: number;
  dash?: 'solid' | 'dash' | 'dot' | 'dashdot' | 'longdash';
  shape?: 'linear' | 'spline' | 'hv';
}

export interface Marker {
  color?: string | string[];
  size?: number;
  symbol?: string;
  opacity?: number;
  line?: Line;
  pattern?: { shape?: '' | '/' | '\\' | 'x' | '-' | '|' | '+' | '.' };
}

export interface ColorBar {
  title?: Title;
  tickformat?: string;
  thickness?: number;
}

/** Fields every trace type shares. */
export interface TraceBase {
  name?: string;
  showlegend?: boolean;
  legendgroup?: string;
  hovertemplate?: string;
  xaxis?: string;
  yaxis?: string;
  visible?: boolean | 'legendonly';
}

export interface ScatterTrace extends TraceBase {
  type: 'scatter';
  x: Datum[];
  y: Datum[];
  mode?: 'lines' | 'markers' | 'lines+markers' | 'text' | 'markers+text' | 'lines+markers+text';
  line?: Line;
  marker?: Marker;
  text?: string[];
  textposition?: 'top center' | 'bottom center' | 'middle right' | 'middle left' | 'top right';
  connectgaps?: boolean;
  error_y?: { type: 'data'; array: number[]; visible: boolean };
}

export interface BarTrace extends TraceBase {
  type: 'bar';
  x: Datum[];
  y: Datum[];
  orientation?: 'v' | 'h';
  marker?: Marker;
  text?: string[];
  textposition?: 'auto' | 'inside' | 'outside' | 'none';
  texttemplate?: string;
  textfont?: Font;
  insidetextanchor?: 'end' | 'middle' | 'start';
  error_x?: { type: 'data'; array: number[]; visible: boolean };
  error_y?: { type: 'data'; array: number[]; visible: boolean };
}

export interface HeatmapTrace extends TraceBase {
  type: 'heatmap';
  x: Datum[];
  y: Datum[];
  z: (number | null)[][];
  /** A named Plotly scale ('Viridis', 'Cividis', ...) or explicit [fraction, colour] stops. */
  colorscale?: string | [number, string][];
  reversescale?: boolean;
  zmin?: number;
  zmax?: number;
  showscale?: boolean;
  colorbar?: ColorBar;
  text?: string[][];
  texttemplate?: string;
  textfont?: Font;
  hoverongaps?: boolean;
  xgap?: number;
  ygap?: number;
}

export interface TableTrace {
  type: 'table';
  name?: string;
  columnwidth?: number[];
  header: { values: string[]; align?: string | string[]; fill?: { color?: string }; font?: Font; height?: number };
  /** Column-major, as Plotly wants it: cells.values[c][r]. */
  cells: { values: Datum[][]; align?: string | string[]; fill?: { color?: string | string[] }; font?: Font; height?: number };
}

export type Trace = ScatterTrace | BarTrace | HeatmapTrace | TableTrace;

export interface Annotation {
  text: string;
  x?: Datum;
  y?: Datum;
  xref?: string;
  yref?: string;
  xanchor?: 'auto' | 'left' | 'center' | 'right';
  yanchor?: 'auto' | 'top' | 'middle' | 'bottom';
  showarrow?: boolean;
  font?: Font;
  align?: 'left' | 'center' | 'right';
}

export interface Shape {
  type: 'line' | 'rect';
  x0: Datum;
  x1: Datum;
  y0: Datum;
  y1: Datum;
  xref?: string;
  yref?: string;
  line?: Line;
  fillcolor?: string;
  opacity?: number;
  layer?: 'above' | 'below';
}

export interface Legend {
  orientation?: 'v' | 'h';
  x?: number;
  y?: number;
  xanchor?: 'auto' | 'left' | 'center' | 'right';
  yanchor?: 'auto' | 'top' | 'middle' | 'bottom';
  title?: Title;
  bgcolor?: string;
}

/** One position of a slider: `method` is called with `args` (here 'restyle': new trace data). */
export interface SliderStep {
  label: string;
  method: 'restyle' | 'relayout' | 'update' | 'animate' | 'skip';
  /** Plain JSON passed to the method, e.g. [{ y: [[...]] }, [traceIndex]] for 'restyle'. */
  args: unknown[];
  value?: string;
}

/** A Plotly slider (layout.sliders): it lives in the layout, so Plotly.newPlot(data, layout) draws it. */
export interface Slider {
  active?: number;
  steps: SliderStep[];
  currentvalue?: { prefix?: string; visible?: boolean; xanchor?: 'left' | 'center' | 'right'; font?: Font };
  pad?: { t?: number; b?: number; l?: number; r?: number };
  x?: number;
  y?: number;
  len?: number;
  xanchor?: 'auto' | 'left' | 'center' | 'right';
  yanchor?: 'auto' | 'top' | 'middle' | 'bottom';
}

export interface Layout {
  title?: Title;
  font?: Font;
  width?: number;
  height?: number;
  margin?: { l?: number; r?: number; t?: number; b?: number; pad?: number };
  colorway?: string[];
  paper_bgcolor?: string;
  plot_bgcolor?: string;
  showlegend?: boolean;
  legend?: Legend;
  hovermode?: 'closest' | 'x' | 'x unified' | false;
  barmode?: 'group' | 'stack' | 'overlay' | 'relative';
  bargap?: number;
  bargroupgap?: number;
  xaxis?: Axis;
  yaxis?: Axis;
  /** Subplots: xaxis2, yaxis3, ... (Plotly names extra axes by number). */
  [axis: `xaxis${number}`]: Axis | undefined;
  [axis: `yaxis${number}`]: Axis | undefined;
  annotations?: Annotation[];
  shapes?: Shape[];
  sliders?: Slider[];
}

/** What every builder returns and show()/export take: plain JSON, ready for Plotly.newPlot. */
export interface Figure {
  data: Trace[];
  layout: Layout;
}
