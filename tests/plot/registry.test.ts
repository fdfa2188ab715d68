import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { KdlabError } from '../../lib/src/errors';
import { figureDataDir } from '../../lib/src/paths';
import { FIGURES, FIGURE_IDS, FIGURE_INFO, FIGURE_LIST, buildFigure, loadSavedFigures, saveFigure } from '../../lib/src/plot/registry';
import { run as figuresCommand } from '../../tools/src/commands/figures';
import { captureStdout } from './stdout';
import { SAMPLE_INPUTS } from './fixtures';

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'kdlab-plot-'));
}

async function captureOutput(fn: () => Promise<number>): Promise<{ code: number; out: string }> {
  const { value, chunks } = await captureStdout(fn);
  return { code: value, out: chunks.join('') };
}


/** The headings of the chapter's text (shared/seeds, which breaks off in §4.1), read off by hand. */
const CHAPTER_SECTIONS = ['1', '1.1', '1.2', '1.2.1', '1.2.2', '1.2.3', '1.3', '2', '2.1', '2.2', '2.3', '2.4', '3', '3.1', '3.2', '3.3', '3.4', '3.5', '4', '4.1'];

test('the registry covers every figure of the chapter map, with a section and a notebook', () => {
  assert.equal(FIGURE_IDS.length, 16);
  for (const id of FIGURE_IDS) {
    assert.equal(FIGURES[id].id, id);
    const section = FIGURES[id].section;
    assert.ok(section === null || CHAPTER_SECTIONS.includes(section), `${id}: §${section} is not a heading of the chapter`);
    assert.match(FIGURES[id].notebook, /^0\d-[a-z0-9-]+$/);
    assert.equal(typeof FIGURES[id].build, 'function');
  }
  assert.equal(FIGURES['soft-labels-vs-T'].section, '4.1');
  assert.equal(FIGURES['ablation-heatmap-T-alpha'].section, '3.5');
  assert.equal(FIGURES['hinton-table'].section, null, 'Hinton\'s table is beyond the chapter\'s text');
});

