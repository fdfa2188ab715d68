import { createHash } from 'node:crypto';
import type * as tf from '@tensorflow/tfjs';

/**
 * SHA-256 (hex) of a model's weights: each weight's shape, then its float32 bytes, in the model's
 * own weight order. Layer names are left out: they carry a per-process counter. Two runs whose
 * digits agree everywhere give the same hash; `kdlab verify-reference` compares it.
 */
export function weightsHash(model: tf.LayersModel): string {
  const h = createHash('sha256');
  for (const w of model.weights) {
    const values = w.read();
    h.update(`${w.shape.join('x')}:`);
    const data = values.dataSync();
    h.update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }
  return h.digest('hex');
}
