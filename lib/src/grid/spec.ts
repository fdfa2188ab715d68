import { createHash } from 'node:crypto';
import { InputError } from '../errors';
import {
  inertParameters, isObjectiveName, objectiveNeedsFeatures, objectiveNeedsTeacher, objectiveParameters, OBJECTIVE_PARAMETERS, parameterInfo, isValidParameter,
  type DistillObjectiveName, type Objective, type ObjectiveField, type ObjectiveParameter, type ObjectiveParams,
} from '../losses';

/**
 * Hyper-parameter grids as data (torchdistill's habit): a spec names an objective (default 'kd')
 * and lists values for each of its hyper-parameters (T × alpha for 'kd'); it expands into runs,
 * each run's full configuration is hashed, and each finished run is appended as one JSON line
 * keyed by that hash. The parent process is the only writer, so a rerun after any crash skips
 * what is done and never writes a duplicate; worker processes (one backend each) only train and
 * report. The objective's hyper-parameters come from the objective table in losses/table.ts.
 */

/** One axis per hyper-parameter of the objective: temperature → temperatures, alpha → alphas. */
export type GridAxes<N extends DistillObjectiveName> = { [P in keyof ObjectiveParams<N> & string as `${P}s`]: number[] };

export interface GridSettings {
  /** Names the grid in progress lines; not part of any run's identity. */
  name: string;
  /** Student hidden sizes, e.g. [[800, 800], [30, 30]]. */
  students: number[][];
  seeds?: number[];
  epochs: number;
  batchSize?: number;
  learningRate?: number;
  /** Train on the first `trainSize` rows of the (shuffled) training split; quick modes. */
  trainSize?: number;
  validationSize?: number;
  splitSeed?: number;
  /** Teacher logits for exactly that training slice, computed once (see teacherLogitsCached). */
  teacherLogits: { file: string; key: string };
}

/**
 * A grid: its settings, the objective (default 'kd') and a list of values per hyper-parameter,
 * e.g. { objective: 'kd', temperatures: [2, 4], alphas: [0, 0.5], ... } (objective left out) or
 * { objective: 'mse', alphas: [0.5, 1], ... }.
 */
export type GridSpec<N extends DistillObjectiveName = 'kd'> = GridSettings & ObjectiveField<N> & GridAxes<N>;

/** The settings of one run besides its objective. */
export interface RunSettings {
  hidden: number[];
  seed: number;
  epochs: number;
  batchSize: number;
  learningRate: number;
  trainSize: number | null;
  validationSize: number;
  splitSeed: number;
  teacherKey: string;
}

/**
 * Everything that determines a run's result; its hash is the run's identity. The objective's
 * hyper-parameters are fields of their own (temperature, alpha for 'kd'); `objective` is absent
 * in rows written before objectives existed, which are all 'kd'.
 */
export type RunConfig<N extends DistillObjectiveName = 'kd'> = ObjectiveField<N> & ObjectiveParams<N> & RunSettings;

export interface RunResult {
  key: string;
  /** Accuracy of the final model on the validation set. Grids never touch the test set: evaluate
   *  the setting chosen by selectBest on test separately, once. */
  valAccuracy: number;
  bestEpoch: number;
  params: number;
  seconds: number;
  backend: string;
  /** Key of the run whose numbers this row reuses (e.g. alpha = 0 ignores T), or null. */
  sameAs: string | null;
}

export type RunRow<N extends DistillObjectiveName = 'kd'> = RunConfig<N> & RunResult;

/** A grid, run or row of any objective (how the grid handles them inside). */
export type AnySpec = GridSpec<DistillObjectiveName>;
export type AnyRun = RunConfig<DistillObjectiveName>;
export type AnyRow = RunRow<DistillObjectiveName>;

export const objectiveName = (r: { objective?: DistillObjectiveName }): DistillObjectiveName => r.objective ?? 'kd';
export const valuesOf = (x: object): Partial<Record<string, unknown>> => x as Partial<Record<string, unknown>>;

/** The run's objective as data, e.g. { objective: 'kd', temperature: 4, alpha: 0.5 }. */
export function objectiveOf(config: AnyRun): Exclude<Objective, { objective: 'hard' }> {
  const name = objectiveName(config);
  const values = valuesOf(config);
  return { objective: name, ...Object.fromEntries(objectiveParameters(name).map((p) => [p, values[p]])) } as Exclude<Objective, { objective: 'hard' }>;
}

/** "T=4, alpha=0.5" (prefixed with the objective unless it is 'kd'), for progress lines and errors. */
export function describeRun(config: AnyRun): string {
  const name = objectiveName(config);
  const values = valuesOf(config);
  const params = objectiveParameters(name).map((p) => `${parameterInfo(p).label}=${String(values[p])}`);
  return [...(name === 'kd' ? [] : [name]), ...params].join(', ');
}

