import { fork, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { KdlabError } from '../errors';
import { WORKER_BLAS_THREADS } from '../kernels/native';
import type { EpochRecord } from '../train';

/**
 * The worker pool of the old per-chapter engines (notebooks 06-08: methods.ts, hinton.ts,
 * generalization.ts); runGrid is gone (grids are lists of RunSpecs run by runAll, lib/src/runs).
 * This goes when those chapters are ported.
 */

/** A worker script beside this file: compiled JavaScript, or TypeScript through tsx (tests). */
export function workerEntry(name = 'worker'): { file: string; execArgv: string[] } {
  const js = path.join(__dirname, `${name}.js`);
  if (fs.existsSync(js)) return { file: js, execArgv: [] };
  // Running from source (tests through tsx): the worker is TypeScript too.
  return { file: path.join(__dirname, `${name}.ts`), execArgv: ['--import', 'tsx'] };
}

/** What runInWorkers needs: the jobs, the worker script, how to ask for and name one job. */
export interface WorkerPool<C, R> {
  pending: C[];
  workers: number;
  /** Worker script name beside this file ('methods-worker', 'transfer-worker', 'hinton-worker'). */
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
