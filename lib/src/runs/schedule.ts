import { resolveData } from '../data';
import { estimatedRunWork } from './cost';
import { readsTeacherCache } from './prepare';
import type { RunSpec } from './spec';

/**
 * The order runAll works in, as a graph of jobs instead of waves: a student starts as soon as
 * its teacher has trained and that teacher's cache is filled (one 'prepare' job per teacher,
 * which runs in a worker like a run), not when every run before it has ended; among the jobs
 * that can start, preparations come first (they unblock students), then the runs with the most
 * work (runs/cost.ts), so the workers end within about one short run of each other.
 */

export type Job =
  | { type: 'run'; key: string; spec: RunSpec }
  | { type: 'prepare'; key: string; teacher: string; specs: RunSpec[] };

const prepareKey = (teacher: string) => `prepare:${teacher}`;

export class JobGraph {
  private readonly runs = new Map<string, RunSpec>();
  /** Teacher run key → the students that read its cache. */
  private readonly preparations = new Map<string, RunSpec[]>();
  private readonly work = new Map<string, number>();
  private readonly started = new Set<string>();

  constructor(pending: ReadonlyMap<string, RunSpec>) {
    for (const [key, spec] of pending) {
      this.runs.set(key, spec);
      // A teacher still to train is among the pending runs, not in the store: its spec says its cost.
      const teacher = spec.teacher ? pending.get(spec.teacher.run)?.model : undefined;
      this.work.set(key, estimatedRunWork(spec, resolveData(spec.data).train.size, teacher));
      if (spec.teacher && readsTeacherCache(spec)) {
        const list = this.preparations.get(spec.teacher.run) ?? [];
        list.push(spec);
        this.preparations.set(spec.teacher.run, list);
      }
    }
  }

  /** Jobs not finished yet (started or not). */
  get remaining(): number {
    return this.runs.size + this.preparations.size;
  }

  /** Jobs started and not finished. */
  get running(): number {
    return this.started.size;
  }

  /** The next job that can start now, marked as started; undefined when none can. */
  take(): Job | undefined {
    for (const [teacher, specs] of this.preparations) {
      const key = prepareKey(teacher);
      if (!this.started.has(key) && !this.runs.has(teacher)) return this.start({ type: 'prepare', key, teacher, specs });
    }
    let best: [string, RunSpec] | undefined;
    for (const [key, spec] of this.runs) {
      if (this.started.has(key) || !this.canStart(spec)) continue;
      if (!best || (this.work.get(key) ?? 0) > (this.work.get(best[0]) ?? 0)) best = [key, spec];
    }
    return best ? this.start({ type: 'run', key: best[0], spec: best[1] }) : undefined;
  }

  /** Marks `job` finished: the runs waiting for it can start. */
  finish(job: Job): void {
    this.started.delete(job.key);
    if (job.type === 'run') this.runs.delete(job.key);
    else this.preparations.delete(job.teacher);
  }

  /** True when nothing can ever start again: every remaining job waits for another (a cycle). */
  stuck(): boolean {
    return this.remaining > 0 && this.running === 0 && !this.peek();
  }

  private peek(): boolean {
    for (const teacher of this.preparations.keys()) if (!this.runs.has(teacher)) return true;
    for (const spec of this.runs.values()) if (this.canStart(spec)) return true;
    return false;
  }

  private canStart(spec: RunSpec): boolean {
    const teacher = spec.teacher?.run;
    if (teacher === undefined) return true;
    if (this.runs.has(teacher)) return false;
    return !(readsTeacherCache(spec) && this.preparations.has(teacher));
  }

  private start(job: Job): Job {
    this.started.add(job.key);
    return job;
  }
}
