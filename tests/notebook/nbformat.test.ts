/**
 * Notebook I/O, parameters, output handling and the wire format: everything that needs no kernel.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { createHmac } from 'node:crypto';
import { KdlabError } from '../../lib/src/errors';
import {
  injectParameters,
  normaliseToV45,
  parseParameter,
  readNotebook,
  validateNotebook,
  type Notebook,
} from '../../tools/src/runner/nbformat';
import { DisplayRegistry, OutputCollector } from '../../tools/src/runner/outputs';
import { deserialize, makeMessage, serialize } from '../../tools/src/runner/protocol';

const FIX = path.join(__dirname, 'fixtures');

function refusal(file: string): KdlabError {
  try {
    readNotebook(path.join(FIX, file));
  } catch (err) {
    assert.ok(err instanceof KdlabError, `expected a KdlabError, got ${String(err)}`);
    return err;
  }
  assert.fail(`${file} was accepted`);
}

test('bad notebooks are refused with the file named and a fix', () => {
  const malformed = refusal('malformed.ipynb');
  assert.equal(malformed.code, 'NOTEBOOK_MALFORMED_JSON');
  assert.match(malformed.message, /malformed\.ipynb: not valid JSON/);

  const v3 = refusal('nbformat3.ipynb');
  assert.equal(v3.code, 'NOTEBOOK_OLD_FORMAT');
  assert.match(v3.message, /nbformat3\.ipynb: nbformat 3 is not supported/);
  assert.match(v3.message, /nbconvert --to notebook/);

  const none = refusal('no-kernelspec.ipynb');
  assert.equal(none.code, 'NOTEBOOK_NO_KERNELSPEC');
  assert.match(none.message, /no-kernelspec\.ipynb: no kernelspec/);
  assert.match(none.message, /"name": "tslab"/);

  const wrong = refusal('wrong-kernelspec.ipynb');
  assert.equal(wrong.code, 'NOTEBOOK_WRONG_KERNEL');
  assert.match(wrong.message, /kernelspec is "python3"/);
  assert.match(wrong.message, /TypeScript \(tslab\)/);

  const missing = refusal('does-not-exist.ipynb');
  assert.equal(missing.code, 'NOTEBOOK_MISSING');
});

test('parameters are typed: numbers stay numbers, true/false are booleans, the rest strings', () => {
  assert.deepEqual(parseParameter('n=5'), ['n', 5]);
  assert.deepEqual(parseParameter('lr=-1.5e-3'), ['lr', -0.0015]);
  assert.deepEqual(parseParameter('flag=true'), ['flag', true]);
  assert.deepEqual(parseParameter('flag=false'), ['flag', false]);
  assert.deepEqual(parseParameter('mode=quick'), ['mode', 'quick']);
  assert.deepEqual(parseParameter('expr=a=b'), ['expr', 'a=b']);
  assert.deepEqual(parseParameter('s=1e'), ['s', '1e']);
  assert.deepEqual(parseParameter('empty='), ['empty', '']);
  assert.throws(() => parseParameter('novalue'), /name=value/);
  assert.throws(() => parseParameter('1bad=2'), /not a valid identifier/);
});

function nbWith(cells: Notebook['cells']): Notebook {
  return { nbformat: 4, nbformat_minor: 5, metadata: { kernelspec: { name: 'tslab', display_name: 'TS' } }, cells };
}

test('injected-parameters cell goes right after the parameters cell and replaces an old one', () => {
  const nb = nbWith([
    { cell_type: 'markdown', source: '# t', metadata: {} },
    { cell_type: 'code', source: 'let mode = "quick";\nlet n = 2; // comment const fake = 1\nconst fixed = 3;', metadata: { tags: ['parameters'] }, execution_count: null, outputs: [] },
    { cell_type: 'code', source: 'old = 1;', metadata: { tags: ['injected-parameters'] }, execution_count: null, outputs: [] },
    { cell_type: 'code', source: 'console.log(n)', metadata: {}, execution_count: null, outputs: [] },
  ]);
  const r = injectParameters(nb, { mode: 'full "x"', n: 7, fixed: 1, typo: true });
  assert.equal(r.injectedIndex, 2);
  assert.equal(r.notebook.cells.length, 4, 'the old injected cell is replaced, not kept');
  const cell = r.notebook.cells[2];
  assert.deepEqual(cell.metadata.tags, ['injected-parameters']);
  const src = Array.isArray(cell.source) ? cell.source.join('') : cell.source;
  assert.ok(src.includes(`mode = ${JSON.stringify('full "x"')};`), src);
  assert.ok(src.includes('n = 7;'), src);
  assert.ok(!src.includes('fixed'), 'a const parameter is not reassigned');
  assert.ok(!src.includes('typo'), 'an undeclared name is not injected');
  assert.equal(r.warnings.length, 2);
  assert.match(r.warnings.join('\n'), /"fixed" is declared with const/);
  assert.match(r.warnings.join('\n'), /"typo" is not declared/);
  assert.equal(nb.cells.length, 4, 'the input notebook is not modified');
  assert.equal(nb.cells[2].source, 'old = 1;');

  const noParams = injectParameters(nbWith([{ cell_type: 'code', source: '1', metadata: {}, execution_count: null, outputs: [] }]), { n: 1 });
  assert.equal(noParams.injectedIndex, -1);
  assert.match(noParams.warnings[0], /no cell tagged "parameters"/);
});

test('normalised notebooks get unique stable ids and validate against the nbformat 4.5 schema', () => {
  const nb: Notebook = {
    nbformat: 4,
    nbformat_minor: 4,
    metadata: { kernelspec: { name: 'tslab', display_name: 'TS' } },
    cells: [
      { cell_type: 'code', source: 'x', metadata: {}, execution_count: 3, outputs: [{ output_type: 'stream', name: 'stdout', text: 'stale' }] },
      { cell_type: 'code', source: 'x', metadata: {}, execution_count: null, outputs: [] },
      { cell_type: 'markdown', id: 'keep-me', source: ['a\n', 'b'], metadata: {} },
    ],
  };
  // Without ids a 4.5 notebook is invalid: the schema itself must say so.
  assert.ok(validateNotebook({ ...nb, nbformat_minor: 5 }).some((e) => e.includes("must have required property 'id'")));
  const a = normaliseToV45(nb);
  const b = normaliseToV45(nb);
  assert.equal(a.nbformat_minor, 5);
  const ids = a.cells.map((c) => c.id);
  assert.equal(new Set(ids).size, 3);
  assert.deepEqual(ids, b.cells.map((c) => c.id));
  assert.equal(ids[2], 'keep-me');
  const first = a.cells[0];
  assert.ok(first.cell_type === 'code' && first.outputs.length === 0 && first.execution_count === null);
  assert.deepEqual(validateNotebook(a), []);
  const broken = JSON.parse(JSON.stringify(a));
  broken.cells[0].outputs = [{ output_type: 'stream', name: 'stdout' }];
  assert.ok(validateNotebook(broken).length > 0, 'a stream output without text is invalid');
});

test('stream chunks coalesce per name; update_display_data rewrites earlier outputs in place', () => {
  const registry = new DisplayRegistry();
  const first = new OutputCollector(registry);
  first.handle('stream', { name: 'stdout', text: 'a\n' });
  first.handle('stream', { name: 'stdout', text: 'b\n' });
  first.handle('stream', { name: 'stderr', text: 'warn\n' });
  first.handle('stream', { name: 'stdout', text: 'c\n' });
  first.handle('display_data', { data: { 'text/plain': 'v1' }, metadata: {}, transient: { display_id: 'd1' } });
  first.handle('display_data', {
    data: { 'application/vnd.plotly.v1+json': { data: [], layout: {} }, 'text/html': '<div></div>' },
    metadata: {},
    transient: {},
  });
  assert.equal(first.handle('status', { execution_state: 'idle' }), false);
  assert.deepEqual(first.outputs.slice(0, 3), [
    { output_type: 'stream', name: 'stdout', text: 'a\nb\n' },
    { output_type: 'stream', name: 'stderr', text: 'warn\n' },
    { output_type: 'stream', name: 'stdout', text: 'c\n' },
  ]);
  assert.equal(first.stderr, 'warn\n');
  const second = new OutputCollector(registry);
  second.handle('update_display_data', { data: { 'text/plain': 'v2' }, metadata: {}, transient: { display_id: 'd1' } });
  assert.equal(second.outputs.length, 0, 'an update adds no output of its own');
  assert.deepEqual(first.outputs[3], { output_type: 'display_data', data: { 'text/plain': 'v2' }, metadata: {} });
  assert.deepEqual(Object.keys((first.outputs[4] as { data: object }).data), ['application/vnd.plotly.v1+json', 'text/html']);

  // Non-JSON MIME types must hold text in nbformat; JSON types keep their value.
  const raw = new OutputCollector();
  raw.handle('display_data', { data: { 'text/plain': 42, 'text/html': ['<p>', '</p>'], 'application/json': { a: 1 } }, metadata: {} });
  assert.deepEqual(raw.outputs[0], {
    output_type: 'display_data',
    data: { 'text/plain': '42', 'text/html': '<p></p>', 'application/json': { a: 1 } },
    metadata: {},
  });

  const cleared = new OutputCollector();
  cleared.handle('stream', { name: 'stdout', text: '10%' });
  cleared.handle('clear_output', { wait: true });
  assert.equal(cleared.outputs.length, 1, 'clear_output(wait) waits for the next output');
  cleared.handle('stream', { name: 'stdout', text: '100%' });
  assert.deepEqual(cleared.outputs, [{ output_type: 'stream', name: 'stdout', text: '100%' }]);
});

test('wire format: HMAC-SHA256 over the four JSON parts, verified on receipt', () => {
  const key = 'secret-key';
  const msg = makeMessage('execute_request', { code: '1 + 1' }, 'session-1');
  assert.equal(msg.header.version, '5.3');
  assert.equal(msg.header.session, 'session-1');
  const frames = serialize(key, msg);
  assert.equal(frames[0].toString(), '<IDS|MSG>');
  const hmac = createHmac('sha256', key);
  for (const part of [msg.header, msg.parent_header, msg.metadata, msg.content]) hmac.update(JSON.stringify(part));
  assert.equal(frames[1].toString(), hmac.digest('hex'));
  // A ROUTER-side identity before the delimiter is tolerated.
  const back = deserialize(key, [Buffer.from('ident'), ...frames]);
  assert.deepEqual(back, msg);
  const tampered = [...frames];
  tampered[5] = Buffer.from(JSON.stringify({ code: 'evil()' }));
  assert.throws(() => deserialize(key, tampered), /invalid HMAC/);
  assert.throws(() => deserialize('other-key', frames), /invalid HMAC/);
  assert.throws(() => deserialize(key, frames.slice(1)), /delimiter/);
});
