import type { DistillObjectiveName } from '../losses';

/**
 * What is left of the old grid engine's spec (runGrid is gone: grids are lists of RunSpecs run by
 * runAll, lib/src/runs). Only the worker machinery of notebooks 06-08 (methods.ts, hinton.ts,
 * generalization.ts and their workers) still uses these; it goes when those chapters are ported.
 */

/** The settings of one method run besides its objective (methods.ts). */
export interface RunSettings {
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

/** One line of a JSON Lines results file (rows.ts): a run's settings, its key and its scores. */
export type AnyRow = RunSettings & { key: string; objective?: DistillObjectiveName } & Record<string, unknown>;

/** Stable JSON (sorted keys) so that equal configurations hash equally. */
export function canonical(value: unknown): string {
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
