import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { listHomework, releaseHomework, releaseNotebook } from '../../tools/src/homework/release';
import { CODE_STUB, nbgraderMeta, replaceRegions, stripHiddenTests, stripSolutions } from '../../tools/src/homework/markers';
import { validateNotebook } from '../../tools/src/runner/nbformat';
import { HOMEWORK_DIR, tempDir, text } from './helpers';

test('replaceRegions stubs solutions with the begin line indentation and drops hidden tests', () => {
  const src = 'function f(): number {\n  // BEGIN SOLUTION\n  return 42;\n  // END SOLUTION\n}\nassert.ok(f());\n// BEGIN HIDDEN TESTS\nassert.equal(f(), 42);\n// END HIDDEN TESTS\ndone();';
  const released = stripSolutions(stripHiddenTests(src, 't'), 't');
  assert.equal(
    released,
    'function f(): number {\n  // YOUR CODE HERE\n  throw new Error("not implemented");\n}\nassert.ok(f());\ndone();',
  );
  assert.equal(CODE_STUB.split('\n').length, 2);
});

test('unbalanced or nested markers are refused, not silently released', () => {
  assert.throws(() => stripSolutions('a\n// BEGIN SOLUTION\nsecret', 'x'), /never closed/);
  assert.throws(() => stripSolutions('// END SOLUTION\n', 'x'), /without a matching/);
  assert.throws(() => stripHiddenTests('// BEGIN HIDDEN TESTS\n// BEGIN HIDDEN TESTS\n// END HIDDEN TESTS', 'x'), /inside another region/);
  assert.throws(() => replaceRegions('// BEGIN X\n', 'BEGIN X', 'END X', null, 'x'), /never closed/);
});

