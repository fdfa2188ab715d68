/**
 * The part of a danfojs-node DataFrame the plot code reads, typed structurally so that the library
 * never loads danfojs (and its own copy of tfjs) just to draw or print a table.
 */
export interface FrameLike {
  columns: string[];
  /** Row-major cell values, as DataFrame.values returns them. */
  values: unknown[];
}

export type Row = Record<string, unknown>;

export function isFrameLike(value: unknown): value is FrameLike {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const v = value as { columns?: unknown; values?: unknown };
  return Array.isArray(v.columns) && v.columns.every((c) => typeof c === 'string') && Array.isArray(v.values);
}

/** A DataFrame as plain rows ({column: value}); a DataFrame with one row still has values [[...]]. */
export function frameRows(frame: FrameLike): Row[] {
  return frame.values.map((row) => {
    const cells = Array.isArray(row) ? row : [row];
    const out: Row = {};
    frame.columns.forEach((c, i) => {
      out[c] = cells[i];
    });
    return out;
  });
}

/** Column names and row-major cells for either a DataFrame or an array of plain rows. */
export function tableOf(input: FrameLike | readonly Row[]): { columns: string[]; rows: unknown[][] } {
  if (isFrameLike(input)) {
    return { columns: [...input.columns], rows: input.values.map((r) => (Array.isArray(r) ? [...r] : [r])) };
  }
  const columns: string[] = [];
  for (const row of input) {
    for (const key of Object.keys(row)) if (!columns.includes(key)) columns.push(key);
  }
  return { columns, rows: input.map((row) => columns.map((c) => row[c])) };
}
