/**
 * hw4-generalization on the grader's side: the assignment's parameters, the grader's own run of
 * the notebook's recipe (teacher, a transfer set without one digit, the distilled student, its
 * logits) and the probes that compare a submission's functions and answers with it. Like hw3's
 * reference, it runs with the SOURCE notebook's parameters and the grading seed, on pure wasm as
 * the sandboxed kernel does. Keep `computeReference` in step with the notebook's locked cells: the
 * solved-source test fails if they drift apart.
 */
import type { Notebook } from '../runner/nbformat';
import { ToolError } from '../errors';
import { notebookParameters } from './hw3';
import type { Probe } from './probes';

export interface Hw4Parameters {
  poolSize: number;
  validationSize: number;
  omittedDigit: number;
  teacherEpochs: number;
  studentEpochs: number;
  temperature: number;
  alpha: number;
  shiftMax: number;
  shiftStep: number;
  seed: number;
}

const KEYS = ['poolSize', 'validationSize', 'omittedDigit', 'teacherEpochs', 'studentEpochs', 'temperature', 'alpha', 'shiftMax', 'shiftStep', 'seed'] as const;

export function hw4Parameters(nb: Notebook): Hw4Parameters {
  const p = notebookParameters(nb);
  const out: Partial<Record<(typeof KEYS)[number], number>> = {};
  for (const k of KEYS) {
    const v = p[k];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new ToolError('HOMEWORK_BAD_PARAMETERS', `parameter ${k} must be a number.`);
    out[k] = v;
  }
  return out as Hw4Parameters;
}

/** The candidate shifts: 0, step, 2·step, … up to max (as the notebook's setup cell builds them). */
export function hw4Shifts(p: Pick<Hw4Parameters, 'shiftMax' | 'shiftStep'>): number[] {
  return Array.from({ length: Math.round(p.shiftMax / p.shiftStep) + 1 }, (_, k) => k * p.shiftStep);
}

/** Rows whose label is not `omitted`, ascending. */
export function referenceTransferIndices(labels: ArrayLike<number>, omitted: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < labels.length; i++) if (labels[i] !== omitted) out.push(i);
  return out;
}

/** Errors (and errors on `digit`) after adding `shift` to the logit of `digit`; first maximum wins. */
export function referenceErrorsWithShift(logits: ArrayLike<number>, labels: ArrayLike<number>, digit: number, shift: number, classes = 10): { errors: number; errorsOnDigit: number } {
  let errors = 0;
  let errorsOnDigit = 0;
  for (let r = 0; r < labels.length; r++) {
    let best = 0;
    let bestV = logits[r * classes] + (digit === 0 ? shift : 0);
    for (let c = 1; c < classes; c++) {
      const v = logits[r * classes + c] + (c === digit ? shift : 0);
      if (v > bestV) {
        bestV = v;
        best = c;
      }
    }
    if (best !== labels[r]) {
      errors++;
      if (labels[r] === digit) errorsOnDigit++;
    }
  }
  return { errors, errorsOnDigit };
}

export interface Hw4Reference {
  transferSize: number;
  /** Validation errors at every candidate shift. */
  validationErrors: number[];
  /** Test errors and errors on the digit at every candidate shift. */
  test: { errors: number; errorsOnDigit: number }[];
  shifts: number[];
}

const memo = new Map<string, Promise<Hw4Reference>>();

async function computeReference(p: Hw4Parameters): Promise<Hw4Reference> {
  const { createStudent, createTeacher, initBackend, loadSplits, predictLogits, subset, take, train } = await import('kdlab');
  await initBackend({ quiet: true, backend: 'wasm' });
  const splits = loadSplits({ validationSize: p.validationSize, seed: p.seed });
  const pool = take(splits.train, p.poolSize);
  const teacher = createTeacher({ hidden: [256, 256], seed: p.seed });
  const student = createStudent({ hidden: [64], seed: p.seed });
  try {
    await train(teacher, { train: pool, epochs: p.teacherEpochs, batchSize: 100, seed: p.seed, abortOnInterrupt: false });
    const poolLogits = predictLogits(teacher, pool);
    const rows = referenceTransferIndices(pool.labels, p.omittedDigit);
    const transfer = subset(pool, rows, 'transfer');
    const teacherLogits = new Float32Array(rows.length * 10);
    rows.forEach((i, r) => teacherLogits.set(poolLogits.subarray(i * 10, i * 10 + 10), r * 10));
    await train(student, {
      train: transfer, epochs: p.studentEpochs, batchSize: 50, seed: p.seed,
      loss: { teacherLogits, temperature: p.temperature, alpha: p.alpha }, abortOnInterrupt: false,
    });
    const valLogits = predictLogits(student, splits.validation);
    const testLogits = predictLogits(student, splits.test);
    const shifts = hw4Shifts(p);
    return {
      transferSize: rows.length,
      shifts,
      validationErrors: shifts.map((s) => referenceErrorsWithShift(valLogits, splits.validation.labels, p.omittedDigit, s).errors),
      test: shifts.map((s) => referenceErrorsWithShift(testLogits, splits.test.labels, p.omittedDigit, s)),
    };
  } finally {
    teacher.dispose();
    student.dispose();
  }
}

