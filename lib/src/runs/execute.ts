import * as path from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { teacherLogitsCached, weightsHash } from '../cache';
import { featurePoolSize, teacherFeaturesCached, type TeacherFeatures } from '../teacher-features';
import { saveCheckpoint } from '../checkpoint';
import { resolveData, type DigitSet, type RunData } from '../data';
import { classCounts, transferLogits } from '../data/transfer-set';
import { KdlabError } from '../errors';
import { argmaxRows, evaluateLogits, predictLogits } from '../evaluate';
import { blasKernelFamily, nativeKernelNames, withBlasThreads } from '../kernels/native';
import { resolveObjective } from '../losses';
import { countParams, createRegressor, hiddenLayers } from '../models';
import { writeFileAtomic } from '../paths';
import { train, TrainingDiverged, type EpochRecord, type LossSpec } from '../train';
import { createModel } from './models';
import { normalRecord, runKey, type RunSpec } from './spec';
import { loadRunModel, partialRunDir, readRun, type RunOutcome, type SplitScore, type TrainingFit } from './store';

/**
 * Training one spec: the same function in a worker process and in the notebook's own, so a
 * run's digits never depend on where it executed (the spec's BLAS thread count is set for it).
 * It writes only into the run's partial folder; the caller commits the outcome to the store.
 */

export interface RunHooks {
  onEpoch?: (record: EpochRecord) => void;
  signal?: AbortSignal;
}

/** Scores of a split from its logits. */
export function scoreLogits(logits: Float32Array, labels: ArrayLike<number>): SplitScore {
  const e = evaluateLogits(logits, labels);
  const errorsByClass = e.confusion.map((row, y) => row.reduce((a, n, p) => a + (p === y ? 0 : n), 0));
  return { accuracy: e.accuracy, errors: e.errors, errorsByClass };
}

/** The fit of `model` to `set` and, when given, to the teacher's logits on it (n × 10). */
export function trainingFit(model: tf.LayersModel, set: DigitSet, teacherLogits: Float32Array | null): TrainingFit {
  const ours = argmaxRows(predictLogits(model, set));
  let trainErrors = 0;
  for (let i = 0; i < set.size; i++) if (ours[i] !== set.labels[i]) trainErrors++;
  if (teacherLogits === null) return { trainErrors, teacherDisagreements: null };
  const theirs = argmaxRows(teacherLogits);
  let disagreements = 0;
  for (let i = 0; i < set.size; i++) if (ours[i] !== theirs[i]) disagreements++;
  return { trainErrors, teacherDisagreements: disagreements };
}

/** The teacher's finished run, loaded: its model, and (withLogits) its logits on the run's training images. */
async function teacherOf(spec: RunSpec, data: RunData, withLogits: boolean): Promise<{ model: tf.Sequential; logits: Float32Array | null }> {
  const key = spec.teacher?.run ?? '';
  if (!readRun(key)) {
    throw new KdlabError('TEACHER_MISSING', `run "${spec.label ?? runKey(spec)}" distils from run ${key}, which is not in the store: run the teacher's spec first (runAll([teacher, ...students]) orders them).`);
  }
  const model = await loadRunModel(key);
  if (!withLogits) return { model, logits: null };
  const pool = teacherLogitsCached(model, data.pool).logits;
  return { model, logits: data.poolIndices ? transferLogits(pool, { ...data.train, poolIndices: data.poolIndices, poolId: data.pool.id }) : pool };
}

/** Trains `spec` (resuming from its partial folder), scores it and keeps what it records. */
export async function trainRun(spec: RunSpec, hooks: RunHooks = {}, backend = 'unknown'): Promise<RunOutcome> {
  const blasThreads = spec.blasThreads ?? 1;
  return withBlasThreads(blasThreads, () => trainRunHere(spec, hooks, backend, blasThreads));
}

