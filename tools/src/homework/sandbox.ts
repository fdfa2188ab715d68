/**
 * The grader's isolation boundary: each kernel runs under bubblewrap, in its own user, PID, mount,
 * network, IPC and UTS namespaces, as another uid, with a read-only view of exactly what tslab and
 * the library need and nothing of the workbook around them.
 *
 * Why bubblewrap: it is Debian's packaged, audited sandbox (Flatpak's), one static binary with no
 * daemon and no configuration files; nsjail is not packaged for Debian 12 and hand-written
 * unshare()/mount code in the grader would be ours to get right. Node's permission model stays
 * inside as a second layer (sandboxNodeOptions in grade.ts) but is no longer the boundary.
 *
 * What the kernel sees (every path the same inside as listed here):
 *   /usr (ro), /lib, /lib64, /bin as symlinks into it, a fresh /proc (its own PID namespace: the
 *   grader and other kernels are invisible), a minimal /dev, a size-capped tmpfs /tmp,
 *   /opt/kdlab/node_modules, /opt/kdlab/lib/{dist,package.json}, /opt/kdlab/package.json,
 *   /opt/kdlab/data/checksums.json (read-only binds of the workbook's files), a size-capped tmpfs
 *   /opt/kdlab/work (its cwd and HOME), and its own connection folder (below).
 * A bind mount does not expose its source's parent: `node_modules/kdlab` is the workspace link
 * `../lib`, which inside resolves to /opt/kdlab/lib, where only dist/ and package.json exist;
 * `node_modules/kdlab-tools` (`../tools`) resolves to nothing. homework/, tools/, build/ and the
 * grader's temp files are not in the kernel's mount namespace at all.
 *
 * Transport: the network namespace is unshared, so the kernel has no network, not even the host's
 * loopback. It talks to the grader over ZeroMQ's ipc transport: socket files in a per-kernel
 * folder bound read-write at the same path inside (owned by the kernel's uid, mode 0700, under a
 * root-only parent). Sharing the host network instead would have let the kernel reach loopback
 * services (other kernels, anything else listening) and the outside world.
 *
 * Users: run as root (as CI does), bwrap mounts as root (the workbook may live below a folder
 * only root can enter) and, inside, setpriv drops to uid/gid 65534 with no capabilities left (an
 * empty bounding set): the kernel is `nobody` on the host too and cannot signal the grader even
 * if it could name it. As a normal user bwrap builds an unprivileged user namespace and the
 * kernel is that user inside its own namespaces.
 *
 * Limits (prlimit inside the sandbox; cgroups are read-only in our containers and need
 * delegation elsewhere): RLIMIT_DATA (heap and wasm memory: V8's reservations are PROT_NONE
 * and do not count, so the wasm backend still starts; RLIMIT_AS would break it), RLIMIT_CPU,
 * RLIMIT_NPROC (per uid: with --jobs N all kernels share uid 65534), RLIMIT_CORE 0, tmpfs sizes.
 * Wall time is the grader's (per-cell timeouts and a budget per submission).
 *
 * Death: --die-with-parent ties the sandbox to the grader; killing the kernel's process group
 * (bwrap, its init and the kernel) is what KernelClient does on timeouts and shutdown.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { workbookRoot } from 'kdlab/internals';
import type { KernelLaunch } from '../runner/kernel';
import { ToolError } from '../errors';

export const BWRAP = '/usr/bin/bwrap';
const SETPRIV = '/usr/bin/setpriv';
const PRLIMIT = '/usr/bin/prlimit';
/** Where the workbook's runtime files appear inside the sandbox. */
export const SANDBOX_ROOT = '/opt/kdlab';
export const SANDBOX_HOME = `${SANDBOX_ROOT}/work`;
const NOBODY = 65534;
/** The node binary the kernel runs: the grader's own. */
const NODE = process.execPath;

export interface SandboxLimits {
  /** RLIMIT_DATA of the kernel, bytes. Default 3 GiB. */
  memoryBytes: number;
  /** RLIMIT_CPU of the kernel, seconds. */
  cpuSeconds: number;
  /** RLIMIT_NPROC (tasks of the kernel's uid, threads included). Default 512. */
  processes: number;
  /** Size of each tmpfs (/tmp and the work folder), bytes. Default 256 MiB. */
  tmpfsBytes: number;
}

export const DEFAULT_LIMITS: SandboxLimits = {
  memoryBytes: 3 * 1024 ** 3,
  cpuSeconds: 900,
  processes: 512,
  tmpfsBytes: 256 * 1024 ** 2,
};

