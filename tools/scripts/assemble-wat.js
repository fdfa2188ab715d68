#!/usr/bin/env node
// Build step: assembles every WebAssembly text kernel lib/src/kernels/*.wat into
// lib/dist/kernels/*.wasm with wabt, so the kernels are read and reviewed as source, not bytes.
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..', '..');
const srcDir = path.join(root, 'lib', 'src', 'kernels');
const outDir = path.join(root, 'lib', 'dist', 'kernels');

async function main() {
  const wabt = await require('wabt')();
  fs.mkdirSync(outDir, { recursive: true });
  for (const name of fs.readdirSync(srcDir).filter((f) => f.endsWith('.wat'))) {
    const file = path.join(srcDir, name);
    const module = wabt.parseWat(name, fs.readFileSync(file, 'utf8'), { simd: true });
    try {
      module.validate();
      const { buffer } = module.toBinary({});
      const out = path.join(outDir, name.replace(/\.wat$/, '.wasm'));
      const tmp = `${out}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, buffer);
      fs.renameSync(tmp, out);
    } finally {
      module.destroy();
    }
  }
}

main().catch((err) => {
  process.stderr.write(`assemble-wat: ${err && err.message ? err.message : String(err)}\n`);
  process.exit(1);
});
