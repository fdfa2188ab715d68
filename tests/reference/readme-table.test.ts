import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { renderReferenceTable, TABLE_END, TABLE_START, withReferenceTable } from '../../tools/src/reference-table';

// The README quotes the reference through this table only: what it holds must be what the
// committed reference renders to, and each cell must say what the reference's numbers say.

const ROOT = path.resolve(__dirname, '..', '..');

test("the README's results block is exactly what reference/full/ renders to", () => {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const block = readme.slice(readme.indexOf(TABLE_START) + TABLE_START.length + 1, readme.indexOf(TABLE_END) - 1);
  assert.ok(readme.includes(TABLE_START) && readme.includes(TABLE_END), 'the README has the markers');
  assert.equal(block, renderReferenceTable(path.join(ROOT, 'reference', 'full')), 'run `npx kdlab reference table --write`');
});

test('each cell of the table, from a hand-made reference', () => {
  const ref = fs.mkdtempSync(path.join(os.tmpdir(), 'kdlab-table-'));
  const write = (name: string, v: unknown) => {
    fs.mkdirSync(path.join(ref, 'results'), { recursive: true });
    fs.writeFileSync(path.join(ref, name === 'provenance' ? 'provenance.json' : path.join('results', `${name}.json`)), JSON.stringify(v));
  };
  assert.match(renderReferenceTable(ref), /No full-scale reference is recorded yet/);
  write('provenance', { date: '2026-12-08T10:00:00.000Z', commit: 'abcdef0123456789', summary: 'native backend, 2 cores' });
  const paired = (mean: number, sd: number, low: number, high: number, lower: number) => ({ mean, sd, n: 3, interval: { low, high }, lower });
  write('07-reproducing-hinton-2015', {
    rows: [
      { system: 'teacher', runs: 1, mean: 120, sd: 0, setting: 'Adam 0.001, 60 epochs' },
      { system: 'scratch', runs: 3, mean: 147, sd: 4.35, setting: 'momentum SGD 0.8, 60 epochs' },
      { system: 'distilled', runs: 3, mean: 94, sd: 2, setting: 'Adam 0.001, 120 epochs' },
    ],
    distilledMinusScratch: paired(-53, 5, -65.42, -40.58, 3),
  });
  write('04-training-the-student', { headline: { difference: paired(-55.33, 28, -124.9, 14.2, 3) } });
  write('05-evaluation-and-tuning', {
    chosen: [{ student: '800×800', temperature: 8, alpha: 0.25, valAccuracy: 0.9869, plainStudentValAccuracy: 0.9814 }],
  });
  write('06-generalization', {
    headline: {
      paperFraction: 0.03,
      paperShare: { hard: { mean: 0.9303, sd: 0.0102, n: 3 }, soft: { mean: 0.9821, sd: 0.011, n: 3 } },
      omitted: { atZero: { errors: { mean: 917.33, sd: 32.93, n: 3 } }, atChosen: { errors: { mean: 686.67, sd: 22.23, n: 3 }, shift: { mean: 2.4667, sd: 0.2517, n: 3 } } },
    },
  });
  write('08-beyond-logits', {
    paired: [
      { pair: 'MLP', A: 'kd', B: 'scratch', low: -219.4, high: -42.6 }, { pair: 'MLP', A: 'hint', B: 'scratch', low: -86.6, high: 31.9 },
      { pair: 'MLP', A: 'dkd', B: 'scratch', low: -9, high: -0.1 }, { pair: 'MLP', A: 'hint', B: 'kd', low: 3, high: 50 },
      { pair: 'CNN', A: 'kd', B: 'scratch', low: -3, high: 12 },
    ],
  });
  const table = renderReferenceTable(ref);
  const row = (start: string) => {
    const line = table.split('\n').find((l) => l.startsWith(`| ${start}`));
    assert.ok(line, `a row starting "${start}" in\n${table}`);
    return line.split(' | ').map((c) => c.replace(/^\| | \|$/g, ''));
  };
  assert.match(table, /^Full-scale reference of 2026-12-08, commit abcdef0: native backend, 2 cores\./);
  assert.deepEqual(row('Teacher').slice(1), ['120 (1 run; Adam 0.001, 60 epochs)', '67']);
  assert.deepEqual(row('2×800 from scratch').slice(1), ['147.0 ± 4.3 (3 seeds; momentum SGD 0.8, 60 epochs)', '146']);
  assert.deepEqual(row('2×800 distilled').slice(1), ['94.0 ± 2.0 (3 seeds; Adam 0.001, 120 epochs)', '74']);
  assert.deepEqual(row('distilled − scratch').slice(1), ['−53.0 (95% CI −65.4 to −40.6; lower on 3 of 3 seeds)', '−72 (one run each)']);
  assert.equal(row("The chapter's recipe")[1], '−55.3 (95% CI −124.9 to 14.2; lower on 3 of 3 seeds)');
  assert.equal(row('T and α')[1], '800×800: T = 8, α = 0.25 (validation 98.69%, plain 98.14%)');
  // Table 5 of the paper, the same way: 44.5 / 58.9 and 57.0 / 58.9.
  assert.deepEqual(row('3% transfer set').slice(1), ['93.0% ± 1.0 / 98.2% ± 1.1', '75.6% / 96.8% (speech, §6, Table 5)']);
  assert.deepEqual(row('No 3s').slice(1), ['917.3 ± 32.9 → 686.7 ± 22.2 (shift 2.47 ± 0.25)', '206 → 109 (shift 3.5, chosen on the test set)']);
  assert.equal(row('MLP student')[1], 'vs scratch: fewer kd, dkd; more none; vs kd: fewer none; more hint');
  assert.equal(row('CNN student')[1], 'vs scratch: fewer none; more none');
  // A notebook missing from the reference shows as such, not as a number.
  fs.rmSync(path.join(ref, 'results', '04-training-the-student.json'));
  assert.match(renderReferenceTable(ref), /The chapter's recipe[^\n]*— \(not in the reference\)/);
});

test('the README without its markers is refused with the lines to add', () => {
  assert.throws(() => withReferenceTable('# README\n', 'x'), /README.md has no results block: add the lines/);
  assert.equal(withReferenceTable(`a\n${TABLE_START}\nold\n${TABLE_END}\nb`, 'new'), `a\n${TABLE_START}\nnew\n${TABLE_END}\nb`);
});
