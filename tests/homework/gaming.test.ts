/**
 * Issue 27, "grading that cannot be gamed": one batch, graded by the `kdlab grade` command in its
 * own process, with one honest hw1 submission beside one attacker per attack class of the issue.
 * Each class's test checks its attacker scores 0 on the question it attacks, the honest submission
 * keeps full marks and every report is on disk. The batch's wall time, each submission's time and
 * the grader's peak memory (its maxRSS) are printed, never asserted.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { workbookRoot } from '../../lib/src/paths';
import { CONNECTION_TMPFS, KERNEL_UID_RANGE } from '../../tools/src/homework/sandbox';
import { HOMEWORK_DIR, cellById, clone, codeCell, insertAfter, loadSource, tempDir, writeSubmission } from './helpers';

const source = loadSource('hw1-temperature');
const work = tempDir('kdlab-gaming-');
// KDLAB_KEEP_GAMING=1 keeps the submissions and reports (printed path) for a look after the run.
const keep = Boolean(process.env.KDLAB_KEEP_GAMING);
const subs = path.join(work, 'subs');
const out = path.join(work, 'out');
fs.mkdirSync(subs);
after(() => (keep ? process.stdout.write(`# kept ${work}\n`) : fs.rmSync(work, { recursive: true, force: true })));

interface Report {
  total: { score: number; max_score: number };
  questions: Array<{ grade_id: string; score: number; max_score: number; messages: string[] }>;
  error?: string;
}

const HONEST = 'hw1-temperature-honest';
const LIBRARY = 'hw1-temperature-library';
const SPY = 'hw1-temperature-spy';
const TYPED = 'hw1-temperature-typed-in';
const FLOOD = 'hw1-temperature-flood';
const LOOP = 'hw1-temperature-loop';
const LIMITS_A = 'hw1-temperature-limits-a';
const LIMITS_B = 'hw1-temperature-limits-b';
// Control characters, a terminal escape (OSC 8 link, screen clear), a spreadsheet formula and a
// bidi override in the file names: one graded as hw1, one that is no notebook at all.
const EVIL = 'hw1-temperature-\u001b[2J\u001b]8;;x\u0007=HYPERLINK("x")\u202e';
const EVIL_REFUSED = '\u001b]0;pwned\u0007=1+1\u202e';

/** Q1 that reaches the library's softmaxWithTemperature in every way the issue found, and more. */
function libraryAttacker() {
  const sub = clone(source);
  insertAfter(
    sub,
    'hw1-setup',
    // An import by absolute path, and a real import hidden from a text scan between "/*" and "*/".
    codeCell('via-path', "import { softmaxWithTemperature as viaPath } from '/opt/kdlab/lib/dist/index.js';\n(globalThis as Record<string, unknown>).viaPath = viaPath;"),
    codeCell('via-hidden-import', "const openComment = \"/*\";\nimport { softmaxWithTemperature as viaHidden } from 'kdlab';\nconst closeComment = \"*/\";\n(globalThis as Record<string, unknown>).viaHidden = viaHidden;"),
  );
  cellById(sub, 'hw1-q1-solution').source = `type Softmax = (l: tf.Tensor, t: number) => tf.Tensor;
const attempts: Record<string, () => unknown> = {
  'require.call': () => require.call(null, 'kdlab').softmaxWithTemperature,
  'require.cache': () => Object.values(require.cache).map((m) => (m?.exports as Record<string, unknown> | undefined)?.softmaxWithTemperature).find((f) => typeof f === 'function'),
  'absolute path': () => (globalThis as Record<string, unknown>).viaPath,
  'import hidden from the scan': () => (globalThis as Record<string, unknown>).viaHidden,
  'process.mainModule.require': () => (process as unknown as { mainModule: NodeRequire & { require: NodeRequire } }).mainModule.require('kdlab').softmaxWithTemperature,
  'source text': () => {
    const file = '/opt/kdlab/lib/dist/softmax.js';
    const m = { exports: {} as Record<string, unknown> };
    new Function('exports', 'require', 'module', require('fs').readFileSync(file, 'utf8'))(m.exports, require('module').createRequire(file), m);
    return m.exports.softmaxWithTemperature;
  },
  'the host build': () => require(${JSON.stringify(path.join(workbookRoot(), 'lib', 'dist', 'index.js'))}).softmaxWithTemperature,
};
const attemptResults: Record<string, string> = {};
(globalThis as Record<string, unknown>).attemptResults = attemptResults;
function softmaxWithTemperature(logits: tf.Tensor, T: number): tf.Tensor {
  let last: unknown = new Error('no attempt');
  for (const [how, get] of Object.entries(attempts)) {
    try {
      const out = (get() as Softmax)(logits, T);
      attemptResults[how] = 'WORKED';
      return out;
    } catch (e) {
      attemptResults[how] = String((e as Error)?.name).slice(0, 22) + ': ' + String((e as Error)?.message).slice(0, 18);
      last = e;
    }
  }
  throw last;
}`;
  // After Q1's test (and before Q3's): report what each attempt met.
  insertAfter(sub, 'hw1-q3-solution', codeCell('report-attempts', "throw new Error('ATTEMPTS ' + JSON.stringify((globalThis as Record<string, unknown>).attemptResults));"));
  return sub;
}

