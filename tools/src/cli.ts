#!/usr/bin/env node
/**
 * `kdlab <command>`: each command lives in its own module under ./commands and is loaded only
 * when asked for, so `kdlab doctor` does not pay for Plotly or the notebook runner.
 */
import { KdlabError } from 'kdlab/internals';

type Command = { summary: string; load: () => Promise<{ run(argv: string[]): Promise<number> }> };

const COMMANDS: Record<string, Command> = {
  doctor: { summary: 'check Node, the compute backend, the data and the Jupyter kernel', load: () => import('./commands/doctor') },
  kernel: { summary: 'kernel install [--user|--prefix P] | kernel uninstall: register the tslab kernel with Jupyter', load: () => import('./commands/kernel') },
  bench: { summary: 'bench [train|matmul|teacher]: print throughput on every compute path (train --model mlp|conv-student|conv-teacher)', load: () => import('./commands/bench') },
  reproduce: { summary: 'execute the chapter notebooks headless through the tslab kernel', load: () => import('./commands/reproduce') },
  grid: { summary: 'grid <grid.json> [--workers N] [--bench]: run a resumable list (or grid) of run specs', load: () => import('./commands/grid') },
  release: { summary: 'release homework/ --out build/release/: student versions of the assignments', load: () => import('./commands/release') },
  grade: { summary: 'grade <submission.ipynb>... [--source homework/] [--out DIR]: autograde in fresh kernels', load: () => import('./commands/grade') },
  figures: { summary: 'export every figure as offline HTML (and PNG with --png)', load: () => import('./commands/figures') },
  playground: { summary: 'playground [--mode quick]: export the students (float32/float16/uint8) and write build/book/playground.html', load: () => import('./commands/playground') },
  reference: { summary: 'reference record [--no-png]: copy a full-mode run (results, figures, runs, teacher weights, provenance) into reference/full/', load: () => import('./commands/reference') },
  'verify-reference': {
    summary: 'verify-reference [--sample N] [--run KEY ...] [--seed S] [--max-minutes M]: retrain reference runs, check every digit',
    load: () => import('./commands/reference').then((m) => ({ run: m.runVerify })),
  },
  book: { summary: 'book [--out DIR]: the executed notebooks as an offline HTML book (build/book/index.html)', load: () => import('./commands/book') },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `usage: kdlab <command> [options]\n\ncommands:\n${lines.join('\n')}\n`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`kdlab: unknown command "${name}".\n\n${usage()}`);
    return 2;
  }
  return (await command.load()).run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof KdlabError) {
      process.stderr.write(`kdlab: ${err.message}\n`);
    } else {
      process.stderr.write(`kdlab: unexpected error: ${(err as Error)?.stack ?? String(err)}\n`);
    }
    process.exitCode = 1;
  },
);
