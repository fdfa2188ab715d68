import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../lib/src/backend';
import { InputError, KdlabError } from '../../lib/src/errors';
import {
  distillationLoss, inertParameters, kdLoss, mseLogitsLoss, OBJECTIVE_NAMES, objectiveParameters, resolveObjective, softTargetCrossEntropy,
  studentLoss, type Objective,
} from '../../lib/src/losses';
import { assertClose, ce64, distill64, kd64, numericGrad, randomMatrix, softmax64, type Matrix } from './reference';

const value = (f: () => tf.Scalar): number =>
  tf.tidy(() => f().dataSync()[0]);

const t2 = (m: Matrix) => tf.tensor2d(m);
const labelsOf = (y: number[]) => tf.tensor1d(y, 'int32');

test('distillationLoss: closed form, batch mean and the T² factor', async () => {
  await initBackend({ quiet: true });
  // Row 0: teacher/T = [0, ln 3] -> p = [1/4, 3/4]; student uniform q = [1/2, 1/2].
  // Row 1: student = teacher -> KL 0.
  const T = 2;
  const kl0 = 0.25 * Math.log(0.25 / 0.5) + 0.75 * Math.log(0.75 / 0.5);
  const S = [
    [0, 0],
    [1, -1],
  ];
  const V = [
    [0, 2 * Math.log(3)],
    [1, -1],
  ];
  const got = value(() => distillationLoss(t2(S), t2(V), T));
  const expected = (T * T * (kl0 + 0)) / 2; // T² · (sum over classes) / batch
  assert.ok(Math.abs(got - expected) < 1e-6, `${got} vs ${expected}`);
  // Not the "mean over all elements" pitfall (would divide by batch × classes)...
  assert.ok(Math.abs(got - (T * T * kl0) / 4) > 0.05);
  // ...and not missing the T² factor.
  assert.ok(Math.abs(got - kl0 / 2) > 0.05);
  // One row alone: batch mean of one = the row's value.
  assert.ok(Math.abs(value(() => distillationLoss(t2([S[0]]), t2([V[0]]), T)) - T * T * kl0) < 1e-6);
  // The soft-target CE differs from the KL by the teacher entropy (and has no T²).
  const hP = -(0.25 * Math.log(0.25) + 0.75 * Math.log(0.75));
  assert.ok(Math.abs(value(() => softTargetCrossEntropy(t2([S[0]]), t2([V[0]]), T)) - (kl0 + hP)) < 1e-6);
  // Matches the float64 reference on random cases and the whole T range.
  const Sr = randomMatrix(4, 10, 5, 1);
  const Vr = randomMatrix(4, 10, 5, 2);
  for (const Tr of [0.05, 0.5, 1, 2, 4, 20, 100]) {
    const g = value(() => distillationLoss(t2(Sr), t2(Vr), Tr));
    const r = distill64(Sr, Vr, Tr);
    // float32 cancellation in log p − log q grows with T (differences of ~1/T between O(1) numbers).
    assert.ok(Math.abs(g - r) <= 5e-4 * Math.max(1, Math.abs(r)), `T=${Tr}: ${g} vs ${r}`);
  }
});

test('studentLoss: mean cross-entropy at T = 1', async () => {
  await initBackend({ quiet: true });
  // Row 0: softmax([0, ln 3]) = [1/4, 3/4], label 1 -> −ln(3/4). Row 1: uniform over 2, label 0 -> ln 2.
  const S = [
    [0, Math.log(3)],
    [5, 5],
  ];
  const got = value(() => studentLoss(t2(S), labelsOf([1, 0])));
  assert.ok(Math.abs(got - (-Math.log(0.75) + Math.log(2)) / 2) < 1e-6);
  // Uniform over 3 classes: ln 3 whatever the label.
  assert.ok(Math.abs(value(() => studentLoss(t2([[0, 0, 0]]), labelsOf([2]))) - Math.log(3)) < 1e-6);
  const Sr = randomMatrix(5, 10, 3, 3);
  const y = [0, 3, 9, 9, 4];
  assert.ok(Math.abs(value(() => studentLoss(t2(Sr), labelsOf(y))) - ce64(Sr, y)) < 1e-5);
});

