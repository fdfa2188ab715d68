/**
 * `kdlab grade <submission.ipynb>... [--source homework/] [--out DIR]`: each submission in a fresh
 * tslab kernel; reports are written only once every kernel is gone (see homework/grade.ts).
 */
import * as path from 'node:path';
import { gradeSubmission, type GradeOutcome } from '../homework/grade';
import { writeGradeReports } from '../homework/report';
import { snapshotDir } from '../snapshot';
import { KdlabError, workbookDir, workbookRoot } from 'kdlab/internals';
import { ToolError } from '../errors';
const USAGE =
  'usage: kdlab grade <submission.ipynb>... [--source homework/] [--out DIR] [--assignment FILE]\n' +
  '                   [--timeout S (per test, 60)] [--cell-timeout S (per student cell, 300)] [--quiet] [--no-sandbox]\n';

function numberFlag(name: string, v: string | undefined): number {
  const n = Number(v);
  if (v === undefined || !Number.isFinite(n) || n <= 0) throw new ToolError('BAD_ARGS', `${name} needs a positive number of seconds.\n${USAGE}`);
  return n;
}

export async function run(argv: string[]): Promise<number> {
  const submissions: string[] = [];
  let source = path.join(workbookRoot(), 'homework');
  let out = workbookDir('grade');
  let assignment: string | undefined;
  let testTimeout = 60;
  let cellTimeout = 300;
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
    else if (flag === '--quiet' || flag === '-q') quiet = true;
    else if (flag === '--no-sandbox') sandbox = false;
    else if (flag.startsWith('-')) throw new ToolError('BAD_ARGS', `unknown option ${flag}.\n${USAGE}`);
    else submissions.push(a);
  }
  if (submissions.length === 0) throw new ToolError('BAD_ARGS', `no submission given.\n${USAGE}`);

  const before = snapshotDir(out);
  const outcomes: GradeOutcome[] = [];
  let failed = 0;
  for (const file of submissions) {
    if (!quiet) process.stderr.write(`grading ${file}\n`);
    let outcome: GradeOutcome;
    try {
      outcome = await gradeSubmission(file, {
      sourceDir: source,
      ...(assignment ? { sourceNotebook: assignment } : {}),
      testTimeoutSeconds: testTimeout,
      cellTimeoutSeconds: cellTimeout,
      sandbox,
      ...(quiet ? {} : { onEvent: (m: string) => process.stderr.write(`  ${m}\n`) }),
      });
    } catch (err) {
      // Only setup problems land here (unknown assignment, missing source, no kernel); report
      // them and go on with the other submissions.
      if (!(err instanceof KdlabError)) throw err;
      process.stderr.write(`${file}: not graded: ${err.message}\n`);
      failed++;
      continue;
    }
    outcomes.push(outcome);
    const t = outcome.report.total;
    process.stdout.write(`${file}: ${t.score} / ${t.max_score} (${outcome.assignment}, ${outcome.seconds.toFixed(1)} s)\n`);
  }
  if (outcomes.length === 0) return 1;
  const written = writeGradeReports(out, outcomes, before);
  for (const f of written.foreign) process.stderr.write(`warning: output folder: ${f}\n`);
  process.stdout.write(`reports: ${path.relative(process.cwd(), path.resolve(out)) || out}/ (${written.files.length} files)\n`);
  return failed > 0 ? 1 : 0;
}