/**
 * Records every request the kernel receives (tslab's handler and JSON.parse) and answers Q3 with
 * the hidden tests' numbers if they ever arrive; an added cell after Q2's test throws what it saw,
 * so the grader would copy it into the feedback.
 */
function spyAttacker() {
  const sub = clone(source);
  insertAfter(
    sub,
    'hw1-setup',
    codeCell(
      'record-everything',
      `const kdlabSeen: string[] = [];
(globalThis as Record<string, unknown>).kdlabSeen = kdlabSeen;
const realParse = JSON.parse;
JSON.parse = function (text: string, ...rest: unknown[]) {
  // (Not its own cells: they name what they look for.)
  if (typeof text === 'string' && text.length < 1_000_000 && !text.includes('kdlabSeen')) kdlabSeen.push(text);
  return (realParse as (...a: unknown[]) => unknown).call(this, text, ...rest);
} as typeof JSON.parse;
const jupyterPath = Object.keys(require.cache).find((k) => k.endsWith('/tslab/dist/jupyter.js')) ?? '';
const handlerProto = require(jupyterPath).JupyterHandlerImpl.prototype;
const originalExecute = handlerProto.handleExecute;
handlerProto.handleExecute = async function (this: unknown, req: { code: string }, ...rest: unknown[]) {
  if (!req.code.includes('kdlabSeen')) kdlabSeen.push(req.code);
  return originalExecute.call(this, req, ...rest);
};`,
    ),
  );
  cellById(sub, 'hw1-q3-solution').source = `const CANDIDATE_TS = [1, 2, 5, 10, 20, 50, 100];
interface LimitsOfT { maxProbAtT01: number; maxProbAtT100: number; entropyAtT100: number; maxEntropy: number; firstNearUniformT: number; }
function limitsOfT(logits: number[] = WORKED_LOGITS): LimitsOfT {
  const seen = ((globalThis as Record<string, unknown>).kdlabSeen as string[]).join('\\n');
  const hit = /firstNearUniformT: (\\d+)/.exec(seen);
  return { maxProbAtT01: 1, maxProbAtT100: 0.34, entropyAtT100: 1, maxEntropy: Math.log(logits.length), firstNearUniformT: hit ? Number(hit[1]) : 100 };
}`;
  insertAfter(
    sub,
    'hw1-q3-solution',
    codeCell(
      'leak-what-was-seen',
      `{
  const seen = (globalThis as Record<string, unknown>).kdlabSeen as string[];
  const hits = seen.filter((t) => /HIDDEN TESTS|expect1|0\\.481|firstNearUniformT: 50|const expected/.test(t));
  throw new Error('SPY ' + seen.length + ' texts seen, ' + hits.length + ' with hidden tests: ' + hits.join(' | ').slice(0, 300));
}`,
    ),
  );
  return sub;
}

