/**
 * Grader-side checks ("probes"). Test cells run inside the kernel, in the same process as the
 * student's code, so a determined submission can patch whatever they use, up to the kernel's own
 * execute_reply (see homework/README.md, threat model). A probe closes that gap: after a test cell
 * passes, the grader sends a fresh challenge (inputs drawn here, at grading time, from the
 * grader's own random source), the kernel returns what the student's code computes for it, and
 * the grader compares that with values it computes itself, in its own process. Faking a probe
 * answer takes computing the right answer, which is what the question asks for.
 */
import { randomInt } from 'node:crypto';
import type { Notebook } from '../runner/nbformat';
import { hw3Parameters, hw3ReferenceGrid, type Hw3Row } from './hw3';
import { HW4_PROBES } from './hw4';
import { entropyOf, logSoftmaxT, softmaxT } from 'kdlab/internals';

export interface ProbeChallenge {
  /** TypeScript run in the kernel after the test cell: a function body whose `return` value is reported. */
  code: string;
  /** Problems found in the reported value; empty means the probe passed. */
  verify(value: unknown): string[];
}

export interface ProbeContext {
  /** The SOURCE notebook (never the submission): parameters are read from here. */
  source: Notebook;
}

export interface Probe {
  prepare(random: () => number, context: ProbeContext): ProbeChallenge | Promise<ProbeChallenge>;
}

/** Uniform in [0, 1) from the OS's CSPRNG: nothing in the submission can predict a challenge. */
export function graderRandom(): number {
  return randomInt(0, 2 ** 48 - 1) / 2 ** 48;
}

export function isNumberArray(v: unknown, length?: number): v is number[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'number') && (length === undefined || v.length === length);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;

/** How far off a number is, never what it should have been (the student may see the same probe family again). */
export function offBy(got: number, want: number): string {
  if (Number.isNaN(got)) return 'is NaN';
  if (!Number.isFinite(got)) return `is ${got}`;
  // Two significant digits of the distance: how far, not where (a relative error beside it would
  // give the expected value away as distance / relative error).
  return `is off by ${Math.abs(got - want).toExponential(1)}`;
}

/** Compares arrays entry by entry; one message for the first mismatch, without the expected values. */
export function compareArrays(label: string, got: unknown, want: readonly number[], tol: number): string[] {
  if (!Array.isArray(got)) return [`${label}: not an array of ${want.length} numbers (${got === null ? 'null' : typeof got})`];
  if (got.length !== want.length) return [`${label}: ${got.length} numbers instead of ${want.length}`];
  for (let i = 0; i < want.length; i++) {
    const g: unknown = got[i];
    if (typeof g !== 'number') return [`${label}: entry ${i} is not a number (${typeof g})`];
    if (!(Math.abs(g - want[i]) <= tol)) return [`${label}: entry ${i} ${offBy(g, want[i])} (tolerance ${tol})`];
  }
  return [];
}

export function compareNumber(label: string, got: unknown, want: number, tol: number): string[] {
  if (typeof got !== 'number') return [`${label}: not a number (${got === null ? 'null' : typeof got})`];
  if (!(Math.abs(got - want) <= tol)) return [`${label} ${offBy(got, want)} (tolerance ${tol})`];
  return [];
}

/** Tensors the probe's calls left behind, as the kernel reports them. */
function leakMessage(label: string, leaked: unknown): string[] {
  return leaked === 0 ? [] : [`${label} leaks tensors (${typeof leaked === 'number' ? leaked : '?'} left after the call; use tf.tidy)`];
}

/** Logits for the hw1 probes: n entries in [-spread, spread] on a grid of 0.01. */
function randomLogits(random: () => number, n: number, spread: number): number[] {
  return Array.from({ length: n }, () => round((random() * 2 - 1) * spread, 2));
}

