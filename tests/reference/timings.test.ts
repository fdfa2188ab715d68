/**
 * `kdlab reproduce` appends each executed notebook's wall time to <out>/timings.json: ok and failed
 * notebooks alike, skipped ones not, with mode, commit and start/end; a second sitting adds to the
 * same list. Runs the fixture chapters of tests/notebook (three tiny notebooks, one that throws).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readTimings } from '../../tools/src/runner/timings';
import { sittingsOf } from '../../tools/src/commands/reference';

const ROOT = path.resolve(__dirname, '..', '..');
const CHAPTERS = path.join(ROOT, 'tests', 'notebook', 'fixtures', 'chapters');

function reproduce(...args: string[]): number | null {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'tools', 'src', 'cli.ts'), 'reproduce', ...args], {
    cwd: ROOT, encoding: 'utf8', timeout: 120_000,
  });
  return r.status;
}

test('reproduce records each notebook\'s wall time, sitting after sitting', { timeout: 300_000 }, () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'kdlab-ref-timings-'));
  const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  const before = Date.now();
  assert.equal(reproduce('--notebooks', CHAPTERS, '--out', out, '--mode', 'full', '--timeout-cell', '60'), 1);
  const first = readTimings(out);
  assert.deepEqual(first.map((e) => [e.notebook, e.mode, e.status]), [['01-params.ipynb', 'full', 'ok'], ['02-throws.ipynb', 'full', 'error']]);
  for (const e of first) {
    assert.equal(e.commit, head);
    const start = Date.parse(e.start);
    const end = Date.parse(e.end);
    assert.ok(before <= start && start < end && end <= Date.now(), `${e.start} .. ${e.end}`);
    // The runner's own wall time: within the entry's start and end, less than a second short of them.
    assert.ok(e.wallSeconds > 0 && e.wallSeconds <= (end - start) / 1000 + 0.01 && (end - start) / 1000 - e.wallSeconds < 1, `${e.wallSeconds}`);
  }
  assert.equal(first[1].start >= first[0].end, true, 'one after the other');

  assert.equal(reproduce('--notebooks', CHAPTERS, '--out', out, '--mode', 'full', '--only', '03', '--timeout-cell', '60'), 0);
  const second = readTimings(out);
  assert.equal(second.length, 3);
  assert.deepEqual(second.slice(0, 2), first, 'earlier sittings are kept as they were');
  assert.deepEqual([second[2].notebook, second[2].status], ['03-after.ipynb', 'ok']);
  assert.deepEqual(sittingsOf('03-after.ipynb', second)?.map((s) => s.wallSeconds), [second[2].wallSeconds]);
  assert.equal(sittingsOf('02-throws.ipynb', second), null, 'a notebook that never completed has no sittings');
});
