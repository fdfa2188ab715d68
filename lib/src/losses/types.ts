import type * as tf from '@tensorflow/tfjs';
import type { NoInfer } from '../type-utils';

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
 * function infers N from the `objective` field alone.
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
// The shape of an entry of the objective table (table.ts)

export interface ParameterInfo {
  /** How messages and grid lines name it. */
  label: string;
  /** The values it accepts, for messages ("finite T > 0"). */
  rule: string;
  /** Throws an InputError unless `value` is acceptable. */
  check(value: number, where: string): void;
}

export interface ObjectiveEntry<N extends ObjectiveName> {
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
