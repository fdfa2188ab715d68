/**
 * `kdlab grade <submission.ipynb>... [--source homework/] [--out DIR] [--jobs N]`: each submission
 * in its own sandboxed tslab kernel (homework/sandbox.ts), `--jobs` at a time; each report is
 * written as soon as its submission is done (homework/batch.ts).
 */
import * as path from 'node:path';
import { defaultJobs, gradeBatch } from '../homework/batch';
import { ignoreInspectorSignal } from '../homework/grade';
import { terminalSafe } from '../homework/report';
import { workbookDir, workbookRoot } from 'kdlab/internals';
import { ToolError } from '../errors';
const USAGE =
  'usage: kdlab grade <submission.ipynb>... [--source homework/] [--out DIR] [--assignment FILE] [--jobs N (cores)]\n' +
  '                   [--timeout S (per test)] [--cell-timeout S (per cell)] (default: 10x the source\'s own time, at least 10 s)\n' +
  '                   [--budget S (cell time per submission, 45)]\n' +
  '                   [--memory MiB (per kernel, 3072)] [--quiet] [--no-sandbox]\n';

function numberFlag(name: string, v: string | undefined, what = 'a positive number of seconds'): number {
  const n = Number(v);
  if (v === undefined || !Number.isFinite(n) || n <= 0) throw new ToolError('BAD_ARGS', `${name} needs ${what}.\n${USAGE}`);
  return n;
}

export async function run(argv: string[]): Promise<number> {
  ignoreInspectorSignal();
  const submissions: string[] = [];
  let source = path.join(workbookRoot(), 'homework');
  let out = workbookDir('grade');
  let assignment: string | undefined;
  let testTimeout: number | undefined;
  let cellTimeout: number | undefined;
  let budget: number | undefined;
  let memoryMiB: number | undefined;
  let jobs = defaultJobs();
  let quiet = false;
  let sandbox = true;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new ToolError('BAD_ARGS', `${flag} needs a value.\n${USAGE}`);
      return v;
    };
    if (flag === '--help' || flag === '-h') {
      process.stdout.write(USAGE);
      return 0;
    } else if (flag === '--source') source = value();
    else if (flag === '--out' || flag === '-o') out = value();
    else if (flag === '--assignment') assignment = value();
    else if (flag === '--timeout') testTimeout = numberFlag(flag, value());
    else if (flag === '--cell-timeout') cellTimeout = numberFlag(flag, value());
    else if (flag === '--budget') budget = numberFlag(flag, value());
    else if (flag === '--memory') memoryMiB = numberFlag(flag, value(), 'a positive number of MiB');
    else if (flag === '--jobs' || flag === '-j') jobs = Math.floor(numberFlag(flag, value(), 'a positive number'));
    else if (flag === '--quiet' || flag === '-q') quiet = true;
    else if (flag === '--no-sandbox') sandbox = false;
    else if (flag.startsWith('-')) throw new ToolError('BAD_ARGS', `unknown option ${terminalSafe(flag)}.\n${USAGE}`);
    else submissions.push(a);
  }
  if (submissions.length === 0) throw new ToolError('BAD_ARGS', `no submission given.\n${USAGE}`);
  if (!sandbox) {
    process.stderr.write(
      '\n!!! WARNING: --no-sandbox: student code runs with YOUR user\'s rights, outside any namespace.\n' +
        '!!! It can read the solutions and hidden tests, signal and take over this grader, and write your files.\n' +
        '!!! Use it only on a throw-away machine or for submissions you trust.\n\n',
    );
  }

  const show = (s: string) => terminalSafe(s);
  const result = await gradeBatch(submissions, {
    outDir: out,
    sourceDir: source,
    ...(assignment ? { sourceNotebook: assignment } : {}),
    ...(testTimeout !== undefined ? { testTimeoutSeconds: testTimeout } : {}),
    ...(cellTimeout !== undefined ? { cellTimeoutSeconds: cellTimeout } : {}),
    ...(budget !== undefined ? { budgetSeconds: budget } : {}),
    ...(memoryMiB !== undefined ? { limits: { memoryBytes: Math.round(memoryMiB * 1024 * 1024) } } : {}),
    jobs,
    sandbox,
    ...(quiet ? {} : { onEvent: (file: string, m: string) => process.stderr.write(`  ${show(path.basename(file))}: ${show(m)}\n`) }),
    onGraded: (o) => {
      if (o.error !== undefined) process.stdout.write(`${show(o.submission)}: not graded: ${show(o.error)}\n`);
      else {
        const t = o.report.total;
        process.stdout.write(`${show(o.submission)}: ${t.score} / ${t.max_score} (${o.assignment}, ${o.seconds.toFixed(1)} s)\n`);
      }
    },
  });
  for (const f of result.foreign) process.stderr.write(`warning: output folder: ${show(f)}\n`);
  process.stdout.write(`reports: ${show(path.relative(process.cwd(), path.resolve(out)) || out)}/ (${result.files.length} files)\n`);
  return result.outcomes.some((o) => o.error !== undefined) ? 1 : 0;
}
