/**
 * build/book/playground.html: the distilled student in the browser. The page and its two scripts
 * (playground/assets.js: the exported models and the data subset, gzipped and base64-encoded;
 * playground/playground.js: the bundled library code) load with <script src>, which Chromium allows
 * from file:// where fetch is refused, plus the book's one figures/plotly.min.js for the chart.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { escapeHtml, workbookDir, workbookRoot, writeFileAtomic } from 'kdlab/internals';
import { ToolError } from '../errors';
import { PLOTLY_FILE, writePlotlyJs } from '../figure-export';
import { bundlePlaygroundScript } from './bundle';
import { playgroundDir, readManifest, readVariant, type PlaygroundManifest } from './manifest';

export const PLAYGROUND_PAGE = 'playground.html';
export const PLAYGROUND_ASSETS_DIR = 'playground';

/**
 * The live section's starting point: a 2×30 student (about 3 s per epoch per student on this
 * machine's CPU backend; 2×100 takes about 10 s), T = 4 and alpha = 0.9 (notebook 07's 2×30 curve
 * peaks at T = 2–4; T = 20, the chapter's setting for 2×800, learns slowly on 5,000 images).
 */
export const LIVE_DEFAULTS = { hidden: 30, temperature: 4, alpha: 0.9, epochs: 10 };

export interface PlaygroundPage {
  file: string;
  /** Bytes of the page's own files: the HTML, assets.js and playground.js. */
  bytes: number;
  /** The book's shared plotly.min.js, which the page loads too. */
  plotlyBytes: number;
  files: { file: string; bytes: number }[];
  librarySources: string[];
  stubbedNodeModules: string[];
  manifest: PlaygroundManifest;
}

function gzBase64(bytes: Uint8Array | Buffer): string {
  return zlib.gzipSync(bytes, { level: 9 }).toString('base64');
}

function readGz(file: string): string {
  return fs.readFileSync(playgroundDir('data', file)).toString('base64');
}

function assetsScript(m: PlaygroundManifest): string {
  const models = m.models.map((e) => {
    const q = m.embedded[e.id];
    const v = readVariant(e.id, q);
    return {
      id: e.id, label: e.label, role: e.role, params: e.params, architecture: e.architecture, quantization: q,
      modelTopology: v.modelTopology, weightSpecs: v.weightSpecs, weights: gzBase64(new Uint8Array(v.weightData)), weightBytes: v.weightData.byteLength,
    };
  });
  const table = m.table.map((r) => ({
    model: r.model, label: m.models.find((e) => e.id === r.model)?.label ?? r.model, params: m.models.find((e) => e.id === r.model)?.params ?? 0,
    quantization: r.quantization, totalBytes: r.totalBytes, testAccuracy: r.testAccuracy, testErrors: r.testErrors, inPage: m.embedded[r.model] === r.quantization,
  }));
  const assets = {
    mode: m.mode, createdAt: m.createdAt, distill: m.distill, models, table, digits: m.data.digits, disagreements: m.disagreements,
    data: {
      trainImages: readGz('train-images.u8.gz'), trainLabels: readGz('train-labels.u8.gz'), trainLogits: readGz('train-teacher-logits.f32.gz'),
      testImages: readGz('test-images.u8.gz'), testLabels: readGz('test-labels.u8.gz'), train: m.data.train, test: m.data.test,
    },
  };
  return `/* kdlab playground: exported models and MNIST subset (${m.mode} mode, ${m.createdAt}) */\nwindow.KDLAB_PLAYGROUND_ASSETS=${JSON.stringify(assets)};\n`;
}

