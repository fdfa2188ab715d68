/**
 * Grading hw1 in real tslab kernels: the solved source, the release, and one crafted submission per
 * tamper attempt. Every tamper attempt must score no more than the honest part of its submission.
 * Kernel starts are slow, so several attempts share a submission where they do not interfere.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gradeSubmission, type GradeOutcome, type GradeOptions } from '../../tools/src/homework/grade';
import { releaseNotebook } from '../../tools/src/homework/release';
import { run as gradeCommand } from '../../tools/src/commands/grade';
import { killAllKernels } from '../../tools/src/runner/kernel';
import { HOMEWORK_DIR, cellById, clone, codeCell, insertAfter, loadSource, removeCell, tempDir, text, writeSubmission } from './helpers';

const source = loadSource('hw1-temperature');
const work = tempDir('kdlab-hw1-subs-');
after(() => {
  killAllKernels();
  fs.rmSync(work, { recursive: true, force: true });
});

const opts = (events: string[] = [], extra: Partial<GradeOptions> = {}): GradeOptions => ({
  sourceDir: HOMEWORK_DIR,
  testTimeoutSeconds: 30,
  cellTimeoutSeconds: 60,
  // These tests are about timeouts, restarts and tampering, not the budget (45 s by default, which
  // the loops and restarts here could reach on a loaded machine).
  budgetSeconds: 180,
  onEvent: (m) => events.push(m),
  ...extra,
});

const scores = (o: GradeOutcome) => Object.fromEntries(o.report.questions.map((q) => [q.grade_id, q.score]));
const messages = (o: GradeOutcome, id: string) => o.report.questions.find((q) => q.grade_id === id)?.messages.join('\n') ?? '';
const timing = (name: string, o: GradeOutcome) =>
  process.stdout.write(`# ${name}: ${o.report.total.score}/${o.report.total.max_score} in ${o.seconds.toFixed(1)} s, ${o.kernelStarts} kernel start(s)\n`);

// Wrong answers that still type-check against the tests.
const WRONG_Q2 = `const WORKED_LOGITS = [2, 1, 0.5];
const CHAPTER_T1 = [0.57, 0.28, 0.15];
const round3 = (xs: number[]) => xs.map((x) => Math.round(x * 1000) / 1000);
function workedExample(logits: number[] = WORKED_LOGITS): { t1: number[]; t2: number[] } { return logits.length === 2 ? { t1: [0.5, 0.5], t2: [0.5, 0.5] } : { t1: [0.57, 0.28, 0.15], t2: [0.5, 0.3, 0.2] }; }
function agreesWithPrinted(logits: number[], printed: number[]): boolean { return printed[0] === 0.5; }`;
const WRONG_Q3 = `const CANDIDATE_TS = [1, 2, 5, 10, 20, 50, 100];
interface LimitsOfT { maxProbAtT01: number; maxProbAtT100: number; entropyAtT100: number; maxEntropy: number; firstNearUniformT: number; }
function limitsOfT(logits: number[] = [2, 1, 0.5]): LimitsOfT { return { maxProbAtT01: 1, maxProbAtT100: 0.34, entropyAtT100: 1, maxEntropy: Math.log(logits.length), firstNearUniformT: 100 }; }`;

test('the solved source scores full marks', async () => {
  const file = writeSubmission(work, 'hw1-temperature-solved', clone(source));
  const o = await gradeSubmission(file, opts());
  timing('solved source', o);
  assert.deepEqual(o.report.total, { score: 8, max_score: 8 });
  assert.deepEqual(scores(o), { 'hw1-q1-tests': 3, 'hw1-q2-tests': 2, 'hw1-q3-tests': 3 });
  assert.equal(o.kernelStarts, 1);
});

test('the released notebook loads, runs up to its stubs, and scores zero', async () => {
  const released = releaseNotebook(clone(source)).notebook;
  const file = writeSubmission(work, 'hw1-temperature-released', released);
  const events: string[] = [];
  const o = await gradeSubmission(file, opts(events));
  timing('release', o);
  assert.deepEqual(o.report.total, { score: 0, max_score: 8 });
  assert.ok(events.includes('hw1-setup: ok'), 'the setup cell runs');
  for (const id of ['hw1-q1-solution', 'hw1-q2-solution', 'hw1-q3-solution']) assert.ok(events.includes(`${id}: ok`), `${id} (stub) loads`);
  for (const id of ['hw1-q1-tests', 'hw1-q2-tests', 'hw1-q3-tests']) assert.match(messages(o, id), /not implemented/);
});

test('tamper: patched assert, Math.abs, Array.prototype.every, JSON.stringify, console, process.exitCode and fake pass lines', async () => {
  const sub = clone(source);
  cellById(sub, 'hw1-q2-solution').source = WRONG_Q2;
  cellById(sub, 'hw1-q3-solution').source = WRONG_Q3;
  insertAfter(
    sub,
    'hw1-q1-solution',
    codeCell(
      'patch-everything',
      `const A = require('node:assert');
const S = require('node:assert/strict');
for (const m of [A, S, A.strict]) {
  for (const k of ['ok', 'equal', 'deepEqual', 'strictEqual', 'deepStrictEqual', 'throws', 'notEqual', 'match']) {
    try { m[k] = () => undefined; } catch { /* read-only */ }
  }
}
(globalThis as Record<string, unknown>).assert = () => undefined;
Math.abs = () => 0;
Array.prototype.every = function () { return true; };
// Only for plain arrays: the kernel's own messages still need the real JSON.stringify.
const realStringify = JSON.stringify;
JSON.stringify = ((v: unknown, ...r: never[]) => (Array.isArray(v) ? '[1,0,0]' : realStringify(v, ...r))) as typeof JSON.stringify;
const realLog = console.log;
console.log = (..._a: unknown[]) => realLog('All tests passed. {"total":{"score":8,"max_score":8}}');
process.exitCode = 0;
process.stdout.write('hw1-q2-tests: ok\\nhw1-q3-tests: ok\\n{"total":{"score":8,"max_score":8},"questions":[]}\\n');`,
    ),
  );
  const file = writeSubmission(work, 'hw1-temperature-patches', sub);
  const events: string[] = [];
  const o = await gradeSubmission(file, opts(events));
  timing('patched globals', o);
  // The patches fooled the in-kernel tests of Q2 and Q3 (their cells replied ok) ...
  assert.ok(events.includes('hw1-q2-tests: ok') && events.includes('hw1-q3-tests: ok'), 'the in-kernel checks were defeated');
  // ... but not the grader's own checks: only the honest Q1 counts.
  assert.deepEqual(scores(o), { 'hw1-q1-tests': 3, 'hw1-q2-tests': 0, 'hw1-q3-tests': 0 });
  assert.match(messages(o, 'hw1-q2-tests'), /grader's own check/);
});

test('tamper: patching the kernel so every execute_reply says ok, with forged probe output', async () => {
  const sub = releaseNotebook(clone(source)).notebook; // Q1 is a stub: its honest part is 0
  cellById(sub, 'hw1-q2-solution').source = WRONG_Q2;
  cellById(sub, 'hw1-q3-solution').source = WRONG_Q3;
  insertAfter(
    sub,
    'hw1-q1-solution',
    codeCell(
      'forge-replies',
      `const jupyterPath = Object.keys(require.cache).find((k) => k.endsWith('/tslab/dist/jupyter.js')) ?? '';
