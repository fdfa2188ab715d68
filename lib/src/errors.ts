/**
 * Every error the workbook raises on purpose is a KdlabError with a stable `code`, so that
 * notebooks, the CLI and tests can tell a bad input from a bug, and a message that names the
 * problem and the fix.
 */
export class KdlabError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A data file that is missing, corrupt, truncated or inconsistent with its partner file. */
export class DataError extends KdlabError {
  readonly file: string;
  constructor(code: DataErrorCode, file: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.file = file;
  }
}

export type DataErrorCode =
  | 'DATA_MISSING'
  | 'DATA_BAD_MAGIC'
  | 'DATA_TRUNCATED'
  | 'DATA_CHECKSUM'
  | 'DATA_LABEL_RANGE'
  | 'DATA_COUNT_MISMATCH';

/** A caller passed an argument the method cannot use (T <= 0, alpha outside [0, 1], shapes...). */
export class InputError extends KdlabError {
  constructor(code: string, message: string) {
    super(code, message);
  }
}

/** The compute backend asked for (KDLAB_BACKEND) is not installed or failed to start. */
export class BackendError extends KdlabError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('BACKEND_UNAVAILABLE', message, options);
  }
}
