#!/usr/bin/env node
// Deletes compiled files in lib/dist and tools/dist whose source is gone. `tsc -b` never removes
// outputs of deleted sources, and a stale dist/train.js would shadow a newer dist/train/index.js.
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..', '..');
const OUTPUT = /\.(d\.ts|js|js\.map|d\.ts\.map)$/;

function prune(pkg) {
  const dist = path.join(root, pkg, 'dist');
  const src = path.join(root, pkg, 'src');
  const walk = (dir) => {
    if (!fs.existsSync(dir)) return;
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) {
        walk(full);
        if (fs.readdirSync(full).length === 0) fs.rmdirSync(full);
        continue;
      }
      const rel = path.relative(dist, full);
      const stem = rel.replace(OUTPUT, '');
      const hasSource = rel.endsWith('.wasm')
        ? fs.existsSync(path.join(src, rel.replace(/\.wasm$/, '.wat')))
        : stem !== rel
          ? fs.existsSync(path.join(src, `${stem}.ts`))
          : fs.existsSync(path.join(src, rel));
      if (!hasSource) fs.rmSync(full);
    }
  };
  walk(dist);
}

prune('lib');
prune('tools');
