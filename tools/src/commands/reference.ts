/**
 * The full-scale reference (reference/full/): `kdlab reference record` copies what a full-mode
 * `kdlab reproduce` left (results, figure data, PNGs, the runs the notebooks trained, the weights
 * of every teacher) with its provenance; `kdlab verify-reference` retrains a sample of those runs
 * in a temporary run store and checks that every digit comes out identical. docs/reference.md
 * says when the digits can match (same backend, BLAS threads and OpenBLAS kernel family).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  initBackend, referenceDir, referenceProvenance, runAll,
  type ReferenceProvenance, type RunResult,
} from 'kdlab';
import {
  figureDataDir, KdlabError, makeRng, runDir, runsRoot, shuffledIndices, usedRunsFile, workbookDir, workbookRoot, writeFileAtomic,
} from 'kdlab/internals';
import { ToolError } from '../errors';
import { bytesUnder, joinParts, splitLargeFiles } from '../files';
import { renderReferenceTable, withReferenceTable } from '../reference-table';
import { gitState, readTimings, type TimingEntry } from '../runner/timings';
import { commandFlags } from './flags';

type NotebookTime = NonNullable<ReferenceProvenance['notebooks']>[number];

/** A run as the reference keeps it: the store's result.json (with the OpenBLAS kernel family it recorded). */
export type ReferenceRun = Omit<RunResult, 'cached'>;

/** runs/index.json: each run, and the first notebook that used it (null: only a teacher of those runs). */
export interface ReferenceRunIndexEntry {
  key: string;
  label: string;
  notebook: string | null;
  seconds: number;
  teacher: string | null;
}

const rel = (p: string): string => {
  const r = path.relative(workbookRoot(), p);
  return r.startsWith('..') || path.isAbsolute(r) ? p : r || '.';
};

function human(bytes: number): string {
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(2)} MB`;
  if (bytes >= 1e3) return `${(bytes / 1e3).toFixed(1)} kB`;
  return `${bytes} B`;
}

/** "7.3 s", "14 min 44 s", "2 h 3 min". */
export function formatWall(s: number): string {
  if (s < 59.95) return `${s.toFixed(1)} s`;
  const whole = Math.round(s);
  if (whole < 3600) return `${Math.floor(whole / 60)} min ${whole % 60} s`;
  return `${Math.floor(whole / 3600)} h ${Math.floor((whole % 3600) / 60)} min`;
}

function readJson(file: string): unknown {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

// ---------------------------------------------------------------------------------------------
// record

export interface RecordOptions {
  /** The chapter notebooks (default notebooks/): every NN-*.ipynb must have a full-mode result. */
  notebooksDir?: string;
  /** Where `kdlab reproduce` wrote the executed notebooks and timings.json (default build/notebooks/). */
  executedDir?: string;
  /** The notebooks' results (default build/results/). */
  resultsDir?: string;
  /** Where `kdlab figures --png` wrote the PNGs (default figures/). */
  figuresDir?: string;
  /** Record without PNGs (no Chromium on the machine). */
  noPng?: boolean;
  /** The reference folder (default reference/full/, KDLAB_REFERENCE_DIR). */
  outDir?: string;
}

export interface RecordSummary {
  outDir: string;
  provenance: ReferenceProvenance;
  results: number;
  figureData: number;
  pngs: number;
  runs: number;
  teachers: number;
  teacherBytes: number;
  bytes: number;
  warnings: string[];
}

/** Whether the time `at` (ms) falls inside one of `sittings`. */
const duringAny = (at: number, sittings: readonly TimingEntry[]): boolean => sittings.some((t) => at >= Date.parse(t.start) && at <= Date.parse(t.end));

/**
 * The sittings that produced a notebook's result: its last complete full-mode execution, the
 * interrupted or failed full-mode attempts just before it (whose finished runs it read back from
 * the run store), and any earlier full-mode execution in which one of its runs was trained
 * (`trainedAt`: the runs' finishedAt, in ms), e.g. before a read-back sitting re-made its result;
 * oldest first; null when it never completed in full mode.
 */
export function sittingsOf(notebook: string, timings: readonly TimingEntry[], trainedAt: readonly number[] = []): TimingEntry[] | null {
  const mine = timings.filter((t) => t.notebook === notebook);
  const last = mine.map((t) => t.status === 'ok' && t.mode === 'full').lastIndexOf(true);
  if (last < 0) return null;
  let first = last;
  while (first > 0 && mine[first - 1].mode === 'full' && mine[first - 1].status !== 'ok') first--;
  return mine.filter((t, i) => (i >= first && i <= last) || (i < first && t.mode === 'full' && trainedAt.some((x) => duringAny(x, [t]))));
}

/**
 * The run keys notebook `name` listed in <results>/runs/<name>.json (its finish() writes them), or
 * null when its last execution predates that list.
 */
export function usedRunsOf(resultsDir: string, name: string): { mode: string; runs: string[] } | null {
  const file = usedRunsFile(resultsDir, name);
  if (!fs.existsSync(file)) return null;
  const v = readJson(file) as { mode?: unknown; runs?: unknown };
  if (!Array.isArray(v.runs) || !v.runs.every((k) => typeof k === 'string') || typeof v.mode !== 'string') {
    throw new ToolError('BAD_ARGS', `${rel(file)} is not a list of run keys: run the notebook again (\`npx kdlab reproduce --mode full --only ${name.slice(0, 2)}\`)`);
  }
  return { mode: v.mode, runs: v.runs as string[] };
}

