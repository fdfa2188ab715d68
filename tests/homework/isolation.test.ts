/**
 * The grader against a hostile student, one test per attack class of issue 16: the sandbox's
 * view (uid, files, processes, network), a read through the workspace symlink, signals to the
 * grader, a deep-JSON answer in a batch with an honest submission, refused inputs (symlink, FIFO),
 * report-name collisions, bounded cost, output floods and a memory hog, parallel grading equal to
 * serial, feedback rendering.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as inspector from 'node:inspector';
import * as net from 'node:net';
import * as path from 'node:path';
import { gradeBatch } from '../../tools/src/homework/batch';
import { TIMEOUT_FLOOR_SECONDS, gradeSubmission, ignoreInspectorSignal, readSubmissionText, type GradeOutcome } from '../../tools/src/homework/grade';
import { feedbackMarkdown, reportNames, terminalSafe } from '../../tools/src/homework/report';
import { SANDBOX_ROOT, requireSandbox, sandboxAvailability, sandboxCommand } from '../../tools/src/homework/sandbox';
import { killAllKernels } from '../../tools/src/runner/kernel';
import { HOMEWORK_DIR, cellById, clone, codeCell, insertAfter, loadSource, tempDir, writeSubmission } from './helpers';
import { workbookRoot } from '../../lib/src/paths';

const source = loadSource('hw1-temperature');
const work = tempDir('kdlab-isolation-');
after(() => {
  killAllKernels();
  fs.rmSync(work, { recursive: true, force: true });
});

const byQuestion = (o: GradeOutcome) => Object.fromEntries(o.report.questions.map((q) => [q.grade_id, q.score]));
const messages = (o: GradeOutcome, id: string) => o.report.questions.find((q) => q.grade_id === id)?.messages.join('\n') ?? '';
const timing = (name: string, o: GradeOutcome) =>
  process.stdout.write(`# ${name}: ${o.report.total.score}/${o.report.total.max_score} in ${o.seconds.toFixed(1)} s (cells ${o.cellSeconds.toFixed(1)} s), ${o.kernelStarts} kernel start(s)\n`);

const HOMEWORK_FILE = path.join(HOMEWORK_DIR, 'hw1-temperature.ipynb');

/** Paths a kernel might read the source notebook through, relative and absolute. */
const SPY_PATHS = [
  'node_modules/kdlab/../homework/hw1-temperature.ipynb',
  `${SANDBOX_ROOT}/node_modules/kdlab/../homework/hw1-temperature.ipynb`,
  `${SANDBOX_ROOT}/node_modules/kdlab/../../homework/hw1-temperature.ipynb`,
  `${SANDBOX_ROOT}/lib/dist/../../homework/hw1-temperature.ipynb`,
  HOMEWORK_FILE,
  path.join(workbookRoot(), 'node_modules', 'kdlab', '..', 'homework', 'hw1-temperature.ipynb'),
];

