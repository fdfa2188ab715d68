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
 * alpha: 0.9 }. The OBJECTIVES table (table.ts) gives each objective its hyper-parameters and ONE
 * loss function; resolveObjective validates a spec once and returns that function, which both
 * kdLoss and the training step call. Adding an objective = a member of `Objective` (types.ts), a
 * file <name>.ts with its entry and public loss, listed in OBJECTIVES (table.ts; and in PARAMETERS
 * for a new kind of hyper-parameter, or `rules` when one objective reads a parameter differently:
 * DKD's alpha is a weight ≥ 0) and its test: train() and run specs read everything from the
 * table. Feature objectives (hint, cosine) also read the hidden representations of the batch
 * (FeatureInputs): train() then runs the teacher per batch in inference mode (a run spec names
 * the teacher's run, whose weights the engine loads).
 *
 * Files: one per objective (hard, kd, mse, mse-prob, dkd, hint, cosine) with its table entry and
 * its public losses (hint.ts and cosine.ts: hintLoss and cosineEmbeddingLoss on hidden
 * representations); types.ts the Objective union; checks.ts the input checks; core.ts the loss
 * cores several objectives share; table.ts the table and the queries on it.
 */

export type {
  Objective, ObjectiveName, ObjectiveOf, ObjectiveParameter, ObjectiveParams, FeatureObjectiveName, TeacherObjectiveName,
  DistillObjectiveName, ObjectiveField, DistillObjective, KdLossOptions, ObjectiveLoss, FeatureInputs,
} from './types';
export { describeShape, assertTensor, assertFinite, assertAlpha } from './checks';
export {
  OBJECTIVE_NAMES, OBJECTIVE_PARAMETERS, isObjectiveName, objectiveParameters, objectiveNeedsTeacher, objectiveNeedsFeatures,
  objectiveNeedsRegressor, parameterInfo, isValidParameter, inertParameters, resolveObjective,
} from './table';
export type { ResolvedObjective } from './table';
export { studentLoss } from './hard';
export { distillationLoss, softTargetCrossEntropy, kdLoss } from './kd';
export { mseLogitsLoss } from './mse';
export { mseProbabilitiesLoss } from './mse-prob';
export { DKD_DEFAULTS, dkdLoss, dkdTerms } from './dkd';
export type { DkdLossOptions, DkdTerms } from './dkd';
export { cosineCore, poolFeatures, cosineEmbeddingLoss } from './cosine';
export { hintLoss } from './hint';
export type { Regressor } from './hint';
