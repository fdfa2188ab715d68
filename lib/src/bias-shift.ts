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
 * Errors when `shift` is added to the logits of `classes` (first maximum wins ties, as in
 * argmax). The shift is the change of those classes' output biases.
 */
export function errorsWithShift(scored: ScoredSplit, classes: readonly number[], shift: number): ShiftErrors {
  const n = checkScored(scored, 'errorsWithShift');
  checkShiftClasses(classes, 'errorsWithShift');
  if (!Number.isFinite(shift)) throw new InputError('BAD_INPUT', `errorsWithShift: shift must be a finite number, got ${shift}.`);
  const add = new Float64Array(NUM_CLASSES);
  for (const c of classes) add[c] = shift;
  const errorsByClass = new Array<number>(NUM_CLASSES).fill(0);
  const countByClass = new Array<number>(NUM_CLASSES).fill(0);
  let errors = 0;
  for (let r = 0; r < n; r++) {
    let best = 0;
    let bestV = scored.logits[r * NUM_CLASSES] + add[0];
    for (let c = 1; c < NUM_CLASSES; c++) {
      const v = scored.logits[r * NUM_CLASSES + c] + add[c];
      if (v > bestV) {
        bestV = v;
        best = c;
      }
    }
    const y = scored.labels[r];
    countByClass[y]++;
    if (best !== y) {
      errors++;
      errorsByClass[y]++;
    }
  }
  return { shift, errors, errorsByClass, countByClass };
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
  let best: ShiftErrors | null = null;
  const curve: { shift: number; errors: number }[] = [];
  for (const s of shifts) {
    const e = errorsWithShift(scored, classes, s);
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
  const v = bestShift(validation, classes, shifts);
  const chosenShift = v.best.shift;
  const optimum = options.reportTestOptimum ? bestShift(test, classes, shifts) : null;
  return {
    classes: [...classes],
    chosenShift,
    validation: { atZero: errorsWithShift(validation, classes, 0), atChosen: v.best, curve: v.curve },
    test: { atZero: errorsWithShift(test, classes, 0), atChosen: errorsWithShift(test, classes, chosenShift) },
    testOptimum: optimum ? { shift: optimum.best.shift, atOptimum: optimum.best, curve: optimum.curve } : null,
  };
}
