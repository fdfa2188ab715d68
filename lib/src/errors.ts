/**
 * Every error the library raises on purpose is a KdlabError with a stable `code` from one list,
 * so that notebooks, the CLI and tests can tell a bad input from a bug, and a message that names
 * the problem and the fix. The tools package extends the same class with its own list.
 */

/** Codes of errors about the caller's arguments (thrown as InputError). */
export const INPUT_ERROR_CODES = [
  'BAD_ALPHA',
  'BAD_BATCH_SIZE',
  'BAD_BETA',
  'BAD_CLASSES',
  'BAD_DROPOUT',
  'BAD_DTYPE',
  'BAD_EPOCHS',
  'BAD_FRACTION',
  'BAD_GRID',
  'BAD_HIDDEN',
  'BAD_IMAGES',
  'BAD_INPUT',
  'BAD_JITTER',
  'BAD_LABELS',
  'BAD_LEARNING_RATE',
  'BAD_LOSS',
  'BAD_MAX_NORM',
  'BAD_MODE',
  'BAD_MODEL',
  'BAD_OPTIMIZER',
  'BAD_PARAMETER',
  'BAD_RANK',
  'BAD_REGRESSOR',
  'BAD_RUN_SPEC',
  'BAD_SCHEDULE',
  'BAD_SEED',
  'BAD_SPLIT',
  'BAD_TEMPERATURE',
  'CACHE_CORRUPT',
  'CACHE_MISSING',
  'CHECKPOINT_MISMATCH',
  'EMPTY_GRID',
  'EMPTY_TRANSFER_SET',
  'FIGURE_INPUT',
  'HELD_OUT_POOL',
  'INDEX_RANGE',
  'NON_FINITE_FEATURES',
  'NON_FINITE_LOGITS',
  'NO_REGRESSOR',
  'NO_TEACHER',
  'SHAPE_MISMATCH',
  'STALE_TEACHER_LOGITS',
  'TABLE_ID',
  'TEACHER_LOGITS_MISMATCH',
  'TEST_SET_PEEK',
] as const;

/** Codes of data files that are missing or damaged (thrown as DataError). */
export const DATA_ERROR_CODES = [
  'DATA_MISSING',
  'DATA_BAD_MAGIC',
  'DATA_TRUNCATED',
  'DATA_CHECKSUM',
  'DATA_LABEL_RANGE',
  'DATA_COUNT_MISMATCH',
] as const;

/** Codes of things that went wrong while running (thrown as KdlabError or BackendError). */
export const RUNTIME_ERROR_CODES = [
  'ABORTED',
  'BACKEND_STATE',
  'BACKEND_UNAVAILABLE',
  'CHECKPOINT_CORRUPT',
  'DISPLAY_UNAVAILABLE',
  'FIGURE_DATA_INVALID',
  'FIGURE_UNKNOWN',
  'GRID_RUN_FAILED',
  'REFERENCE_CORRUPT',
  'RUN_FAILED',
  'RUN_WORKER_DIED',
  'TEACHER_MISSING',
  'GRID_WORKER_DIED',
  'NO_TEACHER_FEATURES',
  'NO_TEACHER_LOGITS',
  'OPTIMIZER_STATE',
  'PLOTLY_MISSING',
  'TEACHER_LOGITS_MISSING',
  'TENSOR_LEAK',
  'TRAINING_DIVERGED',
] as const;

export type InputErrorCode = (typeof INPUT_ERROR_CODES)[number];
export type DataErrorCode = (typeof DATA_ERROR_CODES)[number];
export type RuntimeErrorCode = (typeof RUNTIME_ERROR_CODES)[number];
/** Every code the library throws. */
export type ErrorCode = InputErrorCode | DataErrorCode | RuntimeErrorCode;

export class KdlabError<Code extends string = ErrorCode> extends Error {
  readonly code: Code;
  constructor(code: Code, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A data file that is missing, corrupt, truncated or inconsistent with its partner file. */
export class DataError extends KdlabError<DataErrorCode> {
  readonly file: string;
  constructor(code: DataErrorCode, file: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.file = file;
  }
}

/** A caller passed an argument the method cannot use (T <= 0, alpha outside [0, 1], shapes...). */
export class InputError extends KdlabError<InputErrorCode> {}

/** The compute backend asked for (KDLAB_BACKEND) is not installed or failed to start. */
export class BackendError extends KdlabError<'BACKEND_UNAVAILABLE'> {
  constructor(message: string, options?: { cause?: unknown }) {
    super('BACKEND_UNAVAILABLE', message, options);
  }
}
