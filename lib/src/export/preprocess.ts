/**
 * MNIST's own preprocessing for a digit drawn by hand (LeCun et al.: each digit was size-normalised
 * to fit a 20×20 box, keeping its aspect ratio, then centred in 28×28 by its centre of mass).
 * Takes grey levels in [0, 1] (ink = 1) of any size, returns 784 floats in [0, 1]. Pure arrays:
 * the playground runs it on its canvas, tests run it in Node.
 */
import { InputError } from '../errors';

export const MNIST_SIDE = 28;
export const MNIST_BOX = 20;

/** Bounding box of the pixels above `threshold`, or null when nothing is drawn. */
export function inkBox(gray: ArrayLike<number>, width: number, height: number, threshold = 0.05): { x0: number; y0: number; x1: number; y1: number } | null {
  let x0 = width;
  let y0 = height;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (gray[y * width + x] > threshold) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  return x1 < 0 ? null : { x0, y0, x1: x1 + 1, y1: y1 + 1 };
}

/** Area-averaged resampling of the (sx0..sx1, sy0..sy1) window of `src` to w×h. */
function resampleBox(src: ArrayLike<number>, width: number, box: { x0: number; y0: number; x1: number; y1: number }, w: number, h: number): Float32Array {
  const out = new Float32Array(w * h);
  const fx = (box.x1 - box.x0) / w;
  const fy = (box.y1 - box.y0) / h;
  for (let oy = 0; oy < h; oy++) {
    const ya = box.y0 + oy * fy;
    const yb = ya + fy;
    for (let ox = 0; ox < w; ox++) {
      const xa = box.x0 + ox * fx;
      const xb = xa + fx;
      let sum = 0;
      let area = 0;
      for (let y = Math.floor(ya); y < Math.ceil(yb); y++) {
        const wy = Math.min(yb, y + 1) - Math.max(ya, y);
        if (wy <= 0) continue;
        for (let x = Math.floor(xa); x < Math.ceil(xb); x++) {
          const wx = Math.min(xb, x + 1) - Math.max(xa, x);
          if (wx <= 0) continue;
          sum += src[y * width + x] * wx * wy;
          area += wx * wy;
        }
      }
      out[oy * w + ox] = area > 0 ? sum / area : 0;
    }
  }
  return out;
}

/**
 * `gray` (width × height, ink = 1) as an MNIST digit: the ink's bounding box scaled to fit 20×20
 * (aspect kept), placed in 28×28 so that its centre of mass is at the centre. All zeros when
 * nothing is drawn.
 */
export function mnistPreprocess(gray: ArrayLike<number>, width: number, height: number): Float32Array {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0 || gray.length !== width * height) {
    throw new InputError('BAD_IMAGES', `mnistPreprocess: ${gray.length} grey levels for a ${width}×${height} image; pass width × height values in [0, 1].`);
  }
  const out = new Float32Array(MNIST_SIDE * MNIST_SIDE);
  const box = inkBox(gray, width, height);
  if (!box) return out;
  const bw = box.x1 - box.x0;
  const bh = box.y1 - box.y0;
  const scale = MNIST_BOX / Math.max(bw, bh);
  const w = Math.max(1, Math.round(bw * scale));
  const h = Math.max(1, Math.round(bh * scale));
  const small = resampleBox(gray, width, box, w, h);
  let mass = 0;
  let cx = 0;
  let cy = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = small[y * w + x];
      mass += v;
      cx += v * x;
      cy += v * y;
    }
  }
  // Centre of mass in pixel indices, moved to index 14 (as MNIST's own digits are: a test digit
  // drawn ten times larger comes back exactly, tests/playground/export.test.ts).
  cx = mass > 0 ? cx / mass : (w - 1) / 2;
  cy = mass > 0 ? cy / mass : (h - 1) / 2;
  const dx = Math.round(MNIST_SIDE / 2 - cx);
  const dy = Math.round(MNIST_SIDE / 2 - cy);
  for (let y = 0; y < h; y++) {
    const ty = y + dy;
    if (ty < 0 || ty >= MNIST_SIDE) continue;
    for (let x = 0; x < w; x++) {
      const tx = x + dx;
      if (tx < 0 || tx >= MNIST_SIDE) continue;
      out[ty * MNIST_SIDE + tx] = Math.min(1, Math.max(0, small[y * w + x]));
    }
  }
  return out;
}
