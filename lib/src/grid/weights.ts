import * as path from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { hasCheckpoint, loadCheckpoint } from '../checkpoint';

/**
 * A grid's trained students, kept beside its results file when runGrid is asked to
 * (saveWeights): one checkpoint per trained run, named by the run's key. Picking the best run
 * then costs a load instead of a second training, and the loaded student is the very model the
 * grid validated (a retraining is only equal when it repeats the worker's BLAS thread count).
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

/**
 * Loads the weights the grid saved for `row` into `model` (built with the row's architecture).
 * False when none were saved (a grid run without saveWeights, or rows from before it existed).
 */
export async function loadGridWeights(resultsFile: string, row: { key: string; sameAs: string | null }, model: tf.LayersModel): Promise<boolean> {
  const dir = gridRunWeightsDir(resultsFile, row);
  if (!hasCheckpoint(dir)) return false;
  return (await loadCheckpoint(dir, { model }, { weightsOnly: true })) !== null;
}
