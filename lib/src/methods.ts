import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import type * as tf from '@tensorflow/tfjs';
import type { ChapterConfig } from './chapter';
import { hasCheckpoint } from './checkpoint';
import { loadSplits, take } from './data';
import { InputError, KdlabError } from './errors';
import { appendRow, readRows } from './grid/rows';
import { runInWorkers } from './grid/run';
import { gridRunWeightsDir } from './grid/weights';
import { canonical, type AnyRow, type RunSettings } from './grid/spec';
import { meanSd, type MeanSd } from './stats';
import { DKD_DEFAULTS, objectiveParameters, parameterInfo, resolveObjective, type Objective } from './losses';
import { createConvNet, createMlp } from './models';
import { workbookDir } from './paths';
import { train, type EpochRecord, type TrainResult } from './train';

/**
 * Notebook 08's comparison: one student architecture trained with each method (scratch, KD,
 * MSE on logits, MSE on probabilities, DKD, a FitNets hint, the cosine loss) from one teacher, on
 * the same data with the same budget, over several seeds. Each run is a configuration hashed into
 * its key; finished runs are appended to a JSON Lines file (the grid's format and writer), so an
 * interrupted comparison resumes and a rerun reads everything back in seconds. Runs train in
 * worker processes (grid/methods-worker.ts), one per core.
 */

/** A student or teacher architecture as data (workers rebuild the model from it). */
export type ModelArch = { kind: 'mlp'; hidden: number[] } | { kind: 'conv'; filters: [number, number] };

export type MethodName = 'scratch' | 'kd' | 'mse-logits' | 'mse-prob' | 'dkd' | 'hint' | 'cosine';

/** One method: its name in tables and the objective train() optimises. */
export interface Method {
  name: MethodName;
  objective: Objective;
}

/**
 * The methods with the settings their sources use: KD at T 4 with weight 0.9 on the soft term
 * (mdistiller's KD: T 4, 0.9 / 0.1), the same weight for both MSE variants, DKD at the paper's
 * alpha 1, beta 8, T 4 (plus CE with weight 1), hint and cosine with the PyTorch tutorial's 0.25
 * on the feature term and 0.75 on CE. T 4 for KD, MSE-prob and DKD, so that KD and DKD differ
 * only by the decoupling.
 */
export const METHODS: readonly Method[] = Object.freeze([
  { name: 'scratch', objective: { objective: 'hard' } },
  { name: 'kd', objective: { objective: 'kd', temperature: 4, alpha: 0.9 } },
  { name: 'mse-logits', objective: { objective: 'mse', alpha: 0.9 } },
  { name: 'mse-prob', objective: { objective: 'mse-prob', temperature: 4, alpha: 0.9 } },
  { name: 'dkd', objective: { objective: 'dkd', ...DKD_DEFAULTS } },
  { name: 'hint', objective: { objective: 'hint', alpha: 0.25 } },
  { name: 'cosine', objective: { objective: 'cosine', alpha: 0.25 } },
] satisfies Method[]);

/** The trained teacher a comparison distils from. */
export interface TeacherRef {
  arch: ModelArch;
  /** Its checkpoint (ensureTeacher, ensureConvTeacher): the workers load it for hidden layers. */
  checkpointDir: string;
  /** Its logits on the training slice (teacherLogitsCached): the file workers read, the key each run hashes. */
  logits: { file: string; key: string };
}

export interface MethodsSpec {
  /** Names the comparison in messages; not part of any run's identity. */
  name: string;
  student: ModelArch;
  teacher: TeacherRef;
  /** Default: METHODS. */
  methods?: readonly Method[];
  seeds: number[];
  epochs: number;
  batchSize: number;
  learningRate?: number;
  /** Train on the first `trainSize` rows of the (shuffled) training split; null = all. */
  trainSize: number | null;
  validationSize: number;
  splitSeed: number;
}

/**
 * Everything that determines one run's result; its hash is the run's key. A grid run's settings,
 * with the two architectures in place of the student's hidden sizes.
 */
export interface MethodRunConfig extends Omit<RunSettings, 'hidden'> {
  method: MethodName;
  objective: Objective;
  student: ModelArch;
  teacher: ModelArch;
}

