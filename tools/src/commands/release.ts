/** `kdlab release homework/ --out build/release/`: write the student versions of the assignments. */
import * as path from 'node:path';
import { releaseHomework } from '../homework/release';
import { gradeCells } from '../homework/markers';
import { stubbedNames, writeStudentEdition } from '../homework/edition';
import { readNotebook } from '../runner/nbformat';
import { workbookDir, workbookRoot } from 'kdlab/internals';
import { ToolError } from '../errors';

const USAGE =
  'usage: kdlab release [homework/] [--out build/release/]\n' +
  '  writes the student notebooks and, in <out>/kdlab-student/<assignment>/, the student edition of the\n' +
  '  library for each (the functions the assignment asks for throw "write this yourself"); the grader\n' +
  '  mounts the same edition as the kernel\'s kdlab.\n';

export async function run(argv: string[]): Promise<number> {
  let source: string | undefined;
  let out: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') {
      process.stdout.write(USAGE);
      return 0;
    }
    if (a === '--out' || a === '-o') {
      out = argv[++i];
      if (!out) throw new ToolError('BAD_ARGS', `--out needs a folder.\n${USAGE}`);
    } else if (a.startsWith('--out=')) {
      out = a.slice('--out='.length);
    } else if (a.startsWith('-')) {
      throw new ToolError('BAD_ARGS', `unknown option ${a}.\n${USAGE}`);
    } else if (!source) {
      source = a;
    } else {
      throw new ToolError('BAD_ARGS', `one homework folder only (got ${source} and ${a}).\n${USAGE}`);
    }
  }
  source ??= path.join(workbookRoot(), 'homework');
  out ??= workbookDir('release');
  const released = releaseHomework(source, out);
  for (const r of released) {
    process.stdout.write(
      `${path.relative(process.cwd(), r.output) || r.output}: ${r.solutionRegions} solution region(s) stubbed, ${r.hiddenRegions} hidden test region(s) removed\n`,
    );
    const assignment = path.basename(r.source, '.ipynb');
    const names = stubbedNames(gradeCells(readNotebook(r.source)).map((g) => g.meta.grade_id));
    const edition = writeStudentEdition(path.join(out, 'kdlab-student', assignment), names);
    process.stdout.write(
      `${path.relative(process.cwd(), edition.dir) || edition.dir}/: kdlab without ${names.length ? names.join(', ') : 'nothing'} (mount or link it as node_modules/kdlab)\n`,
    );
  }
  return 0;
}
