import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { DataError } from '../../lib/src/errors';
import {
  IDX_FILES,
  IDX_UBYTE_IMAGES,
  IDX_UBYTE_LABELS,
  batches,
  encodeIdx,
  loadMnist,
  loadSplits,
  parseIdx,
  sha256,
  trainValidationSplit,
  verifyFile,
  type DigitSet,
  type RecordedFile,
} from '../../lib/src/data';

// Checksum stamps go to a private cache so tests never touch the workbook's .cache/.
process.env.KDLAB_CACHE_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'kdlab-cache-'));

/** A tiny MNIST-format data set on disk: `n` train and `m` test images with known pixels. */
function craftDataDir(opts: { n?: number; m?: number; labels?: number[]; gzip?: boolean } = {}): string {
  const { n = 6, m = 4, gzip = false } = opts;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kdlab-idx-'));
  const write = (name: string, bytes: Uint8Array): void => {
    fs.writeFileSync(path.join(dir, gzip ? `${name}.gz` : name), gzip ? gzipSync(bytes) : bytes);
  };
  const images = (count: number): Uint8Array => Uint8Array.from({ length: count * 784 }, (_, i) => (i * 7) % 256);
  const labels = (count: number): Uint8Array => Uint8Array.from(opts.labels ?? Array.from({ length: count }, (_, i) => i % 10));
  write(IDX_FILES.trainImages, encodeIdx(IDX_UBYTE_IMAGES, [n, 28, 28], images(n)));
  write(IDX_FILES.trainLabels, encodeIdx(IDX_UBYTE_LABELS, [n], labels(n)));
  write(IDX_FILES.testImages, encodeIdx(IDX_UBYTE_IMAGES, [m, 28, 28], images(m)));
  write(IDX_FILES.testLabels, encodeIdx(IDX_UBYTE_LABELS, [m], labels(m).subarray(0, m)));
  return dir;
}

function digestsOf(dir: string): Record<string, RecordedFile> {
  const out: Record<string, RecordedFile> = {};
  for (const f of fs.readdirSync(dir)) {
    const bytes = fs.readFileSync(path.join(dir, f));
    out[f] = { sha256: sha256(bytes), bytes: bytes.length };
  }
  return out;
}

function expectDataError(fn: () => unknown, code: string, mentions: string[]): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof DataError, `expected DataError, got ${String(err)}`);
    assert.equal(err.code, code);
    for (const m of mentions) assert.ok(err.message.includes(m), `message should mention ${m}: ${err.message}`);
    return true;
  });
}

test('IDX header: dims and payload are read big-endian; pixels scale to [0, 1]', () => {
  const payload = Uint8Array.from([0, 255, 128, 1, 2, 3]);
  const parsed = parseIdx(encodeIdx(IDX_UBYTE_IMAGES, [1, 2, 3], payload), 'x', IDX_UBYTE_IMAGES);
  assert.deepEqual(parsed.dims, [1, 2, 3]);
  assert.deepEqual([...parsed.data], [...payload]);

  const dir = craftDataDir();
  const data = loadMnist({ dir, verify: false });
  assert.equal(data.train.size, 6);
  assert.equal(data.test.size, 4);
  assert.equal(data.train.images[1], Math.fround(7 / 255));
  assert.equal(data.train.images[37], Math.fround(((37 * 7) % 256) / 255));
  assert.deepEqual([...data.train.labels], [0, 1, 2, 3, 4, 5]);
});

test('gzipped IDX files (as Debian ships Fashion-MNIST) load the same', () => {
  const plain = loadMnist({ dir: craftDataDir(), verify: false });
  const gz = loadMnist({ dir: craftDataDir({ gzip: true }), verify: false });
  assert.deepEqual([...gz.train.images], [...plain.train.images]);
  assert.deepEqual([...gz.test.labels], [...plain.test.labels]);
});

test('missing file: the error says where it looked and how to fix it', () => {
  const dir = craftDataDir();
  fs.rmSync(path.join(dir, IDX_FILES.testLabels));
  expectDataError(() => loadMnist({ dir, verify: false }), 'DATA_MISSING', [path.join(dir, IDX_FILES.testLabels), 'npm ci']);
});

test('wrong magic number is refused, naming the file', () => {
  const dir = craftDataDir();
  const file = path.join(dir, IDX_FILES.trainImages);
  const bytes = fs.readFileSync(file);
  bytes.writeUInt32BE(0x00000801, 0);
  fs.writeFileSync(file, bytes);
  expectDataError(() => loadMnist({ dir, verify: false }), 'DATA_BAD_MAGIC', [file, '0x00000801', '0x00000803']);
});

test('truncated file is refused with the sizes involved', () => {
  const dir = craftDataDir();
  const file = path.join(dir, IDX_FILES.trainImages);
  fs.truncateSync(file, 16 + 784 * 6 - 100);
  expectDataError(() => loadMnist({ dir, verify: false }), 'DATA_TRUNCATED', [file, String(16 + 784 * 6)]);
});