function checkSpec(spec: AnySpec): void {
  const bad = (msg: string): never => {
    throw new InputError('BAD_GRID', `grid "${spec.name}": ${msg}`);
  };
  const name: unknown = spec.objective ?? 'kd';
  if (!isObjectiveName(name) || !objectiveNeedsTeacher(name)) {
    const features = isObjectiveName(name) && objectiveNeedsFeatures(name);
    bad(
      features
        ? `objective '${String(name)}' learns from hidden representations, which a grid's logits file does not hold: compare it with runMethods.`
        : `objective must be a distillation objective ('kd', 'mse', 'mse-prob', 'dkd'), got ${JSON.stringify(name)}.`,
    );
  }
  const params = objectiveParameters(name as DistillObjectiveName);
  const axes = valuesOf(spec);
  for (const p of OBJECTIVE_PARAMETERS) {
    const axis = `${p}s`;
    const values = axes[axis];
    if (!params.includes(p)) {
      if (values !== undefined) bad(`objective '${String(name)}' has no ${p}: remove ${axis}.`);
    } else if (!Array.isArray(values) || values.length === 0 || values.some((v) => !isValidParameter(p, v, name as DistillObjectiveName))) {
      bad(`${axis} must be a non-empty list of ${parameterInfo(p, name as DistillObjectiveName).rule}, got ${JSON.stringify(values)}.`);
    }
  }
  if (!spec.students?.length || spec.students.some((h) => !Array.isArray(h) || h.some((w) => !Number.isInteger(w) || w <= 0))) {
    bad(`students must be a non-empty list of hidden sizes like [800, 800], got ${JSON.stringify(spec.students)}.`);
  }
  if (!Number.isInteger(spec.epochs) || spec.epochs <= 0) bad(`epochs must be a positive integer, got ${spec.epochs}.`);
  if (!spec.teacherLogits?.file || !spec.teacherLogits.key) bad('teacherLogits { file, key } is required (from teacherLogitsCached).');
}

/** Stable JSON (sorted keys) so that equal configurations hash equally. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    return `{${Object.keys(obj)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(obj[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

const RUN_SETTINGS_FIELDS = [
  'hidden', 'seed', 'epochs', 'batchSize', 'learningRate', 'trainSize', 'validationSize', 'splitSeed', 'teacherKey',
] as const satisfies readonly (keyof RunSettings)[];

/**
 * Hashes the configuration only: rows read back from the file also carry their results. A 'kd'
 * run hashes no `objective` field, so its key is the one it had before grids had objectives.
 */
export function runKey(config: AnyRun): string {
  const name = objectiveName(config);
  const fields: Record<string, unknown> = Object.fromEntries(RUN_SETTINGS_FIELDS.map((k) => [k, config[k]]));
  const values = valuesOf(config);
  for (const p of objectiveParameters(name)) fields[p] = values[p];
  if (name !== 'kd') fields.objective = name;
  return createHash('sha256').update(canonical(fields)).digest('hex').slice(0, 16);
}

/**
 * Runs that differ only in hyper-parameters their objective ignores at these values (the
 * objective table says which: kd at alpha = 0 ignores T) give the same run: train it once.
 */
export function computeKey(config: AnyRun): string {
  const inert = inertParameters(objectiveOf(config));
  return runKey(inert.length ? ({ ...config, ...Object.fromEntries(inert.map((p) => [p, 0])) } as AnyRun) : config);
}

/** The objective's hyper-parameters vary fastest, in the objective table's order (T, then alpha). */
export function expandGrid<N extends DistillObjectiveName = 'kd'>(spec: GridSpec<N>): RunConfig<N>[] {
  const s = spec as AnySpec;
  checkSpec(s);
  const name = objectiveName(s);
  const axes = valuesOf(s) as Record<string, number[]>;
  let points: Partial<Record<ObjectiveParameter, number>>[] = [{}];
  for (const p of objectiveParameters(name)) points = points.flatMap((point) => axes[`${p}s`].map((v) => ({ ...point, [p]: v })));
  const runs: AnyRun[] = [];
  for (const hidden of s.students) {
    for (const seed of s.seeds ?? [0]) {
      for (const point of points) {
        runs.push({
          objective: name,
          ...point,
          hidden,
          seed,
          epochs: s.epochs,
          batchSize: s.batchSize ?? 128,
          learningRate: s.learningRate ?? 1e-3,
          trainSize: s.trainSize ?? null,
          validationSize: s.validationSize ?? 5000,
          splitSeed: s.splitSeed ?? 0,
          teacherKey: s.teacherLogits.key,
        } as AnyRun);
      }
    }
  }
  return runs as RunConfig<N>[];
}
