/**
 * The README's short results table, rendered from the committed full-scale reference
 * (reference/full/results/*.json) with the paper's numbers beside it, so the README quotes the
 * reference instead of copying digits by hand. `kdlab reference table --write` puts it between the
 * README's markers; a fast test checks that the README holds exactly what this renders.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ToolError } from './errors';
import { formatMeanSd, formatPairedDifference, HINTON_2015, type MeanSd, type PairedDifference } from 'kdlab/internals';

export const TABLE_START = '<!-- reference-table:start (kdlab reference table --write) -->';
export const TABLE_END = '<!-- reference-table:end -->';

type Json = Record<string, unknown>;

function readResult(refDir: string, name: string): Json | null {
  const file = path.join(refDir, 'results', `${name}.json`);
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as Json) : null;
}

/** A value down a path of keys, or undefined when any step is missing. */
function at(v: unknown, ...keys: Array<string | number>): unknown {
  let x = v;
  for (const k of keys) {
    if (typeof x !== 'object' || x === null) return undefined;
    x = (x as Record<string | number, unknown>)[k];
  }
  return x;
}

const isMeanSd = (v: unknown): v is MeanSd => typeof at(v, 'mean') === 'number' && typeof at(v, 'sd') === 'number' && typeof at(v, 'n') === 'number';
const isPaired = (v: unknown): v is PairedDifference => isMeanSd(v) && typeof at(v, 'interval', 'low') === 'number' && typeof at(v, 'lower') === 'number';
const pct = (m: MeanSd): string => `${(100 * m.mean).toFixed(1)}% ± ${(100 * m.sd).toFixed(1)}`;
const minus = (x: number): string => (x < 0 ? `−${-x}` : `${x}`);
const MISSING = '— (not in the reference)';

/** 07's three rows of Hinton's table, and the paired difference of the two students. */
function hintonRows(r: Json | null): string[][] {
  const h = HINTON_2015;
  const rows = (at(r, 'rows') as Json[] | undefined) ?? [];
  const row = (system: string): string => {
    const x = rows.find((y) => y.system === system);
    if (!x || typeof x.mean !== 'number' || typeof x.runs !== 'number') return MISSING;
    const spread = x.runs > 1 ? formatMeanSd({ mean: x.mean, sd: x.sd as number, n: x.runs }) : `${x.mean}`;
    return `${spread} (${x.runs} ${x.runs === 1 ? 'run' : 'seeds'}; ${x.setting ?? 'setting not recorded'})`;
  };
  const d = at(r, 'distilledMinusScratch');
  return [
    ['Teacher 2×1200, dropout, jittered inputs: test errors (07)', row('teacher'), `${h.teacher.testErrors}`],
    ['2×800 from scratch (07)', row('scratch'), `${h.student.scratchTestErrors}`],
    [`2×800 distilled, T = ${h.student.temperature} (07)`, row('distilled'), `${h.student.distilledTestErrors}`],
    ['distilled − scratch, paired by seed (07)', isPaired(d) ? formatPairedDifference(d) : MISSING,
      `${minus(h.student.distilledTestErrors - h.student.scratchTestErrors)} (one run each)`],
  ];
}

function chapterRows(r4: Json | null, r5: Json | null): string[][] {
  const d = at(r4, 'headline', 'difference');
  const chosen = (at(r5, 'chosen') as Json[] | undefined) ?? [];
  const pick = chosen.map((c) => `${c.student}: T = ${c.temperature}, α = ${c.alpha} (validation ${(100 * (c.valAccuracy as number)).toFixed(2)}%, plain ${(100 * (c.plainStudentValAccuracy as number)).toFixed(2)}%)`);
  const [lo, hi] = HINTON_2015.smallStudentBestT;
  return [
    ['The chapter\'s recipe: distilled − scratch test errors, paired by seed (04)', isPaired(d) ? formatPairedDifference(d) : MISSING, '—'],
    ['T and α chosen on validation, one seed (05)', pick.length > 0 ? pick.join('; ') : MISSING,
      `2×800: every T above ${HINTON_2015.largeStudentTemperaturesAbove} similar; 2×30: T ${lo}–${hi} best`],
  ];
}

