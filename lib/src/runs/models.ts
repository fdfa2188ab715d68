import type * as tf from '@tensorflow/tfjs';
import { createConvNet, createMlp } from '../models';
import type { ModelSpec } from './spec';

/** A fresh, seeded model of `spec` (its dropout, if any, is active only while training). */
export function createModel(spec: ModelSpec, seed: number, name?: string): tf.Sequential {
  if (spec.kind === 'conv') return createConvNet({ filters: spec.filters, seed, name });
  const { hidden, dropout, inputDropout, maxNorm } = spec;
  return createMlp({ hidden, dropout, inputDropout, maxNorm, seed, name });
}

/** Per-example shape of an architecture's last hidden representation (models.ts hiddenLayers). */
export function lastHiddenShape(spec: ModelSpec): number[] {
  if (spec.kind === 'mlp') return [spec.hidden[spec.hidden.length - 1]];
  // 28×28 → conv stride 2 'same' → 14×14 → max-pool stride 1 'same' → conv stride 2 → 7×7.
  return [7, 7, spec.filters[1]];
}
