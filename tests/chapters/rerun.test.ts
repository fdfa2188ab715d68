/**
 * Readers rerun cells. Running a notebook's code cells twice in ONE kernel (as "run all" twice
 * does) must work: no redeclaration errors, and the final leak check, which compares with the
 * tensor count taken at the top, passes again. The cheap notebooks suffice (04 and 05 only add
 * training, which the library tests cover for leaks).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { KernelClient } from '../../tools/src/runner/kernel';
import { readNotebook } from '../../tools/src/runner/nbformat';
import { sourceText } from '../../tools/src/runner/nbformat';
import { notebookPath, type Chapter } from './helpers';

// 03: the most cells that declare names and tensors; the others reuse the same mechanisms.
const CHEAP: Chapter[] = ['03-distillation-loss'];

for (const name of CHEAP) {
  test(`${name}: run all, then run all again in the same kernel`, async () => {
    const file = notebookPath(name);
    const cells = readNotebook(file).cells.filter((c) => c.cell_type === 'code').map((c) => sourceText(c.source));
    const client = await KernelClient.start({ cwd: path.dirname(file) });
    try {
      for (const round of [1, 2]) {
        for (const code of cells) {
          const r = await client.execute(code, { timeoutSeconds: 900 });
          assert.equal(r.status, 'ok', `round ${round}, cell "${code.split('\n')[0]}":\n${r.stderr}`);
        }
      }
    } finally {
      await client.shutdown();
    }
  });
}
