/**
 * `kdlab reproduce`: execute the chapter notebooks (notebooks/NN-*.ipynb) in order, each in a
 * fresh tslab kernel, write the executed copies to build/notebooks/ and print a summary table.
 * It builds nothing: `npm start` runs the build first.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { snapshotDir } from '../snapshot';
import { killAllKernels } from '../runner/kernel';
import { appendTiming, gitState, TIMINGS_FILE } from '../runner/timings';
import { parseParameter, type ParameterValue } from '../runner/nbformat';
import { runNotebook, type NotebookRunResult, type ProgressEvent } from '../runner/runner';
import { KdlabError, workbookDir, workbookRoot } from 'kdlab/internals';
import { commandFlags } from './flags';

const USAGE = `usage: kdlab reproduce [options]

  --mode quick|full     value of the notebooks' \`mode\` parameter (default quick)
  --only 01,03          run only the notebooks with these number prefixes
  --keep-going          run the remaining notebooks after a failure
  --timeout-cell S      per-cell limit in seconds, then interrupt and kill
                        (default 1800 in quick mode; none in full mode, where training the
                        teacher alone takes most of an hour on 2 cores; 0 = none)
  -p, --param name=value  extra parameter for the injected-parameters cell (repeatable)
  --notebooks DIR       where the chapter notebooks are (default notebooks/)
  --out DIR             where executed notebooks go (default build/notebooks/)
`;

interface Row {
  notebook: string;
  status: string;
  cells: string;
  wall: string;
  figures: number;
}

export async function run(argv: string[]): Promise<number> {
  const args = commandFlags('reproduce', USAGE, {
    args: argv,
    options: {
      mode: { type: 'string', default: 'quick' },
      only: { type: 'string' },
      'keep-going': { type: 'boolean', default: false },
      'timeout-cell': { type: 'string' },
      param: { type: 'string', short: 'p', multiple: true, default: [] },
      notebooks: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    allowPositionals: false,
  });
  if (typeof args === 'number') return args;
  const mode = args.mode ?? 'quick';
  if (mode !== 'quick' && mode !== 'full') {
    process.stderr.write(`kdlab reproduce: --mode must be quick or full, not "${mode}"\n`);
    return 2;
  }
  const timeout = Number(args['timeout-cell'] ?? (mode === 'full' ? '0' : '1800'));
  if (!Number.isFinite(timeout) || timeout < 0) {
    process.stderr.write(`kdlab reproduce: --timeout-cell must be a number of seconds >= 0\n`);
    return 2;
  }
  const parameters: Record<string, ParameterValue> = {};
  try {
    for (const flag of args.param ?? []) {
      const [name, value] = parseParameter(flag);
      parameters[name] = value;
    }
  } catch (err) {
    process.stderr.write(`kdlab reproduce: ${(err as Error).message}\n`);
    return 2;
  }
  parameters.mode = mode;

  const root = workbookRoot();
  const explicitDir = args.notebooks !== undefined;
  const nbDir = path.resolve(args.notebooks ?? path.join(root, 'notebooks'));
  const outDir = path.resolve(args.out ?? workbookDir('notebooks'));
  const shownDir = display(nbDir);
  if (!fs.existsSync(nbDir)) {
    if (explicitDir) {
      process.stderr.write(`kdlab reproduce: notebook folder ${nbDir} does not exist\n`);
      return 2;
    }
    process.stdout.write(`no chapter notebooks found in ${shownDir}/\n`);
    return 0;
  }
  let files = fs
    .readdirSync(nbDir)
    .filter((f) => /^\d{2}-.*\.ipynb$/.test(f))
    .sort();
  if (files.length === 0) {
    process.stdout.write(`no chapter notebooks found in ${shownDir}/\n`);
    return 0;
  }
  if (args.only) {
    const prefixes = args.only.split(',').map((s) => s.trim()).filter(Boolean);
    const unknown = prefixes.filter((p) => !files.some((f) => f.startsWith(`${p}-`)));
    if (unknown.length > 0) {
      process.stderr.write(
        `kdlab reproduce: no notebook in ${shownDir}/ starts with ${unknown.map((p) => `${p}-`).join(', ')}; ` +
          `available: ${files.join(', ')}\n`,
      );
      return 2;
    }
    files = files.filter((f) => prefixes.some((p) => f.startsWith(`${p}-`)));
  }
  if (!fs.existsSync(path.join(root, 'lib', 'dist', 'index.js'))) {
    process.stderr.write('kdlab reproduce: the library is not built (lib/dist is missing); run `npm run build` first\n');
    return 1;
  }

  // Each notebook's wall time goes to <out>/timings.json as it ends (ok, failed or interrupted), so
  // a full run in several sittings adds up there (kdlab reference record reads it).
  const git = gitState(root);
  let current: { notebook: string; started: Date } | undefined;
  const recordTiming = (status: string, wallSeconds?: number): void => {
    if (!current) return;
    const end = new Date();
    appendTiming(outDir, {
      notebook: current.notebook, mode, status, commit: git.commit, dirty: git.dirty,
      start: current.started.toISOString(), end: end.toISOString(),
      wallSeconds: Math.round((wallSeconds ?? (end.getTime() - current.started.getTime()) / 1000) * 100) / 100,
    });
    current = undefined;
  };

  // Ctrl-C or a CI cancel: kill the kernels (they run in their own process groups) and say so.
  const onSignal = (signal: NodeJS.Signals) => {
    killAllKernels();
    recordTiming('interrupted');
    process.stderr.write(`\nkdlab reproduce: ${signal}, kernels stopped\n`);
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const rows: Row[] = [];
  let failed = 0;
  try {
    for (let i = 0; i < files.length; i++) {
      const file = path.join(nbDir, files[i]);
      const shown = display(file);
      const watched = [workbookDir('figures'), workbookDir('results')];
      const before = snapshot(watched);
      const progress = new Progress(files[i]);
      let result: NotebookRunResult | undefined;
      let row: Row;
      current = { notebook: files[i], started: new Date() };
      try {
        result = await runNotebook(file, {
          parameters,
          timeoutCellSeconds: timeout,
          outPath: path.join(outDir, files[i]),
          onProgress: (e) => progress.update(e),
        });
        progress.end(result.status);
        row = {
          notebook: files[i],
          status: result.status,
          cells: `${result.executedCells}/${result.cells}`,
          wall: formatSeconds(result.wallSeconds),
          figures: countWritten(before, snapshot(watched)),
        };
        for (const w of result.warnings) process.stderr.write(`warning: ${shown}: ${w}\n`);
      } catch (err) {
        progress.end('failed');
        if (!(err instanceof KdlabError)) throw err;
        process.stderr.write(`\nFAILED ${shown}\n${err.message}\n`);
        row = {
          notebook: files[i],
          status: err.code.startsWith('KERNEL_') ? 'no kernel' : 'refused',
          cells: '-',
          wall: formatSeconds(progress.seconds()),
          figures: countWritten(before, snapshot(watched)),
        };
      }
      recordTiming(row.status, result?.wallSeconds);
      rows.push(row);
      if (result && result.status !== 'ok') reportFailure(shown, result);
      if (row.status !== 'ok') {
        failed++;
        if (!args['keep-going']) {
          for (const rest of files.slice(i + 1)) rows.push({ notebook: rest, status: 'skipped', cells: '-', wall: '-', figures: 0 });
          break;
        }
      }
    }
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
  process.stdout.write(`\n${table(rows)}\n`);
  if (failed > 0) {
    process.stderr.write(
      `kdlab reproduce: ${failed} notebook${failed > 1 ? 's' : ''} failed` +
        (args['keep-going'] ? '' : ' (--keep-going runs the rest)') +
        '\n',
    );
    return 1;
  }
  process.stdout.write(`executed notebooks written to ${display(outDir)}/ (wall times added to ${display(path.join(outDir, TIMINGS_FILE))})\n`);
  return 0;
}

function reportFailure(shown: string, r: NotebookRunResult): void {
  const f = r.failure;
  if (!f) return;
  const where = f.sourceCellNumber === null ? 'the injected-parameters cell' : `cell ${f.sourceCellNumber}`;
  const what = { error: 'failed', abort: 'was aborted', timeout: 'timed out', dead: 'killed the kernel' }[f.kind];
  // tslab's own frames (vm, executor, jupyter.js) say nothing about the notebook's code.
  const lines = f.stderr.split('\n').filter((l) => !/^\s+at .*(node:vm|node:internal|[\\/]tslab[\\/]dist[\\/])/.test(l));
  const shownLines = lines.length > 40 ? [...lines.slice(0, 40), `... (${lines.length - 40} more lines)`] : lines;
  process.stderr.write(
    `\nFAILED ${shown}: ${where} ${what}\n` +
      `  source: ${f.sourceFirstLine}\n` +
      `  kernel stderr:\n${shownLines.map((l) => `    ${l}`).join('\n')}\n` +
      (r.outPath ? `  executed notebook (up to the failure): ${display(r.outPath)}\n` : ''),
  );
}

const HEARTBEAT_SECONDS = 60;

/** One line per notebook redrawn in place on a terminal; plain lines otherwise (CI logs). */
class Progress {
  private readonly tty = Boolean(process.stderr.isTTY);
  private readonly started = Date.now();
  private last: ProgressEvent | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly name: string) {
    if (this.tty) {
      this.timer = setInterval(() => this.draw(), 500);
      this.timer.unref();
    } else {
      process.stderr.write(`${name}: starting kernel\n`);
      // A full-mode training cell runs for most of an hour; a log with no line for that long
      // looks hung (and some CI services kill a job that is silent for 10 minutes).
      this.timer = setInterval(() => this.heartbeat(), HEARTBEAT_SECONDS * 1000);
      this.timer.unref();
    }
  }

  seconds(): number {
    return (Date.now() - this.started) / 1000;
  }

  update(e: ProgressEvent): void {
    this.last = e;
    if (this.tty) this.draw();
    else if (e.phase === 'cell-done') process.stderr.write(`${this.name}: ${e.done}/${e.total} cells, ${formatSeconds(this.seconds())}\n`);
  }

  end(status: string): void {
    clearInterval(this.timer);
    if (this.tty) {
      this.draw();
      process.stderr.write(`  ${status}\n`);
    } else {
      process.stderr.write(`${this.name}: ${status} after ${formatSeconds(this.seconds())}\n`);
    }
  }

  private heartbeat(): void {
    const done = this.last?.done ?? 0;
    const total = this.last?.total ?? 0;
    if (total === 0 || done >= total) return;
    process.stderr.write(`${this.name}: cell ${done + 1}/${total} still running, ${formatSeconds(this.seconds())}\n`);
  }

  private draw(): void {
    const done = this.last?.done ?? 0;
    const total = this.last?.total ?? 0;
    const width = 24;
    const filled = total > 0 ? Math.round((done / total) * width) : 0;
    const bar = `${'#'.repeat(filled)}${'-'.repeat(width - filled)}`;
    process.stderr.write(`\r\x1b[2K${this.name} [${bar}] ${done}/${total} cells ${formatSeconds(this.seconds())}`);
  }
}

