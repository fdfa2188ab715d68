import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { InputError, KdlabError } from './errors';
import { writeFileAtomic } from './paths';
import type { OptimizerState, TrainingState } from './train/types';

/**
 * Checkpoints as plain files (tfjs-node's file:// handler does not exist on wasm or cpu):
 *
 *   <dir>/checkpoint.json          manifest: format, weight and slot specs, training state
 *   <dir>/weights-<sha>.bin        model weights, float32 little-endian, in model.weights order
 *   <dir>/optimizer-<sha>.bin      optimizer slots (Adam m and v), same layout
 *
 * The binary files are written first under content-hashed names, the manifest last (atomically,
 * temp + rename): a crash at any moment leaves the previous complete checkpoint readable.
 */

export const CHECKPOINT_FORMAT = 'kdlab-checkpoint-1';
const MANIFEST = 'checkpoint.json';

interface TensorSpec {
  name: string;
  shape: number[];
  offset: number;
  length: number;
}

interface Manifest {
  format: string;
  savedAt: string;
  weights: { file: string; tensors: TensorSpec[] };
  optimizer: { file: string; name: string; config: Record<string, number>; iterations: number; tensors: TensorSpec[] } | null;
  state: TrainingState | null;
}

function pack(tensors: { name: string; shape: number[]; data: Float32Array }[]): { bytes: Buffer; specs: TensorSpec[] } {
  const total = tensors.reduce((a, t) => a + t.data.length, 0);
  const all = new Float32Array(total);
  const specs: TensorSpec[] = [];
  let offset = 0;
  for (const t of tensors) {
    all.set(t.data, offset);
    specs.push({ name: t.name, shape: t.shape, offset, length: t.data.length });
    offset += t.data.length;
  }
  // Float32Array bytes are little-endian on every platform Node runs on.
  return { bytes: Buffer.from(all.buffer, all.byteOffset, all.byteLength), specs };
}

function sha12(bytes: Buffer): string {
  return crypto.createHash('sha256').update(bytes).digest('hex').slice(0, 12);
}

function readFloats(file: string, expected: number): Float32Array {
  const buf = fs.readFileSync(file);
  if (buf.byteLength !== expected * 4) {
    throw new KdlabError('CHECKPOINT_CORRUPT', `${file} has ${buf.byteLength} bytes, the manifest expects ${expected * 4}.`);
  }
  const out = new Float32Array(expected);
  new Uint8Array(out.buffer).set(buf);
  return out;
}

export function hasCheckpoint(dir: string): boolean {
  return fs.existsSync(path.join(dir, MANIFEST));
}

/** Saves the model's weights (and optionally optimizer and training state) to `dir`. */
export async function saveCheckpoint(
  dir: string,
  content: { model: tf.LayersModel; optimizer?: OptimizerState; state?: TrainingState },
): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  const weights = pack(
    content.model.weights.map((w, i) => {
      const t = w.read();
      return { name: `${i}:${w.originalName}`, shape: t.shape.slice(), data: t.dataSync() as Float32Array };
    }),
  );
  const weightsFile = `weights-${sha12(weights.bytes)}.bin`;
  writeFileAtomic(path.join(dir, weightsFile), weights.bytes);
  let optimizer: Manifest['optimizer'] = null;
  if (content.optimizer) {
    const o = pack(content.optimizer.slots);
    const file = `optimizer-${sha12(o.bytes)}.bin`;
    writeFileAtomic(path.join(dir, file), o.bytes);
    optimizer = {
      file,
      name: content.optimizer.name,
      config: content.optimizer.config,
      iterations: content.optimizer.iterations,
      tensors: o.specs,
    };
  }
  const manifest: Manifest = {
    format: CHECKPOINT_FORMAT,
    savedAt: new Date().toISOString(),
    weights: { file: weightsFile, tensors: weights.specs },
    optimizer,
    state: content.state ?? null,
  };
  writeFileAtomic(path.join(dir, MANIFEST), JSON.stringify(manifest, null, 1));
  // Only now is the old data unreferenced.
  const keep = new Set([MANIFEST, weightsFile, optimizer?.file]);
  for (const f of fs.readdirSync(dir)) {
    if (/^(weights|optimizer)-[0-9a-f]{12}\.bin$/.test(f) && !keep.has(f)) fs.rmSync(path.join(dir, f), { force: true });
  }
}

export interface LoadedCheckpoint {
  state: TrainingState;
  optimizer: OptimizerState | null;
}

/**
 * Loads weights into `model` (matched by position and shape; layer names differ between two
 * instances of the same architecture) and returns the optimizer and training state.
 * Returns null when `dir` holds no checkpoint. `weightsOnly` skips the optimizer's slots (null in
 * the result): a model that is only evaluated or taught from need not read them (Adam's are
 * twice the weights).
 */
export async function loadCheckpoint(
  dir: string,
  target: { model: tf.LayersModel },
  options: { weightsOnly?: boolean } = {},
): Promise<LoadedCheckpoint | null> {
  const manifestFile = path.join(dir, MANIFEST);
  if (!fs.existsSync(manifestFile)) return null;
  let manifest: Manifest;
  try {
    manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as Manifest;
  } catch (err) {
    throw new KdlabError('CHECKPOINT_CORRUPT', `${manifestFile} is not valid JSON: ${(err as Error).message}`);
  }
  if (manifest.format !== CHECKPOINT_FORMAT) {
    throw new KdlabError('CHECKPOINT_CORRUPT', `${manifestFile}: unknown format ${String(manifest.format)}.`);
  }
  const specs = manifest.weights.tensors;
  const modelWeights = target.model.weights;
  if (specs.length !== modelWeights.length) {
    throw new InputError(
      'CHECKPOINT_MISMATCH',
      `the checkpoint holds ${specs.length} weight tensors, the model has ${modelWeights.length}: not the same architecture.`,
    );
  }
  specs.forEach((s, i) => {
    const shape = modelWeights[i].shape;
    if (s.shape.length !== shape.length || s.shape.some((d, k) => d !== shape[k])) {
      throw new InputError(
        'CHECKPOINT_MISMATCH',
        `checkpoint weight ${s.name} has shape [${s.shape.join(', ')}], the model's weight ${i} has [${shape.join(', ')}].`,
      );
    }
  });
  const total = specs.reduce((a, s) => a + s.length, 0);
  const flat = readFloats(path.join(dir, manifest.weights.file), total);
  const tensors = specs.map((s) => tf.tensor(flat.subarray(s.offset, s.offset + s.length), s.shape, 'float32'));
  try {
    target.model.setWeights(tensors);
  } finally {
    tf.dispose(tensors);
  }
  let optimizer: OptimizerState | null = null;
  if (manifest.optimizer && !options.weightsOnly) {
    const o = manifest.optimizer;
    const oTotal = o.tensors.reduce((a, s) => a + s.length, 0);
    const oFlat = readFloats(path.join(dir, o.file), oTotal);
    optimizer = {
      name: o.name,
      config: o.config,
      iterations: o.iterations,
      slots: o.tensors.map((s) => ({ name: s.name, shape: s.shape, data: oFlat.slice(s.offset, s.offset + s.length) })),
    };
  }
  const state: TrainingState = manifest.state ?? { epoch: 0, seed: 0, step: optimizer?.iterations ?? 0, history: [] };
  return { state, optimizer };
}
