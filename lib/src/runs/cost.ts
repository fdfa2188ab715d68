import { PIXELS, NUM_CLASSES } from '../data';
import { resolveObjective } from '../losses';
import { featurePoolSize, keepsTeacherFeatures } from '../teacher-features';
import { lastHiddenShape } from './models';
import type { ModelSpec, RunSpec } from './spec';
import { readRun } from './store';

/**
 * A rough measure of a run's work, for runAll to start the longest runs first: in notebook 08's
 * own order its 270 s CNN hint runs came last, where one worker can end alone on one of them
 * while the other idles. Multiply-adds per training example, times examples seen; only the ranking
 * matters, so fixed costs (pooling, the optimizer, loss terms) are left out.
 */

/** Multiply-adds of one example's forward pass through the architecture. */
export function forwardMacs(model: ModelSpec): number {
  if (model.kind === 'mlp') {
    const sizes = [PIXELS, ...model.hidden, NUM_CLASSES];
    let macs = 0;
    for (let i = 1; i < sizes.length; i++) macs += sizes[i - 1] * sizes[i];
    return macs;
  }
  // createConvNet: 3×3 stride-2 'same' convolutions, 28×28 → 14×14 → 7×7, then the dense layer.
  const [f1, f2] = model.filters;
  return 14 * 14 * 9 * f1 + 7 * 7 * 9 * f1 * f2 + 7 * 7 * f2 * NUM_CLASSES;
}

/**
 * Estimated multiply-adds of training `spec` (trainSize: its training rows). `teacherModel`: the
 * architecture of the run it names as teacher, when that run is not in the store yet (it is
 * looked up there otherwise): a feature objective's cost is mostly that teacher's forward pass.
 */
export function estimatedRunWork(spec: RunSpec, trainSize: number, teacherModel?: ModelSpec): number {
  const budget = spec.budget as { epochs?: number; steps?: number };
  const examples = budget.steps !== undefined ? budget.steps * (spec.batchSize ?? 128) : (budget.epochs ?? 0) * trainSize;
  let perExample = 3 * forwardMacs(spec.model); // forward and the two gradients
  const objective = resolveObjective(spec.objective);
  const teacher = teacherModel ?? (spec.teacher ? readRun(spec.teacher.run)?.spec.model : undefined);
  if (objective.needsFeatures && teacher) {
    const s = lastHiddenShape(spec.model);
    const t = lastHiddenShape(teacher);
    const teacherSize = t.reduce((a, b) => a * b, 1);
    const perRow = featurePoolSize(spec.objective.objective, s) ?? teacherSize;
    const cached = keepsTeacherFeatures(spec.jitter ?? 0, trainSize * perRow * 4);
    if (!cached) perExample += forwardMacs(teacher);
    // createRegressor: a 1×1 convolution between image-shaped layers, else a dense layer.
    const regressor = s.length === 3 && t.length === 3 ? s[0] * s[1] * s[2] * t[2] : s.reduce((a, b) => a * b, 1) * teacherSize;
    if (objective.needsRegressor) perExample += 3 * regressor;
  } else if (objective.needsTeacher && (spec.jitter ?? 0) > 0 && teacher) {
    perExample += forwardMacs(teacher);
  }
  return examples * perExample;
}
