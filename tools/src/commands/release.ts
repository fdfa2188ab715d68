/** `kdlab release homework/ --out build/release/`: write the student versions of the assignments. */
import * as path from 'node:path';
import { releaseHomework } from '../homework/release';
import { workbookDir, workbookRoot } from 'kdlab/internals';
import { ToolError } from '../errors';

const USAGE = 'usage: kdlab release [homework/] [--out build/release/]\n';

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
  }
  return 0;
}
