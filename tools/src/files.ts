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
