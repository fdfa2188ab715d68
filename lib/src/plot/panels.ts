import type { Annotation, Axis, Layout } from './types';

/**
 * Side-by-side panels without Plotly's subplot helper (which lives in plotly.py, not in plotly.js):
 * compute each panel's axis domains here. Panel k (0-based) uses axes "x{k+1}"/"y{k+1}",
 * written "x"/"y" for the first one as Plotly requires.
 */
export interface Panel {
  /** Trace fields: "x", "x2", ... */
  xref: string;
  yref: string;
  /** Layout keys: "xaxis", "xaxis2", ... */
  xKey: string;
  yKey: string;
}

export function panelRefs(k: number): Panel {
  const n = k === 0 ? '' : String(k + 1);
  return { xref: `x${n}`, yref: `y${n}`, xKey: `xaxis${n}`, yKey: `yaxis${n}` };
}

export interface PanelOptions {
  /** How many panels, filled row by row. */
  count: number;
  columns: number;
  /** Horizontal and vertical gaps between panels, as fractions of the plot area. */
  xGap?: number;
  yGap?: number;
}

/**
 * Writes axis pairs for `count` panels into `layout` and returns their refs. `makeX`/`makeY` give each
 * panel's axes (titles, types); domains and anchors are filled in here. Panel titles become
 * annotations centred above each panel.
 */
export function applyPanels(
  layout: Layout,
  options: PanelOptions,
  makeX: (k: number) => Axis,
  makeY: (k: number) => Axis,
  panelTitle?: (k: number) => string,
): Panel[] {
  const { count, columns } = options;
  const rows = Math.ceil(count / columns);
  const xGap = options.xGap ?? 0.08;
  const yGap = options.yGap ?? 0.16;
  const w = (1 - xGap * (columns - 1)) / columns;
  const h = (1 - yGap * (rows - 1)) / rows;
  const panels: Panel[] = [];
  const annotations: Annotation[] = layout.annotations ? [...layout.annotations] : [];
  for (let k = 0; k < count; k++) {
    const col = k % columns;
    const row = Math.floor(k / columns);
    const p = panelRefs(k);
    const x0 = col * (w + xGap);
    const y1 = 1 - row * (h + yGap);
    const xDomain = [round(x0), round(x0 + w)];
    const yDomain = [round(y1 - h), round(y1)];
    setAxis(layout, p.xKey, { ...makeX(k), domain: xDomain, anchor: p.yref });
    setAxis(layout, p.yKey, { ...makeY(k), domain: yDomain, anchor: p.xref });
    if (panelTitle) {
      annotations.push({
        text: panelTitle(k),
        x: round(x0 + w / 2),
        y: yDomain[1],
        xref: 'paper',
        yref: 'paper',
        xanchor: 'center',
        yanchor: 'bottom',
        showarrow: false,
        font: { size: 13 },
      });
    }
    panels.push(p);
  }
  if (panelTitle) layout.annotations = annotations;
  return panels;
}

function setAxis(layout: Layout, key: string, value: Axis): void {
  (layout as Record<string, unknown>)[key] = value;
}

function round(v: number): number {
  return Math.round(v * 1e6) / 1e6;
}