const hw1Softmax: Probe = {
  prepare(random) {
    const rows = 2 + Math.floor(random() * 3);
    const cols = 3 + Math.floor(random() * 4);
    const X: number[][] = [];
    for (let r = 0; r < rows; r++) X.push(Array.from({ length: cols }, () => round(random() * 12 - 6, 3)));
    const T = round(0.3 + random() * 6, 3);
    // One row far out in the logits, where a naive exp overflows float32 (x / T near 120 > 88.7).
    // Scaled with T rather than fixed at 900: at x / T in the thousands a correct float32 softmax
    // is off by ~6e-5 from the float64 value, and the probe flaked on honest answers.
    const far = Math.ceil(120 * T);
    X.push(Array.from({ length: cols }, (_, i) => (i === 0 ? far : round(far - 5 * random(), 3))));
    const v = randomLogits(random, 3 + Math.floor(random() * 3), 5);
    const vT = round(0.5 + random() * 4, 2);
    const badT = [0, -round(0.1 + random() * 3, 2), Number.NaN, Number.POSITIVE_INFINITY][Math.floor(random() * 4)];
    const badLiteral = Number.isNaN(badT) ? 'Number.NaN' : badT === Number.POSITIVE_INFINITY ? 'Number.POSITIVE_INFINITY' : String(badT);
    return {
      code: `
const probeBefore = tf.memory().numTensors;
const probeIn = tf.tensor2d(${JSON.stringify(X)});
const probeOut = softmaxWithTemperature(probeIn, ${T});
const probeRes = { shape: probeOut.shape, values: Array.from(probeOut.dataSync()) };
probeOut.dispose();
probeIn.dispose();
const probeVecIn = tf.tensor1d(${JSON.stringify(v)});
const probeVec = softmaxWithTemperature(probeVecIn, ${vT});
const probeVecRes = { shape: probeVec.shape, values: Array.from(probeVec.dataSync()) };
probeVec.dispose();
probeVecIn.dispose();
const probeLeaked = tf.memory().numTensors - probeBefore;
let probeThrew = false;
try { softmaxWithTemperature(tf.tensor1d([1, 2]), ${badLiteral}); } catch (e) { probeThrew = e instanceof RangeError; }
return { ...probeRes, vector: probeVecRes, leaked: probeLeaked, threw: probeThrew };`,
      verify(value) {
        if (!isRecord(value)) return ['no result from softmaxWithTemperature on the grader\'s input'];
        const msgs: string[] = [];
        if (!isNumberArray(value.shape, 2) || value.shape[0] !== X.length || value.shape[1] !== cols) {
          msgs.push(`on a ${X.length}x${cols} batch the output shape is ${isNumberArray(value.shape) ? `[${value.shape.join(', ')}]` : 'not a shape'}`);
        }
        // The reference sees what the tensor holds: the inputs rounded to float32.
        const want = X.flatMap((row) => softmaxT(row.map(Math.fround), T));
        msgs.push(...compareArrays(`softmax of a ${X.length}x${cols} batch at T = ${T} (one row with logits near ${far})`, value.values, want, 2e-5));
        const vec = isRecord(value.vector) ? value.vector : {};
        if (!isNumberArray(vec.shape, 1) || vec.shape[0] !== v.length) msgs.push(`a vector of ${v.length} logits does not give a vector of ${v.length} probabilities`);
        msgs.push(...compareArrays(`softmax of a vector of ${v.length} logits at T = ${vT}`, vec.values, softmaxT(v.map(Math.fround), vT), 2e-5));
        msgs.push(...leakMessage('softmaxWithTemperature', value.leaked));
        if (value.threw !== true) msgs.push(`T = ${badT} did not throw a RangeError`);
        return msgs;
      },
    };
  },
};

const round2 = (x: number) => Math.round(x * 100) / 100;
const r3 = (xs: number[]) => xs.map((x) => round(x, 3));

