import type { SplitData } from './data';
import { InputError } from './errors';
import { evaluate } from './evaluate';
import { createStudent } from './models';
import { train, type DistillSpec } from './train';

/**
 * The chapter's headline comparison repeated over seeds: a student trained on the hard labels
 * ("scratch") and the same student distilled from the teacher, with the same initial weights,
 * batch order and budget per seed. The seed varies the student's initial weights and batch order;
 * the data split and the teacher stay fixed, so the spread measures what the student's training
 * adds. Reported as mean ± sample standard deviation, and the paired difference per seed.
 */

/** What one trained student scored (validation at the last epoch, test once at the end). */
export interface RunScore {
  valAccuracy: number;
  testAccuracy: number;
  testErrors: number;
}

export interface SeedRun {
  seed: number;
  scratch: RunScore;
  distilled: RunScore;
}

export interface MeanSd {
  mean: number;
  /** Sample standard deviation (n − 1); 0 for a single value. */
  sd: number;
  n: number;
}

export interface SeedComparison {
  hidden: number[];
  runs: SeedRun[];
  /** Test errors, mean ± sd over the seeds. */
  scratchErrors: MeanSd;
  distilledErrors: MeanSd;
  /** Scratch minus distilled test errors, per seed then mean ± sd (> 0: distillation helped). */
  errorsSaved: MeanSd;
  /** Seeds on which the distilled student made fewer test errors. */
  distilledWins: number;
}

export interface CompareOverSeedsOptions {
  data: SplitData;
  hidden: number[];
  seeds: number[];
  epochs: number;
  batchSize: number;
  /** The distilled student's loss (teacher logits for data.train, temperature, alpha). */
  distill: DistillSpec;
  /** Seeds already trained (e.g. the notebook's own run): not trained again. */
  done?: SeedRun[];
  /** Called after each seed finishes. */
  onSeed?: (run: SeedRun) => void;
}

/** Mean and sample standard deviation of `xs` (at least one value). */
export function meanSd(xs: readonly number[]): MeanSd {
  if (xs.length === 0 || xs.some((x) => !Number.isFinite(x))) {
    throw new InputError('BAD_INPUT', `meanSd needs at least one finite number, got [${xs.join(', ')}].`);
  }
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, sd, n };
}

/** "412.3 ± 17.0" with `digits` decimals. */
export function formatMeanSd(m: MeanSd, digits = 1): string {
  return `${m.mean.toFixed(digits)} ± ${m.sd.toFixed(digits)}`;
}

/** Scratch and distilled students per seed, then the summary over seeds. */
export async function compareOverSeeds(options: CompareOverSeedsOptions): Promise<SeedComparison> {
  const { data, hidden, seeds, epochs, batchSize, distill } = options;
  if (seeds.length === 0 || new Set(seeds).size !== seeds.length) {
    throw new InputError('BAD_INPUT', `compareOverSeeds: seeds must be distinct and at least one, got [${seeds.join(', ')}].`);
  }
  const runs: SeedRun[] = [];
  for (const seed of seeds) {
    const known = options.done?.find((r) => r.seed === seed);
    const run = known ?? {
      seed,
      scratch: await trainAndScore(data, hidden, seed, epochs, batchSize, 'hard'),
      distilled: await trainAndScore(data, hidden, seed, epochs, batchSize, distill),
    };
    runs.push(run);
    options.onSeed?.(run);
  }
  return summarize(hidden, runs);
}

/** The summary of per-seed runs (exported for tests and for runs trained elsewhere). */
export function summarize(hidden: number[], runs: SeedRun[]): SeedComparison {
  return {
    hidden,
    runs,
    scratchErrors: meanSd(runs.map((r) => r.scratch.testErrors)),
    distilledErrors: meanSd(runs.map((r) => r.distilled.testErrors)),
    errorsSaved: meanSd(runs.map((r) => r.scratch.testErrors - r.distilled.testErrors)),
    distilledWins: runs.filter((r) => r.distilled.testErrors < r.scratch.testErrors).length,
  };
}

async function trainAndScore(
  data: SplitData,
  hidden: number[],
  seed: number,
  epochs: number,
  batchSize: number,
  loss: 'hard' | DistillSpec,
): Promise<RunScore> {
  const model = createStudent({ hidden, seed });
  try {
    await train(model, { train: data.train, epochs, batchSize, seed, loss });
    const val = evaluate(model, data.validation);
    const test = evaluate(model, data.test);
    return { valAccuracy: val.accuracy, testAccuracy: test.accuracy, testErrors: test.errors };
  } finally {
    model.dispose();
  }
}
