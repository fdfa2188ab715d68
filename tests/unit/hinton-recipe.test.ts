/**
 * Notebook 07's recipe is data in the notebook. Full mode cannot run here, so this test evaluates
 * the notebook's own recipe cells (its optimizers, the recipe per mode, the students' search, the
 * cost estimate and the student-spec builder) with the full- and quick-mode settings and checks
 * what they build: the papers' settings where they are known, one search for both 2×800 students
 * (the same settings, so the two are chosen on equal terms), every step decaying to its final
 * fraction by the last epoch, the estimate of full mode's cost recomputed by hand, and, in quick
 * mode, the chapter's own teacher.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import ts from 'typescript';
import { chapterConfig, chapterDataRef, teacherSpec } from '../../lib/src/chapter';
import { HINTON_2015, SRIVASTAVA_2014 } from '../../lib/src/paper';
import { checkRunSpec, runKey, type RunSpec } from '../../lib/src/runs';
import { Optimizer, type OptimizerSpec } from '../../lib/src/train';

const NOTEBOOK = path.resolve(__dirname, '..', '..', 'notebooks', '07-reproducing-hinton-2015.ipynb');
/** The cells that define the optimizers, the recipe per mode, the search, its cost and the students' specs. */
const RECIPE_CELLS = ['07-c03b', '07-c04', '07-c04b', '07-c04c', '07-c04f', '07-c08'];

type StudentRecipe = { epochs: number; batchSize: number; optimizer: OptimizerSpec };
type Search = { epochs: number[]; batchSize: number; optimizers: (e: number) => OptimizerSpec[] };
interface Recipe {
  teacher: Partial<RunSpec> | null;
  trainSize: number | null;
  temperatures: number[];
  search: Search;
  curve: StudentRecipe;
}
interface Built {
  recipe: Recipe;
  teacherRun: RunSpec;
  seeds: number[];
  settingsOf: (s: Search) => StudentRecipe[];
  settingName: (r: StudentRecipe) => string;
  cost: (s: Search) => { runs: number; search: number; seedsAtMost: number };
  estimate: { searchMinutes: number; seedsMinutesAtMost: number; teacherMinutes: number };
  systems: Record<string, RunSpec['objective']>;
  student: (system: string, hidden: readonly number[], r: StudentRecipe, o: RunSpec['objective'], seed: number) => RunSpec;
  kd: (t: number) => RunSpec['objective'];
}

/** Runs the notebook's recipe cells (TypeScript, transpiled) with the mode's settings. */
function recipeOf(mode: 'quick' | 'full'): Built {
  const cells = (JSON.parse(fs.readFileSync(NOTEBOOK, 'utf8')) as { cells: { id: string; source: string[] }[] }).cells;
  const source = RECIPE_CELLS.map((id) => {
    const cell = cells.find((c) => c.id === id);
    assert.ok(cell, `notebook 07 has no cell ${id}`);
    return cell.source.join('');
  }).join('\n');
  const js = ts.transpileModule(source, { compilerOptions: { target: ts.ScriptTarget.ES2022 } }).outputText;
  const printed: string[] = [];
  const scope = {
    cfg: chapterConfig(mode, 0), H: HINTON_2015, S: SRIVASTAVA_2014.mnist, teacherSpec, chapterDataRef,
    runKey, console: { log: (line: string) => printed.push(line) },
  };
  const run = new Function(...Object.keys(scope),
    `${js}\nreturn { recipe, teacherRun, seeds, settingsOf, settingName, cost, estimate, systems, student, kd };`);
  return run(...Object.values(scope)) as Built;
}

const teacherRunOf = (mode: 'quick' | 'full'): RunSpec => recipeOf(mode).teacherRun;
const near = (a: number, b: number, tol: number, what: string) => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

test("full mode: the teacher follows Srivastava et al.'s MNIST settings, its step decays to 1% over 400 epochs", () => {
  const { teacherRun: t } = recipeOf('full');
  const S = SRIVASTAVA_2014.mnist;
  assert.deepEqual(t.model, { kind: 'mlp', hidden: [1200, 1200], dropout: S.hiddenDropout, inputDropout: S.inputDropout, maxNorm: S.maxNorm });
  assert.deepEqual([t.jitter, t.batchSize, t.budget, t.data.pool], [2, 100, { epochs: 400 }, null]);
  // The chapter teacher's other fields: weights, validation curve and test kept; a checkpoint every epoch.
  assert.deepEqual(t.record, { valCurve: true, test: true, weights: true });
  assert.deepEqual([t.objective, t.checkpointEvery, t.seed], [{ objective: 'hard' }, 1, 0]);
  // One BLAS thread: it trains in one worker beside the scratch student's search in the other.
  assert.equal(t.blasThreads, 1);
  const o = t.optimizer;
  // Dampened, so the momentum ramp does not multiply the step (the plain form went unstable at 0.95).
  assert.deepEqual([o.name, o.learningRate, o.momentum, o.dampened], ['momentum', 0.4, S.finalMomentum, true]);
  const batches = Math.ceil(55000 / 100);
  const opt = new Optimizer(o);
  near(opt.learningRateAt(400 * batches), 0.01 * 0.4, 1e-12, 'final step size');
  near(opt.learningRateAt(batches), 0.4 * Math.pow(0.01, 1 / 400), 1e-15, 'after one epoch');
  // The momentum ramps from 0.5 to its final value over the first sixth of the run.
  assert.equal(opt.momentumAt(0), 0.5);
  assert.equal(o.rampMomentum?.steps, Math.round((400 / 6) * batches));
  assert.equal(opt.momentumAt(400 * batches), S.finalMomentum);
  checkRunSpec(t);
});

