import { createHash } from 'node:crypto';
import { InputError } from '../errors';
import type { DataRef } from '../data/ref';
import { resolveObjective, type Objective } from '../losses';
import type { OptimizerSpec } from '../train/types';

export type { DataRef };

/**
 * A run is the workbook's unit of evidence: one model trained once, described as plain JSON. A
 * grid, a seed comparison, a transfer-set sweep, a paper's table and a teacher are all lists of
 * RunSpecs built in the notebook where the reader sees them. The spec's identity fields hash into
 * its key (canonical JSON plus a format version); the key names its folder in the run store.
 */

/** An architecture as data. MLP teachers carry their dropout and max-norm; students have none. */
export type ModelSpec =
  | { kind: 'mlp'; hidden: number[]; dropout?: number; inputDropout?: number; maxNorm?: number }
  | { kind: 'conv'; filters: [number, number] };

/** The teacher a distillation run learns from: a finished run in the store, by its key. */
export interface TeacherRef {
  run: string;
}

/** How long a run trains: whole epochs, or a number of optimizer steps whatever the set's size. */
export type Budget = { epochs: number } | { steps: number };

/** What a run keeps besides its validation score at the end (each costs time or disk). */
export interface RecordSpec {
  /** Validate after every epoch (the curve, and 'best' keeping); else once at the end. */
  valCurve?: boolean;
  /** Score the test set once at the end (a grid that selects on validation leaves this off). */
  test?: boolean;
  /** Errors on the training images and, for a distilled run, disagreements with the teacher there. */
  fit?: boolean;
  /** Validation and test logits as float32 files (a bias-shift study reads them). */
  logits?: boolean;
  /** The trained weights (loadRunModel), for a figure, a retrain-free reuse, or a teacher. */
  weights?: boolean;
}

export interface RunSpec {
  data: DataRef;
  model: ModelSpec;
  /** Required by every objective but 'hard'. */
  teacher?: TeacherRef;
  objective: Objective;
  optimizer: OptimizerSpec;
  budget: Budget;
  batchSize: number;
  /** Seeds the initial weights, batch order, jitter and dropout masks. */
  seed: number;
  /** Shift each training image by up to this many pixels per axis (a teacher's augmentation). */
  jitter?: number;
  /** Which weights a run ends with: the last epoch's (default) or the best on validation. */
  keep?: 'last' | 'best';
  record?: RecordSpec;
  /**
   * OpenBLAS threads the run trains with (default 1, what a worker uses). Part of the identity:
   * another count sums in another order, so the digits differ, wherever the run executes.
   */
  blasThreads?: number;
  // ---- not part of the identity ----
  /** How progress lines and tables name the run. */
  label?: string;
  /** Columns for tables and group-bys (method, size, ...), copied into results. */
  tags?: Record<string, string | number | boolean | null>;
  /** Save a resumable checkpoint every this many epochs (long runs); default: none. */
  checkpointEvery?: number;
}

/**
 * Bump when the meaning of a spec, the contents of a run's folder or the digits a spec trains to
 * change: old runs are recomputed. 2: OpenBLAS's kernel family pinned to Haswell, and optimizer
 * state flushed below 2^-100 (adam.wat).
 */
export const RUN_FORMAT = 'kdlab-run-2';

/** Stable JSON (sorted keys, undefined dropped) so that equal specs hash equally. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    return `{${Object.keys(obj)
      .filter((k) => obj[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(obj[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The fields that determine a run's result, with defaults filled in. */
export function identityOf(spec: RunSpec): Record<string, unknown> {
  const { label: _label, tags: _tags, checkpointEvery: _every, ...identity } = spec;
  return {
    ...identity,
    data: { ...spec.data, pool: spec.data.pool ?? null },
    jitter: spec.jitter ?? 0,
    keep: spec.keep ?? 'last',
    record: normalRecord(spec.record),
    blasThreads: spec.blasThreads ?? 1,
  };
}

export function normalRecord(r: RecordSpec | undefined): Required<RecordSpec> {
  return { valCurve: r?.valCurve ?? false, test: r?.test ?? false, fit: r?.fit ?? false, logits: r?.logits ?? false, weights: r?.weights ?? false };
}

