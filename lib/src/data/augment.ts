import { IMAGE_SIZE, PIXELS } from './dataset';
import type { Rng } from './random';

/**
 * Shifts each 28×28 image by a random whole number of pixels in [-maxShift, maxShift] on each
 * axis, filling with 0 (background), as Hinton et al. did for the MNIST teacher. Returns a new
 * array; `rng` makes it reproducible.
 */
export function jitterImages(images: Float32Array, maxShift: number, rng: Rng, out?: Float32Array): Float32Array {
  const n = images.length / PIXELS;
  const result = out ?? new Float32Array(images.length);
  result.fill(0);
  const span = 2 * maxShift + 1;
  for (let k = 0; k < n; k++) {
    const dx = Math.floor(rng() * span) - maxShift;
    const dy = Math.floor(rng() * span) - maxShift;
    const base = k * PIXELS;
    for (let r = 0; r < IMAGE_SIZE; r++) {
      const sr = r - dy;
      if (sr < 0 || sr >= IMAGE_SIZE) continue;
      for (let c = 0; c < IMAGE_SIZE; c++) {
        const sc = c - dx;
        if (sc < 0 || sc >= IMAGE_SIZE) continue;
        result[base + r * IMAGE_SIZE + c] = images[base + sr * IMAGE_SIZE + sc];
      }
    }
  }
  return result;
}