function generalizationRows(r: Json | null): string[][] {
  const s = HINTON_2015.speechTransferSet;
  const d3 = HINTON_2015.omittedDigit3;
  const share = at(r, 'headline', 'paperShare');
  const fraction = at(r, 'headline', 'paperFraction');
  const hard = at(share, 'hard');
  const soft = at(share, 'soft');
  const o = at(r, 'headline', 'omitted');
  const [e0, e1, shift] = [at(o, 'atZero', 'errors'), at(o, 'atChosen', 'errors'), at(o, 'atChosen', 'shift')];
  const f = (x: number): string => `${(100 * x).toFixed(1)}%`;
  return [
    [`${typeof fraction === 'number' ? `${100 * fraction}%` : '3%'} transfer set: accuracy ÷ hard labels on the full pool, hard / soft targets (06)`,
      isMeanSd(hard) && isMeanSd(soft) ? `${pct(hard)} / ${pct(soft)}` : MISSING,
      `${f(s.threePercentHardTargets / s.fullDataHardTargets)} / ${f(s.threePercentSoftTargets / s.fullDataHardTargets)} (speech, ${s.section})`],
    ['No 3s in the transfer set: test errors, no shift → bias shift chosen on validation (06)',
      isMeanSd(e0) && isMeanSd(e1) && isMeanSd(shift) ? `${formatMeanSd(e0)} → ${formatMeanSd(e1)} (shift ${formatMeanSd(shift, 2)})` : MISSING,
      `${d3.testErrors} → ${d3.testErrorsAfterShift} (shift ${d3.biasShift}, chosen on the test set)`],
  ];
}

function methodsRows(r: Json | null): string[][] {
  const paired = (at(r, 'paired') as Json[] | undefined) ?? [];
  const pairs = [...new Set(paired.map((p) => p.pair as string))];
  const verdicts = (pair: string, against: string): string => {
    const rows = paired.filter((p) => p.pair === pair && p.B === against && typeof p.low === 'number' && typeof p.high === 'number');
    const list = (xs: Json[]): string => (xs.length > 0 ? xs.map((p) => p.A as string).join(', ') : 'none');
    return `vs ${against}: fewer ${list(rows.filter((p) => (p.high as number) < 0))}; more ${list(rows.filter((p) => (p.low as number) > 0))}`;
  };
  return pairs.map((pair) => [
    `${pair} student: methods with fewer / more test errors (paired 95% CI below / above 0) (08)`,
    [...new Set(paired.filter((p) => p.pair === pair).map((p) => p.B as string))].map((b) => verdicts(pair, b)).join('; '),
    '—',
  ]);
}

/** The README's results block for the reference in `refDir` (reference/full/). */
export function renderReferenceTable(refDir: string): string {
  const provenanceFile = path.join(refDir, 'provenance.json');
  if (!fs.existsSync(provenanceFile)) {
    return 'No full-scale reference is recorded yet (`reference/full/` is empty): see [docs/reference.md](docs/reference.md).';
  }
  const p = JSON.parse(fs.readFileSync(provenanceFile, 'utf8')) as Json;
  const r = (n: string): Json | null => readResult(refDir, n);
  const rows = [
    ...hintonRows(r('07-reproducing-hinton-2015')),
    ...chapterRows(r('04-training-the-student'), r('05-evaluation-and-tuning')),
    ...generalizationRows(r('06-generalization')),
    ...methodsRows(r('08-beyond-logits')),
  ];
  const cell = (s: string): string => s.replace(/\|/g, '\\|');
  return [
    `Full-scale reference of ${String(p.date).slice(0, 10)}, commit ${String(p.commit).slice(0, 7)}: ${p.summary}.`,
    'Test errors on the 10,000 MNIST test images unless the row says otherwise; mean ± sd over seeds.',
    '',
    '| | full-scale reference | Hinton et al. 2015 |',
    '|---|---|---|',
    ...rows.map((row) => `| ${row.map(cell).join(' | ')} |`),
  ].join('\n');
}

/** The README with its results block replaced by `table`; throws when the markers are missing. */
export function withReferenceTable(readme: string, table: string): string {
  const a = readme.indexOf(TABLE_START);
  const b = readme.indexOf(TABLE_END);
  if (a < 0 || b < a) throw new ToolError('BAD_ARGS', `README.md has no results block: add the lines\n${TABLE_START}\n${TABLE_END}`);
  return `${readme.slice(0, a + TABLE_START.length)}\n${table}\n${readme.slice(b)}`;
}
