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
  // What each teacher's students read: logits on a pool, hidden rows on a training slice.
  const byTeacher = new Map<string, { logits: Map<string, RunSpec>; features: Map<string, { spec: RunSpec; poolTo: number | null }> }>();
  for (const s of specs) {
    if (!s.teacher) continue;
    const wants = byTeacher.get(s.teacher.run) ?? { logits: new Map(), features: new Map() };
    byTeacher.set(s.teacher.run, wants);
    const r = resolveObjective(s.objective);
    // Logits for the logit objectives, and for a feature objective's training fit (execute.ts).
    if (r.needsTeacher || (r.needsFeatures && s.record?.fit)) {
      wants.logits.set(JSON.stringify([s.data.validationSize, s.data.splitSeed, s.data.pool ?? null]), s);
    }
    if (r.needsFeatures && (s.jitter ?? 0) === 0) {
      const poolTo = featurePoolSize(s.objective.objective, lastHiddenShape(s.model));
      wants.features.set(JSON.stringify([s.data, poolTo]), { spec: s, poolTo });
    }
  }
  for (const [run, wants] of byTeacher) {
    if (wants.logits.size + wants.features.size === 0 || !readRun(run)) continue; // trainRun names a missing teacher
    const teacher = await loadRunModel(run);
    try {
      for (const s of wants.logits.values()) teacherLogitsCached(teacher, resolveData(s.data).pool);
      for (const { spec, poolTo } of wants.features.values()) teacherFeaturesCached(teacher, resolveData(spec.data).train, { poolTo });
    } finally {
      teacher.dispose();
    }
  }
}
