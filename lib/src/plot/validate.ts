import { InputError } from '../errors';

/**
 * Runtime checks for builder inputs. Builders are called with data typed by a notebook, but also
 * with JSON read back from build/results/figures, which is `unknown` until checked: a wrong field
 * must fail with the figure id and the field's name, not draw an empty chart.
 */
export class FigureInputError extends InputError {
  constructor(where: string, message: string) {
    super('FIGURE_INPUT', `${where}: ${message}`);
  }
}

export function record(value: unknown, where: string, name = 'input'): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new FigureInputError(where, `${name} must be an object, got ${describe(value)}.`);
  }
  return value as Record<string, unknown>;
}

export function array(value: unknown, where: string, name: string, minLength = 1): unknown[] {
  if (!Array.isArray(value) && !ArrayBuffer.isView(value)) {
    throw new FigureInputError(where, `${name} must be an array, got ${describe(value)}.`);
  }
  const arr = Array.from(value as ArrayLike<unknown>);
  if (arr.length < minLength) {
    throw new FigureInputError(where, `${name} needs at least ${minLength} element(s), got ${arr.length}.`);
  }
  return arr;
}

export interface NumberRules {
  min?: number;
  max?: number;
  positive?: boolean;
  integer?: boolean;
}

export function num(value: unknown, where: string, name: string, rules: NumberRules = {}): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new FigureInputError(where, `${name} must be a finite number, got ${describe(value)}.`);
  }
  if (rules.positive && !(value > 0)) throw new FigureInputError(where, `${name} must be > 0, got ${value}.`);
  if (rules.min !== undefined && value < rules.min) {
    throw new FigureInputError(where, `${name} must be >= ${rules.min}, got ${value}.`);
  }
  if (rules.max !== undefined && value > rules.max) {
    throw new FigureInputError(where, `${name} must be <= ${rules.max}, got ${value}.`);
  }
  if (rules.integer && !Number.isInteger(value)) {
    throw new FigureInputError(where, `${name} must be an integer, got ${value}.`);
  }
  return value;
}

export function numbers(value: unknown, where: string, name: string, rules: NumberRules = {}, minLength = 1): number[] {
  return array(value, where, name, minLength).map((v, i) => num(v, where, `${name}[${i}]`, rules));
}

/** Numbers where null (or NaN, which JSON turns into null) marks a missing value. */
export function numbersOrNull(value: unknown, where: string, name: string, rules: NumberRules = {}): (number | null)[] {
  return array(value, where, name).map((v, i) =>
    v === null || (typeof v === 'number' && Number.isNaN(v)) ? null : num(v, where, `${name}[${i}]`, rules),
  );
}

export function str(value: unknown, where: string, name: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new FigureInputError(where, `${name} must be a non-empty string, got ${describe(value)}.`);
  }
  return value;
}

export function optionalStr(value: unknown, where: string, name: string): string | undefined {
  return value === undefined ? undefined : str(value, where, name);
}

export function sameLength(where: string, names: [string, string], a: readonly unknown[], b: readonly unknown[]): void {
  if (a.length !== b.length) {
    throw new FigureInputError(
      where,
      `${names[0]} and ${names[1]} must have the same length, got ${a.length} and ${b.length}.`,
    );
  }
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}
