import * as fs from 'node:fs';

/** Live child processes of this test process (any state, zombies included), read from /proc. */
export function childProcesses(): Array<{ pid: number; state: string; comm: string }> {
  const out: Array<{ pid: number; state: string; comm: string }> = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
    // Format: pid (comm) state ppid ...; comm may contain spaces or parens, so split at the last ')'.
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const [state, ppid] = stat.slice(close + 2).split(' ');
    if (Number(ppid) === process.pid) out.push({ pid: Number(entry), state, comm });
  }
  return out;
}

export function processExists(pid: number): boolean {
  return fs.existsSync(`/proc/${pid}`);
}
