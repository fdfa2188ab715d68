import seedrandom from 'seedrandom';

/** A seeded generator of floats in [0, 1): the same seed gives the same stream on every machine. */
export type Rng = () => number;

export function makeRng(seed: number | string): Rng {
  const prng = seedrandom(String(seed));
  return () => prng.quick();
}

/** Fisher–Yates shuffle of 0..n-1 (a new Int32Array), driven by `rng`. */
export function shuffledIndices(n: number, rng: Rng): Int32Array {
  const idx = new Int32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const t = idx[i];
    idx[i] = idx[j];
    idx[j] = t;
  }
  return idx;
}
