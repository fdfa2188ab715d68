/**
 * The grader's own copy of hw3's grid. The notebook's locked setup cell trains the same teacher
 * and students with the same seeds; the grader re-runs that recipe in its own process, with the
 * parameters of the SOURCE notebook, and checks the submission's rows and answers against it.
 * Keep the two in step: the solved-source test fails if they drift apart.
 */
import type { Notebook } from '../runner/nbformat';
import { cellText } from './markers';
import { ToolError } from '../errors';

export interface Hw3Parameters {
  trainSize: number;
  validationSize: number;
  teacherEpochs: number;
  studentEpochs: number;
  temperatures: number[];
  alphas: number[];
  seed: number;
}

export interface Hw3Row {
  T: number;
  alpha: number;
  accuracy: number;
}

/** `let name = <JSON literal>;` lines of the notebook's cell tagged "parameters". */
export function notebookParameters(nb: Notebook): Record<string, unknown> {
  const cell = nb.cells.find((c) => c.cell_type === 'code' && Array.isArray(c.metadata.tags) && c.metadata.tags.includes('parameters'));
  if (!cell) throw new ToolError('HOMEWORK_NO_PARAMETERS', 'the source notebook has no cell tagged "parameters".');
  const out: Record<string, unknown> = {};
  for (const line of cellText(cell).split('\n')) {
    const m = /^\s*let\s+([A-Za-z_]\w*)\s*(?::[^=]+)?=\s*(.+?);?\s*(\/\/.*)?$/.exec(line);
    if (!m) continue;
    try {
      out[m[1]] = JSON.parse(m[2]) as unknown;
    } catch {
      throw new ToolError('HOMEWORK_BAD_PARAMETERS', `parameter ${m[1]}: "${m[2]}" is not a JSON literal.`);
    }
  }
  return out;
}

function isNumbers(v: unknown): v is number[] {
  return Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'number' && Number.isFinite(x));
}

export function hw3Parameters(nb: Notebook): Hw3Parameters {
  const p = notebookParameters(nb);
  const num = (k: string): number => {
    const v = p[k];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new ToolError('HOMEWORK_BAD_PARAMETERS', `parameter ${k} must be a number.`);
    return v;
  };
  const list = (k: string): number[] => {
    const v = p[k];
    if (!isNumbers(v)) throw new ToolError('HOMEWORK_BAD_PARAMETERS', `parameter ${k} must be a list of numbers.`);
    return v;
  };
  return {
    trainSize: num('trainSize'),
    validationSize: num('validationSize'),
    teacherEpochs: num('teacherEpochs'),
    studentEpochs: num('studentEpochs'),
    temperatures: list('temperatures'),
    alphas: list('alphas'),
    seed: num('seed'),
  };
}

const memo = new Map<string, Promise<Hw3Row[]>>();

async function computeGrid(p: Hw3Parameters): Promise<Hw3Row[]> {
  // Loaded here, not at the top: grading hw1 or hw2 never pays for TensorFlow.js in the grader.
  const { createStudent, createTeacher, evaluate, initBackend, loadSplits, predictLogits, take, train } = await import('kdlab');
  // The student's kernel computes on pure wasm (the sandbox binds no native addon, and Node's
  // permission model refuses addons), so the reference does too: training is chaotic enough that
  // OpenBLAS's different rounding moves accuracies by more than the tolerance.
  await initBackend({ quiet: true, backend: 'wasm' });
  const splits = loadSplits({ validationSize: p.validationSize, seed: p.seed });
  const trainSet = take(splits.train, p.trainSize);
  const teacher = createTeacher({ hidden: [256, 256], seed: p.seed });
  try {
    await train(teacher, { train: trainSet, epochs: p.teacherEpochs, batchSize: 100, seed: p.seed, abortOnInterrupt: false });
    const teacherLogits = predictLogits(teacher, trainSet);
    const rows: Hw3Row[] = [];
    for (const T of p.temperatures) {
      for (const alpha of p.alphas) {
        const student = createStudent({ hidden: [20], seed: p.seed });
        try {
          await train(student, {
            train: trainSet,
            epochs: p.studentEpochs,
            batchSize: 100,
            seed: p.seed,
            loss: { teacherLogits, temperature: T, alpha },
            abortOnInterrupt: false,
          });
          rows.push({ T, alpha, accuracy: evaluate(student, splits.validation).accuracy });
        } finally {
          student.dispose();
        }
      }
    }
    return rows;
  } finally {
    teacher.dispose();
  }
}

/** The reference grid for these parameters, computed once per grader process. */
export function hw3ReferenceGrid(p: Hw3Parameters): Promise<Hw3Row[]> {
  const key = JSON.stringify(p);
  let grid = memo.get(key);
  if (!grid) {
    grid = computeGrid(p);
    memo.set(key, grid);
    grid.catch(() => memo.delete(key));
  }
  return grid;
}