/** Logits whose softmax has no probability within `margin` of a rounding boundary at `digits` decimals. */
function logitsAwayFromRounding(random: () => number, digits: number, margin: number): number[] {
  for (;;) {
    const z = randomLogits(random, 3 + Math.floor(random() * 3), 3);
    const q = softmaxT(z, 1);
    const scale = 10 ** digits;
    if (q.every((x) => Math.abs(((x * scale) % 1) - 0.5) > margin * scale)) return z;
  }
}

const hw1Worked: Probe = {
  prepare(random) {
    const z = randomLogits(random, 3 + Math.floor(random() * 3), 3);
    // Four questions to agreesWithPrinted, at least one of each answer: guessing a constant fails.
    const cases: Array<{ logits: number[]; printed: number[]; agrees: boolean }> = [];
    for (let k = 0; k < 4; k++) {
      const logits = logitsAwayFromRounding(random, 2, 1e-4);
      const printed = softmaxT(logits, 1).map(round2);
      const agrees = k === 0 ? true : k === 1 ? false : random() < 0.5;
      if (!agrees) {
        const i = Math.floor(random() * printed.length);
        printed[i] = round2(printed[i] + (random() < 0.5 ? -1 : 1) * (0.01 + Math.floor(random() * 5) / 100));
      }
      cases.push({ logits, printed, agrees });
    }
    for (let k = cases.length - 1; k > 0; k--) {
      const j = Math.floor(random() * (k + 1));
      [cases[k], cases[j]] = [cases[j], cases[k]];
    }
    return {
      code: `return { ex: workedExample(${JSON.stringify(z)}), agrees: ${JSON.stringify(cases.map((c) => [c.logits, c.printed]))}.map(([l, p]) => agreesWithPrinted(l, p)) };`,
      verify(value) {
        if (!isRecord(value) || !isRecord(value.ex)) return ['workedExample() returned nothing usable'];
        const msgs = [
          ...compareArrays(`workedExample(${JSON.stringify(z)}).t1`, value.ex.t1, r3(softmaxT(z, 1)), 0.0011),
          ...compareArrays(`workedExample(${JSON.stringify(z)}).t2`, value.ex.t2, r3(softmaxT(z, 2)), 0.0011),
        ];
        const got = Array.isArray(value.agrees) ? value.agrees : [];
        const wrong = cases.filter((c, k) => got[k] !== c.agrees);
        if (wrong.length > 0) msgs.push(`agreesWithPrinted gave the wrong answer for ${wrong.length} of ${cases.length} (logits, printed) pairs drawn by the grader, e.g. logits ${JSON.stringify(wrong[0].logits)}`);
        return msgs;
      },
    };
  },
};

const CANDIDATE_POOL = [0.5, 1, 2, 3, 5, 8, 10, 20, 30, 50, 100, 200, 500, 1000];

const hw1Limits: Probe = {
  prepare(random) {
    for (;;) {
      const n = 3 + Math.floor(random() * 4);
      const z = randomLogits(random, n, 4);
      const candidates = CANDIDATE_POOL.filter(() => random() < 0.5);
      if (candidates.length < 3) continue;
      // No candidate where float32 rounding could move the answer (its gap to 0.01 is at least 1e-4).
      const gaps = candidates.map((T) => Math.max(...softmaxT(z, T)) - 1 / n - 0.01);
      if (gaps.some((g) => Math.abs(g) < 1e-4)) continue;
      const first = candidates.find((_, k) => gaps[k] < 0);
      const q100 = softmaxT(z, 100);
      return {
        code: `return limitsOfT(${JSON.stringify(z)}, ${JSON.stringify(candidates)});`,
        verify(value) {
          if (!isRecord(value)) return ['limitsOfT() returned nothing usable'];
          const on = `on logits ${JSON.stringify(z)}`;
          const msgs = [
            ...compareNumber(`maxProbAtT01 ${on}`, value.maxProbAtT01, Math.max(...softmaxT(z, 0.1)), 1e-4),
            ...compareNumber(`maxProbAtT100 ${on}`, value.maxProbAtT100, Math.max(...q100), 1e-4),
            ...compareNumber(`entropyAtT100 ${on}`, value.entropyAtT100, entropyOf(q100), 1e-4),
            ...compareNumber(`maxEntropy for ${n} classes`, value.maxEntropy, Math.log(n), 1e-4),
          ];
          const f = value.firstNearUniformT;
          const ok = first === undefined ? typeof f === 'number' && Number.isNaN(f) : f === first;
          // The probe's encoder sends NaN as null.
          const okNull = first === undefined && f === null;
          if (!ok && !okNull) msgs.push(`firstNearUniformT ${on} with candidates ${JSON.stringify(candidates)} is not the first near-uniform temperature`);
          return msgs;
        },
      };
    }
  },
};


