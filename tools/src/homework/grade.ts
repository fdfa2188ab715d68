/**
 * `kdlab grade`: runs a submission in a fresh tslab kernel and scores it.
 *
 * Trust boundary: everything inside the kernel is the student's (their code runs there first and
 * can patch anything in that process). So the grader
 * - takes every test cell's source from the teacher's SOURCE notebook, matched by grade_id, and
 *   sends its visible part over the Jupyter protocol only: the kernel runs in an empty temporary
 *   folder, and neither the hidden tests (not even in a message) nor the source folder's path are
 *   ever given to it;
 * - gives the kernel the assignment's student edition of the library (edition.ts), in which the
 *   functions the questions ask for throw "write this yourself";
 * - caps what the kernel may send per cell (MAX_MESSAGE_BYTES, GRADER_MESSAGE_LIMITS) before any
 *   message is decoded, and stops a kernel that exceeds a cap;
 * - scores a question from the execute_reply status it observes (ok => points, anything else => 0
 *   with the stderr as feedback) AND, where a probe exists, from a grader-side check of values the
 *   student's code computes on inputs drawn at grading time (see probes.ts);
 * - never reads a verdict from what the kernel prints;
 * - after a kernel death, runs the remaining tests in a fresh kernel with the setup and student
 *   cells replayed (a bounded number of times); the test that was running when it died scores 0.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes, randomInt } from 'node:crypto';
import { KernelClient, type ExecuteResult, type MessageLimits } from '../runner/kernel';
import type { Cell, Notebook } from '../runner/nbformat';
import { readNotebook } from '../runner/nbformat';
import { assignmentName, cellText, gradeCells, nbgraderMeta, stripHiddenTests, stripSolutions } from './markers';
import { HOMEWORK_PROBES, graderRandom, type Probe } from './probes';
import { listHomework } from './release';
import { KdlabError, workbookRoot } from 'kdlab/internals';
import { ToolError } from '../errors';
import { forbiddenLibraryUse } from './imports';
import { KERNEL_PRELOAD, editionForRun, type StudentEdition } from './edition';
import { SANDBOX_HOME, SANDBOX_ROOT, makeRunDir, removeRunDir, requireSandbox, sandboxedKernel, type SandboxLimits } from './sandbox';

export interface QuestionScore {
  grade_id: string;
  score: number;
  max_score: number;
  messages: string[];
}

/** The JSON written per submission. */
export interface GradeReport {
  total: { score: number; max_score: number };
  questions: QuestionScore[];
  /** Set when the submission could not be graded at all (refused input, unknown assignment, grader fault). */
  error?: string;
}

export interface GradeOutcome {
  submission: string;
  assignment: string;
  report: GradeReport;
  seconds: number;
  /** Of those, the time the submission's cells ran (what the budget limits; kernel starts excluded). */
  cellSeconds: number;
  /** Wall time of each step's first run, by label (test: its grade id; probe: "<grade id> probe"). */
  stepSeconds?: Record<string, number>;
  kernelStarts: number;
  /** What the grader did about the submission's shape (missing cells, restarts...). */
  notes: string[];
  /** Why the submission scored 0 without being graded (also in report.error). */
  error?: string;
}

export interface GradeOptions {
  /** Folder of the source notebooks (with solutions and hidden tests). */
  sourceDir: string;
  /** Force the source notebook instead of matching by file name and grade ids. */
  sourceNotebook?: string;
  /**
   * Per test cell (and per probe). Default: derived from the source's own run (see calibrate):
   * 10x the time the same cell took with the teacher's solutions, at least 10 s.
   */
  testTimeoutSeconds?: number;
  /** Per setup or student cell. Default: derived like testTimeoutSeconds; 10 s for cells the student added. */
  cellTimeoutSeconds?: number;
  /** Derive the default timeouts from a run of the source (default true; false: 60 s each). */
  calibrate?: boolean;
  /** Kernels one submission may use (the first plus restarts after deaths). Default 3. */
  maxKernelStarts?: number;
  tslabPath?: string;
  /**
   * Run each kernel in the bubblewrap sandbox (sandbox.ts; default true: refuses to grade when no
   * sandbox can be made). false: unconfined but for Node's permission model, for throw-away machines.
   */
  sandbox?: boolean;
  /** Folder for this run's temp files (a batch shares one); default: a private one, removed after. */
  runDir?: string;
  /**
   * Wall time the submission's cells (setup, student, tests, probes) may use in all; kernel starts
   * are not counted. Default: 45 s, or 3x the source's own cell time if that is more (hw3).
   */
  budgetSeconds?: number;
  /**
   * The seed put in the source's parameters cell (`let seed = …;`, hw3) for this grading, so that
   * numbers typed in from the student's own run do not match. Default: one drawn per grader
   * process from the OS's random generator (a batch shares it, so hw3's grid is trained once).
   */
  seed?: number;
  /** Cells the student added that are run; the rest are dropped with a note. Default 20. */
  maxExtraCells?: number;
  /** Stream output kept per cell and stream (characters). Default 1,000,000. */
  maxOutputChars?: number;
  limits?: Partial<SandboxLimits>;
  probes?: Readonly<Record<string, Probe>>;
  onEvent?(message: string): void;
}

