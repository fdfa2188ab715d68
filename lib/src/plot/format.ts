import { FigureInputError, array, str } from './validate';

/* Helpers shared by several figure builders (figures/*.ts never import from one another). */

/** Short number formatting for labels: 2, 0.5, 1.25 (no trailing zeros). */
export function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4)));
}

/** Plotly hover templates treat %{...} specially; a literal name must not inject one. */
export function escapeHover(s: string): string {
  return s.replace(/%\{/g, '%\u200b{');
}

/** The indices of `values` in ascending order of value. */
export function argsort(values: readonly number[]): number[] {
  return values.map((_, i) => i).sort((a, b) => values[a] - values[b]);
}

/** The checked `classNames` field (one name per logit), or `fallback` names when it is absent. */
export function classNames(
  value: unknown,
  logits: readonly number[],
  where: string,
  fallback: (z: number, i: number) => string,
): string[] {
  if (value === undefined) return logits.map(fallback);
  const names = array(value, where, 'classNames').map((v, i) => str(v, where, `classNames[${i}]`));
  if (names.length !== logits.length) {
    throw new FigureInputError(where, `classNames needs ${logits.length} names, got ${names.length}.`);
  }
  return names;
}
