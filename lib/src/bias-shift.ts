import { NUM_CLASSES } from './data';
import { InputError } from './errors';

/**
 * Hinton et al. (2015, §3): a student distilled on a transfer set with no 3s gets most test 3s
 * wrong only because its bias for class 3 is too low; adding a constant to the logit of 3 (the
 * same as raising the bias of the output layer) fixes most of them. The paper picked the shift on
 * the test set. Here the shift is chosen on the VALIDATION split; the test set is scored at the
 * chosen shift and at 0, and its own optimum is computed only when the caller asks for it, as a
 * report of what peeking would have given.
 */

/** A model's logits on one split, with the split's name so that the rules below can be enforced. */
export interface ScoredSplit {
  split: 'validation' | 'test';
  /** n × 10 logits, row-major. */
  logits: Float32Array;
  labels: ArrayLike<number>;
}

export interface ShiftErrors {
  shift: number;
  /** Misclassified images. */
  errors: number;
  /** Misclassified images per true class (0..9). */
  errorsByClass: number[];
  /** Images per true class. */
  countByClass: number[];
}

function checkScored(s: ScoredSplit, where: string): number {
  const n = s.labels.length;
  if (!(s.logits instanceof Float32Array) || s.logits.length !== n * NUM_CLASSES) {
    throw new InputError('SHAPE_MISMATCH', `${where}: ${s.split} logits hold ${s.logits?.length} numbers for ${n} labels; expected ${n} × ${NUM_CLASSES}.`);
  }
  return n;
}

function checkShiftClasses(classes: readonly number[], where: string): void {
  if (!Array.isArray(classes) || classes.length === 0 || classes.some((c) => !Number.isInteger(c) || c < 0 || c >= NUM_CLASSES)) {
    throw new InputError('BAD_CLASSES', `${where}: classes must be a non-empty list of digits 0–${NUM_CLASSES - 1}, got ${JSON.stringify(classes)}.`);
  }
}

/**
 * Each row's best shifted class and best other class (value and index, the first maximum of each
 * group), computed once: the argmax after any shift is then one comparison per row, so a curve
 * over hundreds of shifts costs one pass over the logits plus one cheap pass per shift.
 */
interface ShiftTable {
  n: number;
  labels: Int32Array;
  shiftedMax: Float64Array;
  shiftedArg: Int32Array;
  otherMax: Float64Array;
  otherArg: Int32Array;
  countByClass: number[];
}

function shiftTable(scored: ScoredSplit, classes: readonly number[]): ShiftTable {
  const n = scored.labels.length;
  const shifted = new Uint8Array(NUM_CLASSES);
  for (const c of classes) shifted[c] = 1;
  const t: ShiftTable = {
    n,
    labels: Int32Array.from(scored.labels),
    shiftedMax: new Float64Array(n).fill(-Infinity),
    shiftedArg: new Int32Array(n).fill(-1),
    otherMax: new Float64Array(n).fill(-Infinity),
    otherArg: new Int32Array(n).fill(-1),
    countByClass: new Array<number>(NUM_CLASSES).fill(0),
  };
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < NUM_CLASSES; c++) {
      const v = scored.logits[r * NUM_CLASSES + c];
      if (shifted[c]) {
        if (t.shiftedArg[r] < 0 || v > t.shiftedMax[r]) {
          t.shiftedMax[r] = v;
          t.shiftedArg[r] = c;
        }
      } else if (t.otherArg[r] < 0 || v > t.otherMax[r]) {
        t.otherMax[r] = v;
        t.otherArg[r] = c;
      }
    }
    t.countByClass[t.labels[r]]++;
  }
  return t;
}

/** The counts of errorsWithShift from a table: shifted wins if larger, the lower index on a tie. */
function errorsFromTable(t: ShiftTable, shift: number): ShiftErrors {
  const errorsByClass = new Array<number>(NUM_CLASSES).fill(0);
  let errors = 0;
  for (let r = 0; r < t.n; r++) {
    const s = t.shiftedMax[r] + shift;
    const o = t.otherMax[r];
    const best = t.otherArg[r] < 0 || s > o ? t.shiftedArg[r] : s < o ? t.otherArg[r] : Math.min(t.shiftedArg[r], t.otherArg[r]);
    const y = t.labels[r];
    if (best !== y) {
      errors++;
      errorsByClass[y]++;
    }
  }
  return { shift, errors, errorsByClass, countByClass: [...t.countByClass] };
}

