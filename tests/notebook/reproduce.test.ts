/**
 * `kdlab reproduce` end to end on fixture chapters: ordering, parameters, stop-at-first-failure,
 * --keep-going, --only, the summary table and the exit code.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
const CHAPTERS = path.join(__dirname, 'fixtures', 'chapters');

function reproduce(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'tools', 'src', 'cli.ts'), 'reproduce', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Summary rows as {notebook: [status, cells]} parsed from the table on stdout. */
function summary(stdout: string): Record<string, [string, string]> {
  const rows: Record<string, [string, string]> = {};
  for (const line of stdout.split('\n')) {
    const m = /^(\d\d-\S+\.ipynb)\s+(\S+(?: kernel)?)\s+(\S+)/.exec(line);
    if (m) rows[m[1]] = [m[2], m[3]];
  }
  return rows;
}

test('reproduce: parameters injected, stops at the first failure with the cell reported', () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'kdlab-repro-'));
  try {
    const r = reproduce('--notebooks', CHAPTERS, '--out', out, '--mode', 'full', '-p', 'seed=7', '--timeout-cell', '60');
    assert.equal(r.code, 1, r.stderr);
    assert.deepEqual(summary(r.stdout), {
      '01-params.ipynb': ['ok', '3/3'],
      '02-throws.ipynb': ['error', '4/4'],
      '03-after.ipynb': ['skipped', '-'],
    });
    assert.match(r.stdout, /notebook\s+status\s+cells\s+wall time\s+figures written/);
    assert.match(r.stderr, /FAILED \S*02-throws\.ipynb: cell 3 failed/);
    assert.match(r.stderr, /source: throw new Error\("boom in chapter 2"\);/);
    assert.match(r.stderr, /Error: boom in chapter 2/);
    assert.match(r.stderr, /--keep-going runs the rest/);

    const executed = JSON.parse(fs.readFileSync(path.join(out, '01-params.ipynb'), 'utf8'));
    const printed = executed.cells[2].outputs[0].text;
    assert.equal(printed, 'mode=full seed=7\n', 'both --mode and -p reached the notebook');
    assert.ok(fs.existsSync(path.join(out, '02-throws.ipynb')), 'the failed notebook is written up to the failure');
    assert.ok(!fs.existsSync(path.join(out, '03-after.ipynb')));

    const again = reproduce('--notebooks', CHAPTERS, '--out', out, '--only', '02,03', '--keep-going');
    assert.equal(again.code, 1);
    assert.deepEqual(summary(again.stdout), { '02-throws.ipynb': ['error', '4/4'], '03-after.ipynb': ['ok', '3/3'] });
    const third = JSON.parse(fs.readFileSync(path.join(out, '03-after.ipynb'), 'utf8'));
    assert.equal(third.cells[2].outputs[0].text, 'chapter 3 ran in quick mode\n');
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});

test('reproduce: no chapter notebooks is a notice and exit 0; bad flags exit 2', () => {
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'kdlab-empty-'));
  try {
    const r = reproduce('--notebooks', empty);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /no chapter notebooks found in .*\//);
  } finally {
    fs.rmSync(empty, { recursive: true, force: true });
  }
  assert.equal(reproduce('--mode', 'slow').code, 2);
  assert.equal(reproduce('--notebooks', CHAPTERS, '--only', '09').code, 2);
  assert.equal(reproduce('-p', 'not-a-pair').code, 2);
});

test('wall times in the summary: seconds below a minute, whole minutes and seconds above, never "60 s"', async () => {
  const { formatSeconds } = await import('../../tools/src/commands/reproduce');
  assert.equal(formatSeconds(7.34), '7.3 s');
  assert.equal(formatSeconds(59.96), '1 min 0 s');
  assert.equal(formatSeconds(839.6), '14 min 0 s');
  assert.equal(formatSeconds(884.4), '14 min 44 s');
  assert.equal(formatSeconds(3739.3), '62 min 19 s');
});