const CSS = `
body{font-family:system-ui,-apple-system,"Segoe UI","Noto Sans","Noto Sans CJK SC",sans-serif;margin:0;color:#222;background:#fff;line-height:1.45}
header.top{background:#f4f6f8;border-bottom:1px solid #dde2e6;padding:8px 20px}header.top a{color:#0072B2;margin-right:18px;text-decoration:none}
main{max-width:1080px;margin:0 auto;padding:8px 20px 40px}h1{font-size:26px;margin:18px 0 6px}h2{font-size:19px;margin:28px 0 8px;border-bottom:1px solid #e3e6e9;padding-bottom:4px}
.meta{color:#666;font-size:13px}.row{display:flex;flex-wrap:wrap;gap:24px;align-items:flex-start}.pad-col{flex:0 0 290px;width:290px}.controls{flex:1 1 520px;min-width:0}
#pad{width:280px;height:280px;border:2px solid #444;border-radius:6px;touch-action:none;cursor:crosshair;background:#000}
#preview{width:84px;height:84px;image-rendering:pixelated;border:1px solid #999;background:#000}
.tools button,#start,#measure{font:inherit;padding:4px 12px;margin:4px 6px 4px 0;border:1px solid #0072B2;background:#fff;color:#0072B2;border-radius:4px;cursor:pointer}
#start{background:#0072B2;color:#fff}
#digits{display:flex;flex-wrap:wrap;gap:4px;max-width:300px}.digit-button{padding:1px;border:1px solid #bbb;background:#000;cursor:pointer;border-radius:3px}
.digit-button canvas{width:26px;height:26px;image-rendering:pixelated;display:block}
.bars{width:250px}.bars h3{font-size:15px;margin:0 0 4px}.bar-row{display:flex;align-items:center;gap:6px;font-size:13px;height:19px}
.bar-row .digit{width:12px;text-align:right;font-weight:600}.bar-row .track{flex:1;height:12px;background:#eef1f4;border-radius:2px;overflow:hidden}
.bar-row .fill{display:block;height:100%;background:#8aa9c1}.bar-row.predicted .fill{background:#0072B2}.bar-row.other .fill{background:#D55E00}
.bar-row .value{width:58px;text-align:right;font-variant-numeric:tabular-nums;color:#444}
.class{font-size:34px;font-weight:700;color:#0072B2}#verdict{margin:8px 0;font-weight:600}#verdict.disagree{color:#D55E00}#verdict.hidden{display:none}
label.slider{display:block;margin:8px 0}label.slider input{width:260px;vertical-align:middle}
table{border-collapse:collapse;font-size:14px;margin:6px 0}th,td{border-bottom:1px solid #e3e6e9;padding:3px 10px;text-align:right}th:first-child,td:first-child{text-align:left}
tr.in-page td{background:#eef6fb}#chart{width:100%;max-width:720px;min-height:40px}#train-status{min-height:1.4em}
`;

