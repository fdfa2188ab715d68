import type { Annotation, Axis, Font, Layout } from './types';

/**
 * One look for every figure of the workbook, so that a reader compares charts, not styles.
 *
 * Colours: the Okabe–Ito palette (Okabe & Ito 2008, "Color Universal Design"), distinguishable
 * under the common forms of colour blindness. Yellow comes last because it nearly vanishes on
 * white. Continuous scales use Viridis, which stays ordered in greyscale and for deuteranopes.
 */
export const OKABE_ITO = {
  black: '#000000',
  orange: '#E69F00',
  skyBlue: '#56B4E9',
  bluishGreen: '#009E73',
  yellow: '#F0E442',
  blue: '#0072B2',
  vermillion: '#D55E00',
  reddishPurple: '#CC79A7',
} as const;

/** Trace colours in the order Plotly hands them out. */
export const PALETTE: readonly string[] = [
  OKABE_ITO.blue,
  OKABE_ITO.vermillion,
  OKABE_ITO.bluishGreen,
  OKABE_ITO.orange,
  OKABE_ITO.skyBlue,
  OKABE_ITO.reddishPurple,
  OKABE_ITO.black,
  OKABE_ITO.yellow,
];

/** The same model is the same colour in every figure: teacher black, scratch orange, distilled blue. */
export const ROLE_COLORS: Readonly<Record<string, string>> = {
  teacher: OKABE_ITO.black,
  scratch: OKABE_ITO.vermillion,
  student: OKABE_ITO.vermillion,
  distilled: OKABE_ITO.blue,
  hard: OKABE_ITO.vermillion,
  soft: OKABE_ITO.blue,
};

/**
 * Notebook 08's methods, one fixed colour each, so a method has the same colour in every panel and
 * every figure whatever the order of the rows: scratch and KD as ROLE_COLORS' scratch and
 * distilled, the other five from the rest of the Okabe–Ito palette (black is the teacher's,
 * yellow does not carry white text, so cosine is a mid grey).
 */
export const METHOD_COLORS: Readonly<Record<string, string>> = {
  scratch: OKABE_ITO.vermillion,
  kd: OKABE_ITO.blue,
  'mse-logits': OKABE_ITO.bluishGreen,
  'mse-prob': OKABE_ITO.skyBlue,
  dkd: OKABE_ITO.reddishPurple,
  hint: OKABE_ITO.orange,
  cosine: '#6E6E6E',
};

export const SEQUENTIAL_SCALE = 'Viridis';

/**
 * System fonts only: figures must render offline, in notebooks and in headless Chromium, so no
 * web font is ever fetched. DejaVu/Liberation are what Debian's Chromium has.
 */
export const FONT_FAMILY = 'Arial, "Liberation Sans", "DejaVu Sans", "Helvetica Neue", sans-serif';

export const SIZES = {
  width: 760,
  height: 460,
  font: 14,
  title: 18,
  axisTitle: 15,
  line: 2.5,
  marker: 8,
} as const;

/** Axis titles always carry their unit in parentheses; "log scale" is said when it applies. */
export const UNITS = {
  temperature: 'temperature T (dimensionless)',
  temperatureLog: 'temperature T (log scale)',
  probability: 'probability',
  accuracy: 'accuracy (%)',
  epoch: 'epoch (passes over the training set)',
  entropy: 'entropy (nats)',
  alpha: 'alpha (weight of the distillation loss)',
} as const;

/** The colour for a series: a known role (teacher, scratch, distilled...) or the i-th palette colour. */
export function seriesColor(name: string, index: number): string {
  const role = ROLE_COLORS[name.trim().toLowerCase()];
  return role ?? PALETTE[index % PALETTE.length];
}

/**
 * "§4.1 Soft labels vs temperature": the chapter section leads, so a figure can be found in the
 * text; a figure beyond the chapter (section null) has its title alone.
 */
export function sectionTitle(section: string | null, title: string): string {
  return section === null ? title : `§${section} ${title}`;
}

/** "§4.1" for a chapter section, "beyond the chapter" for null: for indexes and captions. */
export function sectionLabel(section: string | null): string {
  return section === null ? 'beyond the chapter' : `§${section}`;
}

/** An axis with the workbook's styling; `title` should include the unit. */
export function axis(title: string, extra: Axis = {}): Axis {
  return {
    title: { text: title, font: { size: SIZES.axisTitle } },
    showline: true,
    linecolor: '#444444',
    ticks: 'outside',
    gridcolor: '#E5E5E5',
    zeroline: false,
    automargin: true,
    ...withoutUndefined(extra),
  };
}

/** Drops keys whose value is undefined, so optional settings leave no `key: undefined` behind. */
function withoutUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** The base layout every builder starts from. */
export function baseLayout(section: string | null, title: string, extra: Layout = {}): Layout {
  return {
    title: { text: sectionTitle(section, title), x: 0.02, xanchor: 'left', font: { size: SIZES.title } },
    font: { family: FONT_FAMILY, size: SIZES.font, color: '#222222' },
    width: SIZES.width,
    height: SIZES.height,
    margin: { l: 70, r: 30, t: 70, b: 70 },
    colorway: [...PALETTE],
    paper_bgcolor: '#FFFFFF',
    plot_bgcolor: '#FFFFFF',
    hovermode: 'closest',
    legend: { bgcolor: 'rgba(255,255,255,0.8)' },
    ...extra,
  };
}

/**
 * A log axis ticked at the data's own x values (T = 1, 2, 5, 20...): over a decade or two Plotly's
 * default log ticks label every minor step ("5 6 7 8 9"), which reads as noise.
 */
export function logAxis(title: string, values: readonly number[], extra: Axis = {}): Axis {
  const ticks = [...new Set(values)].sort((a, b) => a - b);
  const base = axis(title, { type: 'log', ...extra });
  if (ticks.length === 0 || ticks.length > 12) return base;
  return { ...base, tickvals: ticks, ticktext: ticks.map(tickLabel) };
}

function tickLabel(v: number): string {
  if (v >= 1e4 && Number.isInteger(v)) return v.toLocaleString('en-US');
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(3)));
}

/** A one-line note just above the plot area, left-aligned (the best cell, an overall accuracy). */
export function noteAbovePlot(text: string, font: Font = {}): Annotation {
  return { text, xref: 'paper', yref: 'paper', x: 0, y: 1.02, xanchor: 'left', yanchor: 'bottom', showarrow: false, font: { size: 12, ...font } };
}
