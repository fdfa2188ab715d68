import * as tf from '@tensorflow/tfjs';
import { InputError, KdlabError } from './errors';
import { assertTemperature } from './softmax';
import type { NoInfer } from './type-utils';

/**
 * The distillation losses. Conventions (tested in tests/kd/losses.test.ts):
 *
 *   L = alpha · T² · KL(p_teacher^T ‖ p_student^T) + (1 − alpha) · CE(y, p_student^1)
 *
 * - KL and CE are summed over classes and averaged over the batch ("batchmean"), never averaged
 *   over all elements (that would silently divide by the class count).
 * - T² keeps the soft term's gradient on the same scale as the hard term's for every T (the soft
 *   gradients shrink as 1/T², Hinton et al. 2015 §2).
 * - Every probability is taken through log-softmax, so logits of magnitude 1e3 stay finite and a
 *   teacher probability that underflows to 0 contributes 0 · (finite) = 0, not NaN.
 *
 * Signatures of the public losses: (studentLogits, teacherLogits, [labels], hyper-parameters).
 * A loss with one hyper-parameter takes it positionally (distillationLoss(s, t, T),
 * softTargetCrossEntropy(s, t, T)); a weighted mix takes an options object
 * (kdLoss(s, t, labels, { temperature, alpha })).
 *
 * What training optimises is an Objective: plain data such as { objective: 'kd', temperature: 4,
 * alpha: 0.9 }. The OBJECTIVES table below gives each objective its hyper-parameters and ONE loss
 * function; resolveObjective validates a spec once and returns that function, which both kdLoss
 * and the training step call. Adding an objective = a member of `Objective`, an entry in
 * OBJECTIVES (and in PARAMETERS for a new kind of hyper-parameter, or `rules` when one objective
 * reads a parameter differently: DKD's alpha is a weight ≥ 0) and its test: train() and the grid
 * read everything from here. Feature objectives (hint, cosine) also read the hidden
 * representations of the batch (FeatureInputs): train() then runs the teacher per batch in
 * inference mode, and grids, which hold only a logits file, refuse them (the run engine runs them).
 */

// ---------------------------------------------------------------------------------------------
// Objectives as data

/** What a training run optimises. */
export type Objective =
  // Cross-entropy with the hard labels only: the plain student (or the teacher).
  | { objective: 'hard' }
  // Hinton's mix: alpha · T² · KL(teacher^T ‖ student^T) + (1 − alpha) · CE(labels, student).
  | {
      objective: 'kd';
      /** Softmax temperature of the soft term (T > 0). */
      temperature: number;
      /** Weight of the soft term in [0, 1]; the hard-label term gets 1 − alpha. */
      alpha: number;
    }
  // Logit matching: alpha · mean((z − v)²) + (1 − alpha) · CE(labels, student). No temperature.
  | {
      objective: 'mse';
      /** Weight of the logit-matching term in [0, 1]; the hard-label term gets 1 − alpha. */
      alpha: number;
    }
  // Squared error on the temperature probabilities (the chapter's §3.3 wording):
  // alpha · mean((softmax(z/T) − softmax(v/T))²) + (1 − alpha) · CE(labels, student). No T².
  | {
      objective: 'mse-prob';
      temperature: number;
      /** Weight of the probability-matching term in [0, 1]; the hard-label term gets 1 − alpha. */
      alpha: number;
    }
  // Decoupled KD (Zhao et al. 2022) as mdistiller trains it: CE(labels, student) + alpha · T² ·
  // TCKD + beta · T² · NCKD. Here alpha and beta are weights ≥ 0, not a mix in [0, 1].
  | {
      objective: 'dkd';
      temperature: number;
      /** Weight of TCKD (the paper's default 1), any finite value ≥ 0. */
      alpha: number;
      /** Weight of NCKD (the paper's default 8), any finite value ≥ 0. */
      beta: number;
    }
  // FitNets' hint (Romero et al. 2015) trained jointly with the labels, as in the PyTorch KD
  // tutorial: alpha · mean((r(h_S) − h_T)²) + (1 − alpha) · CE. h: the last hidden
  // representation of each model; r: a learned regressor (train's loss.regressor).
  | {
      objective: 'hint';
      /** Weight of the hint term in [0, 1]; the hard-label term gets 1 − alpha. */
      alpha: number;
    }
  // Cosine embedding on the last hidden representations (the PyTorch KD tutorial):
  // alpha · mean(1 − cos(h_S, pool(h_T))) + (1 − alpha) · CE, the teacher's representation
  // average-pooled to the student's size.
  | {
      objective: 'cosine';
      /** Weight of the cosine term in [0, 1]; the hard-label term gets 1 − alpha. */
      alpha: number;
    };

