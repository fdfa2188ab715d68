import { parseArgs, type ParseArgsConfig } from 'node:util';

/**
 * A command's flags, parsed strictly: the values, or the exit code after printing the usage (0 for
 * --help; 2 with the parse error first, on stderr). Commands return a number straight away.
 */
export function commandFlags<T extends ParseArgsConfig>(command: string, usage: string, config: T): ReturnType<typeof parseArgs<T>>['values'] | number {
  let values: ReturnType<typeof parseArgs<T>>['values'];
  try {
    values = parseArgs(config).values;
  } catch (err) {
    process.stderr.write(`kdlab ${command}: ${(err as Error).message}\n\n${usage}`);
    return 2;
  }
  if ((values as { help?: unknown }).help) {
    process.stdout.write(usage);
    return 0;
  }
  return values;
}