function randomMatrix(random: () => number, rows: number, cols: number, scale: number): number[][] {
  return Array.from({ length: rows }, () => Array.from({ length: cols }, () => round((random() * 2 - 1) * scale, 3)));
}

/** Float64 reference: T² · KL(softmax(v/T) ‖ softmax(z/T)), summed over classes, batch mean. */
export function referenceDistillation(student: number[][], teacher: number[][], T: number): number {
  let total = 0;
  student.forEach((row, n) => {
    const lp = logSoftmaxT(teacher[n], T);
    const lq = logSoftmaxT(row, T);
    total += lp.reduce((a, l, i) => a + Math.exp(l) * (l - lq[i]), 0);
  });
  return (T * T * total) / student.length;
}

export function referenceCrossEntropy(student: number[][], labels: number[]): number {
  return -student.reduce((a, row, n) => a + logSoftmaxT(row, 1)[labels[n]], 0) / student.length;
}

const relClose = (label: string, got: unknown, want: number, rel: number): string[] =>
  compareNumber(label, got, want, rel * Math.max(1, Math.abs(want)));

const hw2Loss: Probe = {
  prepare(random) {
    const n = 2 + Math.floor(random() * 3);
    const c = 3 + Math.floor(random() * 4);
    const S = randomMatrix(random, n, c, 5);
    const V = randomMatrix(random, n, c, 5);
    const Y = Array.from({ length: n }, () => Math.floor(random() * c));
    const T = round(0.5 + random() * 9.5, 2);
    const alpha = round(random(), 2);
    const far = 500 + Math.floor(random() * 1000);
    return {
      code: `
const s = tf.tensor2d(${JSON.stringify(S)});
const t = tf.tensor2d(${JSON.stringify(V)});
const y = tf.tensor1d(${JSON.stringify(Y)}, 'int32');
const probeBefore = tf.memory().numTensors;
const d = distillationLoss(s, t, ${T});
const c = combinedLoss(s, t, y, ${T}, ${alpha});
const res = { shape: d.shape, distill: d.dataSync()[0], combined: c.dataSync()[0] };
tf.dispose([d, c]);
const leaked = tf.memory().numTensors - probeBefore;
tf.dispose([s, t, y]);
const bs = tf.tensor2d([[${far}, ${-far}]]);
const bt = tf.tensor2d([[${-far}, ${far}]]);
const bd = distillationLoss(bs, bt, 1);
const big = bd.dataSync()[0];
tf.dispose([bs, bt, bd]);
return { ...res, leaked, big };`,
      verify(value) {
        if (!isRecord(value)) return ['no result from the losses on the grader\'s input'];
        const kd = referenceDistillation(S, V, T);
        const ce = referenceCrossEntropy(S, Y);
        return [
          ...(isNumberArray(value.shape, 0) ? [] : [`distillationLoss returned shape ${JSON.stringify(value.shape)}, not a scalar`]),
          ...relClose(`distillationLoss on a ${n}x${c} batch at T = ${T}`, value.distill, kd, 1e-4),
          ...relClose(`combinedLoss on a ${n}x${c} batch at T = ${T}, alpha = ${alpha}`, value.combined, alpha * kd + (1 - alpha) * ce, 1e-4),
          ...leakMessage('distillationLoss or combinedLoss', value.leaked),
          ...(typeof value.big === 'number' && Number.isFinite(value.big) ? [] : [`distillationLoss of logits near ±${far} is not a finite number (compute the logarithms with tf.logSoftmax)`]),
        ];
      },
    };
  },
};