function html(m: PlaygroundManifest): string {
  const teacher = m.models.find((e) => e.role === 'teacher');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Playground: the distilled student in your browser · KD workbook</title>
<style>${CSS}</style>
</head>
<body>
<header class="top"><a href="index.html">知识蒸馏 · KD workbook</a><a href="#draw">Draw</a><a href="#sizes">Sizes and latency</a><a href="#live">Distil live</a></header>
<main>
<h1 id="playground">Playground · 蒸馏后的学生在浏览器里</h1>
<p>The chapter's first reasons for distillation are deployment and speed (§1.2.1 模型压缩, §1.2.2 计算效率提升).
Here the teacher and the students trained by the notebooks run in your browser, exported as TensorFlow.js layers models
(${escapeHtml(m.mode)} mode; ${escapeHtml(teacher?.architecture ?? '')} teacher). Draw a digit, move the temperature,
compare sizes and latencies on your own machine, and distil a small student live. Nothing loads from the network.</p>
<p class="meta" id="ready-note">Loading the models…</p>

<h2 id="draw">Draw a digit · 手写一个数字</h2>
<div class="row">
  <div class="pad-col">
    <canvas id="pad" width="280" height="280" aria-label="drawing pad"></canvas>
    <div class="tools"><button id="clear" type="button">Clear</button> or load a test digit:</div>
    <div id="digits"></div>
    <div class="tools"><button id="disagree" type="button">Next test digit they disagree on</button></div>
    <p class="meta" id="disagree-note"></p>
    <p class="meta">What the models see (28×28, MNIST's preprocessing: fit to 20×20, centred by mass):</p>
    <canvas id="preview" width="28" height="28"></canvas>
  </div>
  <div class="controls">
    <label class="slider">T = <strong id="temperature-value"></strong>
      <input id="temperature" type="range" min="0.5" max="20" step="0.1" value="1"></label>
    <label>Student: <select id="student"></select></label>
    <div id="verdict" class="hidden"></div>
    <div class="row">
      <div class="bars"><h3 id="teacher-title">teacher</h3><div>predicts <span class="class" id="teacher-class">—</span></div><div id="teacher-bars"></div></div>
      <div class="bars"><h3 id="student-title">student</h3><div>predicts <span class="class" id="student-class">—</span></div><div id="student-bars"></div></div>
    </div>
    <p class="meta">Bars: softmax(logits / T), the soft labels (软标签) of §2.2. The predicted class does not depend on T; the spread does.
    Orange marks the class the other model predicts.</p>
  </div>
</div>

<h2 id="sizes">Size, accuracy and latency · 模型大小与速度</h2>
<p>Every model stored three ways: float32, and with its weights quantized to float16 or uint8 (TensorFlow.js's own weight quantization,
which it undoes when it loads the model). Test accuracy on the full MNIST test set, measured in Node when this page was built (<code>npx kdlab playground</code>);
highlighted: the variant this page carries.</p>
<table id="size-table"><thead><tr><th>model</th><th>parameters</th><th>stored as</th><th>on disk</th><th>test accuracy</th><th>test errors</th><th>in this page</th></tr></thead><tbody></tbody></table>
<p>Inference latency in this tab (one image, median of repeated runs, TensorFlow.js CPU backend):</p>
<table id="latency-table"><thead><tr><th>model</th><th>stored as</th><th>weights</th><th>median latency</th><th>runs</th></tr></thead><tbody><tr><td colspan="5">measuring…</td></tr></tbody></table>
<button id="measure" type="button">Measure again</button>

<h2 id="live">Distil a student live · 现场蒸馏</h2>
<p>Two small students with the same initial weights, trained on the same ${m.data.train.toLocaleString('en-US')} training images:
one from the labels only (alpha = 0), one with the distillation loss <code>kdLoss</code> against the teacher's logits for those images
(computed in Node by the teacher above). Test accuracy on ${m.data.test.toLocaleString('en-US')} test images after each epoch.
The code is the library's own (<code>createStudent</code>, <code>kdLoss</code>), bundled for the browser.</p>
<p class="meta">What to expect (the same code in Node, seed 0, test accuracy after 2 / 5 / 10 epochs on these 5,000 images):
2×30 from scratch 87.0 / 89.5 / 92.2%, distilled at T = 4 83.8 / 88.9 / 91.4%, at T = 2 86.0 / 89.3 / 93.0%;
2×100 from scratch 89.5 / 91.4 / 93.3%, distilled at T = 4 88.4 / 91.4 / 94.2%. The hard labels learn faster in the first
epochs; the soft targets pay off later and more for the wider student, by about a point here (1,000 test images: ±0.8 points is noise).
Notebook 06 measures it over training-set sizes with the 2×800 student.</p>
<div>
  <label>Student: <select id="live-hidden"><option value="30" selected>2×30</option><option value="100">2×100</option></select></label>
  <label>Epochs: <input id="live-epochs" type="number" min="1" max="50" value="${LIVE_DEFAULTS.epochs}" style="width:4em"></label>
  <label class="slider">T = <strong id="live-temperature-value"></strong> <input id="live-temperature" type="range" min="1" max="20" step="0.5" value="${LIVE_DEFAULTS.temperature}"></label>
  <label class="slider">alpha = <strong id="live-alpha-value"></strong> <input id="live-alpha" type="range" min="0" max="1" step="0.05" value="${LIVE_DEFAULTS.alpha}"></label>
  <button id="start" type="button">Start</button>
</div>
<p id="train-status" class="meta"></p>
<div id="chart"></div>
</main>
<script src="${PLAYGROUND_ASSETS_DIR}/assets.js"></script>
<script src="${PLAYGROUND_ASSETS_DIR}/playground.js" data-plotly="figures/${PLOTLY_FILE}"></script>
</body>
</html>
`;
}

/**
 * Writes <outDir>/playground.html and <outDir>/playground/{assets.js,playground.js} from what
 * `kdlab playground` prepared in build/playground/ (and <outDir>/figures/plotly.min.js if the book
 * has none yet). Throws PLAYGROUND_MISSING when nothing was prepared.
 */
export async function writePlaygroundPage(outDir: string = workbookDir('book'), manifest: PlaygroundManifest | null = readManifest()): Promise<PlaygroundPage> {
  if (!manifest) {
    throw new ToolError('PLAYGROUND_MISSING', `no exported models in ${path.relative(workbookRoot(), playgroundDir())}: run \`npx kdlab playground\` first.`);
  }
  const bundle = await bundlePlaygroundScript();
  const assetsDir = path.join(outDir, PLAYGROUND_ASSETS_DIR);
  const files: { file: string; bytes: number }[] = [];
  const write = (file: string, text: string): void => {
    writeFileAtomic(path.join(outDir, file), text);
    files.push({ file, bytes: Buffer.byteLength(text) });
  };
  fs.mkdirSync(assetsDir, { recursive: true });
  write(`${PLAYGROUND_ASSETS_DIR}/assets.js`, assetsScript(manifest));
  write(`${PLAYGROUND_ASSETS_DIR}/playground.js`, `/* kdlab playground: kdlab's models, losses and export code with TensorFlow.js (Apache-2.0), bundled by esbuild */\n${bundle.code}`);
  write(PLAYGROUND_PAGE, html(manifest));
  const plotly = writePlotlyJs(path.join(outDir, 'figures'));
  return {
    file: path.join(outDir, PLAYGROUND_PAGE),
    bytes: files.reduce((n, f) => n + f.bytes, 0),
    plotlyBytes: plotly.bytes,
    files,
    librarySources: bundle.librarySources,
    stubbedNodeModules: bundle.stubbedNodeModules,
    manifest,
  };
}
