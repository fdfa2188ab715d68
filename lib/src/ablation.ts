import { fork, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { danfo } from './danfo';
import { InputError, KdlabError } from './errors';

/**
 * T × alpha grids as data (torchdistill's habit): a spec expands into runs, each run's full
 * configuration is hashed, and each finished run is appended as one JSON line keyed by that hash.
 * The parent process is the only writer, so a rerun after any crash skips what is done and
 * never writes a duplicate; worker processes (one backend each) only train and report.
 */

export interface GridSpec {
  /** Names the grid in progress lines; not part of any run's identity. */
  name: string;
  temperatures: number[];
  alphas: number[];
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

/** Everything that determines a run's result; its hash is the run's identity. */
export interface RunConfig {
  temperature: number;
  alpha: number;
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

export interface RunRow extends RunConfig {
  key: string;
  /** Accuracy of the final model on the validation set. Grids never touch the test set: evaluate
   *  the setting chosen by selectBest on test separately, once. */
  valAccuracy: number;
  bestEpoch: number;
  params: number;
  seconds: number;
  backend: string;
  /** Key of the run whose numbers this row reuses (alpha = 0 ignores T), or null. */
  sameAs: string | null;
}

function checkSpec(spec: GridSpec): void {
  const bad = (msg: string): never => {
    throw new InputError('BAD_GRID', `grid "${spec.name}": ${msg}`);
  };
  if (!spec.temperatures?.length || spec.temperatures.some((t) => !(Number.isFinite(t) && t > 0))) {
    bad(`temperatures must be a non-empty list of finite T > 0, got ${JSON.stringify(spec.temperatures)}.`);
  }
  if (!spec.alphas?.length || spec.alphas.some((a) => !(a >= 0 && a <= 1))) {
    bad(`alphas must be a non-empty list of values in [0, 1], got ${JSON.stringify(spec.alphas)}.`);
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

const RUN_CONFIG_FIELDS = [
  'temperature', 'alpha', 'hidden', 'seed', 'epochs', 'batchSize', 'learningRate',
  'trainSize', 'validationSize', 'splitSeed', 'teacherKey',
] as const satisfies readonly (keyof RunConfig)[];

/** Hashes the configuration only: rows read back from the file also carry their results. */
export function runKey(config: RunConfig): string {
  const fields = Object.fromEntries(RUN_CONFIG_FIELDS.map((k) => [k, config[k]]));
  return createHash('sha256').update(canonical(fields)).digest('hex').slice(0, 16);
}

/** With alpha = 0 the soft term vanishes, so every T gives the same run: train it once. */
function computeKey(config: RunConfig): string {
  return config.alpha === 0 ? runKey({ ...config, temperature: 0 }) : runKey(config);
}

export function expandGrid(spec: GridSpec): RunConfig[] {
  checkSpec(spec);
  const runs: RunConfig[] = [];
  for (const hidden of spec.students) {
    for (const seed of spec.seeds ?? [0]) {
      for (const temperature of spec.temperatures) {
        for (const alpha of spec.alphas) {
          runs.push({
            temperature,
            alpha,
            hidden,
            seed,
            epochs: spec.epochs,
            batchSize: spec.batchSize ?? 128,
            learningRate: spec.learningRate ?? 1e-3,
            trainSize: spec.trainSize ?? null,
            validationSize: spec.validationSize ?? 5000,
            splitSeed: spec.splitSeed ?? 0,
            teacherKey: spec.teacherLogits.key,
          });
        }
      }
    }
  }
  return runs;
}

/**
 * Reads finished rows. A process killed mid-append can leave a partial last line: it is
 * ignored (that run simply reruns), and duplicates from any older bug are dropped.
 */
export function readRows(file: string): RunRow[] {
  if (!fs.existsSync(file)) return [];
  const seen = new Map<string, RunRow>();
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      const row = JSON.parse(line) as RunRow;
      if (typeof row.key === 'string' && !seen.has(row.key)) seen.set(row.key, row);
    } catch {
      /* torn write from a killed run */
    }
  }
  return [...seen.values()];
}

/** Appends one row as one line in one write(2), then fsyncs, so a finished run survives a crash. */
function appendRow(file: string, row: RunRow): void {
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

export interface GridProgress {
  done: number;
  total: number;
  row: RunRow;
  /** True when the row was trained now, false when it reused an equivalent run. */
  trained: boolean;
}

export interface GridRunOptions {
  /** JSON Lines file of finished rows (created if missing). */
  resultsFile: string;
  /** Worker processes; default: the number of cores. */
  workers?: number;
  onRow?: (p: GridProgress) => void;
  signal?: AbortSignal;
}

export interface GridResult {
  rows: RunRow[];
  trained: number;
  skipped: number;
  reused: number;
  workers: number;
  wallSeconds: number;
}

/** Messages between the grid and its workers. */
export type WorkerRequest = { type: 'run'; config: RunConfig; key: string; teacherLogitsFile: string };
export type WorkerReply =
  | { type: 'ready' }
  | { type: 'done'; key: string; row: Omit<RunRow, keyof RunConfig | 'key' | 'sameAs'> }
  | { type: 'failed'; key: string; message: string };

function workerEntry(): { file: string; execArgv: string[] } {
  const js = path.join(__dirname, 'ablation-worker.js');
  if (fs.existsSync(js)) return { file: js, execArgv: [] };
  // Running from source (tests through tsx): the worker is TypeScript too.
  return { file: path.join(__dirname, 'ablation-worker.ts'), execArgv: ['--import', 'tsx'] };
}

/**
 * Runs every unfinished run of the grid across worker processes and returns all rows of the
 * grid (finished earlier or now), in grid order.
 */
export async function runGrid(spec: GridSpec, options: GridRunOptions): Promise<GridResult> {
  const start = performance.now();
  const runs = expandGrid(spec);
  if (!fs.existsSync(spec.teacherLogits.file)) {
    throw new KdlabError(
      'TEACHER_LOGITS_MISSING',
      `grid "${spec.name}": teacher logits file ${spec.teacherLogits.file} does not exist. Compute them first with teacherLogitsCached(teacher, trainSet).`,
    );
  }
  const finished = new Map(readRows(options.resultsFile).map((r) => [r.key, r]));
  const byCompute = new Map<string, RunRow>();
  for (const r of finished.values()) byCompute.set(computeKey(r), r);

  const total = runs.length;
  let done = 0;
  let trained = 0;
  let reused = 0;
  const skipped = runs.filter((r) => finished.has(runKey(r))).length;
  done = skipped;

  const record = (config: RunConfig, row: RunRow, wasTrained: boolean): void => {
    appendRow(options.resultsFile, row);
    finished.set(row.key, row);
    byCompute.set(computeKey(config), row);
    done++;
    options.onRow?.({ done, total, row, trained: wasTrained });
  };

  // Runs equivalent to a finished one (alpha = 0 at another T) are copied, not retrained.
  const reuseIfPossible = (config: RunConfig): boolean => {
    const key = runKey(config);
    if (finished.has(key)) return true;
    const twin = byCompute.get(computeKey(config));
    if (!twin) return false;
    record(config, { ...twin, ...config, key, sameAs: twin.sameAs ?? twin.key }, false);
    reused++;
    return true;
  };

  const pending: RunConfig[] = [];
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
      record(config, { ...config, ...result, key: runKey(config), sameAs: null }, true);
      trained++;
    });
    for (const config of runs) reuseIfPossible(config);
  }

  const rows = runs.map((r) => finished.get(runKey(r))).filter((r): r is RunRow => r !== undefined);
  return { rows, trained, skipped, reused, workers: workerCount, wallSeconds: (performance.now() - start) / 1000 };
}

function runInWorkers(
  pending: RunConfig[],
  workerCount: number,
  teacherLogitsFile: string,
  signal: AbortSignal | undefined,
  onDone: (config: RunConfig, row: Extract<WorkerReply, { type: 'done' }>['row']) => void,
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
      let current: RunConfig | undefined;
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
          fail(new KdlabError('GRID_RUN_FAILED', `a grid run failed (T=${current?.temperature}, alpha=${current?.alpha}, hidden=${current?.hidden}): ${msg.message}`));
        }
      });
      child.on('exit', (code, sig) => {
        children.delete(child);
        if (failed) return;
        if (current && code !== 0) {
          fail(new KdlabError('GRID_WORKER_DIED', `a grid worker died (${sig ?? `exit ${code}`}) during T=${current.temperature}, alpha=${current.alpha}; finished runs are saved, rerun to resume.`));
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

/** The run chosen on validation accuracy (ties: lower T, then lower alpha). Never on test. */
export function selectBest(rows: RunRow[]): RunRow {
  if (rows.length === 0) throw new InputError('EMPTY_GRID', 'selectBest: no rows (has the grid run?).');
  return [...rows].sort((a, b) => b.valAccuracy - a.valAccuracy || a.temperature - b.temperature || a.alpha - b.alpha)[0];
}

/** Rows as flat records (hidden sizes as "800x800") for tables and CSV. */
export function flattenRows(rows: RunRow[]): Array<Record<string, number | string>> {
  return rows.map((r) => ({
    student: r.hidden.join('x'),
    temperature: r.temperature,
    alpha: r.alpha,
    seed: r.seed,
    valAccuracy: r.valAccuracy,
    bestEpoch: r.bestEpoch,
    epochs: r.epochs,
    trainSize: r.trainSize ?? -1,
    params: r.params,
    seconds: r.seconds,
    key: r.key,
  }));
}

/**
 * Grid rows as a danfojs DataFrame (what the heatmap builder and the tables take). danfojs is
 * loaded only here, so grid workers never pay for it.
 */
export function gridFrame(rows: RunRow[]): import('danfojs-node').DataFrame {
  if (rows.length === 0) throw new InputError('EMPTY_GRID', 'gridFrame: no rows (has the grid run?).');
  return new (danfo().DataFrame)(flattenRows(rows));
}
