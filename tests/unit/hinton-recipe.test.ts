/**
 * Notebook 07's recipe is data in the notebook. Full mode cannot run here, so this test evaluates
 * the notebook's own recipe cells (and its student-spec builder) with the full- and quick-mode
 * settings and checks the run specs they build: the papers' settings where they are known, the
 * choices made on validation, the step decaying to 1% by the last epoch, and, in quick mode, the
 * chapter's own teacher.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';
import { chapterConfig, chapterDataRef, teacherSpec } from '../../lib/src/chapter';
import { HINTON_2015, SRIVASTAVA_2014 } from '../../lib/src/paper';
import { checkRunSpec, runKey, type RunSpec } from '../../lib/src/runs';
import { Optimizer, type OptimizerSpec } from '../../lib/src/train';

const NOTEBOOK = path.resolve(__dirname, '..', '..', 'notebooks', '07-reproducing-hinton-2015.ipynb');
/** The cells that define the optimizers, the recipe per mode, the teacher's spec and the students' specs. */
const RECIPE_CELLS = ['07-c03b', '07-c04', '07-c04b', '07-c04c', '07-c08'];

type StudentRecipe = { epochs: number; batchSize: number; optimizer: OptimizerSpec };
interface Recipe {
  teacher: Partial<RunSpec> | null;
  trainSize: number | null;
  temperatures: number[];
  scratch: StudentRecipe;
  distilled: StudentRecipe;
  curve: StudentRecipe;
}
interface Built {
  recipe: Recipe;
  teacherRun: RunSpec;
  seeds: number[];
  student: (system: string, hidden: readonly number[], r: StudentRecipe, o: RunSpec['objective'], seed: number) => RunSpec;
  kd: (t: number) => RunSpec['objective'];
}

/** Runs the notebook's recipe cells (TypeScript, transpiled) with the mode's settings. */
function recipeOf(mode: 'quick' | 'full', teacherKey = 'teacher-key'): Built {
  const cells = (JSON.parse(fs.readFileSync(NOTEBOOK, 'utf8')) as { cells: { id: string; source: string[] }[] }).cells;
  const source = RECIPE_CELLS.map((id) => {
    const cell = cells.find((c) => c.id === id);
    assert.ok(cell, `notebook 07 has no cell ${id}`);
    return cell.source.join('');
  }).join('\n');
  const js = ts.transpileModule(source, { compilerOptions: { target: ts.ScriptTarget.ES2022 } }).outputText;
  const scope = {
    cfg: chapterConfig(mode, 0), H: HINTON_2015, S: SRIVASTAVA_2014.mnist, teacherSpec, chapterDataRef,
    teacher: { key: teacherKey },
  };
  const run = new Function(...Object.keys(scope), `${js}\nreturn { recipe, teacherRun, seeds, student, kd };`);
  return run(...Object.values(scope)) as Built;
}

const near = (a: number, b: number, tol: number, what: string) => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

test("full mode: the teacher follows Srivastava et al.'s MNIST settings, its step decays to 1% over 400 epochs", () => {
  const { teacherRun: t } = recipeOf('full');
  const S = SRIVASTAVA_2014.mnist;
  assert.deepEqual(t.model, { kind: 'mlp', hidden: [1200, 1200], dropout: S.hiddenDropout, inputDropout: S.inputDropout, maxNorm: S.maxNorm });
  assert.deepEqual([t.jitter, t.batchSize, t.budget, t.data.pool], [2, 100, { epochs: 400 }, null]);
  // The chapter teacher's other fields: weights, validation curve and test kept; a checkpoint every epoch.
  assert.deepEqual(t.record, { valCurve: true, test: true, weights: true });
  assert.deepEqual([t.objective, t.checkpointEvery, t.seed], [{ objective: 'hard' }, 1, 0]);
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

test('full mode: each student as validation chose it, on all 55,000 training images, checkpointed every epoch', () => {
  const { recipe, student, kd, seeds } = recipeOf('full', 'k');
  const batches = Math.ceil(55000 / 100);
  // Scratch: dampened momentum SGD at 0.8 over 60 epochs, decaying to 1% of the step.
  const s = student('scratch', HINTON_2015.student.hidden, recipe.scratch, { objective: 'hard' }, 0);
  assert.deepEqual([s.optimizer.name, s.optimizer.learningRate, s.optimizer.dampened, s.budget, s.batchSize], ['momentum', 0.8, true, { epochs: 60 }, 100]);
  near(new Optimizer(s.optimizer).learningRateAt(60 * batches), 0.008, 1e-12, "the scratch student's final step");
  assert.equal(s.teacher, undefined);
  // Distilled: Adam at 1e-3 over 120 epochs at the paper's T, decaying to 1e-5.
  const d = student('distilled', HINTON_2015.student.hidden, recipe.distilled, kd(HINTON_2015.student.temperature), 1);
  assert.deepEqual([d.optimizer.name, d.optimizer.learningRate, d.budget], ['adam', 1e-3, { epochs: 120 }]);
  near(new Optimizer(d.optimizer).learningRateAt(120 * batches), 1e-5, 1e-15, "the distilled student's final step");
  assert.deepEqual(d.objective, { objective: 'kd', temperature: 20, alpha: 0.9 });
  assert.deepEqual(d.teacher, { run: 'k' });
  for (const x of [s, d]) {
    assert.deepEqual(x.model, { kind: 'mlp', hidden: [800, 800] });
    assert.deepEqual(x.data, { validationSize: 5000, splitSeed: 0, pool: null });
    assert.deepEqual(x.record, { valCurve: true, test: true, fit: true });
    assert.equal(x.checkpointEvery, 1);
    checkRunSpec(x);
  }
  // The 30-unit curve: 30 epochs, dampened momentum SGD at 0.2, temperatures around the paper's 2.5–4.
  assert.deepEqual([recipe.curve.epochs, recipe.curve.optimizer.learningRate, recipe.curve.optimizer.dampened], [30, 0.2, true]);
  assert.deepEqual(recipe.temperatures, [1, 2, 2.5, 3, 4, 6, 8, 20]);
  assert.deepEqual(seeds, [0, 1, 2]);
});

test("quick mode: the chapter's own teacher (the same run key); students on 10,000 images, no checkpoints", () => {
  const { recipe, teacherRun, student, kd } = recipeOf('quick');
  assert.equal(recipe.teacher, null);
  assert.equal(runKey(teacherRun), runKey(teacherSpec(chapterConfig('quick', 0))));
  const d = student('distilled', HINTON_2015.student.hidden, recipe.distilled, kd(20), 2);
  assert.deepEqual(d.data, { validationSize: 5000, splitSeed: 0, pool: 10000 });
  assert.equal(d.checkpointEvery, undefined);
  assert.equal(d.seed, 2);
  const perEpoch = Math.ceil(10000 / 64);
  near(new Optimizer(d.optimizer).learningRateAt(3 * perEpoch), 0.005, 1e-12, 'a tenth of the step after 3 epochs');
  assert.ok(recipe.temperatures.some((t) => t >= 2.5 && t <= 4) && recipe.temperatures.length >= 5);
  checkRunSpec(d);
});
