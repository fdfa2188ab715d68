/**
 * Executes a notebook top to bottom in a fresh tslab kernel, the way nbclient does: stop at the
 * first failing cell, record outputs, execution counts and timing, write the executed notebook.
 */
import * as path from 'node:path';
import { KernelClient, type ExecuteResult, type KernelExit } from './kernel';
import {
  firstLine,
  injectParameters,
  normaliseToV45,
  readNotebook,
  sourceText,
  validateNotebook,
  type CodeCell,
  type Notebook,
  type ParameterValue,
} from './nbformat';
import { DisplayRegistry } from './outputs';
import { KdlabError, writeFileAtomic } from 'kdlab/internals';
import { ToolError } from '../errors';

export type NotebookStatus = 'ok' | 'error' | 'timeout' | 'dead';

export interface CellFailure {
  /** 0-based index in the executed notebook (which includes the injected-parameters cell). */
  cellIndex: number;
  /** 1-based position among the cells of the source notebook; null for the injected cell. */
  sourceCellNumber: number | null;
  cellId: string;
  sourceFirstLine: string;
  /** What the cell wrote to stderr (tslab's error text) followed by kernel stderr for dead kernels. */
  stderr: string;
  kind: 'error' | 'abort' | 'timeout' | 'dead';
  /** For timeouts: whether the interrupt stopped the cell (true) or the kernel had to be killed. */
  interrupted?: boolean;
  exit?: KernelExit;
}

export interface NotebookRunResult {
  path: string;
  outPath?: string;
  status: NotebookStatus;
  /** Code cells in the executed notebook, including an injected-parameters cell. */
  cells: number;
  executedCells: number;
  wallSeconds: number;
  failure?: CellFailure;
  warnings: string[];
  notebook: Notebook;
}

export interface ProgressEvent {
  notebook: string;
  phase: 'starting' | 'cell-start' | 'cell-done' | 'finished';
  /** Code cells finished so far and in total. */
  done: number;
  total: number;
  elapsedSeconds: number;
  cellIndex?: number;
}

export interface RunNotebookOptions {
  parameters?: Record<string, ParameterValue>;
  /** Per-cell limit in seconds (interrupt, then kill). 0 or absent: none. */
  timeoutCellSeconds?: number;
  interruptGraceSeconds?: number;
  startTimeoutSeconds?: number;
  /** Where to write the executed notebook; nothing is written when absent. */
  outPath?: string;
  onProgress?: (e: ProgressEvent) => void;
  tslabPath?: string;
}

/**
 * Runs one notebook. Throws KdlabError when the notebook is refused (bad JSON, wrong kernel...)
 * or the kernel cannot start; returns a result with status !== 'ok' when a cell fails.
 */
export async function runNotebook(file: string, options: RunNotebookOptions = {}): Promise<NotebookRunResult> {
  const started = Date.now();
  const elapsed = () => (Date.now() - started) / 1000;
  const source = readNotebook(file);
  const injection = injectParameters(source, options.parameters ?? {});
  const nb = normaliseToV45(injection.notebook);
  const injected = injection.injectedIndex;
  const codeCells = nb.cells
    .map((c, i) => [c, i] as const)
    .filter((pair): pair is readonly [CodeCell, number] => pair[0].cell_type === 'code');
  const total = codeCells.length;
  const progress = (phase: ProgressEvent['phase'], done: number, cellIndex?: number) =>
    options.onProgress?.({ notebook: file, phase, done, total, elapsedSeconds: elapsed(), cellIndex });

  // Cells before the injected one keep their numbers; the rest shift back by one.
  const sourceNumber = (i: number): number | null =>
    injected < 0 || i < injected ? i + 1 : i === injected ? null : i;

  progress('starting', 0);
  const kernel = await KernelClient.start({
    cwd: path.dirname(path.resolve(file)),
    tslabPath: options.tslabPath,
    startTimeoutSeconds: options.startTimeoutSeconds,
  });
  let status: NotebookStatus = 'ok';
  let failure: CellFailure | undefined;
  let executed = 0;
  const registry = new DisplayRegistry();
  try {
    nb.metadata.language_info = languageInfo(kernel.kernelInfo) ?? nb.metadata.language_info;
    for (const [cell, index] of codeCells) {
      progress('cell-start', executed, index);
      const code = sourceText(cell.source);
      let result: ExecuteResult | undefined;
      if (code.trim() !== '') {
        result = await kernel.execute(code, {
          timeoutSeconds: options.timeoutCellSeconds,
          interruptGraceSeconds: options.interruptGraceSeconds,
          registry,
        });
        cell.outputs = result.outputs;
        cell.execution_count = result.executionCount;
        const t = result.timing;
        const execution: Record<string, string> = {};
        if (t.executeInput) execution['iopub.execute_input'] = t.executeInput;
        if (t.busy) execution['iopub.status.busy'] = t.busy;
        if (t.reply) execution['shell.execute_reply'] = t.reply;
        if (t.idle) execution['iopub.status.idle'] = t.idle;
        cell.metadata = { ...cell.metadata, execution };
      }
      executed++;
      progress('cell-done', executed, index);
      if (result && result.status !== 'ok') {
        status = result.status === 'timeout' ? 'timeout' : result.status === 'dead' ? 'dead' : 'error';
        failure = {
          cellIndex: index,
          sourceCellNumber: sourceNumber(index),
          cellId: cell.id ?? '',
          sourceFirstLine: firstLine(cell.source),
          stderr: failureText(result),
          kind: result.status,
          interrupted: result.status === 'timeout' ? !result.killed : undefined,
          exit: result.exit,
        };
        break;
      }
    }
  } finally {
    await kernel.shutdown();
  }
  const wallSeconds = elapsed();
  nb.metadata.kdlab = {
    parameters: options.parameters ?? {},
    status,
    wall_seconds: Math.round(wallSeconds * 100) / 100,
  };
  const result: NotebookRunResult = {
    path: file,
    status,
    cells: total,
    executedCells: executed,
    wallSeconds,
    failure,
    warnings: injection.warnings,
    notebook: nb,
  };
  if (options.outPath) {
    const problems = validateNotebook(nb);
    if (problems.length > 0) {
      throw new ToolError(
        'NOTEBOOK_OUTPUT_INVALID',
        `executed notebook for ${file} does not validate against nbformat 4.5:\n  ${problems.slice(0, 10).join('\n  ')}`,
      );
    }
    writeFileAtomic(options.outPath, `${JSON.stringify(nb, null, 1)}\n`);
    result.outPath = options.outPath;
  }
  progress('finished', executed);
  return result;
}

function failureText(r: ExecuteResult): string {
  const parts: string[] = [];
  if (r.stderr.trim()) parts.push(r.stderr.trimEnd());
  if (r.status === 'timeout') {
    parts.push(r.killed ? 'cell timed out; the interrupt did not stop it, so the kernel was killed' : 'cell timed out and was interrupted');
  }
  if (r.status === 'dead' && r.exit) {
    const how = r.exit.signal ? `signal ${r.exit.signal}` : `exit code ${r.exit.code}`;
    parts.push(`kernel died (${how})${r.exit.stderrTail ? `; its last stderr lines:\n${r.exit.stderrTail}` : ''}`);
  }
  if (r.status === 'abort') parts.push('the kernel aborted the request');
  return parts.join('\n');
}

function languageInfo(info: Record<string, unknown>): Record<string, unknown> | undefined {
  const li = info.language_info;
  if (typeof li === 'object' && li !== null && typeof (li as { name?: unknown }).name === 'string') {
    return li as Record<string, unknown>;
  }
  return undefined;
}
