import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { createConvStudent, createConvTeacher, createStudent } from '../../lib/src/models';
import { largestProduct, layerProducts, stepFlopsPerSample } from '../../tools/src/commands/bench-flops';

const root = path.resolve(__dirname, '..', '..');
const cli = path.join(root, 'tools/src/cli.ts');

/** `kdlab bench train ...args --json`, parsed. */
function benchJson(...args: string[]): Record<string, unknown> {
  return JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', cli, 'bench', 'train', '--json', ...args], { cwd: root, encoding: 'utf8' })) as Record<string, unknown>;
}

test('kdlab bench train --json reports a throughput, the backend and no leaked tensors (tiny run)', () => {
  const r = benchJson('--runs', '1', '--steps', '2', '--warmup', '1', '--hidden', '32,16', '--profile', '--baseline');
  assert.ok(['native', 'wasm', 'cpu', 'tensorflow'].includes(r.backend as string));
  assert.match(r.backendLine as string, /backend/);
  assert.equal(r.batch, 128);
  assert.equal(r.temperature, 4);
  assert.equal(r.alpha, 0.5);
  assert.ok((r.samplesPerSecond as number) > 0);
  assert.equal(r.leakedTensors, 0);
  assert.ok((r.baselineSamplesPerSecond as number) > 0);
  assert.ok((r.samplesPerCpuSecond as number) > 0);
  assert.ok(Number.isFinite(r.lastLoss as number));
  const profile = r.profile as { phases: { total: number }; kernels: { matmul: number } };
  assert.ok(profile.phases.total > 0 && profile.kernels.matmul > 0);
});

test('kdlab bench train --model conv-student --json reports every path, the conv profile and no leaked tensors (tiny run)', () => {
  const r = benchJson('--model', 'conv-student', '--runs', '1', '--steps', '1', '--warmup', '1', '--no-torch', '--profile');
  assert.equal(r.modelKind, 'conv-student');
  assert.match(r.model as string, /16\/32 filters \(20,490 params\)/);
  assert.equal(r.objective, 'kd');
  assert.equal(r.temperature, 4);
  assert.equal(r.leakedTensors, 0);
  assert.equal(r.torch, undefined);
  const paths = r.paths as { path: string; threads: number; samplesPerSecond: number }[];
  assert.ok(paths.length > 0);
  for (const p of paths) {
    assert.equal(typeof p.path, 'string');
    assert.ok(p.threads >= 1);
    assert.ok(p.samplesPerSecond > 0, `${p.path}: ${p.samplesPerSecond}`);
  }
  assert.ok(Number.isFinite(r.lastLoss as number));
  const profile = r.profile as { kernels: Record<string, number>; topKernels: { name: string }[] };
  assert.ok(profile.kernels.conv > 0 && profile.kernels.pool > 0, JSON.stringify(profile.kernels));
  assert.ok(profile.topKernels.some((k) => /Conv2D/.test(k.name)));
});

/** Runs `kdlab bench train ...args`, expecting it to fail; returns its stderr. */
function benchFails(...args: string[]): string {
  const r = spawnSync(process.execPath, ['--import', 'tsx', cli, 'bench', 'train', ...args], { cwd: root, encoding: 'utf8' });
  assert.notEqual(r.status, 0);
  return r.stderr;
}

test('kdlab bench train names the problem and the fix for a bad --model, --hidden on a conv net and a bad --paths', () => {
  const bogus = benchFails('--model', 'bogus');
  assert.match(bogus, /unknown model "bogus"/);
  assert.match(bogus, /--model mlp, conv-student, conv-teacher/);
  const hidden = benchFails('--model', 'conv-teacher', '--hidden', '32,16');
  assert.match(hidden, /--hidden sets the MLP's hidden layers, and --model conv-teacher is a conv net/);
  assert.match(hidden, /drop --hidden, or use --model mlp/);
  assert.match(benchFails('--paths', 'gpu'), /unknown path "gpu" in --paths; use a comma list of native, native-1/);
});

test('bench FLOP count: the conv student by hand, the MLP as before, the teacher\'s largest product', () => {
  const student = createConvStudent({ seed: 0 });
  const products = layerProducts(student);
  // im2col per sample: conv 1 has 14·14 output positions, a 3·3·1 window, 16 filters; conv 2
  // 7·7 positions, 3·3·16, 32 filters; the dense layer 7·7·32 = 1568 inputs, 10 units.
  assert.deepEqual(products, [
    { layer: 'conv 1', rows: 196, k: 9, n: 16 },
    { layer: 'conv 2', rows: 49, k: 144, n: 32 },
    { layer: 'dense 1', rows: 1, k: 1568, n: 10 },
  ]);
  // forward 2·(196·9·16 + 49·144·32 + 1568·10) = 56,448 + 451,584 + 31,360 = 539,392; weight
  // gradients the same again; input gradients of conv 2 and dense: 451,584 + 31,360.
  assert.equal(stepFlopsPerSample(products), 2 * 539_392 + 482_944);
  assert.equal(stepFlopsPerSample(products), 1_561_728);
  // The MLP's count is the one bench train has always printed: 784-800-800-10.
  const mlp = createStudent({ hidden: [800, 800], seed: 0 });
  assert.equal(stepFlopsPerSample(layerProducts(mlp)), 2 * 2 * (784 * 800 + 800 * 800 + 800 * 10) + 2 * (800 * 800 + 800 * 10));
  assert.deepEqual(largestProduct(layerProducts(mlp), 128), { layer: 'dense 2', m: 128, k: 800, n: 800 });
  // The teacher's ceiling shape: conv 2 as im2col, m = 128·7·7, k = 3·3·256, n = 512.
  const teacher = createConvTeacher({ seed: 0 });
  assert.deepEqual(largestProduct(layerProducts(teacher), 128), { layer: 'conv 2', m: 6272, k: 2304, n: 512 });
  for (const m of [student, mlp, teacher]) m.dispose();
});

test('kdlab bench rejects unknown options', () => {
  assert.throws(() =>
    execFileSync(process.execPath, ['--import', 'tsx', cli, 'bench', 'train', '--bogus'], {
      cwd: root,
      encoding: 'utf8',
      stdio: 'pipe',
    }),
  );
});
