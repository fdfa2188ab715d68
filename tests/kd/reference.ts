/**
 * Float64 reference implementations in plain JavaScript, independent of tfjs and of the library,
 * for checking the library's float32 losses and gradients.
 */
export type Matrix = number[][];

export function logSoftmax64(z: number[], T = 1): number[] {
  const s = z.map((x) => x / T);
  const m = Math.max(...s);
  const lse = m + Math.log(s.reduce((a, x) => a + Math.exp(x - m), 0));
  return s.map((x) => x - lse);
}

export function softmax64(z: number[], T = 1): number[] {
  return logSoftmax64(z, T).map(Math.exp);
}

/** T² · KL(p_T ‖ q_T), batch mean. */
export function distill64(S: Matrix, V: Matrix, T: number): number {
  let total = 0;
  S.forEach((s, b) => {
    const lq = logSoftmax64(s, T);
    const lp = logSoftmax64(V[b], T);
    lp.forEach((l, i) => {
      const p = Math.exp(l);
      if (p > 0) total += p * (l - lq[i]);
    });
  });
  return (T * T * total) / S.length;
}

export function ce64(S: Matrix, y: number[]): number {
  return -S.reduce((a, s, b) => a + logSoftmax64(s)[y[b]], 0) / S.length;
}

export function kd64(S: Matrix, V: Matrix, y: number[], T: number, alpha: number): number {
  return alpha * distill64(S, V, T) + (1 - alpha) * ce64(S, y);
}

/** Central finite differences of f at S (float64), step h. */
export function numericGrad(f: (S: Matrix) => number, S: Matrix, h = 1e-5): Matrix {
  return S.map((row, b) =>
    row.map((_, i) => {
      const plus = S.map((r) => r.slice());
      const minus = S.map((r) => r.slice());
      plus[b][i] += h;
      minus[b][i] -= h;
      return (f(plus) - f(minus)) / (2 * h);
    }),
  );
}

/** Deterministic pseudo-random numbers for test inputs (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomMatrix(rows: number, cols: number, scale: number, seed: number): Matrix {
  const r = rng(seed);
  return Array.from({ length: rows }, () => Array.from({ length: cols }, () => (r() * 2 - 1) * scale));
}

export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, rtol = 0, what = ''): void {
  if (actual.length !== expected.length) throw new Error(`${what}: length ${actual.length} vs ${expected.length}`);
  for (let i = 0; i < actual.length; i++) {
    const tol = atol + rtol * Math.abs(expected[i]);
    if (!(Math.abs(actual[i] - expected[i]) <= tol)) {
      throw new Error(`${what}: index ${i}: got ${actual[i]}, expected ${expected[i]} (tolerance ${tol})`);
    }
  }
}
