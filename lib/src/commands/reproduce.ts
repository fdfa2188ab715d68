export async function run(_argv: string[]): Promise<number> {
  process.stderr.write('kdlab reproduce: not implemented yet\n');
  return 1;
}
