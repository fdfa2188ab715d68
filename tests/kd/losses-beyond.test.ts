import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../lib/src/backend';
import { InputError } from '../../lib/src/errors';
import { cosineEmbeddingLoss, DKD_DEFAULTS, dkdLoss, dkdTerms, hintLoss, mseLogitsLoss, mseProbabilitiesLoss } from '../../lib/src/losses';
import { createRegressor } from '../../lib/src/models';
import { assertClose, logSoftmax64, numericGrad, randomMatrix, softmax64, type Matrix } from './reference';

/**
 * The losses beyond Hinton's (notebook 08) against values computed independently of tfjs:
 * closed forms worked by hand, float64 ports of the authors' code, central finite differences.
 */

const value = (f: () => tf.Scalar): number => tf.tidy(() => f().dataSync()[0]);
const t2 = (m: Matrix) => tf.tensor2d(m);
const labelsOf = (y: number[]) => tf.tensor1d(y, 'int32');
const code = (c: string) => (e: unknown) => e instanceof InputError && e.code === c;

// ---------------------------------------------------------------------------------------------
// Float64 references

function mseProb64(S: Matrix, V: Matrix, T: number): number {
  let total = 0;
  S.forEach((s, b) => {
    const q = softmax64(s, T);
    const p = softmax64(V[b], T);
    q.forEach((qi, i) => (total += (qi - p[i]) ** 2));
  });
  return total / (S.length * S[0].length);
}

/** mdistiller's dkd_loss (mdistiller/distillers/DKD.py) line by line, in float64. */
function dkdMdistiller64(S: Matrix, V: Matrix, y: number[], alpha: number, beta: number, T: number): number {
  let tckd = 0;
  let nckd = 0;
  S.forEach((s, b) => {
    const gt = s.map((_, i) => (i === y[b] ? 1 : 0));
    const ps = softmax64(s, T);
    const pt = softmax64(V[b], T);
    // cat_mask: [Σ p·gt, Σ p·other]
    const cs = [ps.reduce((a, p, i) => a + p * gt[i], 0), ps.reduce((a, p, i) => a + p * (1 - gt[i]), 0)];
    const ct = [pt.reduce((a, p, i) => a + p * gt[i], 0), pt.reduce((a, p, i) => a + p * (1 - gt[i]), 0)];
    // kl_div(log cs, ct, sum)
    ct.forEach((c, i) => (tckd += c > 0 ? c * (Math.log(c) - Math.log(cs[i])) : 0));
    const pt2 = softmax64(V[b].map((v, i) => v / T - 1000 * gt[i]), 1);
    const lps2 = logSoftmax64(s.map((v, i) => v / T - 1000 * gt[i]), 1);
    pt2.forEach((p, i) => (nckd += p > 0 ? p * (Math.log(p) - lps2[i]) : 0));
  });
  const n = S.length;
  return alpha * ((tckd * T * T) / n) + beta * ((nckd * T * T) / n);
}

/** KL, TCKD, NCKD, p_t for one row, by the definitions, dropping the target exactly (−∞). */
function dkdRow64(s: number[], v: number[], y: number, T: number): { kl: number; tckd: number; nckd: number; pt: number } {
  const q = softmax64(s, T);
  const p = softmax64(v, T);
  const lq = logSoftmax64(s, T);
  const lp = logSoftmax64(v, T);
  let kl = 0;
  p.forEach((pi, i) => (kl += pi > 0 ? pi * (lp[i] - lq[i]) : 0));
  const bT = [p[y], 1 - p[y]];
  const bS = [q[y], 1 - q[y]];
  const tckd = bT.reduce((a, x, i) => a + (x > 0 ? x * Math.log(x / bS[i]) : 0), 0);
  const keep = (z: number[]) => z.filter((_, i) => i !== y);
  const ln = logSoftmax64(keep(v), T);
  const lsn = logSoftmax64(keep(s), T);
  const nckd = ln.reduce((a, l, i) => a + Math.exp(l) * (l - lsn[i]), 0);
  return { kl, tckd, nckd, pt: p[y] };
}