test('checksum mismatch is refused; a good file is hashed once, then trusted by size + mtime', () => {
  const dir = craftDataDir();
  const checksums = digestsOf(dir);
  const file = path.join(dir, IDX_FILES.testImages);
  const recorded = checksums[IDX_FILES.testImages];
  assert.equal(verifyFile(file, recorded), 'sha256');
  assert.equal(verifyFile(file, recorded), 'cached');
  assert.equal(verifyFile(file, undefined), 'unrecorded');
  assert.equal(loadMnist({ dir, checksums }).verification, 'sha256'); // train files were new
  const memoBypass = (extra: string): Record<string, RecordedFile> => ({ ...checksums, [extra]: { sha256: '0', bytes: 0 } });
  assert.equal(loadMnist({ dir, checksums: memoBypass('a') }).verification, 'cached');

  const bytes = fs.readFileSync(file);
  bytes[100] ^= 0xff;
  fs.writeFileSync(file, bytes);
  fs.utimesSync(file, new Date(), new Date(Date.now() + 5000)); // a changed file has a new mtime
  expectDataError(() => verifyFile(file, recorded), 'DATA_CHECKSUM', [file, 'checksums.json']);
  expectDataError(() => loadMnist({ dir, checksums: memoBypass('b') }), 'DATA_CHECKSUM', [file]);
});

test('label out of range is refused with its index', () => {
  const dir = craftDataDir({ labels: [0, 1, 2, 12, 4, 5] });
  expectDataError(() => loadMnist({ dir, verify: false }), 'DATA_LABEL_RANGE', [IDX_FILES.trainLabels, 'index 3']);
});

test('image and label counts that differ are refused', () => {
  const dir = craftDataDir();
  fs.writeFileSync(path.join(dir, IDX_FILES.trainLabels), encodeIdx(IDX_UBYTE_LABELS, [5], Uint8Array.from([0, 1, 2, 3, 4])));
  expectDataError(() => loadMnist({ dir, verify: false }), 'DATA_COUNT_MISMATCH', ['6 images', '5 labels']);
});

test('the shipped MNIST matches data/checksums.json: 60,000 train and 10,000 test images', () => {
  const data = loadMnist();
  assert.equal(data.train.size, 60000);
  assert.equal(data.test.size, 10000);
  assert.notEqual(data.verification, 'unrecorded');
  // Class counts of the MNIST training set are well known (5923 zeros, 6742 ones).
  const counts = new Array<number>(10).fill(0);
  for (const l of data.train.labels) counts[l]++;
  assert.equal(counts[0], 5923);
  assert.equal(counts[1], 6742);
});

function fakeSet(n: number): DigitSet {
  const images = new Float32Array(n * 784);
  for (let i = 0; i < n; i++) images[i * 784] = i; // first pixel = row id
  return { id: 'fake', images, labels: Uint8Array.from({ length: n }, (_, i) => i % 10), size: n };
}

test('validation split is seeded, disjoint, complete, and never touches the test set', () => {
  const set = fakeSet(100);
  const a = trainValidationSplit(set, 20, 7);
  const b = trainValidationSplit(set, 20, 7);
  const c = trainValidationSplit(set, 20, 8);
  const rows = (s: DigitSet): number[] => Array.from({ length: s.size }, (_, i) => s.images[i * 784]);
  assert.deepEqual(rows(a.validation), rows(b.validation));
  assert.notDeepEqual(rows(a.validation), rows(c.validation));
  const all = [...rows(a.train), ...rows(a.validation)].sort((x, y) => x - y);
  assert.deepEqual(all, Array.from({ length: 100 }, (_, i) => i));
  assert.equal(a.validation.size, 20);
  const labelsMatch = rows(a.train).every((r, i) => a.train.labels[i] === r % 10);
  assert.ok(labelsMatch, 'labels travel with their images');

  const splits = loadSplits({ validationSize: 5000, seed: 0 });
  assert.equal(splits.train.size, 55000);
  assert.equal(splits.validation.size, 5000);
  assert.equal(splits.test.size, 10000);
});

test('batches: same (seed, epoch) => same order; epochs differ; every row once; short last batch', () => {
  const set = fakeSet(10);
  const order = (seed: number, epoch: number): number[] =>
    [...batches(set, 4, { seed, epoch })].flatMap((b) => Array.from(b.indices));
  assert.deepEqual(order(1, 0), order(1, 0));
  assert.notDeepEqual(order(1, 0), order(1, 1));
  assert.deepEqual([...order(1, 2)].sort((x, y) => x - y), Array.from({ length: 10 }, (_, i) => i));
  const sizes = [...batches(set, 4, { seed: 1 })].map((b) => b.labels.length);
  assert.deepEqual(sizes, [4, 4, 2]);
  const first = batches(set, 4, { seed: 3 }).next().value;
  assert.ok(first);
  for (let r = 0; r < first.indices.length; r++) {
    assert.equal(first.images[r * 784], first.indices[r], 'images follow the index order');
    assert.equal(first.labels[r], first.indices[r] % 10);
  }
});