export type ObjectiveName = Objective['objective'];
export type ObjectiveOf<N extends ObjectiveName> = Extract<Objective, { objective: N }>;
type KeysOfUnion<T> = T extends unknown ? keyof T : never;
/** Every hyper-parameter some objective has ('temperature' | 'alpha'). */
export type ObjectiveParameter = Exclude<KeysOfUnion<Objective>, 'objective'>;
/** The hyper-parameters of objective N, e.g. { temperature: number; alpha: number } for 'kd'. */
export type ObjectiveParams<N extends ObjectiveName> = N extends ObjectiveName ? Omit<ObjectiveOf<N>, 'objective'> : never;
/** The objectives that learn from a teacher's hidden representations (train runs the teacher per batch). */
export type FeatureObjectiveName = 'hint' | 'cosine';
/** The objectives that learn from a teacher (all but 'hard'): train's loss specs. */
export type TeacherObjectiveName = Exclude<ObjectiveName, 'hard'>;
/** The objectives that learn from a teacher's logits only: what grids (one logits file) run. */
export type DistillObjectiveName = Exclude<ObjectiveName, 'hard' | FeatureObjectiveName>;
/**
 * `{ objective: N }`, where 'kd', the default, may leave the field out. Written so that a generic
 * function such as runGrid<N>(spec) infers N from the `objective` field alone.
 */
export type ObjectiveField<N extends ObjectiveName> = { objective?: N } & (N extends 'kd' ? unknown : { objective: NoInfer<N> });
/** A distillation objective as written in a loss spec: `objective` defaults to 'kd'. */
export type DistillObjective = { [N in TeacherObjectiveName]: ObjectiveField<N> & ObjectiveParams<N> }[TeacherObjectiveName];
/** kdLoss's hyper-parameters: those of the 'kd' objective. */
export type KdLossOptions = ObjectiveParams<'kd'>;

/**
 * One objective's loss on a batch, without input checks: student and teacher logits
 * [batch, classes] and the [batch, classes] one-hot labels. Objectives without a teacher ignore
 * teacherLogits; the others throw NO_TEACHER_LOGITS without it (unless a setting drops the
 * teacher's term: kd at alpha = 0).
 */
export type ObjectiveLoss = (
  studentLogits: tf.Tensor2D,
  teacherLogits: tf.Tensor2D | undefined,
  oneHot: tf.Tensor2D,
  features?: FeatureInputs,
) => tf.Scalar;

/**
 * What a feature objective reads besides the logits: the student's and the teacher's last hidden
 * representations of the batch and, for 'hint', the regressor's output on the student's.
 */
export interface FeatureInputs {
  /** The student's hidden representation [batch, ...]. */
  student: tf.Tensor;
  /** The teacher's hidden representation [batch, ...] (inference mode, no gradient). */
  teacher: tf.Tensor;
  /** r(h_S), the regressor applied to the student's representation ('hint'). */
  mapped?: tf.Tensor;
}

// ---------------------------------------------------------------------------------------------
// Input checks

export function describeShape(t: tf.Tensor): string {
  return `[${t.shape.join(', ')}]`;
}

export function assertTensor(x: unknown, name: string, where: string): asserts x is tf.Tensor {
  if (!(x instanceof tf.Tensor)) {
    throw new InputError('BAD_INPUT', `${where}: ${name} must be a tf.Tensor, got ${x === null ? 'null' : typeof x}.`);
  }
  if (x.isDisposed) throw new InputError('BAD_INPUT', `${where}: ${name} has already been disposed.`);
}

function assertLogits(x: unknown, name: string, where: string): asserts x is tf.Tensor2D {
  assertTensor(x, name, where);
  if (x.rank !== 2) {
    throw new InputError(
      'BAD_RANK',
      `${where}: ${name} must be a 2-D tensor [batch, classes] of raw logits, got shape ${describeShape(x)}.`,
    );
  }
  if (x.dtype !== 'float32') {
    throw new InputError('BAD_DTYPE', `${where}: ${name} must be float32 logits, got ${x.dtype}.`);
  }
  if (x.shape[0] === 0 || (x.shape[1] ?? 0) < 2) {
    throw new InputError('BAD_RANK', `${where}: ${name} needs at least one row and two classes, got ${describeShape(x)}.`);
  }
}

export function assertFinite(x: tf.Tensor, name: string, where: string, code: 'NON_FINITE_LOGITS' | 'NON_FINITE_FEATURES' = 'NON_FINITE_LOGITS'): void {
  const data = x.dataSync();
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      throw new InputError(
        code,
        `${where}: ${name} contains ${data[i]} at flat index ${i}. ${code === 'NON_FINITE_LOGITS' ? 'Logits' : 'Hidden activations'} must be finite numbers ` +
          '(a NaN usually means training diverged: lower the learning rate).',
      );
    }
  }
}

/** Student and teacher logits: rank 2, same batch and class count, no NaN or infinity. */
function assertLogitPair(student: tf.Tensor2D, teacher: tf.Tensor2D, where: string): void {
  assertLogits(student, 'studentLogits', where);
  assertLogits(teacher, 'teacherLogits', where);
  assertSameShape(student, teacher, where);
  assertFinite(student, 'studentLogits', where);
  assertFinite(teacher, 'teacherLogits', where);
}

function assertSameShape(student: tf.Tensor2D, teacher: tf.Tensor2D, where: string): void {
  const [bs, cs] = student.shape;
  const [bt, ct] = teacher.shape;
  if (cs !== ct) {
    throw new InputError(
      'SHAPE_MISMATCH',
      `${where}: class-count mismatch: student logits have ${cs} classes, teacher logits ${ct}. ` +
        'Both models must score the same classes in the same order.',
    );
  }
  if (bs !== bt) {
    throw new InputError(
      'SHAPE_MISMATCH',
      `${where}: batch mismatch: student logits ${describeShape(student)} vs teacher logits ${describeShape(teacher)}. ` +
        'Each teacher row must belong to the same input as the student row.',
    );
  }
}

