import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initBackend, runAll, runKey, workbookDir, type RunResult, type RunSpec } from 'kdlab';
import { describeBackend } from 'kdlab/compute-internals';
import { ToolError } from '../errors';

/**
 * `kdlab grid`: runs a list of run specs (lib/src/runs) with runAll, from a JSON file: either the
 * list itself, or a small grid description that expands into it. Finished runs live in the run
 * store (build/runs/<key>/), so an interrupted grid resumes and a rerun reads the runs back.
 */

const USAGE =
  'usage: kdlab grid <grid.json> [--workers N]   (N worker processes; 0: in this process; default: one per core)\n' +
  '       kdlab grid [grid.json] --bench [--workers N]   (times 1 worker vs N; no file: a built-in grid of six 2x800 runs)\n' +
  'grid.json: a list of run specs, or { "spec": <run spec>, "vary": { "<field path>": [values], ... },\n' +
  '           "teacher"?: <run spec>, "extra"?: [<run spec>, ...] }, e.g. "vary": { "objective.temperature": [2, 4],\n' +
  '           "objective.alpha": [0.5, 0.9], "seed": [0, 1] }; distilling specs without a teacher get the teacher\'s key.\n';

/** A grid description: one template spec, the values each field takes (all combinations). */
export interface GridDescription {
  spec: RunSpec;
  /** Dotted field path → its values; the first path varies slowest. */
  vary: Record<string, unknown[]>;
  /** Trained first; every spec that distils and names no teacher distils from it. */
  teacher?: RunSpec;
  /** Specs added as they are (e.g. the plain student, whose alpha = 0 needs no T). */
  extra?: RunSpec[];
}

export interface GridPlan {
  /** The teacher's spec (if the description has one), then the grid's. */
  specs: RunSpec[];
  teacher: RunSpec | null;
}

interface Args {
  file?: string;
  workers?: number;
  bench: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { bench: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--workers') {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n < 0) throw new ToolError('BAD_ARGS', `--workers needs an integer >= 0.\n${USAGE}`);
      args.workers = n;
    } else if (a === '--bench') args.bench = true;
    else if (a.startsWith('-')) throw new ToolError('BAD_ARGS', `unknown option ${a}.\n${USAGE}`);
    else if (args.file) throw new ToolError('BAD_ARGS', `one grid file, got ${args.file} and ${a}.\n${USAGE}`);
    else args.file = a;
  }
  if (!args.file && !args.bench) throw new ToolError('BAD_ARGS', `name a grid file.\n${USAGE}`);
  if (args.bench && args.workers === 0) throw new ToolError('BAD_ARGS', `--bench compares worker processes: --workers must be >= 1.\n${USAGE}`);
  return args;
}

const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;

function setPath(target: Record<string, unknown>, dotted: string, value: unknown): void {
  const parts = dotted.split('.');
  let node = target;
  for (const p of parts.slice(0, -1)) {
    if (!node[p] || typeof node[p] !== 'object') node[p] = {};
    node = node[p] as Record<string, unknown>;
  }
  node[parts[parts.length - 1]] = clone(value);
}

const shortName = (dotted: string): string => dotted.split('.').pop() ?? dotted;

/**
 * The specs of a grid file's contents: a list as it is, or a description expanded (every
 * combination of the `vary` values, the first path slowest). Each expanded spec gets the varied
 * values as tags (named by the path's last part) and, without a label, a label made of them.
 */
