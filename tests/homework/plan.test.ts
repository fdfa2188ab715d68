import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildGradingPlan, findSourceNotebook, gradingSeed, withGradingSeed, wrapProbe } from '../../tools/src/homework/grade';
import { forbiddenLibraryUse, libraryUse } from '../../tools/src/homework/imports';
import { hw3Parameters } from '../../tools/src/homework/hw3';
import { readNotebook } from '../../tools/src/runner/nbformat';
import { gradeCells, nbgraderMeta, stripHiddenTests, stripSolutions } from '../../tools/src/homework/markers';
import { reportNames, summaryCsv, writeGradeReports } from '../../tools/src/homework/report';
import { snapshotDir } from '../../tools/src/snapshot';
import type { GradeOutcome } from '../../tools/src/homework/grade';
import { HOMEWORK_DIR, cellById, clone, codeCell, insertAfter, loadSource, removeCell, sourcePath, tempDir, text } from './helpers';

const source = loadSource('hw1-temperature');

test('plan: test cells always come from the source, whatever the submission did to its own', () => {
  const sub = clone(source);
  // Edit the Q1 test, delete the Q2 test, move the Q3 test to the top and strip its grade flag.
  cellById(sub, 'hw1-q1-tests').source = "console.log('Question 1: visible tests passed.');";
  removeCell(sub, 'hw1-q2-tests');
  const q3 = removeCell(sub, 'hw1-q3-tests');
  q3.source = 'console.log("ok")';
  (q3.metadata.nbgrader as Record<string, unknown>).grade = false;
  (q3.metadata.nbgrader as Record<string, unknown>).points = 100;
  sub.cells.unshift(q3);
  // A fake test worth 50 points, a helper cell, a solution cell without metadata (matched by id),
  // a deleted solution cell (replaced by its stub).
  insertAfter(sub, 'hw1-q1-solution', codeCell('bonus', 'console.log("ok")', { grade: true, solution: false, locked: true, grade_id: 'bonus', points: 50 }));
  insertAfter(sub, 'hw1-q1-solution', codeCell('helper', 'const helper = 1;'));
  delete cellById(sub, 'hw1-q2-solution').metadata.nbgrader;
  removeCell(sub, 'hw1-q3-solution');
  // The student's copy of the setup cell is ignored too.
  cellById(sub, 'hw1-setup').source = 'globalThis.cheat = true;';

  const { steps, notes } = buildGradingPlan(source, sub);
  const tests = steps.filter((s) => s.kind === 'test');
  const expected = gradeCells(source);
  assert.deepEqual(
    tests.map((t) => (t.kind === 'test' ? [t.gradeId, t.points, t.code] : [])),
    expected.map((g) => [g.meta.grade_id, g.meta.points, stripHiddenTests(text(g.cell), 'x')]),
    'every source test, in source order, with the visible part of its source code and its points',
  );
  for (const t of tests) {
    assert.ok(!t.code.includes('HIDDEN TESTS'), `${t.label}: no hidden test is sent to the kernel`);
    assert.ok(t.code.includes("import assert from 'node:assert/strict'"), `${t.label}: the visible asserts are`);
  }
  // The hidden region of hw1 Q2 holds the expected numbers; none of them reaches any step.
  assert.ok(text(cellById(source, 'hw1-q2-tests')).includes('0.481, 0.292, 0.227'));
  assert.ok(!steps.some((s) => s.code.includes('0.481')), 'the hidden expected values are in no step');
  assert.equal(steps[0].code, text(cellById(source, 'hw1-setup')), 'setup from the source');
  assert.ok(!steps.some((s) => s.code.includes('cheat')), "the student's setup copy does not run");
  const labels = steps.map((s) => `${s.kind}:${s.label}`);
  const i1 = labels.indexOf('student:hw1-q1-solution');
  assert.ok(i1 > 0);
  assert.equal(steps[i1 + 1].code, 'const helper = 1;', 'added cells run after the solution they follow');
  assert.equal(steps[i1 + 2].code, 'console.log("ok")', 'a fake grade cell runs as student code');
  assert.equal(steps[i1 + 2].kind, 'student');
  assert.ok(labels.indexOf('student:hw1-q1-solution') < labels.indexOf('test:hw1-q1-tests'));
  assert.equal(steps.find((s) => s.label === 'hw1-q2-solution')?.code, text(cellById(sub, 'hw1-q2-solution')), 'matched by cell id');
  const q3sol = steps.find((s) => s.label === 'hw1-q3-solution');
  assert.equal(q3sol?.code, stripSolutions(text(cellById(source, 'hw1-q3-solution')), 'x'), 'a deleted solution runs as its stub');
  assert.ok(notes.some((n) => n.includes('hw1-q3-solution')));
  assert.ok(!steps.some((s) => s.code.includes('console.log(limitsOfT())')), 'demonstration cells are not run');
});