function checkShift(shift: number, where: string): void {
  if (!Number.isFinite(shift)) throw new InputError('BAD_INPUT', `${where}: shift must be a finite number, got ${shift}.`);
}

/**
 * Errors when `shift` is added to the logits of `classes` (first maximum wins ties, as in
 * argmax). The shift is the change of those classes' output biases.
 */
export function errorsWithShift(scored: ScoredSplit, classes: readonly number[], shift: number): ShiftErrors {
  checkScored(scored, 'errorsWithShift');
  checkShiftClasses(classes, 'errorsWithShift');
  checkShift(shift, 'errorsWithShift');
  return errorsFromTable(shiftTable(scored, classes), shift);
}

/** `min`, `min + step`, …, up to `max` (rounded to 1e-9 so that 0 is exactly 0). */
export function shiftGrid(min: number, max: number, step: number): number[] {
  if (![min, max, step].every(Number.isFinite) || step <= 0 || max < min) {
    throw new InputError('BAD_INPUT', `shiftGrid: need min ≤ max and step > 0, got (${min}, ${max}, ${step}).`);
  }
  const n = Math.floor((max - min) / step + 1e-9);
  return Array.from({ length: n + 1 }, (_, k) => Math.round((min + k * step) * 1e9) / 1e9);
}

/**
 * The shift with the fewest errors on `scored`; among equally good shifts the one closest to 0
 * (the smaller on a tie), so that no shift is applied unless it helps.
 */
export function bestShift(scored: ScoredSplit, classes: readonly number[], shifts: readonly number[]): { best: ShiftErrors; curve: { shift: number; errors: number }[] } {
  if (shifts.length === 0) throw new InputError('BAD_INPUT', 'bestShift: give at least one shift to try (e.g. shiftGrid(-20, 20, 0.1)).');
  checkScored(scored, 'bestShift');
  checkShiftClasses(classes, 'bestShift');
  return bestOnTable(shiftTable(scored, classes), shifts);
}

function bestOnTable(table: ShiftTable, shifts: readonly number[]): { best: ShiftErrors; curve: { shift: number; errors: number }[] } {
  let best: ShiftErrors | null = null;
  const curve: { shift: number; errors: number }[] = [];
  for (const s of shifts) {
    checkShift(s, 'bestShift');
    const e = errorsFromTable(table, s);
    curve.push({ shift: s, errors: e.errors });
    const better = best === null || e.errors < best.errors ||
      (e.errors === best.errors && (Math.abs(s) < Math.abs(best.shift) || (Math.abs(s) === Math.abs(best.shift) && s < best.shift)));
    if (better) best = e;
  }
  return { best: best as ShiftErrors, curve };
}

export interface BiasShiftOptions {
  /** Classes whose logits are shifted together (e.g. [3], or [7, 8]). */
  classes: number[];
  /** Shifts to try (e.g. shiftGrid(-20, 20, 0.1)); 0 should be among them. */
  shifts: number[];
  /** The split the shift is chosen on: must be 'validation'. */
  validation: ScoredSplit;
  /** Scored at shift 0 and at the chosen shift only. */
  test: ScoredSplit;
  /** Also search the test set for its own best shift (a report of peeking; never used to choose). */
  reportTestOptimum?: boolean;
}

export interface BiasShiftStudy {
  classes: number[];
  /** Chosen on validation. */
  chosenShift: number;
  validation: { atZero: ShiftErrors; atChosen: ShiftErrors; curve: { shift: number; errors: number }[] };
  test: { atZero: ShiftErrors; atChosen: ShiftErrors };
  /** The test set's own best shift, only with reportTestOptimum (null otherwise). */
  testOptimum: { shift: number; atOptimum: ShiftErrors; curve: { shift: number; errors: number }[] } | null;
}

/**
 * Chooses the shift on validation, then reports the test errors without and with it. The test
 * logits are read at exactly two shifts unless `reportTestOptimum` is set.
 */
