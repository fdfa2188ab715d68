import { fork, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { danfo } from '../danfo';
import { InputError, KdlabError } from '../errors';
import {
  inertParameters, isObjectiveName, objectiveNeedsTeacher, objectiveParameters, OBJECTIVE_PARAMETERS, parameterInfo, isValidParameter,
  type DistillObjectiveName, type Objective, type ObjectiveField, type ObjectiveParameter, type ObjectiveParams,
} from '../losses';

/**
 * Hyper-parameter grids as data (torchdistill's habit): a spec names an objective (default 'kd')
 * and lists values for each of its hyper-parameters (T × alpha for 'kd'); it expands into runs,
 * each run's full configuration is hashed, and each finished run is appended as one JSON line
 * keyed by that hash. The parent process is the only writer, so a rerun after any crash skips
 * what is done and never writes a duplicate; worker processes (one backend each) only train and
 * report. The objective's hyper-parameters come from the objective table in losses.ts.
 */

/** One axis per hyper-parameter of the objective: temperature → temperatures, alpha → alphas. */
export type GridAxes<N extends DistillObjectiveName> = { [P in keyof ObjectiveParams<N> & string as `${P}s`]: number[] };

export interface GridSettings {
  /** Names the grid in progress lines; not part of any run's identity. */
  name: string;
  /** Student hidden sizes, e.g. [[800, 800], [30, 30]]. */
  students: number[][];
  seeds?: number[];
  epochs: number;
  batchSize?: number;
  learningRate?: number;
  /** Train on the first `trainSize` rows of the (shuffled) training split; quick modes. */
  trainSize?: number;
  validationSize?: number;
  splitSeed?: number;
  /** Teacher logits for exactly that training slice, computed once (see teacherLogitsCached). */
  teacherLogits: { file: string; key: string };
}

/**
 * A grid: its settings, the objective (default 'kd') and a list of values per hyper-parameter,
 * e.g. { objective: 'kd', temperatures: [2, 4], alphas: [0, 0.5], ... } (objective left out) or
 * { objective: 'mse', alphas: [0.5, 1], ... }.
 */
export type GridSpec<N extends DistillObjectiveName = 'kd'> = GridSettings & ObjectiveField<N> & GridAxes<N>;

/** The settings of one run besides its objective. */
export interface RunSettings {
  hidden: number[];
  seed: number;
  epochs: number;
  batchSize: number;
  learningRate: number;
  trainSize: number | null;
  validationSize: number;
  splitSeed: number;
  teacherKey: string;
}

/**
 * Everything that determines a run's result; its hash is the run's identity. The objective's
 * hyper-parameters are fields of their own (temperature, alpha for 'kd'); `objective` is absent
 * in rows written before objectives existed, which are all 'kd'.
 */
export type RunConfig<N extends DistillObjectiveName = 'kd'> = ObjectiveField<N> & ObjectiveParams<N> & RunSettings;

export interface RunResult {
  key: string;
  /** Accuracy of the final model on the validation set. Grids never touch the test set: evaluate
   *  the setting chosen by selectBest on test separately, once. */
  valAccuracy: number;
  bestEpoch: number;
  params: number;
  seconds: number;
  backend: string;
  /** Key of the run whose numbers this row reuses (e.g. alpha = 0 ignores T), or null. */
  sameAs: string | null;
}

export type RunRow<N extends DistillObjectiveName = 'kd'> = RunConfig<N> & RunResult;

/** A grid, run or row of any objective (how the grid handles them inside). */
type AnySpec = GridSpec<DistillObjectiveName>;
type AnyRun = RunConfig<DistillObjectiveName>;
type AnyRow = RunRow<DistillObjectiveName>;

const objectiveName = (r: { objective?: DistillObjectiveName }): DistillObjectiveName => r.objective ?? 'kd';
const valuesOf = (x: object): Partial<Record<string, unknown>> => x as Partial<Record<string, unknown>>;

/** The run's objective as data, e.g. { objective: 'kd', temperature: 4, alpha: 0.5 }. */
export function objectiveOf(config: AnyRun): Exclude<Objective, { objective: 'hard' }> {
  const name = objectiveName(config);
  const values = valuesOf(config);
  return { objective: name, ...Object.fromEntries(objectiveParameters(name).map((p) => [p, values[p]])) } as Exclude<Objective, { objective: 'hard' }>;
}

/** "T=4, alpha=0.5" (prefixed with the objective unless it is 'kd'), for progress lines and errors. */
export function describeRun(config: AnyRun): string {
  const name = objectiveName(config);
  const values = valuesOf(config);
  const params = objectiveParameters(name).map((p) => `${parameterInfo(p).label}=${String(values[p])}`);
  return [...(name === 'kd' ? [] : [name]), ...params].join(', ');
}

function checkSpec(spec: AnySpec): void {
  const bad = (msg: string): never => {
    throw new InputError('BAD_GRID', `grid "${spec.name}": ${msg}`);
  };
  const name: unknown = spec.objective ?? 'kd';
  if (!isObjectiveName(name) || !objectiveNeedsTeacher(name)) {
    bad(`objective must be a distillation objective ('kd', 'mse', ...), got ${JSON.stringify(name)}.`);
  }
  const params = objectiveParameters(name as DistillObjectiveName);
  const axes = valuesOf(spec);
  for (const p of OBJECTIVE_PARAMETERS) {
    const axis = `${p}s`;
    const values = axes[axis];
    if (!params.includes(p)) {
      if (values !== undefined) bad(`objective '${String(name)}' has no ${p}: remove ${axis}.`);
    } else if (!Array.isArray(values) || values.length === 0 || values.some((v) => !isValidParameter(p, v))) {
      bad(`${axis} must be a non-empty list of ${parameterInfo(p).rule}, got ${JSON.stringify(values)}.`);
    }
  }
  if (!spec.students?.length || spec.students.some((h) => !Array.isArray(h) || h.some((w) => !Number.isInteger(w) || w <= 0))) {
    bad(`students must be a non-empty list of hidden sizes like [800, 800], got ${JSON.stringify(spec.students)}.`);
  }
  if (!Number.isInteger(spec.epochs) || spec.epochs <= 0) bad(`epochs must be a positive integer, got ${spec.epochs}.`);
  if (!spec.teacherLogits?.file || !spec.teacherLogits.key) bad('teacherLogits { file, key } is required (from teacherLogitsCached).');
}

/** Stable JSON (sorted keys) so that equal configurations hash equally. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    return `{${Object.keys(obj)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(obj[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

const RUN_SETTINGS_FIELDS = [
  'hidden', 'seed', 'epochs', 'batchSize', 'learningRate', 'trainSize', 'validationSize', 'splitSeed', 'teacherKey',
] as const satisfies readonly (keyof RunSettings)[];

/**
 * Hashes the configuration only: rows read back from the file also carry their results. A 'kd'
 * run hashes no `objective` field, so its key is the one it had before grids had objectives.
 */
export function runKey(config: AnyRun): string {
  const name = objectiveName(config);
  const fields: Record<string, unknown> = Object.fromEntries(RUN_SETTINGS_FIELDS.map((k) => [k, config[k]]));
  const values = valuesOf(config);
  for (const p of objectiveParameters(name)) fields[p] = values[p];
  if (name !== 'kd') fields.objective = name;
  return createHash('sha256').update(canonical(fields)).digest('hex').slice(0, 16);
}

/**
 * Runs that differ only in hyper-parameters their objective ignores at these values (the
 * objective table says which: kd at alpha = 0 ignores T) give the same run: train it once.
 */
function computeKey(config: AnyRun): string {
  const inert = inertParameters(objectiveOf(config));
  return runKey(inert.length ? ({ ...config, ...Object.fromEntries(inert.map((p) => [p, 0])) } as AnyRun) : config);
}

/** The objective's hyper-parameters vary fastest, in the objective table's order (T, then alpha). */
export function expandGrid<N extends DistillObjectiveName = 'kd'>(spec: GridSpec<N>): RunConfig<N>[] {
  const s = spec as AnySpec;
  checkSpec(s);
  const name = objectiveName(s);
  const axes = valuesOf(s) as Record<string, number[]>;
  let points: Partial<Record<ObjectiveParameter, number>>[] = [{}];
  for (const p of objectiveParameters(name)) points = points.flatMap((point) => axes[`${p}s`].map((v) => ({ ...point, [p]: v })));
  const runs: AnyRun[] = [];
  for (const hidden of s.students) {
    for (const seed of s.seeds ?? [0]) {
      for (const point of points) {
        runs.push({
          objective: name,
          ...point,
          hidden,
          seed,
          epochs: s.epochs,
          batchSize: s.batchSize ?? 128,
          learningRate: s.learningRate ?? 1e-3,
          trainSize: s.trainSize ?? null,
          validationSize: s.validationSize ?? 5000,
          splitSeed: s.splitSeed ?? 0,
          teacherKey: s.teacherLogits.key,
        } as AnyRun);
      }
    }
  }
  return runs as RunConfig<N>[];
}

/**
 * Reads finished rows. A process killed mid-append can leave a partial last line: it is
 * ignored (that run simply reruns), and duplicates from any older bug are dropped.
 */
export function readRows(file: string): AnyRow[] {
  if (!fs.existsSync(file)) return [];
  const seen = new Map<string, AnyRow>();
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      const row = JSON.parse(line) as AnyRow;
      if (typeof row.key === 'string' && !seen.has(row.key)) seen.set(row.key, row);
    } catch {
      /* torn write from a killed run */
    }
  }
  return [...seen.values()];
}

