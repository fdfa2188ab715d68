import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..', '..');

test('kdlab bench train --json reports a throughput, the backend and no leaked tensors (tiny run)', () => {
  const out = execFileSync(
    process.execPath,
    ['--import', 'tsx', path.join(root, 'tools/src/cli.ts'), 'bench', 'train', '--json', '--runs', '1', '--steps', '2', '--warmup', '1', '--hidden', '32,16', '--profile', '--baseline'],
    { cwd: root, encoding: 'utf8' },
  );
  const r = JSON.parse(out) as Record<string, unknown>;
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

test('kdlab bench rejects unknown options', () => {
  assert.throws(() =>
    execFileSync(process.execPath, ['--import', 'tsx', path.join(root, 'tools/src/cli.ts'), 'bench', 'train', '--bogus'], {
      cwd: root,
      encoding: 'utf8',
      stdio: 'pipe',
    }),
  );
});
