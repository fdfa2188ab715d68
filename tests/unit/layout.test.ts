/**
 * The layout the architecture promises: the notebook package (kdlab) stays small and never loads
 * the tooling; the tools depend on kdlab, never the reverse; every thrown error is a KdlabError.
 * The import-graph check loads the BUILT index, as a notebook does (`npm test` builds first).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';

const ROOT = path.resolve(__dirname, '..', '..');
const BUILT_INDEX = path.join(ROOT, 'lib', 'dist', 'index.js');

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...sourceFiles(full));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(full);
  }
  return out;
}

/** Module specifiers of every import / export-from / require / import() in a TypeScript file. */
function importsOf(file: string): string[] {
  const sf = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
  const specs: string[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      specs.push(node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node) && node.arguments.length === 1 && ts.isStringLiteral(node.arguments[0])) {
      const callee = node.expression;
      if (callee.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(callee) && callee.text === 'require')) {
        specs.push(node.arguments[0].text);
      }
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      specs.push(node.argument.literal.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return specs;
}

test('require("kdlab") loads neither the tools nor zeromq, ajv, playwright or danfo', { skip: fs.existsSync(BUILT_INDEX) ? false : 'lib/dist not built' }, () => {
  const script = `
    const before = new Set(Object.keys(require.cache));
    const kdlab = require(${JSON.stringify(BUILT_INDEX)});
    const loaded = Object.keys(require.cache).filter((k) => !before.has(k));
    process.stdout.write(JSON.stringify({ loaded, names: Object.keys(kdlab) }));`;
  const out = JSON.parse(execFileSync(process.execPath, ['-e', script], { cwd: ROOT, encoding: 'utf8' })) as { loaded: string[]; names: string[] };
  const forbidden = ['/zeromq/', '/ajv/', '/playwright-core/', '/danfojs-node/', path.join(ROOT, 'tools') + path.sep, '/kdlab-tools/'];
  for (const f of forbidden) {
    const hits = out.loaded.filter((m) => m.includes(f));
    assert.deepEqual(hits, [], `require('kdlab') loaded ${f}: ${hits.slice(0, 3).join(', ')}`);
  }
  // Internals stay out of the notebooks' namespace.
  for (const internal of ['uncheckedLosses', 'killAllKernels', 'KdOptimizer', 'Optimizer', 'createTrainStep', 'workbookRoot', 'writeFileAtomic', 'gradeSubmission', 'runNotebook', 'HOMEWORK_PROBES']) {
    assert.ok(!out.names.includes(internal), `kdlab exports the internal ${internal}`);
  }
  for (const used of ['kdLoss', 'train', 'createStudent', 'startNotebook', 'saveFigure', 'show', 'runAll', 'runsFrame']) {
    assert.ok(out.names.includes(used), `kdlab no longer exports ${used}`);
  }
});

test("'kdlab/internals' and the CLI's help load no TensorFlow.js", { skip: fs.existsSync(BUILT_INDEX) ? false : 'lib/dist not built' }, () => {
  // `kdlab figures`, `reproduce`, `release`, `kernel` and `grade` only need the light entry:
  // starting them must not pay for tfjs (about 0.25 s); hw3's reference grid loads it when needed.
  const internals = path.join(ROOT, 'lib', 'internals.js');
  const cli = path.join(ROOT, 'tools', 'dist', 'cli.js');
  const script = `
    require(${JSON.stringify(internals)});
    for (const c of ['figures', 'reproduce', 'release', 'kernel', 'grade']) require(${JSON.stringify(path.dirname(cli))} + '/commands/' + c + '.js');
    process.stdout.write(JSON.stringify(Object.keys(require.cache).filter((k) => k.includes('@tensorflow'))));`;
  const loaded = JSON.parse(execFileSync(process.execPath, ['-e', script], { cwd: ROOT, encoding: 'utf8' })) as string[];
  assert.deepEqual(loaded, [], 'TensorFlow.js was loaded');
});

test('kdlab never imports the tools; the tools reach kdlab only by its package names', () => {
  for (const file of sourceFiles(path.join(ROOT, 'lib', 'src'))) {
    for (const spec of importsOf(file)) {
      assert.ok(!/(^|\/)tools(\/|$)|^kdlab-tools|^zeromq|^ajv|^playwright/.test(spec), `${path.relative(ROOT, file)} imports ${spec}`);
      assert.ok(spec !== 'kdlab' && !spec.startsWith('kdlab/'), `${path.relative(ROOT, file)} imports its own package by name (${spec})`);
    }
  }
  for (const file of sourceFiles(path.join(ROOT, 'tools', 'src'))) {
    for (const spec of importsOf(file)) {
      assert.ok(!spec.includes('lib/'), `${path.relative(ROOT, file)} imports ${spec}: use 'kdlab', 'kdlab/internals', 'kdlab/compute-internals' or 'kdlab/browser'`);
      if (spec.startsWith('kdlab')) assert.ok(['kdlab', 'kdlab/internals', 'kdlab/compute-internals', 'kdlab/browser'].includes(spec), `${path.relative(ROOT, file)} imports ${spec}`);
    }
  }
});

test('no import cycle between the modules of kdlab', () => {
  const dir = path.join(ROOT, 'lib', 'src');
  const files = sourceFiles(dir);
  const resolve = (from: string, spec: string): string | undefined => {
    if (!spec.startsWith('.')) return undefined;
    const base = path.resolve(path.dirname(from), spec);
    return [`${base}.ts`, path.join(base, 'index.ts')].find((f) => fs.existsSync(f));
  };
  const graph = new Map(files.map((f) => [f, importsOf(f).map((s) => resolve(f, s)).filter((x): x is string => x !== undefined)]));
  // The barrel files (index.ts) only re-export; a cycle through one is a cycle of its members.
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (f: string): void => {
    state.set(f, 'open');
    stack.push(f);
    for (const g of graph.get(f) ?? []) {
      if (state.get(g) === 'open') {
        const cycle = [...stack.slice(stack.indexOf(g)), g].map((x) => path.relative(dir, x));
        assert.fail(`import cycle: ${cycle.join(' -> ')}`);
      }
      if (!state.has(g)) visit(g);
    }
    stack.pop();
    state.set(f, 'done');
  };
  for (const f of files) if (!state.has(f)) visit(f);
});

test('every error thrown by the library and the tools is a KdlabError with a code', () => {
  const plain = new Set(['Error', 'TypeError', 'RangeError', 'SyntaxError']);
  const offenders: string[] = [];
  for (const file of [...sourceFiles(path.join(ROOT, 'lib', 'src')), ...sourceFiles(path.join(ROOT, 'tools', 'src'))]) {
    const sf = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
    const visit = (node: ts.Node): void => {
      if (ts.isThrowStatement(node) && node.expression && ts.isNewExpression(node.expression)) {
        const callee = node.expression.expression;
        if (ts.isIdentifier(callee) && plain.has(callee.text)) {
          const { line } = sf.getLineAndCharacterOfPosition(node.getStart());
          offenders.push(`${path.relative(ROOT, file)}:${line + 1}`);
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  assert.deepEqual(offenders, [], `plain errors thrown at ${offenders.join(', ')}`);
});