function problem(lines: string[]): ToolError {
  return new ToolError('BAD_ARGS', `cannot record the reference:\n  ${lines.join('\n  ')}`);
}

export async function recordReference(options: RecordOptions = {}): Promise<RecordSummary> {
  const root = workbookRoot();
  const notebooksDir = path.resolve(options.notebooksDir ?? path.join(root, 'notebooks'));
  const executedDir = path.resolve(options.executedDir ?? workbookDir('notebooks'));
  const resultsDir = path.resolve(options.resultsDir ?? workbookDir('results'));
  const figuresDir = path.resolve(options.figuresDir ?? workbookDir('figures'));
  const outDir = path.resolve(options.outDir ?? referenceDir());
  const warnings: string[] = [];

  const notebooks = fs.existsSync(notebooksDir) ? fs.readdirSync(notebooksDir).filter((f) => /^\d{2}-.*\.ipynb$/.test(f)).sort() : [];
  if (notebooks.length === 0) throw problem([`no chapter notebooks (NN-*.ipynb) in ${rel(notebooksDir)}`]);
  const timings = readTimings(executedDir);

  // The run store, read once: every finished run with its finishedAt.
  const store = runsRoot();
  const stored = new Map<string, ReferenceRun>();
  if (fs.existsSync(store)) {
    for (const key of fs.readdirSync(store)) {
      const file = path.join(store, key, 'result.json');
      if (key.startsWith('.') || !fs.existsSync(file)) continue;
      try {
        const r = readJson(file) as ReferenceRun;
        if (r.key === key) stored.set(key, r);
      } catch {
        warnings.push(`run ${key}: unreadable result.json, skipped`);
      }
    }
  }
  const finishedAt = (key: string): number => Date.parse(stored.get(key)?.finishedAt ?? '');
  const fullSittings = timings.filter((t) => t.mode === 'full');

  // 1. Every notebook has a result from a complete full-mode execution, and the runs it used: the
  // ones its finish() listed, or (a result from before those lists) the runs that finished during
  // its full-mode sittings.
  const problems: string[] = [];
  const times: NotebookTime[] = [];
  const results: Array<{ name: string; file: string }> = [];
  const used = new Map<string, string | null>();
  const runProblems: string[] = [];
  for (const nb of notebooks) {
    const name = nb.replace(/\.ipynb$/, '');
    const prefix = nb.slice(0, 2);
    const fix = `run \`npx kdlab reproduce --mode full --only ${prefix}\``;
    const file = path.join(resultsDir, `${name}.json`);
    const lastOk = [...timings].reverse().find((t) => t.notebook === nb && t.status === 'ok');
    if (!fs.existsSync(file)) {
      problems.push(`${name}: no result (${rel(file)} is missing): ${fix}`);
      continue;
    }
    let saved: unknown;
    try {
      saved = readJson(file);
    } catch (err) {
      problems.push(`${name}: ${rel(file)} is not valid JSON (${(err as Error).message}): ${fix}`);
      continue;
    }
    const savedMode = typeof saved === 'object' && saved !== null ? (saved as { mode?: unknown }).mode : undefined;
    const listed = usedRunsOf(resultsDir, name);
    if (savedMode === 'quick' || listed?.mode === 'quick' || (typeof savedMode !== 'string' && lastOk?.mode === 'quick')) {
      problems.push(`${name}: its result is from a quick-mode run: ${fix}`);
      continue;
    }
    const mine = fullSittings.filter((t) => t.notebook === nb);
    const keys = listed ? listed.runs : [...stored.keys()].filter((k) => duringAny(finishedAt(k), mine));
    if (!listed) warnings.push(`${name}: its result lists no runs (made before finish() listed them): took the runs that finished during its full-mode sittings`);
    for (const k of keys) {
      if (!stored.has(k)) runProblems.push(`run ${k}, which ${name} used, is not in the run store (${rel(store)}): ${fix}`);
      else if (!used.has(k)) used.set(k, name);
    }
    const sittings = sittingsOf(nb, timings, keys.map(finishedAt));
    if (!sittings) {
      problems.push(`${name}: ${rel(path.join(executedDir, 'timings.json'))} has no complete full-mode execution of it: ${fix}`);
      continue;
    }
    const lastSitting = sittings[sittings.length - 1];
    if (fs.statSync(file).mtime.getTime() < Date.parse(lastSitting.start)) {
      problems.push(`${name}: ${rel(file)} is older than its last full-mode execution (${lastSitting.start}): ${fix}`);
      continue;
    }
    const commits = [...new Set(sittings.map((s) => s.commit))];
    if (commits.length > 1) warnings.push(`${name}: its sittings ran at different commits (${commits.map((c) => c.slice(0, 7)).join(', ')})`);
    if (sittings.some((s) => s.dirty)) warnings.push(`${name}: a sitting ran on a work tree with uncommitted changes`);
    const before = keys.filter((k) => stored.has(k) && !duringAny(finishedAt(k), fullSittings)).length;
    if (before > 0) warnings.push(`${name}: ${before} of its ${keys.length} runs were trained before any full-mode sitting recorded here (read back from the store): their training time is in no wall time`);
    results.push({ name, file });
    times.push({
      notebook: name,
      wallSeconds: Math.round(sittings.reduce((a, s) => a + s.wallSeconds, 0) * 100) / 100,
      sittings: sittings.map((s) => ({ start: s.start, end: s.end, wallSeconds: s.wallSeconds, status: s.status, commit: s.commit })),
      ...(listed ? { runs: keys.length } : {}),
      trainedBeforeSittings: before,
    });
  }
  if (problems.length > 0) throw problem(problems);
  const allCommits = [...new Set(times.flatMap((t) => t.sittings.map((s) => s.commit)))];
  if (allCommits.length > 1) {
    warnings.push(`the notebooks ran at ${allCommits.length} commits (${allCommits.map((c) => c.slice(0, 7)).join(', ')}): provenance.json names the last; each sitting keeps its own`);
  }

  // 2. The teachers of those runs, and theirs.
  const pending = [...used.keys()];
  while (pending.length > 0) {
    const teacher = stored.get(pending.pop() as string)?.spec.teacher?.run;
    if (!teacher || used.has(teacher)) continue;
    if (!stored.has(teacher)) runProblems.push(`teacher run ${teacher} is not in the run store (${rel(store)})`);
    else {
      used.set(teacher, null);
      pending.push(teacher);
    }
  }
  const teachers = new Set([...used.keys()].map((k) => stored.get(k)?.spec.teacher?.run).filter((k): k is string => !!k));
  for (const t of teachers) {
    const w = path.join(runDir(t), 'weights');
    if (!fs.existsSync(w)) runProblems.push(`teacher run ${t} kept no weights (${rel(w)})`);
  }
  if (runProblems.length > 0) throw problem(runProblems);
  if (used.size === 0) warnings.push(`the notebooks used no run of ${rel(store)}: runs/ is empty`);

  // 3. Figure data and PNGs.
  const dataDir = figureDataDir(resultsDir);
  const figureData = fs.existsSync(dataDir) ? fs.readdirSync(dataDir).filter((f) => f.endsWith('.json')).sort() : [];
  const earliest = Math.min(...times.flatMap((t) => t.sittings.map((s) => Date.parse(s.start))));
  for (const f of figureData) {
    if (fs.statSync(path.join(dataDir, f)).mtime.getTime() < earliest) warnings.push(`figure data ${f} is older than the first full-mode sitting (left over from another run?)`);
  }
  const pngs: string[] = [];
  if (!options.noPng) {
    const missing: string[] = [];
    for (const f of figureData) {
      const png = path.join(figuresDir, f.replace(/\.json$/, '.png'));
      if (!fs.existsSync(png) || fs.statSync(png).mtime < fs.statSync(path.join(dataDir, f)).mtime) missing.push(f.replace(/\.json$/, ''));
      else pngs.push(png);
    }
    if (missing.length > 0) {
      throw problem([`no PNG newer than its figure data for ${missing.join(', ')} in ${rel(figuresDir)}: run \`npx kdlab figures --png\` (or record with --no-png where no Chromium is installed)`]);
    }
  }

  // 4. Write everything into a temporary folder, then swap it in.
  const tmp = `${outDir}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  try {
    for (const r of results) fs.copyFileSync(r.file, path.join(ensureDir(tmp, 'results'), path.basename(r.file)));
    for (const f of figureData) fs.copyFileSync(path.join(dataDir, f), path.join(ensureDir(tmp, 'results', 'figures'), f));
    for (const p of pngs) fs.copyFileSync(p, path.join(ensureDir(tmp, 'figures'), path.basename(p)));
    const index: ReferenceRunIndexEntry[] = [];
    for (const key of [...used.keys()].sort()) {
      const r = stored.get(key) as ReferenceRun;
      fs.copyFileSync(path.join(store, key, 'result.json'), path.join(ensureDir(tmp, 'runs'), `${key}.json`));
      index.push({ key, label: r.spec.label ?? key, notebook: used.get(key) ?? null, seconds: r.seconds, teacher: r.spec.teacher?.run ?? null });
    }
    if (index.length > 0) writeFileAtomic(path.join(tmp, 'runs', 'index.json'), `${JSON.stringify(index, null, 1)}\n`);
    for (const t of teachers) fs.cpSync(path.join(runDir(t), 'weights'), path.join(tmp, 'weights', t), { recursive: true });
    if (fs.existsSync(path.join(tmp, 'weights'))) splitLargeFiles(path.join(tmp, 'weights'));
    const teacherBytes = fs.existsSync(path.join(tmp, 'weights')) ? bytesUnder(path.join(tmp, 'weights')) : 0;

    const backend = await initBackend({ quiet: true });
    const runBackends = [...new Set([...used.keys()].map((k) => stored.get(k)?.backend))];
    if (runBackends.some((b) => b !== backend.name)) warnings.push(`the runs trained on ${runBackends.join(', ')}; this process runs ${backend.name}`);
    const git = gitState(root);
    // The commit of the last sitting (a warning above names the others when they differ).
    const lastSitting = times.flatMap((t) => t.sittings).sort((a, b) => Date.parse(a.end) - Date.parse(b.end)).at(-1);
    const commit = lastSitting?.commit ?? git.commit;
    const dirty = git.dirty || times.some((t) => t.sittings.some((s) => timings.find((x) => x.start === s.start)?.dirty));
    const date = times.flatMap((t) => t.sittings.map((s) => s.end)).sort().at(-1) ?? new Date().toISOString();
    const cpus = os.cpus();
    const cpuModel = cpus[0]?.model.trim() ?? 'unknown';
    // The kernel family the runs recorded (a newer store does), else the one OpenBLAS picks here.
    const recordedKernels = [...new Set([...used.keys()].map((k) => stored.get(k)?.blasKernels?.core).filter((k): k is string => !!k))];
    if (recordedKernels.length > 1) warnings.push(`the runs recorded several OpenBLAS kernel families: ${recordedKernels.join(', ')}`);
    const blasKernels = recordedKernels[0] ?? backend.blas?.core ?? null;
    const total = Math.round(times.reduce((a, t) => a + t.wallSeconds, 0) * 100) / 100;
    const provenance: ReferenceProvenance = {
      commit,
      date,
      summary:
        `${backend.name} backend` +
        (backend.blas ? ` (${backend.blas.library.split(' ').slice(0, 2).join(' ')}, ${blasKernels ?? '?'} kernels, ${backend.blas.threads} thread${backend.blas.threads === 1 ? '' : 's'})` : '') +
        `, ${cpuModel}, ${cpus.length} cores; ${times.length} notebooks in ${formatWall(total)}`,
      dirty,
      backend: backend.name,
      blasBuild: backend.blas?.library ?? null,
      blasKernels,
      blasThreads: backend.threads,
      cpuModel,
      cores: cpus.length,
      memoryBytes: os.totalmem(),
      node: process.version,
      tfjs: backend.tfjsVersion,
      notebooks: times,
      totalWallSeconds: total,
      runs: used.size,
      teacherWeights: { runs: teachers.size, bytes: teacherBytes },
    };
    writeFileAtomic(path.join(tmp, 'provenance.json'), `${JSON.stringify(provenance, null, 1)}\n`);
    const bytes = bytesUnder(tmp);

    const old = `${outDir}.old-${process.pid}`;
    if (fs.existsSync(outDir)) fs.renameSync(outDir, old);
    fs.renameSync(tmp, outDir);
    fs.rmSync(old, { recursive: true, force: true });
    return {
      outDir, provenance, results: results.length, figureData: figureData.length, pngs: pngs.length,
      runs: used.size, teachers: teachers.size, teacherBytes, bytes, warnings,
    };
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}

function ensureDir(...parts: string[]): string {
  const dir = path.join(...parts);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

// ---------------------------------------------------------------------------------------------
// verify

export interface VerifyOptions {
  /** The reference folder (default reference/full/, KDLAB_REFERENCE_DIR). */
  refDir?: string;
  /** Keys to verify; otherwise a random sample. */
  runs?: string[];
  /** How many runs to draw (default 3). */
  sample?: number;
  /** Seed of the draw (default: a random one, printed). */
  seed?: number;
  /** Draw only among runs whose recorded training took less than this (default 10). */
  maxMinutes?: number;
  /** Where each line goes as it is known (default: nowhere). */
  log?: (line: string) => void;
}

export interface VerifyOutcome {
  key: string;
  label: string;
  /** Seconds the reference recorded, and the retraining took. */
  referenceSeconds: number;
  seconds: number;
  /** The first field that differs, null when every digit is identical. */
  difference: { field: string; reference: string; now: string } | null;
  /** Fields the reference does not have and so could not be compared (e.g. weightsHash). */
  unchecked: string[];
}

export interface VerifyReport {
  seed: number | null;
  eligible: number;
  outcomes: VerifyOutcome[];
  identical: boolean;
}

/** Every run of the reference (runs/<key>.json), by key. */
export function referenceRuns(dir = referenceDir()): Map<string, ReferenceRun> {
  const runs = new Map<string, ReferenceRun>();
  const folder = path.join(dir, 'runs');
  if (!fs.existsSync(folder)) return runs;
  for (const f of fs.readdirSync(folder).sort()) {
    if (!/^[0-9a-f]{16}\.json$/.test(f)) continue;
    const file = path.join(folder, f);
    let r: ReferenceRun;
    try {
      r = readJson(file) as ReferenceRun;
    } catch (err) {
      throw new KdlabError('REFERENCE_CORRUPT', `${rel(file)} is not valid JSON (${(err as Error).message}); restore it with \`git checkout -- ${rel(file)}\`.`);
    }
    if (r.key !== f.slice(0, 16) || typeof r.spec !== 'object' || !Array.isArray(r.history)) {
      throw new KdlabError('REFERENCE_CORRUPT', `${rel(file)} is not a run's result.json; restore it with \`git checkout -- ${rel(file)}\`.`);
    }
    runs.set(r.key, r);
  }
  return runs;
}