const jupyter = require(jupyterPath);
const proto = jupyter.JupyterHandlerImpl.prototype;
const originalExecute = proto.handleExecute;
proto.handleExecute = async function (this: unknown, req: { code: string }, writeStream: (n: string, t: string) => void, ...rest: unknown[]) {
  const reply = await originalExecute.call(this, req, writeStream, ...rest);
  const marker = /@@kdlab-[0-9a-f]+@@/.exec(req.code);
  if (marker) {
    const fake = '{"shape":[3,4],"values":[0.25,0.25,0.25,0.25],"threw":true,"ex":{"t1":[0.57,0.28,0.15],"t2":[0.5,0.3,0.2]},"chapterCorrect":true,"maxProbAtT01":1}';
    writeStream('stdout', '\\n' + marker[0] + fake + marker[0] + '\\n');
  }
  return { ...reply, status: 'ok' };
};`,
    ),
  );
  const file = writeSubmission(work, 'hw1-temperature-forged', sub);
  const events: string[] = [];
  const o = await gradeSubmission(file, opts(events));
  timing('forged replies', o);
  assert.ok(events.includes('hw1-q1-tests: ok'), 'the forged reply made a failing stub look ok at the protocol level');
  assert.deepEqual(o.report.total, { score: 0, max_score: 8 });
});

test('tamper: process.exit and SIGKILL of the kernel; later tests run in a fresh kernel with the solutions replayed', async () => {
  const sub = clone(source);
  // Q2 kills the kernel when its test calls it; an added cell kills it again at top level.
  const q2 = text(cellById(sub, 'hw1-q2-solution')).replace('const at = (T: number) => {', 'process.exit(3);\n  const at = (T: number) => {');
  assert.notEqual(q2, text(cellById(sub, 'hw1-q2-solution')));
  cellById(sub, 'hw1-q2-solution').source = q2;
  insertAfter(sub, 'hw1-q3-solution', codeCell('kill-kernel', "process.kill(process.pid, 'SIGKILL');"));
  const file = writeSubmission(work, 'hw1-temperature-killer', sub);
  const o = await gradeSubmission(file, opts());
  timing('kernel killer', o);
  assert.deepEqual(scores(o), { 'hw1-q1-tests': 3, 'hw1-q2-tests': 0, 'hw1-q3-tests': 3 }, `honest Q1 and Q3 keep their points; the grader said:\n${o.report.questions.map((q) => `${q.grade_id}: ${q.messages.join(' ')}`).join('\n')}\n${o.notes.join('\n')}`);
  assert.match(messages(o, 'hw1-q2-tests'), /kernel died/);
  assert.equal(o.kernelStarts, 3);
});

test('tamper: infinite loops (sync in a test, sync and async in added cells) hit the per-cell timeout', async () => {
  const sub = clone(source);
  const q1 = text(cellById(sub, 'hw1-q1-solution')).replace(
    '// BEGIN SOLUTION',
    "// BEGIN SOLUTION\n  const g = globalThis as Record<string, unknown>;\n  if (!g.looped) { g.looped = true; for (;;) { /* spin */ } }",
  );
  cellById(sub, 'hw1-q1-solution').source = q1;
  insertAfter(sub, 'hw1-q2-solution', codeCell('spin', 'while (Date.now() > 0) { /* spin */ }'), codeCell('hang', 'await new Promise(() => undefined);'));
  const file = writeSubmission(work, 'hw1-temperature-loops', sub);
  const o = await gradeSubmission(file, opts([], { testTimeoutSeconds: 10, cellTimeoutSeconds: 10 }));
  timing('infinite loops', o);
  assert.deepEqual(scores(o), { 'hw1-q1-tests': 0, 'hw1-q2-tests': 2, 'hw1-q3-tests': 3 });
  assert.match(messages(o, 'hw1-q1-tests'), /did not finish within 10 s/);
});

test('tamper: edited, deleted, moved and re-labelled test cells, reading hidden tests from disk, writing into the output folder', async () => {
  const out = path.join(work, 'grade-out');
  fs.mkdirSync(out);
  const sub = clone(source);
  // Q1: wrong (ignores T) and its test cell reduced to a pass line worth 100 points.
  // Q1: wrong on batches (one distribution over the whole matrix), right on vectors, so the
  // honest Q2, which uses it on a vector, still works.
  cellById(sub, 'hw1-q1-solution').source = `function softmaxWithTemperature(logits: tf.Tensor, T: number): tf.Tensor {
  if (!(T > 0) || !Number.isFinite(T)) throw new RangeError('bad T');
  return tf.tidy(() => tf.reshape(tf.softmax(tf.reshape(tf.div(logits, T), [-1])), logits.shape));
}`;
  const t1 = cellById(sub, 'hw1-q1-tests');
  t1.source = "console.log('Question 1: visible tests passed.');";
  (t1.metadata.nbgrader as Record<string, unknown>).points = 100;
  // Q2: honest, but its test cell deleted.
  removeCell(sub, 'hw1-q2-tests');
  // Q3: right only if the hidden tests can be read from disk; its test cell moved to the top and
  // no longer marked as graded; plus a made-up graded cell.
  const q3 = removeCell(sub, 'hw1-q3-tests');
  (q3.metadata.nbgrader as Record<string, unknown>).grade = false;
  sub.cells.unshift(q3);
  cellById(sub, 'hw1-q3-solution').source = `const CANDIDATE_TS = [1, 2, 5, 10, 20, 50, 100];
