/**
 * One worker process of notebook 06's transfer-set experiment (generalization.ts,
 * runTransferExperiment with inWorkers): its own tfjs backend; it rebuilds the pool from the split
 * settings (once per setting), reads the teacher's logits from their cache file, and trains with
 * transferRun, which writes the run's files itself (one file per run key, written atomically).
 */
import { InputError } from '../errors';
import { transferRun, transferRunKey, type TransferRequest } from '../generalization';
import { sendReply, serveRuns } from './serve';
import { splitDataOf, teacherLogitsFromFile } from './split-data';

async function runOne(req: TransferRequest): Promise<void> {
  const data = splitDataOf(req.split);
  const teacher = teacherLogitsFromFile(req.teacherLogitsFile, req.teacherKey, data);
  const key = transferRunKey(req.spec, data, req.teacherKey);
  if (key !== req.key) {
    throw new InputError('BAD_INPUT', `transfer worker: the split settings ${JSON.stringify(req.split)} do not rebuild the notebook's pool (run key ${key}, expected ${req.key}); pass the settings that built data.`);
  }
  const run = await transferRun(req.spec, { data, teacher, dir: req.dir });
  sendReply({ type: 'done', key: req.key, row: { seconds: run.seconds } });
}

serveRuns<TransferRequest>(runOne);
