import { InputError } from '../errors';
import { assertTemperature } from '../softmax';
import { assertAlpha } from './checks';
import { cosine } from './cosine';
import { assertWeight, dkd } from './dkd';
import { hard } from './hard';
import { hint } from './hint';
import { kd } from './kd';
import { mse } from './mse';
import { mseProb } from './mse-prob';
import type { Objective, ObjectiveEntry, ObjectiveLoss, ObjectiveName, ObjectiveParameter, ParameterInfo } from './types';

// ---------------------------------------------------------------------------------------------
// The objective table

/** Every kind of hyper-parameter, in the order specs, grids and tables list them. */
const PARAMETERS: { readonly [P in ObjectiveParameter]: ParameterInfo } = {
  temperature: { label: 'T', rule: 'finite T > 0', check: assertTemperature },
  alpha: { label: 'alpha', rule: 'values in [0, 1]', check: assertAlpha },
  beta: { label: 'beta', rule: 'finite values ≥ 0', check: (v, where) => assertWeight(v, 'beta', where) },
};

/** One entry per objective, each in its own file. */
const OBJECTIVES: { readonly [N in ObjectiveName]: ObjectiveEntry<N> } = { hard, kd, mse, 'mse-prob': mseProb, dkd, hint, cosine };

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
