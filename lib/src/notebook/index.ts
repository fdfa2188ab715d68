/**
 * Headless notebook runner: a Jupyter protocol client for the tslab kernel and nbformat I/O.
 * Exports are listed by name because the library's root index re-exports every area, and generic
 * names (Cell, Source, sign...) would collide there.
 */
export type { ConnectionInfo, JupyterMessage, MessageHeader } from './protocol';
export {
  DisplayRegistry,
  OutputCollector,
  type DisplayDataOutput,
  type ErrorOutput,
  type ExecuteResultOutput,
  type MimeBundle,
  type NotebookOutput,
  type StreamOutput,
} from './outputs';
export {
  KernelClient,
  defaultTslabPath,
  killAllKernels,
  type ExecuteOptions,
  type ExecuteResult,
  type ExecuteStatus,
  type ExecuteTiming,
  type KernelExit,
  type KernelStartOptions,
} from './kernel';
export {
  TSLAB_KERNEL_NAME,
  checkNotebook,
  injectParameters,
  normaliseToV45,
  parseParameter,
  readNotebook,
  validateNotebook,
  type CodeCell as NotebookCodeCell,
  type Cell as NotebookCell,
  type Notebook,
  type ParameterValue,
  type InjectionResult,
} from './nbformat';
export {
  runNotebook,
  type CellFailure,
  type NotebookRunResult,
  type NotebookStatus,
  type ProgressEvent as NotebookProgressEvent,
  type RunNotebookOptions,
} from './runner';