function dkd64(S: Matrix, V: Matrix, y: number[], alpha: number, beta: number, T: number): number {
  let total = 0;
  S.forEach((s, b) => {
    const r = dkdRow64(s, V[b], y[b], T);
    total += alpha * r.tckd + beta * r.nckd;
  });
  return (T * T * total) / S.length;
}

// ---------------------------------------------------------------------------------------------
// MSE on temperature probabilities

test('mseProbabilitiesLoss: hand-worked value, float64 reference, finite differences', async () => {
  await initBackend({ quiet: true });
  // Teacher [0, 2 ln 3] at T = 2 → p = [1/4, 3/4]; uniform student → q = [1/2, 1/2]: (1/4)² per element.
  assert.ok(Math.abs(value(() => mseProbabilitiesLoss(t2([[0, 0]]), t2([[0, 2 * Math.log(3)]]), 2)) - 1 / 16) < 1e-7);
  // Student = teacher: 0; and not the logit MSE.
  const S = randomMatrix(5, 10, 4, 101);
  const V = randomMatrix(5, 10, 4, 102);
  assert.equal(value(() => mseProbabilitiesLoss(t2(V), t2(V), 3)), 0);
  for (const T of [0.5, 1, 2, 4, 20]) {
    const got = value(() => mseProbabilitiesLoss(t2(S), t2(V), T));
    const ref = mseProb64(S, V, T);
    assert.ok(Math.abs(got - ref) <= 1e-6 + 1e-4 * ref, `T=${T}: ${got} vs ${ref}`);
    assert.ok(Math.abs(got - value(() => mseLogitsLoss(t2(S), t2(V)))) > 0.1);
  }
  const Sg = randomMatrix(3, 5, 2, 103);
  const Vg = randomMatrix(3, 5, 2, 104);
  for (const T of [1, 3]) {
    const g = tf.tidy(() => tf.grad((s: tf.Tensor) => mseProbabilitiesLoss(s as tf.Tensor2D, t2(Vg), T))(t2(Sg)).dataSync());
    assertClose(g, numericGrad((Sx) => mseProb64(Sx, Vg, T), Sg).flat(), 1e-6, 2e-3, `grad T=${T}`);
  }
});

// ---------------------------------------------------------------------------------------------
// Decoupled KD

test('dkdLoss: hand-worked three-class examples', async () => {
  await initBackend({ quiet: true });
  const uniform = [[0, 0, 0]];
  // Teacher p = [1/2, 1/4, 1/4], target 0, uniform student: TCKD = KL([1/2,1/2] ‖ [1/3,2/3]) = ½ ln(9/8);
  // the non-target distributions are both [1/2, 1/2]: NCKD = 0.
  const a = value(() => dkdLoss(t2(uniform), t2([[Math.log(2), 0, 0]]), labelsOf([0]), { temperature: 1, alpha: 1, beta: 8 }));
  assert.ok(Math.abs(a - 0.5 * Math.log(9 / 8)) < 1e-6, `${a}`);
  // Teacher p = [1/4, 1/2, 1/4], target 0: TCKD = ¼ ln(3/4) + ¾ ln(9/8);
  // NCKD = KL([2/3, 1/3] ‖ [1/2, 1/2]) = ⅔ ln(4/3) + ⅓ ln(2/3).
  const tckd = 0.25 * Math.log(3 / 4) + 0.75 * Math.log(9 / 8);
  const nckd = (2 / 3) * Math.log(4 / 3) + (1 / 3) * Math.log(2 / 3);
  const V = [[0, Math.log(2), 0]];
  const only = (alpha: number, beta: number, T: number, Vx: Matrix) =>
    value(() => dkdLoss(t2(uniform), t2(Vx), labelsOf([0]), { temperature: T, alpha, beta }));
  assert.ok(Math.abs(only(1, 0, 1, V) - tckd) < 1e-6);
  assert.ok(Math.abs(only(0, 1, 1, V) - nckd) < 1e-6);
  assert.ok(Math.abs(only(1, 8, 1, V) - (tckd + 8 * nckd)) < 1e-5);
  // The authors' T² scaling: teacher logits × T at temperature T give the same distributions.
  assert.ok(Math.abs(only(1, 8, 4, [[0, 4 * Math.log(2), 0]]) - 16 * (tckd + 8 * nckd)) < 1e-4);
  // Batch mean: two rows average.
  const two = value(() =>
    dkdLoss(t2([[0, 0, 0], [0, 0, 0]]), t2([[Math.log(2), 0, 0], [0, Math.log(2), 0]]), labelsOf([0, 0]), { temperature: 1, alpha: 1, beta: 8 }),
  );
  assert.ok(Math.abs(two - (0.5 * Math.log(9 / 8) + tckd + 8 * nckd) / 2) < 1e-5);
  assert.deepEqual({ ...DKD_DEFAULTS }, { temperature: 4, alpha: 1, beta: 8 });
});