export function biasShiftStudy(options: BiasShiftOptions): BiasShiftStudy {
  const { classes, shifts, validation, test } = options;
  if (validation?.split !== 'validation') {
    throw new InputError('TEST_SET_PEEK', `biasShiftStudy: the shift must be chosen on the validation split, got "${validation?.split}". Score the model on chapterData(cfg).validation.`);
  }
  if (test?.split !== 'test') {
    throw new InputError('BAD_INPUT', `biasShiftStudy: test must be the test split's scores, got "${test?.split}".`);
  }
  checkShiftClasses(classes, 'biasShiftStudy');
  checkScored(validation, 'biasShiftStudy');
  checkScored(test, 'biasShiftStudy');
  if (shifts.length === 0) throw new InputError('BAD_INPUT', 'biasShiftStudy: give at least one shift to try (e.g. shiftGrid(-20, 20, 0.1)).');
  const vTable = shiftTable(validation, classes);
  const tTable = shiftTable(test, classes);
  const v = bestOnTable(vTable, shifts);
  const chosenShift = v.best.shift;
  const optimum = options.reportTestOptimum ? bestOnTable(tTable, shifts) : null;
  return {
    classes: [...classes],
    chosenShift,
    validation: { atZero: errorsFromTable(vTable, 0), atChosen: v.best, curve: v.curve },
    test: { atZero: errorsFromTable(tTable, 0), atChosen: errorsFromTable(tTable, chosenShift) },
    testOptimum: optimum ? { shift: optimum.best.shift, atOptimum: optimum.best, curve: optimum.curve } : null,
  };
}

/** One seed's test errors over a window of shifts, and the shift its validation split chose. */
export interface ShiftCurveSeed {
  seed: number;
  /** Chosen on validation (biasShiftStudy's chosenShift); one of `shifts`. */
  chosenShift: number;
  /** Test errors at each of `shifts`. */
  testErrors: number[];
}

/** A bias-shift study repeated over seeds: the input of one panel of the errors-vs-bias-shift figure. */
export interface ShiftCurves {
  /** E.g. "no 3 in the transfer set". */
  name: string;
  /** The classes whose logits were shifted together. */
  classes: number[];
  /** Shifts, ascending, shared by every seed. */
  shifts: number[];
  seeds: ShiftCurveSeed[];
}

/**
 * The test errors of `studies` (one per seed, all run with reportTestOptimum on the same grid)
 * at the shifts from `margin` below to `margin` above the span of 0, the chosen shifts and the
 * test optima: a report for a figure, never a choice (the shift stays the validation's).
 */
export function shiftCurves(name: string, studies: readonly BiasShiftStudy[], seeds: readonly number[], margin = 3): ShiftCurves {
  if (studies.length === 0 || studies.length !== seeds.length) {
    throw new InputError('SHAPE_MISMATCH', `shiftCurves: ${studies.length} studies for ${seeds.length} seeds; give one study per seed.`);
  }
  if (!(Number.isFinite(margin) && margin >= 0)) throw new InputError('BAD_INPUT', `shiftCurves: margin must be ≥ 0, got ${margin}.`);
  const curves = studies.map((s, i) => {
    if (!s.testOptimum) {
      throw new InputError('BAD_INPUT', `shiftCurves: the study of seed ${seeds[i]} has no test curve; run biasShiftStudy with reportTestOptimum: true.`);
    }
    return s.testOptimum.curve;
  });
  const grid = curves[0].map((c) => c.shift);
  curves.forEach((c, i) => {
    if (c.length !== grid.length || c.some((p, k) => p.shift !== grid[k])) {
      throw new InputError('SHAPE_MISMATCH', `shiftCurves: seed ${seeds[i]} was studied on another grid of shifts; use the same shifts for every seed.`);
    }
  });
  const marks = [0, ...studies.flatMap((s) => [s.chosenShift, s.testOptimum!.shift])];
  const lo = Math.min(...marks) - margin;
  const hi = Math.max(...marks) + margin;
  const keep = grid.map((x, k) => (x >= lo - 1e-9 && x <= hi + 1e-9 ? k : -1)).filter((k) => k >= 0);
  return {
    name,
    classes: [...studies[0].classes],
    shifts: keep.map((k) => grid[k]),
    seeds: studies.map((s, i) => ({ seed: seeds[i], chosenShift: s.chosenShift, testErrors: keep.map((k) => curves[i][k].errors) })),
  };
}
