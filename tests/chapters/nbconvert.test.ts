/**
 * A chapter notebook under Jupyter's own client (nbclient through `jupyter nbconvert --execute`),
 * with the kernelspec that `kdlab kernel install` writes: what readers run in JupyterLab or VS
 * Code starts the same kernel CI tested. One cheap notebook (00: backend, data, a training) is
 * enough for the client and the kernelspec; every chapter notebook executes once per test run,
 * through the runner (tests/chapters). CI installs Debian's jupyter-nbconvert; elsewhere the test
 * is skipped with a notice (and fails under CI=true, where the tool must be present).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT, notebookPath, readJson, type Chapter } from './helpers';

const UNDER_NBCONVERT: Chapter[] = ['00-setup'];

const hasNbconvert = spawnSync('jupyter', ['nbconvert', '--version'], { encoding: 'utf8' }).status === 0;
const skip = hasNbconvert ? false : 'jupyter nbconvert is not installed (apt-get install jupyter-nbconvert python3-nbclient jupyter-client)';

test('CI has Jupyter\'s own client', { skip: !process.env.CI }, () => {
  assert.ok(hasNbconvert, 'CI must install jupyter-nbconvert (see .ci/run)');
});

test('a chapter notebook executes under jupyter nbconvert with the kdlab kernelspec', { skip }, () => {
  const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'kdlab-jupyter-'));
  const install = spawnSync(process.execPath, [path.join(ROOT, 'tools', 'bin', 'kdlab.js'), 'kernel', 'install', '--prefix', prefix], { encoding: 'utf8' });
  assert.equal(install.status, 0, install.stderr);
  // Only our private kernelspec is visible, so this tests exactly what `kdlab kernel install` wrote.
  const env = { ...process.env, JUPYTER_PATH: path.join(prefix, 'share', 'jupyter'), JUPYTER_DATA_DIR: path.join(prefix, 'data') };
  const specs = spawnSync('jupyter', ['kernelspec', 'list', '--json'], { env, encoding: 'utf8' });
  const listed = JSON.parse(specs.stdout) as { kernelspecs: Record<string, { spec: { argv: string[] } }> };
  assert.equal(listed.kernelspecs.tslab?.spec.argv[0], path.join(ROOT, 'node_modules', '.bin', 'tslab'));

  const out = path.join(ROOT, 'build', 'nbconvert');
  for (const name of UNDER_NBCONVERT) {
    const r = spawnSync(
      'jupyter',
      ['nbconvert', '--to', 'notebook', '--execute', '--ExecutePreprocessor.kernel_name=tslab', '--ExecutePreprocessor.timeout=1800', '--output-dir', out, notebookPath(name)],
      { env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
    );
    assert.equal(r.status, 0, `${name} failed under nbconvert:\n${r.stderr.slice(-4000)}`);
    const nb = readJson<{ cells: Array<{ cell_type: string; outputs?: unknown[] }> }>(path.join(out, `${name}.ipynb`));
    const withOutput = nb.cells.filter((c) => c.cell_type === 'code' && (c.outputs?.length ?? 0) > 0).length;
    assert.ok(withOutput > 0, `${name}: no outputs recorded by nbconvert`);
  }
});