/** The grader's run for these parameters, computed once per grader process. */
export function hw4Reference(p: Hw4Parameters): Promise<Hw4Reference> {
  const key = JSON.stringify(p);
  let ref = memo.get(key);
  if (!ref) {
    ref = computeReference(p);
    memo.set(key, ref);
    ref.catch(() => memo.delete(key));
  }
  return ref;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Training may round differently across backends: this many images either way still count. */
export const HW4_TOLERANCE = { validation: 1, test: 3 } as const;

/** Checks chooseShift()'s answer against the grader's run; exported for tests. */
export function checkHw4Answer(value: unknown, ref: Hw4Reference): string[] {
  if (!isRecord(value)) return ['chooseShift() returned nothing usable'];
  const k = ref.shifts.findIndex((s) => s === value.shift);
  if (k < 0) return [`shift ${typeof value.shift === 'number' ? value.shift : '(not a number)'} is not one of the candidate shifts`];
  const msgs: string[] = [];
  const best = Math.min(...ref.validationErrors);
  const num = (key: string, want: number, tol: number) => {
    const got = value[key];
    if (typeof got !== 'number') msgs.push(`${key} is not a number`);
    else if (!(Math.abs(got - want) <= tol)) msgs.push(`${key} is off by ${Math.abs(got - want)} from the grader's run at the grading seed (tolerance ${tol})`);
  };
  if (ref.validationErrors[k] > best + HW4_TOLERANCE.validation) {
    msgs.push(`shift ${value.shift} makes ${ref.validationErrors[k] - best} more validation errors than the best candidate in the grader's run: choose the shift on validation`);
  }
  num('validationErrorsBefore', ref.validationErrors[0], HW4_TOLERANCE.validation);
  num('validationErrorsAfter', ref.validationErrors[k], HW4_TOLERANCE.validation);
  num('testErrorsBefore', ref.test[0].errors, HW4_TOLERANCE.test);
  num('testErrorsAfter', ref.test[k].errors, HW4_TOLERANCE.test);
  num('testErrorsOnDigitBefore', ref.test[0].errorsOnDigit, HW4_TOLERANCE.test);
  num('testErrorsOnDigitAfter', ref.test[k].errorsOnDigit, HW4_TOLERANCE.test);
  return msgs.slice(0, 5);
}

const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;

const hw4Transfer: Probe = {
  async prepare(random, { source }) {
    const p = hw4Parameters(source);
    const ref = await hw4Reference(p);
    const n = 20 + Math.floor(random() * 30);
    const labels = Array.from({ length: n }, () => Math.floor(random() * 10));
    const digit = Math.floor(random() * 10);
    const bad = [10, -1, 2.5][Math.floor(random() * 3)];
    return {
      code: `
let probeThrew = false;
try { transferIndices([1, 2, 3], ${bad}); } catch (e) { probeThrew = e instanceof RangeError; }
return { rows: transferIndices(${JSON.stringify(labels)}, ${digit}), empty: transferIndices([], ${digit}), size: transfer.size, threw: probeThrew };`,
      verify(value) {
        if (!isRecord(value)) return ['transferIndices() returned nothing usable'];
        const want = referenceTransferIndices(labels, digit);
        const msgs: string[] = [];
        if (JSON.stringify(value.rows) !== JSON.stringify(want)) msgs.push(`transferIndices on ${n} labels drawn by the grader, without ${digit}: not the rows whose label is not ${digit}, in order`);
        if (value.size !== ref.transferSize) msgs.push(`the transfer set's size differs from the grader's run by ${typeof value.size === 'number' ? Math.abs(value.size - ref.transferSize) : '(not a number)'} images`);
        if (!Array.isArray(value.empty) || value.empty.length !== 0) msgs.push('transferIndices of no labels is not an empty list');
        if (value.threw !== true) msgs.push(`omitted = ${bad} did not throw a RangeError`);
        return msgs;
      },
    };
  },
};

const hw4Errors: Probe = {
  prepare(random) {
    const n = 5 + Math.floor(random() * 20);
    // No ties, exact or within float32 rounding: on a grid of 0.01 two logits of a row would tie
    // often, and which one an arg-max keeps is not what the question asks. Each class gets its own
    // offset (a multiple of 0.0007) and the shift sits half-way between grid points, so any two
    // compared values differ by at least 1e-4, far above float32's rounding at |x| < 10.
    const logits = Array.from({ length: n * 10 }, (_, i) => round(random() * 8 - 4, 2) + (i % 10) * 0.0007);
    const labels = Array.from({ length: n }, () => Math.floor(random() * 10));
    const digit = Math.floor(random() * 10);
    const shift = round(random() * 6 - 1, 2) + 0.005;
    // And a second case made of ties (small integer logits, an integer shift): the question says a
    // tie goes to the first class, as argmax does (the hidden test's case, on drawn inputs).
    const tn = 40 + Math.floor(random() * 20);
    const tieLogits = Array.from({ length: tn * 10 }, () => Math.floor(random() * 3));
    const tieDigit = Math.floor(random() * 10);
    const tieShift = 1 + Math.floor(random() * 2);
    // Each row labelled with what the first-maximum rule predicts, so the reference counts no error
    // and any other tie rule counts one per row where the first and a later maximum differ (row 0
    // has such a tie by construction: classes 0 and 9, at the top, away from the shifted digit).
    if (tieDigit !== 0 && tieDigit !== 9) {
      for (let c = 0; c < 10; c++) tieLogits[c] = c === 0 || c === 9 ? 9 : 0;
    } else {
      for (let c = 0; c < 10; c++) tieLogits[c] = c === 1 || c === 8 ? 9 : 0;
    }
    const tieLabels = Array.from({ length: tn }, (_, r) => {
      let best = 0;
      const at = (c: number) => tieLogits[r * 10 + c] + (c === tieDigit ? tieShift : 0);
      for (let c = 1; c < 10; c++) if (at(c) > at(best)) best = c;
      return best;
    });
    return {
      code: `return { ...errorsWithShift(Float32Array.from(${JSON.stringify(logits)}), ${JSON.stringify(labels)}, ${digit}, ${shift}), ties: errorsWithShift(Float32Array.from(${JSON.stringify(tieLogits)}), ${JSON.stringify(tieLabels)}, ${tieDigit}, ${tieShift}) };`,
      verify(value) {
        if (!isRecord(value)) return ['errorsWithShift() returned nothing usable'];
        const want = referenceErrorsWithShift(Float32Array.from(logits), labels, digit, shift);
        const ties = referenceErrorsWithShift(Float32Array.from(tieLogits), tieLabels, tieDigit, tieShift);
        const got = isRecord(value.ties) ? value.ties : {};
        const msgs: string[] = [];
        if (got.errors !== ties.errors || got.errorsOnDigit !== ties.errorsOnDigit) {
          msgs.push(`errorsWithShift on ${tn} rows of small whole-number logits drawn by the grader (many ties; shift ${tieShift} on digit ${tieDigit}): not the counts of the rule "on a tie, the first class"`);
        }
        const off = (got: unknown, w: number) => (typeof got === 'number' ? `off by ${Math.abs(got - w)}` : 'not a number');
        if (value.errors !== want.errors) msgs.push(`errorsWithShift on ${n} rows drawn by the grader (digit ${digit}, shift ${shift}): errors is ${off(value.errors, want.errors)}`);
        if (value.errorsOnDigit !== want.errorsOnDigit) msgs.push(`errorsWithShift on ${n} rows drawn by the grader: errorsOnDigit is ${off(value.errorsOnDigit, want.errorsOnDigit)}`);
        return msgs;
      },
    };
  },
};

const hw4Choice: Probe = {
  async prepare(_random, { source }) {
    const ref = await hw4Reference(hw4Parameters(source));
    return { code: 'return chooseShift();', verify: (value) => checkHw4Answer(value, ref) };
  },
};

/** hw4's probes by the grade_id of the test cell they back up. */
export const HW4_PROBES: Readonly<Record<string, Probe>> = {
  'hw4-q1-tests': hw4Transfer,
  'hw4-q2-tests': hw4Errors,
  'hw4-q3-tests': hw4Choice,
};