test('the registry lists every file under plot/figures once; id = file name; section, title, notebook set', async () => {
  const root = path.resolve(__dirname, '..', '..');
  const dir = path.join(root, 'lib', 'src', 'plot', 'figures');
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.ts')).sort();
  assert.equal(files.length, FIGURE_LIST.length, 'as many figure files as registry entries');
  for (const file of files) {
    const mod = (await import(path.join(dir, file))) as { figure?: unknown };
    assert.ok(mod.figure, `${file} exports \`figure\` (defineFigure)`);
    assert.equal(FIGURE_LIST.filter((f) => f === mod.figure).length, 1, `${file} is listed exactly once in registry.ts`);
    assert.equal((mod.figure as { id: string }).id, file.replace(/\.ts$/, ''), `${file}: id equals the file name`);
    const source = fs.readFileSync(path.join(dir, file), 'utf8');
    assert.doesNotMatch(source, /from '\.\/|from '\.\.\/figures\//, `${file} imports no other figure file`);
  }
  const ids = FIGURE_LIST.map((f) => f.id);
  assert.equal(new Set(ids).size, ids.length, 'ids are unique');
  const planned = ['06-generalization', '07-reproducing-hinton-2015', '08-beyond-logits'];
  const notebooks = new Set([
    ...fs.readdirSync(path.join(root, 'notebooks')).filter((f) => f.endsWith('.ipynb')).map((f) => f.replace(/\.ipynb$/, '')),
    ...planned,
  ]);
  for (const f of FIGURE_LIST) {
    assert.ok(f.section === null || CHAPTER_SECTIONS.includes(f.section), `${f.id}: §${f.section} is not a heading of the chapter`);
    assert.ok(f.title.trim().length > 0, `${f.id}: title`);
    assert.ok(notebooks.has(f.notebook), `${f.id}: notebook "${f.notebook}" exists or is planned`);
    assert.deepEqual(FIGURE_INFO[f.id], { id: f.id, section: f.section, title: f.title, notebook: f.notebook });
  }
  assert.deepEqual(FIGURE_IDS, ids, 'FIGURE_IDS in list order');
});

test('saveFigure writes the builder input; loadSavedFigures rebuilds the same figures in chapter order', () => {
  const resultsDir = tmpDir();
  try {
    const returned = new Map<string, unknown>();
    for (const id of [...FIGURE_IDS].reverse()) {
      returned.set(id, saveFigure(id, SAMPLE_INPUTS[id] as never, { resultsDir }));
    }
    const dir = figureDataDir(resultsDir);
    assert.equal(dir, path.join(resultsDir, 'figures'));
    assert.deepEqual(fs.readdirSync(dir).sort(), FIGURE_IDS.map((id) => `${id}.json`).sort(), 'one file per figure, no temp files left');
    const onDisk = JSON.parse(fs.readFileSync(path.join(dir, 'training-curves.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(onDisk.data, SAMPLE_INPUTS['training-curves'], 'the INPUT is saved, not the Plotly spec');
    assert.equal(onDisk.section, '3.4');

    const loaded = loadSavedFigures({ resultsDir });
    assert.deepEqual(loaded.map((f) => f.id), [...FIGURE_IDS], 'chapter order');
    for (const f of loaded) {
      assert.deepEqual(f.figure, JSON.parse(JSON.stringify(returned.get(f.id))), `${f.id} rebuilt identically`);
      assert.equal(f.section, FIGURE_INFO[f.id].section);
    }
    assert.deepEqual(loadSavedFigures({ resultsDir, only: ['hinton-table', 'entropy-vs-T'] }).map((f) => f.id), ['entropy-vs-T', 'hinton-table']);
    assert.throws(() => loadSavedFigures({ resultsDir, only: ['nope'] }), KdlabError);
  } finally {
    fs.rmSync(resultsDir, { recursive: true, force: true });
  }
});

test('saveFigure stores a DataFrame as rows and typed arrays as arrays; bad data writes nothing', async () => {
  const resultsDir = tmpDir();
  try {
    const dfd = await import('danfojs-node');
    const df = new dfd.DataFrame([
      { temperature: 2, alpha: 0.5, valAccuracy: 0.9 },
      { temperature: 4, alpha: 0.5, valAccuracy: 0.95 },
    ]);
    saveFigure('ablation-heatmap-T-alpha', df, { resultsDir });
    const saved = JSON.parse(fs.readFileSync(path.join(resultsDir, 'figures', 'ablation-heatmap-T-alpha.json'), 'utf8')) as { data: unknown };
    assert.deepEqual(saved.data, [
      { temperature: 2, alpha: 0.5, valAccuracy: 0.9 },
      { temperature: 4, alpha: 0.5, valAccuracy: 0.95 },
    ]);

    const acc = new Float64Array([0.5, 0.75]);
    saveFigure('training-curves', { series: [{ name: 'scratch', accuracy: acc as unknown as number[] }] }, { resultsDir });
    const tc = JSON.parse(fs.readFileSync(path.join(resultsDir, 'figures', 'training-curves.json'), 'utf8')) as { data: { series: { accuracy: unknown }[] } };
    assert.deepEqual(tc.data.series[0].accuracy, [0.5, 0.75]);

    assert.throws(() => saveFigure('entropy-vs-T', { logits: [1, 2], temperatures: [-1, 2] }, { resultsDir }));
    assert.ok(!fs.existsSync(path.join(resultsDir, 'figures', 'entropy-vs-T.json')));
  } finally {
    fs.rmSync(resultsDir, { recursive: true, force: true });
  }
});

test('a corrupt saved file throws with the fix, or is skipped with onInvalid', () => {
  const resultsDir = tmpDir();
  try {
    saveFigure('entropy-vs-T', SAMPLE_INPUTS['entropy-vs-T'], { resultsDir });
    const dir = path.join(resultsDir, 'figures');
    fs.writeFileSync(path.join(dir, 'hinton-table.json'), '{"kdlabFigure":1,"id":"hinton-table","data":{"rows":"no"}}');
    fs.writeFileSync(path.join(dir, 'confusion-matrix.json'), '{not json');
    assert.throws(
      () => loadSavedFigures({ resultsDir }),
      (e: unknown) => e instanceof KdlabError && e.code === 'FIGURE_DATA_INVALID' && /07-reproducing-hinton-2015|05-evaluation/.test(e.message),
    );
    const skipped: string[] = [];
    const ok = loadSavedFigures({ resultsDir, onInvalid: (file) => skipped.push(path.basename(file)) });
    assert.deepEqual(ok.map((f) => f.id), ['entropy-vs-T']);
    assert.deepEqual(skipped.sort(), ['confusion-matrix.json', 'hinton-table.json']);
    assert.deepEqual(loadSavedFigures({ resultsDir: path.join(resultsDir, 'absent') }), []);
  } finally {
    fs.rmSync(resultsDir, { recursive: true, force: true });
  }
});

test('kdlab figures: no saved data -> notice and exit 0; with data -> HTML pages and a table', async () => {
  const resultsDir = tmpDir();
  const outDir = tmpDir();
  try {
    const empty = await captureOutput(() => figuresCommand(['--results', resultsDir, '--out', outDir]));
    assert.equal(empty.code, 0);
    assert.match(empty.out, /no saved figure data in .*figures: run `npm start` first/);

    saveFigure('soft-labels-vs-T', SAMPLE_INPUTS['soft-labels-vs-T'], { resultsDir });
    saveFigure('confusion-matrix', SAMPLE_INPUTS['confusion-matrix'], { resultsDir });
    const res = await captureOutput(() => figuresCommand([`--results=${resultsDir}`, '--out', outDir]));
    assert.equal(res.code, 0);
    // The pages share one plotly.js, written next to them.
    assert.deepEqual(fs.readdirSync(outDir).sort(), ['confusion-matrix.html', 'index.html', 'plotly.min.js', 'soft-labels-vs-T.html']);
    assert.match(res.out, /soft-labels-vs-T\s+§4\.1\s+\.html\s+\d/);
    assert.match(res.out, /confusion-matrix\s+§3\.5/);
    assert.match(res.out, /not saved yet[\s\S]*entropy-vs-T\s+<- notebooks\/01-soft-labels-and-temperature\.ipynb/);
    const page = fs.readFileSync(path.join(outDir, 'soft-labels-vs-T.html'), 'utf8');
    const sources = [...page.matchAll(/<script[^>]*\ssrc="([^"]*)"/gi)].map((m) => m[1]);
    assert.deepEqual(sources, ['plotly.min.js'], 'the only script loaded is the shared plotly.js beside the page');
    assert.ok(!page.includes(resultsDir) && !page.includes(os.homedir() + '/'), 'no local paths embedded');

    fs.rmSync(path.join(outDir, 'soft-labels-vs-T.html'));
    const one = await captureOutput(() => figuresCommand(['--results', resultsDir, '--out', outDir, '--only', 'confusion-matrix']));
    assert.equal(one.code, 0);
    assert.doesNotMatch(one.out, /soft-labels-vs-T/);
    assert.ok(!fs.existsSync(path.join(outDir, 'soft-labels-vs-T.html')), '--only rewrites only that page');
    const gallery = fs.readFileSync(path.join(outDir, 'index.html'), 'utf8');
    assert.match(gallery, /§4\.1 <a href="#soft-labels-vs-T">/, 'the gallery still lists every saved figure');
    assert.match(gallery, /href="confusion-matrix\.html"/);
    assert.doesNotMatch(gallery, /href="soft-labels-vs-T\.html"/, 'no link to a page that is not there');

    const only = await captureOutput(() => figuresCommand(['--results', resultsDir, '--out', outDir, '--only', 'hinton-table']));
    assert.equal(only.code, 0);
    assert.match(only.out, /no saved figure data .* for hinton-table: run `npm start` first \(or the notebook\(s\) 07-reproducing-hinton-2015\)/);
    assert.equal(await figuresCommand(['--only', 'bogus']), 2);
  } finally {
    fs.rmSync(resultsDir, { recursive: true, force: true });
    fs.rmSync(outDir, { recursive: true, force: true });
  }
});

test('buildFigure is the registry builder', () => {
  const a = buildFigure('kl-vs-mse-high-T', SAMPLE_INPUTS['kl-vs-mse-high-T']);
  const b = FIGURES['kl-vs-mse-high-T'].build(SAMPLE_INPUTS['kl-vs-mse-high-T']);
  assert.deepEqual(a, b);
});
