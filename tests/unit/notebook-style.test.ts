/**
 * What a learner sees when reading the chapter notebooks cell by cell: code cells short enough to
 * read at once (at most 15 lines of at most 100 characters), every heading in both languages,
 * section numbers only where the chapter has that section, one way to show a table, a summary and
 * links at the end. Checks the committed sources (no outputs), not executed copies.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
const DIR = path.join(ROOT, 'notebooks');
const NOTEBOOKS = fs.readdirSync(DIR).filter((f) => /^\d\d-.*\.ipynb$/.test(f)).sort();

export const MAX_CODE_LINES = 15;
export const MAX_LINE_LENGTH = 100;

/** Section numbers the chapter (the seed text, §1–§4.1) has; anything else is not the chapter's. */
const CHAPTER_SECTIONS = new Set([
  '1', '1.1', '1.2', '1.2.1', '1.2.2', '1.2.3', '1.3', '2', '2.1', '2.2', '2.3', '2.4',
  '3', '3.1', '3.2', '3.3', '3.4', '3.5', '4', '4.1',
]);

interface Cell {
  cell_type: 'code' | 'markdown' | 'raw';
  id?: string;
  source: string | string[];
  outputs?: unknown[];
}

function cellsOf(file: string): Cell[] {
  return (JSON.parse(fs.readFileSync(path.join(DIR, file), 'utf8')) as { cells: Cell[] }).cells;
}

function text(cell: Cell): string {
  return Array.isArray(cell.source) ? cell.source.join('') : cell.source;
}

/** Markdown heading lines (outside code fences). */
function headings(cell: Cell): string[] {
  let fenced = false;
  const out: string[] = [];
  for (const line of text(cell).split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    else if (!fenced && /^#{1,6} /.test(line)) out.push(line);
  }
  return out;
}

const CJK = /[\u4e00-\u9fff]/;
const LATIN_WORD = /[A-Za-z]{2,}/;

export function styleProblems(file: string, cells: Cell[]): string[] {
  const problems: string[] = [];
  cells.forEach((cell, i) => {
    const where = `${file} cell ${i} (${cell.id ?? 'no id'})`;
    if (cell.cell_type === 'code') {
      const lines = text(cell).replace(/\n+$/, '').split('\n');
      if (lines.length > MAX_CODE_LINES) problems.push(`${where}: ${lines.length} lines > ${MAX_CODE_LINES}`);
      lines.forEach((l, k) => {
        if ([...l].length > MAX_LINE_LENGTH) problems.push(`${where} line ${k + 1}: ${[...l].length} characters > ${MAX_LINE_LENGTH}`);
      });
      if (/new \(danfo\(\)\.DataFrame\)/.test(text(cell))) problems.push(`${where}: builds a DataFrame; pass plain rows to showTable`);
    }
    for (const h of headings(cell)) {
      if (!CJK.test(h) || !LATIN_WORD.test(h)) problems.push(`${where}: heading not bilingual: ${h}`);
      for (const m of h.matchAll(/(?:^#{2,} |§)(\d+(?:\.\d+)*)\b/g)) {
        if (!CHAPTER_SECTIONS.has(m[1])) problems.push(`${where}: section ${m[1]} is not in the chapter: ${h}`);
      }
    }
  });
  return problems;
}

test('the chapter notebooks are all checked', () => {
  assert.deepEqual(NOTEBOOKS.map((f) => f.slice(0, 2)), ['00', '01', '02', '03', '04', '05', '06', '07', '08']);
});

for (const file of NOTEBOOKS) {
  test(`${file}: code cells ≤ ${MAX_CODE_LINES} lines of ≤ ${MAX_LINE_LENGTH} characters, bilingual headings, plain-row tables`, () => {
    assert.deepEqual(styleProblems(file, cellsOf(file)), []);
  });

  test(`${file}: committed without outputs, ends with a summary, links to its neighbours`, () => {
    const cells = cellsOf(file);
    for (const c of cells) if (c.cell_type === 'code') assert.deepEqual(c.outputs ?? [], [], `${file}: outputs committed`);
    const all = cells.map(text).join('\n');
    assert.ok(cells.some((c) => headings(c).some((h) => /^## 小结 · Summary/.test(h))), `${file}: no "## 小结 · Summary" heading`);
    const n = Number(file.slice(0, 2));
    const neighbour = (k: number) => NOTEBOOKS.find((f) => f.startsWith(`0${k}-`)) as string;
    if (n > 0) assert.ok(all.includes(`](${neighbour(n - 1)})`), `${file}: no link to the previous notebook`);
    if (file !== NOTEBOOKS[NOTEBOOKS.length - 1]) assert.ok(all.includes(`](${neighbour(n + 1)})`), `${file}: no link to the next notebook`);
    if (n > 0) assert.ok(all.includes('arxiv.org/abs/1503.02531'), `${file}: no link to Hinton et al. 2015 on arXiv`);
  });
}

test('the style check finds what it is meant to find', () => {
  const bad: Cell[] = [
    { cell_type: 'markdown', source: '## Training curves\n\n```\n# not a heading\n```' },
    { cell_type: 'markdown', source: '## 4.2 梯度 · Gradients' },
    { cell_type: 'code', source: [`const x = 1;${' '.repeat(100)}\n`, ...Array.from({ length: 15 }, () => 'x;\n')] },
    { cell_type: 'code', source: 'showTable(new (danfo().DataFrame)(rows));' },
  ];
  const problems = styleProblems('probe', bad);
  assert.equal(problems.length, 5, problems.join('\n'));
  assert.match(problems[0], /not bilingual: ## Training curves/);
  assert.match(problems[1], /section 4\.2 is not in the chapter/);
  assert.match(problems[2], /16 lines > 15/);
  assert.match(problems[3], /line 1: 112 characters/);
  assert.match(problems[4], /plain rows/);
});