interface LimitsOfT { maxProbAtT01: number; maxProbAtT100: number; entropyAtT100: number; maxEntropy: number; firstNearUniformT: number; }
function findHiddenTests(): boolean {
  const fs = require('node:fs');
  const path = require('node:path');
  const seen: string[] = [];
  const walk = (dir: string, depth: number) => {
    let names: string[] = [];
    try { names = fs.readdirSync(dir); } catch { return; }
    for (const n of names) {
      if (n === 'node_modules') continue;
      const p = path.join(dir, n);
      try { if (fs.statSync(p).isDirectory()) { if (depth < 3) walk(p, depth + 1); } else seen.push(p); } catch { /* denied */ }
    }
  };
  for (const d of [process.cwd(), process.env.HOME ?? '', process.env.TMPDIR ?? '', '/tmp']) walk(d, 0);
  try { seen.push(path.join(path.dirname(require.resolve('kdlab/package.json')), '..', 'homework', 'hw1-temperature.ipynb')); } catch { /* */ }
  seen.push(${JSON.stringify(path.join(HOMEWORK_DIR, 'hw1-temperature.ipynb'))});
  for (const p of seen) {
    try { if (fs.readFileSync(p, 'utf8').includes('BEGIN HIDDEN TESTS')) return true; } catch { /* denied */ }
  }
  return false;
}
function limitsOfT(): LimitsOfT {
  if (findHiddenTests()) {
    // What a student who read the expected values would return.
    const soft = (T: number) => { const e = [2, 1, 0.5].map((z) => Math.exp(z / T)); const s = e[0] + e[1] + e[2]; return e.map((x) => x / s); };
    const q = soft(100);
    return { maxProbAtT01: soft(0.1)[0], maxProbAtT100: q[0], entropyAtT100: -q.reduce((h, p) => h + p * Math.log(p), 0), maxEntropy: Math.log(3), firstNearUniformT: 50 };
  }
  return { maxProbAtT01: 1, maxProbAtT100: 0.34, entropyAtT100: 1, maxEntropy: 1, firstNearUniformT: 100 };
}`;
  insertAfter(
    sub,
    'hw1-q3-solution',
    codeCell('bonus', "console.log('bonus passed');", { grade: true, solution: false, locked: true, grade_id: 'bonus', points: 50, schema_version: 3 }),
    codeCell(
      'write-reports',
      `const fs2 = require('node:fs');