const isRoot = (): boolean => typeof process.getuid === 'function' && process.getuid() === 0;

/**
 * Read-only binds: [path on the host, path inside]. `library` is the package folder mounted as
 * the kernel's `kdlab` (package.json + dist/): the workbook's lib/ by default, the assignment's
 * student edition (edition.ts) when grading.
 */
export function runtimeBinds(root = workbookRoot(), library = path.join(root, 'lib')): Array<[string, string]> {
  const binds: Array<[string, string]> = [
    [path.join(root, 'node_modules'), `${SANDBOX_ROOT}/node_modules`],
    [path.join(library, 'dist'), `${SANDBOX_ROOT}/lib/dist`],
    [path.join(library, 'package.json'), `${SANDBOX_ROOT}/lib/package.json`],
    [path.join(root, 'package.json'), `${SANDBOX_ROOT}/package.json`],
  ];
  const checksums = path.join(root, 'data', 'checksums.json');
  if (fs.existsSync(checksums)) binds.push([checksums, `${SANDBOX_ROOT}/data/checksums.json`]);
  if (process.env.KDLAB_DATA_DIR) binds.push([path.resolve(process.env.KDLAB_DATA_DIR), `${SANDBOX_ROOT}/mnist`]);
  return binds;
}

/** The command line that runs `argv` (a path inside the sandbox first) in a fresh sandbox. */
export function sandboxCommand(
  argv: readonly string[],
  opts: { env: Record<string, string>; rwDirs?: readonly string[]; limits?: Partial<SandboxLimits>; library?: string; uid?: number },
  bwrap = BWRAP,
): { command: string; args: string[] } {
  const limits = { ...DEFAULT_LIMITS, ...opts.limits };
  const root = isRoot();
  const uid = opts.uid ?? NOBODY;
  // As root, bwrap itself mounts (so the workbook may sit below a folder only root can enter,
  // like /root) and setpriv inside drops to uid 65534 with every capability gone. As a normal
  // user, bwrap builds an unprivileged user namespace and the kernel is that user inside.
  const user = root
    ? ['--cap-add', 'CAP_SETUID', '--cap-add', 'CAP_SETGID']
    : ['--unshare-user', '--uid', String(NOBODY), '--gid', String(NOBODY)];
  const binds: Array<[string, string, 'ro' | 'rw']> = runtimeBinds(workbookRoot(), opts.library).map(([h, i]) => [h, i, 'ro']);
  // Node from elsewhere than /usr (nvm, a tarball): its installation, read-only, at the same path.
  if (!NODE.startsWith('/usr/')) binds.push([path.dirname(path.dirname(NODE)), path.dirname(path.dirname(NODE)), 'ro']);
  for (const d of opts.rwDirs ?? []) binds.push([d, d, 'rw']);
  // Folders bwrap creates on the way to a mount point are root-only (0700) when bwrap runs as
  // root: make them traversable first, or uid 65534 could not reach its own files.
  const parents = new Set<string>();
  for (const [, inside] of binds) {
    for (let dir = path.dirname(inside); dir !== '/' && dir !== '/tmp' && dir !== SANDBOX_HOME; dir = path.dirname(dir)) parents.add(dir);
  }
  parents.add(SANDBOX_ROOT);
  const tmpfsPerms = root ? ['--perms', '01777'] : [];
  const bw: string[] = [
    '--unshare-pid', '--unshare-net', '--unshare-ipc', '--unshare-uts', '--unshare-cgroup-try',
    ...user, '--hostname', 'kdlab-grade',
    '--die-with-parent',
    '--ro-bind', '/usr', '/usr',
    '--symlink', 'usr/lib', '/lib', '--symlink', 'usr/lib64', '/lib64', '--symlink', 'usr/bin', '/bin',
    '--proc', '/proc', '--dev', '/dev',
    ...tmpfsPerms, '--size', String(limits.tmpfsBytes), '--tmpfs', '/tmp',
  ];
  for (const dir of [...parents].sort((a, b) => a.length - b.length)) bw.push('--perms', '0755', '--dir', dir);
  for (const [host, inside, mode] of binds) bw.push(mode === 'ro' ? '--ro-bind' : '--bind', host, inside);
  bw.push(...tmpfsPerms, '--size', String(limits.tmpfsBytes), '--tmpfs', SANDBOX_HOME);
  bw.push('--chdir', SANDBOX_HOME, '--clearenv');
  for (const [k, v] of Object.entries(opts.env)) bw.push('--setenv', k, v);
  const dropToNobody = root
    ? [SETPRIV, `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', '--']
    : [];
  bw.push(
    '--', ...dropToNobody, PRLIMIT,
    `--data=${limits.memoryBytes}`, `--cpu=${limits.cpuSeconds}`, `--nproc=${limits.processes}`, '--core=0',
    '--', ...argv,
  );
  const wrapped = [bwrap, ...bw];
  // SIGINT interrupts a cell: it must reach tslab (which handles it) but not kill bwrap, whose
  // death would take the kernel with it. An ignored disposition survives exec into setpriv and
  // bwrap; Node resets its own signals at start-up and tslab installs its handler.
  return { command: '/bin/sh', args: ['-c', 'trap "" INT; exec "$@"', 'kdlab-sandbox', ...wrapped] };
}

let availability: { ok: true } | { ok: false; reason: string } | undefined;

/**
 * Whether a sandboxed kernel can start here: bwrap present, namespaces allowed, and the runtime
 * files readable by the kernel's user. Checked once per process by running node in a sandbox.
 */
export function sandboxAvailability(bwrap = BWRAP): { ok: true } | { ok: false; reason: string } {
  if (availability && bwrap === BWRAP) return availability;
  const result = checkSandbox(bwrap);
  if (bwrap === BWRAP) availability = result;
  return result;
}

function checkSandbox(bwrap: string): { ok: true } | { ok: false; reason: string } {
  for (const bin of [bwrap, PRLIMIT, ...(isRoot() ? [SETPRIV] : [])]) {
    if (!fs.existsSync(bin)) return { ok: false, reason: `${bin} is missing (Debian: apt-get install bubblewrap util-linux).` };
  }
  const probe = `process.exit(require('fs').existsSync('${SANDBOX_ROOT}/node_modules/tslab/package.json') && require('fs').existsSync('${SANDBOX_ROOT}/lib/dist/index.js') ? 0 : 3)`;
  const { command, args } = sandboxCommand([NODE, '-e', probe], { env: { PATH: '/usr/bin:/bin' } }, bwrap);
  const r = spawnSync(command, args, { encoding: 'utf8', timeout: 60_000 });
  if (r.status === 0) return { ok: true };
  const why = (r.stderr || r.error?.message || '').trim().split('\n').slice(-3).join(' ');
  const hint =
    r.status === 3
      ? `the sandbox cannot read the workbook's node_modules or lib/dist${isRoot() ? ' as uid 65534 (every folder above the workbook needs o+x, the files o+r)' : ''}; run npm run build.`
      : 'this machine cannot create the namespaces bubblewrap needs (user namespaces disabled? inside a container without them?).';
  return { ok: false, reason: `${hint}${why ? ` (${why})` : ''}` };
}

/** Throws a readable error when no sandbox can be made (the grader refuses to run unconfined). */
export function requireSandbox(bwrap = BWRAP): void {
  const a = sandboxAvailability(bwrap);
  if (!a.ok) {
    throw new ToolError(
      'GRADE_NO_SANDBOX',
      `cannot isolate the student's kernels: ${a.reason}\nGrading without isolation lets a submission read the solutions and take over the grader; pass --no-sandbox only on a throw-away machine.`,
    );
  }
}

/**
 * A private folder for one grade run's temp files, mode 0711 (traversable, not listable: the
 * kernel's uid reaches only its own connection folder inside). Named after the grader's pid so
 * a later run can remove what a killed run left (see sweepStaleRunDirs).
 */
export function makeRunDir(): string {
  sweepStaleRunDirs();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `kdlab-grade-${process.pid}-`));
  fs.chmodSync(dir, 0o711);
  return dir;
}