/** The chapter's numbers typed in as constants (what a throw-away submission used to reveal). */
function typedInAttacker() {
  const sub = clone(source);
  cellById(sub, 'hw1-q2-solution').source = `const WORKED_LOGITS = [2, 1, 0.5];
const CHAPTER_T1 = [0.57, 0.28, 0.15];
function workedExample(logits: number[] = WORKED_LOGITS): { t1: number[]; t2: number[] } {
  return logits.length === 2 ? { t1: [0.5, 0.5], t2: [0.5, 0.5] } : { t1: [0.629, 0.231, 0.14], t2: [0.481, 0.292, 0.227] };
}
function agreesWithPrinted(logits: number[], printed: number[]): boolean { return logits.length === 2 && printed[0] === 0.5; }`;
  cellById(sub, 'hw1-q3-solution').source = `const CANDIDATE_TS = [1, 2, 5, 10, 20, 50, 100];
interface LimitsOfT { maxProbAtT01: number; maxProbAtT100: number; entropyAtT100: number; maxEntropy: number; firstNearUniformT: number; }
function limitsOfT(logits: number[] = WORKED_LOGITS): LimitsOfT {
  return { maxProbAtT01: 0.9999546000702375, maxProbAtT100: 0.33778089722036, entropyAtT100: 1.0985748855406408, maxEntropy: Math.log(logits.length), firstNearUniformT: 50 };
}`;
  return sub;
}

/** Student text full of escapes, HTML, Markdown and formulas: in Q1's error and an added cell's id and error. */
function evilTextAttacker() {
  const sub = clone(source);
  const evil = JSON.stringify('\u001b[2J\u001b]8;;http://x\u0007<img src=x onerror=alert(1)>\u202e | ``` # =cmd|calc\r\n,"x",');
  cellById(sub, 'hw1-q1-solution').source = `function softmaxWithTemperature(logits: tf.Tensor, T: number): tf.Tensor { throw new Error(${evil}); }`;
  insertAfter(sub, 'hw1-q3-solution', codeCell('evil\u001b[31m\u202e=cmd', `throw new Error(${evil});`));
  return sub;
}

/**
 * Q1 floods the grader with 62 MiB display messages (1,000 of them), Q2 with 1 MiB stream
 * messages (200 of them); both then answer honestly, and Q3 is honest (with its own softmax, so
 * that Q1's flood does not reach it).
 */
function floodAttacker() {
  const sub = clone(source);
  const textOf = (id: string) => {
    const c = cellById(sub, id);
    return Array.isArray(c.source) ? c.source.join('') : c.source;
  };
  const honestSoftmax = textOf('hw1-q1-solution').replace('function softmaxWithTemperature(', 'function honestSoftmax(');
  insertAfter(sub, 'hw1-setup', codeCell('honest-softmax', honestSoftmax));
  cellById(sub, 'hw1-q1-solution').source = textOf('hw1-q1-solution').replace(
    '// BEGIN SOLUTION',
    "// BEGIN SOLUTION\n  const big = 'x'.repeat(62 * 1024 * 1024);\n  for (let i = 0; i < 1000; i++) require('tslab').display.html(big);",
  );
  cellById(sub, 'hw1-q2-solution').source = textOf('hw1-q2-solution')
    .replace('  // BEGIN SOLUTION\n  const at', "  // BEGIN SOLUTION\n  for (let i = 0; i < 200; i++) process.stdout.write('y'.repeat(1 << 20));\n  const at")
    .replace(/softmaxWithTemperature\(/g, 'honestSoftmax(');
  cellById(sub, 'hw1-q3-solution').source = textOf('hw1-q3-solution').replace(/softmaxWithTemperature\(/g, 'honestSoftmax(');
  return sub;
}

/**
 * Shared limits: fills its connection folder with socket files (one kernel made 16,000 on the host
 * disk) and reports its uid and the folder's file system. Its answers are honest: what it attacks
 * is the others' share (the process limit of a shared uid, the host's disk).
 */
function sharedLimitsAttacker() {
  const sub = clone(source);
  insertAfter(
    sub,
    'hw1-setup',
    codeCell(
      'fill-connection-folder',
      `const floodNet = require('node:net');
const floodPath = require('node:path');
const floodDir = floodPath.dirname(process.argv[process.argv.indexOf('--config-path') + 1]);
let floodMade = 0;
let floodStop = 'nothing';
async function floodSockets(): Promise<void> {
  for (let i = 0; i < 16000; i++) {
    const how = await new Promise<string>((resolve) => {
      const srv = floodNet.createServer();
      srv.once('error', (e: { code?: string }) => resolve(String(e.code)));
      srv.listen(floodPath.join(floodDir, 'f' + i), () => resolve('ok'));
    });
    if (how !== 'ok') { floodStop = how; return; }
    floodMade++;
  }
}
await floodSockets();`,
    ),
    codeCell(
      'report-limits',
      `{
  // The file system of the connection file's folder (0x01021994 is tmpfs), and its inode count.
  const st = require('node:fs').statfsSync(process.argv[process.argv.indexOf('--config-path') + 1]);
  throw new Error('LIMITS uid ' + process.getuid() + ' sockets ' + floodMade + ' stopped by ' + floodStop + ' fs ' + (st.type === 0x01021994 ? 'tmpfs' : 'type-' + st.type) + ' inodes ' + st.files);
}`,
    ),
  );
  return sub;
}

/** Every cell loops or hangs (the issue's other cost). */
function loopAttacker() {
  const sub = clone(source);
  for (const id of ['hw1-q1-solution', 'hw1-q2-solution', 'hw1-q3-solution']) cellById(sub, id).source = 'for (;;) { /* spin */ }';
  for (let i = 0; i < 30; i++) insertAfter(sub, 'hw1-q3-solution', codeCell(`hang-${i}`, 'await new Promise(() => undefined);'));
  return sub;
}

interface BatchRun {
  code: number | null;
  stdout: string;
  stderr: string;
  seconds: number;
  maxRssKiB: number;
  names: Record<string, string>;
}

let batch: BatchRun;

/** Runs `kdlab grade` (from the sources) in a child process that reports its own peak memory. */
function gradeInChild(files: string[]): Promise<BatchRun> {
  const preload = path.join(work, 'maxrss.cjs');
  fs.writeFileSync(preload, "process.on('exit', () => process.stderr.write('\\nMAXRSS_KIB ' + process.resourceUsage().maxRSS + '\\n'));\n");
  const args = ['--require', preload, '--import', 'tsx', path.join(workbookRoot(), 'tools', 'src', 'cli.ts'), 'grade', ...files, '--source', HOMEWORK_DIR, '--out', out, '--jobs', '2'];
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: workbookRoot(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20 * 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const rss = /MAXRSS_KIB (\d+)/.exec(stderr);
      resolve({ code, stdout, stderr, seconds: (Date.now() - t0) / 1000, maxRssKiB: rss ? Number(rss[1]) : Number.NaN, names: {} });
    });
  });
}