/** `n` keys drawn without replacement from `keys` (sorted first, so the seed alone fixes the draw). */
export function drawSample(keys: readonly string[], n: number, seed: number): string[] {
  const pool = [...keys].sort();
  // The data splits' own seeded shuffle: the same draw on every machine.
  const order = shuffledIndices(pool.length, makeRng(`verify-reference:${seed}`));
  return Array.from(order.slice(0, Math.min(n, pool.length)), (i) => pool[i] as string);
}

/** Fields that are not digits of the run: when and how fast it ran, and its identity (compared as the key). */
const NOT_DIGITS = new Set(['seconds', 'finishedAt', 'cached', 'format', 'key', 'spec', 'blasKernels']);

/** The first field (a dotted path: history[3].loss) where `now` differs from `ref`, or null. */
export function firstDifference(ref: unknown, now: unknown, at = ''): { field: string; reference: string; now: string } | null {
  if (typeof ref === 'object' && ref !== null && typeof now === 'object' && now !== null) {
    if (Array.isArray(ref) !== Array.isArray(now)) return { field: at, reference: JSON.stringify(ref), now: JSON.stringify(now) };
    if (Array.isArray(ref) && Array.isArray(now)) {
      for (let i = 0; i < Math.max(ref.length, now.length); i++) {
        if (i >= ref.length || i >= now.length) return { field: `${at}.length`, reference: String(ref.length), now: String(now.length) };
        const d = firstDifference(ref[i], now[i], `${at}[${i}]`);
        if (d) return d;
      }
      return null;
    }
    const a = ref as Record<string, unknown>;
    const b = now as Record<string, unknown>;
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => !NOT_DIGITS.has(k) && a[k] !== undefined);
    for (const k of keys) {
      const d = firstDifference(a[k], b[k], at ? `${at}.${k}` : k);
      if (d) return d;
    }
    return null;
  }
  return Object.is(ref, now) ? null : { field: at, reference: JSON.stringify(ref), now: JSON.stringify(now) ?? 'nothing' };
}