test('dkdLoss matches a float64 port of mdistiller dkd_loss; the gradient matches finite differences', async () => {
  await initBackend({ quiet: true });
  const S = randomMatrix(6, 10, 4, 111);
  const V = randomMatrix(6, 10, 4, 112);
  const y = [0, 9, 3, 3, 5, 1];
  for (const [T, alpha, beta] of [
    [4, 1, 8],
    [1, 1, 1],
    [2, 0.5, 4],
    [8, 2, 0],
    [0.5, 0, 3],
  ]) {
    const got = value(() => dkdLoss(t2(S), t2(V), labelsOf(y), { temperature: T, alpha, beta }));
    const ref = dkdMdistiller64(S, V, y, alpha, beta, T);
    assert.ok(Math.abs(got - ref) <= 1e-5 + 2e-4 * Math.abs(ref), `T=${T} α=${alpha} β=${beta}: ${got} vs ${ref}`);
    assert.ok(Math.abs(ref - dkd64(S, V, y, alpha, beta, T)) < 1e-9, 'the two references agree');
  }
  const Sg = randomMatrix(3, 6, 3, 113);
  const Vg = randomMatrix(3, 6, 3, 114);
  const yg = [2, 0, 5];
  for (const [T, alpha, beta] of [
    [4, 1, 8],
    [1, 2, 0.5],
  ]) {
    const g = tf.tidy(() =>
      tf.grad((s: tf.Tensor) => dkdLoss(s as tf.Tensor2D, t2(Vg), labelsOf(yg), { temperature: T, alpha, beta }))(t2(Sg)).dataSync(),
    );
    assertClose(g, numericGrad((Sx) => dkd64(Sx, Vg, yg, alpha, beta, T), Sg).flat(), 2e-6, 2e-3, `grad T=${T}`);
  }
});

test('DKD identity: KL(p_T ‖ p_S) = TCKD + (1 − p_t^T)·NCKD per sample, to float tolerance', async () => {
  await initBackend({ quiet: true });
  for (const [seed, T, scale] of [
    [121, 1, 3],
    [122, 4, 5],
    [123, 0.5, 2],
    [124, 20, 10],
  ]) {
    const S = randomMatrix(8, 10, scale, seed);
    const V = randomMatrix(8, 10, scale, seed + 1000);
    const y = [0, 1, 2, 3, 4, 5, 6, 9];
    const terms = dkdTerms(t2(S), t2(V), labelsOf(y), T);
    const [kl, tckd, nckd, pt] = [terms.kl, terms.tckd, terms.nckd, terms.teacherTargetProb].map((x) => Array.from(x.dataSync()));
    tf.dispose([terms.kl, terms.tckd, terms.nckd, terms.teacherTargetProb]);
    kl.forEach((k, i) => {
      const recomposed = tckd[i] + (1 - pt[i]) * nckd[i];
      assert.ok(Math.abs(k - recomposed) <= 1e-6 + 1e-5 * Math.abs(k), `T=${T} row ${i}: KL ${k} vs ${recomposed}`);
      const r = dkdRow64(S[i], V[i], y[i], T);
      assert.ok(Math.abs(r.kl - (r.tckd + (1 - r.pt) * r.nckd)) < 1e-12, 'the identity in float64');
      assert.ok(Math.abs(k - r.kl) <= 1e-5 + 1e-4 * r.kl, `KL row ${i}: ${k} vs ${r.kl}`);
      assert.ok(Math.abs(tckd[i] - r.tckd) <= 1e-5 + 1e-4 * r.tckd, `TCKD row ${i}`);
      assert.ok(Math.abs(nckd[i] - r.nckd) <= 1e-5 + 1e-4 * r.nckd, `NCKD row ${i}`);
      assert.ok(Math.abs(pt[i] - r.pt) < 1e-6, `p_t row ${i}`);
    });
    // dkdLoss's parts are T² · batch means of these terms.
    const tOnly = value(() => dkdLoss(t2(S), t2(V), labelsOf(y), { temperature: T, alpha: 1, beta: 0 }));
    const tMean = tckd.reduce((a, b) => a + b, 0) / tckd.length;
    assert.ok(Math.abs(tOnly - T * T * tMean) <= 1e-5 * Math.max(1, T * T * tMean));
  }
});

