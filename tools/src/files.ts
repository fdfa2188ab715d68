import * as fs from 'node:fs';
import * as path from 'node:path';

/** Bytes of every file under `dir`, recursively (for the sizes the book and the reference print). */
export function bytesUnder(dir: string): number {
  let total = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, e.name);
    total += e.isDirectory() ? bytesUnder(full) : fs.statSync(full).size;
  }
  return total;
}

/** Largest file the repository keeps (its checks refuse files over 5 MB). */
export const MAX_COMMITTED_BYTES = 4 * 1024 * 1024;
const PART = /^(.+)\.part-(\d{3})$/;

/**
 * Splits every file under `dir` larger than `maxBytes` into `<name>.part-000`, `.part-001`, …
 * of at most `maxBytes` each, so a teacher's weights can be committed; joinParts undoes it.
 */
export function splitLargeFiles(dir: string, maxBytes = MAX_COMMITTED_BYTES): void {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) splitLargeFiles(full, maxBytes);
    else if (fs.statSync(full).size > maxBytes) {
      const bytes = fs.readFileSync(full);
      for (let i = 0; i * maxBytes < bytes.length; i++) {
        fs.writeFileSync(`${full}.part-${String(i).padStart(3, '0')}`, bytes.subarray(i * maxBytes, (i + 1) * maxBytes));
      }
      fs.rmSync(full);
    }
  }
}

/** Joins the parts splitLargeFiles wrote under `dir` back into their files, in order. */
export function joinParts(dir: string): void {
  const groups = new Map<string, string[]>();
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) joinParts(full);
    const m = PART.exec(e.name);
    if (e.isFile() && m) groups.set(m[1], [...(groups.get(m[1]) ?? []), full]);
  }
  for (const [name, parts] of groups) {
    parts.sort();
    fs.writeFileSync(path.join(dir, name), Buffer.concat(parts.map((p) => fs.readFileSync(p))));
    parts.forEach((p) => fs.rmSync(p));
  }
}
