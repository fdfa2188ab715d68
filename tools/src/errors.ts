import { KdlabError } from 'kdlab/internals';

/**
 * Errors of the tools (CLI, runner, grader): the library's KdlabError with the tools' own codes,
 * so `err instanceof KdlabError` still tells a reported problem from a bug everywhere.
 */
export const TOOL_ERROR_CODES = [
  'BAD_ARGS',
  'BAD_PARAMETER',
  'BOOK_NO_NOTEBOOKS',
  'FIGURE_UNKNOWN',
  'GRADE_BAD_INPUT',
  'GRADE_BAD_OUT',
  'GRADE_NO_SANDBOX',
  'HELP',
  'HOMEWORK_BAD_PARAMETERS',
  'HOMEWORK_EDITION',
  'HOMEWORK_INVALID',
  'HOMEWORK_MARKERS',
  'HOMEWORK_METADATA',
  'HOMEWORK_NO_PARAMETERS',
  'HOMEWORK_NO_SOURCE',
  'HOMEWORK_RELEASE_INTO_SOURCE',
  'HOMEWORK_UNKNOWN_ASSIGNMENT',
  'KERNEL_BAD_CWD',
  'KERNEL_NOT_FOUND',
  'KERNEL_PORT_CONFLICT',
  'KERNEL_PROTOCOL',
  'KERNEL_START_FAILED',
  'NOTEBOOK_INVALID',
  'NOTEBOOK_MALFORMED_JSON',
  'NOTEBOOK_MISSING',
  'NOTEBOOK_NEW_FORMAT',
  'NOTEBOOK_NO_KERNELSPEC',
  'NOTEBOOK_OLD_FORMAT',
  'NOTEBOOK_OUTPUT_INVALID',
  'NOTEBOOK_WRONG_KERNEL',
  'PLAYGROUND_BUNDLE',
  'PLAYGROUND_MISSING',
  'TSLAB_MISSING',
] as const;

export type ToolErrorCode = (typeof TOOL_ERROR_CODES)[number];

export class ToolError extends KdlabError<ToolErrorCode> {}
