/**
 * The models and data the playground page embeds, made the way the notebooks make them: the
 * chapter's teacher (ensureTeacher) and notebook 04's students, all runs in the run store (the
 * student specs are 04's, so after `kdlab reproduce` they are read back, not trained), every model exported as a TensorFlow.js layers model in float32,
 * float16 and uint8 under build/playground/models/, each stored variant scored on the full test
 * set. Nothing is downloaded; MNIST comes from the verified local copy.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import {
  chapterConfig, chapterData, chapterDataRef, countParams, describeModel, ensureTeacher, evaluate, initBackend, loadRunModel, NUM_CLASSES,
  readRun, runAll, runKey, teacherLogitsCached, teacherSpec, tf, type ChapterConfig, type RunSpec,
} from 'kdlab';
import { exportLayersModel, layersModelJson, loadExportedModel, PIXELS, type ExportedModel, type WeightQuantization } from 'kdlab/browser';
import { workbookDir, writeFileAtomic } from 'kdlab/internals';
import {
  formatTable, playgroundDir, QUANTIZATIONS, readManifest, readVariant, variantDir, type ModelEntry, type PlaygroundManifest, type VariantRow,
} from './manifest';

export { formatTable, playgroundDir, QUANTIZATIONS, readManifest, readVariant, variantDir };
export type { ModelEntry, PlaygroundManifest, VariantRow };

interface StudentSpec {
  id: string;
  label: string;
  hidden: number[];
  distilled: boolean;
}

/**
 * The run of one student: notebook 04's recipe (its studentSpec), so that both share the run
 * store's entry. Were the two to drift apart, the playground would train its own copy, no more.
 */
function studentRun(cfg: ChapterConfig, teacherKey: string, s: StudentSpec): RunSpec {
  const { temperature, alpha } = cfg.distill;
  return {
    label: `${s.distilled ? 'distilled' : 'scratch'} ${s.hidden.join('×')}, seed ${cfg.seed}`,
    data: chapterDataRef(cfg),
    model: { kind: 'mlp', hidden: s.hidden },
    objective: s.distilled ? { objective: 'kd', temperature, alpha } : { objective: 'hard' },
    teacher: s.distilled ? { run: teacherKey } : undefined,
    optimizer: { name: 'adam', learningRate: 1e-3 },
    budget: { epochs: cfg.studentEpochs }, batchSize: cfg.batchSize, seed: cfg.seed,
    record: { valCurve: true, test: true, weights: true },
    checkpointEvery: 1,
  };
}

function studentSpecs(cfg: ChapterConfig): StudentSpec[] {
  const [l, s] = [cfg.students.large, cfg.students.small];
  return [
    { id: `student-${l.join('x')}-distilled`, label: `student ${l.join('×')}, distilled`, hidden: l, distilled: true },
    { id: `student-${l.join('x')}-scratch`, label: `student ${l.join('×')}, from scratch`, hidden: l, distilled: false },
    { id: `student-${s.join('x')}-distilled`, label: `student ${s.join('×')}, distilled`, hidden: s, distilled: true },
  ];
}

/** The variant the page carries: the smallest that loses no more than 0.2 points of test accuracy, else float16. */
function chooseEmbedded(rows: VariantRow[], id: string): WeightQuantization {
  const mine = rows.filter((r) => r.model === id);
  const f32 = mine.find((r) => r.quantization === 'float32');
  const u8 = mine.find((r) => r.quantization === 'uint8');
  if (f32 && f32.totalBytes < 200_000) return 'float32';
  if (f32 && u8 && u8.testAccuracy >= f32.testAccuracy - 0.002) return 'uint8';
  return 'float16';
}

function hashOf(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 12);
}

function writeVariant(exported: ExportedModel, id: string): { weightBytes: number; jsonBytes: number } {
  const dir = variantDir(id, exported.quantization);
  const weights = `${id}.weights.bin`;
  const json = JSON.stringify(layersModelJson(exported, weights));
  writeFileAtomic(path.join(dir, weights), new Uint8Array(exported.weightData));
  writeFileAtomic(path.join(dir, 'model.json'), json);
  return { weightBytes: exported.weightData.byteLength, jsonBytes: Buffer.byteLength(json) };
}

