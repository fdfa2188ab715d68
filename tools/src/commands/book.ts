/**
 * `kdlab book`: rebuilds build/book/ (an offline HTML book of the executed notebooks, the released
 * assignments and the figures) from what is on disk, without running anything. Its last line is the
 * path of the book's index.html, which `npm start` ends with.
 */
import * as path from 'node:path';
import { workbookRoot } from 'kdlab/internals';
import { buildBook } from '../book/build';
import { commandFlags } from './flags';

const USAGE = `usage: kdlab book [--out DIR] [--notebooks DIR] [--results DIR] [--homework DIR | --no-homework]

Writes an offline HTML book from the executed notebooks (run \`npm start\` or \`kdlab reproduce\`
first): DIR/index.html, one page per notebook and per released assignment, DIR/figures/. Open
DIR/index.html in a browser, or serve DIR from any static server; nothing loads from the network.

  --out DIR        output folder (default build/book/)
  --notebooks DIR  executed notebooks (default build/notebooks/)
  --results DIR    results folder with the saved figure data (default build/results/)
  --homework DIR   assignment sources, released without solutions (default homework/)
  --no-homework    leave the assignments out
`;

function human(bytes: number): string {
  return bytes >= 1e6 ? `${(bytes / 1e6).toFixed(2)} MB` : `${(bytes / 1e3).toFixed(1)} kB`;
}

export async function run(argv: string[]): Promise<number> {
  const args = commandFlags('book', USAGE, {
    args: argv,
    options: {
      out: { type: 'string' },
      notebooks: { type: 'string' },
      results: { type: 'string' },
      homework: { type: 'string' },
      'no-homework': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    allowPositionals: false,
  });
  if (typeof args === 'number') return args;
  const result = await buildBook({
    outDir: args.out,
    notebooksDir: args.notebooks,
    resultsDir: args.results,
    homeworkDir: args['no-homework'] ? null : args.homework,
  });
  const rel = (p: string): string => path.relative(workbookRoot(), p) || '.';
  const lines = result.pages.map(
    (p) => `  ${p.file.padEnd(44)} ${p.kind.padEnd(8)} ${String(p.figures).padStart(2)} figure(s)${p.errorOutputs > 0 ? `, ${p.errorOutputs} error output(s)` : ''}`,
  );
  process.stdout.write(
    `kdlab book: ${result.pages.length} page(s) and ${result.figurePages.length} figure page(s) -> ${rel(result.outDir)}/ ` +
      `(${human(result.bytes)}; one plotly.js ${result.plotly.version}, ${human(result.plotly.bytes)}, in figures/)\n\n` +
      `${lines.join('\n')}\n\n`,
  );
  if (result.playground) {
    process.stdout.write(`  ${'playground.html'.padEnd(44)} ${human(result.playground.bytes)} with its models and data (npx kdlab playground re-exports them)\n\n`);
  }
  const failed = result.pages.filter((p) => p.errorOutputs > 0);
  if (failed.length > 0) process.stdout.write(`note: ${failed.map((p) => p.file).join(', ')} show error outputs\n\n`);
  process.stdout.write(`${result.index}\n`);
  return 0;
}