test('full mode: one search for both 2×800 students: 3 optimizers and steps × 30 or 60 epochs, each step decaying to 1%', () => {
  const { recipe, settingsOf, settingName, systems, student, seeds } = recipeOf('full');
  const batches = Math.ceil(55000 / 100);
  const settings = settingsOf(recipe.search);
  assert.deepEqual(settings.map(settingName), [
    'momentum SGD 0.8, 60 epochs', 'Adam 0.001, 60 epochs',
    'momentum SGD 0.8, 120 epochs', 'Adam 0.001, 120 epochs',
  ]);
  for (const r of settings) {
    const o = r.optimizer;
    assert.equal(r.batchSize, 100);
    if (o.name === 'momentum') {
      // Dampened momentum ramped from 0.5 to 0.9 over 5 epochs, as the teacher's.
      assert.deepEqual([o.momentum, o.dampened, o.rampMomentum], [0.9, true, { from: 0.5, steps: 5 * batches }]);
    }
    near(new Optimizer(o).learningRateAt(r.epochs * batches), 0.01 * (o.learningRate as number), 1e-12, `${settingName(r)}: final step`);
  }
  // Both students are built from the same setting: they differ only in the objective and the teacher.
  assert.deepEqual(Object.keys(systems), ['scratch', 'distilled']);
  assert.deepEqual(systems.distilled, { objective: 'kd', temperature: 20, alpha: 0.9 });
  for (const r of settings) {
    const [s, d] = ['scratch', 'distilled'].map((x) => student(x, HINTON_2015.student.hidden, r, systems[x], 0));
    const { objective: _so, teacher: _st, label: _sl, tags: st, ...sameS } = s;
    const { objective: _do, teacher: dt, label: _dl, tags: dtags, ...sameD } = d;
    assert.deepEqual(sameS, sameD);
    assert.deepEqual([st, dtags], [{ system: 'scratch', setting: settingName(r) }, { system: 'distilled', setting: settingName(r) }]);
    assert.equal(s.teacher, undefined);
    assert.deepEqual(dt, { run: runKey(teacherRunOf('full')) });
    for (const x of [s, d]) {
      assert.deepEqual(x.model, { kind: 'mlp', hidden: [800, 800] });
      assert.deepEqual(x.data, { validationSize: 5000, splitSeed: 0, pool: null });
      assert.deepEqual(x.record, { valCurve: true, test: true, fit: true });
      assert.equal(x.checkpointEvery, 1);
      checkRunSpec(x);
    }
  }
  // The label and tags name a run, they do not enter its key: the search's seed-0 run of the
  // chosen setting is the table's seed-0 run.
  const a = student('scratch', HINTON_2015.student.hidden, settings[2], systems.scratch, 0);
  assert.equal(runKey({ ...a, label: 'another name', tags: { system: 'x' } }), runKey(a));
  // The 2×30 curve: 30 epochs, dampened momentum SGD at 0.2, temperatures around the paper's 2.5–4.
  assert.deepEqual([recipe.curve.epochs, recipe.curve.optimizer.learningRate, recipe.curve.optimizer.dampened], [30, 0.2, true]);
  assert.deepEqual(recipe.temperatures, [1, 2, 2.5, 3, 4, 6, 8, 20]);
  assert.deepEqual(seeds, [0, 1, 2]);
});

test("full mode's cost: 8 search runs of 720 epochs in all, then at most 480 epochs of other seeds; the estimate by hand", () => {
  const { recipe, cost, estimate } = recipeOf('full');
  // 2 students × (2 settings × 60 + 2 × 120) epochs; then 2 students × 2 other seeds × at most 120.
  assert.deepEqual(cost(recipe.search), { runs: 8, search: 2 * (2 * 60 + 2 * 120), seedsAtMost: 2 * 2 * 120 });
  // The lab log's 757 s for 120 epochs of a 2×800 student, two runs at a time; 5,368 s for the teacher's 400.
  assert.deepEqual(estimate, {
    searchMinutes: Math.round((720 * 757) / 120 / 2 / 60), // 37.8
    seedsMinutesAtMost: Math.round((480 * 757) / 120 / 2 / 60), // 25.2
    teacherMinutes: Math.round(5368 / 60), // 89.5
  });
  assert.deepEqual([estimate.searchMinutes, estimate.seedsMinutesAtMost, estimate.teacherMinutes], [38, 25, 89]);
});

