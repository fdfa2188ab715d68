/**
 * The chapter notebooks in Jupyter's own front end: Debian's classic Notebook server (jupyter-notebook
 * 6), started here on a free loopback port with a token and only the kernelspec that
 * `kdlab kernel install --prefix` writes, driven in headless Chromium: Run All, wait for every code
 * cell to finish and the kernel to go idle, then no error output and every Plotly figure drawn. The
 * classic Notebook has no Plotly renderer, so this is show()'s text/html fallback (and its once per
 * kernel plotly.js loader) at work, as in JupyterLab without the Plotly extension.
 *
 * Notebooks 01 and 03 by default; every chapter with KDLAB_SLOW_TESTS=1. The screenshots go to
 * build/book/screenshots/ (jupyter-*.png). Skipped with a notice without jupyter-notebook or Chromium (CI has both).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { findChromium } from '../../tools/src/figure-export';
import { CHAPTERS, FIGURES, notebookPath, type Chapter } from '../chapters/helpers';
import { launch } from './browser';

const ROOT = path.resolve(__dirname, '..', '..');
const JUPYTER_NOTEBOOK = ['/usr/bin/jupyter-notebook', '/usr/local/bin/jupyter-notebook'].find((p) => fs.existsSync(p));
const chromiumPath = findChromium();
const skip = !JUPYTER_NOTEBOOK
  ? 'the classic Jupyter Notebook is not installed (apt-get install jupyter-notebook)'
  : !chromiumPath
    ? 'no Chromium found: set CHROMIUM_PATH or install it (apt-get install chromium)'
    : false;
const NOTEBOOKS: readonly Chapter[] = process.env.KDLAB_SLOW_TESTS === '1' ? CHAPTERS : ['01-soft-labels-and-temperature', '03-distillation-loss'];
const SCREENSHOTS = path.join(ROOT, 'build', 'book', 'screenshots');

test("CI has the classic Jupyter Notebook for the front-end test", { skip: !process.env.CI }, () => {
  assert.ok(JUPYTER_NOTEBOOK, 'CI must install jupyter-notebook (see .ci/run)');
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

interface Server {
  process: ChildProcess;
  base: string;
  token: string;
  log: () => string;
}

async function startServer(notebookDir: string, home: string): Promise<Server> {
  const install = spawnSync(process.execPath, [path.join(ROOT, 'tools', 'bin', 'kdlab.js'), 'kernel', 'install', '--prefix', path.join(home, 'prefix')], { encoding: 'utf8' });
  assert.equal(install.status, 0, `kdlab kernel install failed: ${install.stderr}`);
  const token = randomBytes(16).toString('hex');
  const port = await freePort();
  const env = {
    ...process.env,
    // Only our kernelspec and a private config: nothing from the user's Jupyter set-up leaks in.
    JUPYTER_PATH: path.join(home, 'prefix', 'share', 'jupyter'),
    JUPYTER_CONFIG_DIR: path.join(home, 'config'),
    JUPYTER_DATA_DIR: path.join(home, 'data'),
    JUPYTER_RUNTIME_DIR: path.join(home, 'runtime'),
    BROWSER: 'true',
  };
  let output = '';
  const child = spawn(
    JUPYTER_NOTEBOOK as string,
    [
      '--no-browser',
      '--ip=127.0.0.1',
      `--port=${port}`,
      '--port-retries=0',
      `--NotebookApp.token=${token}`,
      `--notebook-dir=${notebookDir}`,
      '--allow-root',
      '--NotebookApp.disable_check_xsrf=False',
    ],
    { cwd: notebookDir, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const server: Server = { process: child, base: `http://127.0.0.1:${port}`, token, log: () => output };
  const deadline = Date.now() + 180_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`jupyter-notebook exited with ${child.exitCode}:\n${output.slice(-3000)}`);
    try {
      const r = await fetch(`${server.base}/api/status?token=${token}`);
      if (r.ok) return server;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`jupyter-notebook did not answer on ${server.base} within 180 s:\n${output.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Shuts the kernels down through the API, then the server's process group; waits until it is gone. */
