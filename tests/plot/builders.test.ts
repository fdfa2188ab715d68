import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../lib/src/backend';
import { FigureInputError } from '../../lib/src/plot/validate';
import { FIGURES, FIGURE_IDS, buildFigure } from '../../lib/src/plot/registry';
import {
  ablationHeatmap,
  accuracyVsTransferSetSize,
  confusionMatrix,
  darkKnowledge,
  entropyVsT,
  gradScaleVsT,
  hintonTable,
  smallStudentTemperatureCurve,
  klVsMseHighT,
  methodsComparison,
  modelSizeAndLatency,
  omittedDigit3,
  softLabelsVsT,
  trainingCurves,
} from '../../lib/src/plot';
import type { BarTrace, Figure, HeatmapTrace, ScatterTrace, TableTrace } from '../../lib/src/plot';
import { EXPECTED_TRACES, SAMPLE_INPUTS } from './fixtures';

const close = (a: number, b: number, tol = 1e-9): boolean => Math.abs(a - b) <= tol;
const assertClose = (actual: unknown, expected: number, tol: number, msg: string): void => {
  assert.equal(typeof actual, 'number', msg);
  assert.ok(close(actual as number, expected, tol), `${msg}: ${String(actual)} vs ${expected}`);
};

test('every figure: section-numbered title, expected trace count, plain JSON', () => {
  for (const id of FIGURE_IDS) {
    const fig = buildFigure(id, SAMPLE_INPUTS[id] as never);
    assert.equal(fig.data.length, EXPECTED_TRACES[id], `${id}: trace count`);
    const title = fig.layout.title?.text ?? '';
    const section = FIGURES[id].section;
    if (section === null) assert.ok(!title.startsWith('§'), `${id}: title "${title}" has no section`);
    else assert.ok(title.startsWith(`§${section} `), `${id}: title "${title}" starts with its section`);
    // Serialisable: a JSON round trip changes nothing (no undefined-only values that matter,
    // no NaN, no typed arrays, no functions).
    const json = JSON.stringify(fig);
    assert.ok(!json.includes('NaN') && !json.includes('Infinity'), `${id}: no NaN/Infinity`);
    assert.deepEqual(JSON.parse(json), JSON.parse(JSON.stringify(JSON.parse(json))));
    for (const t of fig.data) assert.ok(!Object.values(t).some((v) => typeof v === 'function'), `${id}: no functions`);
  }
});

test('soft-labels-vs-T: bars are softmax(z/T) of [2, 1, 0.5]; the chapter values are the reference', () => {
  const fig = softLabelsVsT({
    logits: [2, 1, 0.5],
    temperatures: [1, 2],
    reference: { name: 'chapter', probabilities: [0.57, 0.28, 0.15] },
  });
  assert.equal(fig.data.length, 3);
  const [t1, t2, ref] = fig.data as [BarTrace, BarTrace, ScatterTrace];
  assert.equal(t1.type, 'bar');
  assert.equal(t1.name, 'T = 1');
  // Independent values: e^2, e^1, e^0.5 normalised (and the 3-decimal values quoted in CHAPTER_MAP).
  const e = [Math.exp(2), Math.exp(1), Math.exp(0.5)];
  const s = e[0] + e[1] + e[2];
  e.forEach((v, i) => assertClose(t1.y[i], v / s, 1e-12, `T=1 class ${i}`));
  [0.629, 0.231, 0.14].forEach((v, i) => assertClose(t1.y[i], v, 5e-4, `T=1 vs chapter map ${i}`));
  [0.481, 0.292, 0.227].forEach((v, i) => assertClose(t2.y[i], v, 5e-4, `T=2 class ${i}`));
  assert.deepEqual(ref.y, [0.57, 0.28, 0.15]);
  assert.equal(ref.type, 'scatter');
  assert.equal(fig.layout.barmode, 'group');
  assert.match(fig.layout.xaxis?.title?.text ?? '', /class/);
  assert.match(fig.layout.yaxis?.title?.text ?? '', /probability/);
  assert.ok((fig.layout.title?.text ?? '').startsWith('§4.1 '));
});

