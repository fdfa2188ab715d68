// Probes of notebook 07's 2×800 students: the full-mode student (seed 0 unless set), distilled at
// T = 20 from the full-mode teacher (or trained from scratch), with settings changed. Needs the full-mode
// teacher (run notebook 07 in full mode first). Each probe trains in this process, keeps its
// checkpoint under build/models/probe-<teacher>-<settings> (an interrupted probe resumes) and its
// result in build/results/hinton-probe/<teacher>/<settings>.json (a finished probe is read back;
// <teacher> is the teacher's checkpoint name, so a new recipe's teacher never reads an old result).
//
//   KDLAB_BLAS_THREADS=1 node tools/probes/hinton-students.js distilled|scratch [SETTING=VALUE ...] [jitter] [adam|sgd]
//
// Settings: alpha (weight of the soft term), T (temperature), lr (initial step), final (the
// step's final fraction: 0.01 decays to 1% over the run), epochs, seed (default 0). `jitter`
// shifts each training image by up to 2 pixels and runs the teacher on each batch; `adam` trains with Adam (lr
// default 1e-3) and `sgd` with the scratch student's dampened momentum SGD (lr default 0.2), with the
// same decay, instead of the recipe's optimizer for this student. Besides test errors it prints how
// closely the student follows its teacher: errors and disagreements on the training images it
// was taught on, and on the test set. Two probes can run at once, one per core.
const fs = require('node:fs');
const path = require('node:path');
const k = require('kdlab');
const { writeFileAtomic } = require('kdlab/internals');

const [kind, ...rest] = process.argv.slice(2);
const jitter = rest.includes('jitter');
const adam = rest.includes('adam');
const sgd = rest.includes('sgd');
const settings = Object.fromEntries(rest.filter((a) => !['jitter', 'adam', 'sgd'].includes(a)).map((a) => a.split('=')).map(([key, v]) => [key, Number(v)]));
const known = ['alpha', 'T', 'lr', 'final', 'epochs', 'seed'];
const bad = Object.entries(settings).filter(([key, v]) => !known.includes(key) || !(v >= 0));
if (!['distilled', 'scratch'].includes(kind) || bad.length > 0 || (adam && sgd) || (kind === 'scratch' && (jitter || 'alpha' in settings || 'T' in settings))) {
  console.error(`usage: hinton-students.js distilled|scratch [${known.map((s) => `${s}=N`).join(' ')}] [jitter] [adam|sgd] (alpha, T, jitter: distilled only)`);
  process.exit(2);
}

/** The student's errors, and where it and the teacher disagree, on `set`. */
function fit(student, teacher, set) {
  const f = k.trainingFit(student, set, k.predictLogits(teacher, set));
  return { errors: f.trainErrors, teacherErrors: k.evaluate(teacher, set).errors, disagree: f.teacherDisagreements };
}

(async () => {
  await k.initBackend({ quiet: true });
  const cfg = k.chapterConfig('full', 0);
  const recipe = k.hintonRecipe(cfg);
  const data = k.hintonData(cfg, recipe);
  const teacherDir = k.teacherCheckpointDir(k.hintonTeacherConfig(cfg, recipe));
  if (!fs.existsSync(path.join(teacherDir, 'checkpoint.json'))) throw new Error(`no full-mode teacher in ${teacherDir}: run notebook 07 in full mode first.`);
  const teacher = (await k.ensureHintonTeacher(cfg, recipe)).model;
  const base = kind === 'scratch' ? recipe.scratch : recipe.distilled;
  const epochs = settings.epochs ?? base.epochs;
  const lr = settings.lr ?? (adam ? 1e-3 : sgd ? 0.2 : base.optimizer.learningRate);
  const final = settings.final ?? 0.01;
  const perEpoch = Math.ceil(data.train.size / base.batchSize);
  const schedule = { kind: 'exponential', decayRate: Math.pow(final, 1 / epochs), decaySteps: perEpoch };
  const template = adam ? { name: 'adam' } : sgd ? recipe.scratch.optimizer : base.optimizer;
  const optimizer = { ...template, learningRate: lr, schedule };
  const flags = [...(jitter ? ['jitter'] : []), ...(adam ? ['adam'] : []), ...(sgd ? ['sgd'] : [])];
  const name = [kind, ...Object.entries(settings).map(([key, v]) => `${key}${v}`), ...flags].join('-');
  const teacherId = path.basename(teacherDir);
  const resultFile = path.resolve('build', 'results', 'hinton-probe', teacherId, `${name}.json`);
  const dir = path.resolve('build', 'models', `probe-${teacherId}-${name}`);
  const seed = settings.seed ?? 0;
  const student = k.createStudent({ hidden: base.hidden, seed });
  let result = fs.existsSync(resultFile) ? JSON.parse(fs.readFileSync(resultFile, 'utf8')) : null;
  if (result === null) {
    const started = Date.now();
    const soft = { temperature: settings.T ?? recipe.distilled.temperature, alpha: settings.alpha ?? recipe.distilled.alpha };
    const loss = kind === 'scratch' ? 'hard' : jitter ? { teacher, ...soft } : { teacherLogits: k.teacherLogitsCached(teacher, data.train), ...soft };
    const r = await k.train(student, {
      train: data.train, validation: data.validation, epochs, batchSize: base.batchSize, seed, optimizer, loss,
      ...(jitter ? { jitter: 2 } : {}), checkpoint: { dir }, resumeFrom: dir,
      onEpoch: (e) => { if (e.epoch % 10 === 0) console.log(`  epoch ${e.epoch}: loss ${e.loss.toFixed(4)}, validation ${e.valAccuracy}`); },
    });
    const curve = r.history.map((h) => h.valAccuracy);
    const best = Math.max(...curve);
    result = {
      name, settings: { kind, seed, epochs, lr, final, jitter, optimizer: optimizer.name, ...(kind === 'distilled' ? soft : {}) },
      testErrors: k.evaluate(student, data.test).errors, bestValidation: best, bestEpoch: curve.indexOf(best) + 1,
      lastLoss: r.last.loss, train: fit(student, teacher, data.train), test: fit(student, teacher, data.test),
      seconds: Math.round((Date.now() - started) / 1000),
    };
    fs.mkdirSync(path.dirname(resultFile), { recursive: true });
    writeFileAtomic(resultFile, JSON.stringify(result, null, 1) + '\n');
  }
  const f = (p) => `${p.errors} errors (teacher ${p.teacherErrors}), ${p.disagree} disagreements with the teacher`;
  console.log(`${name}: ${result.testErrors} test errors; best validation ${result.bestValidation} at epoch ${result.bestEpoch}; ` +
    `last training loss ${result.lastLoss.toFixed(4)}; training images: ${f(result.train)}; test: ${f(result.test)}; ${result.seconds} s`);
})().catch((e) => {
  console.error(e.message);
  process.exit(1);
});
