/**
 * Notebook 06's bias-shift studies over seeds: the shift-table counts against a plain argmax
 * recomputed here (ties included), the window shiftCurves keeps, and the errors-vs-bias-shift
 * figure built from it (per-seed lines, their mean, the chosen shift on each line).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bestShift, biasShiftStudy, errorsWithShift, shiftCurves, shiftGrid, type ScoredSplit } from '../../lib/src/bias-shift';
import { errorsVsBiasShift } from '../../lib/src/plot/figures/errors-vs-bias-shift';
import { accuracyVsTransferSetSize } from '../../lib/src/plot/figures/accuracy-vs-transfer-set-size';
import { FigureInputError } from '../../lib/src/plot/validate';
import type { ScatterTrace } from '../../lib/src/plot/types';

/** Deterministic small-integer logits (many ties) and labels. */
function split(name: 'validation' | 'test', n: number, seed: number): ScoredSplit {
  let x = seed * 2654435761 + 12345;
  const next = (m: number) => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x % m;
  };
  const logits = new Float32Array(n * 10);
  for (let i = 0; i < logits.length; i++) logits[i] = next(7) - 3;
  const labels = Array.from({ length: n }, () => next(10));
  return { split: name, logits, labels };
}

/** The rule written out: add the shift, take the first maximum, count the misses per class. */
function naive(s: ScoredSplit, classes: number[], shift: number): { errors: number; byClass: number[] } {
  const byClass = new Array<number>(10).fill(0);
  let errors = 0;
  for (let r = 0; r < s.labels.length; r++) {
    const v = Array.from({ length: 10 }, (_, c) => s.logits[r * 10 + c] + (classes.includes(c) ? shift : 0));
    const pred = v.indexOf(Math.max(...v));
    if (pred !== s.labels[r]) {
      errors++;
      byClass[s.labels[r]]++;
    }
  }
  return { errors, byClass };
}

test('errorsWithShift (one table per split) counts what a plain argmax counts, ties to the first class', () => {
  const s = split('test', 400, 1);
  for (const classes of [[3], [7, 8], [0, 9], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]]) {
    for (const shift of [-4, -1, -0.5, 0, 0.5, 1, 2, 3.5]) {
      const want = naive(s, classes, shift);
      const got = errorsWithShift(s, classes, shift);
      assert.equal(got.errors, want.errors, `${classes} ${shift}`);
      assert.deepEqual(got.errorsByClass, want.byClass, `${classes} ${shift}`);
      assert.equal(got.countByClass.reduce((a, b) => a + b, 0), 400);
    }
  }
  // A hand-worked row: logits tie between 2 and 3 at shift 0 (class 2 wins, the first), and 3
  // wins as soon as its shift is positive.
  const row: ScoredSplit = { split: 'test', logits: Float32Array.from([0, 0, 5, 5, 0, 0, 0, 0, 0, 0]), labels: [3] };
  assert.equal(errorsWithShift(row, [3], 0).errors, 1);
  assert.equal(errorsWithShift(row, [3], 0.1).errors, 0);
  assert.equal(errorsWithShift(row, [2], 0).errors, 1, 'shifting 2 by 0 leaves the tie to 2');
  assert.equal(errorsWithShift(row, [2], -0.1).errors, 0);
});

test('biasShiftStudy: the chosen shift is the validation minimum (nearest 0 on ties); test scored at 0 and there', () => {
  const shifts = shiftGrid(-3, 3, 0.5);
  const v = split('validation', 300, 2);
  const t = split('test', 500, 3);
  const st = biasShiftStudy({ classes: [3], shifts, validation: v, test: t, reportTestOptimum: true });
  const curve = shifts.map((x) => naive(v, [3], x).errors);
  const min = Math.min(...curve);
  const candidates = shifts.filter((_, k) => curve[k] === min).sort((a, b) => Math.abs(a) - Math.abs(b) || a - b);
  assert.equal(st.chosenShift, candidates[0]);
  assert.deepEqual(st.validation.curve.map((c) => c.errors), curve);
  assert.equal(st.test.atZero.errors, naive(t, [3], 0).errors);
  assert.equal(st.test.atChosen.errors, naive(t, [3], st.chosenShift).errors);
  assert.deepEqual(st.testOptimum?.curve.map((c) => c.errors), shifts.map((x) => naive(t, [3], x).errors));
  assert.equal(bestShift(t, [3], shifts).best.shift, st.testOptimum?.shift);
});