async function trainRunHere(spec: RunSpec, hooks: RunHooks, backend: string, blasThreads: number): Promise<RunOutcome> {
  const t0 = performance.now();
  const key = runKey(spec);
  const dir = partialRunDir(key);
  const record = normalRecord(spec.record);
  const data = resolveData(spec.data);
  const resolved = resolveObjective(spec.objective, `run "${spec.label ?? key}"`);
  const model = createModel(spec.model, spec.seed, 'student');
  // Hint and cosine read the teacher's hidden layers (its model), the logit objectives its logits.
  const teacher = resolved.needsTeacher || resolved.needsFeatures ? await teacherOf(spec, data, resolved.needsTeacher || record.fit) : null;
  let regressor: tf.Sequential | undefined;
  try {
    if (resolved.needsRegressor && teacher) {
      const shapeOf = (m: tf.LayersModel) => hiddenLayers(m).at(-1)?.shape ?? [];
      regressor = createRegressor(shapeOf(model), shapeOf(teacher.model), { seed: spec.seed });
    }
    const teacherFeatures = teacher && resolved.needsFeatures ? sharedTeacherFeatures(spec, teacher.model, model, data.train) : undefined;
    const loss: LossSpec = teacher
      ? ({ ...spec.objective, teacherLogits: teacher.logits ?? undefined, teacher: resolved.needsFeatures ? teacher.model : undefined, regressor, teacherFeatures } as LossSpec)
      : 'hard';
    const checkpointDir = path.join(dir, 'checkpoint');
    const budget = spec.budget as { epochs?: number; steps?: number };
    const result = await train(model, {
      train: data.train,
      validation: record.valCurve ? data.validation : undefined,
      epochs: budget.epochs,
      steps: budget.steps,
      batchSize: spec.batchSize,
      optimizer: spec.optimizer,
      loss,
      seed: spec.seed,
      jitter: spec.jitter ?? 0,
      keep: spec.keep ?? 'last',
      ...(spec.checkpointEvery ? { checkpoint: { dir: checkpointDir, every: spec.checkpointEvery }, resumeFrom: checkpointDir } : {}),
      onEpoch: hooks.onEpoch,
      signal: hooks.signal,
    }).catch((err: unknown) => {
      if (err instanceof TrainingDiverged) return err;
      throw err;
    });
    // What every outcome, diverged or not, says about the run's size and where it ran.
    const common = () => ({ params: countParams(model), extraParams: regressor ? countParams(regressor) : 0,
      seconds: (performance.now() - t0) / 1000, backend, blasThreads,
      blasKernels: nativeKernelNames().length > 0 ? blasKernelFamily() : null });
    if (result instanceof TrainingDiverged) return { ...divergedOutcome(data, result, record.test), ...common() };
    if (result.aborted) throw new KdlabError('ABORTED', `run "${spec.label ?? key}" was stopped; ${spec.checkpointEvery ? 'run it again to resume from its checkpoint' : 'run it again'}.`);
    const valLogits = predictLogits(model, data.validation);
    const testLogits = record.test || record.logits ? predictLogits(model, data.test) : null;
    if (record.logits && testLogits) {
      writeFileAtomic(path.join(dir, 'validation.f32'), f32Bytes(valLogits));
      writeFileAtomic(path.join(dir, 'test.f32'), f32Bytes(testLogits));
    }
    if (record.weights) await saveCheckpoint(path.join(dir, 'weights'), { model });
    return {
      history: result.history,
      steps: result.steps,
      keptEpoch: result.kept?.epoch ?? 0,
      trainSize: data.train.size,
      trainCounts: classCounts(data.train),
      validation: scoreLogits(valLogits, data.validation.labels),
      test: record.test && testLogits ? scoreLogits(testLogits, data.test.labels) : null,
      fit: record.fit ? trainingFit(model, data.train, teacher ? teacher.logits : null) : null,
      ...common(),
      weightsHash: weightsHash(model),
    };
  } finally {
    model.dispose();
    teacher?.model.dispose();
    regressor?.dispose();
  }
}

/** What a diverged run leaves: the epochs before it, and every scored image counted as an error. */
function divergedOutcome(data: RunData, err: TrainingDiverged, scoreTest: boolean):
  Omit<RunOutcome, 'params' | 'extraParams' | 'seconds' | 'backend' | 'blasThreads' | 'blasKernels'> {
  const allWrong = (set: DigitSet): SplitScore => ({ accuracy: 0, errors: set.size, errorsByClass: classCounts(set) });
  return {
    history: err.history,
    steps: err.steps,
    keptEpoch: 0,
    trainSize: data.train.size,
    trainCounts: classCounts(data.train),
    validation: allWrong(data.validation),
    test: scoreTest ? allWrong(data.test) : null,
    fit: null,
    diverged: { epoch: err.epoch, loss: String(err.loss) },
  };
}

/**
 * The teacher's hidden rows for a feature objective from the shared cache (runAll fills it before
 * the workers start), so the runs of one teacher compute them once; undefined with jitter or when
 * they are too large to keep (train() then runs the teacher on each batch).
 */
function sharedTeacherFeatures(spec: RunSpec, teacher: tf.LayersModel, student: tf.LayersModel, set: DigitSet): TeacherFeatures | undefined {
  if ((spec.jitter ?? 0) > 0) return undefined;
  const poolTo = featurePoolSize(spec.objective.objective, hiddenLayers(student).at(-1)?.shape ?? []);
  return teacherFeaturesCached(teacher, set, { poolTo }) ?? undefined;
}

const f32Bytes = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
