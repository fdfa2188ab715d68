export async function run(_argv: string[]): Promise<number> {
  process.stderr.write('kdlab bench: not implemented yet\n');
  return 1;
}
