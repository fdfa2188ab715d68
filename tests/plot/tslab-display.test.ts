/**
 * show() and liveChart() inside real tslab cells: tslab's own executor and Jupyter handler (the
 * code a kernel runs for each execute_request) type-check and run the cells in a child process,
 * and the display messages it would put on iopub are recorded. No sockets, no notebook runner.
 * Uses the built library (lib/dist, as notebooks do); `npm test` builds it first.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..', '..');
const built = fs.existsSync(path.join(root, 'lib', 'dist', 'plot', 'display.js'));

// Runs in the child: stdout/stderr are redirected to iopub by tslab while a cell runs, so results
// go to a file.
const CHILD = `
const fs = require('fs');
const { createExecutor } = require('tslab/dist/executor');
const { createConverter } = require('tslab/dist/converter');
const { JupyterHandlerImpl } = require('tslab/dist/jupyter');
let node;
const convs = { get node() { return node || (node = createConverter({ isJS: false, isBrowser: false })); }, get browser() { throw new Error('no browser cells'); }, close() { if (node) node.close(); } };
const executor = createExecutor(process.cwd(), convs, { log: () => {}, error: () => {} });
const handler = new JupyterHandlerImpl(executor, false);
const cells = JSON.parse(process.argv[1]); // node -e: argv[1] is the first argument
(async () => {
  const out = [];
  for (const code of cells) {
    const messages = [];
    const reply = await handler.handleExecute({ code }, (name, text) => messages.push({ stream: name, text }),
      (content, update) => messages.push({ msg_type: update ? 'update_display_data' : 'display_data', content }));
    out.push({ reply, messages });
  }
  fs.writeFileSync(process.argv[2], JSON.stringify(out));
  convs.close();
  process.exit(0);
})();
`;

interface Recorded {
  reply: { status: string };
  messages: {
    stream?: string;
    text?: string;
    msg_type?: string;
    content?: { data: Record<string, unknown>; transient?: { display_id?: string } };
  }[];
}

test('in a tslab cell, show() sends one multi-MIME display_data per figure, plotly.js once', { skip: built ? false : 'lib/dist not built (run npx tsc -b lib)', timeout: 120_000 }, () => {
  const cells = [
    `import { show, softLabelsVsT } from 'kdlab/dist/plot';
show(softLabelsVsT({ logits: [2, 1, 0.5], temperatures: [1, 2] }));
show(softLabelsVsT({ logits: [2, 1, 0.5], temperatures: [1, 2, 4] }));`,
    `import { liveChart } from 'kdlab/dist/plot';
const chart = liveChart({ title: 'live', throttleMs: 0, series: ['a'] });
for (let i = 0; i < 3; i++) chart.update({ x: i, a: i / 10 });
chart.close();`,
  ];
  const outFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'kdlab-tslab-')), 'out.json');
  try {
    execFileSync(process.execPath, ['-e', CHILD, JSON.stringify(cells), outFile], { cwd: root, stdio: 'pipe', timeout: 110_000 });
    const [first, second] = JSON.parse(fs.readFileSync(outFile, 'utf8')) as Recorded[];
    assert.equal(first.reply.status, 'ok', JSON.stringify(first.messages.filter((m) => m.stream)));
    const shown = first.messages.filter((m) => m.msg_type);
    assert.deepEqual(shown.map((m) => m.msg_type), ['display_data', 'display_data', 'display_data']);
    const [loader, fig1, fig2] = shown.map((m) => m.content?.data ?? {});
    assert.match(String(loader['text/html']), /__kdlabPlotly/);
    for (const [fig, traces] of [[fig1, 2], [fig2, 3]] as const) {
      assert.deepEqual(Object.keys(fig).sort(), ['application/vnd.plotly.v1+json', 'text/html', 'text/plain']);
      assert.equal((fig['application/vnd.plotly.v1+json'] as { data: unknown[] }).data.length, traces);
      assert.ok(!String(fig['text/html']).includes('var b64='));
    }

    assert.equal(second.reply.status, 'ok', JSON.stringify(second.messages.filter((m) => m.stream)));
    const live = second.messages.filter((m) => m.msg_type);
    // The loader was sent in the first cell: same kernel process, not again.
    assert.deepEqual(live.map((m) => m.msg_type), ['display_data', 'update_display_data', 'update_display_data', 'update_display_data']);
    const id = live[0].content?.transient?.display_id;
    assert.ok(id);
    assert.ok(live.every((m) => m.content?.transient?.display_id === id));
    const final = live[3].content?.data['application/vnd.plotly.v1+json'] as { data: { y: number[] }[] };
    assert.deepEqual(final.data[0].y, [0, 0.1, 0.2]);
  } finally {
    fs.rmSync(path.dirname(outFile), { recursive: true, force: true });
  }
});
