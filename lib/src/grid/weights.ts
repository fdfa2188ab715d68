import * as path from 'node:path';

/**
 * Method runs' kept students (methods.ts): one checkpoint per run beside its results file, named
 * by the run's key.
 */

/** `build/results/grids/05-full-800x800.jsonl` → `build/results/grids/05-full-800x800.weights`. */
export function gridWeightsDir(resultsFile: string): string {
  const ext = path.extname(resultsFile);
  return path.join(path.dirname(resultsFile), `${path.basename(resultsFile, ext)}.weights`);
}

/** The checkpoint directory of one run; a copied row (sameAs) points at the run it copies. */
export function gridRunWeightsDir(resultsFile: string, row: { key: string; sameAs: string | null }): string {
  return path.join(gridWeightsDir(resultsFile), row.sameAs ?? row.key);
}
