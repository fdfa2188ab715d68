import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { DisplaySink } from '../../lib/src/plot/display';
import { formatCell, frameToCsv, saveTable, showTable, tableBundle } from '../../lib/src/plot/tables';
import { captureStdout } from './stdout';
import type { FrameLike } from '../../lib/src/plot/frame';

const ROWS = [
  { model: 'teacher', params: 2395210, testAccuracy: 0.98123456 },
  { model: 'student, distilled', params: 1276810, testAccuracy: 0.9765 },
  { model: 'say "hi"', params: 24790, testAccuracy: null },
];

async function frame(): Promise<FrameLike> {
  const dfd = await import('danfojs-node');
  return new dfd.DataFrame([
    { model: 'teacher', params: 2395210, testAccuracy: 0.98126 },
    { model: 'scratch', params: 1276810, testAccuracy: 0.9712 },
  ]) as unknown as FrameLike;
}

test('showTable sends a DataFrame as one display: an HTML table and aligned plain text', async () => {
  const sent: Record<string, unknown>[] = [];
  const sink: DisplaySink = { display: (d) => sent.push(d), update: () => undefined };
  showTable(await frame(), { caption: 'Models', sink });
  assert.equal(sent.length, 1);
  assert.deepEqual(Object.keys(sent[0]).sort(), ['text/html', 'text/plain']);
  const html = String(sent[0]['text/html']);
  assert.deepEqual([...html.matchAll(/<th[^>]*>([^<]*)<\/th>/g)].map((m) => m[1]), ['model', 'params', 'testAccuracy']);
  assert.equal([...html.matchAll(/<tr>/g)].length, 3, 'header + 2 rows');
  assert.match(html, /<td style="text-align:right">0\.9813<\/td>/, 'numbers right-aligned, 4 decimals');
  assert.match(html, /<caption[^>]*>Models<\/caption>/);
  const plain = String(sent[0]['text/plain']).split('\n');
  assert.deepEqual(plain, [
    'Models',
    'model     params  testAccuracy',
    '-------  -------  ------------',
    'teacher  2395210        0.9813',
    'scratch  1276810        0.9712',
  ]);
});

test('tables escape HTML and elide long tables in the display (not in CSV)', () => {
  const many = Array.from({ length: 100 }, (_, i) => ({ i, name: i === 0 ? '<b>&' : `r${i}` }));
  const b = tableBundle(many, { maxRows: 10 });
  assert.match(b['text/html'], /&lt;b&gt;&amp;/);
  assert.ok(!b['text/html'].includes('<b>&'));
  assert.match(b['text/html'], /… 90 more rows …/);
  assert.equal([...b['text/html'].matchAll(/<tr>/g)].length, 1 + 10 + 1);
  assert.match(b['text/plain'], /… 90 more rows …/);
  assert.equal(frameToCsv(many).trimEnd().split('\n').length, 101);
});

test('showTable outside a kernel prints the plain text', async () => {
  const { chunks } = await captureStdout(() => showTable([{ a: 1, b: 'x' }]));
  assert.equal(chunks.join(''), 'a  b\n-  -\n1  x\n');
});

test('frameToCsv: header, full precision, RFC 4180 quoting, empty for missing', async () => {
  assert.equal(
    frameToCsv(ROWS),
    'model,params,testAccuracy\n' +
      'teacher,2395210,0.98123456\n' +
      '"student, distilled",1276810,0.9765\n' +
      '"say ""hi""",24790,\n',
  );
  const csv = frameToCsv(await frame());
  const lines = csv.trimEnd().split('\n');
  assert.equal(lines[0], 'model,params,testAccuracy');
  assert.equal(lines.length, 3);
  const [name, params, acc] = lines[1].split(',');
  assert.equal(name, 'teacher');
  assert.equal(Number(params), 2395210);
  // danfojs stores floats as float32: compare at float32 precision.
  assert.equal(Math.fround(Number(acc)), Math.fround(0.98126));
});

test('saveTable writes build/results/tables/<id>.csv atomically under resultsDir', () => {
  const resultsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kdlab-tables-'));
  try {
    const file = saveTable('teacher-vs-student', ROWS, { resultsDir });
    assert.equal(file, path.join(resultsDir, 'tables', 'teacher-vs-student.csv'));
    assert.equal(fs.readFileSync(file, 'utf8'), frameToCsv(ROWS));
    assert.deepEqual(fs.readdirSync(path.dirname(file)), ['teacher-vs-student.csv'], 'no temp file left');
    assert.throws(() => saveTable('../escape', ROWS, { resultsDir }), /not a usable file name/);
  } finally {
    fs.rmSync(resultsDir, { recursive: true, force: true });
  }
});

test('formatCell', () => {
  assert.equal(formatCell(3), '3');
  assert.equal(formatCell(0.123456), '0.1235');
  assert.equal(formatCell(1.5e-7), '1.50e-7');
  assert.equal(formatCell(null), '');
  assert.equal(formatCell(Number.NaN), 'NaN');
  assert.equal(formatCell(true), 'true');
});
