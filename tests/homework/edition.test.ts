/** The student edition of the library: the assignment's answers are stubbed out of the files themselves. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { stubMessage, stubModule, stubbedNames, writeStudentEdition } from '../../tools/src/homework/edition';
import { workbookRoot } from '../../lib/src/paths';
import { tempDir } from './helpers';

const work = tempDir('kdlab-edition-');
after(() => fs.rmSync(work, { recursive: true, force: true }));
const dist = path.join(workbookRoot(), 'lib', 'dist');

test('stubbed names per assignment: the import rule\'s functions, minus what locked cells need', () => {
  const hw1 = stubbedNames(['hw1-q1-tests', 'hw1-q2-tests', 'hw1-q3-tests']);
  for (const n of ['softmaxWithTemperature', 'logSoftmaxWithTemperature', 'softmaxT', 'logSoftmaxT', 'entropy', 'entropyOf', 'workedExample']) assert.ok(hw1.includes(n), n);
  assert.ok(!hw1.includes('distillationLoss'), 'hw1 keeps the losses');
  const hw4 = stubbedNames(['hw4-q1-tests', 'hw4-q2-tests', 'hw4-q3-tests']);
  assert.ok(hw4.includes('errorsWithShift') && hw4.includes('transferSetWithout'));
  assert.ok(!hw4.includes('evaluateLogits'), "hw4's setup calls evaluate(), which needs evaluateLogits");
});

test('stubModule replaces a top-level function, body and all, and keeps the rest of the module', () => {
  const text = [
    '"use strict";',
    'exports.b = exports.a = void 0;',
    'function a(x) {',
    '    const secret = 42;',
    '    return x + secret;',
    '}',
    'exports.a = a;',
    'async function b() {',
    '    return 1;',
    '}',
    'exports.b = b;',
    '//# sourceMappingURL=m.js.map',
  ].join('\n');
  const r = stubModule(text, new Set(['a', 'b']));
  assert.deepEqual(r.stubbed, ['a', 'b']);
  assert.ok(!r.text.includes('secret'), 'the body is gone');
  assert.ok(!r.text.includes('sourceMappingURL'));
  const m: { exports: Record<string, (...a: unknown[]) => unknown> } = { exports: {} };
  new Function('exports', 'module', r.text)(m.exports, m);
  assert.throws(() => m.exports.a(1), (e: Error) => e.name === 'WriteThisYourselfError' && e.message === stubMessage('a'));
});

test('the hw1 edition: no source maps, no implementation text, the stubs throw a clear error, the rest of kdlab works', () => {
  const names = stubbedNames(['hw1-q1-tests', 'hw1-q2-tests', 'hw1-q3-tests']);
  const out = path.join(work, 'hw1');
  const e = writeStudentEdition(out, names);
  const files: string[] = [];
  const walk = (d: string) => { for (const x of fs.readdirSync(d, { withFileTypes: true })) { const p = path.join(d, x.name); if (x.isDirectory()) walk(p); else files.push(p); } };
  walk(e.dist);
  assert.ok(files.length > 100, `${files.length} files copied`);
  assert.ok(!files.some((f) => f.endsWith('.map')), 'no source maps (they would point at the sources)');
  // The body of the real softmaxWithTemperature (from the full build) is in no file of the edition.
  const real = fs.readFileSync(path.join(dist, 'softmax.js'), 'utf8');
  const body = /^function softmaxWithTemperature\([^]*?^\}$/m.exec(real)?.[0] ?? '';
  const line = body.split('\n').find((l) => /tf\.(softmax|div|sub|exp)/.test(l)) ?? '';
  assert.ok(line.length > 10, `a body line of the real function: ${line}`);
  for (const f of files) assert.ok(!fs.readFileSync(f, 'utf8').includes(line.trim()), `${f} holds the implementation`);
  const script = `
    const k = require(${JSON.stringify(path.join(e.dist, 'index.js'))});
    const out = {};
    for (const n of ${JSON.stringify(names)}) { try { (k[n] ?? require(${JSON.stringify(path.join(e.dist, 'softmax.js'))})[n])(k.tf.tensor1d([1, 2]), 1); out[n] = 'RAN'; } catch (err) { out[n] = err.name + ': ' + err.message; } }
    out.initBackend = typeof k.initBackend;
    out.train = typeof k.train;
    out.kdLoss = (() => { const s = k.tf.tensor2d([[1, 2]]); return k.kdLoss(s, s, k.tf.tensor1d([0], 'int32'), { temperature: 2, alpha: 0.5 }).dataSync()[0]; })();
    console.log(JSON.stringify(out));`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, NODE_PATH: path.join(workbookRoot(), 'node_modules') } });
  assert.equal(r.status, 0, r.stderr);
  const seen = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as Record<string, unknown>;
  for (const n of names) assert.equal(seen[n], `WriteThisYourselfError: ${stubMessage(n)}`, n);
  assert.equal(seen.initBackend, 'function');
  assert.equal(seen.train, 'function');
  assert.equal(typeof seen.kdLoss, 'number', 'what hw1 does not ask for still works');
});

test('an edition asked for a function the library does not have refuses to be written', () => {
  assert.throws(() => writeStudentEdition(path.join(work, 'bad'), ['noSuchFunction']), /could not stub noSuchFunction/);
});