export type PlanStep =
  | { kind: 'source' | 'student'; code: string; label: string }
  | { kind: 'test'; code: string; label: string; gradeId: string; points: number };

function isSolution(cell: Cell): boolean {
  return nbgraderMeta(cell)?.solution === true;
}

/**
 * The cells to run, in the source's order: locked cells (setup, parameters, tests) from the SOURCE
 * notebook; each solution cell from the submission (matched by
 * grade_id, else by cell id; a missing one becomes the released stub); cells the student added
 * run right after the solution cell they follow. A submission cell that claims the grade_id or id
 * of a source-owned cell is ignored: the source's copy runs instead.
 */
export function buildGradingPlan(source: Notebook, submission: Notebook, maxExtraCells = Infinity): { steps: PlanStep[]; notes: string[] } {
  const notes: string[] = [];
  const srcCode = source.cells.filter((c) => c.cell_type === 'code');
  const ownedKeys = new Set<string>();
  for (const c of srcCode) {
    if (isSolution(c)) continue;
    const m = nbgraderMeta(c);
    if (m) ownedKeys.add(`g:${m.grade_id}`);
    if (c.id) ownedKeys.add(`i:${c.id}`);
  }
  const subCode = submission.cells.filter((c) => c.cell_type === 'code');
  const used = new Set<Cell>();
  const matched = new Map<Cell, Cell>();
  for (const s of srcCode.filter(isSolution)) {
    const gid = nbgraderMeta(s)?.grade_id;
    let hit = subCode.find((u) => !used.has(u) && gid !== undefined && nbgraderMeta(u)?.grade_id === gid);
    hit ??= subCode.find((u) => !used.has(u) && s.id !== undefined && u.id === s.id && !ownedKeys.has(`g:${nbgraderMeta(u)?.grade_id ?? ''}`));
    if (hit) {
      used.add(hit);
      matched.set(s, hit);
    } else {
      notes.push(`solution cell ${gid ?? s.id ?? '?'} is missing from the submission; its stub was run instead.`);
    }
  }
  // Extra student cells, grouped under the matched solution cell they follow in the submission.
  const matchedSubs = new Set(matched.values());
  const extrasAfter = new Map<Cell | null, Cell[]>();
  let current: Cell | null = null;
  let extras = 0;
  for (const u of subCode) {
    if (matchedSubs.has(u)) {
      current = u;
      continue;
    }
    const m = nbgraderMeta(u);
    const claimsOwned = (m && ownedKeys.has(`g:${m.grade_id}`)) || (u.id !== undefined && ownedKeys.has(`i:${u.id}`));
    if (claimsOwned) continue;
    if (++extras > maxExtraCells) continue;
    const list = extrasAfter.get(current) ?? [];
    list.push(u);
    extrasAfter.set(current, list);
  }
  if (extras > maxExtraCells) notes.push(`the submission adds ${extras} cells of its own; only the first ${maxExtraCells} were run.`);
  const steps: PlanStep[] = [];
  let firstSolution = true;
  srcCode.forEach((c, i) => {
    const m = nbgraderMeta(c);
    const label = m?.grade_id ?? c.id ?? `source cell ${i + 1}`;
    if (isSolution(c)) {
      if (firstSolution) {
        for (const x of extrasAfter.get(null) ?? []) steps.push({ kind: 'student', code: cellText(x), label: `student cell ${x.id ?? ''}`.trim() });
        firstSolution = false;
      }
      const u = matched.get(c);
      steps.push({ kind: 'student', code: u ? cellText(u) : stripSolutions(cellText(c), label), label });
      if (u) for (const x of extrasAfter.get(u) ?? []) steps.push({ kind: 'student', code: cellText(x), label: `student cell ${x.id ?? ''}`.trim() });
    } else if (m?.grade) {
      // Only the visible part of a test cell (what the student's release holds) is sent to the
      // kernel: the hidden tests stay with the grader, whose probes check the same question on
      // inputs drawn at grading time and compare the values in the grader's own process.
      steps.push({ kind: 'test', code: stripHiddenTests(cellText(c), label), label, gradeId: m.grade_id, points: m.points ?? 0 });
    } else if (m) {
      // Locked, not graded: setup and parameters. Strip any hidden region defensively; they
      // belong in test cells only.
      steps.push({ kind: 'source', code: stripHiddenTests(cellText(c), label), label });
    }
    // Source cells without nbgrader metadata are demonstrations ("try it" cells): the grader does
    // not run them, so one that calls an unfinished or hostile function costs nothing.
  });
  return { steps, notes };
}