/** The run's key: 16 hex digits of SHA-256 over the format and the canonical identity. */
export function runKey(spec: RunSpec): string {
  return createHash('sha256').update(`${RUN_FORMAT}\n${canonical(identityOf(spec))}`).digest('hex').slice(0, 16);
}

/** "kd T=4 alpha=0.9, 2×800, seed 1" or the spec's label, for progress lines and errors. */
export function describeRun(spec: RunSpec): string {
  if (spec.label) return spec.label;
  const o = spec.objective as unknown as Record<string, unknown>;
  const params = Object.keys(o).filter((k) => k !== 'objective').map((k) => `${k}=${String(o[k])}`);
  const arch = spec.model.kind === 'mlp' ? spec.model.hidden.join('×') : `conv ${spec.model.filters.join('/')}`;
  return `${[spec.objective.objective, ...params].join(' ')}, ${arch}, seed ${spec.seed}`;
}

const positiveInt = (x: unknown): boolean => Number.isInteger(x) && (x as number) > 0;

/** Throws an InputError naming the field and the fix for a spec that cannot run. */
export function checkRunSpec(spec: RunSpec): void {
  const bad = (msg: string): never => {
    throw new InputError('BAD_RUN_SPEC', `run "${spec?.label ?? '?'}": ${msg}`);
  };
  if (!spec || typeof spec !== 'object') bad('a run spec must be an object.');
  const d = spec.data;
  if (!d || !Number.isInteger(d.validationSize) || d.validationSize < 0 || !Number.isInteger(d.splitSeed)) {
    bad(`data must be { validationSize, splitSeed, pool?, transfer? } with integers, got ${JSON.stringify(d)}.`);
  }
  if (d.pool !== undefined && d.pool !== null && !positiveInt(d.pool)) bad(`data.pool must be a positive integer or null, got ${JSON.stringify(d.pool)}.`);
  const m = spec.model;
  const okModel = m && ((m.kind === 'mlp' && Array.isArray(m.hidden) && m.hidden.length > 0 && m.hidden.every(positiveInt))
    || (m.kind === 'conv' && Array.isArray(m.filters) && m.filters.length === 2 && m.filters.every(positiveInt)));
  if (!okModel) bad(`model must be { kind: 'mlp', hidden: [800, 800] } or { kind: 'conv', filters: [16, 32] }, got ${JSON.stringify(m)}.`);
  const resolved = resolveObjective(spec.objective, `run "${spec.label ?? describeRun(spec)}"`);
  // Logit objectives read the teacher's logits, feature objectives (hint, cosine) its hidden layers.
  const usesTeacher = resolved.needsTeacher || resolved.needsFeatures;
  if (usesTeacher && !spec.teacher?.run) bad(`objective '${spec.objective.objective}' needs teacher: { run: <key of the teacher's run> }.`);
  if (!usesTeacher && spec.teacher) bad(`objective '${spec.objective.objective}' uses no teacher: remove teacher.`);
  const b = spec.budget as Partial<{ epochs: number; steps: number }>;
  if (!b || (b.epochs === undefined) === (b.steps === undefined)) bad(`budget must be { epochs: n } or { steps: n }, got ${JSON.stringify(b)}.`);
  if (b.epochs !== undefined && !positiveInt(b.epochs)) bad(`budget.epochs must be a positive integer, got ${b.epochs}.`);
  if (b.steps !== undefined && !positiveInt(b.steps)) bad(`budget.steps must be a positive integer, got ${b.steps}.`);
  if (!positiveInt(spec.batchSize)) bad(`batchSize must be a positive integer, got ${spec.batchSize}.`);
  if (!Number.isSafeInteger(spec.seed) || spec.seed < 0) bad(`seed must be a non-negative integer, got ${spec.seed}.`);
  if (spec.keep === 'best' && !spec.record?.valCurve) bad(`keep: 'best' chooses an epoch on validation: set record.valCurve too.`);
  if (spec.blasThreads !== undefined && !positiveInt(spec.blasThreads)) bad(`blasThreads must be a positive integer, got ${spec.blasThreads}.`);
  if (spec.checkpointEvery !== undefined && !positiveInt(spec.checkpointEvery)) bad(`checkpointEvery must be a positive integer, got ${spec.checkpointEvery}.`);
}
