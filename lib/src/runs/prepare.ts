import { teacherLogitsCached } from '../cache';
import { resolveData } from '../data';
import { resolveObjective } from '../losses';
import { featurePoolSize, teacherFeaturesCached } from '../teacher-features';
import { lastHiddenShape } from './models';
import type { RunSpec } from './spec';
import { loadRunModel, readRun } from './store';

/**
 * What a teacher's students read from the cache instead of computing it each: the teacher's
 * logits on each run's pool, and its hidden rows for the feature objectives on clean inputs.
 * runAll fills it once per teacher (as one job, in a worker or here) before those students start,
 * so the workers never race to write the same file.
 */

/** True when `spec` reads something its teacher's preparation writes. */
export function readsTeacherCache(spec: RunSpec): boolean {
  if (!spec.teacher) return false;
  const r = resolveObjective(spec.objective);
  return r.needsTeacher || (r.needsFeatures && (spec.record?.fit === true || (spec.jitter ?? 0) === 0));
}

/** Fills the cache for `specs`, the students of one teacher (its run must be in the store). */
export async function prepareTeacherTargets(specs: readonly RunSpec[]): Promise<void> {
  await prepareTeacherLogits(specs);
  await prepareTeacherFeatures(specs);
}

async function prepareTeacherFeatures(specs: readonly RunSpec[]): Promise<void> {
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

async function prepareTeacherLogits(specs: readonly RunSpec[]): Promise<void> {
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