/** What this machine computes with: backend, OpenBLAS kernel family, threading and its thread limit. */
interface Here {
  backend: string;
  kernels: string | null;
  threading: string;
  maxThreads: number;
}

/** Why the digits of `run` cannot be reproduced here, with the fix; null when they can. */
function cannotMatch(run: ReferenceRun, provenance: ReferenceProvenance | null, here: Here): string | null {
  const where = `run ${run.key} (${run.spec.label ?? run.key})`;
  if (run.backend !== here.backend) {
    return `${where} trained on the ${run.backend} backend, this machine runs ${here.backend}: the digits cannot match. ` +
      `Verify on a machine where \`npx kdlab doctor\` reports ${run.backend} (KDLAB_BACKEND=${run.backend} forces it where it is available).`;
  }
  const threads = run.spec.blasThreads ?? 1;
  if (run.blasThreads !== threads) {
    return `${where} was recorded with ${run.blasThreads} BLAS thread${run.blasThreads === 1 ? '' : 's'}, its spec trains it with ${threads} here: ` +
      'another count sums in another order, so the digits cannot match. Record the reference again with this code (`kdlab reference record`).';
  }
  if (run.backend === 'native' && threads > here.maxThreads) {
    return `${where} trains with ${threads} BLAS threads, this machine's OpenBLAS gives at most ${here.maxThreads} (${here.threading}): the digits cannot match. ` +
      'Install a multithreaded OpenBLAS (Debian: libopenblas0-pthread) and rebuild the kernels (`npm run build:native`).';
  }
  const kernels = run.blasKernels?.core || provenance?.blasKernels || null;
  if (kernels !== null && kernels !== undefined && run.backend === 'native' && here.kernels !== kernels) {
    return `${where} ran on OpenBLAS's ${kernels} kernels, this machine's OpenBLAS picks ${here.kernels ?? 'none'}: the digits cannot match. ` +
      `Verify on a CPU of the same family, or force it with OPENBLAS_CORETYPE=${kernels} (docs/reference.md).`;
  }
  return null;
}

