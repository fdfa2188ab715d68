import * as fs from 'node:fs';
import * as path from 'node:path';
import { danfo } from '../danfo';
import { InputError } from '../errors';
import { objectiveParameters, OBJECTIVE_PARAMETERS } from '../losses';
import { objectiveName, valuesOf, type AnyRow } from './spec';

/** The grid's results file: one JSON line per finished run, appended by the parent process only. */

/**
 * Reads finished rows. A process killed mid-append can leave a partial last line: it is
 * ignored (that run simply reruns), and duplicates from any older bug are dropped.
 */
export function readRows(file: string): AnyRow[] {
  if (!fs.existsSync(file)) return [];
  const seen = new Map<string, AnyRow>();
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      const row = JSON.parse(line) as AnyRow;
      if (typeof row.key === 'string' && !seen.has(row.key)) seen.set(row.key, row);
    } catch {
      /* torn write from a killed run */
    }
  }
  return [...seen.values()];
}

/** Appends one row as one line in one write(2), then fsyncs, so a finished run survives a crash. */
export function appendRow(file: string, row: AnyRow): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  // A torn last line (no trailing newline) must not swallow the next row.
  let prefix = '';
  if (fs.existsSync(file)) {
    const size = fs.statSync(file).size;
    if (size > 0) {
      const fd = fs.openSync(file, 'r');
      const last = Buffer.alloc(1);
      fs.readSync(fd, last, 0, 1, size - 1);
      fs.closeSync(fd);
      if (last[0] !== 0x0a) prefix = '\n';
    }
  }
  const fd = fs.openSync(file, 'a');
  try {
    fs.writeSync(fd, `${prefix}${JSON.stringify(row)}\n`);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The run chosen on validation accuracy (ties: the lower hyper-parameters, in the objective
 * table's order: lower T, then lower alpha). Never on test.
 */
export function selectBest<R extends AnyRow>(rows: R[]): R {
  if (rows.length === 0) throw new InputError('EMPTY_GRID', 'selectBest: no rows (has the grid run?).');
  const tieBreak = (a: R, b: R): number => {
    const [va, vb] = [valuesOf(a), valuesOf(b)];
    for (const p of OBJECTIVE_PARAMETERS) {
      const d = Number(va[p] ?? 0) - Number(vb[p] ?? 0);
      if (d !== 0) return d;
    }
    return 0;
  };
  return [...rows].sort((a, b) => b.valAccuracy - a.valAccuracy || tieBreak(a, b))[0];
}

/**
 * Rows as flat records (hidden sizes as "800x800") for tables and CSV: one column per
 * hyper-parameter of the rows' objectives (NaN where a row's objective lacks it), and an
 * `objective` column unless every row is 'kd'.
 */
export function flattenRows(rows: readonly AnyRow[]): Array<Record<string, number | string>> {
  const names = new Set(rows.map(objectiveName));
  const params = OBJECTIVE_PARAMETERS.filter((p) => [...names].some((n) => objectiveParameters(n).includes(p)));
  const showObjective = [...names].some((n) => n !== 'kd');
  return rows.map((r) => {
    const values = valuesOf(r);
    return {
      student: r.hidden.join('x'),
      ...(showObjective ? { objective: objectiveName(r) } : {}),
      ...Object.fromEntries(params.map((p) => [p, typeof values[p] === 'number' ? (values[p] as number) : Number.NaN])),
      seed: r.seed,
      valAccuracy: r.valAccuracy,
      bestEpoch: r.bestEpoch,
      epochs: r.epochs,
      trainSize: r.trainSize ?? -1,
      params: r.params,
      seconds: r.seconds,
      key: r.key,
    };
  });
}

/**
 * Grid rows as a danfojs DataFrame (what the heatmap builder and the tables take). danfojs is
 * loaded only here, so grid workers never pay for it.
 */
export function gridFrame(rows: readonly AnyRow[]): import('danfojs-node').DataFrame {
  if (rows.length === 0) throw new InputError('EMPTY_GRID', 'gridFrame: no rows (has the grid run?).');
  return new (danfo().DataFrame)(flattenRows(rows));
}