test('kdLoss = alpha·distillation + (1 − alpha)·student; alpha = 0 and 1 are the pure cases', async () => {
  await initBackend({ quiet: true });
  const S = randomMatrix(3, 10, 4, 4);
  const V = randomMatrix(3, 10, 4, 5);
  const y = [1, 7, 2];
  const T = 4;
  for (const alpha of [0, 0.1, 0.5, 0.9, 1]) {
    const got = value(() => kdLoss(t2(S), t2(V), labelsOf(y), { temperature: T, alpha }));
    const r = kd64(S, V, y, T, alpha);
    assert.ok(Math.abs(got - r) < 1e-4 * Math.max(1, r), `alpha=${alpha}: ${got} vs ${r}`);
  }
  const d = value(() => distillationLoss(t2(S), t2(V), T));
  const s = value(() => studentLoss(t2(S), labelsOf(y)));
  assert.ok(Math.abs(value(() => kdLoss(t2(S), t2(V), labelsOf(y), { temperature: T, alpha: 1 })) - d) < 1e-5);
  assert.ok(Math.abs(value(() => kdLoss(t2(S), t2(V), labelsOf(y), { temperature: T, alpha: 0 })) - s) < 1e-5);
  assert.ok(Math.abs(value(() => kdLoss(t2(S), t2(V), labelsOf(y), { temperature: T, alpha: 0.3 })) - (0.3 * d + 0.7 * s)) < 1e-4);
});

test('mseLogitsLoss: mean over all elements of the squared difference', async () => {
  await initBackend({ quiet: true });
  const got = value(() =>
    mseLogitsLoss(
      t2([
        [1, 2],
        [3, 4],
      ]),
      t2([
        [0, 0],
        [0, 0],
      ]),
    ),
  );
  assert.ok(Math.abs(got - 7.5) < 1e-6);
});

test('kdLoss gradient matches float64 central finite differences', async () => {
  await initBackend({ quiet: true });
  const V = randomMatrix(3, 6, 3, 11);
  const y = [0, 5, 2];
  for (const [T, alpha] of [
    [1, 0.5],
    [4, 0.5],
    [20, 0.9],
    [0.5, 0.2],
  ]) {
    const S = randomMatrix(3, 6, 3, 12 + T);
    const grad = tf.tidy(() => {
      const g = tf.grad((s: tf.Tensor) => kdLoss(s as tf.Tensor2D, t2(V), labelsOf(y), { temperature: T, alpha }));
      return g(t2(S)).arraySync() as number[][];
    });
    const numeric = numericGrad((Sx) => kd64(Sx, V, y, T, alpha), S);
    assertClose(grad.flat(), numeric.flat(), 2e-6, 2e-3, `T=${T} alpha=${alpha}`);
  }
});

test("Hinton's identity: d(soft CE)/dz_i = (1/T)(q_i − p_i), and distillationLoss's gradient is T(q − p)/batch", async () => {
  await initBackend({ quiet: true });
  const z = randomMatrix(1, 10, 4, 21);
  const v = randomMatrix(1, 10, 4, 22);
  for (const T of [1, 2, 5, 20]) {
    const q = softmax64(z[0], T);
    const p = softmax64(v[0], T);
    const expected = q.map((qi, i) => (qi - p[i]) / T);
    const g = tf.tidy(() => tf.grad((s: tf.Tensor) => softTargetCrossEntropy(s as tf.Tensor2D, t2(v), T))(t2(z)).dataSync());
    assertClose(g, expected, 1e-6, 1e-3, `soft CE T=${T}`);
    // Batch of two identical rows: each row's gradient is halved (batch mean).
    const g2 = tf.tidy(() =>
      tf.grad((s: tf.Tensor) => distillationLoss(s as tf.Tensor2D, t2([v[0], v[0]]), T))(t2([z[0], z[0]])).dataSync(),
    );
    const perRow = q.map((qi, i) => (T * (qi - p[i])) / 2);
    assertClose(g2, [...perRow, ...perRow], 1e-6, 1e-3, `distillation T=${T}`);
  }
});

