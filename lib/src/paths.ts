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
export function cacheDir(): string {
  return process.env.KDLAB_CACHE_DIR ?? path.join(workbookRoot(), '.cache');
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

/** Relative path -> "size:mtime:kind" of everything under `dir` (empty when it does not exist). */
export type DirSnapshot = Map<string, string>;

/** A cheap picture of a folder, to tell afterwards which files appeared or changed. */
export function snapshotDir(dir: string): DirSnapshot {
  const snap: DirSnapshot = new Map();
  const walk = (d: string, rel: string): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const full = path.join(d, e.name);
      const r = rel ? `${rel}/${e.name}` : e.name;
      let st: fs.Stats;
      try {
        st = fs.lstatSync(full);
      } catch {
        continue; // removed meanwhile
      }
      snap.set(r, `${st.size}:${st.mtimeMs}:${e.isDirectory() ? 'd' : e.isSymbolicLink() ? 'l' : 'f'}`);
      if (e.isDirectory()) walk(full, r);
    }
  };
  walk(dir, '');
  return snap;
}
