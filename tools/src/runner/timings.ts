/**
 * The wall-time log of `kdlab reproduce`: build/notebooks/timings.json, one entry per executed
 * notebook (ok, failed or interrupted), appended, never rewritten in place: each append writes the
 * whole list to a temporary file and renames it over the old one, so a crash leaves the old list
 * or the new one. A full run that takes several sittings adds up from here (`kdlab reference record`).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { KdlabError, workbookRoot, writeFileAtomic } from 'kdlab/internals';

export const TIMINGS_FILE = 'timings.json';
export const TIMINGS_FORMAT = 'kdlab-timings-1';

export interface TimingEntry {
  /** File name of the notebook, e.g. 04-training-the-student.ipynb. */
  notebook: string;
  mode: string;
  /** ok, error, timeout, dead (the runner's status), refused, no kernel or interrupted (Ctrl-C). */
  status: string;
  commit: string;
  /** The work tree had uncommitted changes (outside build/). */
  dirty: boolean;
  /** ISO times of the notebook's start and end. */
  start: string;
  end: string;
  wallSeconds: number;
}

interface TimingsFile {
  format: string;
  entries: TimingEntry[];
}

/** The workbook's commit and whether its tree differs from it; "unknown" outside a git checkout. */
export function gitState(root = workbookRoot()): { commit: string; dirty: boolean } {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const status = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return { commit, dirty: status.trim() !== '' };
  } catch {
    return { commit: 'unknown', dirty: false };
  }
}

/** Every entry of the log in `dir` (oldest first); [] when there is none. */
export function readTimings(dir: string): TimingEntry[] {
  const file = path.join(dir, TIMINGS_FILE);
  if (!fs.existsSync(file)) return [];
  let value: unknown;
  try {
    value = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new KdlabError('CACHE_CORRUPT', `${file} is not valid JSON (${(err as Error).message}); move it aside and note its sittings by hand, or delete it and run again.`);
  }
  const v = value as Partial<TimingsFile> | null;
  if (!v || v.format !== TIMINGS_FORMAT || !Array.isArray(v.entries)) {
    throw new KdlabError('CACHE_CORRUPT', `${file} is not a ${TIMINGS_FORMAT} log; move it aside and run again.`);
  }
  return v.entries;
}

/** Appends one entry (atomically: the old list or the new one, never half of one). */
export function appendTiming(dir: string, entry: TimingEntry): void {
  const entries = readTimings(dir);
  entries.push(entry);
  const body: TimingsFile = { format: TIMINGS_FORMAT, entries };
  writeFileAtomic(path.join(dir, TIMINGS_FILE), `${JSON.stringify(body, null, 1)}\n`);
}