function assertLabels(labels: unknown, batch: number, classes: number, where: string): asserts labels is tf.Tensor1D {
  assertTensor(labels, 'labels', where);
  if (labels.rank !== 1) {
    throw new InputError(
      'BAD_LABELS',
      `${where}: labels must be a 1-D tensor of class ids, got shape ${describeShape(labels)} ` +
        '(one-hot labels are not accepted: pass tf.argMax(oneHot, 1)).',
    );
  }
  if (labels.shape[0] !== batch) {
    throw new InputError('BAD_LABELS', `${where}: ${labels.shape[0]} labels for ${batch} rows of logits.`);
  }
  const data = labels.dataSync();
  for (let i = 0; i < data.length; i++) {
    const y = data[i];
    if (!Number.isInteger(y) || y < 0 || y >= classes) {
      throw new InputError(
        'BAD_LABELS',
        `${where}: label ${y} at index ${i} is not an integer class id in 0..${classes - 1}.`,
      );
    }
  }
}

/** Throws unless alpha is a number in [0, 1]. */
export function assertAlpha(alpha: number, where = 'kdLoss'): void {
  if (typeof alpha !== 'number' || !Number.isFinite(alpha) || alpha < 0 || alpha > 1) {
    throw new InputError(
      'BAD_ALPHA',
      `${where}: alpha must be a number in [0, 1] (0 = plain student, 1 = pure distillation), got ${String(alpha)}.`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Loss cores: no input checks; callers validated the tensors (public losses) or the run (train).

function klBatchMean(student: tf.Tensor2D, teacher: tf.Tensor2D, T: number): tf.Scalar {
  const logQ = tf.logSoftmax(T === 1 ? student : tf.div(student, T));
  const logP = tf.logSoftmax(T === 1 ? teacher : tf.div(teacher, T));
  const p = tf.exp(logP);
  return tf.div(tf.sum(tf.mul(p, tf.sub(logP, logQ))), student.shape[0]);
}

function softCrossEntropyCore(student: tf.Tensor2D, teacher: tf.Tensor2D, T: number): tf.Scalar {
  const logQ = tf.logSoftmax(T === 1 ? student : tf.div(student, T));
  const p = tf.exp(tf.logSoftmax(T === 1 ? teacher : tf.div(teacher, T)));
  return tf.div(tf.neg(tf.sum(tf.mul(p, logQ))), student.shape[0]);
}

function crossEntropyCore(student: tf.Tensor2D, oneHot: tf.Tensor2D): tf.Scalar {
  return tf.div(tf.neg(tf.sum(tf.mul(oneHot, tf.logSoftmax(student)))), student.shape[0]);
}

function mseCore(student: tf.Tensor2D, teacher: tf.Tensor2D): tf.Scalar {
  return tf.mean(tf.squaredDifference(student, teacher));
}

function oneHotOf(labels: tf.Tensor1D, classes: number): tf.Tensor2D {
  return tf.oneHot(labels.dtype === 'int32' ? labels : tf.cast(labels, 'int32'), classes).toFloat() as tf.Tensor2D;
}

function teacherOf(teacherLogits: tf.Tensor2D | undefined): tf.Tensor2D {
  if (!teacherLogits) throw new KdlabError('NO_TEACHER_LOGITS', 'loss: this objective needs the teacher logits of the batch.');
  return teacherLogits;
}

/**
 * alpha · soft + (1 − alpha) · CE(labels, student), where `weightedSoft` returns alpha · soft.
 * The one place where alpha = 0 (hard labels only: the soft term and the teacher are never
 * touched) and alpha = 1 (no hard term) are handled.
 */
function withHardTerm(alpha: number, student: tf.Tensor2D, oneHot: tf.Tensor2D, weightedSoft: () => tf.Scalar): tf.Scalar {
  if (alpha === 0) return crossEntropyCore(student, oneHot);
  const soft = weightedSoft();
  if (alpha === 1) return soft;
  return tf.add(soft, tf.mul(crossEntropyCore(student, oneHot), 1 - alpha)) as tf.Scalar;
}

/** PyTorch's CosineEmbeddingLoss adds this to each squared norm (all-zero activations give cos 0). */
const COSINE_EPS = 1e-12;

/** mean over the batch of 1 − cos(s, t), each example flattened (same number of values per example). */
export function cosineCore(s: tf.Tensor, t: tf.Tensor): tf.Scalar {
  const batch = s.shape[0];
  const s2 = tf.reshape(s, [batch, -1]);
  const t2 = tf.reshape(t, [batch, -1]);
  const dot = tf.sum(tf.mul(s2, t2), 1);
  const ns = tf.add(tf.sum(tf.square(s2), 1), COSINE_EPS);
  const nt = tf.add(tf.sum(tf.square(t2), 1), COSINE_EPS);
  const cos = tf.div(dot, tf.sqrt(tf.mul(ns, nt)));
  return tf.mean(tf.sub(1, cos));
}

/** Largest pooling matrix poolFeatures builds (inputs × outputs floats) when sizes do not divide. */
const MAX_POOL_MATRIX = 4_000_000;
const poolMatrices = new Map<string, Float32Array>();

/**
 * Each example's activations flattened to `size` values by adaptive average pooling (as
 * torch.nn.functional.adaptive_avg_pool1d): output i is the mean of inputs
 * floor(i·n/size) … ceil((i+1)·n/size) − 1. When n is a multiple of `size` these are consecutive
 * groups (for NHWC conv features of c_T = k·c_S channels: groups of k channels of one pixel);
 * otherwise overlapping windows, applied as a constant n × size matrix. [batch, size].
 */
export function poolFeatures(x: tf.Tensor, size: number): tf.Tensor2D {
  const batch = x.shape[0];
  const n = x.size / batch;
  if (!Number.isInteger(size) || size <= 0 || size > n) {
    throw new InputError('SHAPE_MISMATCH', `poolFeatures: cannot pool ${n} values per example to ${size}.`);
  }
  return tf.tidy(() => {
    const flat = tf.reshape(x, [batch, n]) as tf.Tensor2D;
    if (size === n) return flat;
    if (n % size === 0) return tf.mean(tf.reshape(flat, [batch, size, n / size]), 2) as tf.Tensor2D;
    if (n * size > MAX_POOL_MATRIX) {
      throw new InputError('SHAPE_MISMATCH', `poolFeatures: pooling ${n} values to ${size} needs a ${n}×${size} matrix; use sizes that divide.`);
    }
    const key = `${n}/${size}`;
    let m = poolMatrices.get(key);
    if (!m) {
      m = new Float32Array(n * size);
      for (let i = 0; i < size; i++) {
        const a = Math.floor((i * n) / size);
        const b = Math.ceil(((i + 1) * n) / size);
        for (let j = a; j < b; j++) m[j * size + i] = 1 / (b - a);
      }
      poolMatrices.set(key, m);
    }
    return tf.matMul(flat, tf.tensor2d(m, [n, size]));
  });
}

// ---------------------------------------------------------------------------------------------
// The objective table

interface ParameterInfo {
  /** How messages and grid lines name it. */
  label: string;
  /** The values it accepts, for messages ("finite T > 0"). */
  rule: string;
  /** Throws an InputError unless `value` is acceptable. */
  check(value: number, where: string): void;
}

/** Every kind of hyper-parameter, in the order specs, grids and tables list them. */
const PARAMETERS: { readonly [P in ObjectiveParameter]: ParameterInfo } = {
  temperature: { label: 'T', rule: 'finite T > 0', check: assertTemperature },
  alpha: { label: 'alpha', rule: 'values in [0, 1]', check: assertAlpha },
  beta: { label: 'beta', rule: 'finite values ≥ 0', check: (v, where) => assertWeight(v, 'beta', where) },
};

/** DKD's alpha is a weight ≥ 0 (the paper's default 1), not a mix in [0, 1]: its own rule. */
const DKD_ALPHA: ParameterInfo = { label: 'alpha', rule: 'finite values ≥ 0', check: (v, where) => assertWeight(v, 'alpha', where) };

interface ObjectiveEntry<N extends ObjectiveName> {
  /** Its hyper-parameters (each validated by PARAMETERS), in PARAMETERS order. */
  parameters: readonly (keyof ObjectiveParams<N> & ObjectiveParameter)[];
  /** Whether the loss reads teacher logits (train() then requires a teacher or its logits). */
  needsTeacher: boolean;
  /** Whether the loss reads hidden representations (train() then runs the teacher per batch). */
  needsFeatures?: boolean;
  /** Whether the loss trains a regressor besides the student (train() then requires one). */
  needsRegressor?: boolean;
  /** Rules that replace PARAMETERS' for this objective (DKD's alpha is a weight ≥ 0). */
  rules?: { readonly [P in ObjectiveParameter]?: ParameterInfo };
  /** Hyper-parameters that do not change the loss at these values (grids train such runs once). */
  inert?: (o: ObjectiveOf<N>) => ObjectiveParameter[];
  /** The loss for validated hyper-parameters. */
  loss: (o: ObjectiveOf<N>) => ObjectiveLoss;
}

const OBJECTIVES: { readonly [N in ObjectiveName]: ObjectiveEntry<N> } = {
  hard: {
    parameters: [],
    needsTeacher: false,
    loss: () => (student, _teacher, oneHot) => tf.tidy(() => crossEntropyCore(student, oneHot)),
  },
  kd: {
    parameters: ['temperature', 'alpha'],
    needsTeacher: true,
    inert: ({ alpha }) => (alpha === 0 ? ['temperature'] : []),
    loss:
      ({ temperature: T, alpha }) =>
      (student, teacher, oneHot) =>
        tf.tidy(() => withHardTerm(alpha, student, oneHot, () => tf.mul(klBatchMean(student, teacherOf(teacher), T), alpha * T * T))),
  },
  mse: {
    parameters: ['alpha'],
    needsTeacher: true,
    loss:
      ({ alpha }) =>
      (student, teacher, oneHot) =>
        tf.tidy(() => withHardTerm(alpha, student, oneHot, () => tf.mul(mseCore(student, teacherOf(teacher)), alpha))),
  },
  'mse-prob': {
    parameters: ['temperature', 'alpha'],
    needsTeacher: true,
    inert: ({ alpha }) => (alpha === 0 ? ['temperature'] : []),
    loss:
      ({ temperature: T, alpha }) =>
      (student, teacher, oneHot) =>
        tf.tidy(() => withHardTerm(alpha, student, oneHot, () => tf.mul(mseProbabilitiesCore(student, teacherOf(teacher), T), alpha))),
  },
  dkd: {
    parameters: ['temperature', 'alpha', 'beta'],
    needsTeacher: true,
    rules: { alpha: DKD_ALPHA },
    inert: ({ alpha, beta }) => (alpha === 0 && beta === 0 ? ['temperature'] : []),
    loss:
      (o) =>
      (student, teacher, oneHot) =>
        tf.tidy(() => {
          const ce = crossEntropyCore(student, oneHot);
          if (o.alpha === 0 && o.beta === 0) return ce;
          return tf.add(ce, dkdLossCore(student, teacherOf(teacher), oneHot, o)) as tf.Scalar;
        }),
  },
  hint: {
    parameters: ['alpha'],
    needsTeacher: false,
    needsFeatures: true,
    needsRegressor: true,
    loss:
      ({ alpha }) =>
      (student, _teacher, oneHot, features) =>
        tf.tidy(() =>
          withHardTerm(alpha, student, oneHot, () => {
            const f = featuresOf(features, 'hint');
            if (!f.mapped) throw new KdlabError('NO_REGRESSOR', "loss: objective 'hint' needs the regressor's output r(h_S).");
            return tf.mul(tf.mean(tf.squaredDifference(f.mapped, f.teacher)), alpha);
          }),
        ),
  },
  cosine: {
    parameters: ['alpha'],
    needsTeacher: false,
    needsFeatures: true,
    loss:
      ({ alpha }) =>
      (student, _teacher, oneHot, features) =>
        tf.tidy(() =>
          withHardTerm(alpha, student, oneHot, () => {
            const f = featuresOf(features, 'cosine');
            return tf.mul(cosineCore(f.student, poolFeatures(f.teacher, f.student.size / f.student.shape[0])), alpha);
          }),
        ),
  },
};

function featuresOf(features: FeatureInputs | undefined, name: string): FeatureInputs {
  if (!features) throw new KdlabError('NO_TEACHER_FEATURES', `loss: objective '${name}' needs the hidden representations of the batch.`);
  return features;
}

/** The table entry seen through the union of all objectives (resolveObjective checks the match). */
interface AnyObjectiveEntry {
  parameters: readonly ObjectiveParameter[];
  needsTeacher: boolean;
  needsFeatures?: boolean;
  needsRegressor?: boolean;
  rules?: { readonly [P in ObjectiveParameter]?: ParameterInfo };
  inert?: (o: Objective) => ObjectiveParameter[];
  loss: (o: Objective) => ObjectiveLoss;
}
const entryOf = (name: ObjectiveName): AnyObjectiveEntry => OBJECTIVES[name] as unknown as AnyObjectiveEntry;

export const OBJECTIVE_NAMES = Object.keys(OBJECTIVES) as readonly ObjectiveName[];
export const OBJECTIVE_PARAMETERS = Object.keys(PARAMETERS) as readonly ObjectiveParameter[];

export function isObjectiveName(name: unknown): name is ObjectiveName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(OBJECTIVES, name);
}

/** The hyper-parameters objective `name` takes, e.g. ['temperature', 'alpha'] for 'kd'. */
export function objectiveParameters(name: ObjectiveName): readonly ObjectiveParameter[] {
  return entryOf(name).parameters;
}

/** Whether objective `name` learns from teacher logits. */
export function objectiveNeedsTeacher(name: ObjectiveName): boolean {
  return entryOf(name).needsTeacher;
}

/** Whether objective `name` learns from hidden representations (hint, cosine). */
export function objectiveNeedsFeatures(name: ObjectiveName): boolean {
  return entryOf(name).needsFeatures === true;
}

/** Whether objective `name` trains a regressor besides the student (hint). */
export function objectiveNeedsRegressor(name: ObjectiveName): boolean {
  return entryOf(name).needsRegressor === true;
}

function ruleOf(p: ObjectiveParameter, objective?: ObjectiveName): ParameterInfo {
  return (objective !== undefined && entryOf(objective).rules?.[p]) || PARAMETERS[p];
}

/**
 * How messages name a hyper-parameter ('T', 'alpha') and which values it accepts (for objective
 * `objective` when given: DKD's alpha is a weight ≥ 0, elsewhere alpha is a mix in [0, 1]).
 */
export function parameterInfo(p: ObjectiveParameter, objective?: ObjectiveName): { label: string; rule: string } {
  const r = ruleOf(p, objective);
  return { label: r.label, rule: r.rule };
}

/** Whether `value` is an acceptable value of hyper-parameter `p` (the rule resolveObjective applies). */
export function isValidParameter(p: ObjectiveParameter, value: unknown, objective?: ObjectiveName): boolean {
  try {
    ruleOf(p, objective).check(value as number, p);
    return true;
  } catch {
    return false;
  }
}

/** Hyper-parameters of a (validated) objective that do not change its loss (kd at alpha = 0: T). */
export function inertParameters(objective: Objective): readonly ObjectiveParameter[] {
  return entryOf(objective.objective).inert?.(objective) ?? [];
}

export interface ResolvedObjective {
  /** The validated objective: a copy holding exactly its hyper-parameters. */
  readonly objective: Objective;
  /** Whether `loss` reads teacher logits. */
  readonly needsTeacher: boolean;
  /** Whether `loss` reads hidden representations (its fourth argument). */
  readonly needsFeatures: boolean;
  /** Whether `loss` reads a regressor's output (FeatureInputs.mapped). */
  readonly needsRegressor: boolean;
  /** The objective's loss; the caller checks the tensors (kdLoss) or validated the run (train). */
  readonly loss: ObjectiveLoss;
}

/**
 * Validates an objective spec once (its name, each hyper-parameter's value, and that it carries
 * no field the objective does not have) and returns the objective's loss function.
 */
export function resolveObjective(spec: Objective, where = 'loss'): ResolvedObjective {
  if (spec === null || typeof spec !== 'object') {
    throw new InputError('BAD_LOSS', `${where}: expected an objective such as { objective: 'kd', temperature, alpha }, got ${String(spec)}.`);
  }
  const name: unknown = spec.objective;
  if (!isObjectiveName(name)) {
    throw new InputError('BAD_LOSS', `${where}: unknown objective ${JSON.stringify(name)}; use one of ${OBJECTIVE_NAMES.map((n) => `'${n}'`).join(', ')}.`);
  }
  const entry = entryOf(name);
  const fields = spec as unknown as Record<string, unknown>;
  const takes = entry.parameters.length ? entry.parameters.join(', ') : 'none';
  for (const key of Object.keys(fields)) {
    if (key === 'objective' || fields[key] === undefined || (entry.parameters as readonly string[]).includes(key)) continue;
    const hint = key === 'kind' ? " ('kind' is now 'objective': write objective: 'kd' or 'mse')" : ': remove it';
    throw new InputError('BAD_LOSS', `${where}: objective '${name}' has no ${key} (its hyper-parameters: ${takes})${hint}.`);
  }
  for (const p of entry.parameters) ruleOf(p, name).check(fields[p] as number, where);
  const objective = { objective: name, ...Object.fromEntries(entry.parameters.map((p) => [p, fields[p]])) } as Objective;
  return {
    objective,
    needsTeacher: entry.needsTeacher,
    needsFeatures: entry.needsFeatures === true,
    needsRegressor: entry.needsRegressor === true,
    loss: entry.loss(objective),
  };
}

// ---------------------------------------------------------------------------------------------
// Public, validated losses.

/**
 * T² · KL(softmax(teacher / T) ‖ softmax(student / T)), summed over classes, averaged over the
 * batch. Zero when the student matches the teacher; its gradient w.r.t. the student logits is
 * T · (q − p) / batch.
 */
export function distillationLoss(studentLogits: tf.Tensor2D, teacherLogits: tf.Tensor2D, T: number): tf.Scalar {
  const where = 'distillationLoss';
  assertTemperature(T, where);
  assertLogitPair(studentLogits, teacherLogits, where);
  return tf.tidy(() => tf.mul(klBatchMean(studentLogits, teacherLogits, T), T * T));
}

/**
 * Hinton's soft-target cross-entropy C = −Σ_i p_i log q_i at temperature T (batch mean, no T²).
 * Its gradient is (1/T)(q_i − p_i) per example; it differs from the KL by the teacher's entropy,
 * a constant for the student.
 */
export function softTargetCrossEntropy(studentLogits: tf.Tensor2D, teacherLogits: tf.Tensor2D, T: number): tf.Scalar {
  const where = 'softTargetCrossEntropy';
  assertTemperature(T, where);
  assertLogitPair(studentLogits, teacherLogits, where);
  return tf.tidy(() => softCrossEntropyCore(studentLogits, teacherLogits, T));
}

/** Mean cross-entropy between the student's T = 1 softmax and integer class labels. */
export function studentLoss(studentLogits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  const where = 'studentLoss';
  assertLogits(studentLogits, 'studentLogits', where);
  assertLabels(labels, studentLogits.shape[0], studentLogits.shape[1], where);
  assertFinite(studentLogits, 'studentLogits', where);
  return tf.tidy(() => crossEntropyCore(studentLogits, oneHotOf(labels, studentLogits.shape[1])));
}

/**
 * alpha · distillationLoss(student, teacher, T) + (1 − alpha) · studentLoss(student, labels).
 * alpha = 0 is the plain student, alpha = 1 pure distillation (labels still checked). The same
 * function the training loop runs for { objective: 'kd', temperature, alpha }.
 */
export function kdLoss(
  studentLogits: tf.Tensor2D,
  teacherLogits: tf.Tensor2D,
  labels: tf.Tensor1D,
  options: KdLossOptions,
): tf.Scalar {
  const where = 'kdLoss';
  if (options === null || typeof options !== 'object') {
    throw new InputError('BAD_INPUT', `${where}: pass { temperature, alpha } as the fourth argument.`);
  }
  const { loss } = resolveObjective({ objective: 'kd', temperature: options.temperature, alpha: options.alpha }, where);
  assertLogitPair(studentLogits, teacherLogits, where);
  assertLabels(labels, studentLogits.shape[0], studentLogits.shape[1], where);
  return tf.tidy(() => loss(studentLogits, teacherLogits, oneHotOf(labels, studentLogits.shape[1])));
}

/**
 * Mean over all elements of (z − v)²: logit matching, the high-temperature limit of distillation
 * for zero-mean logits (Caruana's method, Hinton et al. §2.1).
 */
export function mseLogitsLoss(studentLogits: tf.Tensor2D, teacherLogits: tf.Tensor2D): tf.Scalar {
  const where = 'mseLogitsLoss';
  assertLogitPair(studentLogits, teacherLogits, where);
  return tf.tidy(() => mseCore(studentLogits, teacherLogits));
}

// ---------------------------------------------------------------------------------------------
// Beyond Hinton's loss: MSE on temperature probabilities and Decoupled KD (notebook 08).

function mseProbabilitiesCore(student: tf.Tensor2D, teacher: tf.Tensor2D, T: number): tf.Scalar {
  const q = tf.exp(tf.logSoftmax(T === 1 ? student : tf.div(student, T)));
  const p = tf.exp(tf.logSoftmax(T === 1 ? teacher : tf.div(teacher, T)));
  return tf.mean(tf.squaredDifference(q, p));
}

/**
 * Mean over all elements of (softmax(z/T) − softmax(v/T))²: matching the temperature
 * probabilities with a squared error (the chapter's §3.3 wording), beside mseLogitsLoss, which
 * matches the logits themselves. Averaged like mseLogitsLoss (over batch × classes), no T².
 */
export function mseProbabilitiesLoss(studentLogits: tf.Tensor2D, teacherLogits: tf.Tensor2D, temperature: number): tf.Scalar {
  const where = 'mseProbabilitiesLoss';
  assertTemperature(temperature, where);
  assertLogitPair(studentLogits, teacherLogits, where);
  return tf.tidy(() => mseProbabilitiesCore(studentLogits, teacherLogits, temperature));
}

/** DKD's hyper-parameters: temperature T > 0, alpha (TCKD weight) ≥ 0 and beta (NCKD weight) ≥ 0. */
export interface DkdLossOptions {
  /** Softmax temperature of both parts (the paper's default 4). */
  temperature: number;
  /** Weight of TCKD, the target-vs-rest part (the paper's default 1). Any finite value ≥ 0. */
  alpha: number;
  /** Weight of NCKD, the part among the non-target classes (the paper's default 8). Any finite value ≥ 0. */
  beta: number;
}

/** DKD's defaults for CIFAR-100 (Zhao et al. 2022; mdistiller's CFG.DKD): T 4, alpha 1, beta 8. */
export const DKD_DEFAULTS: Readonly<DkdLossOptions> = Object.freeze({ temperature: 4, alpha: 1, beta: 8 });

/** Per-sample parts of DKD at temperature T (no T², no weights), each [batch]. */
export interface DkdTerms {
  /** KL(p_T ‖ p_S) of each sample: the classical KD term (without T²). */
  kl: tf.Tensor1D;
  /** Target-class KD: binary KL between [p_t, 1 − p_t] of teacher and student. */
  tckd: tf.Tensor1D;
  /** Non-target-class KD: KL between teacher and student distributions over the non-target classes. */
  nckd: tf.Tensor1D;
  /** The teacher's probability of the target class at temperature T, p_t^T. */
  teacherTargetProb: tf.Tensor1D;
}

function assertWeight(value: number, name: 'alpha' | 'beta', where: string): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new InputError(
      name === 'alpha' ? 'BAD_ALPHA' : 'BAD_BETA',
      `${where}: ${name} must be a finite number ≥ 0 (the weight of ${name === 'alpha' ? 'TCKD' : 'NCKD'}; ` +
        `the paper uses alpha ${DKD_DEFAULTS.alpha}, beta ${DKD_DEFAULTS.beta}), got ${String(value)}.`,
    );
  }
}