/** Removes kdlab-grade-<pid>-* folders whose grader process is gone (a SIGKILLed run). */
export function sweepStaleRunDirs(): void {
  let entries: string[];
  try {
    entries = fs.readdirSync(os.tmpdir());
  } catch {
    return;
  }
  for (const e of entries) {
    const m = /^kdlab-grade-(\d+)-/.exec(e);
    if (!m || Number(m[1]) === process.pid) continue;
    try {
      process.kill(Number(m[1]), 0);
      continue; // still running
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EPERM') continue;
    }
    const stale = path.join(os.tmpdir(), e);
    for (const m of mountsBelow(stale)) unmountConnectionTmpfs(m);
    fs.rmSync(stale, { recursive: true, force: true });
  }
}

/**
 * Kernel uids, run as root: each kernel gets its own uid from this range (not 65534 shared by
 * all), so RLIMIT_NPROC, which Linux counts per uid, is per kernel, and no kernel can signal or
 * ptrace another even were their PID namespaces joined. The range is far above the ids Debian
 * hands to users and subordinate ranges (/etc/subuid starts at 100000, 65536 per user).
 */
export const KERNEL_UID_RANGE = { first: 1_500_000_000, count: 1_000_000 } as const;
const uidsInUse = new Set<number>();

/** Uids of every process on the host (from /proc), to avoid one that is in use elsewhere. */
function hostUids(): Set<number> {
  const uids = new Set<number>();
  let entries: string[] = [];
  try {
    entries = fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n));
  } catch {
    return uids;
  }
  for (const pid of entries) {
    try {
      const m = /^Uid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) uids.add(Number(m[1]));
    } catch {
      /* gone */
    }
  }
  return uids;
}