/** The source notebook a submission answers: by file-name prefix, else by shared grade ids. */
export function findSourceNotebook(submission: Notebook, submissionFile: string, sourceDir: string): string {
  const sources = listHomework(sourceDir);
  const subName = assignmentName(submissionFile);
  const byName = sources
    .filter((s) => subName.startsWith(assignmentName(s)))
    .sort((a, b) => assignmentName(b).length - assignmentName(a).length);
  if (byName.length > 0) return byName[0];
  const ids = new Set(submission.cells.flatMap((c) => [nbgraderMeta(c)?.grade_id, c.id].filter((x): x is string => !!x)));
  let best: string | undefined;
  let bestOverlap = 0;
  for (const s of sources) {
    const nb = readNotebook(s);
    const overlap = nb.cells.filter((c) => ids.has(nbgraderMeta(c)?.grade_id ?? '') || (c.id !== undefined && ids.has(c.id))).length;
    if (overlap > bestOverlap) {
      best = s;
      bestOverlap = overlap;
    }
  }
  if (!best) {
    throw new ToolError(
      'HOMEWORK_UNKNOWN_ASSIGNMENT',
      `${submissionFile}: cannot tell which assignment this is (no file name or cell in common with ${sourceDir}). Name it after the assignment, e.g. hw1-temperature-<student>.ipynb.`,
    );
  }
  return best;
}

const MAX_MESSAGE_CHARS = 1500;

/** The useful head of a failure: the error line(s), without the long tslab/vm stack. */
export function summariseStderr(stderr: string): string {
  const lines = stderr.split('\n').filter((l) => !/^\s+at /.test(l));
  let text = lines.join('\n').replace(/\n{3,}/g, '\n\n').trim();
  if (text.length > MAX_MESSAGE_CHARS) text = `${text.slice(0, MAX_MESSAGE_CHARS)}\n… (truncated)`;
  return text;
}

function describeFailure(r: ExecuteResult, timeoutSeconds: number, what: string): string {
  switch (r.status) {
    case 'timeout':
      return `${what} did not finish within ${Math.round(timeoutSeconds * 10) / 10} s and was stopped.`;
    case 'dead': {
      if (r.limitExceeded) return `${r.limitExceeded} while running ${what}: the kernel was stopped and ${what} scores 0 (limits per cell: ${GRADER_MESSAGE_LIMITS.maxMessagesPerCell} messages, ${GRADER_MESSAGE_LIMITS.maxBytesPerCell / 2 ** 20} MiB, ${MAX_MESSAGE_BYTES / 2 ** 20} MiB per message).`;
      const how = r.exit?.signal ? `signal ${r.exit.signal}` : `exit code ${r.exit?.code ?? '?'}`;
      return `the kernel died while running ${what} (${how}).`;
    }
    case 'abort':
      return `the kernel did not run ${what} (aborted).`;
    default:
      return `${what} failed:\n${summariseStderr(r.stderr) || '(no message)'}`;
  }
}

function stdoutText(r: ExecuteResult): string {
  let text = '';
  for (const o of r.outputs) {
    if (o.output_type === 'stream' && o.name === 'stdout') text += Array.isArray(o.text) ? o.text.join('') : o.text;
  }
  return text;
}

/**
 * A JSON encoder sent with each probe, so a submission that replaces JSON.stringify does not lose
 * the credit its honest answers deserve. It relies on language operators (typeof, +, for) rather
 * than on library functions where it can; what it still calls can be patched, at the patcher's cost.
 */
const PROBE_ENCODER = String.raw`(v: unknown): string => {
  const enc = (x: unknown): string => {
    if (typeof x === 'number') return x === x && x !== Infinity && x !== -Infinity ? '' + x : 'null';
    if (typeof x === 'boolean') return x ? 'true' : 'false';
    if (typeof x === 'string') {
      let o = '"';
      for (let i = 0; i < x.length; i++) {
        const c = x.charCodeAt(i);
        o += c < 32 || c === 34 || c === 92 || c > 126 ? '\\u' + ('000' + c.toString(16)).slice(-4) : x[i];
      }
      return o + '"';
    }
    if (x === null || typeof x !== 'object') return 'null';
    if (Array.isArray(x)) {
      let o = '[';
      for (let i = 0; i < x.length; i++) o += (i ? ',' : '') + enc(x[i]);
      return o + ']';
    }
    let o = '{';
    let first = true;
    for (const k in x) {
      if (!Object.prototype.hasOwnProperty.call(x, k)) continue;
      o += (first ? '' : ',') + enc(k) + ':' + enc((x as Record<string, unknown>)[k]);
      first = false;
    }
    return o + '}';
  };
  return enc(v);
}`;

