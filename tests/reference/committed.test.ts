import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { referenceRuns, verifyReference } from '../../tools/src/commands/reference';

// The committed full-scale reference still comes out of the code as committed: its cheapest
// distilled run (teacher weights from the reference, the teacher's logits, the KD step) retrained
// here gives every digit it recorded. A change that moves digits without changing run keys fails.

const ROOT = path.resolve(__dirname, '..', '..');
const REF = path.join(ROOT, 'reference', 'full');
const runs = referenceRuns(REF);
// A run that trained to the end (a search's diverged run would check only its first epoch).
const distilled = [...runs.values()].filter((r) => r.spec.teacher && !r.diverged).sort((a, b) => a.seconds - b.seconds);

test('the committed reference: its cheapest distilled run retrains to the same digits', {
  skip: distilled.length === 0 ? 'no reference with a distilled run is committed (reference/full/runs/)' : false,
  timeout: 900_000,
}, async (t) => {
  process.env.KDLAB_CACHE_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'kdlab-committed-cache-'));
  const lines: string[] = [];
  let report;
  try {
    report = await verifyReference({ refDir: REF, runs: [distilled[0].key], log: (l) => lines.push(l) });
  } catch (err) {
    // Another backend, BLAS threading or kernel family: the digits cannot match, and verify says so before training.
    if (/the digits cannot match/.test((err as Error).message)) return t.skip((err as Error).message);
    throw err;
  }
  assert.equal(report.outcomes.length, 1);
  assert.equal(report.identical, true, lines.join('\n'));
});