test('dkdLoss stays finite for logits of 1e3 and T from 0.05 to 100 (no 1000-offset failure)', async () => {
  await initBackend({ quiet: true });
  const S = [
    [1000, -1000, 0, 3],
    [-1000, 1000, 500, -500],
  ];
  const V = [
    [-1000, 1000, 0, 0],
    [1000, 0, 0, -1000],
  ];
  const y = [0, 3];
  for (const T of [0.05, 1, 4, 100]) {
    const [loss, grad] = tf.tidy(() => {
      const f = (s: tf.Tensor) => dkdLoss(s as tf.Tensor2D, t2(V), labelsOf(y), { temperature: T, alpha: 1, beta: 8 });
      const { value: l, grad: g } = tf.valueAndGrad(f)(t2(S));
      return [l.dataSync()[0], Array.from(g.dataSync())];
    }) as unknown as [number, number[]];
    assert.ok(Number.isFinite(loss), `T=${T}: loss ${loss}`);
    for (const g of grad) assert.ok(Number.isFinite(g), `T=${T}: gradient ${grad.join(', ')}`);
    if (T >= 4) {
      const ref = dkd64(S, V, y, 1, 8, T);
      assert.ok(Math.abs(loss - ref) <= 1e-4 * Math.max(1, ref), `T=${T}: ${loss} vs ${ref}`);
    }
  }
});

