import { defineFigure } from '../figure';
import { baseLayout } from '../theme';
import type { Datum, Figure } from '../types';
import { array, num, optionalStr, record, str } from '../validate';

export const figure = defineFigure({
  id: 'hinton-table',
  section: null,
  title: 'Hinton et al. (2015) MNIST results beside ours',
  notebook: '07-reproducing-hinton-2015',
  build: hintonTable,
});

export interface HintonRow {
  /** E.g. "teacher: 2x1200 ReLU, dropout, jitter". */
  system: string;
  /** Test errors (of 10,000) reported by Hinton et al. 2015; null where the paper has no number. */
  paperErrors: number | null;
  /** Test errors we measured; null where not run (e.g. quick mode). */
  ourErrors: number | null;
  note?: string;
}

export interface HintonTableInput {
  rows: HintonRow[];
  /** Size of the test set (default 10000). */
  testSize?: number;
  /** "quick" or "full", shown under the table. */
  mode?: string;
}

/** A table (Plotly's table trace) with both columns and the error rate, so it exports like a figure. */
export function hintonTable(input: HintonTableInput): Figure {
  const where = figure.id;
  const r = record(input, where);
  const testSize = r.testSize === undefined ? 10000 : num(r.testSize, where, 'testSize', { positive: true, integer: true });
  const mode = optionalStr(r.mode, where, 'mode');
  const rows = array(r.rows, where, 'rows').map((row, i) => {
    const o = record(row, where, `rows[${i}]`);
    const errors = (v: unknown, name: string): number | null =>
      v === null || v === undefined ? null : num(v, where, `rows[${i}].${name}`, { min: 0, max: testSize, integer: true });
    return {
      system: str(o.system, where, `rows[${i}].system`),
      paper: errors(o.paperErrors, 'paperErrors'),
      ours: errors(o.ourErrors, 'ourErrors'),
      note: o.note === undefined ? '' : str(o.note, where, `rows[${i}].note`),
    };
  });
  const cell = (v: number | null): Datum => (v === null ? '—' : v);
  const rate = (v: number | null): Datum => (v === null ? '—' : `${((100 * v) / testSize).toFixed(2)}%`);
  const columns: Datum[][] = [
    rows.map((x) => x.system),
    rows.map((x) => cell(x.paper)),
    rows.map((x) => rate(x.paper)),
    rows.map((x) => cell(x.ours)),
    rows.map((x) => rate(x.ours)),
    rows.map((x) => x.note),
  ];
  // Plotly wraps long cells but does not grow the figure: size it for the wrapped lines, 18 px per
  // line at 13 px. Characters per line are those of the narrowest place it is drawn, the book's
  // column (about 740 px: 22 in the note column, 36 in the system column, word wrap included); the
  // wider PNG then keeps some space below the table rather than the book cutting its last row.
  const lines = (text: string, perLine: number) => Math.max(1, Math.ceil(text.length / perLine));
  const rowsHeight = rows.reduce((a, x) => a + 12 + 18 * Math.max(lines(x.note, 22), lines(x.system, 36)), 0);
  const height = Math.max(300, 70 + 56 + rowsHeight + 70);
  return {
    data: [
      {
        type: 'table',
        name: 'Hinton et al. 2015 vs this workbook',
        columnwidth: [3.2, 1.1, 1.1, 1.1, 1.1, 2.6],
        header: {
          values: ['system', 'paper: test errors', 'paper: error rate', 'ours: test errors', 'ours: error rate', 'note'],
          align: 'left',
          fill: { color: '#E8EEF4' },
          font: { size: 13 },
          height: 30,
        },
        cells: {
          values: columns,
          align: ['left', 'right', 'right', 'right', 'right', 'left'],
          fill: { color: rows.map((_, i) => (i % 2 === 0 ? '#FFFFFF' : '#F6F6F6')) },
          font: { size: 13 },
          height: 28,
        },
      },
    ],
    layout: baseLayout(figure.section, figure.title, {
      width: 980,
      height,
      margin: { l: 20, r: 20, t: 70, b: 50 },
      annotations: [
        {
          text: `errors are counts on the ${testSize.toLocaleString('en-US')} MNIST test images${mode ? `; our run: ${mode} mode` : ''}`,
          xref: 'paper',
          yref: 'paper',
          x: 0,
          y: 0,
          xanchor: 'left',
          yanchor: 'top',
          showarrow: false,
          font: { size: 12, color: '#555555' },
        },
      ],
    }),
  };
}