export async function verifyReference(options: VerifyOptions = {}): Promise<VerifyReport> {
  const dir = path.resolve(options.refDir ?? referenceDir());
  const log = options.log ?? (() => undefined);
  const saved = process.env.KDLAB_REFERENCE_DIR;
  process.env.KDLAB_REFERENCE_DIR = dir;
  let provenance: ReferenceProvenance | null;
  try {
    provenance = referenceProvenance();
  } finally {
    if (saved === undefined) delete process.env.KDLAB_REFERENCE_DIR;
    else process.env.KDLAB_REFERENCE_DIR = saved;
  }
  const runs = referenceRuns(dir);
  if (!provenance || runs.size === 0) {
    throw new ToolError('BAD_ARGS', `no reference runs in ${rel(dir)}: record the reference first (docs/reference.md: \`npx kdlab reproduce --mode full\`, then \`npx kdlab reference record\`).`);
  }
  const maxSeconds = (options.maxMinutes ?? 10) * 60;
  let chosen: string[];
  let seed: number | null = null;
  const eligible = [...runs.values()].filter((r) => r.seconds < maxSeconds).map((r) => r.key);
  if (options.runs && options.runs.length > 0) {
    const unknown = options.runs.filter((k) => !runs.has(k));
    if (unknown.length > 0) throw new ToolError('BAD_ARGS', `the reference has no run ${unknown.join(', ')}; its runs are listed in ${rel(path.join(dir, 'runs', 'index.json'))}.`);
    chosen = [...new Set(options.runs)];
  } else {
    seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
    const n = options.sample ?? 3;
    if (eligible.length === 0) {
      throw new ToolError('BAD_ARGS', `no reference run trained in under ${options.maxMinutes ?? 10} min: raise --max-minutes (the fastest took ${formatWall(Math.min(...[...runs.values()].map((r) => r.seconds)))}).`);
    }
    chosen = drawSample(eligible, n, seed);
    log(`sample of ${chosen.length} among the ${eligible.length} runs (of ${runs.size}) that trained in under ${options.maxMinutes ?? 10} min, seed ${seed} (--seed ${seed} draws it again)`);
  }

  const backend = await initBackend({ quiet: true });
  const maxMatch = /MAX_THREADS=(\d+)/.exec(backend.blas?.library ?? '');
  const here: Here = {
    backend: backend.name,
    kernels: backend.blas?.core ?? null,
    threading: backend.blas?.threading ?? 'no OpenBLAS',
    maxThreads: !backend.blas ? Infinity : backend.blas.threading === 'sequential' ? 1 : maxMatch ? Number(maxMatch[1]) : Infinity,
  };
  const refusals = chosen.map((k) => cannotMatch(runs.get(k) as ReferenceRun, provenance, here)).filter((r): r is string => r !== null);
  if (refusals.length > 0) throw new ToolError('BAD_ARGS', `cannot verify the reference here:\n  ${refusals.join('\n  ')}`);
  log(`reference of ${provenance.date.slice(0, 10)}, commit ${provenance.commit.slice(0, 7)}; here: ${backend.name}${here.kernels ? `, OpenBLAS ${here.kernels} kernels` : ''}`);

  const outcomes: VerifyOutcome[] = [];
  for (const key of chosen) {
    const ref = runs.get(key) as ReferenceRun;
    const store = fs.mkdtempSync(path.join(os.tmpdir(), 'kdlab-verify-'));
    const savedStore = process.env.KDLAB_RUNS_DIR;
    try {
      const teacher = ref.spec.teacher?.run;
      if (teacher) seedTeacher(dir, runs, teacher, store);
      process.env.KDLAB_RUNS_DIR = store;
      const t0 = performance.now();
      const [now] = await runAll([ref.spec], { workers: 1, keepDiverged: true });
      const seconds = (performance.now() - t0) / 1000;
      const difference = now.key !== ref.key ? { field: 'key', reference: ref.key, now: now.key } : firstDifference(ref, now);
      // A diverged run keeps no weights: there is no hash to compare, and nothing missing.
      const unchecked = ref.weightsHash === undefined && !ref.diverged ? ['weightsHash'] : [];
      const outcome: VerifyOutcome = { key, label: ref.spec.label ?? key, referenceSeconds: ref.seconds, seconds, difference, unchecked };
      outcomes.push(outcome);
      log(verifyLine(outcome));
    } finally {
      if (savedStore === undefined) delete process.env.KDLAB_RUNS_DIR;
      else process.env.KDLAB_RUNS_DIR = savedStore;
      fs.rmSync(store, { recursive: true, force: true });
    }
  }
  return { seed, eligible: eligible.length, outcomes, identical: outcomes.every((o) => o.difference === null) };
}

