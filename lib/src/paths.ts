import * as fs from 'node:fs';
import * as path from 'node:path';

let cachedRoot: string | undefined;

/**
 * The workbook's root folder (the one whose package.json declares the `lib` workspace).
 * The library is always used from inside the workbook, from source (tests) or from lib/dist
 * (notebooks), so we walk up from this file rather than trusting the process's cwd, which
 * Jupyter sets to the notebook's folder.
 */
export function workbookRoot(): string {
  if (cachedRoot) return cachedRoot;
  let dir = __dirname;
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg)) {
      try {
        const json = JSON.parse(fs.readFileSync(pkg, 'utf8')) as { workspaces?: unknown };
        if (Array.isArray(json.workspaces)) return (cachedRoot = dir);
      } catch {
        /* unreadable package.json: keep walking */
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) return (cachedRoot = process.cwd());
    dir = parent;
  }
}

/** Where derived, re-creatable files live (teacher logits, checksum stamps). KDLAB_CACHE_DIR overrides. */
/**
 * A path inside the workbook as printed in notebook output: relative to the workbook's root
 * (build/models/…), so executed notebooks and the book do not publish the reader's home folder.
 */
export function workbookRelative(file: string): string {
  const rel = path.relative(workbookRoot(), file);
  return rel.startsWith('..') || path.isAbsolute(rel) ? file : rel;
}

export function cacheDir(): string {
  return process.env.KDLAB_CACHE_DIR ?? path.join(workbookRoot(), '.cache');
}

/**
 * Every folder the workbook writes, in one place. Notebooks, the grid, the CLI and the tests ask
 * here instead of joining 'build' themselves, so moving an output folder is a one-line change.
 */
const WORKBOOK_DIRS = {
  /** Executed notebooks (`kdlab reproduce`). */
  notebooks: ['build', 'notebooks'],
  /** Notebook results (JSON), tables (CSV) and figure data. */
  results: ['build', 'results'],
  /** Checkpoints of trained teachers. */
  models: ['build', 'models'],
  /** The run store: one folder per trained model, named by its spec's key (lib/src/runs). */
  runs: ['build', 'runs'],
  /** Student versions of the assignments (`kdlab release`). */
  release: ['build', 'release'],
  /** Grade reports (`kdlab grade`). */
  grade: ['build', 'grade'],
  /** The executed notebooks as an offline HTML book (`kdlab book`). */
  book: ['build', 'book'],
  /** Exported figures (HTML, PNG, gallery). */
  figures: ['figures'],
  /** The full-scale run shipped as the reference (committed, not derived): results, figures, provenance. */
  reference: ['reference', 'full'],
} as const;

export type WorkbookDir = keyof typeof WORKBOOK_DIRS;

/** The absolute path of one of the workbook's output folders, with `parts` appended. */
export function workbookDir(which: WorkbookDir, ...parts: string[]): string {
  return path.join(workbookRoot(), ...WORKBOOK_DIRS[which], ...parts);
}

/** build/results, or `resultsDir` (relative to the workbook root) when given. */
export function resultsDir(resultsDirOption?: string): string {
  return resultsDirOption === undefined ? workbookDir('results') : path.resolve(workbookRoot(), resultsDirOption);
}

/** Where saveFigure keeps each figure's data: <results>/figures. */
export function figureDataDir(resultsDirOption?: string): string {
  return path.join(resultsDir(resultsDirOption), 'figures');
}

/** The run store (lib/src/runs/store.ts): one folder per run key; KDLAB_RUNS_DIR overrides build/runs/. */
export function runsRoot(): string {
  return process.env.KDLAB_RUNS_DIR ?? workbookDir('runs');
}

export const runDir = (key: string): string => path.join(runsRoot(), key);

/**
 * The keys of the runs notebook `name` used (trained or read back) in its last execution, written
 * by its finish(): <results>/runs/<name>.json. `kdlab reference record` copies those runs.
 */
export function usedRunsFile(results: string, name: string): string {
  return path.join(results, 'runs', `${name}.json`);
}

/** Writes a file atomically: a crash leaves either the old file or the new one, never half of one. */
export function writeFileAtomic(file: string, data: string | NodeJS.ArrayBufferView): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  try {
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

