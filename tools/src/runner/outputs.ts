/**
 * nbformat 4 output objects and how iopub messages turn into them, following what Jupyter's own
 * clients do: consecutive stream chunks of the same name coalesce into one output, and
 * update_display_data rewrites every earlier output carrying the same display_id in place.
 */

/** A MIME bundle: text types hold strings, JSON types (application/...+json) hold any JSON value. */
export type MimeBundle = Record<string, unknown>;

export interface StreamOutput {
  output_type: 'stream';
  name: 'stdout' | 'stderr';
  text: string;
}

export interface DisplayDataOutput {
  output_type: 'display_data';
  data: MimeBundle;
  metadata: Record<string, unknown>;
}

export interface ExecuteResultOutput {
  output_type: 'execute_result';
  execution_count: number | null;
  data: MimeBundle;
  metadata: Record<string, unknown>;
}

export interface ErrorOutput {
  output_type: 'error';
  ename: string;
  evalue: string;
  traceback: string[];
}

export type NotebookOutput = StreamOutput | DisplayDataOutput | ExecuteResultOutput | ErrorOutput;

/**
 * Remembers which outputs carry which display_id across a whole notebook run, because an
 * update_display_data may target an output of an earlier cell.
 */
export class DisplayRegistry {
  private readonly byId = new Map<string, Array<DisplayDataOutput | ExecuteResultOutput>>();

  register(displayId: string, output: DisplayDataOutput | ExecuteResultOutput): void {
    const list = this.byId.get(displayId);
    if (list) list.push(output);
    else this.byId.set(displayId, [output]);
  }

  /** Returns how many outputs were updated (0 if the id was never displayed). */
  update(displayId: string, data: MimeBundle, metadata: Record<string, unknown>): number {
    const list = this.byId.get(displayId) ?? [];
    for (const out of list) {
      out.data = data;
      out.metadata = metadata;
    }
    return list.length;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * nbformat stores non-JSON MIME types as text; tslab passes `display.raw` values through as they
 * are, so a number or object under text/plain would make the saved notebook invalid.
 */
export function normaliseBundle(data: Record<string, unknown>): MimeBundle {
  const out: MimeBundle = {};
  for (const [mime, value] of Object.entries(data)) {
    if (/^application\/(.*\+)?json$/.test(mime)) out[mime] = value;
    else if (typeof value === 'string') out[mime] = value;
    else if (Array.isArray(value) && value.every((v) => typeof v === 'string')) out[mime] = value.join('');
    else out[mime] = value === undefined ? '' : JSON.stringify(value);
  }
  return out;
}

function displayIdOf(content: Record<string, unknown>): string | undefined {
  const transient = content.transient;
  if (isRecord(transient) && typeof transient.display_id === 'string' && transient.display_id) {
    return transient.display_id;
  }
  return undefined;
}

/**
 * Collects one cell's outputs from its iopub messages.
 * `clear_output(wait=True)` is honoured the way front ends do: the clear happens just before the
 * next output arrives, so a progress display does not flicker empty in the saved notebook.
 */
export class OutputCollector {
  readonly outputs: NotebookOutput[] = [];
  private stderrText = '';
  private pendingClear = false;

  constructor(private readonly registry: DisplayRegistry = new DisplayRegistry()) {}

  /** Everything the cell wrote to stderr, in order (tslab reports failures only there). */
  get stderr(): string {
    return this.stderrText;
  }

  /** Applies one iopub message; returns false for message types that carry no output. */
  handle(msgType: string, content: Record<string, unknown>): boolean {
    switch (msgType) {
      case 'stream': {
        const name = content.name === 'stderr' ? 'stderr' : 'stdout';
        const text = typeof content.text === 'string' ? content.text : '';
        if (name === 'stderr') this.stderrText += text;
        this.flushClear();
        const last = this.outputs[this.outputs.length - 1];
        if (last && last.output_type === 'stream' && last.name === name) last.text += text;
        else this.outputs.push({ output_type: 'stream', name, text });
        return true;
      }
      case 'display_data':
      case 'execute_result': {
        this.flushClear();
        const data = normaliseBundle(isRecord(content.data) ? content.data : {});
        const metadata = isRecord(content.metadata) ? content.metadata : {};
        const out: DisplayDataOutput | ExecuteResultOutput =
          msgType === 'display_data'
            ? { output_type: 'display_data', data, metadata }
            : {
                output_type: 'execute_result',
                execution_count: typeof content.execution_count === 'number' ? content.execution_count : null,
                data,
                metadata,
              };
        this.outputs.push(out);
        const id = displayIdOf(content);
        if (id) this.registry.register(id, out);
        return true;
      }
      case 'update_display_data': {
        const id = displayIdOf(content);
        if (id) {
          this.registry.update(
            id,
            normaliseBundle(isRecord(content.data) ? content.data : {}),
            isRecord(content.metadata) ? content.metadata : {},
          );
        }
        return true;
      }
      case 'error': {
        this.flushClear();
        const traceback = Array.isArray(content.traceback) ? content.traceback.map(String) : [];
        this.outputs.push({
          output_type: 'error',
          ename: String(content.ename ?? 'Error'),
          evalue: String(content.evalue ?? ''),
          traceback,
        });
        return true;
      }
      case 'clear_output':
        if (content.wait === true) this.pendingClear = true;
        else this.outputs.length = 0;
        return true;
      default:
        return false;
    }
  }

  private flushClear(): void {
    if (this.pendingClear) {
      this.outputs.length = 0;
      this.pendingClear = false;
    }
  }
}
