/**
 * One grid worker process: its own tfjs backend, the data loaded once, teacher logits read from
 * the cache file the parent named. It trains the runs it is sent and reports numbers only; the
 * parent writes the results file.
 */
import { readCachedLogits } from '../cache';
import { saveCheckpoint } from '../checkpoint';
import { loadSplits, NUM_CLASSES, take } from '../data';
import { InputError } from '../errors';
import { evaluate } from '../evaluate';
import { countParams, createStudent } from '../models';
import { train } from '../train';
import type { WorkerReply, WorkerRequest } from './run';
import { objectiveOf } from './spec';
import { sendReply, serveRuns } from './serve';

const send = (msg: WorkerReply): void => sendReply(msg);

async function runOne(req: WorkerRequest, backend: string): Promise<void> {
  const { config } = req;
  const t0 = performance.now();
  const data = loadSplits({ validationSize: config.validationSize, seed: config.splitSeed });
  const trainSet = config.trainSize === null ? data.train : take(data.train, config.trainSize);
  const teacherLogits = readCachedLogits(req.teacherLogitsFile);
  if (teacherLogits.length !== trainSet.size * NUM_CLASSES) {
    throw new InputError(
      'TEACHER_LOGITS_MISMATCH',
      `teacher logits in ${req.teacherLogitsFile} cover ${teacherLogits.length / NUM_CLASSES} examples but the training slice has ${trainSet.size}: recompute them for this slice.`,
    );
  }
  const model = createStudent({ hidden: config.hidden, seed: config.seed });
  try {
    const result = await train(model, {
      // Validation once at the end, not per epoch: the grid selects on the final model.
      train: trainSet,
      epochs: config.epochs,
      batchSize: config.batchSize,
      optimizer: { name: 'adam', learningRate: config.learningRate },
      // The objective's own loss handles settings like alpha = 0 (hard labels only).
      loss: { ...objectiveOf(config), teacherLogits },
      seed: config.seed,
    });
    const val = evaluate(model, data.validation);
    // Saved before the row is reported: a row in the results file implies its weights exist.
    if (req.weightsDir) await saveCheckpoint(req.weightsDir, { model });
    send({
      type: 'done',
      key: req.key,
      row: {
        valAccuracy: val.accuracy,
        bestEpoch: result.last?.epoch ?? config.epochs,
        params: countParams(model),
        seconds: (performance.now() - t0) / 1000,
        backend,
      },
    });
  } finally {
    model.dispose();
  }
}

serveRuns<WorkerRequest>(runOne);