/** Wraps a probe body so its value comes back between two markers nobody in the kernel knows in advance. */
export function wrapProbe(body: string, marker: string): { code: string; parse(r: ExecuteResult): { ok: true; value: unknown } | { ok: false } } {
  // Unique top-level names (tslab keeps top-level declarations across cells; it also mangles
  // names starting with "__"), and a named async function because tslab misses
  // `await (async () => ...)()` as top-level await.
  const name = `kdlabProbe_${marker.replace(/[^A-Za-z0-9]/g, '')}`;
  const code = `const ${name}Fn = async () => {
${body}
};
const ${name}Enc = ${PROBE_ENCODER};
const ${name} = await ${name}Fn();
process.stdout.write('\\n${marker}' + ${name}Enc(${name}) + '${marker}\\n');`;
  return {
    code,
    parse(r) {
      const text = stdoutText(r);
      const a = text.indexOf(marker);
      const b = a < 0 ? -1 : text.indexOf(marker, a + marker.length);
      if (b < 0) return { ok: false };
      try {
        return { ok: true, value: JSON.parse(text.slice(a + marker.length, b)) as unknown };
      } catch {
        return { ok: false };
      }
    },
  };
}

/** Whether this Node has the permission model (20: --experimental-permission; later: --permission). */
export function sandboxFlag(): string | undefined {
  const flags = process.allowedNodeEnvironmentFlags;
  if (flags.has('--permission')) return '--permission';
  if (flags.has('--experimental-permission')) return '--experimental-permission';
  return undefined;
}

/**
 * Node options that confine the kernel with Node's permission model: it may read only what tslab,
 * the packages and the library need (not the workbook's homework/ folder, not the source folder),
 * write nothing, and start no processes. Native addons stay allowed because the kernel's zeromq
 * needs them; with no write access a submission cannot drop an addon of its own to load.
 */
export function sandboxNodeOptions(home: string, root = workbookRoot(), connectionDir = path.join(os.tmpdir(), 'kdlab-kernel-*')): string | undefined {
  const flag = sandboxFlag();
  if (!flag) return undefined;
  const reads = [
    home,
    path.join(root, 'node_modules', '*'),
    path.join(root, 'lib', 'dist', '*'),
    path.join(root, 'lib', 'package.json'),
    path.join(root, 'package.json'),
    path.join(root, 'data', 'checksums.json'),
    // The kernel's connection file (and, unsandboxed, KernelClient's watchdog).
    connectionDir,
    // zeromq's loader probes this file to tell musl from glibc; Node 20 throws rather than say no.
    '/etc/alpine-release',
    // tslab's TypeScript watches the node_modules folders that module lookups probed and found
    // missing, on every ancestor of the importing file; how far up it goes depends on the
    // path's depth, and Node 20 throws on a watch it may not read instead of reporting "missing".
    ...ancestorNodeModules(path.join(root, 'lib', 'dist')),
    ...ancestorNodeModules(home),
  ];
  const dataDir = root === SANDBOX_ROOT ? (process.env.KDLAB_DATA_DIR ? `${SANDBOX_ROOT}/mnist` : undefined) : process.env.KDLAB_DATA_DIR;
  if (dataDir) reads.push(path.join(path.resolve(dataDir), '*'));
  for (const r of reads) {
    if (/[\s,"']/.test(r)) return undefined; // NODE_OPTIONS cannot carry it safely: run unconfined
  }
  return [flag, '--allow-addons', ...withoutCoveredGrants(reads).map((r) => `--allow-fs-read=${r}`)].join(' ');
}

/**
 * Drops grants that another grant already covers. Node 20's permission tree mishandles overlap:
 * `dir` next to `dir/*` aborts the process at start-up, and `dir/x` next to `dir/*` silently
 * stops the wildcard from matching dir's other files.
 */
export function withoutCoveredGrants(reads: readonly string[]): string[] {
  const unique = [...new Set(reads)];
  const isWildcard = (g: string): boolean => g.endsWith('/*');
  const covers = (g: string, r: string): boolean =>
    g !== r &&
    (isWildcard(g) ? r === g.slice(0, -2) || r.startsWith(g.slice(0, -1)) : !isWildcard(r) && r.startsWith(g + '/'));
  return unique.filter((r) => !unique.some((g) => covers(g, r)));
}

/** `<dir>/node_modules` for dir and each of its ancestors: names only, never their siblings. */
function ancestorNodeModules(start: string): string[] {
  const out: string[] = [];
  for (let dir = path.resolve(start); ; dir = path.dirname(dir)) {
    out.push(path.join(dir, 'node_modules'));
    if (path.dirname(dir) === dir) return out;
  }
}

function kernelEnv(home: string, sandbox: boolean): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, TMPDIR: home, LANG: 'C.UTF-8' };
  // A cache in the empty home: the kernel re-hashes the data instead of reading teacher files.
  env.KDLAB_CACHE_DIR = path.join(home, '.cache');
  for (const k of ['KDLAB_DATA_DIR', 'KDLAB_BACKEND']) if (process.env[k]) env[k] = process.env[k];
  if (sandbox) {
    const opts = sandboxNodeOptions(home);
    if (opts) env.NODE_OPTIONS = opts;
  }
  return env;
}

