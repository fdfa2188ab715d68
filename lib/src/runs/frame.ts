import type { DataFrame } from 'danfojs-node';
import { danfo } from '../danfo';
import type { RunResult } from './store';

/**
 * Results as a table: one row per run, one column per thing a summary groups by or averages.
 * Mean ± sd over seeds, per method or per T × alpha cell, is then a group-by in the notebook:
 *   runsFrame(results).groupby(['method']).agg({ testErrors: ['mean', 'std', 'count'] })
 * (danfo's std is the sample standard deviation, n − 1, as meanSd's).
 */

export type RunTableRow = Record<string, string | number | boolean | null>;

/** The flat row of one run: its tags first, then its settings and scores. */
export function runRow(r: RunResult): RunTableRow {
  const s = r.spec;
  const objective = s.objective as unknown as Record<string, string | number>;
  const budget = s.budget as { epochs?: number; steps?: number };
  return {
    ...(s.tags ?? {}),
    label: s.label ?? null,
    key: r.key,
    model: s.model.kind === 'mlp' ? s.model.hidden.join('×') : `conv ${s.model.filters.join('/')}`,
    objective: s.objective.objective,
    temperature: typeof objective.temperature === 'number' ? objective.temperature : null,
    alpha: typeof objective.alpha === 'number' ? objective.alpha : null,
    seed: s.seed,
    trainSize: r.trainSize,
    epochs: budget.epochs ?? r.history.length,
    steps: r.steps,
    keptEpoch: r.keptEpoch,
    // A diverged run has no scores (its result counts every image as an error).
    diverged: r.diverged !== undefined,
    valAccuracy: r.diverged ? null : r.validation.accuracy,
    valErrors: r.diverged ? null : r.validation.errors,
    testAccuracy: r.diverged ? null : r.test?.accuracy ?? null,
    testErrors: r.diverged ? null : r.test?.errors ?? null,
    trainErrors: r.fit?.trainErrors ?? null,
    teacherDisagreements: r.fit?.teacherDisagreements ?? null,
    params: r.params,
    extraParams: r.extraParams,
    seconds: r.seconds,
  };
}

/** A danfo DataFrame of the runs (runRow per run). */
export function runsFrame(results: readonly RunResult[]): DataFrame {
  const dfd = danfo();
  return new dfd.DataFrame(results.map(runRow));
}