/**
 * z with the target entry of each row moved 100 below the row's smallest entry: a softmax over
 * it is the softmax over the non-target classes (the target's share is below e^−100). Finite
 * everywhere, unlike −∞, so that 0 · (−∞) never makes a NaN; the gradient that flows into the
 * filler is below e^−100 too. (mdistiller subtracts a fixed 1000, which is not enough for
 * logits of 1e3 at small T.)
 */
function withoutTarget(z: tf.Tensor2D, isTarget: tf.Tensor2D): tf.Tensor2D {
  const filler = tf.sub(tf.min(z, 1, true), 100);
  return tf.where(isTarget, tf.broadcastTo(filler, z.shape), z) as tf.Tensor2D;
}

/** The four per-sample quantities of DKD for logits already divided by T. */
function dkdCore(zs: tf.Tensor2D, zt: tf.Tensor2D, oneHot: tf.Tensor2D): { kl: tf.Tensor1D; tckd: tf.Tensor1D; nckd: tf.Tensor1D; ptT: tf.Tensor1D } {
  const isTarget = tf.greater(oneHot, 0.5) as tf.Tensor2D;
  const other = tf.sub(1, oneHot);
  const logQ = tf.logSoftmax(zs);
  const logP = tf.logSoftmax(zt);
  const p = tf.exp(logP);
  const kl = tf.sum(tf.mul(p, tf.sub(logP, logQ)), 1) as tf.Tensor1D;
  // Binary distributions [p_t, 1 − p_t], both entries as logs computed without cancellation.
  const logPtS = tf.sum(tf.mul(oneHot, logQ), 1);
  const logPtT = tf.sum(tf.mul(oneHot, logP), 1);
  const ztNt = withoutTarget(zt, isTarget);
  const zsNt = withoutTarget(zs, isTarget);
  const logRestS = tf.sub(tf.logSumExp(zsNt, 1), tf.logSumExp(zs, 1));
  const logRestT = tf.sub(tf.logSumExp(ztNt, 1), tf.logSumExp(zt, 1));
  const ptT = tf.exp(logPtT) as tf.Tensor1D;
  const restT = tf.exp(logRestT);
  const tckd = tf.add(tf.mul(ptT, tf.sub(logPtT, logPtS)), tf.mul(restT, tf.sub(logRestT, logRestS))) as tf.Tensor1D;
  // Distributions over the non-target classes: softmax with the target left out.
  const logPn = tf.logSoftmax(ztNt);
  const logQn = tf.logSoftmax(zsNt);
  const nckd = tf.sum(tf.mul(tf.mul(tf.exp(logPn), other), tf.sub(logPn, logQn)), 1) as tf.Tensor1D;
  return { kl, tckd, nckd, ptT };
}