export interface MethodRow extends MethodRunConfig {
  key: string;
  valAccuracy: number;
  /** Test accuracy of the final weights: the methods' settings are fixed, nothing is chosen on test. */
  testAccuracy: number;
  testErrors: number;
  /** The student's parameters (what is deployed). */
  params: number;
  /** Parameters trained only during distillation (the hint's regressor), then thrown away. */
  extraParams: number;
  seconds: number;
  backend: string;
}

/** Messages between runMethods and grid/methods-worker.ts. */
export interface MethodRequest {
  type: 'run';
  config: MethodRunConfig;
  key: string;
  teacherDir: string;
  teacherLogitsFile: string;
  /**
   * Keep the student here (runMethods keepModels): validated after every epoch, checkpointed
   * after every epoch (an interrupted run resumes) and reporting each epoch; null: neither.
   */
  checkpointDir: string | null;
}
export type MethodResultRow = Omit<MethodRow, keyof MethodRunConfig | 'key'>;

export function methodRunKey(config: MethodRunConfig): string {
  const fields = Object.fromEntries(
    (['method', 'objective', 'student', 'teacher', 'teacherKey', 'seed', 'epochs', 'batchSize', 'learningRate', 'trainSize', 'validationSize', 'splitSeed'] as const).map(
      (k) => [k, config[k]],
    ),
  );
  return createHash('sha256').update(canonical(fields)).digest('hex').slice(0, 16);
}

function checkArch(arch: ModelArch, what: string): void {
  const positive = (xs: unknown) => Array.isArray(xs) && xs.length > 0 && xs.every((x) => Number.isInteger(x) && x > 0);
  const ok = arch && ((arch.kind === 'mlp' && positive(arch.hidden)) || (arch.kind === 'conv' && positive(arch.filters) && arch.filters.length === 2));
  if (!ok) throw new InputError('BAD_HIDDEN', `${what} must be { kind: 'mlp', hidden: [800, 800] } or { kind: 'conv', filters: [16, 32] }, got ${JSON.stringify(arch)}.`);
}

/** The runs of a comparison, seed by seed, each seed going through every method; validated. */
export function expandMethods(spec: MethodsSpec): MethodRunConfig[] {
  const bad = (msg: string): never => {
    throw new InputError('BAD_GRID', `methods comparison "${spec.name}": ${msg}`);
  };
  const methods = spec.methods ?? METHODS;
  if (methods.length === 0) bad('no methods.');
  if (new Set(methods.map((m) => m.name)).size !== methods.length) bad('method names must be distinct.');
  for (const m of methods) resolveObjective(m.objective, `methods comparison "${spec.name}", method ${m.name}`);
  if (!spec.seeds?.length || new Set(spec.seeds).size !== spec.seeds.length || spec.seeds.some((s) => !Number.isSafeInteger(s) || s < 0)) {
    bad(`seeds must be distinct non-negative integers, got ${JSON.stringify(spec.seeds)}.`);
  }
  if (!Number.isInteger(spec.epochs) || spec.epochs <= 0) bad(`epochs must be a positive integer, got ${spec.epochs}.`);
  if (!Number.isInteger(spec.batchSize) || spec.batchSize <= 0) bad(`batchSize must be a positive integer, got ${spec.batchSize}.`);
  checkArch(spec.student, 'student');
  checkArch(spec.teacher?.arch, 'teacher.arch');
  if (!spec.teacher.logits?.file || !spec.teacher.logits.key) bad('teacher.logits { file, key } is required (from teacherLogitsCached).');
  const runs: MethodRunConfig[] = [];
  for (const seed of spec.seeds) {
    for (const m of methods) {
      runs.push({
        method: m.name,
        objective: resolveObjective(m.objective).objective,
        student: spec.student,
        teacher: spec.teacher.arch,
        teacherKey: spec.teacher.logits.key,
        seed,
        epochs: spec.epochs,
        batchSize: spec.batchSize,
        learningRate: spec.learningRate ?? 1e-3,
        trainSize: spec.trainSize,
        validationSize: spec.validationSize,
        splitSeed: spec.splitSeed,
      });
    }
  }
  return runs;
}

