/**
 * Reading, checking, parameterising and validating .ipynb files (nbformat 4.5).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import Ajv, { type ValidateFunction } from 'ajv';
import type { NotebookOutput } from './outputs';
import { ToolError, type ToolErrorCode } from '../errors';

export type Source = string | string[];

export interface CellMetadata {
  tags?: string[];
  execution?: Record<string, string>;
  [key: string]: unknown;
}

export interface CodeCell {
  cell_type: 'code';
  id?: string;
  source: Source;
  metadata: CellMetadata;
  execution_count: number | null;
  outputs: NotebookOutput[];
}

export interface TextCell {
  cell_type: 'markdown' | 'raw';
  id?: string;
  source: Source;
  metadata: CellMetadata;
  attachments?: Record<string, unknown>;
}

export type Cell = CodeCell | TextCell;

export interface Notebook {
  nbformat: number;
  nbformat_minor: number;
  metadata: {
    kernelspec?: { name: string; display_name: string; language?: string };
    language_info?: Record<string, unknown>;
    [key: string]: unknown;
  };
  cells: Cell[];
}

export const TSLAB_KERNEL_NAME = 'tslab';
const KERNELSPEC_FIX =
  'Open it in Jupyter and choose the "TypeScript (tslab)" kernel, or set metadata.kernelspec to ' +
  '{"name": "tslab", "display_name": "TypeScript (tslab)", "language": "typescript"}.';

export function sourceText(source: Source): string {
  return Array.isArray(source) ? source.join('') : source;
}

/** The first non-blank line of a cell, for error messages. */
export function firstLine(source: Source): string {
  const line = sourceText(source).split('\n').find((l) => l.trim() !== '');
  return (line ?? '').trim();
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Checks that parsed JSON is a v4 notebook meant for tslab; refuses anything else with the fix. */
export function checkNotebook(json: unknown, file: string): Notebook {
  const refuse = (code: ToolErrorCode, msg: string) => new ToolError(code, `${file}: ${msg}`);
  if (!isRecord(json)) throw refuse('NOTEBOOK_INVALID', 'not a notebook (the top level is not a JSON object).');
  const major = json.nbformat;
  if (typeof major !== 'number') {
    throw refuse('NOTEBOOK_INVALID', 'not a notebook: the "nbformat" field is missing.');
  }
  if (major < 4) {
    throw refuse(
      'NOTEBOOK_OLD_FORMAT',
      `nbformat ${major} is not supported; the runner reads nbformat 4. Convert it with ` +
        '`jupyter nbconvert --to notebook --inplace` or re-save it from JupyterLab.',
    );
  }
  if (major > 4) throw refuse('NOTEBOOK_NEW_FORMAT', `nbformat ${major} is newer than this runner understands (4).`);
  if (!Array.isArray(json.cells)) throw refuse('NOTEBOOK_INVALID', 'not a notebook: "cells" is missing or not a list.');
  const metadata = isRecord(json.metadata) ? json.metadata : undefined;
  const spec = metadata?.kernelspec;
  if (!isRecord(spec) || typeof spec.name !== 'string') {
    throw refuse('NOTEBOOK_NO_KERNELSPEC', `no kernelspec in the notebook metadata. ${KERNELSPEC_FIX}`);
  }
  if (spec.name !== TSLAB_KERNEL_NAME) {
    throw refuse(
      'NOTEBOOK_WRONG_KERNEL',
      `kernelspec is "${spec.name}", but workbook notebooks run on the tslab TypeScript kernel. ${KERNELSPEC_FIX}`,
    );
  }
  json.cells.forEach((c, i) => {
    if (!isRecord(c) || (c.cell_type !== 'code' && c.cell_type !== 'markdown' && c.cell_type !== 'raw')) {
      throw refuse('NOTEBOOK_INVALID', `cell ${i + 1} is not a code, markdown or raw cell.`);
    }
    if (typeof c.source !== 'string' && !Array.isArray(c.source)) {
      throw refuse('NOTEBOOK_INVALID', `cell ${i + 1} has no source.`);
    }
  });
  return json as unknown as Notebook;
}

export function readNotebook(file: string): Notebook {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ToolError('NOTEBOOK_MISSING', `${file}: cannot read the notebook (${(err as Error).message}).`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ToolError(
      'NOTEBOOK_MALFORMED_JSON',
      `${file}: not valid JSON (${(err as Error).message}). Restore it from git or re-save it from Jupyter.`,
    );
  }
  return checkNotebook(json, file);
}

export type ParameterValue = string | number | boolean;

/**
 * Parses `name=value` flags: numbers stay numbers, true/false become booleans, anything else is
 * a string. Split on the first "=" so values may contain "=".
 */
export function parseParameter(flag: string): [string, ParameterValue] {
  const eq = flag.indexOf('=');
  if (eq <= 0) {
    throw new ToolError('BAD_PARAMETER', `parameter "${flag}" must look like name=value`);
  }
  const name = flag.slice(0, eq).trim();
  const raw = flag.slice(eq + 1);
  if (!/^[A-Za-z_$][\w$]*$/.test(name)) {
    throw new ToolError('BAD_PARAMETER', `parameter name "${name}" is not a valid identifier`);
  }
  if (raw === 'true' || raw === 'false') return [name, raw === 'true'];
  if (/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(raw.trim()) && Number.isFinite(Number(raw))) {
    return [name, Number(raw)];
  }
  return [name, raw];
}

function literal(value: ParameterValue): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : JSON.stringify(String(value));
  return value ? 'true' : 'false';
}

