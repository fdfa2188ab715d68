/**
 * The student edition of the library: the built `kdlab` (lib/dist) with the functions an
 * assignment asks students to write replaced by stubs that throw "write this yourself", and no
 * source maps. Graded kernels mount it as their `kdlab` (sandbox.ts binds it over
 * /opt/kdlab/lib/dist), so the answers are not in the kernel's file system at all: not behind a
 * computed `require`, not in `require.cache`, not by absolute path, not as text to `eval`. The
 * chapter notebooks keep the full library; `kdlab release` writes the editions next to the
 * released notebooks for courses that hand students a prepared environment.
 *
 * How: the compiled CommonJS that tsc emits declares each exported function at the top level as
 * `function name(…) {` … a closing `}` in column 0, then `exports.name = name;`. The declaration,
 * body included, is replaced; every other line of the module is kept, so the module's other
 * exports (and the library's internal callers of a stubbed function, which then throw too) load
 * as before. The edition is checked after it is written: no stubbed body is left (the original
 * body text must be gone), and a function the edition was asked to stub but could not find is an
 * error rather than a silent pass.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { workbookRoot } from 'kdlab/internals';
import { ToolError } from '../errors';
import { FORBIDDEN_LIBRARY_NAMES } from './imports';

/**
 * Names the grader keeps in the edition although a question's import rule lists them, because the
 * assignment's own locked cells need them: hw4's setup calls `evaluate()`, which counts errors with
 * `evaluateLogits` (plain accuracy, not the bias-shifted count the question asks for).
 */
export const KEPT_FOR_LOCKED_CELLS: readonly string[] = [
  'evaluateLogits',
  // Data, not a function: the chapter's logits [2, 1, 0.5], printed in the assignment itself (hw1
  // Q2 is graded on logits drawn at grading time).
  'WORKED_EXAMPLE_LOGITS',
];

/** Further library functions that would answer a question, stubbed beside the import rule's names. */
const ALSO_STUBBED: Readonly<Record<string, readonly string[]>> = {
  // The library's own §4.1 worked example (not exported by name, but reachable by path).
  'hw1-q2-tests': ['workedExample'],
};

/** The library functions an edition for these grade cells stubs (sorted, unique). */
export function stubbedNames(gradeIds: Iterable<string>): string[] {
  const names = new Set<string>();
  for (const id of gradeIds) {
    for (const n of [...(FORBIDDEN_LIBRARY_NAMES[id] ?? []), ...(ALSO_STUBBED[id] ?? [])]) {
      if (!KEPT_FOR_LOCKED_CELLS.includes(n)) names.add(n);
    }
  }
  return [...names].sort();
}

/** The message a stub throws: what happened and what to do. */
export function stubMessage(name: string): string {
  return `${name} is one of the functions this assignment asks you to write: the graded kernel's kdlab has no implementation of it. Write it yourself in your notebook (and do not import it from kdlab).`;
}

function stubFor(name: string, isAsync: boolean): string {
  return `${isAsync ? 'async ' : ''}function ${name}() { const e = new Error(${JSON.stringify(stubMessage(name))}); e.name = 'WriteThisYourselfError'; throw e; }`;
}

/**
 * Replaces the top-level declaration of each of `names` found in one module's compiled text.
 * Returns the new text and the names it replaced.
 */