test('soft-labels-vs-T slider: one restyle step per temperature, each carrying softmax(v/T)', () => {
  const fig = softLabelsVsT({ logits: [2, 1, 0.5], temperatures: [2], sliderTemperatures: [4, 1, 0.5], title: 'a digit' });
  assert.equal(fig.data.length, 2, 'the slider trace first, then T = 2');
  const slider = fig.layout.sliders?.[0];
  assert.ok(slider, 'layout.sliders');
  assert.deepEqual(slider.steps.map((st) => st.label), ['0.5', '1', '4'], 'sorted temperatures');
  assert.equal(slider.active, 1, 'starts at T = 1');
  const ps = (T: number) => { const e = [2, 1, 0.5].map((v) => Math.exp(v / T)); const s = e[0] + e[1] + e[2]; return e.map((x) => x / s); };
  slider.steps.forEach((st, k) => {
    const T = [0.5, 1, 4][k];
    assert.equal(st.method, 'restyle');
    const [update, traces] = st.args as [{ y: number[][] }, number[]];
    assert.deepEqual(traces, [0]);
    ps(T).forEach((p, i) => assertClose(update.y[0][i], p, 1e-12, `T=${T} class ${i}`));
  });
  ps(1).forEach((p, i) => assertClose((fig.data[0] as BarTrace).y[i], p, 1e-12, 'the slider trace starts at the active step'));
  assert.equal(fig.layout.title?.text, '§4.1 a digit');
  assert.throws(() => softLabelsVsT({ logits: [1, 2], temperatures: [1], sliderTemperatures: [0, 1] }), FigureInputError);
});

test('entropy-vs-T: log T axis, entropy rises to ln K, top probability falls to 1/K', () => {
  const fig = entropyVsT({ logits: [2, 1, 0.5], temperatures: [100, 1, 0.5, 10] });
  const [h, top] = fig.data as [ScatterTrace, ScatterTrace];
  assert.deepEqual(h.x, [0.5, 1, 10, 100], 'temperatures sorted');
  assert.equal(fig.layout.xaxis?.type, 'log');
  assert.match(fig.layout.xaxis?.title?.text ?? '', /temperature T/);
  assert.match(fig.layout.yaxis?.title?.text ?? '', /entropy \(nats\)/);
  assert.equal(top.yaxis, 'y2');
  const p1 = [Math.exp(2), Math.exp(1), Math.exp(0.5)].map((v, _i, a) => v / (a[0] + a[1] + a[2]));
  assertClose(h.y[1], -p1.reduce((acc, q) => acc + q * Math.log(q), 0), 1e-12, 'H at T=1');
  assertClose(top.y[1], p1[0], 1e-12, 'max q at T=1');
  const hs = h.y as number[];
  for (let i = 1; i < hs.length; i++) assert.ok(hs[i] > hs[i - 1], 'entropy increases with T');
  assert.ok(Math.log(3) - hs[3] < 1e-3 && hs[3] < Math.log(3));
  const e100 = [2, 1, 0.5].map((z) => Math.exp(z / 100));
  assertClose(top.y[3], e100[0] / (e100[0] + e100[1] + e100[2]), 1e-12, 'max q at T=100');
  assert.ok((top.y[3] as number) - 1 / 3 < 0.01, 'max q near 1/K at T=100');
});

test('dark-knowledge: one panel per digit, one bar trace per T, log probability axes', () => {
  const logits = [0, 0, 10, 0, 0, 0, 0, 0, 0, 0];
  const fig = darkKnowledge({ examples: [{ label: 2, logits }, { label: 2, logits, index: 5 }], temperatures: [1, 5, 20] });
  assert.equal(fig.data.length, 6);
  const traces = fig.data as BarTrace[];
  assert.deepEqual(traces.map((t) => t.xaxis), ['x', 'x', 'x', 'x2', 'x2', 'x2']);
  assert.deepEqual(traces.map((t) => t.showlegend), [true, true, true, false, false, false]);
  assert.equal(fig.layout.yaxis?.type, 'log');
  assert.equal(fig.layout.yaxis2?.type, 'log');
  // At T = 1 a wrong class gets e^0 / (e^10 + 9).
  assertClose(traces[0].y[0], 1 / (Math.exp(10) + 9), 1e-15, 'wrong-class mass at T=1');
  assertClose(traces[0].y[2], Math.exp(10) / (Math.exp(10) + 9), 1e-12, 'true-class mass at T=1');
  assert.throws(() => darkKnowledge({ examples: [{ label: 12, logits }], temperatures: [1] }), FigureInputError);
});