/** Puts the reference's teacher run (result.json and weights) into a temporary run store. */
function seedTeacher(dir: string, runs: Map<string, ReferenceRun>, key: string, store: string): void {
  const teacher = runs.get(key);
  const weights = path.join(dir, 'weights', key);
  if (!teacher || !fs.existsSync(weights)) {
    throw new KdlabError('REFERENCE_CORRUPT', `the reference lacks teacher run ${key} (${rel(path.join(dir, 'runs', `${key}.json`))} and ${rel(weights)}/): record it again with \`kdlab reference record\`.`);
  }
  fs.mkdirSync(path.join(store, key), { recursive: true });
  fs.copyFileSync(path.join(dir, 'runs', `${key}.json`), path.join(store, key, 'result.json'));
  fs.cpSync(weights, path.join(store, key, 'weights'), { recursive: true });
  joinParts(path.join(store, key, 'weights'));
}

export function verifyLine(o: VerifyOutcome): string {
  const verdict = o.difference === null
    ? `identical${o.unchecked.length > 0 ? ` (not recorded, not compared: ${o.unchecked.join(', ')})` : ''}`
    : `DIFFERS at ${o.difference.field}: reference ${o.difference.reference}, now ${o.difference.now}`;
  return `${o.key}  ${o.label}  ${formatWall(o.referenceSeconds)} (now ${formatWall(o.seconds)})  ${verdict}`;
}