test('sandbox view: another uid, no workbook beyond the runtime binds, no grader process, no network', async () => {
  // A port the grader listens on: the kernel must not reach it (no shared loopback).
  const server = net.createServer((s) => s.end('grader'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  try {
    const script = `
      const fs = require('fs');
      const out = { uid: process.getuid(), reads: {}, pids: [], kills: [] };
      for (const p of ${JSON.stringify([...SPY_PATHS, path.join(workbookRoot(), 'tools', 'src', 'homework', 'probes.ts')])}) {
        try { fs.readFileSync(p); out.reads[p] = 'READ'; } catch (e) { out.reads[p] = e.code; }
      }
      out.pids = fs.readdirSync('/proc').filter((n) => /^\\d+$/.test(n)).map(Number);
      out.cmdlines = out.pids.map((p) => { try { return fs.readFileSync('/proc/' + p + '/cmdline', 'utf8').split('\\0')[0]; } catch { return '?'; } });
      try { fs.writeFileSync('${SANDBOX_ROOT}/node_modules/x', 'x'); out.write = 'WROTE'; } catch (e) { out.write = e.code; }
      const s = require('net').connect(${port}, '127.0.0.1');
      s.on('connect', () => { out.net = 'CONNECTED'; done(); });
      s.on('error', (e) => { out.net = e.code; done(); });
      function done() { console.log(JSON.stringify(out)); process.exit(0); }`;
    const { command, args } = sandboxCommand(['/usr/bin/node', '-e', script], { env: { PATH: '/usr/bin:/bin' } });
    const r = spawnSync(command, args, { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    const seen = JSON.parse(r.stdout) as { uid: number; reads: Record<string, string>; pids: number[]; cmdlines: string[]; write: string; net: string };
    assert.equal(seen.uid, 65534, 'the kernel runs as nobody');
    for (const [p, how] of Object.entries(seen.reads)) assert.notEqual(how, 'READ', `${p} must not be readable in the sandbox`);
    assert.ok(seen.pids.every((p) => p < 10), `only the sandbox's own processes are visible: ${seen.pids.join(',')}`);
    assert.ok(!seen.cmdlines.some((c) => /tsx|--test|kdlab/.test(c)), `no grader process in /proc: ${seen.cmdlines.join(' | ')}`);
    assert.match(seen.write, /EROFS|EACCES/, 'the runtime files are read-only');
    assert.notEqual(seen.net, 'CONNECTED', "the grader's loopback is not reachable");
  } finally {
    server.close();
  }
});

test('no sandbox, no grading: a missing bubblewrap is said clearly, and the batch refuses to start', async () => {
  const a = sandboxAvailability('/nonexistent/bwrap');
  assert.equal(a.ok, false);
  assert.match(a.ok ? '' : a.reason, /\/nonexistent\/bwrap is missing \(Debian: apt-get install bubblewrap/);
  assert.deepEqual(sandboxAvailability(), { ok: true }, 'this machine (and CI) can build the sandbox');
  assert.throws(() => requireSandbox('/nonexistent/bwrap'), (e: Error & { code?: string }) => e.code === 'GRADE_NO_SANDBOX' && /--no-sandbox/.test(e.message));
});

test('SIGUSR1 opens no inspector in the grader', async () => {
  ignoreInspectorSignal();
  process.kill(process.pid, 'SIGUSR1');
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(inspector.url(), undefined);
});

test('inputs refused early: a symlink, a FIFO, a folder, an oversize file; names unique across the batch', { timeout: 120_000 }, async () => {
  const dir = path.join(work, 'inputs');
  for (const d of ['alice', 'bob', 'mallory', 'x']) fs.mkdirSync(path.join(dir, d), { recursive: true });
  const link = path.join(dir, 'alice', 'hw1-temperature.ipynb');
  fs.symlinkSync(HOMEWORK_FILE, link); // the source notebook, solutions included: 8/8 if followed
  const fifo = path.join(dir, 'bob', 'hw1-temperature.ipynb');
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
  const collide = path.join(dir, 'mallory', 'alice__hw1-temperature.ipynb');
  fs.writeFileSync(collide, ' '.repeat(1024));
  const big = path.join(dir, 'x', 'hw1-temperature-big.ipynb');
  fs.writeFileSync(big, Buffer.alloc(9 * 1024 * 1024, 32));
  const folder = path.join(dir, 'x', 'hw1-temperature-folder.ipynb');
  fs.mkdirSync(folder);

  assert.throws(() => readSubmissionText(link), /refused: it is a symbolic link/);
  assert.throws(() => readSubmissionText(fifo), /refused: it is a FIFO/);
  assert.throws(() => readSubmissionText(big), /refused: it is \d+ bytes, more than/);
  assert.throws(() => readSubmissionText(folder), /refused: it is a directory/);

  const files = [link, fifo, collide, big, folder];
  const names = reportNames(files);
  assert.equal(new Set(names.map((n) => n.toLowerCase())).size, files.length, `unique names: ${names.join(', ')}`);
  const out = path.join(work, 'inputs-out');
  const result = await gradeBatch(files, { outDir: out, sourceDir: HOMEWORK_DIR, jobs: 2 });
  assert.equal(result.outcomes.length, files.length);
  for (let i = 0; i < files.length; i++) {
    const report = JSON.parse(fs.readFileSync(path.join(out, `${result.names[i]}.json`), 'utf8')) as { total: { score: number }; error?: string };
    assert.equal(report.total.score, 0, files[i]);
    assert.ok(report.error, `${files[i]} has its reason`);
  }
  // The one readable file (blank, no cells) is named after no assignment: unknown, reported too.
  const csv = fs.readFileSync(path.join(out, 'summary.csv'), 'utf8').trim().split('\n');
  assert.equal(csv.length, 1 + files.length, 'one CSV row per submission');
});

/** An honest hw1 submission: the solved source. */
const honest = () => clone(source);

/**
 * A spy and a signaller: Q3 is right only if the source notebook could be read (through the
 * workspace symlink or otherwise); an added cell signals every process it can see, its parent
 * and -1 with SIGSTOP and SIGKILL, and writes 30 MB to stderr without a newline. Q1 and Q2 honest.
 */
function spy() {
  const sub = clone(source);
  cellById(sub, 'hw1-q3-solution').source = `const CANDIDATE_TS = [1, 2, 5, 10, 20, 50, 100];
interface LimitsOfT { maxProbAtT01: number; maxProbAtT100: number; entropyAtT100: number; maxEntropy: number; firstNearUniformT: number; }
function limitsOfT(logits: number[] = [2, 1, 0.5]): LimitsOfT {
  const fs = require('node:fs');
  const codes: string[] = [];
  for (const p of ${JSON.stringify(SPY_PATHS)}) {
    try {
      if (fs.readFileSync(p, 'utf8').includes('BEGIN HIDDEN TESTS')) {
        const soft = (T: number) => { const e = [2, 1, 0.5].map((z) => Math.exp(z / T)); const s = e[0] + e[1] + e[2]; return e.map((x) => x / s); };
        const q = soft(100);
        return { maxProbAtT01: soft(0.1)[0], maxProbAtT100: q[0], entropyAtT100: -q.reduce((h, p) => h + p * Math.log(p), 0), maxEntropy: Math.log(3), firstNearUniformT: 50 };
      }
    } catch (e) { codes.push(String((e as { code?: string }).code)); }
  }
  throw new Error('denied: ' + codes.join(','));
}`;
  insertAfter(
    sub,
    'hw1-q1-solution',
    codeCell(
      'signals',
      `{
  const fs = require('node:fs');
  const pids = fs.readdirSync('/proc').filter((n: string) => /^\\d+$/.test(n)).map(Number).filter((p: number) => p !== process.pid);
  for (const sig of ['SIGUSR1', 'SIGSTOP', 'SIGKILL'] as const) {
    for (const p of [process.ppid, ...pids]) { try { process.kill(p, sig); } catch { /* not allowed */ } }
    try { process.kill(-1, sig); } catch { /* */ }
  }
  process.stderr.write('x'.repeat(30_000_000));
}`,
    ),
  );
  return sub;
}

/**
 * Honest code, but tslab is patched so that every probe's answer is preceded by a forged one
 * between the same markers: 100,000 nested arrays where each question's answer goes, to blow the
 * stack of the grader's comparison.
 */
function deepJson() {
  const sub = clone(source);
  insertAfter(
    sub,
    'hw1-q1-solution',
    codeCell(
      'deep-json',
      `const jupyterPath = Object.keys(require.cache).find((k) => k.endsWith('/tslab/dist/jupyter.js')) ?? '';
const proto = require(jupyterPath).JupyterHandlerImpl.prototype;
const originalExecute = proto.handleExecute;
proto.handleExecute = async function (this: unknown, req: { code: string }, writeStream: (n: string, t: string) => void, ...rest: unknown[]) {
  const marker = /@@kdlab-[0-9a-f]+@@/.exec(req.code);
  const deep = '['.repeat(100000) + ']'.repeat(100000);
  if (marker) writeStream('stdout', '\\n' + marker[0] + '{"shape":' + deep + ',"ex":{"t1":' + deep + '},"maxProbAtT01":' + deep + '}' + marker[0] + '\\n');
  return originalExecute.call(this, req, writeStream, ...rest);
};`,
    ),
  );
  return sub;
}

test('a batch with an honest, a spying and signalling, and a deep-JSON submission: every report written, the honest one full; --jobs 2 equals --jobs 1', { timeout: 900_000 }, async () => {
  const dir = path.join(work, 'batch');
  fs.mkdirSync(dir);
  const files = [
    writeSubmission(dir, 'hw1-temperature-honest', honest()),
    writeSubmission(dir, 'hw1-temperature-spy', spy()),
    writeSubmission(dir, 'hw1-temperature-deep', deepJson()),
  ];
  const summary = (outcomes: readonly GradeOutcome[]) => outcomes.map((o) => ({ total: o.report.total, questions: byQuestion(o), error: o.error }));
  const results: Array<ReturnType<typeof summary>> = [];
  for (const jobs of [2, 1]) {
    const out = path.join(work, `batch-out-${jobs}`);
    const t0 = Date.now();
    const r = await gradeBatch(files, { outDir: out, sourceDir: HOMEWORK_DIR, jobs, testTimeoutSeconds: 60, cellTimeoutSeconds: 60, budgetSeconds: 180 });
    process.stdout.write(`# batch of ${files.length} with --jobs ${jobs}: ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    const [h, s, d] = r.outcomes;
    timing(`honest (jobs ${jobs})`, h);
    timing(`spy (jobs ${jobs})`, s);
    timing(`deep JSON (jobs ${jobs})`, d);
    for (const n of r.names) assert.ok(fs.existsSync(path.join(out, `${n}.json`)) && fs.existsSync(path.join(out, `${n}.md`)), `${n}: report written`);
    assert.deepEqual(h.report.total, { score: 8, max_score: 8 }, 'the honest submission keeps full marks');
    assert.deepEqual(byQuestion(s), { 'hw1-q1-tests': 3, 'hw1-q2-tests': 2, 'hw1-q3-tests': 0 }, messages(s, 'hw1-q3-tests'));
    assert.match(messages(s, 'hw1-q3-tests'), /denied: (ENOENT|ERR_ACCESS_DENIED)/);
    assert.equal(s.kernelStarts, 1, 'no signal reached beyond the sandbox; the kernel was not even stopped');
    assert.equal(d.report.total.score, 0, 'forged probe answers score nothing');
    // Either the comparison fails on the shape (it no longer serialises what it got) or it throws
    // and is caught: a wrong answer either way, never a grader fault.
    for (const q of d.report.questions) assert.match(q.messages.join(' '), /could not check the answer|grader's own check of the same question did not/, q.grade_id);
    assert.equal(fs.readFileSync(path.join(out, 'summary.csv'), 'utf8').trim().split('\n').length, 1 + files.length);
    results.push(summary(r.outcomes));
  }
  assert.deepEqual(results[0], results[1], 'parallel grading gives the same reports as serial grading');
});

test('bounded cost: a submission that loops in every cell is graded within its budget', { timeout: 600_000 }, async () => {
  const sub = clone(source);
  for (const id of ['hw1-q1-solution', 'hw1-q2-solution', 'hw1-q3-solution']) cellById(sub, id).source = 'for (;;) { /* spin */ }';
  for (let i = 0; i < 30; i++) insertAfter(sub, 'hw1-q3-solution', codeCell(`extra-${i}`, 'await new Promise(() => undefined);'));
  const file = writeSubmission(work, 'hw1-temperature-loops-all', sub);
  const budgetSeconds = 30;
  const o = await gradeSubmission(file, { sourceDir: HOMEWORK_DIR, budgetSeconds, maxExtraCells: 5 });
  timing('looping everywhere', o);
  assert.equal(o.report.total.score, 0);
  // The last cell may run to the end of its interrupt grace (3 s) past the budget.
  assert.ok(o.cellSeconds <= budgetSeconds + 3 + 1, `cells ran ${o.cellSeconds.toFixed(1)} s for a ${budgetSeconds} s budget`);
  assert.ok(o.notes.some((n) => /time budget/.test(n)), o.notes.join('\n'));
  // Timeouts derived from the source's own run: 10x its time, at least 10 s; the budget caps the last.
  const limits = o.notes.flatMap((n) => { const m = /did not finish within ([\d.]+) s/.exec(n); return m ? [Number(m[1])] : []; });
  assert.ok(limits.length >= 1, o.notes.join('\n'));
  assert.ok(limits[0] >= TIMEOUT_FLOOR_SECONDS, `the first looping cell had ${limits[0]} s`);
  assert.ok(limits.every((x) => x <= budgetSeconds), `timeouts ${limits.join(', ')} within the ${budgetSeconds} s budget`);
  assert.ok(o.notes.some((n) => /adds 30 cells of its own; only the first 5/.test(n)), o.notes.join('\n'));
});

test('feedback: student text is fenced, file names escaped, terminal output without control characters', () => {
  const evil = '<img src=x onerror=alert(1)>\u001b[2J\u001b]8;;http://x\u0007';
  const o: GradeOutcome = {
    submission: `/s/${evil}.ipynb`,
    assignment: 'hw1-temperature',
    report: { total: { score: 0, max_score: 3 }, questions: [{ grade_id: 'hw1-q1-tests', score: 0, max_score: 3, messages: [`the test cell failed:\n${evil}\n\`\`\`\n<script>x</script>`] }] },
    seconds: 1,
    cellSeconds: 1,
    kernelStarts: 1,
    notes: [`student cell x: failed:\n<script>alert(1)</script>`],
  };
  const md = feedbackMarkdown(o);
  // Outside fences, no raw HTML.
  const outside = md.split(/^````text$[\s\S]*?^````$/m).join('');
  assert.ok(!/<(img|script)/i.test(outside), outside);
  assert.ok(!md.includes('\u001b'), 'no escape characters in the feedback');
  assert.equal((md.match(/^````/gm) ?? []).length % 2, 0, 'fences are balanced');
  assert.equal(terminalSafe(evil).includes('\u001b'), false);
  assert.equal(terminalSafe(evil).includes('\u0007'), false);
});

test('floods and hogs: 50 MB to the cell output, 50 MB to the kernel\'s stderr, memory past the limit; the report stays small and the honest answers keep their marks', { timeout: 600_000 }, async () => {
  const sub = clone(source);
  insertAfter(
    sub,
    'hw1-q3-solution',
    codeCell('flood-stdout', "for (let i = 0; i < 50; i++) console.log('x'.repeat(1_000_000));"),
    codeCell('flood-stderr', "for (let i = 0; i < 50; i++) process.stderr.write('y'.repeat(1_000_000));"),
    codeCell('hog-memory', 'const hog: Float64Array[] = [];\nfor (;;) hog.push(new Float64Array(2 ** 24).fill(1));'),
  );
  const file = writeSubmission(work, 'hw1-temperature-floods', sub);
  const out = path.join(work, 'floods-out');
  const r = await gradeBatch([file], { outDir: out, sourceDir: HOMEWORK_DIR, jobs: 1, testTimeoutSeconds: 60, cellTimeoutSeconds: 60, budgetSeconds: 180 });
  const [o] = r.outcomes;
  timing('floods and hogs', o);
  process.stdout.write(`# notes: ${o.notes.join(' | ').slice(0, 2000)}\n`);
  assert.deepEqual(o.report.total, { score: 8, max_score: 8 }, o.notes.join('\n'));
  for (const f of fs.readdirSync(out)) {
    const size = fs.statSync(path.join(out, f)).size;
    assert.ok(size < 256 * 1024, `${f} is ${size} bytes: the floods reached the report`);
  }
  assert.ok(o.notes.some((n) => /hog-memory|memory|kernel/i.test(n)), o.notes.join('\n'));
});