async function stopServer(server: Server): Promise<void> {
  try {
    const r = await fetch(`${server.base}/api/kernels?token=${server.token}`);
    const kernels = r.ok ? ((await r.json()) as { id: string }[]) : [];
    for (const k of kernels) await fetch(`${server.base}/api/kernels/${k.id}?token=${server.token}`, { method: 'DELETE' });
  } catch {
    // the server may already be gone
  }
  const pid = server.process.pid;
  if (pid === undefined || server.process.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => server.process.once('exit', () => resolve()));
  try {
    process.kill(-pid, 'SIGTERM');
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }, 30_000);
  await exited;
  clearTimeout(timer);
}

/**
 * What the classic Notebook itself logs on Debian, independent of the workbook: the
 * widgets nbextension that Debian's global nbconfig enables but does not ship (404, then a refused
 * script), and a font the UI asks for at about:blank. Anything else (a script error in an output,
 * a failed figure, a request off the machine) stays an error.
 */
function isFrontEndNoise(text: string): boolean {
  return (
    /^Failed to load resource\b/.test(text) ||
    /\/nbextensions\/widgets\//.test(text) ||
    /^about:blank$/.test(text) ||
    /Access to font at 'about:blank'/.test(text)
  );
}

interface RunReport {
  codeCells: number;
  errors: string[];
  plotlyOutputs: number;
  drawnFigures: number;
}

/** Runs every cell through the classic UI's own API and reports what the page shows. */
async function runAll(page: Page, timeoutMs: number): Promise<RunReport> {
  await page.waitForFunction(
    () => {
      const J = (window as unknown as { Jupyter?: { notebook?: { kernel?: { is_connected(): boolean } } } }).Jupyter;
      return !!J?.notebook?.kernel?.is_connected();
    },
    undefined,
    { timeout: 180_000, polling: 500 },
  );
  await page.evaluate(() => {
    const J = (window as unknown as { Jupyter: { notebook: { execute_all_cells(): void } } }).Jupyter;
    J.notebook.execute_all_cells();
  });
  // Done: every code cell has its execution number (or an error stopped the run) and the kernel is idle.
  await page.waitForFunction(
    () => {
      type Out = { output_type: string };
      const J = (window as unknown as { Jupyter: { notebook: { get_cells(): { cell_type: string; input_prompt_number?: unknown; output_area?: { outputs: Out[] } }[] } } }).Jupyter;
      const code = J.notebook.get_cells().filter((c) => c.cell_type === 'code');
      const idle = document.querySelector('#kernel_indicator_icon')?.classList.contains('kernel_idle_icon') ?? false;
      const failed = code.some((c) => c.output_area?.outputs.some((o) => o.output_type === 'error'));
      const done = code.every((c) => typeof c.input_prompt_number === 'number');
      return idle && (done || failed);
    },
    undefined,
    { timeout: timeoutMs, polling: 1000 },
  );
  const counts = await page.evaluate(() => {
    type Out = { output_type: string; ename?: string; evalue?: string; data?: Record<string, unknown> };
    const J = (window as unknown as { Jupyter: { notebook: { get_cells(): { cell_type: string; output_area?: { outputs: Out[] } }[] } } }).Jupyter;
    const outputs = J.notebook.get_cells().flatMap((c) => (c.cell_type === 'code' ? c.output_area?.outputs ?? [] : []));
    return {
      codeCells: J.notebook.get_cells().filter((c) => c.cell_type === 'code').length,
      errors: outputs.filter((o) => o.output_type === 'error').map((o) => `${o.ename}: ${o.evalue}`),
      plotlyOutputs: outputs.filter((o) => o.data && 'application/vnd.plotly.v1+json' in o.data).length,
    };
  });
  // show()'s HTML fallback draws once the loader has decompressed plotly.js: wait for each SVG.
  if (counts.errors.length === 0 && counts.plotlyOutputs > 0) {
    await page
      .waitForFunction((n) => document.querySelectorAll('.kdlab-plot.js-plotly-plot .main-svg').length >= n, counts.plotlyOutputs, { timeout: 180_000, polling: 500 })
      .catch(() => undefined);
  }
  const drawnFigures = await page.evaluate(() => Array.from(document.querySelectorAll('.kdlab-plot')).filter((d) => d.querySelector('.main-svg') !== null).length);
  return { ...counts, drawnFigures };
}

