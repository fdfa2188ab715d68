/** Grading hw4 (the missing digit and the bias fix) in real tslab kernels: solved source, release, wrong and fabricated answers. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { gradeSubmission, type GradeOutcome, type GradeOptions } from '../../tools/src/homework/grade';
import { releaseNotebook } from '../../tools/src/homework/release';
import { checkHw4Answer, hw4Parameters, hw4Shifts, referenceErrorsWithShift, referenceTransferIndices, type Hw4Reference } from '../../tools/src/homework/hw4';
import { killAllKernels } from '../../tools/src/runner/kernel';
import { HOMEWORK_DIR, cellById, clone, codeCell, insertAfter, loadSource, tempDir, writeSubmission, scores, timing } from './helpers';

const work = tempDir('kdlab-hw4-subs-');
after(() => {
  killAllKernels();
  fs.rmSync(work, { recursive: true, force: true });
});

const opts: GradeOptions = { sourceDir: HOMEWORK_DIR, testTimeoutSeconds: 60, cellTimeoutSeconds: 120, budgetSeconds: 600 };

const hw4 = loadSource('hw4-generalization');

test('hw4: the grader\'s references, worked by hand', () => {
  const p = hw4Parameters(hw4);
  assert.equal(p.omittedDigit, 3);
  assert.deepEqual(hw4Shifts({ shiftMax: 1, shiftStep: 0.25 }), [0, 0.25, 0.5, 0.75, 1]);
  assert.deepEqual(referenceTransferIndices([3, 1, 3, 0, 9], 3), [1, 3, 4]);
  // Row 0: label 3, logit of 3 one below the 5; row 1: label 5, predicted 5.
  const l = new Float32Array(20);
  l[5] = 2; l[3] = 1; l[15] = 2;
  assert.deepEqual(referenceErrorsWithShift(l, [3, 5], 3, 0), { errors: 1, errorsOnDigit: 1 });
  assert.deepEqual(referenceErrorsWithShift(l, [3, 5], 3, 1), { errors: 0, errorsOnDigit: 0 }, 'a tie goes to the first class');
  assert.deepEqual(referenceErrorsWithShift(l, [3, 5], 3, 2), { errors: 1, errorsOnDigit: 0 });
  // Shift 0 counts for digit 0 as well.
  const z = new Float32Array(10);
  z[0] = 1;
  assert.deepEqual(referenceErrorsWithShift(z, [0], 0, -2), { errors: 1, errorsOnDigit: 1 });
});

test('hw4: answers are checked against the grader\'s run', () => {
  const ref: Hw4Reference = {
    transferSize: 1800,
    shifts: [0, 1, 2, 3],
    validationErrors: [200, 150, 120, 121],
    test: [{ errors: 400, errorsOnDigit: 250 }, { errors: 330, errorsOnDigit: 160 }, { errors: 280, errorsOnDigit: 90 }, { errors: 281, errorsOnDigit: 60 }],
  };
  const right = { shift: 2, validationErrorsBefore: 200, validationErrorsAfter: 120, testErrorsBefore: 400, testErrorsAfter: 280, testErrorsOnDigitBefore: 250, testErrorsOnDigitAfter: 90 };
  assert.deepEqual(checkHw4Answer(right, ref), []);
  // Within one validation error of the best counts as a best shift; its own test numbers are then expected.
  assert.deepEqual(checkHw4Answer({ ...right, shift: 3, validationErrorsAfter: 121, testErrorsAfter: 281, testErrorsOnDigitAfter: 60 }, ref), []);
  assert.equal(checkHw4Answer({ ...right, shift: 1, validationErrorsAfter: 150, testErrorsAfter: 330, testErrorsOnDigitAfter: 160 }, ref).length, 1, 'not the validation optimum');
  assert.equal(checkHw4Answer({ ...right, testErrorsAfter: 250 }, ref).length, 1);
  assert.match(checkHw4Answer({ ...right, shift: 2.5 }, ref)[0], /not one of the candidate shifts/);
  assert.deepEqual(checkHw4Answer(null, ref), ['chooseShift() returned nothing usable']);
});

test('hw4: the solved source scores full marks, the release zero', async () => {
  const solved = await gradeSubmission(writeSubmission(work, 'hw4-generalization-solved', clone(hw4)), opts);
  timing('hw4 solved', solved);
  assert.deepEqual(scores(solved), { 'hw4-q1-tests': 2, 'hw4-q2-tests': 3, 'hw4-q3-tests': 3 }, JSON.stringify(solved.report.questions.map((q) => q.messages)));
  const released = await gradeSubmission(writeSubmission(work, 'hw4-generalization-released', releaseNotebook(clone(hw4)).notebook), opts);
  timing('hw4 release', released);
  assert.deepEqual(released.report.total, { score: 0, max_score: 8 });
});

test('hw4: a shift chosen on the TEST set loses question 3 only', async () => {
  const sub = clone(hw4);
  const q3 = cellById(sub, 'hw4-q3-solution');
  const text = Array.isArray(q3.source) ? q3.source.join('') : q3.source;
  q3.source = text.replace('const onVal = (s: number) => errorsWithShift(valLogits, splits.validation.labels', 'const onVal = (s: number) => errorsWithShift(testLogits, splits.test.labels');
  assert.notEqual(q3.source, text);
  const o = await gradeSubmission(writeSubmission(work, 'hw4-generalization-on-test', sub), opts);
  timing('hw4 chosen on test', o);
  // Whether the test optimum differs from the validation one depends on the grading seed; when it
  // coincides the answer's "validation" counts are still test counts, which the probe refuses.
  assert.deepEqual(scores(o), { 'hw4-q1-tests': 2, 'hw4-q2-tests': 3, 'hw4-q3-tests': 0 });
});

test('hw4 tamper: fabricated answers with patched asserts score zero', async () => {
  const sub = clone(hw4);
  cellById(sub, 'hw4-q1-solution').source = `function transferIndices(labels: ArrayLike<number>, omitted: number): number[] {
  return Array.from({ length: labels.length }, (_, i) => i);
}`;
  cellById(sub, 'hw4-q2-solution').source = `interface ShiftErrors { errors: number; errorsOnDigit: number }
function errorsWithShift(logits: Float32Array, labels: ArrayLike<number>, digit: number, shift: number): ShiftErrors {
  return { errors: 0, errorsOnDigit: 0 };
}`;
  cellById(sub, 'hw4-q3-solution').source = `interface ShiftAnswer { shift: number; validationErrorsBefore: number; validationErrorsAfter: number; testErrorsBefore: number; testErrorsAfter: number; testErrorsOnDigitBefore: number; testErrorsOnDigitAfter: number }
function chooseShift(): ShiftAnswer {
  return { shift: 3.5, validationErrorsBefore: 100, validationErrorsAfter: 50, testErrorsBefore: 206, testErrorsAfter: 109, testErrorsOnDigitBefore: 133, testErrorsOnDigitAfter: 14 };
}`;
  insertAfter(
    sub,
    'hw4-q1-solution',
    codeCell('patch-assert', `const S = require('node:assert/strict');
for (const k of ['ok', 'equal', 'deepEqual', 'throws']) S[k] = () => undefined;`),
  );
  const o = await gradeSubmission(writeSubmission(work, 'hw4-generalization-fabricated', sub), opts);
  timing('hw4 fabricated', o);
  assert.deepEqual(o.report.total, { score: 0, max_score: 8 });
  assert.match(o.report.questions[2].messages.join('\n'), /grader's run gives|validation/);
});
