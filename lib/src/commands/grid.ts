import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runGrid, selectBest, type GridSpec } from '../ablation';
import { describeBackend, initBackend } from '../backend';
import { InputError } from '../errors';
import { workbookRoot } from '../paths';

const USAGE = 'usage: kdlab grid <spec.json> [--results FILE.jsonl] [--workers N] [--bench]\n';

interface Args {
  specFile: string;
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
      if (!Number.isInteger(n) || n < 1) throw new InputError('BAD_ARGS', `--workers needs a positive integer.\n${USAGE}`);
      args.workers = n;
    } else if (a === '--bench') args.bench = true;
    else if (a.startsWith('-')) throw new InputError('BAD_ARGS', `unknown option ${a}.\n${USAGE}`);
    else specFile = a;
  }
  if (!specFile) throw new InputError('BAD_ARGS', `name a grid spec file.\n${USAGE}`);
  return { ...args, specFile, bench: args.bench ?? false };
}

function readSpec(file: string): GridSpec {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as GridSpec;
  } catch (err) {
    throw new InputError('BAD_GRID', `cannot read grid spec ${file}: ${(err as Error).message}`);
  }
}

/** `kdlab grid`: runs (or resumes) a grid, one JSON line per finished run; `--bench` times 1 vs N workers. */
export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  const spec = readSpec(args.specFile);
  const info = await initBackend({ quiet: true });
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
    const resultsFile = args.results ?? path.join(workbookRoot(), 'build', 'results', 'grids', `${spec.name}.jsonl`);
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
