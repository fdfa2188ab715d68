import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createStudent, describeBackend, initBackend, loadSplits, runGrid, selectBest, take, teacherLogitsCached, workbookDir, type GridSpec } from 'kdlab';
import { ToolError } from '../errors';

const USAGE =
  'usage: kdlab grid <spec.json> [--results FILE.jsonl] [--workers N]\n' +
  '       kdlab grid [spec.json] --bench [--workers N]   (no spec: a built-in 2x800 grid of 6 runs)\n';

interface Args {
  specFile?: string;
  results?: string;
  workers?: number;
  bench: boolean;
}

function parseArgs(argv: string[]): Args {
  let specFile: string | undefined;
  const args: Partial<Args> = { bench: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--results') args.results = argv[++i];
    else if (a === '--workers') {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n < 1) throw new ToolError('BAD_ARGS', `--workers needs a positive integer.\n${USAGE}`);
      args.workers = n;
    } else if (a === '--bench') args.bench = true;
    else if (a.startsWith('-')) throw new ToolError('BAD_ARGS', `unknown option ${a}.\n${USAGE}`);
    else specFile = a;
  }
  if (!specFile && !args.bench) throw new ToolError('BAD_ARGS', `name a grid spec file.\n${USAGE}`);
  return { ...args, specFile, bench: args.bench ?? false };
}

/**
 * The benchmark's own grid: a 2x800 student, 3 temperatures x 2 alphas, 2,000 images, 1 epoch.
 * What is timed is the grid machinery and training, so the "teacher" is a fixed random network.
 */
function benchSpec(): GridSpec {
  const { train } = loadSplits({ validationSize: 5000, seed: 0 });
  const teacher = createStudent({ hidden: [64], seed: 7 });
  const logits = teacherLogitsCached(teacher, take(train, 2000));
  teacher.dispose();
  return {
    name: 'bench',
    temperatures: [2, 4, 8],
    alphas: [0.5, 1],
    students: [[800, 800]],
    epochs: 1,
    trainSize: 2000,
    teacherLogits: { file: logits.file, key: logits.key },
  };
}

function readSpec(file: string): GridSpec {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as GridSpec;
  } catch (err) {
    throw new ToolError('BAD_ARGS', `cannot read grid spec ${file}: ${(err as Error).message}`);
  }
}

/** `kdlab grid`: runs (or resumes) a grid, one JSON line per finished run; `--bench` times 1 vs N workers. */
export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  const info = await initBackend({ quiet: true });
  const spec = args.specFile ? readSpec(args.specFile) : benchSpec();
  console.log(describeBackend(info));
  const controller = new AbortController();
  const onSigint = (): void => controller.abort();
  process.once('SIGINT', onSigint);
  try {
    if (args.bench) {
      const n = args.workers ?? os.availableParallelism();
      const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kdlab-grid-bench-'));
      const times: Array<[number, number]> = [];
      for (const workers of [1, n]) {
        const r = await runGrid(spec, { resultsFile: path.join(tmp, `w${workers}.jsonl`), workers, signal: controller.signal });
        times.push([workers, r.wallSeconds]);
        console.log(`grid "${spec.name}": ${r.trained} runs trained, ${r.reused} reused, ${workers} worker(s): ${r.wallSeconds.toFixed(1)} s`);
      }
      console.log(`speed-up with ${n} workers: ${(times[0][1] / times[1][1]).toFixed(2)}x`);
      return 0;
    }
    const resultsFile = args.results ?? workbookDir('results', 'grids', `${spec.name}.jsonl`);
    const result = await runGrid(spec, {
      resultsFile,
      workers: args.workers,
      signal: controller.signal,
      onRow: ({ done, total, row, trained }) =>
        console.log(
          `[${done}/${total}] T=${row.temperature} alpha=${row.alpha} hidden=${row.hidden.join('x')} seed=${row.seed}: ` +
            `val ${(100 * row.valAccuracy).toFixed(2)}%${trained ? ` (${row.seconds.toFixed(1)} s)` : ' (same run as alpha=0 at another T)'}`,
        ),
    });
    console.log(
      `grid "${spec.name}": ${result.rows.length} rows in ${resultsFile} — ${result.trained} trained now, ${result.skipped} already finished, ${result.reused} reused; ${result.workers} worker(s), ${result.wallSeconds.toFixed(1)} s`,
    );
    const best = selectBest(result.rows);
    console.log(`best on validation: T=${best.temperature} alpha=${best.alpha} hidden=${best.hidden.join('x')}: val ${(100 * best.valAccuracy).toFixed(2)}% (evaluate this setting on the test set once, separately)`);
    return 0;
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
}
