#!/usr/bin/env node
// Build step for the optional native kernels (kdlab_native.node: OpenBLAS sgemm on the tfjs wasm
// heap). It never fails the install: where the compiler, OpenBLAS or Node's headers are missing it
// says what to install and exits 0, and the workbook runs on pure wasm as before. It rebuilds
// only when a source changed (a stamp of the sources' hash), so `npm run build` stays quick.
//   node lib/native/build.js [--force] [--quiet]
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const { spawnSync } = require('node:child_process');

const here = __dirname;
const out = path.join(here, 'build', 'Release', 'kdlab_native.node');
const stampFile = path.join(here, 'build', 'sources.sha256');
// Every C++ source and header beside this file, so a new kernel file is part of the stamp.
const sources = ['binding.gyp', 'build.js', ...fs.readdirSync(here).filter((f) => /\.(cc|h)$/.test(f)).sort()];
const force = process.argv.includes('--force');
const quiet = process.argv.includes('--quiet');
const ENABLE = 'apt-get install libopenblas-dev g++ make python3, then npm run build:native';

function log(msg) {
  if (!quiet) console.log(`kdlab native: ${msg}`);
}

function sourcesHash() {
  const h = crypto.createHash('sha256');
  for (const f of sources) h.update(f).update(fs.readFileSync(path.join(here, f)));
  h.update(process.version).update(process.arch);
  return h.digest('hex');
}

function nodeDir() {
  // Offline builds: Node's own headers (Debian's nodejs ships them in /usr/include/node).
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  return fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined;
}

function missingPrerequisite() {
  const which = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
  if (!which('g++') && !which('c++')) return 'no C++ compiler (g++)';
  if (!which('make')) return 'no make';
  if (!which('python3')) return 'no python3 (node-gyp needs it)';
  const headers = ['/usr/include/x86_64-linux-gnu/cblas.h', '/usr/include/aarch64-linux-gnu/cblas.h',
    '/usr/include/cblas.h', '/usr/include/openblas/cblas.h'];
  if (!headers.some((f) => fs.existsSync(f))) return 'OpenBLAS headers not found (libopenblas-dev)';
  if (!nodeDir()) return `Node's headers not found next to ${process.execPath}`;
  return undefined;
}

function main() {
  if (process.env.KDLAB_SKIP_NATIVE_BUILD === '1') {
    log('skipped (KDLAB_SKIP_NATIVE_BUILD=1); the workbook runs on wasm');
    return;
  }
  const hash = sourcesHash();
  if (!force && fs.existsSync(out) && fs.existsSync(stampFile) && fs.readFileSync(stampFile, 'utf8') === hash) {
    return;
  }
  const missing = missingPrerequisite();
  if (missing) {
    // An addon built earlier stays: the loader refuses it if its ABI no longer matches.
    log(`not built: ${missing}. The workbook runs on wasm. To enable: ${ENABLE}`);
    return;
  }
  let gyp;
  try {
    gyp = require.resolve('node-gyp/bin/node-gyp.js', { paths: [here] });
  } catch {
    log(`not built: node-gyp is not installed (run npm ci). The workbook runs on wasm.`);
    return;
  }
  log('building (node-gyp + OpenBLAS)…');
  const r = spawnSync(process.execPath, [gyp, 'rebuild', `--nodedir=${nodeDir()}`, '--jobs=max'], {
    cwd: here,
    encoding: 'utf8',
    env: { ...process.env, npm_config_nodedir: nodeDir() },
  });
  if (r.status !== 0 || !fs.existsSync(out)) {
    const tail = `${r.stdout ?? ''}\n${r.stderr ?? ''}`.trim().split('\n').slice(-15).join('\n');
    log(`build failed; the workbook runs on wasm. To retry: ${ENABLE}\n${tail}`);
    fs.rmSync(out, { force: true });
    return;
  }
  const tmp = `${stampFile}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, hash);
  fs.renameSync(tmp, stampFile);
  log(`built ${path.relative(process.cwd(), out)}`);
}

try {
  main();
} catch (err) {
  log(`not built: ${err && err.message ? err.message : err}. The workbook runs on wasm.`);
}
