import * as fs from 'node:fs';
import * as path from 'node:path';
import { KdlabError } from './errors';
import { workbookDir, workbookRelative } from './paths';

/**
 * The full-scale reference: one run of every notebook in full mode, committed under
 * reference/full/ (results/<notebook>.json as the notebook saved it, figures, provenance.json), so
 * a reader who runs quick mode sees what the full run gave beside their own numbers.
 * KDLAB_REFERENCE_DIR overrides the folder (tests).
 */
export function referenceDir(): string {
  return process.env.KDLAB_REFERENCE_DIR ?? workbookDir('reference');
}

/** One notebook's share of the reference: its wall time, summed over the sittings it took. */
export interface ReferenceNotebookTime {
  notebook: string;
  /** Sum of the sittings' wall times, in seconds. */
  wallSeconds: number;
  /** Each sitting (a `kdlab reproduce` execution of the notebook) that counted, oldest first. */
  sittings: Array<{ start: string; end: string; wallSeconds: number; status: string; commit: string }>;
  /** Runs the notebook used (trained or read back), when its last execution listed them. */
  runs?: number;
  /**
   * Of those, runs trained before any full-mode sitting this workbook recorded (read back from a
   * run store carried over from another clone): their training time is in no wall time here.
   */
  trainedBeforeSittings?: number;
}

/** Where and how the reference was computed: enough to say whether another run should match it digit for digit. */
export interface ReferenceProvenance {
  /** Commit of the workbook that ran it. */
  commit: string;
  /** ISO date of the last sitting. */
  date: string;
  /** Short text: backend, BLAS build, kernel family and threads, CPU model and cores. */
  summary: string;
  /** The work tree had uncommitted changes when the reference was recorded. */
  dirty?: boolean;
  /** The compute backend (native, tensorflow, wasm, cpu). */
  backend?: string;
  /** OpenBLAS's build line, null without the native kernels. */
  blasBuild?: string | null;
  /** The OpenBLAS kernel family selected at run time (e.g. Haswell), null without the native kernels. */
  blasKernels?: string | null;
  /** BLAS threads of the notebooks' own process (runs record theirs in runs/<key>.json). */
  blasThreads?: number;
  cpuModel?: string;
  cores?: number;
  memoryBytes?: number;
  node?: string;
  tfjs?: string;
  /** Each notebook's wall time with its sittings. */
  notebooks?: ReferenceNotebookTime[];
  /** Sum of the notebooks' wall times, in seconds. */
  totalWallSeconds?: number;
  /** Runs of the run store copied to runs/, and the teachers whose weights are in weights/. */
  runs?: number;
  teacherWeights?: { runs: number; bytes: number };
}

function corrupt(file: string, why: string): KdlabError {
  return new KdlabError('REFERENCE_CORRUPT', `${workbookRelative(file)} ${why}; restore it with \`git checkout -- ${workbookRelative(file)}\` (or record the reference again with \`kdlab reference record\`).`);
}

/** The reference's provenance, or null when none is recorded. */
export function referenceProvenance(): ReferenceProvenance | null {
  const file = path.join(referenceDir(), 'provenance.json');
  if (!fs.existsSync(file)) return null;
  let value: unknown;
  try {
    value = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw corrupt(file, `is not valid JSON (${(err as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw corrupt(file, 'is not a JSON object');
  const v = value as Record<string, unknown>;
  const str = (k: string): string => (typeof v[k] === 'string' ? (v[k] as string) : '?');
  return { ...(v as Partial<ReferenceProvenance>), commit: str('commit'), date: str('date'), summary: str('summary') };
}

/**
 * The full-scale run's saved result for notebook `name` (what its saveResult wrote), or null when
 * the reference has none. The caller names the type it saved; the JSON is trusted as the
 * notebook's own output.
 */
export function referenceResult<T>(name: string): T | null {
  const file = path.join(referenceDir(), 'results', `${name}.json`);
  if (!fs.existsSync(file)) return null;
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch (err) {
    throw corrupt(file, `is not valid JSON (${(err as Error).message})`);
  }
}

/**
 * "At full scale (reference of <date>, commit <c>): <describe(result)>", or a line saying the
 * reference has no result for this notebook yet. Notebooks print it beside their own numbers.
 */
export function atFullScale<T>(name: string, describe: (reference: T) => string): string {
  const result = referenceResult<T>(name);
  if (result === null) {
    return `At full scale: no reference recorded for ${name} yet (reference/full/, see docs/reference.md).`;
  }
  const p = referenceProvenance();
  const where = p ? ` (reference of ${p.date.slice(0, 10)}, commit ${p.commit.slice(0, 7)})` : '';
  return `At full scale${where}: ${describe(result)}`;
}
