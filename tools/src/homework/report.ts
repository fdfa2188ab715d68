/**
 * Writing grade results. Called only after every kernel of the run is gone, from the grader's own
 * state; each file is written to a temporary name and renamed, so whatever a submission may have
 * placed in the output folder while it ran is replaced, not trusted or appended to.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { snapshotDir, type DirSnapshot } from '../snapshot';import { assignmentName } from './markers';
import type { GradeOutcome } from './grade';
import { writeFileAtomic } from 'kdlab/internals';
import { ToolError } from '../errors';

export interface WrittenReports {
  files: string[];
  /** Files that appeared in (or changed under) the output folder during grading and were removed/flagged. */
  foreign: string[];
}

/**
 * Unique, file-system-safe report names: the submission's base name, prefixed by its folder on
 * clashes. Uniqueness is checked over the FINAL names (case-insensitively, for case-insensitive
 * file systems): `alice/x.ipynb` becomes `alice__x`, which a `mallory/alice__x.ipynb` must not
 * overwrite, so later clashes get a counter.
 */
export function reportNames(submissions: readonly string[]): string[] {
  const clean = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[.]+/, '_').slice(0, 120) || '_';
  const base = submissions.map((s) => clean(assignmentName(s)));
  const wanted = submissions.map((s, i) => {
    if (base.filter((b) => b === base[i]).length === 1) return base[i];
    return `${clean(path.basename(path.dirname(path.resolve(s))))}__${base[i]}`;
  });
  const taken = new Set<string>();
  return wanted.map((w) => {
    let name = w;
    for (let n = 2; taken.has(name.toLowerCase()) || name.toLowerCase() === 'summary'; n++) name = `${w}__${n}`;
    taken.add(name.toLowerCase());
    return name;
  });
}

