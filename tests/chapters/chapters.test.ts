/**
 * The chapter notebooks executed in quick mode through the workbook's own runner (the main job's
 * code path), once each, with assertions on what matters: the worked example, every expected
 * figure, sane accuracies, the teacher beating both students, no failed cell, a valid and small
 * notebook. Notebook 03 runs in the fast tier (tests/notebook/chapter-03.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT, readJson, resultsFile } from './helpers';
import { execute, near } from './execute';

test('00-setup: backend, verified data, smoke training', async () => {
  await execute('00-setup');
  const r = readJson<{ trainImages: number; testImages: number; verification: string; smokeAccuracy: number }>(resultsFile('00-setup'));
  assert.equal(r.trainImages, 60000);
  assert.equal(r.testImages, 10000);
  assert.notEqual(r.verification, 'unrecorded');
  assert.ok(r.smokeAccuracy > 0.8 && r.smokeAccuracy < 1, `smoke accuracy ${r.smokeAccuracy}`);
});

test('01-soft-labels-and-temperature: the worked example, the limits, dark knowledge', async () => {
  await execute('01-soft-labels-and-temperature');
  const r = readJson<{
    workedExample: { T1: number[]; T2: number[] };
    chapterPrintedT1: number[];
    limits: Array<{ T: number; p1: number; distanceToUniform: number }>;
    darkKnowledge: Array<{ digit: number; ownMass: number; mostSimilarDigit: number }>;
  }>(resultsFile('01-soft-labels-and-temperature'));
  [0.629, 0.231, 0.14].forEach((p, i) => near(r.workedExample.T1[i], p, 5e-4, `T=1 q${i + 1}`));
  [0.481, 0.292, 0.227].forEach((p, i) => near(r.workedExample.T2[i], p, 5e-4, `T=2 q${i + 1}`));
  assert.deepEqual(r.chapterPrintedT1, [0.57, 0.28, 0.15]);
  const cold = r.limits.find((l) => l.T === 0.01);
  const hot = r.limits.find((l) => l.T === 1000);
  assert.ok(cold && cold.p1 > 1 - 1e-12, 'T -> 0 gives the one-hot arg-max');
  assert.ok(hot && hot.distanceToUniform < 1e-3, 'T -> infinity gives the uniform distribution');
  assert.equal(r.darkKnowledge.length, 10);
  for (const d of r.darkKnowledge) {
    assert.notEqual(d.mostSimilarDigit, d.digit);
    assert.ok(d.ownMass > 0.3 && d.ownMass < 1, `digit ${d.digit} keeps ${d.ownMass} of its mass at T = 4`);
  }
});

test('02-teacher-and-student: sizes, the teacher, the logit cache refuses jittered inputs', async () => {
  await execute('02-teacher-and-student');
  const r = readJson<{ models: Array<{ params: number; sizeBytes: number; latencyMs: number }>; teacherTestAccuracy: number; staleCacheRefused: boolean }>(
    resultsFile('02-teacher-and-student'),
  );
  // 784-1200-1200-10, 784-800-800-10, 784-30-30-10: weights plus biases, counted by hand.
  const mlp = (h: number[]): number => [784, ...h, 10].slice(1).reduce((sum, out, i) => sum + [784, ...h][i] * out + out, 0);
  assert.deepEqual(r.models.map((m) => m.params), [mlp([1200, 1200]), mlp([800, 800]), mlp([30, 30])]);
  for (const m of r.models) assert.ok(m.sizeBytes >= 4 * m.params, 'float32 weights take 4 bytes each');
  assert.ok(r.models[2].latencyMs < r.models[0].latencyMs, 'the 2x30 student answers faster than the teacher');
  assert.ok(r.teacherTestAccuracy > 0.95 && r.teacherTestAccuracy < 1, `teacher test accuracy ${r.teacherTestAccuracy}`);
  assert.equal(r.staleCacheRefused, true);
});

test('04-training-the-student: the teacher beats both students; accuracies are sane', async () => {
  await execute('04-training-the-student');
  type Run = { seed: number; scratch: { testErrors: number }; distilled: { testErrors: number } };
  type MeanSd = { mean: number; sd: number; n: number };
  const r = readJson<{
    seed: number;
    teacherTestAccuracy: number;
    scratch: { testAccuracy: number; testErrors: number; valAccuracyBest: number; valAccuracyLast: number };
    distilled: { testAccuracy: number; testErrors: number };
    small: { scratch: { testAccuracy: number }; distilled: { testAccuracy: number } };
    stepCheck: { lossGap: number; weightGap: number };
    headline: {
      seeds: number[]; runs: Run[]; scratchErrors: MeanSd; distilledErrors: MeanSd; errorsSaved: MeanSd; distilledWins: number;
    };
  }>(resultsFile('04-training-the-student'));
  // The KD step written out in the notebook is train()'s step: same loss, same weights.
  assert.ok(r.stepCheck.lossGap < 1e-3, `loss by hand vs train(): ${r.stepCheck.lossGap}`);
  assert.ok(r.stepCheck.weightGap < 1e-6, `weights by hand vs train(): ${r.stepCheck.weightGap}`);
  // The headline: at least 3 seeds, the notebook's own run among them, summarised correctly.
  const h = r.headline;
  assert.ok(h.seeds.length >= 3 && h.runs.length === h.seeds.length);
  const own = h.runs.find((x) => x.seed === r.seed);
  assert.deepEqual([own?.scratch.testErrors, own?.distilled.testErrors], [r.scratch.testErrors, r.distilled.testErrors]);
  assert.deepEqual(h.runs.map((x) => x.seed), h.seeds, 'one paired row per seed, in seed order');
  // The notebook's danfo group-by and paired Series, against mean and sample sd computed here.
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = (xs: number[]) => Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1));
  const scratchErrors = h.runs.map((x) => x.scratch.testErrors);
  const distilledErrors = h.runs.map((x) => x.distilled.testErrors);
  const saved = h.runs.map((x) => x.scratch.testErrors - x.distilled.testErrors);
  for (const [got, xs, what] of [[h.scratchErrors, scratchErrors, 'scratch'], [h.distilledErrors, distilledErrors, 'distilled'], [h.errorsSaved, saved, 'saved']] as const) {
    near(got.mean, mean(xs), 1e-9, `${what} mean`);
    near(got.sd, sd(xs), 1e-9, `${what} sd`);
    assert.equal(got.n, h.seeds.length, `${what} n`);
  }
  assert.equal(h.distilledWins, saved.filter((x) => x > 0).length, 'distilled wins');
  assert.ok(h.distilledErrors.mean < h.scratchErrors.mean, `quick mode: distilled ${h.distilledErrors.mean} vs scratch ${h.scratchErrors.mean} test errors over seeds`);
  const students = [r.scratch.testAccuracy, r.distilled.testAccuracy, r.small.scratch.testAccuracy, r.small.distilled.testAccuracy];
  for (const a of students) {
    assert.ok(a > 0.8 && a < 1, `student test accuracy ${a}`);
    assert.ok(r.teacherTestAccuracy > a, `teacher ${r.teacherTestAccuracy} must beat student ${a}`);
  }
  assert.ok(r.scratch.valAccuracyBest >= r.scratch.valAccuracyLast, 'best epoch is at least as good as the last');
  // finish() lists the runs the notebook used (what `kdlab reference record` copies): all in the store, the teacher too.
  const used = readJson<{ mode: string; runs: string[] }>(path.join(ROOT, 'build', 'results', 'runs', '04-training-the-student.json'));
  assert.equal(used.mode, 'quick');
  assert.ok(used.runs.length >= 2 * h.seeds.length, `runs listed: ${used.runs.length}`);
  const specs = used.runs.map((k) => readJson<{ spec: { teacher?: { run: string } } }>(path.join(ROOT, 'build', 'runs', k, 'result.json')).spec);
  const teachers = new Set(specs.map((sp) => sp.teacher?.run).filter((k): k is string => !!k));
  assert.ok(teachers.size >= 1 && [...teachers].every((k) => used.runs.includes(k)), 'the students\' teacher is listed');
});

test('05-evaluation-and-tuning: a full grid, chosen on validation, test only for the chosen setting', async () => {
  await execute('05-evaluation-and-tuning');
  const r = readJson<{
    grid: { temperatures: number[]; alphas: number[] };
    chosen: Array<{ student: string; temperature: number; alpha: number; valAccuracy: number; plainStudentValAccuracy: number; plainStudentTestAccuracy: number; testAccuracy: number }>;
    table: Array<{ model: string; student: string; valAccuracy: number; testAccuracy: number }>;
    teacherTestAccuracy: number;
    large: Array<{ temperature: number; alpha: number; valAccuracy: number; key: string; objective: string }>;
    small: Array<{ temperature: number; alpha: number; valAccuracy: number; key: string; objective: string }>;
  }>(resultsFile('05-evaluation-and-tuning'));
  for (const rows of [r.large, r.small]) {
    assert.equal(rows.length, r.grid.temperatures.length * r.grid.alphas.length);
    // One run per cell with alpha > 0, and one plain run ('hard') shown in every alpha = 0 cell.
    const alpha0 = rows.filter((x) => x.alpha === 0);
    assert.equal(new Set(alpha0.map((x) => x.key)).size, 1, 'alpha = 0 is one run, whatever T');
    assert.ok(alpha0.every((x) => x.objective === 'hard'));
    const distilled = rows.filter((x) => x.alpha > 0);
    assert.ok(distilled.every((x) => x.objective === 'kd'));
    assert.equal(new Set(distilled.map((x) => x.key)).size, distilled.length, 'every distilled cell is its own run');
    for (const x of rows) assert.ok(x.valAccuracy > 0.5 && x.valAccuracy < 1);
  }
  // §3.5 compares with the teacher: its row and the plain student's test accuracy are in the table.
  assert.ok(r.table.some((x) => x.model === 'teacher' && x.testAccuracy === r.teacherTestAccuracy));
  assert.ok(r.teacherTestAccuracy > 0.95 && r.teacherTestAccuracy < 1);
  for (const c of r.chosen) {
    assert.ok(c.plainStudentTestAccuracy > 0.8 && c.plainStudentTestAccuracy < 1, `plain ${c.student}: ${c.plainStudentTestAccuracy}`);
    const rows = c.student === '800×800' ? r.large : r.small;
    assert.equal(c.valAccuracy, Math.max(...rows.map((x) => x.valAccuracy)), 'the chosen setting has the best validation accuracy');
    assert.ok(c.valAccuracy >= c.plainStudentValAccuracy);
    assert.ok(c.testAccuracy > 0.85 && c.testAccuracy < 1, `chosen ${c.student} test accuracy ${c.testAccuracy}`);
    // The runs kept their students and the notebook loaded them: the very models the grid validated.
    const final = (model: string) => r.table.find((x) => x.model === model && x.student === c.student)?.valAccuracy;
    assert.equal(final('chosen on validation'), c.valAccuracy, `the loaded ${c.student} scores its grid run's validation accuracy`);
    assert.equal(final('plain student (α = 0)'), c.plainStudentValAccuracy, `the loaded plain ${c.student} scores its grid run's validation accuracy`);
  }
});

test('06-generalization: transfer-set sizes over seeds (group-bys, passes, gaps and shares checked by hand), the missing 3 and the 7s-and-8s over seeds, shifts chosen on validation', async () => {
  await execute('06-generalization');
  interface Scored { errors: number; errorsByClass: number[]; countByClass: number[] }
  interface Study { classes: number[]; chosenShift: number; validation: { atZero: Scored; atChosen: Scored }; test: { atZero: Scored; atChosen: Scored }; testOptimum: { shift: number; atOptimum: Scored } }
  interface ShiftRun { key: string; seed: number; counts: number[]; steps: number; study: Study }
  interface MeanSdJson { mean: number; sd: number; n: number }
  interface ShiftSummary { digits: number[]; atZero: { errors: MeanSdJson; onShifted: MeanSdJson }; atChosen: { shift: MeanSdJson; errors: MeanSdJson }; fix: MeanSdJson & { interval: { low: number; high: number }; lower: number } }
  const r = readJson<{
    settings: { fractions: number[]; seeds: number; steps: number; batchSize: number };
    seeds: number[];
    poolSize: number;
    teacherTrainSize: number;
    teacherTestAccuracy: number;
    runs: Array<{ fraction: number; targets: string; seed: number; trainSize: number; steps: number; testAccuracy: number; testErrors: number; valAccuracy: number; trainErrors: number; objective: string }>;
    bySize: Array<{ fraction: number; targets: string; trainSize_mean: number; testAccuracy_mean: number; testAccuracy_std: number; testAccuracy_count: number }>;
    gains: Array<{ fraction: number; gain_mean: number; gain_std: number; gain_min: number; gain_count: number }>;
    passes: Array<{ fraction: number; images: number; passes: number; distinctSeen: number; epochsRun: number }>;
    gaps: Array<{ fraction: number; targets: string; gap_mean: number }>;
    gapDifferences: Array<{ fraction: number; mean: number; n: number }>;
    headline: { images: number; paperFraction: number; paperShare: { hard: MeanSdJson; soft: MeanSdJson }; softMinusHard: MeanSdJson; omitted: ShiftSummary; only: ShiftSummary };
    omitted: ShiftRun[];
    only: ShiftRun[];
  }>(resultsFile('06-generalization'));
  const s = r.settings;
  assert.equal(r.runs.length, s.fractions.length * s.seeds * 2);
  assert.ok(r.teacherTestAccuracy > 0.95 && r.teacherTestAccuracy < 1);
  assert.ok(r.teacherTrainSize >= r.poolSize, 'quick mode: the teacher saw more images than the pool holds');
  // Every student got the same budget in steps, whatever the size of its transfer set.
  for (const run of [...r.runs, ...r.omitted, ...r.only]) assert.equal(run.steps, s.steps);
  for (const run of r.runs) assert.equal(run.objective, run.targets === 'hard labels' ? 'hard' : 'kd');
  // The group-by, recomputed from the runs: one row per fraction and kind of target, in fraction order.
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = (xs: number[]) => Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1));
  assert.deepEqual(r.bySize.map((p) => p.fraction), s.fractions.flatMap((f) => [f, f]));
  for (const p of r.bySize) {
    const accs = r.runs.filter((x) => x.fraction === p.fraction && x.targets === p.targets).map((x) => x.testAccuracy);
    assert.equal(p.testAccuracy_count, s.seeds);
    near(p.testAccuracy_mean, mean(accs), 1e-12, `${p.fraction} ${p.targets} mean`);
    near(p.testAccuracy_std, sd(accs), 1e-12, `${p.fraction} ${p.targets} sd`);
    assert.equal(p.trainSize_mean, Math.max(1, Math.round(p.fraction * r.poolSize)));
    assert.ok(p.testAccuracy_mean > 0.5 && p.testAccuracy_mean < 1, `fraction ${p.fraction}`);
  }
  const seedsOf = [...new Set(r.runs.map((y) => y.seed))].sort((a, b) => a - b);
  const of = (f: number, t: string) => seedsOf.map((seed) => r.runs.find((y) => y.fraction === f && y.targets === t && y.seed === seed)!);
  // The gains, paired by seed: soft − hard of the same fraction and seed.
  assert.deepEqual(r.gains.map((x) => x.fraction), s.fractions);
  for (const x of r.gains) {
    const gains = of(x.fraction, 'soft targets').map((y, i) => y.testAccuracy - of(x.fraction, 'hard labels')[i].testAccuracy);
    assert.equal(x.gain_count, s.seeds);
    near(x.gain_mean, mean(gains), 1e-12, `gain at ${x.fraction}`);
    near(x.gain_min, Math.min(...gains), 1e-12, `worst gain at ${x.fraction}`);
  }
  // The effect quick mode is meant to show: on the smallest set soft targets win on every seed.
  assert.ok(r.gains[0].gain_min > 0, `worst gain on the smallest set: ${r.gains[0].gain_min}`);
  // Passes over each transfer set, by hand: 120 steps, batches of 64, the last batch of a pass smaller.
  for (const p of r.passes) {
    const perPass = Math.ceil(p.images / s.batchSize);
    near(p.passes, s.steps / perPass, 0.005, `passes at ${p.fraction}`);
    assert.equal(p.distinctSeen, Math.min(p.images, s.steps * s.batchSize));
    assert.equal(p.epochsRun, Math.ceil(s.steps / perPass), `epochs the run started at ${p.fraction}`);
  }
  near(r.passes.find((p) => p.fraction === 0.3)!.passes, 120 / 47, 0.005, 'the 30 % student: 120 steps over 47 batches a pass');
  // Train − validation gaps and their paired differences, recomputed from the runs.
  const gapOf = (y: { trainErrors: number; trainSize: number; valAccuracy: number }) => 1 - y.trainErrors / y.trainSize - y.valAccuracy;
  for (const gp of r.gaps) near(gp.gap_mean, mean(of(gp.fraction, gp.targets).map(gapOf)), 1e-9, `gap ${gp.fraction} ${gp.targets}`);
  for (const d of r.gapDifferences) {
    near(d.mean, mean(of(d.fraction, 'hard labels').map((y, i) => 100 * (gapOf(y) - gapOf(of(d.fraction, 'soft targets')[i])))), 1e-9, `gap difference ${d.fraction}`);
  }
  // The paper's share: the 3 % students ÷ the hard-label student on the full pool, seed by seed.
  const h = r.headline;
  const full = of(1, 'hard labels');
  near(h.paperShare.soft.mean, mean(of(h.paperFraction, 'soft targets').map((y, i) => y.testAccuracy / full[i].testAccuracy)), 1e-12, 'soft share');
  near(h.paperShare.hard.mean, mean(of(h.paperFraction, 'hard labels').map((y, i) => y.testAccuracy / full[i].testAccuracy)), 1e-12, 'hard share');
  near(h.softMinusHard.mean, mean(of(s.fractions[0], 'soft targets').map((y, i) => y.testErrors - of(s.fractions[0], 'hard labels')[i].testErrors)), 1e-9, 'soft − hard errors');
  // The bias-shift students: one per seed for each transfer set; no 3, or only 7s and 8s.
  for (const runs of [r.omitted, r.only]) assert.deepEqual(runs.map((x) => x.seed), r.seeds);
  assert.equal(r.seeds.length, s.seeds);
  for (const x of r.omitted) assert.equal(x.counts[3], 0);
  for (const x of r.only) assert.deepEqual(x.counts.map((n, d) => (n > 0 ? d : -1)).filter((d) => d >= 0), [7, 8]);
  for (const study of [...r.omitted, ...r.only].map((x) => x.study)) {
    // The chosen shift is the validation optimum: never worse on validation than no shift.
    assert.ok(study.validation.atChosen.errors <= study.validation.atZero.errors);
    // The test optimum is at least as good on test as the validation choice (it peeked).
    assert.ok(study.testOptimum.atOptimum.errors <= study.test.atChosen.errors);
    assert.equal(study.test.atZero.countByClass.reduce((a, b) => a + b, 0), 10000);
  }
  for (const x of r.omitted) {
    assert.equal(x.study.test.atZero.countByClass[3], 1010);
    assert.ok(x.study.chosenShift > 0, `seed ${x.seed}: raising the bias of 3 helps`);
    assert.ok(x.study.test.atChosen.errorsByClass[3] < x.study.test.atZero.errorsByClass[3]);
  }
  for (const x of r.only) assert.ok(x.study.chosenShift < 0, `seed ${x.seed}: lowering the biases of 7 and 8 helps`);
  // The summary's mean ± sd over seeds and its paired change, recomputed from the per-seed studies.
  for (const [summary, runs] of [[h.omitted, r.omitted], [h.only, r.only]] as const) {
    near(summary.atZero.errors.mean, mean(runs.map((x) => x.study.test.atZero.errors)), 1e-9, 'errors at 0');
    near(summary.atChosen.errors.sd, sd(runs.map((x) => x.study.test.atChosen.errors)), 1e-9, 'sd at the chosen shift');
    near(summary.atChosen.shift.mean, mean(runs.map((x) => x.study.chosenShift)), 1e-9, 'mean shift');
    near(summary.fix.mean, mean(runs.map((x) => x.study.test.atChosen.errors - x.study.test.atZero.errors)), 1e-9, 'paired change');
    near(summary.atZero.onShifted.mean, mean(runs.map((x) => summary.digits.reduce((a, d) => a + x.study.test.atZero.errorsByClass[d], 0))), 1e-9, 'errors on the shifted digits');
  }
  // The errors-vs-bias-shift figure: a panel per study, each seed's chosen shift on its own curve.
  const fig = readJson<{ data: { studies: Array<{ classes: number[]; shifts: number[]; seeds: Array<{ seed: number; chosenShift: number; testErrors: number[] }> }> } }>(path.join(ROOT, 'build', 'results', 'figures', 'errors-vs-bias-shift.json'));
  assert.deepEqual(fig.data.studies.map((x) => x.classes), [[3], [7, 8]]);
  fig.data.studies.forEach((panel, k) => panel.seeds.forEach((p, i) => {
    const st = (k === 0 ? r.omitted : r.only)[i].study;
    assert.equal(p.chosenShift, st.chosenShift);
    assert.equal(p.testErrors[panel.shifts.findIndex((x) => Math.abs(x - st.chosenShift) < 1e-9)], st.test.atChosen.errors);
    assert.ok(panel.shifts.some((x) => x === 0), 'the window includes no shift');
  }));
});

test('08-beyond-logits: every method over >= 3 seeds for both pairs, danfo group-by summaries, paired differences recomputed, the DKD identity on equal-count bins, the hand-written step, sane accuracies', async () => {
  await execute('08-beyond-logits');
  type Run = { pair: string; method: string; seed: number; objective: string; testAccuracy: number; testErrors: number; extraParams: number; epochs: number };
  type Summary = { pair: string; method: string; testErrors_count: number; testErrors_mean: number; testErrors_std: number; testAccuracy_mean: number; testAccuracy_std: number };
  const r = readJson<{
    seeds: number[];
    runs: Run[];
    summary: Summary[];
    needs: Array<{ pair: string; method: string; 'extra parameters (training only)': number }>;
    teachers: Record<'MLP' | 'CNN', { key: string; test: { accuracy: number } }>;
    dkd: { examples: number; identityMaxError: number; bins: Array<{ 'KD weight on NCKD (1 − p_t)': number; images: number }> };
    paired: Array<{ pair: string; A: string; B: string; verdict: string; mean: number; low: number; high: number }>;
    stepCheck: { rows: Array<{ method: string; 'largest change of a weight': number; 'largest |by hand − train()|': number }>; maxGap: number };
  }>(resultsFile('08-beyond-logits'));
  const methods = ['scratch', 'kd', 'mse-logits', 'mse-prob', 'dkd', 'hint', 'cosine'];
  assert.ok(r.seeds.length >= 3);
  assert.notEqual(r.teachers.MLP.key, r.teachers.CNN.key);
  for (const pair of ['MLP', 'CNN'] as const) {
    const runs = r.runs.filter((x) => x.pair === pair);
    const summary = r.summary.filter((s) => s.pair === pair);
    assert.deepEqual(summary.map((s) => s.method), methods, `${pair}: every method, in the table's order`);
    assert.equal(runs.length, methods.length * r.seeds.length, `${pair}: one run per method and seed`);
    const teacher = r.teachers[pair].test.accuracy;
    assert.ok(teacher > 0.9 && teacher < 1, `${pair} teacher ${teacher}`);
    for (const s of summary) {
      const own = runs.filter((x) => x.method === s.method);
      assert.deepEqual(own.map((x) => x.seed).sort(), [...r.seeds].sort(), `${pair} ${s.method}: every seed`);
      assert.equal(s.testErrors_count, r.seeds.length);
      // The group-by's mean and sample sd (n − 1), recomputed from the runs.
      for (const [col, mean, sd] of [['testAccuracy', s.testAccuracy_mean, s.testAccuracy_std], ['testErrors', s.testErrors_mean, s.testErrors_std]] as const) {
        const xs = own.map((x) => x[col]);
        const m = xs.reduce((a, b) => a + b, 0) / xs.length;
        near(mean, m, 1e-9, `${pair} ${s.method} ${col} mean`);
        near(sd, Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1)), 1e-9, `${pair} ${s.method} ${col} sd`);
      }
      assert.ok(s.testAccuracy_mean > 0.8 && s.testAccuracy_mean < 1, `${pair} ${s.method}: test accuracy ${s.testAccuracy_mean}`);
      for (const x of own) near(x.testErrors, Math.round((1 - x.testAccuracy) * 10000), 0, `${pair} ${s.method}: errors of 10,000`);
    }
    for (const x of runs) assert.equal(x.extraParams > 0, x.method === 'hint', `${pair} ${x.method}: only the hint trains a regressor`);
    // The needs table's regressor size (computed before training) is the one the runs trained.
    const hint = r.needs.find((n) => n.pair === pair && n.method === 'hint');
    assert.equal(hint?.['extra parameters (training only)'], runs.find((x) => x.method === 'hint')?.extraParams);
  }
  // KL = TCKD + (1 − p_t)·NCKD on real outputs, and KD's weight on NCKD falls as the teacher grows confident.
  assert.ok(r.dkd.identityMaxError < 1e-4, `identity residual ${r.dkd.identityMaxError}`);
  const w = r.dkd.bins.map((b) => b['KD weight on NCKD (1 − p_t)']);
  for (let i = 1; i < w.length; i++) assert.ok(w[i] < w[i - 1], `KD's weight on NCKD by confidence: ${w.join(', ')}`);
  // Equal-count bins (quantiles of p_t): sizes differ by at most one and add up to the images.
  const sizes = r.dkd.bins.map((b) => b.images);
  assert.equal(sizes.reduce((a, b) => a + b, 0), r.dkd.examples);
  assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `bin sizes ${sizes.join(', ')}`);
  // Every paired difference recomputed from the runs: mean over seeds of A − B, its 95% t interval
  // (t_{0.975, n−1}) and the verdict the interval gives.
  const t975: Record<number, number> = { 2: 12.706, 3: 4.303, 4: 3.182, 5: 2.776 };
  assert.ok(r.paired.length >= 2 * (methods.length - 1));
  for (const p of r.paired) {
    const errs = (m: string) => [...r.seeds].sort().map((s) => r.runs.find((x) => x.pair === p.pair && x.method === m && x.seed === s)?.testErrors as number);
    const [a, b] = [errs(p.A), errs(p.B)];
    const d = a.map((x, i) => x - b[i]);
    const m = d.reduce((u, v) => u + v, 0) / d.length;
    const sd = Math.sqrt(d.reduce((u, v) => u + (v - m) ** 2, 0) / (d.length - 1));
    const half = (t975[d.length] * sd) / Math.sqrt(d.length);
    near(p.mean, m, 1e-9, `${p.pair} ${p.A} − ${p.B} mean`);
    near(p.low, m - half, 1e-9, `${p.pair} ${p.A} − ${p.B} low`);
    near(p.high, m + half, 1e-9, `${p.pair} ${p.A} − ${p.B} high`);
    const verdict = p.high < 0 ? `${p.A} fewer errors` : p.low > 0 ? `${p.A} more errors` : 'cannot tell apart';
    assert.equal(p.verdict, verdict, `${p.pair} ${p.A} − ${p.B}`);
  }
  // The hand-written step (hint, cosine, DKD) equals train()'s to float32 rounding, and it moved the weights.
  assert.deepEqual(r.stepCheck.rows.map((x) => x.method), ['hint', 'cosine', 'dkd']);
  for (const x of r.stepCheck.rows) {
    assert.ok(x['largest change of a weight'] > 1e-5, `${x.method}: the step moved the weights`);
    assert.ok(x['largest |by hand − train()|'] < 1e-6, `${x.method}: by hand vs train() ${x['largest |by hand − train()|']}`);
  }
});

test('07-reproducing-hinton-2015: the paper beside ours, one search for both students, intervals, paired differences, the gaps, the 2×30 curve (checked by hand)', async () => {
  await execute('07-reproducing-hinton-2015');
  type Row = {
    system: string; runs: number; mean: number; sd: number; paper: number; target: number; setting: string;
    interval: { low: number; high: number }; paperInterval: { low: number; high: number };
  };
  type Run = { system: string; setting: string; seed: number; objective: string; temperature: number | null; testErrors: number; valErrors: number; valAccuracy: number; diverged: boolean };
  type Paired = { mean: number; sd: number; n: number; interval: { low: number; high: number }; lower: number };
  const r = readJson<{
    mode: string; testSize: number; trainSize: number; seeds: number[]; rows: Row[]; runs: Run[]; orderingHolds: boolean;
    distilledMinusScratch: Paired;
    facts: Array<Record<string, number | string | null>>;
    search: { settings: string[]; scratch: Run[]; distilled: Run[]; chosen: { scratch: string; distilled: string }; epochs: { runs: number; search: number; seedsAtMost: number }; fullModeEstimate: Record<string, number> };
    curve: {
      points: Array<{ temperature: number; testErrors_mean: number; testErrors_std: number; testErrors_count: number; valAccuracy_mean: number }>;
      hardOnly: { testErrors_mean: number; testErrors_count: number }; bestTemperature: number;
      versus: Array<{ other: string; validation: Paired; test: Paired }>;
      band: Array<{ name: string; temperatures: number[]; difference: Paired }>; runs: Run[];
    };
  }>(resultsFile('07-reproducing-hinton-2015'));
  assert.equal(r.mode, 'quick');
  assert.equal(r.testSize, 10000);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = (xs: number[]) => (xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1)));
  // A paired difference recomputed by hand: mean ± t(0.975, n − 1) · sd / √n of the per-seed differences.
  const T975: Record<number, number> = { 2: 12.706, 3: 4.303 };
  const checkPaired = (d: Paired, a: number[], b: number[], what: string) => {
    const diffs = a.map((x, i) => x - b[i]);
    near(d.mean, mean(diffs), 1e-9, `${what}: mean`);
    const half = (T975[diffs.length] * sd(diffs)) / Math.sqrt(diffs.length);
    near(d.interval.low, mean(diffs) - half, 1e-9, `${what}: low`);
    near(d.interval.high, mean(diffs) + half, 1e-9, `${what}: high`);
    assert.equal(d.lower, diffs.filter((x) => x < 0).length, `${what}: wins`);
  };
  // The search: the same settings for both students on the first seed; each chose its fewest validation errors.
  assert.equal(r.search.settings.length, 6);
  assert.equal(r.search.epochs.runs, 2 * r.search.settings.length);
  for (const system of ['scratch', 'distilled'] as const) {
    const runs = r.search[system];
    assert.deepEqual(runs.map((x) => x.setting), r.search.settings, `${system}: the same list`);
    assert.ok(runs.every((x) => x.seed === r.seeds[0]));
    assert.ok(runs.every((x) => x.diverged === false), `${system}: no quick-mode setting diverges`);
    // A diverged setting has no validation errors (null) and is never chosen.
    const fewest = Math.min(...runs.map((x) => x.valErrors ?? Infinity));
    assert.equal(r.search.chosen[system], runs.find((x) => x.valErrors === fewest)!.setting, `${system}: chosen on validation`);
  }
  assert.deepEqual(r.search.fullModeEstimate, { searchMinutes: 38, seedsMinutesAtMost: 25, teacherMinutes: 89 });
  const by = Object.fromEntries(r.rows.map((x) => [x.system, x]));
  // The paper's column is HINTON_2015's (§3), and the targets are paper + 15%.
  assert.deepEqual([by.teacher.paper, by.scratch.paper, by.distilled.paper], [67, 146, 74]);
  assert.deepEqual([by.teacher.target, by.scratch.target, by.distilled.target], [77, 168, 85]);
  assert.deepEqual([by.scratch.setting, by.distilled.setting], [r.search.chosen.scratch, r.search.chosen.distilled]);
  for (const row of r.rows) {
    // The group-by, recomputed from the runs; every student run has its system's chosen setting.
    const runs = r.runs.filter((x) => x.system === row.system);
    const errors = runs.map((x) => x.testErrors);
    assert.ok(runs.every((x) => x.setting === row.setting), `${row.system}: one setting`);
    assert.equal(row.runs, errors.length);
    near(row.mean, mean(errors), 1e-9, `${row.system} mean`);
    near(row.sd, sd(errors), 1e-9, `${row.system} sd`);
    assert.ok(row.interval.low < row.mean && row.mean < row.interval.high, `${row.system}: interval around the mean`);
    // Wilson 95% for 67 of 10,000, worked by hand: 52.80 .. 84.99.
    if (row.system === 'teacher') near(row.paperInterval.low, 52.796, 0.01, 'paper interval');
  }
  assert.equal(by.teacher.runs, 1);
  assert.ok(by.scratch.runs >= 3 && by.distilled.runs >= 3);
  // The seed-0 runs of the table are the search's own (read back, the same digits).
  for (const system of ['scratch', 'distilled'] as const) {
    const table0 = r.runs.find((x) => x.system === system && x.seed === r.seeds[0])!;
    const search0 = r.search[system].find((x) => x.setting === r.search.chosen[system])!;
    assert.deepEqual([table0.testErrors, table0.valErrors], [search0.testErrors, search0.valErrors]);
  }
  // The gap facts: one line per run, read from its history and fit.
  assert.equal(r.facts.length, r.runs.length);
  for (const f of r.facts) {
    const epochs = f.epochs as number;
    const best = f['best val. epoch'] as number;
    assert.ok(Number.isInteger(best) && best >= 1 && best <= epochs, `${f.system}: best epoch ${best} of ${epochs}`);
    assert.ok((f['last below best (points)'] as number) >= 0, `${f.system}: the best is never below the last`);
    const e = f['train errors'] as number;
    assert.ok(Number.isInteger(e) && e >= 0 && e < r.trainSize, `${f.system}: ${e} training errors`);
    const d = f['disagreements with teacher'];
    if (f.system === 'distilled') assert.ok(Number.isInteger(d) && (d as number) >= 0 && (d as number) < r.trainSize);
    else assert.equal(d, null);
  }
  // Distilled − scratch paired by seed, and the ordering as the notebook states it.
  const errorsOf = (system: string) => r.seeds.map((s) => r.runs.find((x) => x.system === system && x.seed === s)!.testErrors);
  checkPaired(r.distilledMinusScratch, errorsOf('distilled'), errorsOf('scratch'), 'distilled − scratch');
  const teacherBelow = errorsOf('distilled').every((e) => by.teacher.mean < e);
  assert.equal(r.orderingHolds, teacherBelow && r.distilledMinusScratch.interval.high < 0);
  // Quick mode on the means: teacher < distilled < scratch.
  assert.ok(by.teacher.mean < by.distilled.mean && by.distilled.mean < by.scratch.mean,
    `teacher ${by.teacher.mean}, distilled ${by.distilled.mean}, scratch ${by.scratch.mean}`);
  // The curve: every temperature over at least 3 seeds, in order, some inside the paper's 2.5–4.
  const temperatures = r.curve.points.map((p) => p.temperature);
  assert.deepEqual(temperatures, [...temperatures].sort((a, b) => a - b));
  const at = (t: number | null, column: 'testErrors' | 'valErrors') =>
    r.seeds.map((s) => r.curve.runs.find((x) => x.seed === s && x.temperature === t)![column]);
  for (const p of r.curve.points) {
    const errors = at(p.temperature, 'testErrors');
    assert.ok(p.testErrors_count >= 3 && p.testErrors_count === errors.length);
    near(p.testErrors_mean, mean(errors), 1e-9, `T = ${p.temperature}`);
    assert.ok(p.testErrors_mean > 0 && p.testErrors_mean < 3000, `2×30 student errors ${p.testErrors_mean}`);
  }
  assert.ok(temperatures.some((T) => T >= 2.5 && T <= 4));
  const best = r.curve.points.reduce((a, p) => (p.valAccuracy_mean > a.valAccuracy_mean ? p : a));
  assert.equal(r.curve.bestTemperature, best.temperature, 'the best T is chosen on validation');
  assert.ok(r.curve.hardOnly.testErrors_count >= 3);
  // The best T against its neighbours on the list and hard labels, paired by seed.
  const k = temperatures.indexOf(best.temperature);
  const others = [temperatures[k - 1], temperatures[k + 1], null].filter((t) => t !== undefined) as (number | null)[];
  assert.deepEqual(r.curve.versus.map((v) => v.other), others.map((t) => (t === null ? 'hard labels' : `T = ${t}`)));
  r.curve.versus.forEach((v, i) => {
    checkPaired(v.validation, at(best.temperature, 'valErrors'), at(others[i], 'valErrors'), `validation vs ${v.other}`);
    checkPaired(v.test, at(best.temperature, 'testErrors'), at(others[i], 'testErrors'), `test vs ${v.other}`);
  });
  // The paper's band against the temperatures below and above it: per seed, the mean over each group.
  const inBand = temperatures.filter((t) => t >= 2.5 && t <= 4);
  const groupMean = (ts: number[]) => r.seeds.map((_, j) => mean(ts.map((t) => at(t, 'testErrors')[j])));
  assert.deepEqual(r.curve.band.map((b) => b.temperatures), [temperatures.filter((t) => t < 2.5), temperatures.filter((t) => t > 4)]);
  for (const b of r.curve.band) checkPaired(b.difference, groupMean(inBand), groupMean(b.temperatures), b.name);
});