/** Appends one row as one line in one write(2), then fsyncs, so a finished run survives a crash. */
function appendRow(file: string, row: AnyRow): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  // A torn last line (no trailing newline) must not swallow the next row.
  let prefix = '';
  if (fs.existsSync(file)) {
    const size = fs.statSync(file).size;
    if (size > 0) {
      const fd = fs.openSync(file, 'r');
      const last = Buffer.alloc(1);
      fs.readSync(fd, last, 0, 1, size - 1);
      fs.closeSync(fd);
      if (last[0] !== 0x0a) prefix = '\n';
    }
  }
  const fd = fs.openSync(file, 'a');
  try {
    fs.writeSync(fd, `${prefix}${JSON.stringify(row)}\n`);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

export interface GridProgress<N extends DistillObjectiveName = 'kd'> {
  done: number;
  total: number;
  row: RunRow<N>;
  /** True when the row was trained now, false when it reused an equivalent run. */
  trained: boolean;
}

export interface GridRunOptions<N extends DistillObjectiveName = 'kd'> {
  /** JSON Lines file of finished rows (created if missing). */
  resultsFile: string;
  /** Worker processes; default: the number of cores. */
  workers?: number;
  onRow?: (p: GridProgress<N>) => void;
  signal?: AbortSignal;
}

export interface GridResult<N extends DistillObjectiveName = 'kd'> {
  rows: RunRow<N>[];
  trained: number;
  skipped: number;
  reused: number;
  workers: number;
  wallSeconds: number;
}

/** Messages between the grid and its workers. */
export type WorkerRequest = { type: 'run'; config: AnyRun; key: string; teacherLogitsFile: string };
export type WorkerReply =
  | { type: 'ready' }
  | { type: 'done'; key: string; row: Omit<RunResult, 'key' | 'sameAs'> }
  | { type: 'failed'; key: string; message: string };

function workerEntry(): { file: string; execArgv: string[] } {
  const js = path.join(__dirname, 'worker.js');
  if (fs.existsSync(js)) return { file: js, execArgv: [] };
  // Running from source (tests through tsx): the worker is TypeScript too.
  return { file: path.join(__dirname, 'worker.ts'), execArgv: ['--import', 'tsx'] };
}

/**
 * Runs every unfinished run of the grid across worker processes and returns all rows of the
 * grid (finished earlier or now), in grid order.
 */
export async function runGrid<N extends DistillObjectiveName = 'kd'>(spec: GridSpec<N>, options: GridRunOptions<N>): Promise<GridResult<N>> {
  const start = performance.now();
  const runs: AnyRun[] = expandGrid(spec as AnySpec);
  const onRow = options.onRow as ((p: GridProgress<DistillObjectiveName>) => void) | undefined;
  if (!fs.existsSync(spec.teacherLogits.file)) {
    throw new KdlabError(
      'TEACHER_LOGITS_MISSING',
      `grid "${spec.name}": teacher logits file ${spec.teacherLogits.file} does not exist. Compute them first with teacherLogitsCached(teacher, trainSet).`,
    );
  }
  const finished = new Map(readRows(options.resultsFile).map((r) => [r.key, r]));
  const byCompute = new Map<string, AnyRow>();
  for (const r of finished.values()) byCompute.set(computeKey(r), r);

  const total = runs.length;
  let done = 0;
  let trained = 0;
  let reused = 0;
  const skipped = runs.filter((r) => finished.has(runKey(r))).length;
  done = skipped;

  const record = (config: AnyRun, row: AnyRow, wasTrained: boolean): void => {
    appendRow(options.resultsFile, row);
    finished.set(row.key, row);
    byCompute.set(computeKey(config), row);
    done++;
    onRow?.({ done, total, row, trained: wasTrained });
  };

  // Runs equivalent to a finished one (e.g. alpha = 0 at another T) are copied, not retrained.
  const reuseIfPossible = (config: AnyRun): boolean => {
    const key = runKey(config);
    if (finished.has(key)) return true;
    const twin = byCompute.get(computeKey(config));
    if (!twin) return false;
    record(config, { ...twin, ...config, key, sameAs: twin.sameAs ?? twin.key } as AnyRow, false);
    reused++;
    return true;
  };

  const pending: AnyRun[] = [];
  const queuedCompute = new Set<string>();
  for (const config of runs) {
    if (reuseIfPossible(config)) continue;
    const ck = computeKey(config);
    if (queuedCompute.has(ck)) continue; // its twin will be copied once it finishes
    queuedCompute.add(ck);
    pending.push(config);
  }

  const workerCount = Math.max(1, Math.min(options.workers ?? os.availableParallelism(), pending.length || 1));
  if (pending.length > 0) {
    await runInWorkers(pending, workerCount, spec.teacherLogits.file, options.signal, (config, result) => {
      record(config, { ...config, ...result, key: runKey(config), sameAs: null } as AnyRow, true);
      trained++;
    });
    for (const config of runs) reuseIfPossible(config);
  }

  const rows = runs.map((r) => finished.get(runKey(r))).filter((r): r is AnyRow => r !== undefined);
  return { rows: rows as RunRow<N>[], trained, skipped, reused, workers: workerCount, wallSeconds: (performance.now() - start) / 1000 };
}

function runInWorkers(
  pending: AnyRun[],
  workerCount: number,
  teacherLogitsFile: string,
  signal: AbortSignal | undefined,
  onDone: (config: AnyRun, row: Extract<WorkerReply, { type: 'done' }>['row']) => void,
): Promise<void> {
  const { file, execArgv } = workerEntry();
  const queue = [...pending];
  const children = new Set<ChildProcess>();
  return new Promise<void>((resolve, reject) => {
    let failed = false;
    const fail = (err: Error): void => {
      if (failed) return;
      failed = true;
      for (const c of children) c.kill('SIGKILL');
      reject(err);
    };
    const onAbort = (): void => fail(new KdlabError('ABORTED', 'grid interrupted; finished runs are saved and a rerun resumes from them.'));
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });

    const startWorker = (): void => {
      const child = fork(file, [], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      children.add(child);
      let current: AnyRun | undefined;
      const next = (): void => {
        current = queue.shift();
        if (!current) {
          child.disconnect();
          return;
        }
        const request: WorkerRequest = { type: 'run', config: current, key: runKey(current), teacherLogitsFile };
        child.send(request);
      };
      child.on('message', (msg: WorkerReply) => {
        if (failed) return;
        if (msg.type === 'ready') next();
        else if (msg.type === 'done' && current) {
          onDone(current, msg.row);
          next();
        } else if (msg.type === 'failed') {
          const what = current ? `${describeRun(current)}, hidden=${current.hidden}` : 'unknown run';
          fail(new KdlabError('GRID_RUN_FAILED', `a grid run failed (${what}): ${msg.message}`));
        }
      });
      child.on('exit', (code, sig) => {
        children.delete(child);
        if (failed) return;
        if (current && code !== 0) {
          fail(new KdlabError('GRID_WORKER_DIED', `a grid worker died (${sig ?? `exit ${code}`}) during ${describeRun(current)}; finished runs are saved, rerun to resume.`));
          return;
        }
        if (children.size === 0) {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        }
      });
    };
    for (let i = 0; i < workerCount; i++) startWorker();
  });
}