test('dark-knowledge: the split in the panel titles; each image beside its bars, on hidden axes', () => {
  const logits = [0, 0, 10, 0, 0, 0, 0, 0, 0, 0];
  const image = Array.from({ length: 784 }, (_, i) => (i % 28 === 14 ? 1 : 0)); // a vertical stroke
  const fig = darkKnowledge({ examples: [{ label: 2, logits, index: 7, image }, { label: 2, logits }], temperatures: [1], split: 'validation' });
  assert.equal(fig.data.length, 3, '2 bar traces + 1 image');
  const heat = fig.data[2] as HeatmapTrace;
  assert.equal(heat.type, 'heatmap');
  assert.equal(heat.z.length, 28);
  assert.deepEqual(heat.z[3][14], 1);
  assert.deepEqual(heat.z[3][13], 0);
  assert.equal(heat.xaxis, 'x3', 'axes after the two panels');
  const titles = (fig.layout.annotations ?? []).map((a) => a.text);
  assert.ok(titles.includes('true digit 2 (validation #7)'), titles.join(' | '));
  assert.ok(!titles.some((t) => t.includes('test #')));
  const bars = fig.layout.xaxis?.domain as number[];
  const img = fig.layout.xaxis3?.domain as number[];
  assert.ok(bars[1] < img[0], 'the image sits right of the bars, not on them');
  assert.equal(fig.layout.yaxis3?.autorange, 'reversed', 'row 0 of the image at the top');
  assert.throws(() => darkKnowledge({ examples: [{ label: 2, logits, image: [0, 1] }], temperatures: [1] }), FigureInputError);
});

test('model-size-and-latency: three panels in the units named on the axes', () => {
  const fig = modelSizeAndLatency({
    models: [
      { name: 'teacher', params: 2_000_000, sizeBytes: 8_000_000, latencyMs: 10 },
      { name: 'student', params: 25_000, sizeBytes: 100_000, latencyMs: 0.5 },
    ],
  });
  const [p, s, l] = fig.data as BarTrace[];
  assert.deepEqual(p.y, [2, 0.025]);
  assert.deepEqual(s.y, [8, 0.1]);
  assert.deepEqual(l.y, [10, 0.5]);
  assert.deepEqual([p.yaxis, s.yaxis, l.yaxis], ['y', 'y2', 'y3']);
  assert.match(fig.layout.yaxis?.title?.text ?? '', /millions/);
  assert.match(fig.layout.yaxis2?.title?.text ?? '', /MB/);
  assert.match(fig.layout.yaxis3?.title?.text ?? '', /ms/);
});

test('grad-scale-vs-T and kl-vs-mse-high-T: sorted by T, log axes, limit line', () => {
  const g = gradScaleVsT({ temperatures: [4, 1, 2], withT2: [0.3, 0.1, 0.2], withoutT2: [0.3 / 16, 0.1, 0.05] });
  const [w, wo] = g.data as ScatterTrace[];
  assert.deepEqual(w.x, [1, 2, 4]);
  assert.deepEqual(w.y, [0.1, 0.2, 0.3]);
  assert.deepEqual(wo.y, [0.1, 0.05, 0.3 / 16]);
  assert.equal(g.layout.xaxis?.type, 'log');
  assert.equal(g.layout.yaxis?.type, 'log');
  assert.throws(() => gradScaleVsT({ temperatures: [1, 2], withT2: [1], withoutT2: [1, 2] }), FigureInputError);

  const k = klVsMseHighT({ temperatures: [10, 1], klTimesT2: [0.5, 0.9], mseLimit: 0.49 });
  const [kl, limit] = k.data as ScatterTrace[];
  assert.deepEqual(kl.x, [1, 10]);
  assert.deepEqual(kl.y, [0.9, 0.5]);
  assert.deepEqual(limit.y, [0.49, 0.49]);
  assert.deepEqual(limit.x, [1, 10]);
});