test('plan: the submission is matched to its assignment by name, else by its cells', () => {
  assert.equal(findSourceNotebook(source, '/x/hw1-temperature-alice.ipynb', HOMEWORK_DIR), sourcePath('hw1-temperature'));
  assert.equal(findSourceNotebook(source, '/x/submission.ipynb', HOMEWORK_DIR), sourcePath('hw1-temperature'));
  const stranger = clone(source);
  stranger.cells = [codeCell('zzz', '1')];
  assert.throws(() => findSourceNotebook(stranger, '/x/other.ipynb', HOMEWORK_DIR), /cannot tell which assignment/);
});

test('probe answers are read only between the markers of this probe', () => {
  const w = wrapProbe('return 1;', '@@kdlab-abc@@');
  const out = (t: string) => ({ status: 'ok' as const, replyStatus: 'ok' as const, executionCount: 1, outputs: [{ output_type: 'stream' as const, name: 'stdout' as const, text: t }], stderr: '', timing: {}, interrupted: false, killed: false });
  assert.deepEqual(w.parse(out('noise @@kdlab-abc@@{"a":[1,2]}@@kdlab-abc@@\n')), { ok: true, value: { a: [1, 2] } });
  assert.deepEqual(w.parse(out('@@kdlab-other@@1@@kdlab-other@@')), { ok: false });
  assert.deepEqual(w.parse(out('@@kdlab-abc@@{bad@@kdlab-abc@@')), { ok: false });
  assert.match(w.code, /await kdlabProbe_kdlababc\w*Fn\(\)/);
});

function outcome(file: string, score: number): GradeOutcome {
  return {
    submission: file,
    assignment: 'hw1-temperature',
    report: { total: { score, max_score: 8 }, questions: [{ grade_id: 'hw1-q1-tests', score, max_score: 8, messages: score ? [] : ['```` fake fence\nboom'] }] },
    seconds: 1,
    cellSeconds: 1,
    kernelStarts: 1,
    notes: [],
  };
}

test('reports: written after grading from the grader state; files that appeared meanwhile are removed', () => {
  const out = tempDir('kdlab-grade-out-');
  try {
    fs.writeFileSync(path.join(out, 'old-notes.txt'), 'teacher file');
    const before = snapshotDir(out);
    // What a submission could have written while it ran: a fake report, a fake summary, a new file.
    fs.writeFileSync(path.join(out, 'alice.json'), '{"total":{"score":8,"max_score":8}}');
    fs.writeFileSync(path.join(out, 'summary.csv'), 'alice,8');
    fs.mkdirSync(path.join(out, 'sub'));
    fs.writeFileSync(path.join(out, 'sub', 'x.txt'), 'x');
    const written = writeGradeReports(out, [outcome('/s/alice.ipynb', 0), outcome('/s/=cmd|calc.ipynb', 8)], before);
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(out, 'alice.json'), 'utf8')).total, { score: 0, max_score: 8 });
    assert.ok(!fs.existsSync(path.join(out, 'sub')), 'a folder created during grading is removed');
    assert.equal(fs.readFileSync(path.join(out, 'old-notes.txt'), 'utf8'), 'teacher file', "the teacher's own files stay");
    assert.ok(written.foreign.some((f) => f.startsWith('sub')));
    const csv = fs.readFileSync(path.join(out, 'summary.csv'), 'utf8').trim().split('\n');
    assert.equal(csv[0], 'submission,assignment,score,max_score,hw1-q1-tests,seconds');
    assert.equal(csv[1], 'alice,hw1-temperature,0,8,0,1.0');
    assert.ok(csv[2].startsWith('_cmd_calc,'), 'file names are reduced to safe characters');
    assert.ok(summaryCsv([outcome('/s/x.ipynb', 1)], ['=HYPERLINK("x")']).includes(`"'=HYPERLINK(""x"")"`), 'formula injection is neutralised');
    const md = fs.readFileSync(path.join(out, 'alice.md'), 'utf8');
    assert.ok(!md.includes('```` fake'), 'student text cannot close the feedback fence');
    assert.match(md, /score \*\*0 \/ 8\*\*/);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});

