import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import {
  PLOTLY_MIME,
  type DisplaySink,
  displayBundle,
  kernelSink,
  liveChart,
  plotlyLoaderHtml,
  show,
} from '../../lib/src/plot/display';
import { plotlyJs } from '../../lib/src/plot/plotlyjs';
import { FIGURE_IDS, buildFigure } from '../../lib/src/plot/registry';
import type { Figure } from '../../lib/src/plot/types';
import { captureStdout } from './stdout';
import { SAMPLE_INPUTS } from './fixtures';

interface Message {
  kind: 'display' | 'update';
  data: Record<string, unknown>;
  displayId?: string;
}

function recorder(): DisplaySink & { messages: Message[] } {
  const messages: Message[] = [];
  return {
    messages,
    display(data, displayId) {
      messages.push({ kind: 'display', data, displayId });
    },
    update(data, displayId) {
      messages.push({ kind: 'update', data, displayId });
    },
  };
}

const figure = (): Figure => buildFigure('soft-labels-vs-T', SAMPLE_INPUTS['soft-labels-vs-T']);

/** Every <script ...> opening tag in some HTML. */
const scriptTags = (html: string): string[] => html.match(/<script\b[^>]*>/gi) ?? [];

test('a figure bundle carries the plotly JSON, an HTML fallback and plain text', () => {
  const fig = figure();
  const b = displayBundle(fig, { divId: 'fig-1' });
  assert.deepEqual(Object.keys(b).sort(), [PLOTLY_MIME, 'text/html', 'text/plain'].sort());
  assert.equal(PLOTLY_MIME, 'application/vnd.plotly.v1+json');
  assert.deepEqual(b[PLOTLY_MIME], JSON.parse(JSON.stringify(fig)), 'the plotly mime holds the figure itself');
  assert.notEqual(b[PLOTLY_MIME], fig, 'a copy: later mutation of the input does not change what was shown');
  const html = b['text/html'];
  assert.match(html, /<div id="fig-1"/);
  assert.match(html, /\.newPlot\(el,fig\.data,fig\.layout,cfg\)/);
  assert.equal(scriptTags(html).length, 1);
  for (const tag of scriptTags(html)) assert.doesNotMatch(tag, /src\s*=/i, 'no external script');
  assert.doesNotMatch(html, /src\s*=\s*["']?https?:/i);
  assert.match(b['text/plain'], /^§4\.1 .*\[4 traces: bar, scatter; x: class/);
  // Small: plotly.js is NOT in each figure.
  assert.ok(Buffer.byteLength(html) < 20_000, `figure HTML is ${Buffer.byteLength(html)} bytes`);
});

test('the HTML fallback survives hostile text in titles (no early </script>)', () => {
  const fig = figure();
  fig.layout.title = { text: '</script><script>window.pwned=1</script><!--' };
  const html = displayBundle(fig, { divId: 'x' })['text/html'];
  assert.equal(html.match(/<\/script>/gi)?.length, 1, 'only the closing tag of our own script');
  assert.equal(scriptTags(html).length, 1);
  assert.ok(!html.includes('<!--'));
});

test('the loader inlines plotly.js gzip+base64 with no network reference, once', () => {
  const loader = plotlyLoaderHtml();
  for (const tag of scriptTags(loader)) assert.doesNotMatch(tag, /src\s*=/i);
  const b64 = /var b64="([A-Za-z0-9+/=]+)"/.exec(loader)?.[1];
  assert.ok(b64, 'base64 payload present');
  const source = zlib.gunzipSync(Buffer.from(b64, 'base64')).toString('utf8');
  assert.equal(source, fs.readFileSync(plotlyJs().file, 'utf8'), 'decompresses to the installed plotly.js');
  assert.match(loader, /DecompressionStream\("gzip"\)/);
  // The whole point: well under the 5 MB notebook budget (raw plotly.min.js is ~4.9 MB).
  const bytes = Buffer.byteLength(JSON.stringify(loader));
  assert.ok(bytes < 2_200_000, `loader is ${bytes} bytes JSON-escaped`);
  const withJs = displayBundle(figure(), { includePlotlyJs: true })['text/html'];
  assert.ok(withJs.includes(b64) && /\.newPlot\(/.test(withJs));
});

test('show(): the loader goes out once per sink, before the first figure; then one display per figure', () => {
  const sink = recorder();
  show(figure(), { sink });
  show(buildFigure('entropy-vs-T', SAMPLE_INPUTS['entropy-vs-T']), { sink });
  assert.equal(sink.messages.length, 3);
  const [loader, first, second] = sink.messages;
  assert.equal(loader.kind, 'display');
  assert.deepEqual(Object.keys(loader.data).sort(), ['text/html', 'text/plain']);
  assert.match(String(loader.data['text/html']), /__kdlabPlotly/);
  for (const m of [first, second]) {
    assert.equal(m.kind, 'display');
    assert.ok(PLOTLY_MIME in m.data && 'text/html' in m.data);
    assert.ok(!String(m.data['text/html']).includes('var b64='), 'figures do not repeat plotly.js');
  }
  // What a notebook with the loader and all 14 figures would hold in outputs.
  const all = recorder();
  for (const id of FIGURE_IDS) show(buildFigure(id, SAMPLE_INPUTS[id] as never), { sink: all });
  const bytes = Buffer.byteLength(JSON.stringify(all.messages.map((m) => m.data)));
  assert.ok(bytes < 2_600_000, `loader + ${FIGURE_IDS.length} figures = ${bytes} bytes`);
});

test('show() outside a kernel prints the summary instead of failing', async () => {
  assert.equal(kernelSink(), undefined, 'no tslab kernel in this test process');
  const { chunks: lines } = await captureStdout(() => show(figure()));
  assert.equal(lines.length, 1);
  assert.match(lines[0], /^§4\.1 Soft labels .*\[4 traces/);
});

test("kernelSink() drives tslab's own display hook with one multi-MIME display_data", () => {
  // The hook show() uses in a real kernel, from the installed tslab: if a tslab upgrade moves it,
  // this fails here rather than silently in every notebook.
  const jupyter = require('tslab/dist/jupyter') as { lastWriteDisplayData: unknown };
  const sent: { content: { data: Record<string, unknown>; transient: { display_id?: string } }; update: boolean }[] = [];
  jupyter.lastWriteDisplayData = (content: (typeof sent)[number]['content'], update: boolean) => sent.push({ content, update });
  try {
    const sink = kernelSink();
    assert.ok(sink, 'found the hook in the module cache');
    sink.display({ 'text/plain': 'a', 'text/html': '<b>a</b>' });
    sink.update({ 'text/plain': 'b' }, 'id-1');
    assert.deepEqual(sent[0], { content: { data: { 'text/plain': 'a', 'text/html': '<b>a</b>' }, metadata: {}, transient: {} }, update: false });
    assert.deepEqual(sent[1], { content: { data: { 'text/plain': 'b' }, metadata: {}, transient: { display_id: 'id-1' } }, update: true });
  } finally {
    jupyter.lastWriteDisplayData = null;
  }
  assert.equal(kernelSink(), undefined);
});

test('liveChart: one display id, throttled updates, the last point always sent on close()', () => {
  let clock = 0;
  const sink = recorder();
  const chart = liveChart({ title: 'training', section: '3.4', sink, now: () => clock, throttleMs: 500, series: ['scratch', 'distilled'] });
  // Loader + the empty chart.
  assert.equal(sink.messages.length, 2);
  const created = sink.messages[1];
  assert.equal(created.kind, 'display');
  assert.ok(created.displayId);
  for (let i = 0; i < 100; i++) {
    clock = i * 20; // 100 points over 2 s
    chart.update({ x: i, scratch: i / 100, distilled: i / 99 });
  }
  const updates = sink.messages.filter((m) => m.kind === 'update');
  // Sent at t = 0, 500, 1000, 1500 at most (a trailing timer may add none yet: it runs async).
  assert.ok(updates.length >= 1 && updates.length <= 4, `${updates.length} updates for 100 points`);
  assert.ok(updates.every((m) => m.displayId === created.displayId));
  chart.close();
  const fig = chart.figure();
  const after = sink.messages.filter((m) => m.kind === 'update');
  assert.equal(after.length, updates.length + 1, 'close() flushes the pending point');
  const last = after[after.length - 1].data[PLOTLY_MIME] as Figure;
  assert.equal(last.data.length, 2);
  assert.equal(last.data[0].type === 'scatter' && last.data[0].x.length, 100);
  assert.deepEqual(last, fig);
  assert.equal(last.layout.title?.text, '§3.4 training');
  assert.equal(chart.stats.points, 100);
  chart.update({ x: 101, scratch: 1 });
  assert.equal(sink.messages.length, 2 + after.length, 'no updates after close');
});

test('liveChart: a trailing update follows a burst without waiting for close()', async () => {
  const sink = recorder();
  const chart = liveChart({ title: 'loss', sink, throttleMs: 30, yTickFormat: '' });
  chart.update({ x: 1, loss: 2 });
  chart.update({ x: 2, loss: 1 });
  assert.equal(sink.messages.filter((m) => m.kind === 'update').length, 1);
  await new Promise((r) => setTimeout(r, 80));
  const updates = sink.messages.filter((m) => m.kind === 'update');
  assert.equal(updates.length, 2);
  const fig = updates[1].data[PLOTLY_MIME] as Figure;
  assert.deepEqual(fig.data[0].type === 'scatter' && fig.data[0].y, [2, 1]);
  chart.close();
  assert.equal(sink.messages.filter((m) => m.kind === 'update').length, 2, 'nothing pending: close() sends nothing new');
});

test('liveChart outside a kernel: silent updates, one summary line on close()', async () => {
  const { chunks: lines } = await captureStdout(() => {
    const chart = liveChart({ title: 'distilled student' });
    for (let i = 1; i <= 5; i++) chart.update({ x: i, accuracy: 0.9 + i / 100, loss: Number.NaN });
    chart.close();
  });
  assert.deepEqual(lines, ['distilled student: 5 points; last x = 5: accuracy 0.95, loss NaN\n']);
});