/** The environment of a kernel inside the bubblewrap sandbox: nothing of the grader's own. */
function sandboxedKernelEnv(connectionDir: string): Record<string, string> {
  const env: Record<string, string> = {
    PATH: '/usr/bin:/bin',
    HOME: SANDBOX_HOME,
    TMPDIR: '/tmp',
    LANG: 'C.UTF-8',
    KDLAB_CACHE_DIR: `${SANDBOX_HOME}/.cache`,
  };
  if (process.env.KDLAB_DATA_DIR) env.KDLAB_DATA_DIR = `${SANDBOX_ROOT}/mnist`;
  if (process.env.KDLAB_BACKEND) env.KDLAB_BACKEND = process.env.KDLAB_BACKEND;
  // Second layer: Node's permission model with the paths as the kernel sees them.
  const opts = sandboxNodeOptions(SANDBOX_HOME, SANDBOX_ROOT, path.join(connectionDir, '*'));
  // tslab's sends queued, so a chatty cell does not kill its kernel (edition.ts, KERNEL_PRELOAD).
  const preload = `--require=${SANDBOX_ROOT}/lib/dist/${KERNEL_PRELOAD}`;
  env.NODE_OPTIONS = opts ? `${opts} ${preload}` : preload;
  return env;
}

export const MAX_SUBMISSION_BYTES = 8 * 1024 * 1024;

function fileKind(st: fs.Stats): string {
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  return 'not a regular file';
}

/**
 * A submission's text, refused early unless it is a regular file (lstat: a symlink is not
 * followed, a FIFO is never opened for a blocking read) of at most `maxBytes`. The file opened is
 * checked to be the one inspected (O_NOFOLLOW, O_NONBLOCK, same inode).
 */