test('training-curves: one line per model, epochs 1..n, role colours', () => {
  const fig = trainingCurves(SAMPLE_INPUTS['training-curves']);
  const traces = fig.data as ScatterTrace[];
  assert.deepEqual(traces.map((t) => t.name), ['teacher', 'scratch', 'distilled']);
  assert.deepEqual(traces[1].x, [1, 2, 3]);
  assert.deepEqual(traces[2].y, [0.92, 0.95, 0.96]);
  assert.equal(traces[0].line?.color, '#000000');
  assert.notEqual(traces[1].line?.color, traces[2].line?.color);
  assert.match(fig.layout.yaxis?.title?.text ?? '', /test accuracy \(%\)/);
  assert.match(fig.layout.xaxis?.title?.text ?? '', /epoch/);
  assert.throws(() => trainingCurves({ series: [{ name: 'x', accuracy: [1.2] }] }), FigureInputError);
});

function checkAblation(fig: Figure): void {
  assert.equal(fig.data.length, 1);
  const h = fig.data[0] as HeatmapTrace;
  assert.equal(h.type, 'heatmap');
  assert.deepEqual(h.x, ['0.1', '0.5'], 'x axis: alpha values, sorted');
  assert.deepEqual(h.y, ['1', '4', '20'], 'y axis: temperatures, sorted');
  assert.match(fig.layout.xaxis?.title?.text ?? '', /alpha/);
  assert.match(fig.layout.yaxis?.title?.text ?? '', /temperature T/);
  assert.equal(h.z[0][0], 0.95);
  assert.equal(h.z[0][1], 0.955);
  assert.equal(h.z[1][0], 0.96);
  assertClose(h.z[1][1], (0.97 + 0.974) / 2, 1e-12, 'two seeds averaged');
  assert.equal(h.z[2][0], 0.958);
  assert.equal(h.z[2][1], null, 'cell not run yet stays empty');
  assert.match(h.text?.[1][1] ?? '', /^★ 97\.20%$/, 'best cell starred');
}

test('ablation-heatmap-T-alpha from plain rows: x = alpha, y = T, mean per cell', () => {
  checkAblation(ablationHeatmap(SAMPLE_INPUTS['ablation-heatmap-T-alpha']));
});

test('ablation-heatmap-T-alpha from a danfojs-node DataFrame', async () => {
  const dfd = await import('danfojs-node');
  const df = new dfd.DataFrame(SAMPLE_INPUTS['ablation-heatmap-T-alpha']);
  checkAblation(ablationHeatmap(df));
  const missing = new dfd.DataFrame([{ temperature: 1, alpha: 0.5 }]);
  assert.throws(
    () => ablationHeatmap(missing),
    (err: unknown) => err instanceof FigureInputError && /valAccuracy/.test(err.message),
  );
});

