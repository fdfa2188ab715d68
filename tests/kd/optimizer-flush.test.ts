import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../lib/src/backend';
import { Optimizer } from '../../lib/src/train/optimizer';

/**
 * Optimizer state below its floors is stored as zero (adam.wat, momentum.wat, and the JavaScript
 * loop that finishes the tail): Adam's m and the momentum velocity below 2^-100, Adam's v below
 * 2^-126, so no moment ever decays through the subnormal floats, where x86 arithmetic is ~30 times
 * slower. Checked on 1,027 floats: the SIMD kernel takes the first 1,024 and the loop the last 3,
 * so every special value sits in both parts. Above the floors, state and weights follow the
 * textbook update; NaN is kept, so divergence still shows.
 */

const N = 1027;
const M_FLOOR = 2 ** -100;
const V_FLOOR = 2 ** -126;
// After one step with a zero gradient, m2 = b1·m (0.9) and velocity2 = mu·velocity (0.9).
const MOMENTS = [1e-31, -1e-31, 1e-30, -1e-30, 1e-39, 0.25, Number.NaN];
const SQUARED = [1e-39, 1e-37, 1e-45, 0.5];
const at = (i: number, xs: number[]): number => xs[i % xs.length] as number;
// Values at both ends, so kernel and tail each see every case.
const index = (i: number): number => (i < N - 3 ? i : i - (N - 3));

function stepOnce(opt: Optimizer, m: Float32Array, v: Float32Array | null): { w: Float32Array; w2: Float32Array; state: Float32Array[] } {
  const w = tf.variable(tf.tensor1d(Float32Array.from({ length: N }, (_, i) => 0.5 + (i % 7) / 100)));
  const zero = tf.zeros([N]);
  opt.step([w], [zero]); // creates the slots; then overwrite them
  const st = opt.getState();
  st.slots[0] = { ...st.slots[0], data: m };
  if (v) st.slots[1] = { ...st.slots[1], data: v };
  opt.setState(st);
  const before = w.dataSync().slice() as Float32Array;
  opt.step([w], [zero]);
  const after = w.dataSync().slice() as Float32Array;
  const state = opt.getState().slots.map((s) => Float32Array.from(s.data));
  tf.dispose([w, zero]);
  opt.dispose();
  return { w: before, w2: after, state };
}

test(`Adam flushes m below 2^-100 and v below 2^-126 in kernel and tail alike `, async () => {
  await initBackend({ quiet: true });
  const m = Float32Array.from({ length: N }, (_, i) => at(index(i), MOMENTS));
  const v = Float32Array.from({ length: N }, (_, i) => at(index(i), SQUARED));
  const { w, w2, state } = stepOnce(new Optimizer({ name: 'adam', learningRate: 1e-3 }), m, v);
  const [m2, v2] = state as [Float32Array, Float32Array];
  for (let i = 0; i < N; i++) {
    const em = 0.9 * (m[i] as number);
    const ev = 0.999 * (v[i] as number);
    if (Number.isNaN(em)) assert.ok(Number.isNaN(m2[i] as number), `m[${i}] NaN kept`);
    else if (Math.abs(em) < M_FLOOR) assert.equal(m2[i], 0, `m[${i}] = ${m[i]} flushed`);
    else assert.ok(Math.abs((m2[i] as number) - em) <= 1e-6 * Math.abs(em), `m[${i}]: ${m2[i]} vs ${em}`);
    if (ev < V_FLOOR) assert.equal(v2[i], 0, `v[${i}] = ${v[i]} flushed`);
    else assert.ok(Math.abs((v2[i] as number) - ev) <= 1e-6 * ev, `v[${i}]: ${v2[i]} vs ${ev}`);
    // A moment below the floor moves no weight: the step leaves it exactly where it was.
    if (m2[i] === 0) assert.equal(w2[i], w[i], `w[${i}] unchanged with m flushed`);
  }
  assert.ok(m2.some((x) => x !== 0 && Math.abs(x) < 1e-29), 'm just above the floor is kept');
});

test(`momentum SGD flushes its velocity below 2^-100 in kernel and tail alike `, async () => {
  await initBackend({ quiet: true });
  const a = Float32Array.from({ length: N }, (_, i) => at(index(i), MOMENTS));
  const { w, w2, state } = stepOnce(new Optimizer({ name: 'momentum', learningRate: 0.1, momentum: 0.9 }), a, null);
  const [a2] = state as [Float32Array];
  for (let i = 0; i < N; i++) {
    const ea = Math.fround(Math.fround(0.9) * (a[i] as number));
    if (Number.isNaN(ea)) assert.ok(Number.isNaN(a2[i] as number), `velocity[${i}] NaN kept`);
    else if (Math.abs(ea) < M_FLOOR) {
      assert.equal(a2[i], 0, `velocity[${i}] = ${a[i]} flushed`);
      assert.equal(w2[i], w[i], `w[${i}] unchanged`);
    } else assert.equal(a2[i], ea, `velocity[${i}]`);
  }
});