/** A uid of KERNEL_UID_RANGE that no kernel of this grader and no process of the host uses. */
export function allocateKernelUid(random: () => number = Math.random): number {
  const taken = hostUids();
  for (;;) {
    const uid = KERNEL_UID_RANGE.first + Math.floor(random() * KERNEL_UID_RANGE.count);
    if (!uidsInUse.has(uid) && !taken.has(uid)) {
      uidsInUse.add(uid);
      return uid;
    }
  }
}

export function releaseKernelUid(uid: number): void {
  uidsInUse.delete(uid);
}

/** Size and inode caps of a kernel's connection folder (tslab binds 5 sockets and reads 1 file there). */
export const CONNECTION_TMPFS = { bytes: 1024 * 1024, inodes: 64 } as const;

/**
 * Mounts a small tmpfs on `dir`, owned by `uid`, with size and inode caps (as root only; false
 * when the mount is refused, and the folder stays a plain one on the host's disk).
 */
function mountConnectionTmpfs(dir: string, uid: number): boolean {
  const options = `size=${CONNECTION_TMPFS.bytes},nr_inodes=${CONNECTION_TMPFS.inodes},mode=0700,uid=${uid},gid=${uid},nosuid,nodev,noexec`;
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', options, 'kdlab-conn', dir], { encoding: 'utf8', timeout: 10_000 });
  return r.status === 0;
}

/** Detaches a connection tmpfs (lazily: the dying sandbox may still hold it). */
function unmountConnectionTmpfs(dir: string): void {
  spawnSync('umount', ['-l', dir], { timeout: 10_000 });
}

/** Mount points at or below `dir` (from /proc/self/mounts). */
function mountsBelow(dir: string): string[] {
  try {
    return fs
      .readFileSync('/proc/self/mounts', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[1]?.replace(/\\040/g, ' '))
      .filter((m): m is string => !!m && (m === dir || m.startsWith(dir + '/')))
      .sort((a, b) => b.length - a.length);
  } catch {
    return [];
  }
}

/** Removes a grade run's folder, unmounting any connection tmpfs left below it first. */
export function removeRunDir(dir: string): void {
  for (const m of mountsBelow(path.resolve(dir))) unmountConnectionTmpfs(m);
  fs.rmSync(dir, { recursive: true, force: true });
}

/**
 * A KernelLaunch that starts tslab in a fresh sandbox, with its connection folder under runDir.
 * As root the kernel runs as a uid of its own (KERNEL_UID_RANGE) and the folder is a tmpfs of
 * its own with size and inode caps (CONNECTION_TMPFS), unmounted when the kernel is gone; as a
 * normal user (no mounts, one uid) it is a plain folder of the host, as the kernel is that user.
 */
export function sandboxedKernel(runDir: string, opts: { env(connectionDir: string): Record<string, string>; limits?: Partial<SandboxLimits>; library?: string }): KernelLaunch {
  const dir = fs.mkdtempSync(path.join(runDir, 'k-'));
  const root = isRoot();
  const uid = root ? allocateKernelUid() : undefined;
  let mounted = false;
  if (uid !== undefined) {
    mounted = mountConnectionTmpfs(dir, uid);
    if (!mounted) fs.chownSync(dir, uid, uid);
  }
  fs.chmodSync(dir, 0o700);
  return {
    dir,
    transport: 'ipc',
    command: (connectionFile) =>
      sandboxCommand([NODE, `${SANDBOX_ROOT}/node_modules/tslab/bin/tslab`, 'kernel', '--config-path', connectionFile], {
        env: opts.env(dir),
        rwDirs: [dir],
        ...(opts.limits ? { limits: opts.limits } : {}),
        ...(opts.library ? { library: opts.library } : {}),
        ...(uid !== undefined ? { uid } : {}),
      }),
    release: () => {
      if (mounted) unmountConnectionTmpfs(dir);
      mounted = false;
      if (uid !== undefined) releaseKernelUid(uid);
    },
  };
}
