/**
 * "Implement it yourself" questions: the library the notebooks import (`kdlab`) has its own
 * softmax with temperature, distillation losses and run engine, because the chapter notebooks
 * use them. An assignment that asks for one of these says the library's version must not be
 * used; the grader checks the student's cells do not import it, and scores the question 0 with a
 * note if they do.
 *
 * This is a static check of the student's text, not a boundary, and the grader uses it only for
 * an early warning in the feedback: the boundary is the student edition of the library
 * (edition.ts), in which these functions throw "write this yourself" however they are reached
 * (a computed `require`, `require.cache`, an absolute path...). The lists here also say which
 * functions each assignment's edition stubs.
 */
/** Per graded question: library names its answer must not use. */
export const FORBIDDEN_LIBRARY_NAMES: Readonly<Record<string, readonly string[]>> = {
  'hw1-q1-tests': ['softmaxWithTemperature', 'logSoftmaxWithTemperature', 'softmaxT', 'logSoftmaxT'],
  'hw1-q2-tests': ['softmaxWithTemperature', 'softmaxT', 'WORKED_EXAMPLE_LOGITS'],
  'hw1-q3-tests': ['softmaxWithTemperature', 'softmaxT', 'entropy', 'entropyOf'],
  'hw2-q1-tests': ['distillationLoss', 'kdLoss', 'softTargetCrossEntropy', 'studentLoss', 'logSoftmaxWithTemperature', 'logSoftmaxT'],
  'hw3-q1-tests': ['runAll', 'executeRun', 'runsFrame'],
  'hw4-q1-tests': ['buildTransferSet', 'transferSetWithout', 'transferSetOnly', 'transferSetFraction'],
  'hw4-q2-tests': ['errorsWithShift', 'bestShift', 'biasShiftStudy', 'evaluateLogits'],
  'hw4-q3-tests': ['errorsWithShift', 'bestShift', 'biasShiftStudy', 'evaluateLogits'],
};

const KDLAB_SPECIFIER = String.raw`['"\x60]kdlab(?:/[^'"\x60]*)?['"\x60]`;

/**
 * What the student's code takes from the library: the names it imports by name, and whether it
 * reaches the library in a way that hides which names it uses (namespace import, require,
 * dynamic import, the tools' internal entry points, or a computed module name).
 */
export function libraryUse(code: string): { names: Set<string>; opaque: string[] } {
  const names = new Set<string>();
  const opaque: string[] = [];
  // Comments do not import anything (and must not hide a real import either: strip, then scan).
  const text = code.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/(^|[^:'"\x60])\/\/.*$/gm, '$1');
  const named = new RegExp(String.raw`import\s+(?:type\s+)?(?:[\w$]+\s*,\s*)?\{([^}]*)\}\s*from\s*${KDLAB_SPECIFIER}`, 'g');
  for (const m of text.matchAll(named)) {
    for (const part of m[1].split(',')) {
      const name = part.trim().replace(/^type\s+/, '').split(/\s+as\s+/)[0].trim();
      if (name) names.add(name);
    }
  }
  if (new RegExp(String.raw`import\s+\*\s+as\s+[\w$]+\s+from\s*${KDLAB_SPECIFIER}`).test(text)) opaque.push('imports the whole library (import * as …)');
  if (new RegExp(String.raw`import\s+[\w$]+\s+from\s*${KDLAB_SPECIFIER}`).test(text)) opaque.push('imports the library’s default export');
  if (new RegExp(String.raw`(?<![\w$.])(?:require|import)\s*\(\s*${KDLAB_SPECIFIER}`).test(text)) opaque.push('loads the library with require() or import()');
  if (/kdlab\/(?:internals|compute-internals|dist|src)/.test(text)) opaque.push("reaches into the library's internals");
  if (/(?<![\w$.])(?:require|import)\s*\(\s*(?!['"\x60][^'"\x60]*['"\x60]\s*\))/.test(text)) opaque.push('loads a module whose name is computed');
  return { names, opaque };
}

/** For each question with forbidden names, why the submission's cells break the rule ([] if they don't). */
export function forbiddenLibraryUse(studentCode: string, questions: Iterable<string>): Map<string, string[]> {
  const use = libraryUse(studentCode);
  const out = new Map<string, string[]>();
  for (const q of questions) {
    const forbidden = FORBIDDEN_LIBRARY_NAMES[q];
    if (!forbidden) continue;
    const why: string[] = [];
    const used = forbidden.filter((n) => use.names.has(n));
    if (used.length > 0) why.push(`the submission imports the library's ${used.join(', ')}, which this question asks you to write yourself`);
    if (use.opaque.length > 0) why.push(`the submission ${use.opaque.join('; ')}: this question forbids the library's ${forbidden.join(', ')}, so only named imports of other functions are allowed`);
    if (why.length > 0) out.set(q, why);
  }
  return out;
}
