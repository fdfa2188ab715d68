/**
 * The models and data the playground page embeds, made the way the notebooks make them: the
 * chapter's teacher (ensureTeacher, trained once and checkpointed under build/models/), students
 * trained with train() and createStudent (checkpointed under build/models/playground-…, so a
 * second run only loads them), every model exported as a TensorFlow.js layers model in float32,
 * float16 and uint8 under build/playground/models/, each stored variant scored on the full test
 * set. Nothing is downloaded; MNIST comes from the verified local copy.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import {
  chapterConfig, chapterData, countParams, createStudent, describeModel, ensureTeacher, evaluate, exportLayersModel, initBackend,
  layersModelJson, loadExportedModel, NUM_CLASSES, parseLayersModelJson, PIXELS, teacherLogitsCached, tf, train,
  type ChapterConfig, type ExportedModel, type LossSpec, type WeightQuantization,
} from 'kdlab';
import { workbookDir, workbookRoot, writeFileAtomic } from 'kdlab/internals';
import { ToolError } from '../errors';

export const QUANTIZATIONS: readonly WeightQuantization[] = ['float32', 'float16', 'uint8'];

/** Where `kdlab playground` keeps its exported models, table and data subset. */
export function playgroundDir(...parts: string[]): string {
  return path.join(workbookRoot(), 'build', 'playground', ...parts);
}

export interface ModelEntry {
  /** File-name id: teacher, student-800-distilled, … */
  id: string;
  label: string;
  role: 'teacher' | 'student';
  hidden: number[];
  /** How it was trained, in words. */
  training: string;
  params: number;
  architecture: string;
}

export interface VariantRow {
  model: string;
  quantization: WeightQuantization;
  /** Bytes of the weight file, of model.json, and both. */
  weightBytes: number;
  jsonBytes: number;
  totalBytes: number;
  /** Full test set (10,000 images), the model loaded back from the stored files. */
  testAccuracy: number;
  testErrors: number;
  /** Largest |Δ logit| against the float32 model over the test set. */
  maxLogitDiff: number;
}

export interface PlaygroundManifest {
  format: 'kdlab-playground-1';
  mode: string;
  seed: number;
  createdAt: string;
  backend: string;
  models: ModelEntry[];
  table: VariantRow[];
  /** Which stored variant the page embeds for each model. */
  embedded: Record<string, WeightQuantization>;
  distill: { temperature: number; alpha: number };
  data: { train: number; test: number; digits: number[] };
}

interface StudentSpec {
  id: string;
  label: string;
  hidden: number[];
  distilled: boolean;
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

export function variantDir(id: string, q: WeightQuantization): string {
  return playgroundDir('models', id, q);
}

function writeVariant(exported: ExportedModel, id: string): { weightBytes: number; jsonBytes: number } {
  const dir = variantDir(id, exported.quantization);
  const weights = `${id}.weights.bin`;
  const json = JSON.stringify(layersModelJson(exported, weights));
  writeFileAtomic(path.join(dir, weights), new Uint8Array(exported.weightData));
  writeFileAtomic(path.join(dir, 'model.json'), json);
  return { weightBytes: exported.weightData.byteLength, jsonBytes: Buffer.byteLength(json) };
}

/** A stored variant read back from its model.json and weight file. */
export function readVariant(id: string, q: WeightQuantization, dir = playgroundDir()): ExportedModel {
  const d = path.join(dir, 'models', id, q);
  const jsonFile = path.join(d, 'model.json');
  if (!fs.existsSync(jsonFile)) {
    throw new ToolError('PLAYGROUND_MISSING', `no exported model at ${path.relative(workbookRoot(), jsonFile)}: run \`npx kdlab playground\` first.`);
  }
  const json = JSON.parse(fs.readFileSync(jsonFile, 'utf8')) as { weightsManifest: { paths: string[] }[] };
  const bin = fs.readFileSync(path.join(d, json.weightsManifest[0].paths[0]));
  return parseLayersModelJson(json, bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength));
}