/** Sizes of the bundled data subset. */
export const TRAIN_SUBSET = 5000;
export const TEST_SUBSET = 1000;

export interface PrepareOptions {
  mode?: string;
  seed?: number;
  /** Export and score again even when build/playground/ matches the models. */
  force?: boolean;
  log?: (line: string) => void;
}

const DATA_FILES = ['train-images.u8.gz', 'train-labels.u8.gz', 'train-teacher-logits.f32.gz', 'test-images.u8.gz', 'test-labels.u8.gz'];

function preparedFilesExist(m: PlaygroundManifest): boolean {
  const models = m.models.every((e) => QUANTIZATIONS.every((q) => fs.existsSync(path.join(variantDir(e.id, q), 'model.json'))));
  return models && DATA_FILES.every((f) => fs.existsSync(playgroundDir('data', f)));
}

function gz(bytes: Uint8Array): Buffer {
  return zlib.gzipSync(bytes, { level: 9 });
}

/**
 * Trains (or loads) the teacher and the students, exports every stored variant, scores it, and
 * writes build/playground/{manifest.json, table.md, data/*.gz}. Returns the manifest.
 */
export async function preparePlayground(options: PrepareOptions = {}): Promise<PlaygroundManifest> {
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const cfg = chapterConfig(options.mode ?? 'quick', options.seed ?? 0);
  const { temperature, alpha } = cfg.distill;
  const teacherKey = runKey(teacherSpec(cfg));
  const runs = studentSpecs(cfg).map((s) => studentRun(cfg, teacherKey, s));
  const key = hashOf({ teacher: teacherKey, students: runs.map(runKey), quantizations: QUANTIZATIONS, subset: [TRAIN_SUBSET, TEST_SUBSET], format: 3 });
  const previous = readManifest();
  if (!options.force && previous && previous.key === key && readRun(teacherKey) && preparedFilesExist(previous)) {
    log(`build/playground/ is up to date with the teacher (run ${teacherKey}) and the students (key ${key}); --force exports again`);
    return previous;
  }
  const backend = await initBackend({ quiet: true });
  const data = chapterData(cfg);
  const t0 = Date.now();
  const teacher = await ensureTeacher(cfg, { progress: true });
  log(`teacher ${describeModel(teacher.model)}: ${teacher.loaded ? 'loaded' : 'trained'} (${teacher.checkpointName}, ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  const soft = teacherLogitsCached(teacher.model, data.train);

  const models: { entry: ModelEntry; model: tf.LayersModel }[] = [
    {
      entry: {
        id: 'teacher', label: `teacher ${cfg.teacher.hidden.join('×')}`, role: 'teacher', hidden: cfg.teacher.hidden,
        training: `ensureTeacher(chapterConfig('${cfg.mode}')): ${cfg.teacher.epochs} epochs, dropout ${cfg.teacher.inputDropout}/${cfg.teacher.dropout}`,
        params: countParams(teacher.model), architecture: describeModel(teacher.model),
      },
      model: teacher.model,
    },
  ];
  const trained = await runAll(runs, {
    onDone: (r) => log(`${r.spec.label}: ${r.cached ? 'read from the run store' : 'trained'} (${r.seconds.toFixed(1)} s)`),
  });
  for (const [i, s] of studentSpecs(cfg).entries()) {
    const model = await loadRunModel(trained[i]);
    models.push({
      entry: {
        id: s.id, label: s.label, role: 'student', hidden: s.hidden,
        training: `run ${trained[i].key}: ${cfg.studentEpochs} epochs on ${data.train.size.toLocaleString('en-US')} images, ${s.distilled ? `kd loss T = ${temperature}, alpha = ${alpha}` : 'hard labels'}`,
        params: countParams(model), architecture: describeModel(model),
      },
      model,
    });
  }

  // Every stored variant, loaded back from its files the way a browser would, on the full test set.
  const table: VariantRow[] = [];
  for (const { entry, model } of models) {
    const reference = evaluate(model, data.test);
    const refLogits = tf.tidy(() => (model.apply(tf.tensor2d(data.test.images, [data.test.size, PIXELS]), { training: false }) as tf.Tensor).dataSync() as Float32Array);
    for (const q of QUANTIZATIONS) {
      const exported = await exportLayersModel(model, { quantization: q });
      const sizes = writeVariant(exported, entry.id);
      const loaded = await loadExportedModel(readVariant(entry.id, q));
      const logits = tf.tidy(() => (loaded.apply(tf.tensor2d(data.test.images, [data.test.size, PIXELS]), { training: false }) as tf.Tensor).dataSync() as Float32Array);
      let maxDiff = 0;
      for (let i = 0; i < logits.length; i++) maxDiff = Math.max(maxDiff, Math.abs(logits[i] - refLogits[i]));
      const score = evaluate(loaded, data.test);
      loaded.dispose();
      table.push({
        model: entry.id, quantization: q, weightBytes: sizes.weightBytes, jsonBytes: sizes.jsonBytes, totalBytes: sizes.weightBytes + sizes.jsonBytes,
        testAccuracy: score.accuracy, testErrors: Math.round((1 - score.accuracy) * data.test.size), maxLogitDiff: maxDiff,
      });
    }
    log(`${entry.label}: float32 test accuracy ${(100 * reference.accuracy).toFixed(2)}%; exported float32 / float16 / uint8`);
  }

  // The bundled subset: the first training images with the teacher's cached logits, the first test images.
  const nTrain = Math.min(TRAIN_SUBSET, data.train.size);
  const nTest = Math.min(TEST_SUBSET, data.test.size);
  const bytesOf = (images: Float32Array, n: number): Uint8Array => {
    const out = new Uint8Array(n * PIXELS);
    for (let i = 0; i < out.length; i++) out[i] = Math.round(images[i] * 255);
    return out;
  };
  const dataDir = playgroundDir('data');
  writeFileAtomic(path.join(dataDir, 'train-images.u8.gz'), gz(bytesOf(data.train.images, nTrain)));
  writeFileAtomic(path.join(dataDir, 'train-labels.u8.gz'), gz(data.train.labels.subarray(0, nTrain)));
  const logits = soft.logits.subarray(0, nTrain * NUM_CLASSES);
  writeFileAtomic(path.join(dataDir, 'train-teacher-logits.f32.gz'), gz(new Uint8Array(logits.buffer, logits.byteOffset, logits.byteLength)));
  writeFileAtomic(path.join(dataDir, 'test-images.u8.gz'), gz(bytesOf(data.test.images, nTest)));
  writeFileAtomic(path.join(dataDir, 'test-labels.u8.gz'), gz(data.test.labels.subarray(0, nTest)));
  const digits: number[] = [];
  for (let c = 0; c < NUM_CLASSES; c++) {
    const i = data.test.labels.subarray(0, nTest).indexOf(c);
    if (i >= 0) digits.push(i);
  }

  const embedded: Record<string, WeightQuantization> = {};
  for (const { entry } of models) embedded[entry.id] = chooseEmbedded(table, entry.id);
  // Where the page's teacher and each student disagree on the bundled test images, with the stored variants the page loads.
  const subsetImages = data.test.images.subarray(0, nTest * PIXELS);
  const classesOf = async (id: string): Promise<number[]> => {
    const m = await loadExportedModel(readVariant(id, embedded[id]));
    const logits = tf.tidy(() => (m.predict(tf.tensor2d(subsetImages, [nTest, PIXELS])) as tf.Tensor).argMax(1).dataSync());
    m.dispose();
    return Array.from(logits);
  };
  const teacherClasses = await classesOf('teacher');
  const disagreements: Record<string, number[]> = {};
  for (const { entry } of models) {
    if (entry.role !== 'student') continue;
    const mine = await classesOf(entry.id);
    disagreements[entry.id] = mine.flatMap((c, i) => (c !== teacherClasses[i] ? [i] : []));
  }
  const manifest: PlaygroundManifest = {
    format: 'kdlab-playground-1', mode: cfg.mode, seed: cfg.seed, createdAt: new Date().toISOString(), key, backend: backend.name,
    models: models.map((m) => m.entry), table, embedded, distill: { temperature, alpha },
    data: { train: nTrain, test: nTest, digits }, disagreements,
  };
  writeFileAtomic(playgroundDir('manifest.json'), JSON.stringify(manifest, null, 1));
  writeFileAtomic(playgroundDir('table.md'), formatTable(manifest));
  for (const { model, entry } of models) if (entry.role === 'student') model.dispose();
  return manifest;
}