test('dkdLoss and mseProbabilitiesLoss: bad inputs throw InputErrors with codes', async () => {
  await initBackend({ quiet: true });
  const S = t2([
    [1, 2, 3],
    [0, 0, 1],
  ]);
  const V = t2([
    [0, 1, 0],
    [2, 2, 2],
  ]);
  const y = labelsOf([0, 2]);
  const ok = { temperature: 4, alpha: 1, beta: 8 };
  for (const T of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.throws(() => dkdLoss(S, V, y, { ...ok, temperature: T }), code('BAD_TEMPERATURE'));
    assert.throws(() => mseProbabilitiesLoss(S, V, T), code('BAD_TEMPERATURE'));
    assert.throws(() => dkdTerms(S, V, y, T), code('BAD_TEMPERATURE'));
  }
  for (const w of [-0.1, Number.NaN, Number.POSITIVE_INFINITY, '1' as unknown as number]) {
    assert.throws(() => dkdLoss(S, V, y, { ...ok, alpha: w }), code('BAD_ALPHA'));
    assert.throws(() => dkdLoss(S, V, y, { ...ok, beta: w }), code('BAD_BETA'));
  }
  assert.throws(() => dkdLoss(S, V, y, { temperature: 4, alpha: 1 } as unknown as typeof ok), code('BAD_BETA'));
  assert.throws(() => dkdLoss(S, V, y, { ...ok, gamma: 1 } as unknown as typeof ok), code('BAD_PARAMETER'));
  assert.throws(() => dkdLoss(S, V, y, undefined as unknown as typeof ok), code('BAD_INPUT'));
  const bads = [
    t2([
      [0, 1],
      [2, 2],
    ]),
    t2([[0, 1, 0]]),
  ];
  for (const bad of bads) {
    assert.throws(() => dkdLoss(S, bad, y, ok), code('SHAPE_MISMATCH'));
    assert.throws(() => mseProbabilitiesLoss(S, bad, 2), code('SHAPE_MISMATCH'));
  }
  const badLabels = [tf.tensor1d([0, 1.5]), labelsOf([0, 3]), labelsOf([0]), tf.tensor2d([[1, 0, 0], [0, 0, 1]])];
  for (const bad of badLabels) assert.throws(() => dkdLoss(S, V, bad as tf.Tensor1D, ok), code('BAD_LABELS'));
  const nan = t2([
    [1, Number.NaN, 3],
    [0, 0, 1],
  ]);
  assert.throws(() => dkdLoss(nan, V, y, ok), code('NON_FINITE_LOGITS'));
  assert.throws(() => mseProbabilitiesLoss(S, nan, 2), code('NON_FINITE_LOGITS'));
  const v1 = tf.tensor1d([1, 2, 3]);
  assert.throws(() => mseProbabilitiesLoss(v1 as unknown as tf.Tensor2D, V, 2), code('BAD_RANK'));
  tf.dispose([S, V, y, nan, v1, ...bads, ...badLabels]);
});

// ---------------------------------------------------------------------------------------------
// Hidden-representation losses

function cosine64(S: Matrix, V: Matrix): number {
  let total = 0;
  S.forEach((s, b) => {
    const dot = s.reduce((a, x, i) => a + x * V[b][i], 0);
    const ns = s.reduce((a, x) => a + x * x, 0) + 1e-12;
    const nv = V[b].reduce((a, x) => a + x * x, 0) + 1e-12;
    total += 1 - dot / Math.sqrt(ns * nv);
  });
  return total / S.length;
}

test('cosineEmbeddingLoss: hand-worked angles, float64 reference, finite differences', async () => {
  await initBackend({ quiet: true });
  const c = (s: Matrix, t: Matrix) => value(() => cosineEmbeddingLoss(t2(s), t2(t)));
  assert.ok(Math.abs(c([[1, 0]], [[0, 1]]) - 1) < 1e-7, 'orthogonal: 1');
  assert.ok(Math.abs(c([[1, 1]], [[2, 2]])) < 1e-7, 'same direction, other scale: 0');
  assert.ok(Math.abs(c([[1, 0]], [[-3, 0]]) - 2) < 1e-7, 'opposite: 2');
  assert.ok(Math.abs(c([[1, 0], [1, 0]], [[1, Math.sqrt(3)], [0, 1]]) - (0.5 + 1) / 2) < 1e-6, '60° and 90°: batch mean');
  assert.ok(Math.abs(c([[0, 0]], [[1, 2]]) - 1) < 1e-7, 'a dead (all-zero) student vector gives 1, not NaN');
  // Image-shaped activations are flattened per example.
  const S4 = randomMatrix(3, 2 * 2 * 3, 1, 131);
  const V4 = randomMatrix(3, 2 * 2 * 3, 1, 132);
  const got = value(() => cosineEmbeddingLoss(tf.tensor4d(S4.flat(), [3, 2, 2, 3]), tf.tensor4d(V4.flat(), [3, 2, 2, 3])));
  assert.ok(Math.abs(got - cosine64(S4, V4)) < 1e-6);
  // The teacher may be another shape with as many values per example.
  const other = value(() => cosineEmbeddingLoss(tf.tensor4d(S4.flat(), [3, 2, 2, 3]), t2(V4)));
  assert.ok(Math.abs(other - got) < 1e-7);
  const g = tf.tidy(() => tf.grad((s: tf.Tensor) => cosineEmbeddingLoss(s, t2(V4)))(t2(S4)).dataSync());
  assertClose(g, numericGrad((Sx) => cosine64(Sx, V4), S4).flat(), 1e-6, 2e-3, 'cosine grad');
  const g0 = tf.tidy(() => tf.grad((s: tf.Tensor) => cosineEmbeddingLoss(s, t2([[1, 2]])))(t2([[0, 0]])).dataSync());
  for (const x of g0) assert.ok(Number.isFinite(x));
});