test("Hinton's high-temperature limit: gradient → (z_i − v_i)/(N T²) for zero-mean logits", async () => {
  await initBackend({ quiet: true });
  const N = 10;
  const center = (row: number[]) => {
    const m = row.reduce((a, b) => a + b, 0) / row.length;
    return row.map((x) => x - m);
  };
  const z = center(randomMatrix(1, N, 2, 31)[0]);
  const v = center(randomMatrix(1, N, 2, 32)[0]);
  const errors: number[] = [];
  for (const T of [2, 5, 10, 20, 50, 100]) {
    const g = tf.tidy(() => tf.grad((s: tf.Tensor) => softTargetCrossEntropy(s as tf.Tensor2D, t2([v]), T))(t2([z])).dataSync());
    const approx = z.map((zi, i) => (zi - v[i]) / (N * T * T));
    let num = 0;
    let den = 0;
    approx.forEach((a, i) => {
      num += (g[i] - a) ** 2;
      den += a ** 2;
    });
    errors.push(Math.sqrt(num / den));
  }
  for (let i = 1; i < errors.length; i++) assert.ok(errors[i] < errors[i - 1], `relative errors ${errors.join(', ')}`);
  assert.ok(errors[errors.length - 1] < 0.02, `relative error at T = 100 is ${errors[errors.length - 1]}`);
});

test('extreme inputs: logits of 1e3, zero teacher probabilities, T from 0.05 to 100 stay finite', async () => {
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
  for (const T of [0.05, 0.1, 1, 4, 20, 100]) {
    for (const alpha of [0, 0.5, 1]) {
      const [loss, grad] = tf.tidy(() => {
        const f = (s: tf.Tensor) => kdLoss(s as tf.Tensor2D, t2(V), labelsOf(y), { temperature: T, alpha });
        const { value: l, grad: g } = tf.valueAndGrad(f)(t2(S));
        return [l.dataSync()[0], Array.from(g.dataSync())];
      }) as unknown as [number, number[]];
      assert.ok(Number.isFinite(loss), `loss T=${T} alpha=${alpha}: ${loss}`);
      for (const x of grad) assert.ok(Number.isFinite(x), `grad T=${T} alpha=${alpha}`);
      if (T >= 4 && T <= 20) {
        const r = kd64(S, V, y, T, alpha);
        assert.ok(Math.abs(loss - r) <= 1e-4 * Math.max(1, Math.abs(r)), `T=${T} alpha=${alpha}: ${loss} vs ${r}`);
      }
    }
  }
  // Teacher probabilities that underflow to exactly 0 (logit gaps of 1e3 at T = 1) give no NaN.
  const d = value(() => distillationLoss(t2([[0, 0, 0]]), t2([[1000, 0, 0]]), 1));
  assert.ok(Math.abs(d - Math.log(3)) < 1e-5, `${d}`);
  const g = tf.tidy(() => tf.grad((s: tf.Tensor) => distillationLoss(s as tf.Tensor2D, t2([[1000, 0, 0]]), 1))(t2([[0, 0, 0]])).dataSync());
  assertClose(g, [1 / 3 - 1, 1 / 3, 1 / 3], 1e-6);
});