// ---------------------------------------------------------------------------------------------
// commands

const RECORD_USAGE = `usage: kdlab reference record [--no-png] [--out DIR] [--notebooks DIR] [--executed DIR] [--results DIR] [--figures DIR]

After a full-mode \`kdlab reproduce\` (in as many sittings as it takes) and \`kdlab figures --png\`,
copies into reference/full/ (a temporary folder, then renamed into place): results/<notebook>.json,
results/figures/*.json, figures/*.png, runs/<key>.json for every run the notebooks trained (with
runs/index.json), weights/<key>/ for every run that is another run's teacher, and provenance.json
(commit, backend, BLAS build, kernel family and threads, machine, each notebook's wall time and
sittings, their sum). See docs/reference.md.

  --no-png          record without PNGs (no Chromium on this machine)
  --out DIR         the reference folder (default reference/full/)
  --notebooks DIR   the chapter notebooks (default notebooks/)
  --executed DIR    where \`kdlab reproduce\` wrote them and timings.json (default build/notebooks/)
  --results DIR     the notebooks' results (default build/results/)
  --figures DIR     the PNGs of \`kdlab figures --png\` (default figures/)

usage: kdlab reference table [--write]

Prints the README's short results table rendered from reference/full/ (the paper beside it);
--write puts it into README.md between its reference-table markers.
`;

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === '--help' || sub === '-h') {
    process.stdout.write(RECORD_USAGE);
    return 0;
  }
  if (sub === 'table') return referenceTable(rest);
  if (sub !== 'record') {
    process.stderr.write(`kdlab reference: ${sub === undefined ? 'which subcommand?' : `unknown subcommand "${sub}"`}\n\n${RECORD_USAGE}`);
    return 2;
  }
  const args = commandFlags('reference record', RECORD_USAGE, {
    args: rest,
    options: {
      'no-png': { type: 'boolean', default: false }, out: { type: 'string' }, notebooks: { type: 'string' }, executed: { type: 'string' },
      results: { type: 'string' }, figures: { type: 'string' }, help: { type: 'boolean', short: 'h', default: false },
    },
    allowPositionals: false,
  });
  if (typeof args === 'number') return args;
  const s = await recordReference({
    noPng: args['no-png'], outDir: args.out, notebooksDir: args.notebooks, executedDir: args.executed, resultsDir: args.results, figuresDir: args.figures,
  });
  const p = s.provenance;
  const lines = [
    `kdlab reference record: ${rel(s.outDir)}/ (${human(s.bytes)})`,
    `  results           ${s.results} notebooks`,
    `  figure data       ${s.figureData} files, PNGs ${s.pngs}`,
    `  runs              ${s.runs}`,
    `  teacher weights   ${s.teachers} run${s.teachers === 1 ? '' : 's'}, ${human(s.teacherBytes)}`,
    `  commit            ${p.commit}${p.dirty ? ' (work tree had uncommitted changes)' : ''}`,
    `  machine           ${p.summary}`,
    '  wall times:',
    ...(p.notebooks ?? []).map((t) => `    ${t.notebook.padEnd(36)} ${formatWall(t.wallSeconds).padStart(12)}  (${t.sittings.length} sitting${t.sittings.length === 1 ? '' : 's'}` +
      `${t.runs === undefined ? '' : `, ${t.runs} runs`}${t.trainedBeforeSittings ? `, ${t.trainedBeforeSittings} trained before them` : ''})`),
    `    ${'total'.padEnd(36)} ${formatWall(p.totalWallSeconds ?? 0).padStart(12)}`,
    ...s.warnings.map((w) => `warning: ${w}`),
    `check it: npx kdlab verify-reference --sample 3; then commit ${rel(s.outDir)}/`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

function referenceTable(argv: string[]): number {
  const args = commandFlags('reference table', RECORD_USAGE, {
    args: argv,
    options: { write: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } },
    allowPositionals: false,
  });
  if (typeof args === 'number') return args;
  const table = renderReferenceTable(referenceDir());
  if (!args.write) {
    process.stdout.write(`${table}\n`);
    return 0;
  }
  const readme = path.join(workbookRoot(), 'README.md');
  writeFileAtomic(readme, withReferenceTable(fs.readFileSync(readme, 'utf8'), table));
  process.stdout.write(`kdlab reference table: README.md's results block rendered from ${rel(referenceDir())}/\n`);
  return 0;
}