test('hintLoss: MSE through the regressor, against float64 values and finite differences', async () => {
  await initBackend({ quiet: true });
  // Identity regressor: plain mean squared error over all elements.
  const H = [
    [1, 2, 3],
    [0, -1, 4],
  ];
  const G = [
    [1, 0, 3],
    [2, -1, 0],
  ];
  assert.ok(Math.abs(value(() => hintLoss(t2(H), t2(G), (x) => x)) - (4 + 4 + 16) / 6) < 1e-6);
  // Dense regressor [3] → [2] with known weights: mean((h·W + b − g)²).
  const reg = createRegressor([3], [2], { seed: 1 });
  const W = [
    [0.5, -1],
    [2, 0],
    [-0.5, 1],
  ];
  const bias = [0.1, -0.2];
  reg.setWeights([tf.tensor2d(W), tf.tensor1d(bias)]);
  const T2 = [
    [1, 1],
    [0, 2],
  ];
  const hint64 = (Hx: Matrix, Wx: Matrix): number => {
    let total = 0;
    Hx.forEach((h, b) =>
      [0, 1].forEach((j) => {
        const r = h.reduce((a, x, i) => a + x * Wx[i][j], bias[j]);
        total += (r - T2[b][j]) ** 2;
      }),
    );
    return total / (Hx.length * 2);
  };
  assert.ok(Math.abs(value(() => hintLoss(t2(H), t2(T2), reg)) - hint64(H, W)) < 1e-5);
  // Gradients reach the student's activations and the regressor's kernel.
  const gh = tf.tidy(() => tf.grad((h: tf.Tensor) => hintLoss(h, t2(T2), reg))(t2(H)).dataSync());
  assertClose(gh, numericGrad((Hx) => hint64(Hx, W), H).flat(), 1e-5, 1e-3, 'd/dh');
  const kernel = reg.trainableWeights[0].read() as tf.Variable;
  const { grads } = tf.variableGrads(() => hintLoss(t2(H), t2(T2), reg), [kernel]);
  const gw = grads[kernel.name].dataSync();
  assertClose(gw, numericGrad((Wx) => hint64(H, Wx), W).flat(), 1e-5, 1e-3, 'd/dW');
  tf.dispose(grads);
  // Conv regressor on image-shaped features: a 1×1 convolution = the same matrix at every pixel.
  const conv = createRegressor([2, 2, 3], [2, 2, 2]);
  conv.setWeights([tf.tensor4d(W.flat(), [1, 1, 3, 2]), tf.tensor1d(bias)]);
  const Himg = randomMatrix(2 * 2, 3, 1, 141); // 1 image, 4 pixels
  const Timg = randomMatrix(2 * 2, 2, 1, 142);
  const got = value(() => hintLoss(tf.tensor4d(Himg.flat(), [1, 2, 2, 3]), tf.tensor4d(Timg.flat(), [1, 2, 2, 2]), conv));
  let total = 0;
  Himg.forEach((h, p) => [0, 1].forEach((j) => (total += (h.reduce((a, x, i) => a + x * W[i][j], bias[j]) - Timg[p][j]) ** 2)));
  assert.ok(Math.abs(got - total / 8) < 1e-5, `${got} vs ${total / 8}`);
  // Shape changes: [7,7,32] → [800] flattens into a dense map reshaped to the teacher's shape.
  const flat = createRegressor([2, 2, 3], [5]);
  assert.deepEqual(flat.outputs[0].shape, [null, 5]);
  const up = createRegressor([4], [2, 2, 3]);
  assert.deepEqual(up.outputs[0].shape, [null, 2, 2, 3]);
  tf.dispose([reg, conv, flat, up].flatMap((m) => m.weights.map((w) => w.read())));
});