function dkdLossCore(student: tf.Tensor2D, teacher: tf.Tensor2D, oneHot: tf.Tensor2D, o: DkdLossOptions): tf.Scalar {
  const T = o.temperature;
  const { tckd, nckd } = dkdCore(
    (T === 1 ? student : tf.div(student, T)) as tf.Tensor2D,
    (T === 1 ? teacher : tf.div(teacher, T)) as tf.Tensor2D,
    oneHot,
  );
  const batch = student.shape[0];
  const weighted = tf.add(tf.mul(tf.sum(tckd), o.alpha), tf.mul(tf.sum(nckd), o.beta));
  return tf.mul(weighted, (T * T) / batch) as tf.Scalar;
}

/**
 * Decoupled Knowledge Distillation (Zhao et al., CVPR 2022), with the authors' scaling
 * (mdistiller's dkd_loss): alpha · T² · TCKD + beta · T² · NCKD, each KL summed over its classes
 * and averaged over the batch. TCKD is the binary KL between [p_t, 1 − p_t] of teacher and
 * student (p_t: probability of the labelled class at temperature T); NCKD the KL between their
 * distributions over the other classes. Per sample, KL(p_T ‖ p_S) = TCKD + (1 − p_t^T) · NCKD
 * (see dkdTerms): classical KD weighs NCKD by 1 − p_t^T, small for a confident teacher; DKD
 * gives it its own weight beta.
 *
 * This is the distillation term only: mdistiller trains with CE(labels, student) + dkdLoss
 * (CE weight 1, and dkdLoss ramped up linearly over the first 20 epochs).
 */