export function readSubmissionText(file: string, maxBytes = MAX_SUBMISSION_BYTES): string {
  const refuse = (why: string) => new ToolError('GRADE_BAD_INPUT', `${file}: refused: ${why}; submissions must be regular .ipynb files.`);
  let st: fs.Stats;
  try {
    st = fs.lstatSync(file);
  } catch (err) {
    throw refuse(`cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (!st.isFile()) throw refuse(`it is ${fileKind(st)}`);
  if (st.size > maxBytes) throw refuse(`it is ${st.size} bytes, more than the ${maxBytes} allowed`);
  const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  try {
    const now = fs.fstatSync(fd);
    if (!now.isFile() || now.ino !== st.ino || now.dev !== st.dev) throw refuse('it changed while it was being opened');
    const buf = Buffer.alloc(Math.min(maxBytes, now.size) + 1);
    let n = 0;
    for (let r; n < buf.length && (r = fs.readSync(fd, buf, n, buf.length - n, null)) > 0; ) n += r;
    if (n > maxBytes) throw refuse(`it is more than the ${maxBytes} bytes allowed`);
    return buf.subarray(0, n).toString('utf8');
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * A submission as far as it can be read. Students' notebooks are graded leniently: a different
 * kernelspec or odd cells do not stop grading (the source decides what runs); unreadable JSON
 * grades as an empty submission, with the reason in the feedback.
 */
export function readSubmission(file: string): { notebook: Notebook; problem?: string } {
  const empty = (problem: string) => ({
    notebook: { nbformat: 4, nbformat_minor: 5, metadata: {}, cells: [] } as Notebook,
    problem,
  });
  let json: unknown;
  try {
    json = JSON.parse(readSubmissionText(file));
  } catch (err) {
    if (err instanceof ToolError && err.code === 'GRADE_BAD_INPUT') throw err;
    return empty(`the submission could not be read as a notebook (${(err as Error).message}); it was graded as empty.`);
  }
  const cells = typeof json === 'object' && json !== null && Array.isArray((json as { cells?: unknown }).cells) ? (json as { cells: unknown[] }).cells : undefined;
  if (!cells) return empty('the submission has no cells; it was graded as empty.');
  const usable = cells.filter((c): c is Cell => {
    if (typeof c !== 'object' || c === null) return false;
    const cell = c as Record<string, unknown>;
    return (cell.cell_type === 'code' || cell.cell_type === 'markdown' || cell.cell_type === 'raw') && (typeof cell.source === 'string' || (Array.isArray(cell.source) && cell.source.every((l) => typeof l === 'string')));
  });
  for (const c of usable) {
    if (typeof c.metadata !== 'object' || c.metadata === null || Array.isArray(c.metadata)) c.metadata = {};
    if (c.id !== undefined && typeof c.id !== 'string') delete c.id;
  }
  const problem = usable.length < cells.length ? `${cells.length - usable.length} malformed cell(s) of the submission were ignored.` : undefined;
  return { notebook: { ...(json as Notebook), cells: usable }, ...(problem ? { problem } : {}) };
}

let runSeed: number | undefined;
/** The grading seed of this process: drawn once, from the OS's random generator. */
export function gradingSeed(): number {
  runSeed ??= randomInt(1, 2 ** 31 - 1);
  return runSeed;
}

/**
 * The source with `let seed = …;` of its parameters cell replaced by `seed` (unchanged when it
 * has none). The kernel runs this cell and the probes read their parameters from it, so the
 * student's code and the grader's reference use the same seed, which nobody knew in advance.
 */
export function withGradingSeed(source: Notebook, seed: number): Notebook {
  const nb = JSON.parse(JSON.stringify(source)) as Notebook;
  for (const c of nb.cells) {
    if (c.cell_type !== 'code' || !Array.isArray(c.metadata.tags) || !c.metadata.tags.includes('parameters')) continue;
    c.source = cellText(c).replace(/^(\s*let\s+seed\s*(?::[^=]+)?=\s*)[^;\n]+;/m, `$1${Math.trunc(seed)};`);
  }
  return nb;
}

/** Node opens its inspector on SIGUSR1; a listener (even a no-op) turns that off for the grader. */
export function ignoreInspectorSignal(): void {
  if (process.listenerCount('SIGUSR1') === 0) process.on('SIGUSR1', () => undefined);
}

/** Cell time one submission may use (hw1, hw2; slower assignments get 3x the source's own time). */
export const DEFAULT_BUDGET_SECONDS = 45;
/** Timeouts derived from the source's own run: this many times its time, at least TIMEOUT_FLOOR_SECONDS. */
export const TIMEOUT_FACTOR = 10;
export const TIMEOUT_FLOOR_SECONDS = 10;
const FALLBACK_TIMEOUT_SECONDS = 60;

interface Calibration {
  seconds: Readonly<Record<string, number>>;
  /** Why the source's run is not usable (its timeouts then fall back to 60 s). */
  problem?: string;
}

const calibrations = new Map<string, Promise<Calibration>>();

/**
 * The source notebook graded as its own submission, once per grader process and source (and
 * seed): how long each of its cells takes with the teacher's solutions, on this machine, under
 * this load. It must score full marks; if not, the environment is broken and the grader says so.
 */
function calibrate(sourceFile: string, options: GradeOptions, seed: number): Promise<Calibration> {
  const key = `${path.resolve(sourceFile)}\0${seed}\0${options.sandbox !== false}`;
  let c = calibrations.get(key);
  if (!c) {
    c = (async (): Promise<Calibration> => {
      const { onEvent: _quiet, ...rest } = options;
      const o = await gradeSubmission(sourceFile, {
        ...rest,
        sourceNotebook: sourceFile,
        seed,
        calibrate: false,
        cellTimeoutSeconds: 300,
        testTimeoutSeconds: 300,
        budgetSeconds: 3600,
        maxKernelStarts: 1,
      });
      const t = o.report.total;
      const problem = t.score === t.max_score ? undefined : `the source notebook itself scored ${t.score}/${t.max_score} in the grader's sandbox (${o.notes.concat(o.report.questions.flatMap((q) => q.messages)).join(' ').slice(0, 300)})`;
      return { seconds: o.stepSeconds ?? {}, ...(problem ? { problem } : {}) };
    })();
    calibrations.set(key, c);
    c.catch(() => calibrations.delete(key));
  }
  return c;
}
export const DEFAULT_MAX_EXTRA_CELLS = 20;
/**
 * What a kernel may send the grader: one message at most 4 MiB (a cell's stream output is cut at
 * maxOutputChars anyway; the probes' answers are a few kB), and per cell at most 10,000 messages
 * and 64 MiB in all. Counted on the raw frames before a message is decoded or kept (KernelClient);
 * beyond, the kernel is stopped and the cell scores 0. Only stream output is kept, so the grader's
 * memory per kernel stays around ZeroMQ's short queue (16 messages x 4 MiB per socket) plus
 * 2 x maxOutputChars.
 */
export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;
export const GRADER_MESSAGE_LIMITS: MessageLimits = { maxMessagesPerCell: 10_000, maxBytesPerCell: 64 * 1024 * 1024 };

