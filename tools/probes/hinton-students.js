// Probes of notebook 07's distilled-student gap: the full-mode 2×800 student of seed 0, distilled
// at T = 20 from the full-mode teacher, with one setting changed. Needs the full-mode teacher
// (run notebook 07 in full mode first); results go to build/results/hinton-probe/ (resumable).
//
//   KDLAB_BLAS_THREADS=1 node tools/probes/hinton-students.js alpha1     soft targets only (alpha 1)
//   KDLAB_BLAS_THREADS=1 node tools/probes/hinton-students.js lr 0.4     another initial step
//   KDLAB_BLAS_THREADS=1 node tools/probes/hinton-students.js jitter     2-pixel jitter, teacher run per batch
//
// The first two train through runStudents (one BLAS thread, like the notebook's workers), the
// third with train() in this process. Two probes can run at once, one per core.
const fs = require('node:fs');
const path = require('node:path');
const k = require('kdlab');

const [probe, arg] = process.argv.slice(2);
if (!['alpha1', 'lr', 'jitter'].includes(probe) || (probe === 'lr' && !(Number(arg) > 0))) {
  console.error('usage: hinton-students.js alpha1 | lr STEP | jitter');
  process.exit(2);
}
const best = (curve) => `best validation ${Math.max(...curve)} at epoch ${curve.indexOf(Math.max(...curve)) + 1}`;

(async () => {
  await k.initBackend({ quiet: true });
  const cfg = k.chapterConfig('full', 0);
  const recipe = k.hintonRecipe(cfg);
  const data = k.hintonData(cfg, recipe);
  const teacherDir = k.teacherCheckpointDir(k.hintonTeacherConfig(cfg, recipe));
  if (!fs.existsSync(path.join(teacherDir, 'checkpoint.json'))) throw new Error(`no full-mode teacher in ${teacherDir}: run notebook 07 in full mode first.`);
  const teacher = await k.ensureHintonTeacher(cfg, recipe);
  const d = recipe.distilled;
  const started = Date.now();
  const variant = async (label, student, alpha) => {
    const soft = k.teacherLogitsCached(teacher.model, data.train);
    const loss = { temperature: d.temperature, alpha, teacherLogits: soft };
    const [s] = await k.runStudents(data, [{ label, spec: { recipe: student, seed: 0, loss } }],
      { checkpoint: true, dir: path.resolve('build', 'results', 'hinton-probe') });
    console.log(`${label}, seed 0: ${s.testErrors} test errors, ${best(s.valCurve)}, ${s.seconds.toFixed(0)} s`);
  };
  if (probe === 'alpha1') await variant('alpha 1', d, 1);
  else if (probe === 'lr') await variant(`step ${arg} (recipe ${d.optimizer.learningRate})`, { ...d, optimizer: { ...d.optimizer, learningRate: Number(arg) } }, d.alpha);
  else if (probe === 'jitter') {
    const student = k.createStudent({ hidden: d.hidden, seed: 0 });
    const dir = path.resolve('build', 'models', 'probe-jitter-student');
    const r = await k.train(student, {
      train: data.train, validation: data.validation, epochs: d.epochs, batchSize: d.batchSize, seed: 0, jitter: 2,
      optimizer: d.optimizer, loss: { teacher: teacher.model, temperature: d.temperature, alpha: d.alpha },
      checkpoint: { dir }, resumeFrom: dir,
    });
    console.log(`jittered, teacher per batch, seed 0: ${k.evaluate(student, data.test).errors} test errors, ${best(r.history.map((h) => h.valAccuracy))}`);
  }
  console.log(`wall ${((Date.now() - started) / 1000).toFixed(0)} s`);
})().catch((e) => {
  console.error(e.message);
  process.exit(1);
});