const reportOf = (name: string): Report => JSON.parse(fs.readFileSync(path.join(out, `${name}.json`), 'utf8')) as Report;
const markdownOf = (name: string): string => fs.readFileSync(path.join(out, `${name}.md`), 'utf8');
const scoresOf = (r: Report) => Object.fromEntries(r.questions.map((q) => [q.grade_id, q.score]));
const messagesOf = (r: Report, id: string) => r.questions.find((q) => q.grade_id === id)?.messages.join('\n') ?? '';
/** Seconds a submission took, from the command's own line for it. */
const secondsOf = (file: string): number => {
  const line = batch.stdout.split('\n').find((l) => l.startsWith(`${file}: `)) ?? '';
  return Number(/, ([\d.]+) s\)$/.exec(line)?.[1] ?? Number.NaN);
};
// The report names the command derives (reportNames): the evil ones with their characters replaced.
const reportName = (base: string): string => base.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[.]+/, '_').slice(0, 120) || '_';

before(async () => {
  const files = [
    writeSubmission(subs, LIMITS_A, sharedLimitsAttacker()),
    writeSubmission(subs, LIMITS_B, sharedLimitsAttacker()),
    writeSubmission(subs, HONEST, clone(source)),
    writeSubmission(subs, LIBRARY, libraryAttacker()),
    writeSubmission(subs, SPY, spyAttacker()),
    writeSubmission(subs, TYPED, typedInAttacker()),
    writeSubmission(subs, EVIL, evilTextAttacker()),
    writeSubmission(subs, FLOOD, floodAttacker()),
    writeSubmission(subs, LOOP, loopAttacker()),
  ];
  const refused = path.join(subs, `${EVIL_REFUSED}.ipynb`);
  fs.writeFileSync(refused, '{}');
  files.push(refused);
  batch = await gradeInChild(files);
  process.stdout.write(`# batch of ${files.length} hw1 submissions, --jobs 2: ${batch.seconds.toFixed(1)} s (calibration included), grader peak RSS ${(batch.maxRssKiB / 1024).toFixed(0)} MiB, exit code ${batch.code}\n`);
  for (const f of files) process.stdout.write(`#   ${path.basename(f).replace(/[^\x20-\x7e]/g, '?')}: ${secondsOf(f)} s\n`);
});

