import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadNativeAddon } from '../../lib/src/kernels/native';

/**
 * OpenBLAS's kernel family is pinned to Haswell before libopenblas loads (kernels/native.ts), so
 * that the same seed gives the same digits on every AVX2 x86-64 machine. OPENBLAS_CORETYPE is read
 * once, when the library loads: each case needs a fresh process, hence the children.
 */

const ROOT = path.resolve(__dirname, '..', '..');
const addon = loadNativeAddon();

function haswellRunsHere(): string | null {
  if (process.arch !== 'x64') return `not x86-64 (${process.arch})`;
  let flags: Set<string>;
  try {
    const line = /^flags\s*:(.*)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'));
    flags = new Set((line ? line[1] : '').trim().split(/\s+/));
  } catch {
    return 'no /proc/cpuinfo';
  }
  return flags.has('avx2') && flags.has('fma') ? null : 'this CPU lacks AVX2/FMA';
}

const noHaswell = haswellRunsHere();
const skip = !addon.ok ? `native kernels not built (${addon.why})` : noHaswell ?? false;

interface Family {
  core: string;
  pinned: string;
  why?: string;
}

/** The environment without any kernel-family choice, as a user who never heard of it has. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, KDLAB_BACKEND: '', ...extra };
  if (!('OPENBLAS_CORETYPE' in extra)) delete env.OPENBLAS_CORETYPE;
  delete env.KDLAB_OPENBLAS_CORETYPE_PINNED;
  return env;
}

function runChild(code: string, env: NodeJS.ProcessEnv): string {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', code], { cwd: ROOT, env, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim().split('\n').pop() as string;
}

// The child reports its own family, then starts a grandchild with {...process.env}, as the run
// pool's workers are started, and reports that one's too.
const FAMILY_AND_WORKER = [
  "const { spawnSync } = require('node:child_process');",
  "const n = require('./lib/src/kernels/native');",
  'const own = n.blasKernelFamily();',
  "const env = { ...process.env, KDLAB_BLAS_THREADS: '1', OPENBLAS_NUM_THREADS: '1' };",
  "const w = spawnSync(process.execPath, ['--import', 'tsx', '-e', \"console.log(JSON.stringify(require('./lib/src/kernels/native').blasKernelFamily()))\"], { env, encoding: 'utf8' });",
  'console.log(JSON.stringify({ own, coretype: process.env.OPENBLAS_CORETYPE ?? null, worker: JSON.parse(w.stdout.trim()) }));',
].join('\n');

test('with OPENBLAS_CORETYPE unset, a fresh process runs the Haswell kernels, pinned, and its workers inherit the pin', { skip }, () => {
  const out = JSON.parse(runChild(FAMILY_AND_WORKER, cleanEnv())) as { own: Family; coretype: string | null; worker: Family };
  assert.equal(out.own.core, 'Haswell');
  assert.equal(out.own.pinned, 'haswell-default');
  assert.equal(out.coretype, 'Haswell');
  assert.equal(out.worker.core, 'Haswell');
  assert.equal(out.worker.pinned, 'haswell-default', 'a worker reports the inherited pin, not a user choice');
});

test("a user's OPENBLAS_CORETYPE wins and is recorded as the user's", { skip }, () => {
  for (const chosen of ['Sandybridge', 'Haswell']) {
    const out = JSON.parse(runChild(FAMILY_AND_WORKER, cleanEnv({ OPENBLAS_CORETYPE: chosen }))) as { own: Family; worker: Family };
    assert.equal(out.own.core, chosen);
    assert.equal(out.own.pinned, 'user');
    assert.match(out.own.why ?? '', /OPENBLAS_CORETYPE/);
    assert.equal(out.worker.core, chosen);
    assert.equal(out.worker.pinned, 'user');
  }
});

test('the backend line and the doctor say which kernel family runs and that it is pinned', { skip }, () => {
  const code = [
    "const k = require('./lib/src/backend');",
    "k.initBackend({ quiet: true, backend: 'native' }).then((i) => console.log(JSON.stringify({ family: i.blas.family, line: k.describeBackend(i), text: k.describeBlasKernelFamily(i.blas.family) })));",
  ].join('\n');
  const out = JSON.parse(runChild(code, cleanEnv())) as { family: Family; line: string; text: string };
  assert.deepEqual(out.family, { core: 'Haswell', pinned: 'haswell-default', why: 'same digits on every AVX2 x86-64 machine' });
  assert.match(out.line, /OpenBLAS 0\.\d+\.\d+ Haswell pinned/);
  assert.equal(out.text, 'core Haswell (pinned: same digits on every AVX2 x86-64 machine)');
});

test('two fresh processes train the same seeded MLP to bit-identical weights on the pinned kernels', { skip }, () => {
  const code = [
    "const crypto = require('node:crypto');",
    "const { initBackend } = require('./lib/src/backend');",
    "const tf = require('@tensorflow/tfjs');",
    "const { createStudent } = require('./lib/src/models');",
    "const { Optimizer, trainableVariables, trainingForward } = require('./lib/src/train');",
    "const { resolveObjective } = require('./lib/src/losses');",
    "initBackend({ quiet: true, backend: 'native' }).then(() => {",
    '  const model = createStudent({ hidden: [64, 32], seed: 5 });',
    "  const opt = new Optimizer({ name: 'adam', learningRate: 1e-2 });",
    '  const vars = trainableVariables(model);',
    "  const x = tf.randomNormal([48, 784], 0, 1, 'float32', 9);",
    "  const y = tf.oneHot(tf.tensor1d([...Array(48).keys()].map((i) => i % 10), 'int32'), 10).toFloat();",
    "  const loss = resolveObjective({ objective: 'hard' }).loss;",
    '  for (let s = 0; s < 5; s++) tf.tidy(() => { const { grads, value } = tf.variableGrads(() => loss(trainingForward(model)(x), undefined, y), vars); opt.step(vars, vars.map((v) => grads[v.name])); value.dispose(); });',
    "  const h = crypto.createHash('sha256');",
    '  for (const v of vars) h.update(Buffer.from(v.dataSync().buffer));',
    "  console.log(h.digest('hex'));",
    '});',
  ].join('\n');
  const env = cleanEnv({ KDLAB_BLAS_THREADS: '1' });
  const first = runChild(code, env);
  assert.match(first, /^[0-9a-f]{64}$/);
  assert.equal(runChild(code, env), first);
});