test("quick mode: the chapter's own teacher (the same run key); the same search code at 1 or 3 epochs on 10,000 images", () => {
  const { recipe, teacherRun, settingsOf, settingName, systems, student, cost } = recipeOf('quick');
  assert.equal(recipe.teacher, null);
  assert.equal(runKey(teacherRun), runKey(teacherSpec(chapterConfig('quick', 0))));
  const settings = settingsOf(recipe.search);
  assert.deepEqual(settings.map(settingName), [
    'momentum SGD 0.05, 1 epoch', 'momentum SGD 0.1, 1 epoch', 'Adam 0.001, 1 epoch',
    'momentum SGD 0.05, 3 epochs', 'momentum SGD 0.1, 3 epochs', 'Adam 0.001, 3 epochs',
  ]);
  assert.deepEqual(cost(recipe.search), { runs: 12, search: 2 * 3 * (1 + 3), seedsAtMost: 2 * 2 * 3 });
  const d = student('distilled', HINTON_2015.student.hidden, settings[3], systems.distilled, 2);
  assert.deepEqual(d.data, { validationSize: 5000, splitSeed: 0, pool: 10000 });
  assert.equal(d.checkpointEvery, undefined);
  assert.equal(d.seed, 2);
  const perEpoch = Math.ceil(10000 / 64);
  for (const r of settings) {
    near(new Optimizer(r.optimizer).learningRateAt(r.epochs * perEpoch), 0.1 * (r.optimizer.learningRate as number), 1e-12, `${settingName(r)}: a tenth of the step at the end`);
  }
  assert.ok(recipe.temperatures.some((t) => t >= 2.5 && t <= 4) && recipe.temperatures.length >= 5);
  checkRunSpec(d);
});

test('the full-scale reference line (cell 07-c18b) reads the rows, with their settings, that the notebook saves', async () => {
  const { atFullScale } = await import('../../lib/src/reference');
  const cells = (JSON.parse(fs.readFileSync(NOTEBOOK, 'utf8')) as { cells: { id: string; source: string[] }[] }).cells;
  const source = cells.find((c) => c.id === '07-c18b')!.source.join('');
  const js = ts.transpileModule(source, { compilerOptions: { target: ts.ScriptTarget.ES2022 } }).outputText;
  // What finish() saves (the chapter test checks these fields in a real run), with made-up numbers.
  const saved = {
    rows: [
      { system: 'teacher', runs: 1, mean: 65, sd: 0, setting: 'momentum SGD 0.4, 400 epochs' },
      { system: 'scratch', runs: 3, mean: 147, sd: 2, setting: 'momentum SGD 0.8, 60 epochs' },
      { system: 'distilled', runs: 3, mean: 94, sd: 5, setting: 'Adam 0.001, 60 epochs' },
    ],
  };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kdlab-ref-07-'));
  const before = process.env.KDLAB_REFERENCE_DIR;
  try {
    fs.mkdirSync(path.join(dir, 'results'));
    fs.writeFileSync(path.join(dir, 'results', '07-reproducing-hinton-2015.json'), JSON.stringify(saved));
    fs.writeFileSync(path.join(dir, 'provenance.json'), JSON.stringify({ commit: 'abcdef0123', date: '2026-12-08T01:00:00Z', summary: 'test' }));
    process.env.KDLAB_REFERENCE_DIR = dir;
    const printed: string[] = [];
    const rows = [{ system: 'teacher', runs: 1, mean: 278, sd: 0, setting: 'Adam 0.001, 3 epochs' }];
    new Function('atFullScale', 'rows', 'cfg', 'console', js)(
      atFullScale, rows, { mode: 'quick' }, { log: (l: string) => printed.push(l) });
    assert.deepEqual(printed, [
      'At full scale (reference of 2026-12-08, commit abcdef0): teacher 65 (momentum SGD 0.4, 400 epochs); ' +
        'scratch 147.0 ± 2.0 over 3 seeds (momentum SGD 0.8, 60 epochs); distilled 94.0 ± 5.0 over 3 seeds ' +
        '(Adam 0.001, 60 epochs).',
      'This run (quick mode): teacher 278 (Adam 0.001, 3 epochs).',
    ]);
  } finally {
    if (before === undefined) delete process.env.KDLAB_REFERENCE_DIR;
    else process.env.KDLAB_REFERENCE_DIR = before;
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
