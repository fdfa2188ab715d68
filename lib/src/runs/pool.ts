import { fork, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initBackend } from '../backend';
import { teacherLogitsCached } from '../cache';
import { featurePoolSize, teacherFeaturesCached } from '../teacher-features';
import { estimatedRunWork } from './cost';
import { lastHiddenShape } from './models';
import { resolveData } from '../data';
import { KdlabError } from '../errors';
import { resolveObjective } from '../losses';
import type { EpochRecord } from '../train/types';
import { trainRun } from './execute';
import { checkRunSpec, describeRun, runKey, type RunSpec } from './spec';
import { commitRun, loadRunModel, readRun, type RunOutcome, type RunResult } from './store';

/**
 * runAll: every spec's result, in the order given. Finished runs are read from the store; the
 * rest train in worker processes (one tfjs backend and one BLAS thread each, so the processes,
 * not threads, share the cores) or, with workers: 0, here, one after another. A teacher listed
 * among the specs trains before the students that name it. Interrupt it and run it again: it
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
}

/** Messages between runAll and runs/worker.ts. */
export type WorkerRequest = { type: 'run'; key: string; spec: RunSpec };
export type WorkerReply =
  | { type: 'ready' }
  | { type: 'epoch'; key: string; record: EpochRecord }
  | { type: 'done'; key: string; outcome: RunOutcome }
  | { type: 'failed'; key: string; message: string };

export async function runAll(specs: readonly RunSpec[], options: RunAllOptions = {}): Promise<RunResult[]> {
  specs.forEach(checkRunSpec);
  const keys = specs.map(runKey);
  const done = new Map<string, RunResult>();
  const total = new Set(keys).size;
  const finish = (result: RunResult): void => {
    done.set(result.key, result);
    options.onDone?.(result, { done: done.size, total });
  };
  const pending = new Map<string, RunSpec>();
  specs.forEach((spec, i) => {
    if (done.has(keys[i]) || pending.has(keys[i])) return;
    const stored = readRun(keys[i]);
    if (stored) finish({ ...stored, spec });
    else pending.set(keys[i], spec);
  });
  // Waves: a run waits until the teacher it names (if that is pending too) has finished.
  while (pending.size > 0) {
    const wave = longestFirst([...pending].filter(([, s]) => !s.teacher || !pending.has(s.teacher.run)));
    if (wave.length === 0) throw new KdlabError('BAD_RUN_SPEC', 'runAll: the specs name each other as teachers in a cycle.');
    await prepareTeacherTargets(wave.map(([, s]) => s));
    const workers = options.workers ?? os.availableParallelism();
    // Each run is committed the moment it finishes: an interruption later keeps it.
    const commit = (key: string, outcome: RunOutcome): void => {
      finish(commitRun(key, pending.get(key) as RunSpec, outcome));
      pending.delete(key);
    };
    if (workers === 0) await runHere(wave, options, commit);
    else await runInWorkers(wave, Math.min(workers, wave.length), options, commit);
  }
  return specs.map((spec, i) => ({ ...(done.get(keys[i]) as RunResult), spec }));
}

/**
 * The wave's runs, the most work first (a stable sort): two workers that take the long runs first
 * end within about one short run of each other, instead of one finishing a long run alone.
 */
function longestFirst(wave: [string, RunSpec][]): [string, RunSpec][] {
  const work = wave.map(([, s]) => estimatedRunWork(s, resolveData(s.data).train.size));
  return wave.map((run, i) => ({ run, i })).sort((a, b) => work[b.i] - work[a.i] || a.i - b.i).map(({ run }) => run);
}

/** Trains one spec here (or reads it back): runAll with workers: 0. */
export async function executeRun(spec: RunSpec, options: Omit<RunAllOptions, 'workers'> = {}): Promise<RunResult> {
  const [result] = await runAll([spec], { ...options, workers: 0 });
  return result;
}

/**
 * The teachers' logits on each run's pool, and their hidden rows for the feature objectives,
 * computed here once before the runs start, so that workers read them from the cache instead of
 * each computing them (and racing to write them).
 */
async function prepareTeacherTargets(specs: RunSpec[]): Promise<void> {
  await prepareTeacherLogits(specs);
  await prepareTeacherFeatures(specs);
}