function hasTag(cell: Cell, tag: string): boolean {
  const tags = cell.metadata?.tags;
  return Array.isArray(tags) && tags.includes(tag);
}

/** Names a parameters cell declares with let/var (const cannot be reassigned by injection). */
export function declaredParameters(source: Source): { assignable: Set<string>; constant: Set<string> } {
  const assignable = new Set<string>();
  const constant = new Set<string>();
  const text = sourceText(source).replace(/\/\/.*$/gm, '').replace(/\/\*[\s\S]*?\*\//g, '');
  for (const m of text.matchAll(/\b(let|var|const)\s+([A-Za-z_$][\w$]*)/g)) {
    (m[1] === 'const' ? constant : assignable).add(m[2]);
  }
  return { assignable, constant };
}

export interface InjectionResult {
  notebook: Notebook;
  /** Index of the injected cell, or -1 when nothing was injected. */
  injectedIndex: number;
  warnings: string[];
}

/**
 * papermill's convention for TypeScript: after the cell tagged `parameters` (which holds `let`
 * defaults) insert a cell tagged `injected-parameters` with `name = value;` assignments. A
 * previously injected cell is replaced. Names the parameters cell does not declare with let/var
 * are skipped with a warning, since assigning them would not type-check.
 */
export function injectParameters(nb: Notebook, parameters: Record<string, ParameterValue>): InjectionResult {
  const warnings: string[] = [];
  const cells = nb.cells.filter((c) => !hasTag(c, 'injected-parameters'));
  const out: Notebook = { ...nb, cells };
  const names = Object.keys(parameters);
  if (names.length === 0) return { notebook: out, injectedIndex: -1, warnings };
  const pIndex = cells.findIndex((c) => c.cell_type === 'code' && hasTag(c, 'parameters'));
  if (pIndex < 0) {
    warnings.push(`no cell tagged "parameters"; ignored parameters: ${names.join(', ')}`);
    return { notebook: out, injectedIndex: -1, warnings };
  }
  const { assignable, constant } = declaredParameters(cells[pIndex].source);
  const lines: string[] = [];
  for (const name of names) {
    if (assignable.has(name)) lines.push(`${name} = ${literal(parameters[name])};`);
    else if (constant.has(name)) warnings.push(`parameter "${name}" is declared with const in the parameters cell (use let); ignored`);
    else warnings.push(`parameter "${name}" is not declared in the parameters cell; ignored`);
  }
  if (lines.length === 0) return { notebook: out, injectedIndex: -1, warnings };
  const injected: CodeCell = {
    cell_type: 'code',
    id: 'injected-parameters',
    // A block, because tslab prints the value of a cell's last top-level expression statement.
    source: ['// Parameters injected by kdlab reproduce\n', '{\n', ...lines.map((l) => `  ${l}\n`), '}'],
    metadata: { tags: ['injected-parameters'] },
    execution_count: null,
    outputs: [],
  };
  out.cells = [...cells.slice(0, pIndex + 1), injected, ...cells.slice(pIndex + 1)];
  return { notebook: out, injectedIndex: pIndex + 1, warnings };
}

/**
 * Brings a notebook to nbformat 4.5: every cell gets a unique id (deterministic, derived from
 * position and source, so re-running does not churn ids) and code cells get empty outputs.
 */
export function normaliseToV45(nb: Notebook): Notebook {
  const seen = new Set<string>();
  const cells = nb.cells.map((cell, i) => {
    let id = typeof cell.id === 'string' && /^[a-zA-Z0-9-_]{1,64}$/.test(cell.id) ? cell.id : undefined;
    if (!id || seen.has(id)) {
      const h = createHash('sha256').update(`${i}\0${sourceText(cell.source)}`).digest('hex');
      let k = 0;
      do id = h.slice(k, k + 12); while (seen.has(id) && ++k < 50);
    }
    seen.add(id);
    const metadata = isRecord(cell.metadata) ? cell.metadata : {};
    if (cell.cell_type === 'code') {
      return { ...cell, id, metadata, execution_count: null, outputs: [] } satisfies CodeCell;
    }
    return { ...cell, id, metadata } as TextCell;
  });
  return { ...nb, nbformat: 4, nbformat_minor: 5, cells };
}

let validator: ValidateFunction | undefined;

/** Location of the vendored official schema; the same relative path works from src and dist. */
export function schemaPath(): string {
  const here = path.join(__dirname, 'schema', 'nbformat.v4.5.schema.json');
  if (fs.existsSync(here)) return here;
  // tools/dist/runner -> tools/src/runner, for a dist build made before the schema was copied.
  return path.join(__dirname, '..', '..', 'src', 'runner', 'schema', 'nbformat.v4.5.schema.json');
}

/** Validates against the official nbformat v4.5 JSON schema; returns readable error strings. */
export function validateNotebook(nb: unknown): string[] {
  if (!validator) {
    const schema = JSON.parse(fs.readFileSync(schemaPath(), 'utf8')) as Record<string, unknown>;
    // The schema is draft-04; its keywords are a subset Ajv 8 evaluates the same way, so skip the
    // meta-schema check rather than pull in a draft-04 plug-in.
    const ajv = new Ajv({ strict: false, validateSchema: false, allErrors: true });
    validator = ajv.compile(schema);
  }
  if (validator(nb)) return [];
  return (validator.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`);
}
