/**
 * Grading a batch: N submissions, `jobs` sandboxed kernels at a time. A batch never loses a report:
 * - each submission is graded in its own try/catch; whatever goes wrong (a refused input, an
 *   unknown assignment, a grader fault provoked by an answer) is that submission's 0 with the
 *   reason, never the batch's end;
 * - each report is written (temp file + rename) as soon as its submission is done;
 * - report names are fixed before grading starts and unique across the batch;
 * - the grader ignores SIGUSR1 (no inspector to attach to) and its kernels run in sandboxes that
 *   cannot see or signal it;
 * - this run's temp folder goes on every exit path we can catch (end, error, SIGINT/SIGTERM/
 *   SIGHUP); a SIGKILLed run's folder is removed by the next run (sweepStaleRunDirs).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { KdlabError } from 'kdlab/internals';
import { gradeSubmission, ignoreInspectorSignal, type GradeOptions, type GradeOutcome } from './grade';
import { prepareOutDir, removeForeign, reportNames, summaryCsv, writeSubmissionReport } from './report';
import { makeRunDir, removeRunDir, requireSandbox } from './sandbox';
import { killAllKernels } from '../runner/kernel';
import { snapshotDir } from '../snapshot';
import { writeFileAtomic } from 'kdlab/internals';
import * as path from 'node:path';

export interface BatchOptions extends Omit<GradeOptions, 'runDir' | 'onEvent'> {
  outDir: string;
  /** Submissions graded at once (one kernel each). Default: the number of cores. */
  jobs?: number;
  onEvent?(submission: string, message: string): void;
  /** Called once per submission, in completion order, after its report is on disk. */
  onGraded?(outcome: GradeOutcome, name: string): void;
}

export interface BatchResult {
  /** In the order of the input list. */
  outcomes: GradeOutcome[];
  names: string[];
  files: string[];
  foreign: string[];
}

export function defaultJobs(): number {
  return Math.max(1, typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length);
}

/** The report of a submission that could not be graded. */
export function failedOutcome(submission: string, reason: string, seconds: number): GradeOutcome {
  return {
    submission,
    assignment: '',
    report: { total: { score: 0, max_score: 0 }, questions: [], error: reason },
    seconds,
    cellSeconds: 0,
    kernelStarts: 0,
    notes: [`not graded: ${reason}`],
    error: reason,
  };
}

export async function gradeBatch(submissions: readonly string[], options: BatchOptions): Promise<BatchResult> {
  ignoreInspectorSignal();
  if (options.sandbox !== false) requireSandbox();
  const out = prepareOutDir(options.outDir);
  const before = snapshotDir(out);
  const names = reportNames(submissions);
  const ours = new Set(names.flatMap((n) => [`${n}.json`, `${n}.md`]));
  if (submissions.length > 1) ours.add('summary.csv');

  const runDir = makeRunDir();
  const cleanup = () => removeRunDir(runDir);
  const onSignal = (signal: NodeJS.Signals) => {
    killAllKernels();
    cleanup();
    process.exit(128 + (os.constants.signals[signal] ?? 1));
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.on(s, onSignal);

  // Every submission has a report from the start, saying it is not graded yet, and summary.csv is
  // rewritten as each one finishes: should the grader itself die mid-batch (killed, out of
  // memory), what was graded is on disk and the rest say so, rather than nothing at all.
  const outcomes: GradeOutcome[] = submissions.map((file) =>
    failedOutcome(file, 'not graded: the grader stopped before this submission was done; grade it again.', 0),
  );
  const files: string[] = [];
  const csv = path.join(out, 'summary.csv');
  const writeSummary = (): void => {
    if (submissions.length > 1) writeFileAtomic(csv, summaryCsv(outcomes, names));
  };
  outcomes.forEach((o, i) => writeSubmissionReport(out, names[i], o));
  writeSummary();
  const jobs = Math.max(1, Math.min(options.jobs ?? defaultJobs(), submissions.length));
  let next = 0;
  const { outDir: _out, jobs: _jobs, onEvent, onGraded, ...gradeOptions } = options;
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      if (i >= submissions.length) return;
      const file = submissions[i];
      const t0 = Date.now();
      let outcome: GradeOutcome;
      try {
        outcome = await gradeSubmission(file, {
          ...gradeOptions,
          runDir,
          ...(onEvent ? { onEvent: (m: string) => onEvent(file, m) } : {}),
        });
      } catch (err) {
        // Setup problems (refused input, unknown assignment) are KdlabErrors; anything else is a
        // grader fault this submission provoked: either way it is this submission's 0.
        const reason = err instanceof KdlabError ? err.message : `the grader failed on this submission (${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}).`;
        outcome = failedOutcome(file, reason.slice(0, 2000), (Date.now() - t0) / 1000);
      }
      outcomes[i] = outcome;
      try {
        files.push(...writeSubmissionReport(out, names[i], outcome));
      } catch (err) {
        // The disk, not the submission: say so and keep the others going.
        process.stderr.write(`${names[i]}: report not written: ${err instanceof Error ? err.message : String(err)}\n`);
      }
      try {
        writeSummary();
      } catch (err) {
        process.stderr.write(`summary.csv not updated: ${err instanceof Error ? err.message : String(err)}\n`);
      }
      onGraded?.(outcome, names[i]);
    }
  };
  try {
    await Promise.all(Array.from({ length: jobs }, () => worker()));
  } finally {
    for (const s of signals) process.removeListener(s, onSignal);
    cleanup();
  }
  if (submissions.length > 1) {
    writeSummary();
    files.push(csv);
  }
  const foreign = removeForeign(out, before, ours);
  return { outcomes, names, files, foreign };
}