test(`the classic Jupyter Notebook runs ${NOTEBOOKS.join(', ')} in Chromium: no error output, every figure drawn`, { skip, timeout: 40 * 60_000 }, async () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'kdlab-jupyter-frontend-'));
  // Inside the workbook, so that the kernel (whose working folder is the notebook's) resolves 'kdlab'.
  const notebookDir = fs.mkdtempSync(path.join(ROOT, 'build', 'jupyter-frontend-'));
  for (const name of NOTEBOOKS) fs.copyFileSync(notebookPath(name), path.join(notebookDir, `${name}.ipynb`));
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  let server: Server | undefined;
  const browser = await launch(chromiumPath as string);
  try {
    server = await startServer(notebookDir, home);
    const origin = server.base;
    for (const name of NOTEBOOKS) {
      const problems: string[] = [];
      const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
      const page = await context.newPage();
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      // Requests are judged by URL below; Chromium's generic "Failed to load resource" lines repeat them.
      page.on('console', (m) => {
        if (m.type() === 'error' && !isFrontEndNoise(m.text())) problems.push(`console: ${m.text()}`);
      });
      page.on('response', (r) => {
        if (r.status() >= 400 && !isFrontEndNoise(r.url())) problems.push(`HTTP ${r.status()}: ${r.url()}`);
      });
      page.on('requestfailed', (r) => {
        if (!isFrontEndNoise(r.url())) problems.push(`request failed: ${r.url()}`);
      });
      // Only the local server: nothing may come from the network (the figures carry their plotly.js).
      await page.route('**/*', (route) => {
        const url = route.request().url();
        if (url.startsWith(origin) || /^(data|blob|about):/.test(url)) return route.continue();
        problems.push(`network request: ${url}`);
        return route.abort();
      });
      try {
        await page.goto(`${origin}/notebooks/${encodeURIComponent(name)}.ipynb?token=${server.token}`, { timeout: 180_000 });
        const report = await runAll(page, 20 * 60_000);
        await page.evaluate(() => document.querySelector('.kdlab-plot')?.scrollIntoView());
        await page.screenshot({ path: path.join(SCREENSHOTS, `jupyter-${name}.png`), timeout: 120_000 });

        assert.deepEqual(report.errors, [], `${name}: error outputs in the classic Notebook`);
        assert.ok(report.codeCells > 0);
        const expected = FIGURES[name].length;
        assert.ok(report.plotlyOutputs >= expected, `${name}: ${report.plotlyOutputs} Plotly outputs, expected at least ${expected}`);
        assert.equal(report.drawnFigures, report.plotlyOutputs, `${name}: ${report.drawnFigures} of ${report.plotlyOutputs} figures drawn by the text/html fallback`);
        assert.deepEqual(problems, [], `${name}: browser errors`);
      } finally {
        await context.close();
      }
    }
  } catch (err) {
    if (server) (err as Error).message += `\n--- jupyter-notebook log (tail) ---\n${server.log().slice(-3000)}`;
    throw err;
  } finally {
    await browser.close();
    if (server) await stopServer(server);
    fs.rmSync(home, { recursive: true, force: true });
    fs.rmSync(notebookDir, { recursive: true, force: true });
  }
});