export interface MethodsProgress {
  done: number;
  total: number;
  row: MethodRow;
}

export interface MethodsRunOptions {
  /** JSON Lines file of finished runs (created if missing). */
  resultsFile: string;
  /** Worker processes; default: the number of cores. */
  workers?: number;
  onRow?: (p: MethodsProgress) => void;
  signal?: AbortSignal;
  /**
   * Keep every student as a checkpoint beside the results file (methodRunDir), with its
   * validation accuracy after each epoch in the checkpoint's history; a row whose checkpoint is
   * missing is trained again. Costs one validation pass and one checkpoint write per epoch.
   */
  keepModels?: boolean;
  /** Each epoch of each run as the workers finish it (with keepModels). */
  onEpoch?: (config: MethodRunConfig, record: EpochRecord) => void;
}

/** Where runMethods keeps a run's student (keepModels): `<results>.weights/<key>/`. */
export function methodRunDir(resultsFile: string, key: string): string {
  return gridRunWeightsDir(resultsFile, { key, sameAs: null });
}

export interface MethodsResult {
  /** Every run of the comparison, in expandMethods order. */
  rows: MethodRow[];
  trained: number;
  skipped: number;
  workers: number;
  wallSeconds: number;
}

/** Trains what the results file does not hold yet, in worker processes; returns every row. */
export async function runMethods(spec: MethodsSpec, options: MethodsRunOptions): Promise<MethodsResult> {
  const start = performance.now();
  const runs = expandMethods(spec);
  if (!hasCheckpoint(spec.teacher.checkpointDir)) {
    throw new KdlabError('TEACHER_LOGITS_MISSING', `methods comparison "${spec.name}": no teacher checkpoint in ${spec.teacher.checkpointDir}; train the teacher first.`);
  }
  if (!fs.existsSync(spec.teacher.logits.file)) {
    throw new KdlabError('TEACHER_LOGITS_MISSING', `methods comparison "${spec.name}": teacher logits file ${spec.teacher.logits.file} does not exist (teacherLogitsCached).`);
  }
  const finished = new Map<string, MethodRow>();
  for (const r of readRows(options.resultsFile) as unknown as MethodRow[]) finished.set(r.key, r);
  const kept = (key: string): boolean => !options.keepModels || hasCheckpoint(methodRunDir(options.resultsFile, key));
  // Hashing a run's config is not free: once per run.
  const keys = new Map(runs.map((r) => [r, methodRunKey(r)]));
  const keyOf = (r: MethodRunConfig): string => keys.get(r) ?? methodRunKey(r);
  const pending = runs.filter((r) => !finished.has(keyOf(r)) || !kept(keyOf(r)));
  const skipped = runs.length - pending.length;
  let done = skipped;
  const workers = Math.max(1, Math.min(options.workers ?? os.availableParallelism(), pending.length || 1));
  if (pending.length > 0) {
    await runInWorkers<MethodRunConfig, MethodResultRow>({
      pending,
      workers,
      entry: 'methods-worker',
      request: (config): MethodRequest => {
        const key = keyOf(config);
        const checkpointDir = options.keepModels ? methodRunDir(options.resultsFile, key) : null;
        return { type: 'run', config, key, teacherDir: spec.teacher.checkpointDir, teacherLogitsFile: spec.teacher.logits.file, checkpointDir };
      },
      onEpoch: options.onEpoch,
      describe: (c) => `${c.method} seed ${c.seed}`,
      signal: options.signal,
      onDone: (config, result) => {
        const row: MethodRow = { ...config, ...result, key: keyOf(config) };
        appendRow(options.resultsFile, row as unknown as AnyRow);
        finished.set(row.key, row);
        options.onRow?.({ done: ++done, total: runs.length, row });
      },
    });
  }
  const rows = runs.map((r) => finished.get(keyOf(r))).filter((r): r is MethodRow => r !== undefined);
  return { rows, trained: pending.length, skipped, workers, wallSeconds: (performance.now() - start) / 1000 };
}

// ---------------------------------------------------------------------------------------------
// Summaries and the "what each method needs" table

