import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** A fresh temporary folder whose name says what it holds. */
export const tmp = (what: string): string => fs.mkdtempSync(path.join(os.tmpdir(), `kdlab-${what}-`));

/** Runs `fn` with the run store at `dir` (KDLAB_RUNS_DIR), restoring the previous one after. */
export function withStore<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const saved = process.env.KDLAB_RUNS_DIR;
  process.env.KDLAB_RUNS_DIR = dir;
  return fn().finally(() => {
    if (saved === undefined) delete process.env.KDLAB_RUNS_DIR;
    else process.env.KDLAB_RUNS_DIR = saved;
  });
}