test('every bad input throws an InputError with a code, never broadcasts', async () => {
  await initBackend({ quiet: true });
  const code = (c: string) => (e: unknown) => e instanceof InputError && e.code === c;
  const S = t2([
    [1, 2, 3],
    [0, 0, 1],
  ]);
  const V = t2([
    [0, 1, 0],
    [2, 2, 2],
  ]);
  const y = labelsOf([0, 2]);
  const ok = { temperature: 2, alpha: 0.5 };
  for (const T of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
    assert.throws(() => distillationLoss(S, V, T), code('BAD_TEMPERATURE'));
    assert.throws(() => kdLoss(S, V, y, { temperature: T, alpha: 0.5 }), code('BAD_TEMPERATURE'));
    assert.throws(() => softTargetCrossEntropy(S, V, T), code('BAD_TEMPERATURE'));
  }
  for (const alpha of [-0.1, 1.1, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.throws(() => kdLoss(S, V, y, { temperature: 2, alpha }), code('BAD_ALPHA'));
  }
  // Shapes: batch mismatch, class-count mismatch, rank, broadcastable shapes refused.
  const V3 = t2([
    [0, 1, 0],
    [2, 2, 2],
    [1, 1, 1],
  ]);
  const V2c = t2([
    [0, 1],
    [2, 2],
  ]);
  const Vrow = t2([[0, 1, 0]]); // would broadcast over the batch
  for (const bad of [V3, V2c, Vrow]) {
    assert.throws(() => distillationLoss(S, bad, 2), code('SHAPE_MISMATCH'));
    assert.throws(() => kdLoss(S, bad, y, ok), code('SHAPE_MISMATCH'));
    assert.throws(() => mseLogitsLoss(S, bad), code('SHAPE_MISMATCH'));
  }
  const v1 = tf.tensor1d([1, 2, 3]);
  assert.throws(() => distillationLoss(v1 as unknown as tf.Tensor2D, V, 2), code('BAD_RANK'));
  assert.throws(() => studentLoss(v1 as unknown as tf.Tensor2D, y), code('BAD_RANK'));
  // Labels: non-integer, negative, out of range, wrong length, one-hot.
  const badLabels = [
    tf.tensor1d([0, 1.5]),
    labelsOf([0, -1]),
    labelsOf([0, 3]),
    labelsOf([0, 1, 2]),
    tf.tensor2d([
      [1, 0, 0],
      [0, 0, 1],
    ]),
  ];
  for (const bad of badLabels) {
    assert.throws(() => studentLoss(S, bad as tf.Tensor1D), code('BAD_LABELS'));
    assert.throws(() => kdLoss(S, V, bad as tf.Tensor1D, ok), code('BAD_LABELS'));
  }
  // NaN or infinite logits, on either side.
  const nan = t2([
    [1, Number.NaN, 3],
    [0, 0, 1],
  ]);
  const inf = t2([
    [1, Number.POSITIVE_INFINITY, 3],
    [0, 0, 1],
  ]);
  for (const bad of [nan, inf]) {
    assert.throws(() => distillationLoss(bad, V, 2), code('NON_FINITE_LOGITS'));
    assert.throws(() => distillationLoss(S, bad, 2), code('NON_FINITE_LOGITS'));
    assert.throws(() => studentLoss(bad, y), code('NON_FINITE_LOGITS'));
    assert.throws(() => kdLoss(S, bad, y, ok), code('NON_FINITE_LOGITS'));
    assert.throws(() => mseLogitsLoss(bad, V), code('NON_FINITE_LOGITS'));
  }
  // Not a tensor, missing options, int32 logits.
  assert.throws(() => distillationLoss([[1, 2]] as unknown as tf.Tensor2D, V, 2), code('BAD_INPUT'));
  assert.throws(() => kdLoss(S, V, y, undefined as unknown as { temperature: number; alpha: number }), code('BAD_INPUT'));
  const ints = tf.tensor2d([[1, 2, 3], [0, 0, 1]], undefined, 'int32');
  assert.throws(() => distillationLoss(ints, V, 2), code('BAD_DTYPE'));
  tf.dispose([S, V, y, V3, V2c, Vrow, v1, nan, inf, ints, ...badLabels]);
});

test('losses and their gradients leave no tensors behind', async () => {
  await initBackend({ quiet: true });
  const S = t2(randomMatrix(8, 10, 3, 41));
  const V = t2(randomMatrix(8, 10, 3, 42));
  const y = labelsOf([0, 1, 2, 3, 4, 5, 6, 7]);
  const before = tf.memory().numTensors;
  for (const T of [0.5, 1, 4]) {
    distillationLoss(S, V, T).dispose();
    softTargetCrossEntropy(S, V, T).dispose();
    kdLoss(S, V, y, { temperature: T, alpha: 0.5 }).dispose();
    const g = tf.grad((s: tf.Tensor) => kdLoss(s as tf.Tensor2D, V, y, { temperature: T, alpha: 0.5 }))(S);
    g.dispose();
  }
  studentLoss(S, y).dispose();
  mseLogitsLoss(S, V).dispose();
  try {
    kdLoss(S, V, y, { temperature: -1, alpha: 0.5 });
  } catch {
    /* expected */
  }
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([S, V, y]);
});

test('objectives: validated once, each resolved to the one loss that kdLoss and train run', async () => {
  await initBackend({ quiet: true });
  const code = (c: string, re?: RegExp) => (e: unknown) => e instanceof InputError && e.code === c && (!re || re.test(e.message));
  const S = t2(randomMatrix(6, 10, 3, 51));
  const V = t2(randomMatrix(6, 10, 3, 52));
  const y = labelsOf([0, 1, 2, 3, 4, 5]);
  const oneHot = tf.oneHot(y, 10).toFloat() as tf.Tensor2D;
  const same = (a: () => tf.Scalar, b: () => tf.Scalar, what: string) => assert.equal(value(a), value(b), what);

  // 'kd' is kdLoss, bit for bit, at every alpha (alpha = 0: hard labels, no teacher needed).
  for (const alpha of [0, 0.3, 1]) {
    const kd = resolveObjective({ objective: 'kd', temperature: 4, alpha });
    same(() => kd.loss(S, V, oneHot), () => kdLoss(S, V, y, { temperature: 4, alpha }), `kd alpha ${alpha}`);
  }
  same(() => resolveObjective({ objective: 'kd', temperature: 3, alpha: 0 }).loss(S, undefined, oneHot), () => studentLoss(S, y), 'kd at alpha 0 = CE');
  same(() => resolveObjective({ objective: 'kd', temperature: 3, alpha: 1 }).loss(S, V, oneHot), () => distillationLoss(S, V, 3), 'kd at alpha 1 = T²·KL');
  // 'hard' is the student loss; 'mse' mixes logit matching with the hard term.
  const hard = resolveObjective({ objective: 'hard' });
  assert.equal(hard.needsTeacher, false);
  same(() => hard.loss(S, undefined, oneHot), () => studentLoss(S, y), 'hard = CE');
  same(() => resolveObjective({ objective: 'mse', alpha: 1 }).loss(S, V, oneHot), () => mseLogitsLoss(S, V), 'mse at alpha 1');
  const mix = value(() => resolveObjective({ objective: 'mse', alpha: 0.25 }).loss(S, V, oneHot));
  const parts = 0.25 * value(() => mseLogitsLoss(S, V)) + 0.75 * value(() => studentLoss(S, y));
  assert.ok(Math.abs(mix - parts) < 1e-5, `${mix} vs ${parts}`);
  assert.throws(() => resolveObjective({ objective: 'mse', alpha: 0.5 }).loss(S, undefined, oneHot), (e: unknown) => e instanceof KdlabError && e.code === 'NO_TEACHER_LOGITS');

  // The table: parameters, and which of them a setting makes irrelevant.
  assert.deepEqual([...OBJECTIVE_NAMES], ['hard', 'kd', 'mse', 'mse-prob', 'dkd', 'hint', 'cosine']);
  assert.deepEqual([...objectiveParameters('kd')], ['temperature', 'alpha']);
  assert.deepEqual([...objectiveParameters('mse')], ['alpha']);
  assert.deepEqual([...inertParameters({ objective: 'kd', temperature: 2, alpha: 0 })], ['temperature']);
  assert.deepEqual([...inertParameters({ objective: 'kd', temperature: 2, alpha: 0.5 })], []);
  assert.deepEqual(resolveObjective({ objective: 'kd', temperature: 2, alpha: 0.5 }).objective, { objective: 'kd', temperature: 2, alpha: 0.5 });

  // Bad specs: unknown objective, a parameter the objective does not have (no silent T = 1),
  // the old `kind` field, bad values.
  const spec = (x: unknown) => x as Objective;
  assert.throws(() => resolveObjective(spec({ objective: 'crd', alpha: 0.5 })), code('BAD_LOSS', /unknown objective "crd"/));
  assert.throws(() => resolveObjective(spec({ objective: 'mse', temperature: 4, alpha: 0.5 })), code('BAD_LOSS', /'mse' has no temperature/));
  assert.throws(() => resolveObjective(spec({ objective: 'hard', alpha: 0.5 })), code('BAD_LOSS', /'hard' has no alpha/));
  assert.throws(() => resolveObjective(spec({ objective: 'kd', temperature: 4, alpha: 0.5, kind: 'kl' })), code('BAD_LOSS', /'kind' is now 'objective'/));
  assert.throws(() => resolveObjective(spec({ objective: 'kd', alpha: 0.5 })), code('BAD_TEMPERATURE'));
  assert.throws(() => resolveObjective({ objective: 'mse', alpha: 2 }), code('BAD_ALPHA'));
  assert.throws(() => resolveObjective(spec(null)), code('BAD_LOSS'));
  tf.dispose([S, V, y, oneHot]);
});