const hw2Gradient: Probe = {
  prepare(random) {
    const Z = randomMatrix(random, 2, 3, 2);
    const W = randomMatrix(random, 2, 3, 1);
    const n = 2 + Math.floor(random() * 2);
    const c = 3 + Math.floor(random() * 3);
    const S = randomMatrix(random, n, c, 4);
    const V = randomMatrix(random, n, c, 4);
    const T = round(0.5 + random() * 9.5, 2);
    return {
      code: `
const W = ${JSON.stringify(W)};
const cubic = (z: number[][]) => {
  let total = 0;
  for (let i = 0; i < z.length; i++) for (let j = 0; j < z[i].length; j++) total += W[i][j] * z[i][j] * z[i][j] * z[i][j];
  return total;
};
const z = ${JSON.stringify(Z)};
const numeric = numericalGradient(cubic, z, 1e-4);
return { numeric, unchanged: JSON.stringify(z) === ${JSON.stringify(JSON.stringify(Z))}, analytic: analyticDistillationGradient(${JSON.stringify(S)}, ${JSON.stringify(V)}, ${T}) };`,
      verify(value) {
        if (!isRecord(value) || !Array.isArray(value.numeric) || !Array.isArray(value.analytic)) return ['no gradients came back for the grader\'s input'];
        const numeric = value.numeric as unknown[];
        const analytic = value.analytic as unknown[];
        const msgs: string[] = value.unchanged === true ? [] : ['numericalGradient changed the z it was given (or returned nothing to compare)'];
        Z.forEach((row, i) => {
          msgs.push(...compareArrays(`numericalGradient of a cubic, row ${i}`, numeric[i], row.map((z, j) => 3 * W[i][j] * z * z), 1e-5));
        });
        S.forEach((row, b) => {
          const q = softmaxT(row, T);
          const p = softmaxT(V[b], T);
          msgs.push(...compareArrays(`analyticDistillationGradient at T = ${T}, row ${b}`, analytic[b], q.map((qi, i) => (T * (qi - p[i])) / n), 1e-7));
        });
        return msgs.slice(0, 4);
      },
    };
  },
};

const hw2Bug: Probe = {
  prepare(random) {
    const T = round(1 + random() * 9, 2);
    const C = 2 + Math.floor(random() * 20);
    return {
      code: `return { diagnosis: diagnosis(), ratio: faultyToCorrectRatio(${T}, ${C}) };`,
      verify(value) {
        if (!isRecord(value) || !isRecord(value.diagnosis)) return ['diagnosis() returned nothing usable'];
        const d = value.diagnosis;
        const want: Record<string, boolean> = { missingTSquared: true, meanOverAllElements: true, klInTheWrongDirection: false, temperatureOnOneSideOnly: false };
        const wrong = Object.keys(want).filter((k) => d[k] !== want[k]);
        return [
          // Which flags are wrong is not said: four booleans are a fixed answer (see the notebook).
          ...(wrong.length ? ['diagnosis() is not right (which of the four flags is not said: read faultyDistillationLoss again)'] : []),
          ...relClose(`faultyToCorrectRatio(${T}, ${C})`, value.ratio, 1 / (T * T * C), 1e-6),
        ];
      },
    };
  },
};


function hw3Tolerance(validationSize: number): number {
  // One validation example either way, in case a backend rounds differently.
  return 1.5 / validationSize;
}

