import { fork, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initBackend } from '../backend';
import { KdlabError } from '../errors';
import type { EpochRecord } from '../train/types';
import { trainRun } from './execute';
import { checkRunSpec, describeRun, runKey, type RunSpec } from './spec';
import { prepareTeacherTargets } from './prepare';
import { JobGraph, type Job } from './schedule';
import { commitRun, readRun, type Divergence, type RunOutcome, type RunResult } from './store';
import { noteRunUsed } from './used';

/**
 * runAll: every spec's result, in the order given. Finished runs are read from the store; the
 * rest train in worker processes (one tfjs backend and one BLAS thread each, so the processes,
 * not threads, share the cores) or, with workers: 0, here, one after another. A teacher listed
 * among the specs trains before the students that name it, which start as soon as it (and its
 * cache of logits and hidden rows) is ready (schedule.ts). Interrupt it and run it again: it
 * resumes (finished runs are in the store, long runs from their checkpoints).
 */

export interface RunAllOptions {
  /** Worker processes; 0 trains in this process. Default: the number of cores. */
  workers?: number;
  /** Each epoch of each run as it finishes (a live chart); comes from the workers too. */
  onEpoch?: (spec: RunSpec, record: EpochRecord) => void;
  /** Each run as it finishes or is read back. */
  onDone?: (result: RunResult, progress: { done: number; total: number }) => void;
  signal?: AbortSignal;
  /**
   * Keep a run whose loss diverges as an outcome (result.diverged; stored, so a rerun reads it
   * back) instead of failing the call: for a search, where a setting may diverge. Without it a
   * diverging run, trained or stored, stops runAll with the run's name and the fix.
   */
  keepDiverged?: boolean;
}

/** Messages between runAll and runs/worker.ts: a job (schedule.ts) and what became of it. */
export type WorkerRequest = Job;
export type WorkerReply =
  | { type: 'ready' }
  | { type: 'epoch'; key: string; record: EpochRecord }
  | { type: 'done'; key: string; outcome: RunOutcome }
  | { type: 'prepared'; key: string }
  | { type: 'failed'; key: string; message: string };

export async function runAll(specs: readonly RunSpec[], options: RunAllOptions = {}): Promise<RunResult[]> {
  specs.forEach(checkRunSpec);
  const keys = specs.map(runKey);
  const done = new Map<string, RunResult>();
  const total = new Set(keys).size;
  const finish = (result: RunResult): void => {
    done.set(result.key, result);
    noteRunUsed(result.key);
    options.onDone?.(result, { done: done.size, total });
  };
  const refuseDiverged = (spec: RunSpec, outcome: RunOutcome): void => {
    if (outcome.diverged && !options.keepDiverged) throw divergedRun(spec, outcome.diverged);
  };
  const pending = new Map<string, RunSpec>();
  specs.forEach((spec, i) => {
    if (done.has(keys[i]) || pending.has(keys[i])) return;
    const stored = readRun(keys[i]);
    if (stored) {
      refuseDiverged(spec, stored);
      finish({ ...stored, spec });
    } else pending.set(keys[i], spec);
  });
  if (pending.size > 0) {
    const graph = new JobGraph(pending);
    if (graph.stuck()) throw new KdlabError('BAD_RUN_SPEC', 'runAll: the specs name each other as teachers in a cycle.');
    // Each run is committed the moment it finishes: an interruption later keeps it.
    const commit = (key: string, outcome: RunOutcome): void => {
      refuseDiverged(pending.get(key) as RunSpec, outcome);
      finish(commitRun(key, pending.get(key) as RunSpec, outcome));
    };
    const workers = options.workers ?? os.availableParallelism();
    if (workers === 0) await runHere(graph, options, commit);
    else await runInWorkers(graph, Math.min(workers, graph.remaining), options, commit);
  }
  return specs.map((spec, i) => ({ ...(done.get(keys[i]) as RunResult), spec }));
}

/** Trains one spec here (or reads it back): runAll with workers: 0. */
export async function executeRun(spec: RunSpec, options: Omit<RunAllOptions, 'workers'> = {}): Promise<RunResult> {
  const [result] = await runAll([spec], { ...options, workers: 0 });
  return result;
}

type Commit = (key: string, outcome: RunOutcome) => void;

function divergedRun(spec: RunSpec, d: Divergence): KdlabError {
  return new KdlabError('TRAINING_DIVERGED', `run "${describeRun(spec)}" diverged in epoch ${d.epoch} (mean loss ${d.loss}): ` +
    'lower its learning rate, or check the teacher logits. A search that expects some settings to diverge passes runAll(specs, { keepDiverged: true }).');
}