/** Text for a terminal: control characters (ANSI escapes included) and bidi overrides made visible. */
export function terminalSafe(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** Inline markdown text that can open no HTML tag, link, emphasis or table cell. */
function mdInline(text: string): string {
  return terminalSafe(text).replace(/[\\`*_{}[\]()<>#|~&]/g, (c) => `&#${c.charCodeAt(0)};`);
}

function fence(text: string): string {
  // Student-controlled text (stderr) goes into a fence it cannot close; inside a fence HTML is text.
  return '````text\n' + terminalSafe(text).replace(/`{3,}/g, (m) => "'".repeat(m.length)) + '\n````';
}

export function feedbackMarkdown(o: GradeOutcome): string {
  const r = o.report;
  const lines = [
    `# Feedback: ${mdInline(path.basename(o.submission))}`,
    '',
    `Assignment **${o.assignment}** — score **${r.total.score} / ${r.total.max_score}**.`,
    '',
    '| Question | Score | Max |',
    '|---|---:|---:|',
    ...r.questions.map((q) => `| ${q.grade_id} | ${q.score} | ${q.max_score} |`),
    '',
  ];
  for (const q of r.questions) {
    lines.push(`## ${q.grade_id}: ${q.score} / ${q.max_score}`, '');
    if (q.messages.length === 0) lines.push('All tests passed.', '');
    else lines.push(fence(q.messages.join('\n')), '');
  }
  if (o.notes.length > 0) {
    // Notes quote student cells' errors: fenced like the messages.
    lines.push('## Grader notes', '', fence(o.notes.map((n) => `- ${n}`).join('\n')), '');
  }
  lines.push(`Graded in ${o.seconds.toFixed(1)} s with ${o.kernelStarts} kernel start(s).`, '');
  return lines.join('\n');
}

/**
 * One CSV field. Student-controlled text (file names, error text) can carry control characters
 * (an ESC that recolours the terminal of whoever `cat`s the file, a newline that forges a row) and
 * spreadsheet formulas: every control, line-separator and bidi character is written as \xNN, and a
 * field that a spreadsheet would read as a formula (=, +, -, @, possibly after blanks) gets a
 * leading apostrophe. Numbers are written as they are.
 */
export function csvCell(v: string | number): string {
  if (typeof v === 'number') return String(v);
  // eslint-disable-next-line no-control-regex
  let s = v.replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  if (/^[\s\u00a0\u3000]*[=+\-@\uff1d\uff0b\uff0d\uff20]/.test(s)) s = `'${s}`;
  return /[",;]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * JSON for a report: JSON.stringify already escapes C0 controls; this also escapes DEL, C1
 * controls, line separators and bidi overrides, which JSON allows raw but a terminal or an editor
 * would act on.
 */
export function reportJson(value: unknown): string {
  // eslint-disable-next-line no-control-regex
  return JSON.stringify(value, null, 2).replace(/[\u007f-\u009f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function summaryCsv(outcomes: readonly GradeOutcome[], names: readonly string[]): string {
  const ids: string[] = [];
  for (const o of outcomes) for (const q of o.report.questions) if (!ids.includes(q.grade_id)) ids.push(q.grade_id);
  const withErrors = outcomes.some((o) => o.error !== undefined);
  const rows = [['submission', 'assignment', 'score', 'max_score', ...ids, 'seconds', ...(withErrors ? ['error'] : [])].map(csvCell).join(',')];
  outcomes.forEach((o, i) => {
    const per = ids.map((id) => {
      const q = o.report.questions.find((x) => x.grade_id === id);
      return q ? q.score : '';
    });
    const err = withErrors ? [(o.error ?? '').replace(/\s+/g, ' ').slice(0, 300)] : [];
    rows.push([names[i], o.assignment, o.report.total.score, o.report.total.max_score, ...per, o.seconds.toFixed(1), ...err].map(csvCell).join(','));
  });
  return rows.join('\n') + '\n';
}

/** Writes one submission's <name>.json and <name>.md (atomically), as soon as it is graded. */
export function writeSubmissionReport(outDir: string, name: string, o: GradeOutcome): string[] {
  const json = path.join(outDir, `${name}.json`);
  writeFileAtomic(json, reportJson(o.report) + '\n');
  const md = path.join(outDir, `${name}.md`);
  writeFileAtomic(md, feedbackMarkdown(o));
  return [json, md];
}

/** The output folder, refused when it is a symlink or a file; created when missing. */
export function prepareOutDir(outDir: string): string {
  const out = path.resolve(outDir);
  if (fs.existsSync(out) && !fs.lstatSync(out).isDirectory()) {
    throw new ToolError('GRADE_BAD_OUT', `${outDir} exists and is not a plain directory (a symlink or a file); refusing to write there.`);
  }
  fs.mkdirSync(out, { recursive: true });
  return out;
}

/**
 * Removes what appeared in the output folder during grading and is not a report of ours (with
 * the sandbox no kernel can write there; this guards --no-sandbox runs).
 */
export function removeForeign(out: string, before: DirSnapshot, ours: ReadonlySet<string>): string[] {
  const foreign: string[] = [];
  const now = snapshotDir(out);
  const added = [...now.keys()].filter((k) => !before.has(k) && !ours.has(k)).sort((a, b) => b.length - a.length);
  for (const k of added) {
    foreign.push(`${k} (created during grading; removed)`);
    fs.rmSync(path.join(out, k), { recursive: true, force: true });
  }
  for (const [k, sig] of now) {
    if (before.has(k) && before.get(k) !== sig && !ours.has(k) && !k.includes('/')) foreign.push(`${k} (changed during grading; left in place)`);
  }
  return foreign;
}

/**
 * Writes <name>.json and <name>.md per submission and, for several, summary.csv. `before` is the
 * folder's snapshot from before grading: entries that appeared since and are not ours are removed
 * (entries that changed are reported), because only grading code ran in between.
 */
export function writeGradeReports(outDir: string, outcomes: readonly GradeOutcome[], before: DirSnapshot): WrittenReports {
  const out = path.resolve(outDir);
  if (fs.existsSync(out) && !fs.lstatSync(out).isDirectory()) {
    throw new ToolError('GRADE_BAD_OUT', `${outDir} exists and is not a plain directory (a symlink or a file); refusing to write there.`);
  }
  const names = reportNames(outcomes.map((o) => o.submission));
  const ours = new Set<string>();
  names.forEach((n) => {
    ours.add(`${n}.json`);
    ours.add(`${n}.md`);
  });
  if (outcomes.length > 1) ours.add('summary.csv');

  const foreign: string[] = [];
  const now = snapshotDir(out);
  const added = [...now.keys()].filter((k) => !before.has(k)).sort((a, b) => b.length - a.length);
  for (const k of added) {
    foreign.push(`${k} (created during grading; removed)`);
    fs.rmSync(path.join(out, k), { recursive: true, force: true });
  }
  for (const [k, sig] of now) {
    if (before.has(k) && before.get(k) !== sig && !ours.has(k) && !k.includes('/')) foreign.push(`${k} (changed during grading; left in place)`);
  }

  fs.mkdirSync(out, { recursive: true });
  const files: string[] = [];
  outcomes.forEach((o, i) => {
    const json = path.join(out, `${names[i]}.json`);
    writeFileAtomic(json, reportJson(o.report) + '\n');
    const md = path.join(out, `${names[i]}.md`);
    writeFileAtomic(md, feedbackMarkdown(o));
    files.push(json, md);
  });
  if (outcomes.length > 1) {
    const csv = path.join(out, 'summary.csv');
    writeFileAtomic(csv, summaryCsv(outcomes, names));
    files.push(csv);
  }
  return { files, foreign };
}
