/**
 * The playground page's script (bundled by tools/src/playground/bundle.ts; runs in the browser, never
 * in Node). Every number it shows comes from the library's own code: the models are exported
 * kdlab models loaded by tfjs, the soft labels are softmaxWithTemperature, the live students are
 * createStudent trained on kdLoss (LiveStudent). Test hooks live on window.kdPlayground.
 */
import {
  KdlabError, LiveStudent, NUM_CLASSES, PIXELS, accuracyOf, loadExportedModel, mnistPreprocess, softmaxWithTemperature, tf,
  type ExportedModel, type LiveSet,
} from 'kdlab/browser';
import type { Latency, PlaygroundApi } from './api';

interface EmbeddedModel {
  id: string;
  label: string;
  role: 'teacher' | 'student';
  params: number;
  architecture: string;
  quantization: string;
  modelTopology: object;
  weightSpecs: ExportedModel['weightSpecs'];
  /** base64 of the gzipped weight file. */
  weights: string;
  /** Bytes of the weight file (before gzip and base64). */
  weightBytes: number;
}

interface TableRow {
  model: string;
  label: string;
  params: number;
  quantization: string;
  totalBytes: number;
  testAccuracy: number;
  testErrors: number;
  inPage: boolean;
}

interface Assets {
  mode: string;
  createdAt: string;
  distill: { temperature: number; alpha: number };
  models: EmbeddedModel[];
  table: TableRow[];
  digits: number[];
  /** Per student: bundled test images on which it and the teacher disagree (found in Node with these same stored models). */
  disagreements: Record<string, number[]>;
  data: { trainImages: string; trainLabels: string; trainLogits: string; testImages: string; testLabels: string; train: number; test: number };
}

const SIDE = 28;
const CANVAS = 280;

function $(id: string): HTMLElement {
  const el = document.getElementById(id);
  if (!el) throw new KdlabError<'PLAYGROUND_PAGE'>('PLAYGROUND_PAGE', `playground: element #${id} is missing from the page`);
  return el;
}

async function gunzipBase64(b64: string): Promise<ArrayBuffer> {
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Response(stream).arrayBuffer();
}

function fmtBytes(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)} MB` : `${(n / 1e3).toFixed(1)} kB`;
}

function argmax(v: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const nextTask = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

/** plotly.js, loaded only once the models answer: its 4.9 MB would otherwise delay the first interaction. */
let plotlyLoaded: Promise<void> | undefined;
function loadPlotly(src: string): Promise<void> {
  plotlyLoaded ??= new Promise<void>((resolve, reject) => {
    if (window.Plotly) return resolve();
    const s = document.createElement('script');
    s.src = src;
    s.onload = () => resolve();
    s.onerror = () => reject(new KdlabError<'PLAYGROUND_PAGE'>('PLAYGROUND_PAGE', `playground: ${src} did not load; rebuild the book with \`npx kdlab book\``));
    document.head.appendChild(s);
  });
  return plotlyLoaded;
}
const plotlySrc = (document.currentScript as HTMLScriptElement | null)?.dataset.plotly ?? 'figures/plotly.min.js';
const scriptStartMs = performance.now();

