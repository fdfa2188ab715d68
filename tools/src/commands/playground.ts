/**
 * `kdlab playground`: the distilled student in the browser. Trains (or loads) the chapter's teacher
 * and the students the page carries, exports every model as a TensorFlow.js layers model in
 * float32 / float16 / uint8 with its test accuracy (build/playground/), prints the size / accuracy
 * table, and writes build/book/playground.html. `kdlab book` rewrites the page from build/playground/
 * whenever it rebuilds the book.
 */
import * as path from 'node:path';
import { workbookDir, workbookRoot } from 'kdlab/internals';
import { writePlaygroundPage } from '../playground/page';
import { formatTable, playgroundDir, preparePlayground } from '../playground/prepare';
import { commandFlags } from './flags';

const USAGE = `usage: kdlab playground [--mode quick|full] [--seed N] [--out DIR]

Trains (or loads from build/models/) the chapter's teacher and three students (2×800 distilled,
2×800 from scratch, 2×30 distilled), exports each as a TensorFlow.js layers model stored as
float32, float16 and uint8 (build/playground/models/), scores every stored variant on the full
test set, and writes DIR/playground.html (default build/book/), which works from disk.

  --mode M   chapter settings (default quick)
  --seed N   seed of the chapter settings (default 0)
  --out DIR  where the page goes (default build/book/)
  --force    export and score the models again even when build/playground/ is up to date
`;

function human(bytes: number): string {
  return bytes >= 1e6 ? `${(bytes / 1e6).toFixed(2)} MB` : `${(bytes / 1e3).toFixed(1)} kB`;
}

export async function run(argv: string[]): Promise<number> {
  const args = commandFlags('playground', USAGE, {
    args: argv,
    options: {
      mode: { type: 'string', default: 'quick' },
      seed: { type: 'string', default: '0' },
      out: { type: 'string' },
      force: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    allowPositionals: false,
  });
  if (typeof args === 'number') return args;
  const seed = Number(args.seed);
  if (!Number.isSafeInteger(seed) || seed < 0) {
    process.stderr.write(`kdlab playground: --seed must be a non-negative integer, got ${args.seed}\n`);
    return 2;
  }
  const rel = (p: string): string => path.relative(workbookRoot(), p) || '.';
  const started = Date.now();
  const manifest = await preparePlayground({ mode: args.mode, seed, force: args.force });
  const outDir = args.out ? path.resolve(workbookRoot(), args.out) : workbookDir('book');
  const page = await writePlaygroundPage(outDir, manifest);
  process.stdout.write(
    `\nStored variants (${rel(playgroundDir('models'))}/), test accuracy on the full test set:\n\n${formatTable(manifest)}\n` +
      `page: ${human(page.bytes)} in its own files (${page.files.map((f) => `${f.file} ${human(f.bytes)}`).join(', ')}), ` +
      `plus the book's figures/plotly.min.js (${human(page.plotlyBytes)}); bundled from ${page.librarySources.length} library sources` +
      ` (${((Date.now() - started) / 1000).toFixed(1)} s)\n${page.file}\n`,
  );
  return 0;
}