async function runHere(graph: JobGraph, options: RunAllOptions, commit: Commit): Promise<void> {
  const backend = (await initBackend({ quiet: true })).name;
  for (let job = graph.take(); job; job = graph.take()) {
    if (job.type === 'prepare') await prepareTeacherTargets(job.specs);
    else {
      const spec = job.spec;
      commit(job.key, await trainRun(spec, { onEpoch: (r) => options.onEpoch?.(spec, r), signal: options.signal }, backend));
    }
    graph.finish(job);
  }
  if (graph.remaining > 0) throw new KdlabError('BAD_RUN_SPEC', 'runAll: the specs name each other as teachers in a cycle.');
}

/** The one worker script beside this file: compiled JavaScript, or TypeScript through tsx (tests). */
function workerEntry(): { file: string; execArgv: string[] } {
  const js = path.join(__dirname, 'worker.js');
  if (fs.existsSync(js)) return { file: js, execArgv: [] };
  return { file: path.join(__dirname, 'worker.ts'), execArgv: ['--import', 'tsx'] };
}

/** What a job is, for messages: the run's description, or the teacher whose cache it fills. */
function describeJob(job: Job): string {
  return job.type === 'run' ? `run "${describeRun(job.spec)}"` : `filling the cache of teacher run ${job.teacher} (its logits and hidden rows)`;
}

/**
 * Runs the graph's jobs in `workers` processes, one job at a time each; a worker with nothing it
 * can start waits until another job ends. A failure, a dying worker or an abort stops every
 * worker; runs finished before that are committed already.
 */
function runInWorkers(graph: JobGraph, workers: number, options: RunAllOptions, commit: Commit): Promise<void> {
  const { file, execArgv } = workerEntry();
  const children = new Set<ChildProcess>();
  const waiting: Array<() => void> = [];
  const signal = options.signal;
  return new Promise((resolve, reject) => {
    let failed = false;
    const fail = (err: Error): void => {
      if (failed) return;
      failed = true;
      for (const c of children) c.kill('SIGKILL');
      reject(err);
    };
    const onAbort = (): void => fail(new KdlabError('ABORTED', 'runs interrupted; finished runs are in the store and a rerun resumes from them.'));
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    const wakeWaiting = (): void => {
      for (const next of waiting.splice(0)) next();
    };
    const startWorker = (): void => {
      const env = { ...process.env, KDLAB_BLAS_THREADS: '1', OPENBLAS_NUM_THREADS: '1' };
      const child = fork(file, [], { execArgv, env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      children.add(child);
      let current: Job | undefined;
      const next = (): void => {
        if (failed) return;
        current = graph.take();
        if (current !== undefined) {
          const request: WorkerRequest = current;
          child.send(request);
        } else if (graph.remaining === 0) {
          child.disconnect();
        } else if (graph.stuck()) {
          fail(new KdlabError('BAD_RUN_SPEC', 'runAll: the specs name each other as teachers in a cycle.'));
        } else {
          waiting.push(next); // every job it could start waits for one still running
        }
      };
      const finished = (job: Job): void => {
        graph.finish(job);
        current = undefined;
        next();
        wakeWaiting();
      };
      child.on('message', (msg: WorkerReply) => {
        if (failed) return;
        const job = current;
        if (msg.type === 'ready') next();
        else if (msg.type === 'epoch' && job?.type === 'run') options.onEpoch?.(job.spec, msg.record);
        else if (msg.type === 'done' && job?.type === 'run') {
          try {
            commit(job.key, msg.outcome);
          } catch (err) {
            fail(err as Error);
            return;
          }
          finished(job);
        } else if (msg.type === 'prepared' && job?.type === 'prepare') {
          finished(job);
        } else if (msg.type === 'failed') {
          fail(new KdlabError('RUN_FAILED', `${job ? describeJob(job) : msg.key} failed: ${msg.message}`));
        }
      });
      child.on('exit', (code, sig) => {
        children.delete(child);
        if (failed) return;
        if (current !== undefined && code !== 0) {
          fail(new KdlabError('RUN_WORKER_DIED', `a worker died (${sig ?? `exit ${code}`}) during ${describeJob(current)}; finished runs are in the store, run again to resume.`));
          return;
        }
        if (children.size === 0) {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        }
      });
    };
    for (let i = 0; i < workers; i++) startWorker();
  });
}
