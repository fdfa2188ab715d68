import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AnyRow } from './spec';

/** A results file of notebook 08's method runs: one JSON line per finished run, appended by the parent only. */

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
