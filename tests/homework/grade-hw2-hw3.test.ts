/** Grading hw2 and hw3 in real tslab kernels: solved sources, releases, and honest or fabricated wrong answers. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { gradeSubmission, type GradeOutcome, type GradeOptions } from '../../tools/src/homework/grade';
import { releaseNotebook } from '../../tools/src/homework/release';
import { checkHw3Answers } from '../../tools/src/homework/probes';
import { hw3Parameters } from '../../tools/src/homework/hw3';
import { killAllKernels } from '../../tools/src/runner/kernel';
import { HOMEWORK_DIR, cellById, clone, codeCell, insertAfter, loadSource, tempDir, text, writeSubmission, scores, timing } from './helpers';

const work = tempDir('kdlab-hw23-subs-');
after(() => {
  killAllKernels();
  fs.rmSync(work, { recursive: true, force: true });
});

// hw3's grid is slow on a loaded machine: a generous budget (the CLI derives it from the source's own run).
const opts: GradeOptions = { sourceDir: HOMEWORK_DIR, testTimeoutSeconds: 60, cellTimeoutSeconds: 120, budgetSeconds: 600 };

const hw2 = loadSource('hw2-distillation-loss');
const hw3 = loadSource('hw3-ablation');

test('hw2: the solved source scores full marks, the release zero', async () => {
  const solved = await gradeSubmission(writeSubmission(work, 'hw2-distillation-loss-solved', clone(hw2)), opts);
  timing('hw2 solved', solved);
  assert.deepEqual(scores(solved), { 'hw2-q1-tests': 3, 'hw2-q2-tests': 3, 'hw2-q3-tests': 2 });
  const released = await gradeSubmission(writeSubmission(work, 'hw2-distillation-loss-released', releaseNotebook(clone(hw2)).notebook), opts);
  timing('hw2 release', released);
  assert.deepEqual(released.report.total, { score: 0, max_score: 8 });
});

test("hw2: a student who ships the faulty loss loses the loss and gradient questions, keeps the diagnosis", async () => {
  const sub = clone(hw2);
  const faulty = text(cellById(hw2, 'hw2-faulty')).replace('faultyDistillationLoss', 'distillationLoss');
  const q1 = text(cellById(sub, 'hw2-q1-solution'));
  cellById(sub, 'hw2-q1-solution').source = faulty + q1.slice(q1.indexOf('\nfunction combinedLoss'));
  const o = await gradeSubmission(writeSubmission(work, 'hw2-distillation-loss-faulty', sub), opts);
  timing('hw2 faulty loss', o);
  assert.deepEqual(scores(o), { 'hw2-q1-tests': 0, 'hw2-q2-tests': 0, 'hw2-q3-tests': 2 });
});

test('hw3: answers are checked against the grid the grader recomputes', () => {
  const params = hw3Parameters(hw3);
  assert.deepEqual(params.temperatures, [1, 4, 8]);
  assert.deepEqual(params.alphas, [0, 0.5, 0.9]);
  const grid = [
    { T: 1, alpha: 0, accuracy: 0.8 },
    { T: 1, alpha: 0.5, accuracy: 0.82 },
    { T: 4, alpha: 0, accuracy: 0.8 },
    { T: 4, alpha: 0.5, accuracy: 0.85 },
    { T: 4, alpha: 0.9, accuracy: 0.849 },
  ];
  const right = { bestT: 4, bestAlpha: 0.5, bestAccuracy: 0.85, hardLabelAccuracy: 0.8, gainOverHardLabels: 0.05, bestAlphaAtHighestT: 0.5 };
  assert.deepEqual(checkHw3Answers(right, grid, 0.0015), []);
  // Within one validation example of the best counts as a best row (ties across backends).
  assert.deepEqual(checkHw3Answers({ ...right, bestAlpha: 0.9, bestAlphaAtHighestT: 0.9 }, grid, 0.0015), []);
  assert.equal(checkHw3Answers({ ...right, bestT: 1 }, grid, 0.0015).length, 1);
  assert.equal(checkHw3Answers({ ...right, gainOverHardLabels: 0.02, hardLabelAccuracy: 0.83 }, grid, 0.0015).length, 2);
  assert.deepEqual(checkHw3Answers(null, grid, 0.0015), ['gridAnswers() returned nothing usable']);
});

test('hw3: the solved source scores full marks, the release zero', async () => {
  const solved = await gradeSubmission(writeSubmission(work, 'hw3-ablation-solved', clone(hw3)), opts);
  timing('hw3 solved', solved);
  assert.deepEqual(scores(solved), { 'hw3-q1-tests': 2, 'hw3-q2-tests': 3 });
  const released = await gradeSubmission(writeSubmission(work, 'hw3-ablation-released', releaseNotebook(clone(hw3)).notebook), opts);
  timing('hw3 release', released);
  assert.deepEqual(released.report.total, { score: 0, max_score: 5 });
});

test('hw3 tamper: a fabricated grid with matching answers and patched asserts scores zero', async () => {
  const sub = clone(hw3);
  cellById(sub, 'hw3-q1-solution').source = `async function runGrid(): Promise<GridRow[]> {
  const rows: GridRow[] = [];
  for (const T of temperatures) for (const alpha of alphas) rows.push({ T, alpha, accuracy: T === 4 && alpha === 0.5 ? 0.97 : 0.5 });
  return rows;
}`;
  cellById(sub, 'hw3-q2-solution').source = `interface GridAnswers { bestT: number; bestAlpha: number; bestAccuracy: number; hardLabelAccuracy: number; gainOverHardLabels: number; bestAlphaAtHighestT: number; }
function gridAnswers(): GridAnswers {
  return { bestT: 4, bestAlpha: 0.5, bestAccuracy: 0.97, hardLabelAccuracy: 0.5, gainOverHardLabels: 0.47, bestAlphaAtHighestT: 0 };
}`;
  insertAfter(
    sub,
    'hw3-q1-solution',
    codeCell('patch-assert', `const S = require('node:assert/strict');
for (const k of ['ok', 'equal', 'deepEqual']) S[k] = () => undefined;`),
  );
  const o = await gradeSubmission(writeSubmission(work, 'hw3-ablation-fabricated', sub), opts);
  timing('hw3 fabricated', o);
  assert.deepEqual(o.report.total, { score: 0, max_score: 5 });
  assert.match(o.report.questions[0].messages.join('\n'), /off by .* from the grader's run at the grading seed/);
  assert.doesNotMatch(o.report.questions[0].messages.join('\n'), /0\.\d{3}/, 'no accuracy of the grader\'s run in the feedback');
});