export interface MethodSummary {
  method: MethodName;
  runs: number;
  testAccuracy: MeanSd;
  testErrors: MeanSd;
  valAccuracy: MeanSd;
  seconds: MeanSd;
  params: number;
  extraParams: number;
}

/** Mean ± sample sd over seeds per method, in the order the methods first appear. */
export function summarizeMethods(rows: readonly MethodRow[]): MethodSummary[] {
  if (rows.length === 0) throw new InputError('EMPTY_GRID', 'summarizeMethods: no rows (has the comparison run?).');
  const names = [...new Set(rows.map((r) => r.method))];
  return names.map((method) => {
    const rs = rows.filter((r) => r.method === method);
    return {
      method,
      runs: rs.length,
      testAccuracy: meanSd(rs.map((r) => r.testAccuracy)),
      testErrors: meanSd(rs.map((r) => r.testErrors)),
      valAccuracy: meanSd(rs.map((r) => r.valAccuracy)),
      seconds: meanSd(rs.map((r) => r.seconds)),
      params: rs[0].params,
      extraParams: rs[0].extraParams,
    };
  });
}

/** Per-example shape of an architecture's last hidden representation (models.ts hiddenLayers). */
export function lastHiddenShape(arch: ModelArch): number[] {
  if (arch.kind === 'mlp') return [arch.hidden[arch.hidden.length - 1]];
  // 28×28 → conv stride 2 'same' → 14×14 → max-pool stride 1 'same' → conv stride 2 → 7×7.
  return [7, 7, arch.filters[1]];
}

/** Parameters of createRegressor(student, teacher) with its default 1×1 kernel, by arithmetic. */
export function regressorParams(student: number[], teacher: number[]): number {
  const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
  const image = student.length === 3 && teacher.length === 3 && student[0] === teacher[0] && student[1] === teacher[1];
  return image ? student[2] * teacher[2] + teacher[2] : size(student) * size(teacher) + size(teacher);
}

export interface MethodNeeds {
  method: MethodName;
  /** What the method reads from the teacher: nothing, its logits, or a hidden layer (per batch). */
  fromTeacher: 'nothing' | 'logits' | 'hidden layer';
  /** Whether the student must expose a hidden layer of a compatible shape. */
  studentHiddenLayer: boolean;
  /** Parameters trained besides the student and thrown away after (the regressor). */
  extraParams: number;
  /** The hyper-parameters it adds to plain training, with the values used here. */
  hyperParameters: string;
}

/** What each method needs, for the given student and teacher architectures. */
export function methodNeeds(methods: readonly Method[], student: ModelArch, teacher: ModelArch): MethodNeeds[] {
  return methods.map((m) => {
    const r = resolveObjective(m.objective);
    const name = r.objective.objective;
    const values = r.objective as unknown as Record<string, number>;
    const params = objectiveParameters(name).map((p) => `${parameterInfo(p, name).label} = ${values[p]}`);
    if (name === 'hint') params.push(`layer: last hidden (${lastHiddenShape(student).join('×')} → ${lastHiddenShape(teacher).join('×')})`);
    if (name === 'cosine') params.push(`layer: last hidden, teacher pooled to ${lastHiddenShape(student).reduce((a, b) => a * b, 1)} values`);
    return {
      method: m.name,
      fromTeacher: r.needsFeatures ? 'hidden layer' : r.needsTeacher ? 'logits' : 'nothing',
      studentHiddenLayer: r.needsFeatures,
      extraParams: r.needsRegressor ? regressorParams(lastHiddenShape(student), lastHiddenShape(teacher)) : 0,
      hyperParameters: params.length ? params.join(', ') : '—',
    };
  });
}

// ---------------------------------------------------------------------------------------------
// Models from architectures; the convolutional teacher; the notebook's settings per mode

/** A fresh, seeded model of `arch` (no dropout: students, and teachers rebuilt for inference). */
export function createModel(arch: ModelArch, seed: number, name?: string): tf.Sequential {
  checkArch(arch, 'architecture');
  return arch.kind === 'mlp' ? createMlp({ hidden: arch.hidden, seed, name }) : createConvNet({ filters: arch.filters, seed, name });
}

