import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendInfo } from './backend';
import { chapterConfig, saveResult, saveRunsUsed, type ChapterConfig } from './chapter';
import { KdlabError } from './errors';
import { workbookRelative } from './paths';
import { resetRunsUsed } from './runs/used';

/**
 * The first and last cells every chapter notebook shares, as one call each: start picks the
 * backend, reads the chapter settings for the mode and notes the tensor count; finish saves the
 * notebook's results, disposes what the notebook created, and fails loudly if any tensor leaked.
 */

/** Anything a notebook creates and must release: models, tensors. */
export interface Disposable {
  dispose(): unknown;
}

export interface NotebookSession {
  /** The notebook's file name without ".ipynb"; its results go to build/results/<name>.json. */
  readonly name: string;
  readonly backend: BackendInfo;
  readonly cfg: ChapterConfig;
  /** Tensors alive when the notebook started (after the backend was ready). */
  readonly tensorsAtStart: number;
  /**
   * Saves `results`, disposes `disposables` and checks that the tensor count is back to where it
   * started. Returns the results file, relative to the workbook (what the cell shows). Call it in
   * the notebook's last code cell.
   */
  finish(results: unknown, ...disposables: ReadonlyArray<Disposable | null | undefined>): string;
}

/**
 * `mode` ("quick": minutes on two cores, "full": the paper's scale) and `seed` come from the
 * notebook's parameters cell. Positional on purpose: tslab fails at run time on a shorthand
 * property ({ mode }) that names a variable of an earlier cell.
 */
export async function startNotebook(name: string, mode: string, seed = 0): Promise<NotebookSession> {
  const backend = await initBackend();
  const cfg = chapterConfig(mode, seed);
  const tensorsAtStart = tf.memory().numTensors;
  resetRunsUsed();
  console.log(`${name}: ${cfg.mode} mode, seed ${cfg.seed}`);
  return {
    name,
    backend,
    cfg,
    tensorsAtStart,
    finish(results, ...disposables) {
      const file = saveResult(name, results);
      saveRunsUsed(name, cfg.mode);
      for (const d of disposables) d?.dispose();
      const leaked = tf.memory().numTensors - tensorsAtStart;
      if (leaked !== 0) {
        throw new KdlabError(
          'TENSOR_LEAK',
          `${name}: ${leaked} tensors more than at the start of the notebook. Dispose models with model.dispose() ` +
            'and wrap tensor code in tf.tidy(); pass the models to finish() so it disposes them.',
        );
      }
      console.log(`results saved to ${workbookRelative(file)}; no tensors leaked (${tf.memory().numTensors} alive, as at the start)`);
      return workbookRelative(file);
    },
  };
}