async function main(): Promise<void> {
  const assets = window.KDLAB_PLAYGROUND_ASSETS as Assets | undefined;
  if (!assets) throw new KdlabError<'PLAYGROUND_PAGE'>('PLAYGROUND_PAGE', 'playground: playground/assets.js did not load; rebuild with `npx kdlab playground`');
  await tf.setBackend('cpu');
  await tf.ready();

  const models = new Map<string, { meta: EmbeddedModel; model: tf.LayersModel }>();
  await Promise.all(
    assets.models.map(async (m) => {
      const weightData = await gunzipBase64(m.weights);
      const model = await loadExportedModel({ modelTopology: m.modelTopology, weightSpecs: m.weightSpecs, weightData, quantization: m.quantization as ExportedModel['quantization'] });
      models.set(m.id, { meta: m, model });
    }),
  );
  const modelsMs = performance.now();
  const teacherId = assets.models.find((m) => m.role === 'teacher')?.id ?? 'teacher';
  const students = assets.models.filter((m) => m.role === 'student');
  const testImagesU8 = new Uint8Array(await gunzipBase64(assets.data.testImages));
  const testLabels = new Uint8Array(await gunzipBase64(assets.data.testLabels));
  const testImages = Float32Array.from(testImagesU8, (v) => v / 255);

  // ---- state
  let input = new Float32Array(PIXELS);
  let temperature = Number(($('temperature') as HTMLInputElement).value);
  let studentId = students[0]?.id ?? '';
  const logits = new Map<string, Float32Array>();

  // ---- student picker
  const picker = $('student') as HTMLSelectElement;
  for (const s of students) {
    const o = document.createElement('option');
    o.value = s.id;
    o.textContent = `${s.label} (${s.quantization}, ${fmtBytes(s.weightBytes)})`;
    picker.appendChild(o);
  }
  picker.value = studentId;

  // ---- inference
  function predict(id: string, x: Float32Array): Float32Array {
    const entry = models.get(id);
    if (!entry) return new Float32Array(NUM_CLASSES);
    return tf.tidy(() => (entry.model.predict(tf.tensor2d(x, [1, PIXELS])) as tf.Tensor).dataSync() as Float32Array);
  }

  function bars(container: HTMLElement, probs: Float32Array, predicted: number, other: number): void {
    container.textContent = '';
    for (let c = 0; c < NUM_CLASSES; c++) {
      const row = document.createElement('div');
      row.className = `bar-row${c === predicted ? ' predicted' : ''}${c === other && other !== predicted ? ' other' : ''}`;
      row.dataset.prob = String(probs[c]);
      row.dataset.digit = String(c);
      const label = document.createElement('span');
      label.className = 'digit';
      label.textContent = String(c);
      const track = document.createElement('span');
      track.className = 'track';
      const fill = document.createElement('span');
      fill.className = 'fill';
      fill.style.width = `${(100 * probs[c]).toFixed(2)}%`;
      track.appendChild(fill);
      const value = document.createElement('span');
      value.className = 'value';
      value.textContent = probs[c] >= 0.001 ? probs[c].toFixed(3) : probs[c].toExponential(1);
      row.append(label, track, value);
      container.appendChild(row);
    }
  }

  function render(): void {
    const hasInk = input.some((v) => v > 0);
    const t = logits.get(teacherId);
    const s = logits.get(studentId);
    $('verdict').classList.toggle('hidden', !hasInk);
    if (!t || !s || !hasInk) {
      $('teacher-bars').textContent = '';
      $('student-bars').textContent = '';
      $('verdict').textContent = '';
      $('teacher-class').textContent = '—';
      $('student-class').textContent = '—';
      return;
    }
    const [pt, ps] = tf.tidy(() => {
      const both = softmaxWithTemperature(tf.tensor2d([...t, ...s], [2, NUM_CLASSES]), temperature);
      const d = both.dataSync() as Float32Array;
      return [d.slice(0, NUM_CLASSES), d.slice(NUM_CLASSES)];
    });
    const ct = argmax(t);
    const cs = argmax(s);
    bars($('teacher-bars'), pt, ct, cs);
    bars($('student-bars'), ps, cs, ct);
    $('teacher-class').textContent = String(ct);
    $('student-class').textContent = String(cs);
    const verdict = $('verdict');
    verdict.className = ct === cs ? 'agree' : 'disagree';
    verdict.textContent = ct === cs ? `Teacher and student agree: ${ct}.` : `They disagree: the teacher says ${ct}, the student ${cs}.`;
  }

  function classify(): void {
    logits.set(teacherId, predict(teacherId, input));
    logits.set(studentId, predict(studentId, input));
    drawPreview();
    render();
  }

  // ---- canvases
  const canvas = $('pad') as HTMLCanvasElement;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  const preview = ($('preview') as HTMLCanvasElement).getContext('2d');
  if (!ctx || !preview) throw new KdlabError<'PLAYGROUND_PAGE'>('PLAYGROUND_PAGE', 'playground: this browser has no 2D canvas');
  function clearPad(): void {
    ctx!.fillStyle = '#000';
    ctx!.fillRect(0, 0, CANVAS, CANVAS);
  }
  function drawPreview(): void {
    const img = preview!.createImageData(SIDE, SIDE);
    for (let i = 0; i < PIXELS; i++) {
      const v = Math.round(255 * input[i]);
      img.data[4 * i] = v;
      img.data[4 * i + 1] = v;
      img.data[4 * i + 2] = v;
      img.data[4 * i + 3] = 255;
    }
    preview!.putImageData(img, 0, 0);
  }
  function fromPad(): void {
    const rgba = ctx!.getImageData(0, 0, CANVAS, CANVAS).data;
    const gray = new Float32Array(CANVAS * CANVAS);
    for (let i = 0; i < gray.length; i++) gray[i] = rgba[4 * i] / 255;
    input = mnistPreprocess(gray, CANVAS, CANVAS);
    classify();
  }
  clearPad();

  let drawing = false;
  let last: { x: number; y: number } | null = null;
  let pending = false;
  const at = (e: PointerEvent): { x: number; y: number } => {
    const r = canvas.getBoundingClientRect();
    return { x: ((e.clientX - r.left) / r.width) * CANVAS, y: ((e.clientY - r.top) / r.height) * CANVAS };
  };
  const stroke = (p: { x: number; y: number }): void => {
    ctx.strokeStyle = '#fff';
    ctx.fillStyle = '#fff';
    ctx.lineWidth = 20;
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    ctx.beginPath();
    if (last) {
      ctx.moveTo(last.x, last.y);
      ctx.lineTo(p.x, p.y);
      ctx.stroke();
    } else {
      ctx.arc(p.x, p.y, 10, 0, 2 * Math.PI);
      ctx.fill();
    }
    last = p;
    if (!pending) {
      pending = true;
      requestAnimationFrame(() => {
        pending = false;
        fromPad();
      });
    }
  };
  canvas.addEventListener('pointerdown', (e) => {
    drawing = true;
    last = null;
    try {
      canvas.setPointerCapture(e.pointerId);
    } catch {
      // A pointer the browser no longer tracks (or a synthetic one): draw without capture.
    }
    stroke(at(e));
  });
  canvas.addEventListener('pointermove', (e) => {
    if (drawing) stroke(at(e));
  });
  const end = (): void => {
    if (!drawing) return;
    drawing = false;
    last = null;
    fromPad();
  };
  canvas.addEventListener('pointerup', end);
  canvas.addEventListener('pointercancel', end);
  $('clear').addEventListener('click', () => {
    clearPad();
    input = new Float32Array(PIXELS);
    classify();
  });

  // ---- test digits
  function loadDigit(index: number): void {
    input = testImages.slice(index * PIXELS, (index + 1) * PIXELS);
    // Show it on the pad, scaled up without smoothing; the models get the 28×28 pixels themselves.
    const img = ctx!.createImageData(SIDE, SIDE);
    for (let i = 0; i < PIXELS; i++) {
      const v = testImagesU8[index * PIXELS + i];
      img.data.set([v, v, v, 255], 4 * i);
    }
    const tmp = document.createElement('canvas');
    tmp.width = SIDE;
    tmp.height = SIDE;
    tmp.getContext('2d')?.putImageData(img, 0, 0);
    ctx!.imageSmoothingEnabled = false;
    ctx!.drawImage(tmp, 0, 0, CANVAS, CANVAS);
    classify();
  }
  const strip = $('digits');
  for (const index of assets.digits) {
    const b = document.createElement('button');
    b.className = 'digit-button';
    b.dataset.index = String(index);
    b.title = `test image ${index} (label ${testLabels[index]})`;
    const c = document.createElement('canvas');
    c.width = SIDE;
    c.height = SIDE;
    const g = c.getContext('2d');
    if (g) {
      const img = g.createImageData(SIDE, SIDE);
      for (let i = 0; i < PIXELS; i++) {
        const v = testImagesU8[index * PIXELS + i];
        img.data.set([v, v, v, 255], 4 * i);
      }
      g.putImageData(img, 0, 0);
    }
    b.appendChild(c);
    b.addEventListener('click', () => loadDigit(index));
    strip.appendChild(b);
  }

  // ---- where teacher and student disagree, over the bundled test images
  let nextDisagreement = 0;
  $('disagree').addEventListener('click', () => {
    const found = assets!.disagreements[studentId] ?? [];
    const note = $('disagree-note');
    if (found.length === 0) {
      note.textContent = `The teacher and this student agree on all ${testLabels.length.toLocaleString('en-US')} test images here.`;
      return;
    }
    const index = found[nextDisagreement++ % found.length];
    loadDigit(index);
    note.textContent = `Test image ${index} (label ${testLabels[index]}): one of ${found.length} of the ${testLabels.length.toLocaleString('en-US')} test images here on which they disagree.`;
  });

  // ---- T and student
  const tSlider = $('temperature') as HTMLInputElement;
  const showT = (): void => {
    $('temperature-value').textContent = temperature.toFixed(1);
  };
  tSlider.addEventListener('input', () => {
    temperature = Number(tSlider.value);
    showT();
    render();
  });
  showT();
  picker.addEventListener('change', () => {
    studentId = picker.value;
    nextDisagreement = 0;
    logits.set(studentId, predict(studentId, input));
    $('student-title').textContent = models.get(studentId)?.meta.label ?? studentId;
    render();
  });
  $('student-title').textContent = models.get(studentId)?.meta.label ?? studentId;
  $('teacher-title').textContent = models.get(teacherId)?.meta.label ?? 'teacher';

  // ---- the first thing a reader sees: test digit 0 classified
  if (assets.digits.length > 0) loadDigit(assets.digits[0]);
  const api: PlaygroundApi = window.kdPlayground;
  api.readyMs = performance.now();
  api.timings = { scriptStartMs, modelsMs, readyMs: api.readyMs };
  void loadPlotly(plotlySrc).catch((err: unknown) => console.error(err));
  api.input = () => Array.from(input);
  api.logits = (id) => Array.from(logits.get(id) ?? predict(id, input));
  api.temperature = () => temperature;
  api.studentId = () => studentId;
  $('ready-note').textContent = `Ready ${(api.readyMs / 1000).toFixed(2)} s after the page started loading (models and data decoded in this tab).`;

  // ---- size / accuracy table (measured in Node when the page was built)
  const table = $('size-table').querySelector('tbody');
  if (table) {
    for (const r of assets.table) {
      const tr = document.createElement('tr');
      if (r.inPage) tr.className = 'in-page';
      for (const cell of [r.label, r.params.toLocaleString('en-US'), r.quantization, fmtBytes(r.totalBytes), `${(100 * r.testAccuracy).toFixed(2)}%`, String(r.testErrors), r.inPage ? 'yes' : '']) {
        const td = document.createElement('td');
        td.textContent = cell;
        tr.appendChild(td);
      }
      table.appendChild(tr);
    }
  }

  // ---- latency, measured here, after the first interaction is possible
  async function measure(): Promise<Latency[]> {
    const out: Latency[] = [];
    const x = tf.tensor2d(testImages.slice(0, PIXELS), [1, PIXELS]);
    for (const m of assets!.models) {
      const entry = models.get(m.id);
      if (!entry) continue;
      const { meta, model } = entry;
      for (let i = 0; i < 3; i++) tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync());
      const times: number[] = [];
      const runs = 30;
      for (let i = 0; i < runs; i++) {
        const t0 = performance.now();
        tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync());
        times.push(performance.now() - t0);
        if (i % 10 === 9) await nextTask();
      }
      out.push({ id: meta.id, label: meta.label, medianMs: median(times), runs, weightBytes: meta.weightBytes, quantization: meta.quantization });
    }
    x.dispose();
    const body = $('latency-table').querySelector('tbody');
    if (body) {
      body.textContent = '';
      for (const l of out) {
        const tr = document.createElement('tr');
        tr.dataset.model = l.id;
        tr.dataset.medianMs = String(l.medianMs);
        for (const cell of [l.label, l.quantization, fmtBytes(l.weightBytes), `${l.medianMs.toFixed(2)} ms`, String(l.runs)]) {
          const td = document.createElement('td');
          td.textContent = cell;
          tr.appendChild(td);
        }
        body.appendChild(tr);
      }
    }
    api.latencies = out;
    return out;
  }
  api.latency = new Promise((resolve, reject) => setTimeout(() => measure().then(resolve, reject), 100));
  $('measure').addEventListener('click', () => {
    api.latency = measure();
  });

  // ---- live distillation
  const train: { set?: LiveSet; loading?: Promise<LiveSet> } = {};
  async function trainingSet(): Promise<LiveSet> {
    if (train.set) return train.set;
    train.loading ??= (async () => {
      const images = new Uint8Array(await gunzipBase64(assets!.data.trainImages));
      const set: LiveSet = {
        images: Float32Array.from(images, (v) => v / 255),
        labels: new Uint8Array(await gunzipBase64(assets!.data.trainLabels)),
        teacherLogits: new Float32Array(await gunzipBase64(assets!.data.trainLogits)),
      };
      train.set = set;
      return set;
    })();
    return train.loading;
  }
  const lt = $('live-temperature') as HTMLInputElement;
  const la = $('live-alpha') as HTMLInputElement;
  const showLive = (): void => {
    $('live-temperature-value').textContent = Number(lt.value).toFixed(1);
    $('live-alpha-value').textContent = Number(la.value).toFixed(2);
  };
  lt.addEventListener('input', showLive);
  la.addEventListener('input', showLive);
  showLive();
  const chart = $('chart');
  let stop = false;
  const startButton = $('start') as HTMLButtonElement;
  startButton.addEventListener('click', () => {
    if (api.training.running) {
      stop = true;
      return;
    }
    void run().catch((err: unknown) => {
      api.training.error = (err as Error).message;
      console.error('playground training:', err);
    });
  });
  async function run(): Promise<void> {
    const hidden = Number(($('live-hidden') as HTMLSelectElement).value);
    const epochs = Math.max(1, Math.min(50, Math.round(Number(($('live-epochs') as HTMLInputElement).value) || 1)));
    const T = Number(lt.value);
    const alpha = Number(la.value);
    stop = false;
    api.training = { running: true, done: false, history: [] };
    startButton.textContent = 'Stop';
    const status = $('train-status');
    status.textContent = 'Decoding the training subset…';
    const set = await trainingSet();
    const common = { hidden: [hidden, hidden], temperature: T, seed: 0, batchSize: 64, learningRate: 1e-3 };
    const scratch = new LiveStudent({ ...common, alpha: 0 });
    const distilled = new LiveStudent({ ...common, alpha });
    try {
      const a0 = accuracyOf(scratch.logits(testImages), testLabels);
      const b0 = accuracyOf(distilled.logits(testImages), testLabels);
      api.training.history.push({ epoch: 0, scratch: a0, distilled: b0, seconds: 0 });
      await loadPlotly(plotlySrc);
      if (window.Plotly) {
        await window.Plotly.newPlot(
          chart,
          [
            { x: [0], y: [a0], name: 'from scratch (alpha = 0)', mode: 'lines+markers', line: { color: '#D55E00' } },
            { x: [0], y: [b0], name: `distilled (T = ${T}, alpha = ${alpha})`, mode: 'lines+markers', line: { color: '#0072B2' } },
          ],
          {
            margin: { l: 60, r: 20, t: 30, b: 50 }, height: 320,
            title: { text: `2×${hidden} students on ${set.labels.length.toLocaleString('en-US')} images`, font: { size: 14 } },
            xaxis: { title: { text: 'epoch' }, dtick: 1, rangemode: 'tozero' },
            yaxis: { title: { text: `test accuracy (${testLabels.length.toLocaleString('en-US')} images)` }, tickformat: '.0%' },
            legend: { orientation: 'h', y: -0.25 },
          },
          { displaylogo: false, responsive: true },
        );
      }
      let k = 0;
      const pause = (): Promise<void> => (++k % 4 === 0 ? nextTask() : Promise.resolve());
      for (let e = 1; e <= epochs && !stop; e++) {
        const t0 = performance.now();
        status.textContent = `Epoch ${e} of ${epochs}: training both students…`;
        await scratch.trainEpoch(set, pause);
        await distilled.trainEpoch(set, pause);
        const seconds = (performance.now() - t0) / 1000;
        const a = accuracyOf(scratch.logits(testImages), testLabels);
        const b = accuracyOf(distilled.logits(testImages), testLabels);
        api.training.history.push({ epoch: e, scratch: a, distilled: b, seconds });
        if (window.Plotly) await window.Plotly.extendTraces(chart, { x: [[e], [e]], y: [[a], [b]] }, [0, 1]);
        status.textContent =
          `Epoch ${e} of ${epochs} in ${seconds.toFixed(1)} s (both students): test accuracy from scratch ${(100 * a).toFixed(1)}%, distilled ${(100 * b).toFixed(1)}%.`;
        await nextTask();
      }
      if (stop) status.textContent += ' Stopped.';
      api.training.done = true;
    } finally {
      scratch.dispose();
      distilled.dispose();
      api.training.running = false;
      startButton.textContent = 'Start';
    }
  }
}

window.kdPlayground = {
  ready: Promise.resolve(),
  input: () => [],
  logits: () => [],
  temperature: () => NaN,
  studentId: () => '',
  latency: Promise.resolve([]),
  training: { running: false, done: false, history: [] },
};
window.kdPlayground.ready = main().catch((err: unknown) => {
  const note = document.getElementById('ready-note');
  if (note) note.textContent = `The playground could not start: ${(err as Error).message}`;
  console.error('playground:', err);
  throw err;
});