export interface ConvTeacherSettings {
  filters: [number, number];
  epochs: number;
  trainSize: number | null;
  batchSize: number;
  learningRate: number;
}

/** Notebook 08's settings for one mode (the chapter's split, seed and MLP teacher come from ChapterConfig). */
export interface BeyondLogitsSettings {
  seeds: number;
  mlp: { student: number[]; trainSize: number | null; epochs: number; batchSize: number };
  conv: { teacher: ConvTeacherSettings; student: [number, number]; trainSize: number | null; epochs: number; batchSize: number };
  /** DKD explained with numbers: validation images to decompose. */
  dkdExamples: number;
}

/**
 * Quick: the chapter's quick MLP teacher; 2×800 students on 5,000 images for 2 epochs; a conv
 * teacher narrowed from the Keras example's 256/512 filters to 32/64 and trained 2 epochs on
 * 10,000 images (conv training on wasm is slow), Keras-sized 16/32 students on the first 4,000 of
 * them for 2 epochs; 3 seeds. Full: all 55,000 training images; the Keras example's 256/512 teacher (5
 * epochs) and 3 student epochs; 2×800 students for 20 epochs.
 */
export function beyondLogitsSettings(mode: 'quick' | 'full'): BeyondLogitsSettings {
  if (mode === 'quick') {
    return {
      seeds: 3,
      mlp: { student: [800, 800], trainSize: 5000, epochs: 2, batchSize: 64 },
      conv: {
        teacher: { filters: [32, 64], epochs: 2, trainSize: 10000, batchSize: 64, learningRate: 1e-3 },
        student: [16, 32],
        trainSize: 4000,
        epochs: 2,
        batchSize: 64,
      },
      dkdExamples: 2000,
    };
  }
  return {
    seeds: 3,
    mlp: { student: [800, 800], trainSize: null, epochs: 20, batchSize: 128 },
    conv: {
      teacher: { filters: [256, 512], epochs: 5, trainSize: null, batchSize: 64, learningRate: 1e-3 },
      student: [16, 32],
      trainSize: null,
      epochs: 3,
      batchSize: 64,
    },
    dkdExamples: 5000,
  };
}

export interface ConvTeacherRun {
  model: tf.Sequential;
  result: TrainResult;
  checkpointDir: string;
  arch: ModelArch;
  loaded: boolean;
}

/**
 * The conv teacher, trained once per configuration (filters, epochs, data, seed) and kept as a
 * checkpoint under build/models/conv-teacher-<hash>; later calls load it, an interrupted training
 * resumes. Inputs are not jittered (its logits are cached for a fixed training slice).
 */
export async function ensureConvTeacher(
  cfg: ChapterConfig,
  t: ConvTeacherSettings,
  options: { onEpoch?: (r: EpochRecord) => void; signal?: AbortSignal } = {},
): Promise<ConvTeacherRun> {
  const identity = { kind: 'conv', t, validationSize: cfg.validationSize, seed: cfg.seed };
  const hash = createHash('sha256').update(JSON.stringify(identity)).digest('hex').slice(0, 12);
  const checkpointDir = workbookDir('models', `conv-teacher-${hash}`);
  const splits = loadSplits({ validationSize: cfg.validationSize, seed: cfg.seed });
  const arch: ModelArch = { kind: 'conv', filters: t.filters };
  const model = createModel(arch, cfg.seed, 'conv_teacher');
  const result = await train(model, {
    // No validation per epoch (a conv forward pass over 5,000 images costs seconds on wasm):
    // the notebook evaluates the finished teacher once.
    train: t.trainSize === null ? splits.train : take(splits.train, t.trainSize),
    epochs: t.epochs,
    batchSize: t.batchSize,
    optimizer: { name: 'adam', learningRate: t.learningRate },
    seed: cfg.seed,
    checkpoint: { dir: checkpointDir },
    resumeFrom: checkpointDir,
    onEpoch: options.onEpoch,
    signal: options.signal,
  });
  return { model, result, checkpointDir, arch, loaded: result.resumedFromEpoch >= t.epochs };
}
