import * as fs from 'node:fs';
import * as path from 'node:path';
import { exportFigures, missingFigures } from '../figure-export';
import { FIGURE_IDS, FIGURE_INFO, figureDataDir, isFigureId, workbookRoot } from 'kdlab/internals';

const USAGE = `usage: kdlab figures [--png] [--out DIR] [--only id,id] [--results DIR] [--scale N] [--chromium PATH]

Redraws every figure from the data the notebooks saved in build/results/figures/*.json (nothing is
retrained) and writes DIR/<id>.html (offline; every page loads the one DIR/plotly.min.js), DIR/index.html (gallery) and, with
--png, DIR/<id>.png through headless Chromium ($CHROMIUM_PATH or /usr/bin/chromium).

  --png            also write PNGs (skipped with a notice when no Chromium is installed)
  --out DIR        output folder (default figures/)
  --only ids       comma-separated figure ids
  --results DIR    results folder holding figures/*.json (default build/results)
  --scale N        PNG pixels per layout pixel (default 2)
  --chromium PATH  Chromium binary to use

figure ids: ${FIGURE_IDS.join(', ')}
`;

interface Args {
  png: boolean;
  out?: string;
  only?: string[];
  results?: string;
  scale?: number;
  chromium?: string;
  help: boolean;
}

function parseArgs(argv: string[]): Args | string {
  const args: Args = { png: false, help: false };
  for (let i = 0; i < argv.length; i++) {
    const raw = argv[i];
    const eq = raw.indexOf('=');
    const flag = raw.startsWith('--') && eq > 0 ? raw.slice(0, eq) : raw;
    const inline = raw.startsWith('--') && eq > 0 ? raw.slice(eq + 1) : undefined;
    const value = (): string | undefined => inline ?? argv[++i];
    switch (flag) {
      case '--png':
        args.png = true;
        break;
      case '-h':
      case '--help':
        args.help = true;
        break;
      case '--out':
      case '--results':
      case '--chromium':
      case '--only':
      case '--scale': {
        const v = value();
        if (v === undefined || v === '') return `${flag} needs a value`;
        if (flag === '--out') args.out = v;
        else if (flag === '--results') args.results = v;
        else if (flag === '--chromium') args.chromium = v;
        else if (flag === '--only') args.only = v.split(',').map((s) => s.trim()).filter(Boolean);
        else {
          const n = Number(v);
          if (!Number.isFinite(n) || n <= 0 || n > 8) return `--scale must be a number in (0, 8], got "${v}"`;
          args.scale = n;
        }
        break;
      }
      default:
        return `unknown option "${raw}"`;
    }
  }
  return args;
}

function human(bytes: number): string {
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(2)} MB`;
  if (bytes >= 1e3) return `${(bytes / 1e3).toFixed(1)} kB`;
  return `${bytes} B`;
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c])).join('  ').trimEnd()).join('\n');
}

/** Paths shown relative to the workbook root: the summary ends up in notes and logs. */
function rel(p: string): string {
  const r = path.relative(workbookRoot(), p);
  return r.startsWith('..') ? p : r || '.';
}

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  if (typeof args === 'string') {
    process.stderr.write(`kdlab figures: ${args}\n\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const unknown = (args.only ?? []).filter((id) => !isFigureId(id));
  if (unknown.length > 0) {
    process.stderr.write(`kdlab figures: unknown figure id(s): ${unknown.join(', ')}\nknown: ${FIGURE_IDS.join(', ')}\n`);
    return 2;
  }
  const dataDir = figureDataDir(args.results);
  const saved = fs.existsSync(dataDir) ? fs.readdirSync(dataDir).filter((f) => f.endsWith('.json')) : [];
  if (saved.length === 0) {
    process.stdout.write(`no saved figure data in ${rel(dataDir)}: run \`npm start\` first\n`);
    return 0;
  }

  let invalid = 0;
  const result = await exportFigures({
    outDir: args.out,
    png: args.png,
    chromiumPath: args.chromium,
    scale: args.scale,
    only: args.only,
    resultsDir: args.results,
    onInvalid: (file, error) => {
      invalid += 1;
      process.stderr.write(`kdlab figures: skipped ${rel(file)}: ${error.message}\n`);
    },
  });

  if (result.figures.length === 0) {
    const wanted: readonly string[] = args.only ?? FIGURE_IDS;
    const notebooks = [...new Set(wanted.filter(isFigureId).map((id) => FIGURE_INFO[id].notebook))];
    process.stdout.write(
      `no saved figure data in ${rel(dataDir)} for ${args.only ? args.only.join(', ') : 'any figure'}: ` +
        `run \`npm start\` first (or the notebook(s) ${notebooks.join(', ')})\n`,
    );
    return invalid > 0 ? 1 : 0;
  }

  const rows = [['id', 'section', 'files (<id>...)', 'size']];
  let total = 0;
  for (const f of result.figures) {
    const files = ['.html'];
    const sizes = [human(f.html.bytes)];
    total += f.html.bytes;
    if (f.png) {
      files.push(`.png ${f.png.width}x${f.png.height}`);
      sizes.push(human(f.png.bytes));
      total += f.png.bytes;
    }
    rows.push([f.id, f.section === null ? '—' : `§${f.section}`, files.join(' + '), sizes.join(' + ')]);
  }
  rows.push(['(gallery)', '', path.basename(result.index.file), human(result.index.bytes)]);
  rows.push(['(plotly.js)', '', path.basename(result.plotly.file), human(result.plotly.bytes)]);
  total += result.index.bytes + result.plotly.bytes;
  process.stdout.write(
    `kdlab figures: ${result.figures.length} figure(s) from ${rel(dataDir)} -> ${rel(result.outDir)}/ ` +
      `(pages share ${path.basename(result.plotly.file)}, plotly.js ${result.plotly.version}, ${human(result.plotly.bytes)})\n\n` +
      `${table(rows)}\n\ntotal ${human(total)}\n`,
  );
  if (result.pngSkipped) process.stdout.write(`\nnotice: ${result.pngSkipped}\n`);
  for (const e of result.browserErrors) process.stderr.write(`kdlab figures: browser: ${e}\n`);
  if (!args.only) {
    const missing = missingFigures(result.figures.map((f) => f.id));
    if (missing.length > 0) {
      process.stdout.write(
        `\nnot saved yet (run the notebook to produce them):\n` +
          missing.map((m) => `  ${m.id}  <- notebooks/${m.notebook}.ipynb`).join('\n') +
          '\n',
      );
    }
  }
  return invalid > 0 || result.browserErrors.length > 0 ? 1 : 0;
}
