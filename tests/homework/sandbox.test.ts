import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { sandboxFlag, sandboxNodeOptions, withoutCoveredGrants } from '../../tools/src/homework/grade';
import { workbookRoot } from '../../lib/src/paths';

test('grants: a grant covered by a wildcard or by a parent folder is dropped, never the wildcard', () => {
  assert.deepEqual(
    withoutCoveredGrants([
      '/w/node_modules', // the folder itself next to folder/*: Node 20 aborts at start-up
      '/w/node_modules/*',
      '/w/lib/dist/*',
      '/w/lib/dist/node_modules', // a child next to dir/*: Node 20 stops matching the wildcard
      '/w/lib/node_modules', // a sibling of dist: kept
      '/home/k', // an exact folder grant ...
      '/home/k/node_modules', // ... already covers what is under it
      '/tmp/kdlab-kernel-*', // a name prefix, not a folder wildcard
      '/tmp/kdlab-kernel-1/x',
      '/w/lib/dist/*', // duplicates collapse
    ]),
    ['/w/node_modules/*', '/w/lib/dist/*', '/w/lib/node_modules', '/home/k', '/tmp/kdlab-kernel-*', '/tmp/kdlab-kernel-1/x'],
  );
});

/** Runs `node -e script` under the grader's sandbox options with home as the kernel's home. */
function underSandbox(home: string, script: string): { status: number | null; out: string } {
  const opts = sandboxNodeOptions(home);
  assert.ok(opts, 'this Node has the permission model and the workbook path needs no quoting');
  const r = spawnSync(process.execPath, ['-e', script], {
    env: { PATH: process.env.PATH, HOME: home, NODE_OPTIONS: opts },
    encoding: 'utf8',
  });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

test(
  'sandbox: the library and missing node_modules on every ancestor can be read and watched; homework/ cannot',
  { skip: sandboxFlag() ? false : "this Node has no permission model" },
  () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'kdlab-sandbox-test-'));
    try {
      const root = workbookRoot();
      // tslab's TypeScript watches the node_modules folders its lookups missed, how far up
      // depends on the path's depth: where CI cloned the workbook one level deeper than here,
      // a denied watch on lib/node_modules broke every graded cell.
      const watched: string[] = [];
      for (let dir = path.join(root, 'lib', 'dist'); ; dir = path.dirname(dir)) {
        watched.push(path.join(dir, 'node_modules'));
        if (path.dirname(dir) === dir) break;
      }
      const script = `
        const fs = require('fs');
        const tryIt = (what, f) => { try { f(); return what + ' ok'; } catch (e) { return what + ' ' + (e.code || e.message); } };
        const lines = [];
        for (const p of ${JSON.stringify(watched)}) lines.push(tryIt('watch ' + p, () => { fs.watchFile(p, () => {}); fs.unwatchFile(p); }));
        lines.push(tryIt('read dist', () => fs.readFileSync(${JSON.stringify(path.join(root, 'lib', 'dist', 'index.d.ts'))})));
        lines.push(tryIt('read package', () => fs.readFileSync(${JSON.stringify(path.join(root, 'node_modules', 'tslab', 'package.json'))})));
        lines.push(tryIt('read homework', () => fs.readdirSync(${JSON.stringify(path.join(root, 'homework'))})));
        console.log(lines.join('\\n'));
        process.exit(0);`;
      const { status, out } = underSandbox(home, script);
      assert.equal(status, 0, out);
      for (const p of watched) assert.match(out, new RegExp(`watch ${p} ok`), out);
      assert.match(out, /read dist ok/, out);
      assert.match(out, /read package ok/, out);
      assert.match(out, /read homework ERR_ACCESS_DENIED/, out);
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  },
);
