import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initBackend } from '../../lib/src/backend';
import { teacherLogitsCached } from '../../lib/src/cache';
import { saveCheckpoint } from '../../lib/src/checkpoint';
import { loadSplits, take } from '../../lib/src/data';
import { compareOverSeeds } from '../../lib/src/headline';
import { withBlasThreads } from '../../lib/src/kernels/native';
import { WORKER_BLAS_THREADS } from '../../lib/src/grid';
import { createStudent } from '../../lib/src/models';

process.env.KDLAB_CACHE_DIR ??= fs.mkdtempSync(path.join(os.tmpdir(), 'kdlab-cache-'));

test('compareOverSeeds in worker processes gives the digits of the in-process path at the same BLAS thread count, and a rerun reads them back', async () => {
  await initBackend({ quiet: true });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kdlab-headline-'));
  const splits = loadSplits({ validationSize: 5000, seed: 0 });
  const data = { ...splits, train: take(splits.train, 400) };
  // An untrained "teacher": its logits only need to be fixed numbers.
  const teacher = createStudent({ hidden: [32], seed: 123 });
  const soft = teacherLogitsCached(teacher, data.train);
  const checkpointDir = path.join(dir, 'teacher');
  await saveCheckpoint(checkpointDir, { model: teacher });
  teacher.dispose();
  const common = { data, hidden: [8], seeds: [0, 1], epochs: 1, batchSize: 64, distill: { teacherLogits: soft, temperature: 4, alpha: 0.5 } };
  const inWorkers = {
    resultsFile: path.join(dir, 'headline.jsonl'),
    teacher: { arch: { kind: 'mlp' as const, hidden: [32] }, checkpointDir, logits: { file: soft.file, key: soft.key } },
    trainSize: 400, validationSize: 5000, splitSeed: 0,
  };
  const here = await withBlasThreads(WORKER_BLAS_THREADS, () => compareOverSeeds(common));
  const there = await compareOverSeeds({ ...common, inWorkers });
  assert.deepEqual(there.runs, here.runs);
  assert.equal(fs.readFileSync(inWorkers.resultsFile, 'utf8').trim().split('\n').length, 4, 'two seeds × (scratch, kd)');
  const before = fs.statSync(inWorkers.resultsFile).mtimeMs;
  const again = await compareOverSeeds({ ...common, inWorkers });
  assert.deepEqual(again.runs, here.runs);
  assert.equal(fs.statSync(inWorkers.resultsFile).mtimeMs, before, 'nothing trained or written on the rerun');
  await assert.rejects(compareOverSeeds({ ...common, inWorkers: { ...inWorkers, trainSize: 300 } }), /trainSize is 300 but data.train has 400/);
});
