import { fork, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { KdlabError } from '../errors';
import { WORKER_BLAS_THREADS } from '../kernels/native';
import type { DistillObjectiveName } from '../losses';
import type { EpochRecord } from '../train';
import { appendRow, readRows } from './rows';
import { gridRunWeightsDir } from './weights';
import { computeKey, describeRun, expandGrid, runKey, type AnyRow, type AnyRun, type AnySpec, type GridSpec, type RunResult, type RunRow } from './spec';

/**
 * Runs a grid: skips what the results file already holds, copies runs equivalent to a finished
 * one, trains the rest in worker processes (one tfjs backend each) and appends each row as it
 * finishes, so an interrupted grid resumes where it stopped.
 */

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
  /** Keep each trained student's weights beside the results file (grid/weights.ts). */
  saveWeights?: boolean;
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
export type WorkerRequest = { type: 'run'; config: AnyRun; key: string; teacherLogitsFile: string; weightsDir: string | null };
export type WorkerReply =
  | { type: 'ready' }
  | { type: 'done'; key: string; row: Omit<RunResult, 'key' | 'sameAs'> }
  | { type: 'failed'; key: string; message: string };

/** A worker script beside this file: compiled JavaScript, or TypeScript through tsx (tests). */
export function workerEntry(name = 'worker'): { file: string; execArgv: string[] } {
  const js = path.join(__dirname, `${name}.js`);
  if (fs.existsSync(js)) return { file: js, execArgv: [] };
  // Running from source (tests through tsx): the worker is TypeScript too.
  return { file: path.join(__dirname, `${name}.ts`), execArgv: ['--import', 'tsx'] };
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

  // Hashing a run's config is not free: once per run.
  const keys = new Map(runs.map((r) => [r, runKey(r)]));
  const keyOf = (r: AnyRun): string => keys.get(r) ?? runKey(r);
  const total = runs.length;
  let done = 0;
  let trained = 0;
  let reused = 0;
  const skipped = runs.filter((r) => finished.has(keyOf(r))).length;
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
    const key = keyOf(config);
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
    const teacherLogitsFile = spec.teacherLogits.file;
    await runInWorkers<AnyRun, Extract<WorkerReply, { type: 'done' }>['row']>({
      pending,
      workers: workerCount,
      entry: 'worker',
      request: (config): WorkerRequest => {
        const key = keyOf(config);
        return { type: 'run', config, key, teacherLogitsFile, weightsDir: options.saveWeights ? gridRunWeightsDir(options.resultsFile, { key, sameAs: null }) : null };
      },
      describe: (config) => `${describeRun(config)}, hidden=${config.hidden}`,
      signal: options.signal,
      onDone: (config, result) => {
        record(config, { ...config, ...result, key: keyOf(config), sameAs: null } as AnyRow, true);
        trained++;
      },
    });
    for (const config of runs) reuseIfPossible(config);
  }

  const rows = runs.map((r) => finished.get(keyOf(r))).filter((r): r is AnyRow => r !== undefined);
  return { rows: rows as RunRow<N>[], trained, skipped, reused, workers: workerCount, wallSeconds: (performance.now() - start) / 1000 };
}

/** What runInWorkers needs: the jobs, the worker script, how to ask for and name one job. */
export interface WorkerPool<C, R> {
  pending: C[];
  workers: number;
  /** Worker script name beside this file ('worker': the grid's; 'methods-worker'). */
  entry: string;
  /** The message that asks a worker to run `config`. */
  request: (config: C) => unknown;
  /** How errors name a job. */
  describe: (config: C) => string;
  signal?: AbortSignal;
  onDone: (config: C, row: R) => void;
  /** Progress a worker reports while it runs a job (an 'epoch' message), if it sends any. */
  onEpoch?: (config: C, record: EpochRecord) => void;
}

/**
 * Runs jobs in `workers` worker processes, one job at a time each: a worker says 'ready', gets a
 * job, answers 'done' (with the row) or 'failed'. One failure, a dying worker or an abort stops
 * every worker; finished jobs have been passed to onDone already.
 */
export function runInWorkers<C, R>(pool: WorkerPool<C, R>): Promise<void> {
  const { file, execArgv } = workerEntry(pool.entry);
  const queue = [...pool.pending];
  const children = new Set<ChildProcess>();
  const signal = pool.signal;
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
      const threads = String(WORKER_BLAS_THREADS);
      const env = { ...process.env, KDLAB_BLAS_THREADS: threads, OPENBLAS_NUM_THREADS: threads };
      const child = fork(file, [], { execArgv, env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      children.add(child);
      let current: C | undefined;
      const next = (): void => {
        current = queue.shift();
        if (current === undefined) {
          child.disconnect();
          return;
        }
        child.send(pool.request(current) as object);
      };
      child.on('message', (msg: { type: string; row?: R; message?: string; record?: EpochRecord }) => {
        if (failed) return;
        if (msg.type === 'ready') next();
        else if (msg.type === 'epoch' && current !== undefined && msg.record) pool.onEpoch?.(current, msg.record);
        else if (msg.type === 'done' && current !== undefined) {
          pool.onDone(current, msg.row as R);
          next();
        } else if (msg.type === 'failed') {
          const what = current !== undefined ? pool.describe(current) : 'unknown run';
          fail(new KdlabError('GRID_RUN_FAILED', `a grid run failed (${what}): ${msg.message ?? 'no message'}`));
        }
      });
      child.on('exit', (code, sig) => {
        children.delete(child);
        if (failed) return;
        if (current !== undefined && code !== 0) {
          fail(new KdlabError('GRID_WORKER_DIED', `a grid worker died (${sig ?? `exit ${code}`}) during ${pool.describe(current)}; finished runs are saved, rerun to resume.`));
          return;
        }
        if (children.size === 0) {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        }
      });
    };
    for (let i = 0; i < pool.workers; i++) startWorker();
  });
}