test('hintLoss and cosineEmbeddingLoss: bad inputs throw InputErrors with codes', async () => {
  await initBackend({ quiet: true });
  const h = t2([
    [1, 2, 3],
    [0, 1, 0],
  ]);
  const g = t2([
    [1, 2],
    [0, 1],
  ]);
  const reg = createRegressor([3], [2]);
  assert.throws(() => hintLoss(h, t2([[1, 2]]), reg), code('SHAPE_MISMATCH'));
  assert.throws(() => hintLoss(h, g, createRegressor([4], [2])), code('BAD_REGRESSOR'));
  assert.throws(() => hintLoss(h, t2([[1, 2, 3], [1, 2, 3]]), reg), code('SHAPE_MISMATCH'));
  assert.throws(() => hintLoss(h, g, undefined as unknown as (x: tf.Tensor) => tf.Tensor), code('BAD_REGRESSOR'));
  assert.throws(() => hintLoss(tf.tensor1d([1, 2]), g, reg), code('BAD_RANK'));
  assert.throws(() => cosineEmbeddingLoss(h, g), code('SHAPE_MISMATCH'));
  assert.throws(() => cosineEmbeddingLoss(h, t2([[1, 2, 3]])), code('SHAPE_MISMATCH'));
  assert.throws(() => cosineEmbeddingLoss(h, tf.tensor2d([[1, 2, 3], [1, 2, 3]], undefined, 'int32')), code('BAD_DTYPE'));
  assert.throws(() => cosineEmbeddingLoss([[1]] as unknown as tf.Tensor, g), code('BAD_INPUT'));
  const nan = t2([
    [1, Number.NaN, 3],
    [0, 1, 0],
  ]);
  assert.throws(() => cosineEmbeddingLoss(nan, h), code('NON_FINITE_FEATURES'));
  assert.throws(() => hintLoss(nan, g, reg), code('NON_FINITE_FEATURES'));
  assert.throws(() => createRegressor([0, 3], [2]), code('BAD_REGRESSOR'));
  assert.throws(() => createRegressor([3], [2], { kernelSize: 2 }), code('BAD_REGRESSOR'));
  tf.dispose([h, g, nan]);
});

test('the new losses and their gradients leave no tensors behind', async () => {
  await initBackend({ quiet: true });
  const S = t2(randomMatrix(8, 10, 3, 151));
  const V = t2(randomMatrix(8, 10, 3, 152));
  const y = labelsOf([0, 1, 2, 3, 4, 5, 6, 7]);
  const reg = createRegressor([10], [10]);
  const wrong = t2([[1]]);
  const before = tf.memory().numTensors;
  mseProbabilitiesLoss(S, V, 2).dispose();
  dkdLoss(S, V, y, DKD_DEFAULTS).dispose();
  const terms = dkdTerms(S, V, y, 4);
  tf.dispose([terms.kl, terms.tckd, terms.nckd, terms.teacherTargetProb]);
  cosineEmbeddingLoss(S, V).dispose();
  hintLoss(S, V, reg).dispose();
  tf.grad((s: tf.Tensor) => dkdLoss(s as tf.Tensor2D, V, y, DKD_DEFAULTS))(S).dispose();
  tf.grad((s: tf.Tensor) => mseProbabilitiesLoss(s as tf.Tensor2D, V, 3))(S).dispose();
  tf.grad((s: tf.Tensor) => cosineEmbeddingLoss(s, V))(S).dispose();
  const { value: l, grads } = tf.variableGrads(() => hintLoss(S, V, reg));
  l.dispose();
  tf.dispose(grads);
  for (const bad of [() => dkdLoss(S, V, y, { temperature: -1, alpha: 1, beta: 8 }), () => hintLoss(S, wrong, reg)]) {
    try {
      bad();
    } catch {
      /* expected */
    }
  }
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([S, V, y, wrong]);
});