export function planGrid(json: unknown): GridPlan {
  if (Array.isArray(json)) return { specs: json as RunSpec[], teacher: null };
  const d = json as Partial<GridDescription> | null;
  if (!d || typeof d !== 'object' || !d.spec || typeof d.spec !== 'object' || !d.vary || typeof d.vary !== 'object') {
    throw new ToolError('BAD_ARGS', `a grid file holds a list of run specs or { "spec": ..., "vary": { ... } }.\n${USAGE}`);
  }
  const axes = Object.entries(d.vary);
  for (const [p, values] of axes) {
    if (!Array.isArray(values) || values.length === 0) throw new ToolError('BAD_ARGS', `vary["${p}"] must be a non-empty list, got ${JSON.stringify(values)}.`);
  }
  let points: Array<Array<[string, unknown]>> = [[]];
  for (const [p, values] of axes) points = points.flatMap((pt) => values.map((v): Array<[string, unknown]> => [...pt, [p, v]]));
  const teacher = d.teacher ?? null;
  const teacherKey = teacher ? runKey(teacher) : null;
  const withTeacher = (s: RunSpec): RunSpec =>
    teacherKey && !s.teacher && s.objective?.objective !== 'hard' ? { ...s, teacher: { run: teacherKey } } : s;
  const grid = points.map((pt) => {
    const s = clone(d.spec) as unknown as Record<string, unknown>;
    for (const [p, v] of pt) setPath(s, p, v);
    const named = pt.map(([p, v]) => [shortName(p), v] as const);
    const tags = { ...((s.tags as Record<string, unknown>) ?? {}), ...Object.fromEntries(named.map(([k, v]) => [k, typeof v === 'object' ? JSON.stringify(v) : v])) };
    return withTeacher({ ...(s as unknown as RunSpec), tags: tags as RunSpec['tags'], label: (s.label as string) ?? named.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ') });
  });
  const extra = (d.extra ?? []).map(withTeacher);
  return { specs: [...(teacher ? [teacher] : []), ...extra, ...grid], teacher };
}

/** The benchmark's grid: 2x800 students, 3 temperatures x 2 alphas, 2 epochs on 5,000 images (long enough that starting the workers does not dominate), from a small teacher. */
function benchGrid(): GridDescription {
  const data = { validationSize: 5000, splitSeed: 0, pool: 5000 };
  return {
    teacher: {
      label: 'bench teacher 64', data, model: { kind: 'mlp', hidden: [64] }, objective: { objective: 'hard' },
      optimizer: { name: 'adam', learningRate: 1e-3 }, budget: { epochs: 1 }, batchSize: 128, seed: 7, record: { weights: true },
    },
    spec: {
      data, model: { kind: 'mlp', hidden: [800, 800] }, objective: { objective: 'kd', temperature: 2, alpha: 0.5 },
      optimizer: { name: 'adam', learningRate: 1e-3 }, budget: { epochs: 2 }, batchSize: 128, seed: 0,
    },
    vary: { 'objective.temperature': [2, 4, 8], 'objective.alpha': [0.5, 1] },
  };
}

function readGridFile(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ToolError('BAD_ARGS', `cannot read grid file ${file}: ${(err as Error).message}`);
  }
}

const pct = (x: number): string => `${(100 * x).toFixed(2)}%`;

function progressLine(r: RunResult, p: { done: number; total: number }): string {
  const how = r.cached ? 'read back' : `${r.seconds.toFixed(1)} s`;
  return `[${p.done}/${p.total}] ${r.spec.label ?? r.key}: val ${pct(r.validation.accuracy)}${r.test ? `, test ${pct(r.test.accuracy)}` : ''} (${how})`;
}

/** Times the grid with 1 worker and with n, each in a fresh run store (the teacher trained first, untimed). */
async function bench(plan: GridPlan, n: number, signal: AbortSignal): Promise<void> {
  const saved = process.env.KDLAB_RUNS_DIR;
  const students = plan.teacher ? plan.specs.slice(1) : plan.specs;
  const times: number[] = [];
  try {
    for (const workers of [1, n]) {
      const store = fs.mkdtempSync(path.join(os.tmpdir(), 'kdlab-grid-bench-'));
      process.env.KDLAB_RUNS_DIR = store;
      try {
        if (plan.teacher) await runAll([plan.teacher], { workers: 0, signal });
        const t0 = performance.now();
        await runAll(students, { workers, signal });
        times.push((performance.now() - t0) / 1000);
      } finally {
        fs.rmSync(store, { recursive: true, force: true });
      }
      console.log(`${students.length} runs, ${workers} worker(s): ${times[times.length - 1].toFixed(1)} s`);
    }
  } finally {
    if (saved === undefined) delete process.env.KDLAB_RUNS_DIR;
    else process.env.KDLAB_RUNS_DIR = saved;
  }
  console.log(`speed-up with ${n} workers: ${(times[0] / times[1]).toFixed(2)}x`);
}

/** `kdlab grid`: runs (or resumes) a grid of run specs; `--bench` times 1 vs N workers. */
export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  const plan = planGrid(args.file ? readGridFile(args.file) : benchGrid());
  const info = await initBackend({ quiet: true });
  console.log(describeBackend(info));
  const controller = new AbortController();
  const onSigint = (): void => controller.abort();
  process.once('SIGINT', onSigint);
  try {
    if (args.bench) {
      await bench(plan, args.workers ?? os.availableParallelism(), controller.signal);
      return 0;
    }
    const t0 = performance.now();
    const results = await runAll(plan.specs, { workers: args.workers, signal: controller.signal, onDone: (r, p) => console.log(progressLine(r, p)) });
    const unique = [...new Map(results.map((r) => [r.key, r])).values()];
    const trained = unique.filter((r) => !r.cached).length;
    const store = process.env.KDLAB_RUNS_DIR ?? workbookDir('runs');
    console.log(`${unique.length} runs in ${store}: ${trained} trained now, ${unique.length - trained} read back; ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const teacherKey = plan.teacher ? runKey(plan.teacher) : null;
    const grid = unique.filter((r) => r.key !== teacherKey);
    const best = grid.reduce<RunResult | null>((a, r) => (!a || r.validation.accuracy > a.validation.accuracy ? r : a), null);
    if (best) console.log(`best on validation: ${best.spec.label ?? best.key} (run ${best.key}): val ${pct(best.validation.accuracy)} (evaluate this setting on the test set once, separately)`);
    return 0;
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
}
