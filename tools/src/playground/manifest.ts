/**
 * What `kdlab playground` leaves in build/playground/ (manifest.json, models/<id>/<quantization>/
 * model.json + weights, data/*.gz) and how to read it back. Light on purpose: no TensorFlow.js, so
 * `kdlab book` can rewrite the page without loading it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ExportedModel, WeightQuantization } from 'kdlab';
import { workbookRoot } from 'kdlab/internals';
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
  /** Hash of the teacher's checkpoint, the students' settings and this format: a match means nothing to redo. */
  key: string;
  backend: string;
  models: ModelEntry[];
  table: VariantRow[];
  /** Which stored variant the page embeds for each model. */
  embedded: Record<string, WeightQuantization>;
  distill: { temperature: number; alpha: number };
  data: { train: number; test: number; digits: number[] };
  /** Per student: indices of the bundled test images on which its embedded variant and the teacher's predict different classes. */
  disagreements: Record<string, number[]>;
}

export function variantDir(id: string, q: WeightQuantization): string {
  return playgroundDir('models', id, q);
}

/** A stored variant read back from its model.json and weight file. */
export function readVariant(id: string, q: WeightQuantization, dir = playgroundDir()): ExportedModel {
  const d = path.join(dir, 'models', id, q);
  const jsonFile = path.join(d, 'model.json');
  if (!fs.existsSync(jsonFile)) {
    throw new ToolError('PLAYGROUND_MISSING', `no exported model at ${path.relative(workbookRoot(), jsonFile)}: run \`npx kdlab playground\` first.`);
  }
  const json = JSON.parse(fs.readFileSync(jsonFile, 'utf8')) as { modelTopology: object; weightsManifest: { paths: string[]; weights: ExportedModel['weightSpecs'] }[] };
  const bin = fs.readFileSync(path.join(d, json.weightsManifest[0].paths[0]));
  return { modelTopology: json.modelTopology, weightSpecs: json.weightsManifest.flatMap((g) => g.weights), weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength), quantization: q };
}

export function readManifest(dir = playgroundDir()): PlaygroundManifest | null {
  const file = path.join(dir, 'manifest.json');
  if (!fs.existsSync(file)) return null;
  const m = JSON.parse(fs.readFileSync(file, 'utf8')) as PlaygroundManifest;
  return m.format === 'kdlab-playground-1' ? m : null;
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