test('reports: a symlinked output folder is refused; duplicate names get their folder as prefix', () => {
  const base = tempDir('kdlab-grade-out-');
  try {
    fs.mkdirSync(path.join(base, 'real'));
    fs.symlinkSync(path.join(base, 'real'), path.join(base, 'link'));
    assert.throws(() => writeGradeReports(path.join(base, 'link'), [outcome('/a/x.ipynb', 1)], new Map()), /symlink/);
    assert.deepEqual(reportNames(['/a/alice/hw1.ipynb', '/a/bob/hw1.ipynb', '/a/c/hw2.ipynb']), ['alice__hw1', 'bob__hw1', 'hw2']);
    assert.equal(summaryCsv([outcome('/a/x.ipynb', 1)], ['x']).split('\n').length, 3);
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }
});

test('every grade cell of every source has a grader-side probe', async () => {
  const { HOMEWORK_PROBES } = await import('../../tools/src/homework/probes');
  for (const file of fs.readdirSync(HOMEWORK_DIR).filter((f) => f.endsWith('.ipynb'))) {
    const nb = loadSource(file.replace(/\.ipynb$/, ''));
    for (const c of nb.cells) {
      const m = nbgraderMeta(c);
      if (m?.grade) assert.ok(HOMEWORK_PROBES[m.grade_id], `${file}: probe for ${m.grade_id}`);
    }
  }
});

test('unreadable or odd submissions are graded leniently, as far as they can be read', async () => {
  const { readSubmission } = await import('../../tools/src/homework/grade');
  const dir = tempDir('kdlab-read-sub-');
  try {
    const broken = path.join(dir, 'hw1-temperature-broken.ipynb');
    fs.writeFileSync(broken, '{"cells": [');
    const r1 = readSubmission(broken);
    assert.equal(r1.notebook.cells.length, 0);
    assert.match(r1.problem ?? '', /could not be read/);
    const odd = path.join(dir, 'hw1-temperature-odd.ipynb');
    const nb = clone(source);
    nb.metadata.kernelspec = { name: 'python3', display_name: 'Python 3' };
    (nb.cells as unknown[]).push(42, { cell_type: 'code', source: 7 });
    fs.writeFileSync(odd, JSON.stringify(nb));
    const r2 = readSubmission(odd);
    assert.equal(r2.notebook.cells.length, source.cells.length, 'a foreign kernelspec is tolerated, junk cells dropped');
    assert.match(r2.problem ?? '', /2 malformed cell/);
    const plan = buildGradingPlan(source, r1.notebook);
    assert.equal(plan.steps.filter((s) => s.kind === 'test').length, 3, 'an empty submission still runs every test (against stubs)');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('library answers: the text scan names the imports of what a question asks for (an early warning; the student edition is the boundary)', () => {
  const wrapper = "import { softmaxWithTemperature as ref, tf } from 'kdlab';\nfunction softmaxWithTemperature(l: tf.Tensor, T: number) { return ref(l, T); }";
  const hits = forbiddenLibraryUse(wrapper, ['hw1-q1-tests', 'hw1-q2-tests', 'hw2-q2-tests']);
  assert.deepEqual([...hits.keys()], ['hw1-q1-tests', 'hw1-q2-tests'], 'questions without forbidden names are not affected');
  assert.match(hits.get('hw1-q1-tests')?.join(' ') ?? '', /imports the library's softmaxWithTemperature/);
  // Allowed: other names, and mentions in comments.
  assert.equal(forbiddenLibraryUse("import { tf, makeRng } from 'kdlab';\n// not softmaxWithTemperature from 'kdlab'", ['hw1-q1-tests']).size, 0);
  assert.equal(forbiddenLibraryUse("const fs = require('node:fs');", ['hw1-q1-tests']).size, 0);
  // Ways that hide which names are used count as using them.
  for (const code of ["import * as k from 'kdlab';", "const k = require('kdlab');", "const m = await import('kdlab/internals');", "const k = require(['kd', 'lab'].join(''));"]) {
    assert.equal(forbiddenLibraryUse(code, ['hw2-q1-tests']).size, 1, code);
  }
  const use = libraryUse("import {\n  distillationLoss as d,\n  type KdLossOptions,\n} from \"kdlab\";");
  assert.deepEqual([...use.names].sort(), ['KdLossOptions', 'distillationLoss']);
});

test('hw3 seed: drawn at grading time and put in the parameters cell; other parameters unchanged', () => {
  const hw3 = readNotebook(path.join(HOMEWORK_DIR, 'hw3-ablation.ipynb'));
  const seeded = withGradingSeed(hw3, 123457);
  assert.equal(hw3Parameters(seeded).seed, 123457);
  assert.deepEqual({ ...hw3Parameters(seeded), seed: 0 }, { ...hw3Parameters(hw3), seed: 0 });
  assert.equal(hw3Parameters(hw3).seed, 0, 'the source itself is not modified');
  assert.ok(gradingSeed() > 0 && gradingSeed() === gradingSeed(), 'one seed per grader process');
});
