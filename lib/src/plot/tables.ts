import * as path from 'node:path';
import { InputError } from '../errors';
import { resultsDir, workbookRelative, writeFileAtomic } from '../paths';
import { type DisplaySink, kernelSink } from './display';
import { type FrameLike, type Row, tableOf } from './frame';
import { escapeHtml } from './html';
import type { ResultsOptions } from './registry';

/**
 * Tables: a danfojs-node DataFrame (or plain rows) as an HTML table in the notebook, aligned text
 * in a terminal, and CSV under build/results/tables. danfojs is never loaded here: a DataFrame is
 * read through its `columns` and `values` only (see FrameLike).
 */
export type TableInput = FrameLike | readonly Row[];

export interface TableOptions {
  /** Shown above the table. */
  caption?: string;
  /** Rows shown before eliding the middle (default 60); CSV export always writes all rows. */
  maxRows?: number;
  /** Decimals for non-integer numbers (default 4). */
  digits?: number;
}

/** Display text for one cell. */
export function formatCell(value: unknown, digits = 4): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return 'NaN';
    if (Number.isInteger(value)) return String(value);
    const a = Math.abs(value);
    if (a !== 0 && (a < 10 ** -digits || a >= 1e9)) return value.toExponential(Math.max(1, digits - 2));
    return String(Number(value.toFixed(digits)));
  }
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (value instanceof Date) return value.toISOString();
  return JSON.stringify(value) ?? String(value);
}

function shownRows(rows: unknown[][], maxRows: number): { rows: (unknown[] | null)[]; elided: number } {
  if (rows.length <= maxRows) return { rows, elided: 0 };
  const head = Math.ceil(maxRows / 2);
  const tail = maxRows - head;
  return { rows: [...rows.slice(0, head), null, ...rows.slice(rows.length - tail)], elided: rows.length - maxRows };
}

/** The display bundle for a table: text/html and text/plain. */
export function tableBundle(table: TableInput, options: TableOptions = {}): { 'text/html': string; 'text/plain': string } {
  const { columns, rows } = tableOf(table);
  const digits = options.digits ?? 4;
  const { rows: shown, elided } = shownRows(rows, options.maxRows ?? 60);
  const numeric = columns.map((_, c) => rows.length > 0 && rows.every((r) => typeof r[c] === 'number' || r[c] == null));
  const align = (c: number): string => (numeric[c] ? 'right' : 'left');
  const th = columns.map((c, i) => `<th style="text-align:${align(i)}">${escapeHtml(c)}</th>`).join('');
  const body = shown
    .map((r) =>
      r === null
        ? `<tr><td colspan="${columns.length}" style="text-align:center;color:#777">… ${elided} more rows …</td></tr>`
        : `<tr>${r.map((v, c) => `<td style="text-align:${align(c)}">${escapeHtml(formatCell(v, digits))}</td>`).join('')}</tr>`,
    )
    .join('\n');
  const caption = options.caption ? `<caption style="text-align:left;font-weight:bold">${escapeHtml(options.caption)}</caption>` : '';
  const html =
    `<table class="kdlab-table" style="border-collapse:collapse;font-variant-numeric:tabular-nums">` +
    `${caption}<thead><tr>${th}</tr></thead>\n<tbody>\n${body}\n</tbody></table>` +
    `<div style="font-size:11px;color:#777">${rows.length} rows × ${columns.length} columns</div>`;

  const cells = shown.map((r) => (r === null ? null : r.map((v) => formatCell(v, digits))));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => (r === null ? 0 : r[i].length))));
  const pad = (s: string, i: number): string => (numeric[i] ? s.padStart(widths[i]) : s.padEnd(widths[i]));
  const lines = [
    columns.map(pad).join('  '),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...cells.map((r) => (r === null ? `… ${elided} more rows …` : r.map(pad).join('  '))),
  ];
  const plain = `${options.caption ? `${options.caption}\n` : ''}${lines.map((l) => l.trimEnd()).join('\n')}`;
  return { 'text/html': html, 'text/plain': plain };
}

export interface ShowTableOptions extends TableOptions {
  sink?: DisplaySink;
}

/** Shows a DataFrame (or rows) as an HTML table in a notebook; prints aligned text elsewhere. */
export function showTable(table: TableInput, options: ShowTableOptions = {}): void {
  const bundle = tableBundle(table, options);
  const sink = options.sink ?? kernelSink();
  if (sink) sink.display(bundle);
  else process.stdout.write(`${bundle['text/plain']}\n`);
}

function csvField(value: unknown): string {
  let s: string;
  if (value === null || value === undefined) s = '';
  else if (typeof value === 'number') s = Number.isNaN(value) ? 'NaN' : String(value);
  else s = typeof value === 'string' ? value : formatCell(value, 17);
  return /[",\r\n]|^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** RFC 4180 CSV (CRLF-free: "\n" line ends), full precision, header row first. */
export function frameToCsv(table: TableInput): string {
  const { columns, rows } = tableOf(table);
  return [columns, ...rows].map((r) => r.map(csvField).join(',')).join('\n') + '\n';
}

/**
 * Writes build/results/tables/<id>.csv atomically; returns the file written, relative to the
 * workbook when inside it (what a notebook cell shows; no reader's home folder in the output).
 */
export function saveTable(id: string, table: TableInput, options: ResultsOptions = {}): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(id)) {
    throw new InputError('TABLE_ID', `saveTable: "${id}" is not a usable file name (letters, digits, . _ - only).`);
  }
  const file = path.join(resultsDir(options.resultsDir), 'tables', `${id}.csv`);
  writeFileAtomic(file, frameToCsv(table));
  return workbookRelative(file);
}