async function prepareTeacherFeatures(specs: RunSpec[]): Promise<void> {
  const wanted = new Map<string, { spec: RunSpec; poolTo: number | null }>();
  for (const s of specs) {
    if (!s.teacher || !resolveObjective(s.objective).needsFeatures || (s.jitter ?? 0) > 0) continue;
    const poolTo = featurePoolSize(s.objective.objective, lastHiddenShape(s.model));
    wanted.set(JSON.stringify([s.teacher.run, s.data, poolTo]), { spec: s, poolTo });
  }
  for (const { spec, poolTo } of wanted.values()) {
    if (!readRun(spec.teacher?.run ?? '')) continue; // trainRun names the missing teacher
    const teacher = await loadRunModel(spec.teacher?.run ?? '');
    try {
      teacherFeaturesCached(teacher, resolveData(spec.data).train, { poolTo });
    } finally {
      teacher.dispose();
    }
  }
}

async function prepareTeacherLogits(specs: RunSpec[]): Promise<void> {
  const wanted = new Map<string, RunSpec>();
  for (const s of specs) {
    const r = resolveObjective(s.objective);
    // Logits for the logit objectives, and for a feature objective's training fit (execute.ts).
    if (!s.teacher || !(r.needsTeacher || (r.needsFeatures && s.record?.fit))) continue;
    wanted.set(JSON.stringify([s.teacher.run, s.data.validationSize, s.data.splitSeed, s.data.pool ?? null]), s);
  }
  for (const s of wanted.values()) {
    if (!readRun(s.teacher?.run ?? '')) continue; // trainRun names the missing teacher
    const teacher = await loadRunModel(s.teacher?.run ?? '');
    try {
      teacherLogitsCached(teacher, resolveData(s.data).pool);
    } finally {
      teacher.dispose();
    }
  }
}

type Commit = (key: string, outcome: RunOutcome) => void;

async function runHere(wave: [string, RunSpec][], options: RunAllOptions, commit: Commit): Promise<void> {
  const backend = (await initBackend({ quiet: true })).name;
  for (const [key, spec] of wave) {
    commit(key, await trainRun(spec, { onEpoch: (r) => options.onEpoch?.(spec, r), signal: options.signal }, backend));
  }
}

/** The one worker script beside this file: compiled JavaScript, or TypeScript through tsx (tests). */
function workerEntry(): { file: string; execArgv: string[] } {
  const js = path.join(__dirname, 'worker.js');
  if (fs.existsSync(js)) return { file: js, execArgv: [] };
  return { file: path.join(__dirname, 'worker.ts'), execArgv: ['--import', 'tsx'] };
}

/**
 * Runs the wave in `workers` processes, one run at a time each. A failure, a dying worker or an
 * abort stops every worker; runs finished before that are committed already.
 */
function runInWorkers(wave: [string, RunSpec][], workers: number, options: RunAllOptions, commit: Commit): Promise<void> {
  const { file, execArgv } = workerEntry();
  const queue = [...wave];
  const children = new Set<ChildProcess>();
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
    const startWorker = (): void => {
      const env = { ...process.env, KDLAB_BLAS_THREADS: '1', OPENBLAS_NUM_THREADS: '1' };
      const child = fork(file, [], { execArgv, env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      children.add(child);
      let current: [string, RunSpec] | undefined;
      const next = (): void => {
        current = queue.shift();
        if (current === undefined) {
          child.disconnect();
          return;
        }
        const request: WorkerRequest = { type: 'run', key: current[0], spec: current[1] };
        child.send(request);
      };
      child.on('message', (msg: WorkerReply) => {
        if (failed) return;
        if (msg.type === 'ready') next();
        else if (msg.type === 'epoch' && current) options.onEpoch?.(current[1], msg.record);
        else if (msg.type === 'done' && current) {
          try {
            commit(current[0], msg.outcome);
          } catch (err) {
            fail(err as Error);
            return;
          }
          next();
        } else if (msg.type === 'failed') {
          fail(new KdlabError('RUN_FAILED', `run "${current ? describeRun(current[1]) : msg.key}" failed: ${msg.message}`));
        }
      });
      child.on('exit', (code, sig) => {
        children.delete(child);
        if (failed) return;
        if (current !== undefined && code !== 0) {
          fail(new KdlabError('RUN_WORKER_DIED', `a worker died (${sig ?? `exit ${code}`}) during "${describeRun(current[1])}"; finished runs are in the store, run again to resume.`));
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
