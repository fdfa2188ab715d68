/**
 * One worker process of a methods comparison (methods.ts runMethods): its own tfjs backend; per
 * run it loads the data split, the teacher from its checkpoint (for hidden layers) and its cached
 * logits (for logit objectives), trains the student with the run's objective and reports numbers
 * only; the parent writes the results file.
 */
import * as tf from '@tensorflow/tfjs';
import { readCachedLogits } from '../cache';
import { loadCheckpoint } from '../checkpoint';
import { loadSplits, NUM_CLASSES, take } from '../data';
import { InputError } from '../errors';
import { evaluate } from '../evaluate';
import { resolveObjective } from '../losses';
import { createModel, type MethodRequest, type MethodResultRow } from '../methods';
import { countParams, createRegressor, hiddenLayers } from '../models';
import { train, type EpochRecord, type LossSpec } from '../train';
import { sendReply, serveRuns } from './serve';

type Reply =
  | { type: 'ready' }
  | { type: 'epoch'; key: string; record: EpochRecord }
  | { type: 'done'; key: string; row: MethodResultRow }
  | { type: 'failed'; key: string; message: string };
const send = (msg: Reply): void => sendReply(msg);

async function runOne(req: MethodRequest, backend: string): Promise<void> {
  const c = req.config;
  const t0 = performance.now();
  const data = loadSplits({ validationSize: c.validationSize, seed: c.splitSeed });
  const trainSet = c.trainSize === null ? data.train : take(data.train, c.trainSize);
  const resolved = resolveObjective(c.objective, `method ${c.method}`);
  const teacher = createModel(c.teacher, 0, 'teacher');
  const student = createModel(c.student, c.seed, 'student');
  let regressor: tf.LayersModel | undefined;
  try {
    if (!(await loadCheckpoint(req.teacherDir, { model: teacher }, { weightsOnly: true }))) {
      throw new InputError('CACHE_MISSING', `no teacher checkpoint in ${req.teacherDir}.`);
    }
    let loss: LossSpec = 'hard';
    if (c.objective.objective !== 'hard') {
      let teacherLogits: Float32Array | undefined;
      if (resolved.needsTeacher) {
        teacherLogits = readCachedLogits(req.teacherLogitsFile);
        if (teacherLogits.length !== trainSet.size * NUM_CLASSES) {
          throw new InputError('TEACHER_LOGITS_MISMATCH', `teacher logits in ${req.teacherLogitsFile} cover ${teacherLogits.length / NUM_CLASSES} examples, the slice has ${trainSet.size}.`);
        }
      }
      if (resolved.needsRegressor) {
        const shapeOf = (m: tf.LayersModel) => hiddenLayers(m).at(-1)?.shape ?? [];
        regressor = createRegressor(shapeOf(student), shapeOf(teacher), { seed: c.seed });
      }
      loss = { ...c.objective, teacherLogits, teacher: resolved.needsFeatures ? teacher : undefined, regressor } as LossSpec;
    }
    const dir = req.checkpointDir;
    const result = await train(student, {
      train: trainSet,
      epochs: c.epochs,
      batchSize: c.batchSize,
      optimizer: { name: 'adam', learningRate: c.learningRate },
      loss,
      seed: c.seed,
      // A kept student is watched while it trains and survives an interruption.
      ...(dir ? { validation: data.validation, checkpoint: { dir }, resumeFrom: dir, onEpoch: (record: EpochRecord) => send({ type: 'epoch', key: req.key, record }) } : {}),
    });
    // A kept student was validated after its last epoch already.
    const valAccuracy = result.last?.valAccuracy ?? evaluate(student, data.validation).accuracy;
    const test = evaluate(student, data.test);
    send({
      type: 'done',
      key: req.key,
      row: {
        valAccuracy,
        testAccuracy: test.accuracy,
        testErrors: test.errors,
        params: countParams(student),
        extraParams: regressor ? countParams(regressor) : 0,
        seconds: (performance.now() - t0) / 1000,
        backend,
      },
    });
  } finally {
    student.dispose();
    teacher.dispose();
    regressor?.dispose();
  }
}

serveRuns<MethodRequest>(runOne);