const hw3Rows: Probe = {
  async prepare(_random, { source }) {
    const params = hw3Parameters(source);
    const reference = await hw3ReferenceGrid(params);
    const tol = hw3Tolerance(params.validationSize);
    return {
      code: 'return rows.map((r) => ({ T: r.T, alpha: r.alpha, accuracy: r.accuracy }));',
      verify(value) {
        if (!Array.isArray(value) || value.length !== reference.length) {
          return [`expected ${reference.length} rows, got ${Array.isArray(value) ? value.length : 'no list'}`];
        }
        const msgs: string[] = [];
        reference.forEach((want, k) => {
          const got: unknown = value[k];
          if (!isRecord(got) || got.T !== want.T || got.alpha !== want.alpha) {
            msgs.push(`row ${k} should be T = ${want.T}, alpha = ${want.alpha}`);
          } else if (typeof got.accuracy !== 'number' || !(Math.abs(got.accuracy - want.accuracy) <= tol)) {
            msgs.push(`row ${k} (T = ${want.T}, alpha = ${want.alpha}): the accuracy ${typeof got.accuracy === 'number' ? offBy(got.accuracy, want.accuracy) : 'is not a number'} from the grader's run at the grading seed`);
          }
        });
        return msgs.slice(0, 5);
      },
    };
  },
};

/** Checks answers against a grid; exported for tests. */
export function checkHw3Answers(value: unknown, grid: readonly Hw3Row[], tol: number): string[] {
  if (!isRecord(value)) return ['gridAnswers() returned nothing usable'];
  const top = Math.max(...grid.map((r) => r.accuracy));
  const hard = grid.find((r) => r.alpha === 0);
  const highestT = Math.max(...grid.map((r) => r.T));
  const atT = grid.filter((r) => r.T === highestT);
  const topAtT = Math.max(...atT.map((r) => r.accuracy));
  const msgs: string[] = [];
  const chosen = grid.find((r) => r.T === value.bestT && r.alpha === value.bestAlpha);
  if (!chosen || chosen.accuracy < top - tol) msgs.push(`bestT = ${JSON.stringify(value.bestT)}, bestAlpha = ${JSON.stringify(value.bestAlpha)} is not a best row of the grid`);
  msgs.push(...compareNumber('bestAccuracy', value.bestAccuracy, top, tol));
  if (hard) {
    msgs.push(...compareNumber('hardLabelAccuracy', value.hardLabelAccuracy, hard.accuracy, tol));
    msgs.push(...compareNumber('gainOverHardLabels', value.gainOverHardLabels, top - hard.accuracy, 2 * tol));
  }
  const pick = atT.find((r) => r.alpha === value.bestAlphaAtHighestT);
  if (!pick || pick.accuracy < topAtT - tol) msgs.push(`bestAlphaAtHighestT = ${JSON.stringify(value.bestAlphaAtHighestT)} is not a best alpha at T = ${highestT}`);
  return msgs;
}

const hw3Answers: Probe = {
  async prepare(_random, { source }) {
    const params = hw3Parameters(source);
    const reference = await hw3ReferenceGrid(params);
    return {
      code: 'return gridAnswers();',
      verify: (value) => checkHw3Answers(value, reference, hw3Tolerance(params.validationSize)),
    };
  },
};

/** Probes by the grade_id of the test cell they back up. */
export const HOMEWORK_PROBES: Readonly<Record<string, Probe>> = {
  'hw1-q1-tests': hw1Softmax,
  'hw1-q2-tests': hw1Worked,
  'hw1-q3-tests': hw1Limits,
  'hw2-q1-tests': hw2Loss,
  'hw2-q2-tests': hw2Gradient,
  'hw2-q3-tests': hw2Bug,
  'hw3-q1-tests': hw3Rows,
  'hw3-q2-tests': hw3Answers,
  ...HW4_PROBES,
};