test('confusion-matrix: rows true (top down), columns predicted, colour = row share, text = counts', () => {
  const fig = confusionMatrix({ matrix: [[8, 2], [1, 9]] });
  const h = fig.data[0] as HeatmapTrace;
  assert.deepEqual(h.z, [[0.8, 0.2], [0.1, 0.9]]);
  assert.deepEqual(h.text, [['8', '2'], ['1', '9']]);
  assert.deepEqual(h.x, ['0', '1']);
  assert.equal(fig.layout.yaxis?.autorange, 'reversed');
  assert.match(fig.layout.xaxis?.title?.text ?? '', /predicted/);
  assert.match(fig.layout.yaxis?.title?.text ?? '', /true/);
  assert.match(fig.layout.annotations?.[0].text ?? '', /85\.00% \(17 of 20/);
  assert.throws(() => confusionMatrix({ matrix: [[1, 2, 3], [4, 5, 6]] }), FigureInputError);
});

test('generalization figures: transfer-set sizes on a log axis; the omitted digit is highlighted', () => {
  const t = accuracyVsTransferSetSize({ sizes: [1000, 100], hardTargets: [0.9, 0.6], softTargets: [0.95, 0.8] });
  const [hard, soft] = t.data as ScatterTrace[];
  assert.equal(t.data.length, 2);
  assert.deepEqual(hard.x, [100, 1000]);
  assert.deepEqual(hard.y, [0.6, 0.9]);
  assert.deepEqual(soft.y, [0.8, 0.95]);
  assert.equal(t.layout.xaxis?.type, 'log');

  const o = omittedDigit3(SAMPLE_INPUTS['omitted-digit-3']);
  const bars = o.data as BarTrace[];
  assert.deepEqual(bars[0].x, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  assert.equal(bars[0].y[3], 0.87);
  const band = o.layout.shapes?.[0];
  assert.equal(band?.x0, 2.5);
  assert.equal(band?.x1, 3.5);
});

test('hinton-table: paper and our error counts with rates out of the test size', () => {
  const fig = hintonTable({
    rows: [
      { system: 'teacher', paperErrors: 67, ourErrors: 80 },
      { system: 'distilled', paperErrors: 74, ourErrors: null },
    ],
  });
  const t = fig.data[0] as TableTrace;
  assert.equal(t.type, 'table');
  assert.equal(t.header.values.length, t.cells.values.length);
  assert.deepEqual(t.cells.values[0], ['teacher', 'distilled']);
  assert.deepEqual(t.cells.values[1], [67, 74]);
  assert.deepEqual(t.cells.values[2], ['0.67%', '0.74%']);
  assert.deepEqual(t.cells.values[3], [80, '—']);
  assert.deepEqual(t.cells.values[4], ['0.80%', '—']);
  assert.throws(() => hintonTable({ rows: [{ system: 'x', paperErrors: 20000, ourErrors: null }] }), FigureInputError);
});

test('small-student-temperature-curve: sorted by T, sd as error bars, the baseline and the paper band', () => {
  const fig = smallStudentTemperatureCurve({
    temperatures: [4, 1, 2], meanErrors: [600, 700, 650], sdErrors: [5, 10, 20], seeds: 3, scratchErrors: 720, paperBest: [2.5, 4],
  });
  const [curve, scratch, band] = fig.data as ScatterTrace[];
  assert.deepEqual(curve.x, [1, 2, 4]);
  assert.deepEqual(curve.y, [700, 650, 600]);
  assert.deepEqual(curve.error_y?.array, [10, 20, 5]);
  assert.deepEqual(scratch.y, [720, 720]);
  assert.deepEqual(band.x, [2.5, 2.5, null, 4, 4]);
  // The band spans the data (595 .. 720) with 5% padding: 595 - 6.25, 720 + 6.25.
  assert.deepEqual(band.y, [588.75, 726.25, null, 588.75, 726.25]);
  assert.equal(fig.layout.xaxis?.type, 'log');
  assert.throws(() => smallStudentTemperatureCurve({ temperatures: [1, 2], meanErrors: [1], sdErrors: [1, 1], seeds: 3 }), FigureInputError);
});

test('methods-comparison: bars are test error = 1 - accuracy', () => {
  const fig = methodsComparison({ methods: [{ name: 'KD', accuracy: 0.975 }, { name: 'DKD', accuracy: 0.98, accuracyStd: 0.002 }], teacherAccuracy: 0.99 });
  const b = fig.data[0] as BarTrace;
  assert.equal(b.orientation, 'h');
  assert.deepEqual(b.y, ['KD', 'DKD']);
  assertClose(b.x[0], 0.025, 1e-12, 'KD error');
  assertClose(b.x[1], 0.02, 1e-12, 'DKD error');
  assert.deepEqual(b.error_x?.array, [0, 0.002]);
  assertClose(fig.layout.shapes?.[0].x0, 0.01, 1e-12, 'teacher line');
});

test('bad inputs fail with FIGURE_INPUT naming the field', () => {
  assert.throws(
    () => softLabelsVsT({ logits: [2, 1], temperatures: [0] }),
    (e: unknown) => e instanceof FigureInputError && e.code === 'FIGURE_INPUT' && /temperatures\[0\]/.test(e.message),
  );
  assert.throws(() => entropyVsT({ logits: [1, 2], temperatures: [1] }), FigureInputError, 'needs two temperatures');
  assert.throws(() => softLabelsVsT(null as never), FigureInputError);
});

test('building figures allocates no tensors', async () => {
  await initBackend({ quiet: true });
  const before = tf.memory().numTensors;
  for (const id of FIGURE_IDS) buildFigure(id, SAMPLE_INPUTS[id] as never);
  assert.equal(tf.memory().numTensors, before);
});