export function dkdLoss(studentLogits: tf.Tensor2D, teacherLogits: tf.Tensor2D, labels: tf.Tensor1D, options: DkdLossOptions): tf.Scalar {
  const where = 'dkdLoss';
  if (options === null || typeof options !== 'object') {
    throw new InputError('BAD_INPUT', `${where}: pass { temperature, alpha, beta } as the fourth argument (the paper: { temperature: 4, alpha: 1, beta: 8 }).`);
  }
  const { temperature, alpha, beta } = options;
  assertTemperature(temperature, where);
  assertWeight(alpha, 'alpha', where);
  assertWeight(beta, 'beta', where);
  for (const key of Object.keys(options)) {
    if (!['temperature', 'alpha', 'beta'].includes(key)) {
      throw new InputError('BAD_PARAMETER', `${where}: unknown option ${key}; DKD takes temperature, alpha and beta.`);
    }
  }
  assertLogitPair(studentLogits, teacherLogits, where);
  assertLabels(labels, studentLogits.shape[0], studentLogits.shape[1], where);
  return tf.tidy(() => dkdLossCore(studentLogits, teacherLogits, oneHotOf(labels, studentLogits.shape[1]), { temperature, alpha, beta }));
}

/**
 * The per-sample parts of DKD at temperature T, for looking at them (notebook 08): KL, TCKD,
 * NCKD and the teacher's target probability p_t^T, each a [batch] tensor, without T² or
 * weights. KL = TCKD + (1 − p_t^T) · NCKD row by row. The caller disposes the four tensors.
 */
export function dkdTerms(studentLogits: tf.Tensor2D, teacherLogits: tf.Tensor2D, labels: tf.Tensor1D, temperature: number): DkdTerms {
  const where = 'dkdTerms';
  assertTemperature(temperature, where);
  assertLogitPair(studentLogits, teacherLogits, where);
  assertLabels(labels, studentLogits.shape[0], studentLogits.shape[1], where);
  const T = temperature;
  const r = tf.tidy(() => {
    const c = dkdCore(
      (T === 1 ? studentLogits : tf.div(studentLogits, T)) as tf.Tensor2D,
      (T === 1 ? teacherLogits : tf.div(teacherLogits, T)) as tf.Tensor2D,
      oneHotOf(labels, studentLogits.shape[1]),
    );
    return [c.kl, c.tckd, c.nckd, c.ptT];
  });
  return { kl: r[0], tckd: r[1], nckd: r[2], teacherTargetProb: r[3] };
}