test('every submission has its report and a summary row, whatever the others did', () => {
  assert.equal(batch.code, 1, `exit code 1: one submission could not be graded\n${batch.stderr.slice(-2000)}`);
  const names = [HONEST, LIBRARY, SPY, TYPED, EVIL, FLOOD, LOOP, LIMITS_A, LIMITS_B, EVIL_REFUSED].map(reportName);
  for (const n of names) {
    assert.ok(fs.existsSync(path.join(out, `${n}.json`)) && fs.existsSync(path.join(out, `${n}.md`)), `${n}: report written`);
  }
  const rows = fs.readFileSync(path.join(out, 'summary.csv'), 'utf8').trim().split('\n');
  assert.equal(rows.length, 1 + names.length);
  assert.deepEqual(reportOf(HONEST).total, { score: 8, max_score: 8 }, 'the honest submission keeps full marks');
  assert.match(reportOf(reportName(EVIL_REFUSED)).error ?? '', /cannot tell which assignment/);
});

test('class 1, the library\'s answers: every way of reaching softmaxWithTemperature meets the student edition\'s stub', () => {
  const r = reportOf(LIBRARY);
  assert.equal(scoresOf(r)['hw1-q1-tests'], 0);
  assert.match(messagesOf(r, 'hw1-q1-tests'), /WriteThisYourselfError|Cannot find module/);
  const md = markdownOf(LIBRARY);
  const m = /ATTEMPTS (\{.*?\})/.exec(md.replace(/\n/g, ' '));
  assert.ok(m, `the attacker reported its attempts:\n${md}`);
  const attempts = JSON.parse(m[1].replace(/&#(\d+);/g, (_, c: string) => String.fromCharCode(Number(c)))) as Record<string, string>;
  for (const how of ['require.call', 'require.cache', 'absolute path', 'import hidden from the scan', 'process.mainModule.require', 'source text']) {
    assert.match(attempts[how] ?? '', /^WriteThisYourselfError: softmaxWithTemper/, `${how}: ${attempts[how]}`);
  }
  assert.match(attempts['the host build'] ?? '', /^Error: Cannot find module/, 'the full build is not in the sandbox');
});

test('class 2, hidden tests: the kernel never receives them, so a recorder finds nothing and Q3 scores 0', () => {
  const r = reportOf(SPY);
  assert.deepEqual(scoresOf(r), { 'hw1-q1-tests': 3, 'hw1-q2-tests': 2, 'hw1-q3-tests': 0 }, 'the honest answers count (the text scan only warns)');
  const md = markdownOf(SPY);
  const m = /SPY (\d+) texts seen, (\d+) with hidden tests/.exec(md);
  assert.ok(m, md);
  assert.ok(Number(m[1]) >= 4, `the recorder worked: it saw ${m[1]} texts (Q1 and Q2's test cells and probes)`);
  assert.equal(Number(m[2]), 0, 'none held a hidden test');
  for (const f of fs.readdirSync(out)) {
    const text = fs.readFileSync(path.join(out, f), 'utf8');
    assert.ok(!/HIDDEN TESTS|expect1|0\.481/.test(text), `${f}: no hidden test text in any report`);
  }
});

test('class 4, fixed answers typed in: Q2 and Q3 score 0, and the feedback gives no expected value', () => {
  const r = reportOf(TYPED);
  assert.deepEqual(scoresOf(r), { 'hw1-q1-tests': 3, 'hw1-q2-tests': 0, 'hw1-q3-tests': 0 });
  for (const id of ['hw1-q2-tests', 'hw1-q3-tests']) {
    const text = messagesOf(r, id);
    assert.match(text, /grader's own check/, text);
    assert.doesNotMatch(text, /expected -?\d|should be -?\d|gives -?\d/, `${id} feedback names no expected number:\n${text}`);
  }
});

test('class 5, student-controlled strings: no control character, bidi override or formula reaches the CSV, JSON, Markdown or terminal', () => {
  // eslint-disable-next-line no-control-regex
  const raw = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
  const csv = fs.readFileSync(path.join(out, 'summary.csv'), 'utf8');
  assert.doesNotMatch(csv, raw, 'summary.csv');
  assert.ok(!csv.includes('\r'), 'no carriage return forges a row');
  for (const line of csv.trim().split('\n')) {
    // Fields: quoted ones may hold commas; none starts (after blanks) with a formula character.
    const fields = line.match(/("([^"]|"")*"|[^,]*)(,|$)/g) ?? [];
    for (const f of fields) assert.doesNotMatch(f.replace(/^"/, ''), /^\s*[=+\-@]/, `formula in ${JSON.stringify(line)}`);
  }
  assert.equal(csv.trim().split('\n').length, 11, 'one row per submission, none forged');
  for (const f of fs.readdirSync(out)) assert.doesNotMatch(fs.readFileSync(path.join(out, f), 'utf8'), raw, f);
  const evil = reportOf(reportName(EVIL));
  assert.equal(scoresOf(evil)['hw1-q1-tests'], 0);
  assert.match(messagesOf(evil, 'hw1-q1-tests'), /<img src=x/, 'the message is kept, as text');
  const md = markdownOf(reportName(EVIL));
  const outsideFences = md.split(/^````text$[\s\S]*?^````$/m).join('');
  assert.doesNotMatch(outsideFences, /<img|```|=cmd/, outsideFences);
  assert.doesNotMatch(batch.stdout + batch.stderr.replace(/MAXRSS_KIB \d+/, ''), raw, 'terminal output');
});

test('class 3, a flood of 62 MiB display messages and of small stream messages: the kernel is stopped, the question scores 0, the batch goes on', () => {
  const r = reportOf(FLOOD);
  assert.deepEqual(scoresOf(r), { 'hw1-q1-tests': 0, 'hw1-q2-tests': 0, 'hw1-q3-tests': 3 }, JSON.stringify(r, null, 1));
  assert.match(messagesOf(r, 'hw1-q1-tests'), /the kernel sent .*: the kernel was stopped and the test cell scores 0/);
  assert.match(messagesOf(r, 'hw1-q2-tests'), /the kernel sent more than (10000 messages|67108864 bytes) during one cell/);
  process.stdout.write(`# flood: ${secondsOf(path.join(subs, `${FLOOD}.ipynb`))} s for the submission; grader peak RSS ${(batch.maxRssKiB / 1024).toFixed(0)} MiB\n`);
  process.stdout.write(`# loop: ${secondsOf(path.join(subs, `${LOOP}.ipynb`))} s for the submission (issue: <= 60 s)\n`);
  process.stdout.write(`# honest: ${secondsOf(path.join(subs, `${HONEST}.ipynb`))} s in the batch (issue: <= 10 s)\n`);
  assert.equal(reportOf(LOOP).total.score, 0);
});

test('class 6, shared limits: each kernel has a uid of its own from the range, and its connection folder is a small tmpfs that a socket flood fills, not the host disk', { skip: process.getuid?.() === 0 ? false : 'per-kernel uids and tmpfs need root (CI grades as root)' }, () => {
  const seen = [LIMITS_A, LIMITS_B].map((n) => {
    const md = markdownOf(n);
    const m = /LIMITS uid (\d+) sockets (\d+) stopped by (\S+) fs (\S+) inodes (\d+)/.exec(md);
    assert.ok(m, md);
    assert.deepEqual(reportOf(n).total, { score: 8, max_score: 8 }, 'its honest answers count');
    return { uid: Number(m[1]), sockets: Number(m[2]), stop: m[3], fs: m[4], inodes: Number(m[5]) };
  });
  process.stdout.write(`# shared limits: ${JSON.stringify(seen)}\n`);
  for (const k of seen) {
    assert.ok(k.uid >= KERNEL_UID_RANGE.first && k.uid < KERNEL_UID_RANGE.first + KERNEL_UID_RANGE.count, `uid ${k.uid} from the range`);
    assert.equal(k.fs, 'tmpfs', 'the connection folder is a tmpfs');
    assert.equal(k.inodes, CONNECTION_TMPFS.inodes, 'with the inode cap');
    assert.equal(k.stop, 'ENOSPC', 'the flood ran out of inodes');
    assert.ok(k.sockets < CONNECTION_TMPFS.inodes, `${k.sockets} socket files, fewer than the ${CONNECTION_TMPFS.inodes} inodes`);
  }
  assert.notEqual(seen[0].uid, seen[1].uid, 'two kernels, two uids');
  assert.deepEqual(reportOf(HONEST).total, { score: 8, max_score: 8 });
});