export function stubModule(text: string, names: ReadonlySet<string>): { text: string; stubbed: string[] } {
  const lines = text.split('\n');
  const out: string[] = [];
  const stubbed: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^(async )?function\*? ?([A-Za-z_$][\w$]*)\s*\(/.exec(lines[i]);
    if (!m || !names.has(m[2])) {
      out.push(lines[i]);
      continue;
    }
    // The body ends at the first line that is exactly "}" (tsc indents everything inside).
    let j = i;
    if (!/\}\s*$/.test(lines[i]) || /\{\s*$/.test(lines[i])) {
      for (j = i + 1; j < lines.length && lines[j] !== '}'; j++);
      if (j >= lines.length) throw new ToolError('HOMEWORK_EDITION', `could not find the end of function ${m[2]} in the compiled library; rebuild it (npm run build).`);
    }
    out.push(stubFor(m[2], m[1] !== undefined));
    stubbed.push(m[2]);
    i = j;
  }
  return { text: out.join('\n').replace(/^\/\/# sourceMappingURL=.*$/gm, ''), stubbed };
}

export interface StudentEdition {
  /** The package folder: package.json and dist/. */
  dir: string;
  dist: string;
  stubbed: string[];
}

/** Where `name` is implemented: the compiled modules that declare it at the top level. */
function declares(text: string, name: string): boolean {
  return new RegExp(`^(?:async )?function\\*? ?${name.replace(/\$/g, '\\$')}\\s*\\(`, 'm').test(text);
}

/**
 * Writes the student edition of the built library (`distDir`, default lib/dist) to `outDir`
 * (a package folder with package.json and dist/), with `names` stubbed. Files are world-readable
 * (the sandboxed kernel runs as another uid); source maps are left out.
 */
export function writeStudentEdition(outDir: string, names: readonly string[], distDir = path.join(workbookRoot(), 'lib', 'dist')): StudentEdition {
  if (!fs.existsSync(path.join(distDir, 'index.js'))) {
    throw new ToolError('HOMEWORK_EDITION', `the built library is missing (${distDir}/index.js); run npm run build first.`);
  }
  const wanted = new Set(names);
  const found = new Set<string>();
  const dist = path.join(outDir, 'dist');
  fs.rmSync(outDir, { recursive: true, force: true });
  fs.mkdirSync(dist, { recursive: true, mode: 0o755 });
  const copy = (from: string, to: string): void => {
    for (const e of fs.readdirSync(from, { withFileTypes: true })) {
      const src = path.join(from, e.name);
      const dst = path.join(to, e.name);
      if (e.isDirectory()) {
        fs.mkdirSync(dst, { mode: 0o755 });
        copy(src, dst);
      } else if (e.isFile() && !e.name.endsWith('.map') && !e.name.endsWith('.tsbuildinfo')) {
        if (e.name.endsWith('.js')) {
          const { text, stubbed } = stubModule(fs.readFileSync(src, 'utf8'), wanted);
          for (const n of stubbed) found.add(n);
          fs.writeFileSync(dst, text, { mode: 0o644 });
        } else {
          fs.copyFileSync(src, dst);
          fs.chmodSync(dst, 0o644);
        }
      }
    }
  };
  copy(distDir, dist);
  const missing = names.filter((n) => !found.has(n));
  if (missing.length > 0) {
    throw new ToolError('HOMEWORK_EDITION', `the student edition could not stub ${missing.join(', ')}: no top-level function of that name in ${distDir}. Update the lists in tools/src/homework/imports.ts or edition.ts.`);
  }
  // Check: no module of the edition still declares a stubbed function with its real body.
  const check = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) check(p);
      else if (e.name.endsWith('.js')) {
        const text = fs.readFileSync(p, 'utf8');
        for (const n of names) {
          if (declares(text, n) && !text.includes(stubFor(n, false)) && !text.includes(stubFor(n, true))) {
            throw new ToolError('HOMEWORK_EDITION', `${p} still holds the body of ${n}.`);
          }
        }
      }
    }
  };
  check(dist);
  const pkg = JSON.parse(fs.readFileSync(path.join(path.dirname(distDir), 'package.json'), 'utf8')) as Record<string, unknown>;
  pkg.description = `Student edition of kdlab: ${names.length ? `${names.join(', ')} throw "write this yourself"` : 'nothing removed'}.`;
  fs.writeFileSync(path.join(outDir, 'package.json'), JSON.stringify(pkg, null, 2) + '\n', { mode: 0o644 });
  fs.chmodSync(outDir, 0o755);
  return { dir: outDir, dist, stubbed: [...names].sort() };
}

/**
 * Loaded with `--require` by graded kernels (from the edition, at /opt/kdlab/lib/dist): tslab
 * calls `send()` on its ZeroMQ sockets without waiting for the previous one, and zeromq 6 throws
 * EBUSY on a send while another is in flight, which tslab does not catch: a cell that printed a
 * few hundred lines (a student's debug output) killed the kernel (exit code 7) and scored 0. The
 * preload queues each socket's sends instead, and lifts the publisher's send high-water mark
 * (a queued send at the mark would wait forever). It runs in the student's process, which the
 * student controls anyway: it is a fix for honest kernels, not a defence.
 */
export const KERNEL_PRELOAD = 'kdlab-kernel-preload.js';
const KERNEL_PRELOAD_SOURCE = `'use strict';
try {
  const zmq = require(require('path').join(__dirname, '..', '..', 'node_modules', 'zeromq'));
  const send = zmq.Socket.prototype.send;
  const queues = new WeakMap();
  const queued = function (message) {
    const previous = queues.get(this) || Promise.resolve();
    const next = previous.then(() => send.call(this, message)).catch(() => undefined);
    queues.set(this, next);
    return next;
  };
  // Socket.prototype.send is read-only: shadow it on each socket class tslab uses.
  for (const name of ['Publisher', 'Router', 'Reply', 'Dealer']) {
    Object.defineProperty(zmq[name].prototype, 'send', { value: queued, writable: true, configurable: true });
  }
  // A queued send to a publisher at its high-water mark would wait for a writability that a PUB
  // socket never signals, and every later message (the cell's idle status too) with it: no limit
  // on the kernel's side (its memory is its own, under RLIMIT_DATA; the grader counts what it
  // receives and stops a kernel past 10,000 messages or 64 MiB per cell).
  const Publisher = zmq.Publisher;
  zmq.Publisher = class extends Publisher {
    constructor(options) {
      super(Object.assign({ sendHighWaterMark: 0 }, options || {}));
    }
  };
} catch (e) {
  process.stderr.write('kdlab kernel preload: ' + (e && e.message) + '\\n');
}
`;

const editions = new Map<string, StudentEdition>();

/** The edition for one assignment's grade cells inside a grade run's folder, written once per run. */
export function editionForRun(runDir: string, assignment: string, gradeIds: readonly string[]): StudentEdition {
  const key = `${runDir}\0${assignment}`;
  let e = editions.get(key);
  if (!e || !fs.existsSync(path.join(e.dist, 'index.js'))) {
    e = writeStudentEdition(path.join(runDir, `kdlab-${assignment.replace(/[^A-Za-z0-9._-]/g, '_')}`), stubbedNames(gradeIds));
    fs.writeFileSync(path.join(e.dist, KERNEL_PRELOAD), KERNEL_PRELOAD_SOURCE, { mode: 0o644 });
    editions.set(key, e);
  }
  return e;
}