export function readManifest(dir = playgroundDir()): PlaygroundManifest | null {
  const file = path.join(dir, 'manifest.json');
  if (!fs.existsSync(file)) return null;
  const m = JSON.parse(fs.readFileSync(file, 'utf8')) as PlaygroundManifest;
  return m.format === 'kdlab-playground-1' ? m : null;
}

/** Sizes of the bundled data subset. */
export const TRAIN_SUBSET = 5000;
export const TEST_SUBSET = 1000;

export interface PrepareOptions {
  mode?: string;
  seed?: number;
  log?: (line: string) => void;
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
  const backend = await initBackend({ quiet: true });
  const cfg = chapterConfig(options.mode ?? 'quick', options.seed ?? 0);
  const data = chapterData(cfg);
  const t0 = Date.now();
  const teacher = await ensureTeacher(cfg, { progress: true });
  log(`teacher ${describeModel(teacher.model)}: ${teacher.loaded ? 'loaded' : 'trained'} (${teacher.checkpointName}, ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  const soft = teacherLogitsCached(teacher.model, data.train);
  const { temperature, alpha } = cfg.distill;

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
  const identity = hashOf({ teacher: path.basename(teacher.checkpointDir), mode: cfg.mode, seed: cfg.seed, epochs: cfg.studentEpochs, batch: cfg.batchSize, temperature, alpha, train: data.train.id });
  for (const s of studentSpecs(cfg)) {
    const model = createStudent({ hidden: s.hidden, seed: cfg.seed });
    const dir = workbookDir('models', `playground-${identity}`, s.id);
    const loss: LossSpec = s.distilled ? { teacherLogits: soft, temperature, alpha } : 'hard';
    const started = Date.now();
    const result = await train(model, {
      train: data.train, validation: data.validation, epochs: cfg.studentEpochs, batchSize: cfg.batchSize, seed: cfg.seed,
      loss, checkpoint: { dir }, resumeFrom: dir,
    });
    const loaded = result.resumedFromEpoch >= cfg.studentEpochs;
    log(`${s.label}: ${loaded ? 'loaded' : 'trained'} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    models.push({
      entry: {
        id: s.id, label: s.label, role: 'student', hidden: s.hidden,
        training: `train(): ${cfg.studentEpochs} epochs on ${data.train.size.toLocaleString('en-US')} images, ${s.distilled ? `kd loss T = ${temperature}, alpha = ${alpha}` : 'hard labels'}`,
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
  const manifest: PlaygroundManifest = {
    format: 'kdlab-playground-1', mode: cfg.mode, seed: cfg.seed, createdAt: new Date().toISOString(), backend: backend.name,
    models: models.map((m) => m.entry), table, embedded, distill: { temperature, alpha },
    data: { train: nTrain, test: nTest, digits },
  };
  writeFileAtomic(playgroundDir('manifest.json'), JSON.stringify(manifest, null, 1));
  writeFileAtomic(playgroundDir('table.md'), formatTable(manifest));
  for (const { model, entry } of models) if (entry.role === 'student') model.dispose();
  return manifest;
}

function mb(bytes: number): string {
  return bytes >= 1e6 ? `${(bytes / 1e6).toFixed(2)} MB` : `${(bytes / 1e3).toFixed(1)} kB`;
}

/** The size / accuracy table as markdown (also printed by `kdlab playground`). */
export function formatTable(m: PlaygroundManifest): string {
  const head = `| model | parameters | stored as | on disk (model.json + weights) | test accuracy (10,000) | test errors | max abs logit change | in the page |\n|---|---:|---|---:|---:|---:|---:|---|\n`;
  const rows = m.table.map((r) => {
    const e = m.models.find((x) => x.id === r.model);
    return `| ${e?.label ?? r.model} | ${e?.params.toLocaleString('en-US') ?? ''} | ${r.quantization} | ${mb(r.totalBytes)} | ${(100 * r.testAccuracy).toFixed(2)}% | ${r.testErrors} | ${r.quantization === 'float32' ? '—' : r.maxLogitDiff.toExponential(1)} | ${m.embedded[r.model] === r.quantization ? 'yes' : ''} |`;
  });
  return `${head}${rows.join('\n')}\n`;
}