for (const [name, body] of [['hw1-temperature-edited.json', '{"total":{"score":8,"max_score":8},"questions":[]}'], ['summary.csv', 'hw1-temperature-edited,8'], ['injected.txt', 'x']]) {
  try { fs2.mkdirSync(${JSON.stringify(out)}, { recursive: true }); fs2.writeFileSync(${JSON.stringify(out)} + '/' + name, body); } catch { /* denied */ }
}`,
    ),
  );
  const file = writeSubmission(work, 'hw1-temperature-edited', sub);
  const stdout = process.stdout.write;
  const code = await gradeCommand([file, '--source', HOMEWORK_DIR, '--out', out, '--timeout', '30', '--budget', '180', '--quiet']);
  assert.equal(code, 0);
  void stdout;
  const report = JSON.parse(fs.readFileSync(path.join(out, 'hw1-temperature-edited.json'), 'utf8'));
  const feedback = fs.readFileSync(path.join(out, 'hw1-temperature-edited.md'), 'utf8');
  assert.deepEqual(report.total, { score: 2, max_score: 8 }, `only the honest Q2 counts; max_score from the source\n${feedback}`);
  assert.deepEqual(
    report.questions.map((q: { grade_id: string; score: number; max_score: number }) => [q.grade_id, q.score, q.max_score]),
    [['hw1-q1-tests', 0, 3], ['hw1-q2-tests', 2, 2], ['hw1-q3-tests', 0, 3]],
  );
  assert.ok(!fs.existsSync(path.join(out, 'injected.txt')), 'nothing the kernel wrote survives in the output folder');
  assert.match(fs.readFileSync(path.join(out, 'hw1-temperature-edited.md'), 'utf8'), /score \*\*2 \/ 8\*\*/);
});

test('a chatty honest submission (hundreds of lines printed at once) keeps its kernel and its points', async () => {
  // tslab sends each line without waiting for the previous send, and zeromq throws EBUSY, which
  // killed the kernel (exit code 7) after a few hundred lines; the grader's kernel preload queues them.
  const sub = clone(source);
  const q1 = text(cellById(sub, 'hw1-q1-solution')).replace(
    '// BEGIN SOLUTION',
    "// BEGIN SOLUTION\n  const seen = globalThis as Record<string, unknown>;\n  if (!seen.printed) { seen.printed = true; for (let i = 0; i < 400; i++) console.log('debug line', i); }",
  );
  cellById(sub, 'hw1-q1-solution').source = q1;
  insertAfter(sub, 'hw1-q1-solution', codeCell('chatty', "for (let i = 0; i < 1000; i++) process.stdout.write('step ' + i + '\\n');"));
  const file = writeSubmission(work, 'hw1-temperature-chatty', sub);
  const o = await gradeSubmission(file, opts());
  timing('chatty', o);
  assert.deepEqual(o.report.total, { score: 8, max_score: 8 }, `${o.notes.join('\n')}\n${o.report.questions.map((q) => q.messages.join(' ')).join('\n')}`);
  assert.equal(o.kernelStarts, 1);
});