/**
 * The run chosen on validation accuracy (ties: the lower hyper-parameters, in the objective
 * table's order: lower T, then lower alpha). Never on test.
 */
export function selectBest<R extends AnyRow>(rows: R[]): R {
  if (rows.length === 0) throw new InputError('EMPTY_GRID', 'selectBest: no rows (has the grid run?).');
  const tieBreak = (a: R, b: R): number => {
    const [va, vb] = [valuesOf(a), valuesOf(b)];
    for (const p of OBJECTIVE_PARAMETERS) {
      const d = Number(va[p] ?? 0) - Number(vb[p] ?? 0);
      if (d !== 0) return d;
    }
    return 0;
  };
  return [...rows].sort((a, b) => b.valAccuracy - a.valAccuracy || tieBreak(a, b))[0];
}

/**
 * Rows as flat records (hidden sizes as "800x800") for tables and CSV: one column per
 * hyper-parameter of the rows' objectives (NaN where a row's objective lacks it), and an
 * `objective` column unless every row is 'kd'.
 */
export function flattenRows(rows: readonly AnyRow[]): Array<Record<string, number | string>> {
  const names = new Set(rows.map(objectiveName));
  const params = OBJECTIVE_PARAMETERS.filter((p) => [...names].some((n) => objectiveParameters(n).includes(p)));
  const showObjective = [...names].some((n) => n !== 'kd');
  return rows.map((r) => {
    const values = valuesOf(r);
    return {
      student: r.hidden.join('x'),
      ...(showObjective ? { objective: objectiveName(r) } : {}),
      ...Object.fromEntries(params.map((p) => [p, typeof values[p] === 'number' ? (values[p] as number) : Number.NaN])),
      seed: r.seed,
      valAccuracy: r.valAccuracy,
      bestEpoch: r.bestEpoch,
      epochs: r.epochs,
      trainSize: r.trainSize ?? -1,
      params: r.params,
      seconds: r.seconds,
      key: r.key,
    };
  });
}

/**
 * Grid rows as a danfojs DataFrame (what the heatmap builder and the tables take). danfojs is
 * loaded only here, so grid workers never pay for it.
 */
export function gridFrame(rows: readonly AnyRow[]): import('danfojs-node').DataFrame {
  if (rows.length === 0) throw new InputError('EMPTY_GRID', 'gridFrame: no rows (has the grid run?).');
  return new (danfo().DataFrame)(flattenRows(rows));
}