/** Grades one submission; never throws for anything the submission does (only for grader setup errors). */
export async function gradeSubmission(submissionFile: string, options: GradeOptions): Promise<GradeOutcome> {
  ignoreInspectorSignal();
  const maxStarts = Math.max(1, options.maxKernelStarts ?? 3);
  const probes = options.probes ?? HOMEWORK_PROBES;
  const maxOutputChars = options.maxOutputChars ?? 1_000_000;
  const sandboxed = options.sandbox !== false;
  const log = (m: string) => options.onEvent?.(m);
  if (sandboxed) requireSandbox();

  // Refused inputs (not a regular file, too large) throw GRADE_BAD_INPUT before anything runs.
  const { notebook: submission, problem } = readSubmission(submissionFile);
  const sourceFile = options.sourceNotebook ?? findSourceNotebook(submission, submissionFile, options.sourceDir);
  const seed = options.seed ?? gradingSeed();
  const source = withGradingSeed(readNotebook(sourceFile), seed);
  const needTimes = options.calibrate !== false && (options.cellTimeoutSeconds === undefined || options.testTimeoutSeconds === undefined);
  const calibration: Calibration = needTimes ? await calibrate(sourceFile, options, seed) : { seconds: {} };
  // The source's own run is the batch's cost, shared by its submissions: not counted in this one's time.
  const started = Date.now();
  const derived = (label: string): number => {
    const t = calibration.seconds[label];
    if (calibration.problem || !needTimes) return FALLBACK_TIMEOUT_SECONDS;
    return t === undefined ? TIMEOUT_FLOOR_SECONDS : Math.max(TIMEOUT_FLOOR_SECONDS, Math.ceil(TIMEOUT_FACTOR * t));
  };
  const calibratedTotal = Object.values(calibration.seconds).reduce((a, b) => a + b, 0);
  // An honest submission of a slow assignment (hw3's grid) must fit: 3x the source's own cell time.
  const budget = options.budgetSeconds ?? Math.max(DEFAULT_BUDGET_SECONDS, Math.ceil(3 * calibratedTotal));
  const cellTimeoutFor = (label: string) => options.cellTimeoutSeconds ?? derived(label);
  const testTimeoutFor = (label: string) => options.testTimeoutSeconds ?? derived(label);
  const { steps, notes } = buildGradingPlan(source, submission, options.maxExtraCells ?? DEFAULT_MAX_EXTRA_CELLS);
  if (problem) notes.unshift(problem);
  if (calibration.problem) notes.push(`grader warning: ${calibration.problem}; timeouts fell back to ${FALLBACK_TIMEOUT_SECONDS} s.`);
  if (!sandboxed) notes.push('graded WITHOUT the sandbox (--no-sandbox): the submission could read and write what the grader can.');

  const questions = new Map<string, QuestionScore>();
  for (const { meta } of gradeCells(source)) {
    questions.set(meta.grade_id, { grade_id: meta.grade_id, score: 0, max_score: meta.points ?? 0, messages: [] });
  }
  const ran = new Set<string>();
  const studentCode = steps.filter((s) => s.kind === 'student').map((s) => s.code).join('\n');
  const forbidden = forbiddenLibraryUse(studentCode, questions.keys());
  // An early warning only: the boundary is the student edition (edition.ts), whose stubs throw
  // whichever way the library is reached; a computed require of something else costs nothing.
  for (const [id, why] of forbidden) notes.push(`warning for ${id}: ${why.join('; ')} (in the graded kernel the library's versions throw "write this yourself").`);

  const ownRunDir = options.runDir === undefined;
  const runDir = options.runDir ?? makeRunDir();
  // The kernel's kdlab: this assignment's student edition, without the answers (edition.ts).
  let edition: StudentEdition | undefined;
  try {
    edition = sandboxed ? editionForRun(runDir, assignmentName(sourceFile), [...questions.keys()]) : undefined;
  } catch (err) {
    if (ownRunDir) removeRunDir(runDir);
    throw err;
  }
  const home = sandboxed ? SANDBOX_HOME : fs.mkdtempSync(path.join(runDir, 'home-'));
  if (!sandboxed) fs.symlinkSync(path.join(workbookRoot(), 'node_modules'), path.join(home, 'node_modules'), 'dir');
  if (!sandboxed && !sandboxNodeOptions(home)) {
    notes.push("the kernel ran without Node's permission model (not available here): it could read files the grader's user can read.");
  }
  let client: KernelClient | undefined;
  let starts = 0;
  const skipOnReplay = new Set<number>();
  // Time the submission's cells have used: kernel starts are the grader's, not counted.
  let spent = 0;
  const remaining = () => budget - spent;
  const stepSeconds: Record<string, number> = {};
  const run = async (code: string, limit: number, label: string): Promise<ExecuteResult & { limit: number }> => {
    const cap = Math.max(1, Math.min(limit, remaining()));
    const t0 = Date.now();
    const r = await (client as KernelClient).execute(code, { timeoutSeconds: cap, maxOutputChars, keepRichOutputs: false });
    const dt = (Date.now() - t0) / 1000;
    spent += dt;
    stepSeconds[label] ??= dt;
    return { ...r, limit: cap };
  };

  const startKernel = async (): Promise<KernelClient> => {
    starts++;
    log(`starting kernel ${starts}`);
    const common = { ...(options.tslabPath ? { tslabPath: options.tslabPath } : {}), maxMessageBytes: MAX_MESSAGE_BYTES, limits: GRADER_MESSAGE_LIMITS };
    if (sandboxed) {
      const launch = sandboxedKernel(runDir, {
        env: sandboxedKernelEnv,
        ...(edition ? { library: edition.dir } : {}),
        limits: { cpuSeconds: Math.ceil(budget * 2 + 120), ...options.limits },
      });
      return KernelClient.start({ cwd: home, launch, ...common });
    }
    return KernelClient.start({ cwd: home, env: kernelEnv(home, true), ...common });
  };

  /** A live kernel with every earlier non-test step replayed; false when the start budget is spent. */
  const ensureKernel = async (upTo: number): Promise<boolean> => {
    for (;;) {
      if (client?.alive) return true;
      if (client) await client.shutdown(1);
      if (starts >= maxStarts) return false;
      try {
        client = await startKernel();
      } catch (err) {
        if (!(err instanceof KdlabError)) throw err;
        client = undefined;
        notes.push(`kernel ${starts} did not start: ${err.message.split('\n')[0]}`);
        continue;
      }
      if (starts > 1) notes.push(`kernel ${starts} started after the previous one died; setup and student cells were replayed.`);
      for (let j = 0; j < upTo && client.alive && remaining() > 0; j++) {
        const s = steps[j];
        if (s.kind === 'test' || skipOnReplay.has(j)) continue;
        const r = await run(s.code, cellTimeoutFor(s.label), s.label);
        if (r.status === 'timeout' || r.status === 'dead') skipOnReplay.add(j);
      }
    }
  };

  try {
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i];
      if (remaining() <= 0) {
        notes.push(`the submission used its time budget (${budget} s of cell time); the remaining cells were not run and their tests score 0.`);
        break;
      }
      if (!(await ensureKernel(i))) {
        notes.push(`no kernel left (limit ${maxStarts} per submission); the remaining tests score 0.`);
        break;
      }
      if (step.kind !== 'test') {
        const r = await run(step.code, cellTimeoutFor(step.label), step.label);
        log(`${step.label}: ${r.status}`);
        if (r.status === 'timeout' || r.status === 'dead') {
          skipOnReplay.add(i);
          notes.push(`${step.kind} cell ${step.label}: ${describeFailure(r, r.limit, 'the cell')}`);
        } else if (r.status !== 'ok') {
          // A failing setup cell is the teacher's problem; a failing student cell explains later failures.
          notes.push(`${step.kind} cell ${step.label}: ${describeFailure(r, r.limit, 'the cell').slice(0, 600)}`);
        }
        continue;
      }
      const q = questions.get(step.gradeId);
      if (!q) continue;
      ran.add(step.gradeId);
      const r = await run(step.code, testTimeoutFor(step.gradeId), step.gradeId);
      log(`${step.gradeId}: ${r.status}`);
      if (r.status !== 'ok') {
        q.messages.push(describeFailure(r, r.limit, 'the test cell'));
        continue;
      }
      const probe = probes[step.gradeId];
      if (probe) {
        try {
          const challenge = await probe.prepare(graderRandom, { source });
          const marker = `@@kdlab-${randomBytes(12).toString('hex')}@@`;
          const wrapped = wrapProbe(challenge.code, marker);
          const pr = await run(wrapped.code, testTimeoutFor(`${step.gradeId} probe`), `${step.gradeId} probe`);
          log(`${step.gradeId} probe: ${pr.status}`);
          if (pr.status !== 'ok') {
            q.messages.push(describeFailure(pr, pr.limit, "the grader's own check"));
            continue;
          }
          const parsed = wrapped.parse(pr);
          if (!parsed.ok) {
            q.messages.push("the grader's own check produced no readable answer.");
            continue;
          }
          const problems = challenge.verify(parsed.value);
          if (problems.length > 0) {
            q.messages.push("the test cell passed, but the grader's own check of the same question did not:", ...problems);
            continue;
          }
        } catch (err) {
          // An answer shaped to break the comparison (deep nesting, huge arrays...) is a wrong answer.
          if (err instanceof KdlabError) throw err;
          q.messages.push(`the grader could not check the answer: ${String(err instanceof Error ? err.message : err).slice(0, 200)}`);
          continue;
        }
      }
      q.score = q.max_score;
    }
  } finally {
    if (client) await client.shutdown(2);
    if (ownRunDir) removeRunDir(runDir);
    else if (!sandboxed) fs.rmSync(home, { recursive: true, force: true });
  }

  for (const q of questions.values()) {
    if (!ran.has(q.grade_id) && q.messages.length === 0) q.messages.push('not run: the kernel or the time budget was spent before this test.');
  }
  const list = [...questions.values()];
  const report: GradeReport = {
    total: { score: list.reduce((a, q) => a + q.score, 0), max_score: list.reduce((a, q) => a + q.max_score, 0) },
    questions: list,
  };
  return {
    submission: submissionFile,
    assignment: assignmentName(sourceFile),
    report,
    seconds: (Date.now() - started) / 1000,
    cellSeconds: spent,
    stepSeconds,
    kernelStarts: starts,
    notes,
  };
}