test('shiftCurves keeps the shifts from margin below to margin above 0, the chosen shifts and the optima', () => {
  const shifts = shiftGrid(-10, 10, 0.5);
  const studies = [4, 5, 6].map((k) => biasShiftStudy({ classes: [3], shifts, validation: split('validation', 200, k), test: split('test', 300, k + 10), reportTestOptimum: true }));
  const c = shiftCurves('no 3s', studies, [0, 1, 2], 1);
  const marks = [0, ...studies.flatMap((s) => [s.chosenShift, s.testOptimum!.shift])];
  assert.equal(c.shifts[0], Math.max(-10, Math.min(...marks) - 1));
  assert.equal(c.shifts[c.shifts.length - 1], Math.min(10, Math.max(...marks) + 1));
  assert.deepEqual(c.seeds.map((s) => s.seed), [0, 1, 2]);
  c.seeds.forEach((s, i) => {
    assert.equal(s.chosenShift, studies[i].chosenShift);
    c.shifts.forEach((x, k) => assert.equal(s.testErrors[k], studies[i].testOptimum!.curve.find((p) => p.shift === x)!.errors));
  });
  const noTest = biasShiftStudy({ classes: [3], shifts, validation: split('validation', 50, 1), test: split('test', 50, 2) });
  assert.throws(() => shiftCurves('x', [noTest], [0]), /reportTestOptimum/);
  assert.throws(() => shiftCurves('x', studies, [0, 1]), /one study per seed/);
});

test('errors-vs-bias-shift: a panel per study; per-seed lines, their mean, a marker at each chosen shift', () => {
  const fig = errorsVsBiasShift({
    studies: [
      { name: 'no 3s', classes: [3], shifts: [0, 1, 2], seeds: [{ seed: 0, chosenShift: 1, testErrors: [10, 4, 6] }, { seed: 1, chosenShift: 2, testErrors: [12, 8, 5] }] },
      { name: 'only 7 and 8', classes: [7, 8], shifts: [-1, 0], seeds: [{ seed: 0, chosenShift: -1, testErrors: [30, 60] }, { seed: 1, chosenShift: -1, testErrors: [34, 62] }] },
    ],
  });
  const traces = fig.data as ScatterTrace[];
  assert.equal(traces.length, 8);
  const mean = traces[2];
  assert.match(mean.name ?? '', /mean of 2 seeds/);
  assert.deepEqual(mean.y, [11, 6, 5.5]);
  const marks = traces[3];
  assert.deepEqual(marks.x, [1, 2]);
  assert.deepEqual(marks.y, [4, 5], 'each marker sits on its seed\'s line');
  assert.equal(traces[4].xaxis, 'x2');
  assert.deepEqual(traces[6].y, [32, 61]);
  assert.equal(traces.filter((t) => t.showlegend).length, 4, 'one legend entry per seed, the mean, the markers');
  assert.throws(() => errorsVsBiasShift({ studies: [{ name: 'x', classes: [3], shifts: [0, 1], seeds: [{ seed: 0, chosenShift: 0.5, testErrors: [1, 2] }] }] }), FigureInputError);
  assert.throws(() => errorsVsBiasShift({ studies: [{ name: 'x', classes: [3], shifts: [1, 0], seeds: [{ seed: 0, chosenShift: 0, testErrors: [1, 2] }] }] }), FigureInputError);
});

test('accuracy-vs-transfer-set-size: the teacher\'s legend says how many images it saw', () => {
  const base = { sizes: [100, 1000], hardTargets: [0.6, 0.9], softTargets: [0.8, 0.95], teacherAccuracy: 0.97 };
  const names = (f: { data: unknown[] }) => (f.data as ScatterTrace[]).map((t) => t.name);
  assert.equal(names(accuracyVsTransferSetSize({ ...base, teacherTrainSize: 30000 }))[2], 'teacher (trained on 30,000 images)');
  assert.equal(names(accuracyVsTransferSetSize(base))[2], 'teacher');
  assert.throws(() => accuracyVsTransferSetSize({ ...base, teacherTrainSize: 0 }), FigureInputError);
});
