/**
 * One worker process of notebook 06's transfer-set experiment (generalization.ts,
 * runTransferExperiment with inWorkers): its own tfjs backend; it rebuilds the pool from the split
 * settings (once per setting), reads the teacher's logits from their cache file, and trains with
 * transferRun, which writes the run's files itself (one file per run key, written atomically).
 */
import { readCachedLogits } from '../cache';
import { loadSplits, NUM_CLASSES, take, type SplitData } from '../data';
import { InputError } from '../errors';
import { transferRun, transferRunKey, type TransferRequest } from '../generalization';
import { sendReply, serveRuns } from './serve';

const pools = new Map<string, SplitData>();

function poolOf(split: TransferRequest['split']): SplitData {
  const id = JSON.stringify(split);
  let data = pools.get(id);
  if (!data) {
    const splits = loadSplits({ validationSize: split.validationSize, seed: split.splitSeed });
    data = { ...splits, train: split.poolSize === null ? splits.train : take(splits.train, split.poolSize) };
    pools.set(id, data);
  }
  return data;
}

async function runOne(req: TransferRequest): Promise<void> {
  const data = poolOf(req.split);
  const logits = readCachedLogits(req.teacherLogitsFile);
  const teacher = { logits, key: req.teacherKey, setId: data.train.id, size: logits.length / NUM_CLASSES, preprocessing: 'none', hit: true, file: req.teacherLogitsFile };
  const key = transferRunKey(req.spec, data, req.teacherKey);
  if (key !== req.key) {
    throw new InputError('BAD_INPUT', `transfer worker: the split settings ${JSON.stringify(req.split)} do not rebuild the notebook's pool (run key ${key}, expected ${req.key}); pass the settings that built data.`);
  }
  const run = await transferRun(req.spec, { data, teacher, dir: req.dir });
  sendReply({ type: 'done', key: req.key, row: { seconds: run.seconds } });
}

serveRuns<TransferRequest>(runOne);