/** A path relative to the cwd when it lies below it, else absolute. */
function display(p: string): string {
  const rel = path.relative(process.cwd(), p);
  return rel === '' ? '.' : rel.startsWith('..') || path.isAbsolute(rel) ? p : rel;
}

/** "7.3 s", "14 min 44 s"; rounded before it is split, so 839.6 s is "14 min 0 s", not "13 min 60 s". */
export function formatSeconds(s: number): string {
  if (s < 59.95) return `${s.toFixed(1)} s`;
  const whole = Math.round(s);
  return `${Math.floor(whole / 60)} min ${whole % 60} s`;
}

type Snapshot = Map<string, string>;

function snapshot(dirs: string[]): Snapshot {
  const seen: Snapshot = new Map();
  for (const d of dirs) for (const [rel, stamp] of snapshotDir(d)) seen.set(path.join(d, rel), stamp);
  return seen;
}

/** Files that are new or rewritten since `before`: what the notebook wrote during its run. */
function countWritten(before: Snapshot, after: Snapshot): number {
  let n = 0;
  for (const [file, stamp] of after) if (stamp.endsWith(':f') && before.get(file) !== stamp) n++;
  return n;
}

function table(rows: Row[]): string {
  const head: Row = { notebook: 'notebook', status: 'status', cells: 'cells', wall: 'wall time', figures: 0 };
  const cols: Array<[keyof Row, 'l' | 'r']> = [
    ['notebook', 'l'],
    ['status', 'l'],
    ['cells', 'r'],
    ['wall', 'r'],
    ['figures', 'r'],
  ];
  const text = (r: Row, k: keyof Row) => (r === head && k === 'figures' ? 'figures written' : String(r[k]));
  const widths = cols.map(([k]) => Math.max(...[head, ...rows].map((r) => text(r, k).length)));
  const line = (r: Row) =>
    cols
      .map(([k, align], i) => (align === 'l' ? text(r, k).padEnd(widths[i]) : text(r, k).padStart(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