test('source notebooks: nbformat 4.5, tslab kernelspec, no outputs, nbgrader metadata on every code cell that matters', () => {
  const files = listHomework(HOMEWORK_DIR);
  assert.ok(files.length >= 1, 'at least one assignment');
  for (const file of files) {
    const nb = JSON.parse(fs.readFileSync(file, 'utf8'));
    assert.deepEqual(validateNotebook(nb), [], `${file} is valid nbformat 4.5`);
    assert.equal(nb.nbformat_minor, 5);
    assert.deepEqual(nb.metadata.kernelspec, { name: 'tslab', display_name: 'TypeScript', language: 'typescript' });
    assert.equal(nb.metadata.language_info.name, 'typescript');
    const ids = new Set<string>();
    const gradeIds = new Set<string>();
    let points = 0;
    for (const c of nb.cells) {
      assert.ok(typeof c.id === 'string' && !ids.has(c.id), `${file}: unique cell id ${c.id}`);
      ids.add(c.id);
      if (c.cell_type === 'code') {
        assert.deepEqual(c.outputs, [], `${file}: ${c.id} has no outputs`);
        assert.equal(c.execution_count, null);
      }
      const m = nbgraderMeta(c);
      if (!m) {
        assert.ok(!/BEGIN (SOLUTION|HIDDEN TESTS)/.test(text(c)), `${file}: ${c.id} has markers but no nbgrader metadata`);
        continue;
      }
      assert.ok(!gradeIds.has(m.grade_id), `${file}: grade_id ${m.grade_id} is unique`);
      gradeIds.add(m.grade_id);
      assert.equal(m.schema_version, 3);
      if (m.grade) {
        assert.equal(m.locked, true, `${m.grade_id}: test cells are locked`);
        assert.equal(m.solution, false);
        assert.ok((m.points ?? 0) > 0, `${m.grade_id}: has points`);
        points += m.points ?? 0;
        assert.match(text(c), /BEGIN HIDDEN TESTS/, `${m.grade_id}: has hidden tests`);
        assert.match(text(c), /import assert from 'node:assert\/strict'/, `${m.grade_id}: imports its own assert`);
      }
      if (m.solution) assert.match(text(c), /BEGIN SOLUTION/, `${m.grade_id}: has a solution region`);
    }
    assert.ok(points > 0);
    assert.ok(nb.cells.some((c: { cell_type: string; source: string[] }) => c.cell_type === 'markdown' && /^## \d+\. .+ — .+/m.test(c.source.join(''))), `${file}: bilingual numbered headings`);
  }
});

test('release writes student versions: stubs in, hidden tests and outputs out, still valid', () => {
  const out = tempDir('kdlab-release-');
  try {
    const released = releaseHomework(HOMEWORK_DIR, out);
    assert.equal(released.length, listHomework(HOMEWORK_DIR).length);
    for (const r of released) {
      const raw = fs.readFileSync(r.output, 'utf8');
      assert.ok(r.solutionRegions > 0 && r.hiddenRegions > 0);
      for (const m of ['BEGIN SOLUTION', 'END SOLUTION', 'BEGIN HIDDEN TESTS', 'END HIDDEN TESTS']) assert.ok(!raw.includes(m), `${m} gone`);
      const nb = JSON.parse(raw);
      assert.deepEqual(validateNotebook(nb), []);
      const src = JSON.parse(fs.readFileSync(r.source, 'utf8'));
      assert.equal(nb.cells.length, src.cells.length, 'same cells, same order');
      const stubs = (raw.match(/throw new Error\(\\"not implemented\\"\);/g) ?? []).length;
      assert.equal(stubs, r.solutionRegions, 'one stub per solution region');
      // No line of any hidden region survives anywhere in the release.
      for (const c of src.cells) {
        const t = text(c);
        const hidden = /\/\/ BEGIN HIDDEN TESTS\n([\s\S]*?)\/\/ END HIDDEN TESTS/.exec(t)?.[1] ?? '';
        const visible = stripHiddenTests(t, 'x');
        const secret = hidden.split('\n').map((l: string) => l.trim()).filter((l: string) => l.length > 25 && !visible.includes(l));
        for (const line of secret) {
          assert.ok(!raw.includes(JSON.stringify(line).slice(1, -1)), `hidden line leaked: ${line}`);
        }
      }
    }
    // Releasing into the source folder is refused.
    assert.throws(() => releaseHomework(HOMEWORK_DIR, HOMEWORK_DIR), /must differ/);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});

test('releaseNotebook clears outputs and execution counts the source may carry by mistake', () => {
  const nb = JSON.parse(fs.readFileSync(path.join(HOMEWORK_DIR, 'hw1-temperature.ipynb'), 'utf8'));
  const code = nb.cells.find((c: { cell_type: string }) => c.cell_type === 'code');
  code.outputs = [{ output_type: 'stream', name: 'stdout', text: 'leak' }];
  code.execution_count = 7;
  code.metadata.execution = { 'iopub.status.busy': 'x' };
  const { notebook } = releaseNotebook(nb);
  const first = notebook.cells.find((c) => c.cell_type === 'code');
  assert.ok(first && first.cell_type === 'code');
  assert.deepEqual(first.outputs, []);
  assert.equal(first.execution_count, null);
  assert.equal(first.metadata.execution, undefined);
});

test('kdlab release writes a student edition of the library per assignment, without its answers', async () => {
  const { run } = await import('../../tools/src/commands/release');
  const out = tempDir('kdlab-release-edition-');
  const write = process.stdout.write;
  let printed = '';
  process.stdout.write = ((chunk: string) => { printed += chunk; return true; }) as typeof process.stdout.write;
  try {
    assert.equal(await run([HOMEWORK_DIR, '--out', out]), 0);
  } finally {
    process.stdout.write = write;
  }
  try {
    for (const file of listHomework(HOMEWORK_DIR)) {
      const dir = path.join(out, 'kdlab-student', path.basename(file, '.ipynb'));
      assert.ok(fs.existsSync(path.join(dir, 'dist', 'index.js')) && fs.existsSync(path.join(dir, 'package.json')), dir);
    }
    const softmax = fs.readFileSync(path.join(out, 'kdlab-student', 'hw1-temperature', 'dist', 'softmax.js'), 'utf8');
    assert.match(softmax, /^function softmaxWithTemperature\(\) \{ const e = new Error\(/m, 'hw1: stubbed');
    const hw2softmax = fs.readFileSync(path.join(out, 'kdlab-student', 'hw2-distillation-loss', 'dist', 'softmax.js'), 'utf8');
    assert.match(hw2softmax, /^function softmaxWithTemperature\(logits, T\) \{$/m, 'hw2 keeps the softmax (it asks for the losses) ...');
    assert.match(hw2softmax, /^function logSoftmaxWithTemperature\(\) \{ const e = new Error\(/m, '... but not the log-softmax with T');
    assert.match(printed, /kdlab-student\/hw1-temperature\/: kdlab without .*softmaxWithTemperature/);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});
