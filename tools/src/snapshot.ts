import * as fs from 'node:fs';
import * as path from 'node:path';

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