const VERIFY_USAGE = `usage: kdlab verify-reference [--sample N] [--run KEY ...] [--seed S] [--max-minutes M]

Retrains runs of the reference (reference/full/runs/) in a temporary run store seeded with the
reference's teacher weights and checks every digit: each epoch's loss and accuracies, the
validation and test scores and the hash of the final weights. Refuses up front when the backend,
BLAS threads or OpenBLAS kernel family differ from the reference's (the digits cannot match then).
Exit code 1 when any digit differs.

  --sample N        how many runs to draw at random (default 3)
  --run KEY         verify this run (repeatable; instead of a sample)
  --seed S          seed of the draw (default: random, printed)
  --max-minutes M   draw only among runs that trained in under M minutes (default 10)
`;

export async function runVerify(argv: string[]): Promise<number> {
  const args = commandFlags('verify-reference', VERIFY_USAGE, {
    args: argv,
    options: {
      sample: { type: 'string' }, run: { type: 'string', multiple: true, default: [] }, seed: { type: 'string' },
      'max-minutes': { type: 'string' }, help: { type: 'boolean', short: 'h', default: false },
    },
    allowPositionals: false,
  });
  if (typeof args === 'number') return args;
  const int = (name: string, v: string | undefined, min: number): number | undefined | string => {
    if (v === undefined) return undefined;
    const n = Number(v);
    return Number.isInteger(n) && n >= min ? n : `--${name} must be an integer >= ${min}, got "${v}"`;
  };
  const sample = int('sample', args.sample, 1);
  const seed = int('seed', args.seed, 0);
  const maxMinutes = args['max-minutes'] === undefined ? undefined : Number(args['max-minutes']);
  for (const v of [sample, seed]) {
    if (typeof v === 'string') {
      process.stderr.write(`kdlab verify-reference: ${v}\n\n${VERIFY_USAGE}`);
      return 2;
    }
  }
  if (maxMinutes !== undefined && !(maxMinutes > 0)) {
    process.stderr.write(`kdlab verify-reference: --max-minutes must be a number > 0, got "${args['max-minutes']}"\n\n${VERIFY_USAGE}`);
    return 2;
  }
  const report = await verifyReference({
    runs: args.run, sample: sample as number | undefined, seed: seed as number | undefined, maxMinutes,
    log: (line) => process.stdout.write(`${line}\n`),
  });
  const differ = report.outcomes.filter((o) => o.difference !== null).length;
  process.stdout.write(
    differ === 0
      ? `verify-reference: all ${report.outcomes.length} run${report.outcomes.length === 1 ? '' : 's'} identical to the reference, digit for digit\n`
      : `verify-reference: ${differ} of ${report.outcomes.length} runs differ from the reference\n`,
  );
  return differ === 0 ? 0 : 1;
}
