/**
 * A small Jupyter client for one tslab kernel: starts it with a connection file (as Jupyter
 * does), talks to it over ZeroMQ with signed messages, and guarantees the kernel process (and
 * anything it spawned) is gone afterwards, whatever path the caller takes out.
 *
 * The host process judges a cell by the execute_reply status it receives, never by what the cell
 * printed, so a grader can reuse this class with untrusted code.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import * as zmq from 'zeromq';
import { DisplayRegistry, OutputCollector, type NotebookOutput } from './outputs';
import { deserialize, makeMessage, newId, serialize, type ConnectionInfo, type JupyterMessage } from './protocol';
import { workbookRoot } from 'kdlab/internals';
import { ToolError } from '../errors';

export interface KernelStartOptions {
  /** Working directory of the kernel; Jupyter uses the notebook's folder. */
  cwd: string;
  /** The tslab executable; default `<workbook>/node_modules/.bin/tslab`. */
  tslabPath?: string;
  /** How long to wait for the first kernel_info_reply (tslab type-checks on start). Default 120. */
  startTimeoutSeconds?: number;
  env?: NodeJS.ProcessEnv;
  /**
   * Start the kernel through a wrapper (the grader's sandbox) instead of running tslab directly.
   * The connection file and, with transport 'ipc', ZeroMQ's socket files go in `dir`, which the
   * wrapped kernel must see at the same path; the client removes `dir` when the kernel is gone.
   */
  launch?: KernelLaunch;
  /** Largest single message accepted from the kernel, in bytes (ZeroMQ drops the peer beyond). */
  maxMessageBytes?: number;
  /**
   * Caps on what the kernel may send while one cell runs (an untrusted kernel: the grader). Counted
   * on each message's raw frames as they are received, before the message is verified, decoded or
   * kept; when one is exceeded the kernel is killed and the cell ends as "dead" with `limitExceeded`. With
   * caps, ZeroMQ also queues only a few messages per socket, so memory stays bounded whatever the
   * kernel sends: about maxMessageBytes x 16 per socket, plus what the caller keeps.
   */
  limits?: MessageLimits;
}

export interface MessageLimits {
  /** Messages per cell, all channels, from the cell's request until the next cell's. */
  maxMessagesPerCell: number;
  /** Bytes per cell, all channels, counted the same way. */
  maxBytesPerCell: number;
}

export interface KernelLaunch {
  dir: string;
  transport: 'tcp' | 'ipc';
  command(connectionFile: string): { command: string; args: string[] };
  /** Called once the kernel is gone, before `dir` is removed (e.g. to unmount it). */
  release?(): void;
}

export interface ExecuteOptions {
  /** Per-cell limit; on expiry the kernel is interrupted, then killed. 0 or absent: no limit. */
  timeoutSeconds?: number;
  /** How long an interrupted cell gets to finish before the kernel is killed. Default 3. */
  interruptGraceSeconds?: number;
  /** Share one registry across a notebook so update_display_data reaches earlier cells. */
  registry?: DisplayRegistry;
  /** Keep at most this many characters of the cell's stream output (stdout and stderr each); the rest is dropped. */
  maxOutputChars?: number;
  /** Keep display data and execute results (default true). A grader reads only the streams. */
  keepRichOutputs?: boolean;
}

/** ISO timestamps from the kernel's message headers, as nbclient records them. */
export interface ExecuteTiming {
  busy?: string;
  executeInput?: string;
  reply?: string;
  idle?: string;
}

export type ExecuteStatus = 'ok' | 'error' | 'abort' | 'timeout' | 'dead';

export interface ExecuteResult {
  /** ok/error/abort come from the kernel's execute_reply; timeout and dead are the host's verdict. */
  status: ExecuteStatus;
  /** The status field of execute_reply, or null when no reply arrived. */
  replyStatus: 'ok' | 'error' | 'abort' | null;
  executionCount: number | null;
  outputs: NotebookOutput[];
  /** Text the cell wrote to its stderr stream (tslab puts compile and runtime errors there). */
  stderr: string;
  timing: ExecuteTiming;
  interrupted: boolean;
  killed: boolean;
  /** For status "dead": how the kernel process ended and the last lines of its own stderr. */
  exit?: KernelExit;
  /** Status "dead" because the kernel exceeded the client's MessageLimits (it was killed): which cap. */
  limitExceeded?: string;
}

export interface KernelExit {
  code: number | null;
  signal: string | null;
  stderrTail: string;
}

interface Pending {
  shell?(msg: JupyterMessage): void;
  iopub?(msg: JupyterMessage): void;
}

/** tslab cancels requests queued within 200 ms after a failed cell; wait a bit longer than that. */
const AFTER_ERROR_SETTLE_MS = 300;
const STDERR_TAIL_LINES = 40;
const STDERR_PARTIAL_CHARS = 4000;

// A kernel started by a runner that is later SIGKILLed would live on in its own process group,
// so the kernel process itself watches for being orphaned and takes its group down.
// It also removes the folder holding the connection file (and its HMAC key) that the dead runner
// could not clean up.
/**
 * V8 flags for a kernel the runner starts. The kernel holds tslab's TypeScript compiler (hundreds
 * of MB), and a training loop's short-lived tensors, promoted out of V8's default young generation,
 * kept V8's background threads marking that old generation: 550–700 ms of their CPU per 4.4 s of
 * training after the first call, against 240 in plain Node, which on a busy machine is taken from
 * the training thread. With 64 MB semi-spaces it is 170–200 ms (the kernel-overhead note in
 * docs/performance.md).
 */
export const KERNEL_NODE_FLAGS = ['--max-semi-space-size=64'];

const WATCHDOG_SOURCE = `'use strict';
const parent = process.ppid;
const dir = __dirname;
setInterval(() => {
  if (process.ppid !== parent) {
    try { require('fs').rmSync(dir, { recursive: true, force: true }); } catch {}
    try { process.kill(-process.pid, 'SIGKILL'); } catch { process.exit(1); }
  }
}, 1000).unref();
`;

const DEBUG = Boolean(process.env.KDLAB_KERNEL_DEBUG);
function debug(...parts: unknown[]): void {
  if (DEBUG) process.stderr.write(`[kdlab kernel ${new Date().toISOString()}] ${parts.map(String).join(' ')}\n`);
}

const live = new Set<KernelClient>();
let handlersInstalled = false;

function onProcessExit(): void {
  for (const k of live) k.kill();
}

function onFatalSignal(signal: NodeJS.Signals): void {
  for (const k of live) k.kill();
  // If the host installed its own handler it decides how to exit; otherwise restore the default
  // behaviour (terminate) that our listener suppressed.
  if (process.listenerCount(signal) <= 1) {
    uninstallHandlers();
    process.kill(process.pid, signal);
  }
}

const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', onProcessExit);
  for (const s of SIGNALS) process.on(s, onFatalSignal);
}

function uninstallHandlers(): void {
  if (!handlersInstalled) return;
  handlersInstalled = false;
  process.removeListener('exit', onProcessExit);
  for (const s of SIGNALS) process.removeListener(s, onFatalSignal);
}

/** Kills every kernel this process started and has not shut down yet (synchronous). */
export function killAllKernels(): void {
  for (const k of live) k.kill();
}

/** Default tslab executable: the one installed in the workbook. */
export function defaultTslabPath(): string {
  return path.join(workbookRoot(), 'node_modules', '.bin', 'tslab');
}

/**
 * The first port of the range the OS hands out as the local port of outgoing connections
 * (Linux: /proc/sys/net/ipv4/ip_local_port_range, 32768 by default).
 */
function ephemeralRangeStart(): number {
  try {
    const low = Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    if (Number.isInteger(low) && low > 2048) return low;
  } catch {
    /* not Linux: assume the IANA default range starts at 49152 */
    return 49152;
  }
  return 32768;
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/**
 * `count` distinct free ports for a kernel, chosen BELOW the ephemeral range. The client connects
 * before the kernel has bound its ports, and ZeroMQ retries the connection every 100 ms, each
 * time from a new ephemeral local port: a kernel port inside that range can be taken by one of
 * those attempts (or the socket connects to itself), and tslab then fails to bind, logs an
 * unhandled rejection and stays up without that socket, so the start hung until its timeout.
 */
export async function kernelPorts(count: number): Promise<number[]> {
  const high = ephemeralRangeStart() - 1;
  const low = Math.max(1025, high - 20000);
  const ports = new Set<number>();
  for (let tries = 0; ports.size < count; tries++) {
    if (tries > 200 * count) throw new ToolError('KERNEL_START_FAILED', `found no ${count} free ports in ${low}..${high} for the kernel.`);
    const port = low + Math.floor(Math.random() * (high - low + 1));
    if (!ports.has(port) && (await canListen(port))) ports.add(port);
  }
  return [...ports];
}

function isNodeScript(file: string): boolean {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const buf = Buffer.alloc(128);
      const n = fs.readSync(fd, buf, 0, buf.length, 0);
      const first = buf.subarray(0, n).toString('utf8').split('\n')[0];
      return first.startsWith('#!') && /\bnode\b/.test(first);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class KernelClient {
  /** content of the kernel_info_reply (language_info etc.). */
  kernelInfo: Record<string, unknown> = {};

  private readonly session = newId();
  private readonly pending = new Map<string, Pending>();
  private readonly deathWatchers = new Set<() => void>();
  private readonly stderrLines: string[] = [];
  private stderrPartial = '';
  private exitInfo: KernelExit | undefined;
  private closed = false;
  private lastErrorAt = 0;
  private shell!: zmq.Dealer;
  private control!: zmq.Dealer;
  private iopub!: zmq.Subscriber;
  private conn!: ConnectionInfo;
  private maxMessageBytes: number | undefined;
  private limits: MessageLimits | undefined;
  /** Messages and bytes received since the current cell's request (see MessageLimits). */
  private windowMessages = 0;
  private windowBytes = 0;
  private exceeded: string | undefined;

  private release: (() => void) | undefined;

  private constructor(
    private readonly child: ChildProcess,
    private readonly tmpDir: string,
  ) {}

  /** Starts a kernel and resolves once it answers kernel_info and its iopub channel is connected. */
  static async start(options: KernelStartOptions): Promise<KernelClient> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await KernelClient.launch(options);
      } catch (err) {
        // Another process took a port between our check and the kernel's bind: other ports.
        if (attempt >= 3 || !(err instanceof ToolError && err.code === 'KERNEL_PORT_CONFLICT')) throw err;
      }
    }
  }

  private static async launch(options: KernelStartOptions): Promise<KernelClient> {
    const launcher = options.launch;
    const tslab = path.resolve(options.tslabPath ?? defaultTslabPath());
    if (!launcher && !fs.existsSync(tslab)) {
      throw new ToolError(
        'KERNEL_NOT_FOUND',
        `tslab kernel not found at ${tslab}. Run \`npm install\` in the workbook root (${workbookRoot()}) to install it.`,
      );
    }
    if (!launcher && !fs.existsSync(options.cwd)) {
      throw new ToolError('KERNEL_BAD_CWD', `kernel working directory does not exist: ${options.cwd}`);
    }
    const ipc = launcher?.transport === 'ipc';
    // With ipc, tslab binds `ipc://<ip>:<port>`: socket files <dir>/k:1 … k:5, nothing on the network.
    const ports = ipc ? [1, 2, 3, 4, 5] : await kernelPorts(5);
    const tmpDir = launcher ? launcher.dir : fs.mkdtempSync(path.join(os.tmpdir(), 'kdlab-kernel-'));
    const conn: ConnectionInfo = {
      transport: ipc ? 'ipc' : 'tcp',
      ip: ipc ? path.join(tmpDir, 'k') : '127.0.0.1',
      shell_port: ports[0],
      iopub_port: ports[1],
      stdin_port: ports[2],
      control_port: ports[3],
      hb_port: ports[4],
      key: randomBytes(32).toString('hex'),
      signature_scheme: 'hmac-sha256',
      kernel_name: 'tslab',
    };
    const connFile = path.join(tmpDir, 'kernel.json');
    // A launched kernel may run as another user, who owns `dir` (mode 0700) and must read the file.
    fs.writeFileSync(connFile, JSON.stringify(conn, null, 1), { mode: launcher ? 0o644 : 0o600 });

    let command: string;
    let args: string[];
    if (launcher) {
      ({ command, args } = launcher.command(connFile));
    } else if (isNodeScript(tslab)) {
      const watchdog = path.join(tmpDir, 'watchdog.cjs');
      fs.writeFileSync(watchdog, WATCHDOG_SOURCE);
      command = process.execPath;
      args = [...KERNEL_NODE_FLAGS, '--require', watchdog, tslab, 'kernel', '--config-path', connFile];
    } else {
      command = tslab;
      args = ['kernel', '--config-path', connFile];
    }
    // Own process group, so a signal or kill reaches whatever the cell code spawned, and the
    // terminal's Ctrl-C reaches the runner only (which then cleans up deliberately).
    const child = spawn(command, args, {
      // A launched kernel's cwd is set by its wrapper (inside the sandbox).
      cwd: launcher ? launcher.dir : options.cwd,
      env: options.env ?? process.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    debug('spawned', child.pid, command, args.join(' '), 'ports', ports.join(','));
    const client = new KernelClient(child, tmpDir);
    client.release = launcher?.release;
    client.conn = conn;
    client.maxMessageBytes = options.maxMessageBytes;
    client.limits = options.limits;
    live.add(client);
    installHandlers();
    client.watchProcess();
    try {
      client.connect();
      await client.waitReady((options.startTimeoutSeconds ?? 120) * 1000);
    } catch (err) {
      client.kill();
      await client.waitForExit(2);
      throw err;
    }
    return client;
  }

  /** The connection file Jupyter-style clients could use to attach (removed on shutdown). */
  get connectionFile(): string {
    return path.join(this.tmpDir, 'kernel.json');
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get alive(): boolean {
    return !this.exitInfo && !this.closed;
  }

  /** Which message cap the kernel exceeded (it was then killed), if any. */
  get limitExceeded(): string | undefined {
    return this.exceeded;
  }

  /** The last lines the kernel process wrote to its own stderr. */
  stderrTail(lines = STDERR_TAIL_LINES): string {
    const all = this.stderrPartial ? [...this.stderrLines, this.stderrPartial] : this.stderrLines;
    return all.slice(-lines).join('\n');
  }

  private watchProcess(): void {
    const keep = (chunk: Buffer) => {
      const piece = chunk.toString('utf8');
      debug('kernel stderr:', piece.trimEnd());
      // Linear in the output: only the new chunk is split, and a line without end is kept bounded.
      const nl = piece.lastIndexOf('\n');
      if (nl < 0) {
        this.stderrPartial = (this.stderrPartial + piece).slice(-STDERR_PARTIAL_CHARS);
        return;
      }
      const parts = (this.stderrPartial + piece.slice(0, nl)).split('\n');
      this.stderrPartial = piece.slice(nl + 1).slice(-STDERR_PARTIAL_CHARS);
      this.stderrLines.push(...parts.slice(-4 * STDERR_TAIL_LINES).map((l) => l.slice(-STDERR_PARTIAL_CHARS)));
      if (this.stderrLines.length > 4 * STDERR_TAIL_LINES) this.stderrLines.splice(0, this.stderrLines.length - STDERR_TAIL_LINES);
    };
    this.child.stderr?.on('data', keep);
    // Kernel-level stdout (outside cells) is not part of any output; drain it so the pipe never fills.
    this.child.stdout?.on('data', () => undefined);
    let exitCode: number | null = null;
    let exitSignal: string | null = null;
    const finish = () => {
      if (this.exitInfo) return;
      this.exitInfo = { code: exitCode, signal: exitSignal, stderrTail: this.stderrTail() };
      for (const w of [...this.deathWatchers]) w();
    };
    this.child.on('error', (err) => {
      this.stderrLines.push(`failed to spawn the kernel: ${err.message}`);
      finish();
    });
    this.child.on('exit', (code, signal) => {
      exitCode = code;
      exitSignal = signal;
      // Take down anything the cell code left running in the kernel's group.
      this.killGroup('SIGKILL');
      // 'close' comes after the stderr pipe is drained; don't wait forever if a grandchild holds it.
      setTimeout(finish, 1000).unref();
    });
    this.child.on('close', finish);
  }

  private connect(): void {
    const url = (port: number) => `${this.conn.transport}://${this.conn.ip}:${port}`;
    const limit = {
      ...(this.maxMessageBytes !== undefined ? { maxMessageSize: this.maxMessageBytes } : {}),
      // With caps, ZeroMQ's own queue holds a few messages per socket, not its default thousand.
      ...(this.limits ? { receiveHighWaterMark: 16 } : {}),
    };
    this.shell = new zmq.Dealer({ linger: 0, routingId: `kdlab-${this.session.slice(0, 8)}-shell`, ...limit });
    this.control = new zmq.Dealer({ linger: 0, routingId: `kdlab-${this.session.slice(0, 8)}-control`, ...limit });
    this.iopub = new zmq.Subscriber({ linger: 0, ...limit });
    this.iopub.subscribe();
    this.shell.connect(url(this.conn.shell_port));
    this.control.connect(url(this.conn.control_port));
    this.iopub.connect(url(this.conn.iopub_port));
    void this.pump(this.shell, 'shell');
    void this.pump(this.control, 'shell');
    void this.pump(this.iopub, 'iopub');
    if (this.maxMessageBytes !== undefined && this.limits) {
      for (const sock of [this.shell, this.control, this.iopub]) void this.watchOversize(sock);
    }
  }

  /**
   * ZeroMQ drops the connection of a peer whose message is over maxMessageSize, without telling
   * the reader; the socket's monitor does. For an untrusted kernel that is a cap exceeded.
   */
  private async watchOversize(sock: zmq.Dealer | zmq.Subscriber): Promise<void> {
    try {
      for await (const event of sock.events) {
        if (this.closed) return;
        if (event.type === 'disconnect' || event.type === 'handshake:error:protocol') {
          // A kernel that exits disconnects too: only a disconnect from a live process is ours.
          await sleep(1000);
          if (this.closed || this.exitInfo || this.child.exitCode !== null || this.child.signalCode !== null) return;
          this.overLimit(`a message larger than ${this.maxMessageBytes} bytes (or a malformed one)`);
          return;
        }
      }
    } catch {
      /* socket closed */
    }
  }

  /** Kills the kernel for exceeding a cap; the running cell (if any) ends as "dead" with limitExceeded. */
  private overLimit(what: string): void {
    if (this.exceeded || this.closed) return;
    this.exceeded = `the kernel sent ${what}`;
    debug('limit exceeded:', this.exceeded);
    this.kill();
    for (const w of [...this.deathWatchers]) w();
  }

  private async pump(sock: zmq.Dealer | zmq.Subscriber, channel: 'shell' | 'iopub'): Promise<void> {
    try {
      for await (const frames of sock) {
        if (this.limits) {
          // Counted on the raw frames, before anything is verified, decoded or kept.
          let size = 0;
          for (const f of frames) size += f.length;
          this.windowMessages++;
          this.windowBytes += size;
          if (this.windowMessages > this.limits.maxMessagesPerCell) {
            this.overLimit(`more than ${this.limits.maxMessagesPerCell} messages during one cell`);
            continue;
          }
          if (this.windowBytes > this.limits.maxBytesPerCell) {
            this.overLimit(`more than ${this.limits.maxBytesPerCell} bytes during one cell`);
            continue;
          }
        }
        let msg: JupyterMessage;
        try {
          msg = deserialize(this.conn.key, frames);
        } catch {
          continue; // unsigned or foreign message: ignore it, as Jupyter clients do
        }
        const parentId = msg.parent_header.msg_id;
        // Serialising every message only to cut it short is costly for a flood: only when debugging.
        if (DEBUG) debug(channel, msg.header.msg_type, JSON.stringify(msg.content).slice(0, 120), 'parent', parentId);
        const p = parentId ? this.pending.get(parentId) : undefined;
        if (!p) continue;
        if (channel === 'shell') p.shell?.(msg);
        else p.iopub?.(msg);
      }
    } catch {
      /* socket closed */
    }
  }

  private send(sock: zmq.Dealer, msg: JupyterMessage): void {
    debug('send', msg.header.msg_type, msg.header.msg_id);
    const frames = serialize(this.conn.key, msg);
    // zeromq allows one send in flight per socket and throws EBUSY (synchronously) on a second:
    // while the kernel is still binding, the first send waits, and a kernel_info resend would
    // collide with it. Chain the sends instead; a rejected send means we are closing.
    const previous = this.sendChains.get(sock) ?? Promise.resolve();
    const next = previous.then(() => sock.send(frames)).catch(() => undefined);
    this.sendChains.set(sock, next);
  }

  private readonly sendChains = new Map<zmq.Dealer, Promise<void>>();

  private startFailure(reason: string, code: 'KERNEL_START_FAILED' | 'KERNEL_PORT_CONFLICT' = 'KERNEL_START_FAILED'): ToolError {
    const tail = this.stderrTail();
    return new ToolError(
      code,
      `the tslab kernel ${reason}.${tail ? `\nkernel stderr:\n${tail}` : ' It wrote nothing to stderr.'}`,
    );
  }

  /**
   * Like jupyter_client's wait_for_ready: keep asking kernel_info until a reply arrives on shell
   * AND a status message for one of our requests arrives on iopub, because a SUB socket that is
   * still joining silently drops what is published before it connects.
   */
  private async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let gotReply = false;
    let gotIopub = false;
    let wake: (() => void) | undefined;
    const ids: string[] = [];
    const onDeath = () => wake?.();
    this.deathWatchers.add(onDeath);
    try {
      while (!(gotReply && gotIopub)) {
        if (this.exitInfo) {
          const e = this.exitInfo;
          throw this.startFailure(`exited during startup (${e.signal ? `signal ${e.signal}` : `exit code ${e.code}`})`);
        }
        if (Date.now() > deadline) throw this.startFailure(`did not answer kernel_info_request within ${Math.round(timeoutMs / 1000)} s`);
        // tslab logs a failed bind as an unhandled rejection and stays up without that socket.
        if (/EADDRINUSE|address already in use/i.test(this.stderrTail())) throw this.startFailure('could not bind one of its ports', 'KERNEL_PORT_CONFLICT');
        const msg = makeMessage('kernel_info_request', {}, this.session);
        ids.push(msg.header.msg_id);
        this.pending.set(msg.header.msg_id, {
          shell: (m) => {
            if (m.header.msg_type === 'kernel_info_reply') {
              gotReply = true;
              this.kernelInfo = m.content;
              if (gotIopub) wake?.();
            }
          },
          iopub: (m) => {
            if (m.header.msg_type === 'status') {
              gotIopub = true;
              if (gotReply) wake?.();
            }
          },
        });
        this.send(this.shell, msg);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, gotReply ? 250 : 1000);
          wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
        wake = undefined;
      }
    } finally {
      this.deathWatchers.delete(onDeath);
      for (const id of ids) this.pending.delete(id);
    }
    // The idle status of the last kernel_info may still be in flight; it is harmless (no handler).
  }

  /** Runs one cell. Never throws for cell failures: the verdict is in `status`. */
  async execute(code: string, options: ExecuteOptions = {}): Promise<ExecuteResult> {
    const collector = new OutputCollector(options.registry);
    const timing: ExecuteTiming = {};
    if (!this.alive) {
      return {
        status: 'dead', replyStatus: null, executionCount: null, outputs: [], stderr: '', timing,
        interrupted: false, killed: false, exit: this.exitInfo ?? { code: null, signal: null, stderrTail: this.stderrTail() },
      };
    }
    const sinceError = Date.now() - this.lastErrorAt;
    if (sinceError < AFTER_ERROR_SETTLE_MS) await sleep(AFTER_ERROR_SETTLE_MS - sinceError);

    const msg = makeMessage(
      'execute_request',
      { code, silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true },
      this.session,
    );
    const msgId = msg.header.msg_id;
    const streamChars = { stdout: 0, stderr: 0 };
    const keepRich = options.keepRichOutputs !== false;
    this.windowMessages = 0;
    this.windowBytes = 0;
    return new Promise<ExecuteResult>((resolve) => {
      let reply: Record<string, unknown> | undefined;
      let idle = false;
      let interrupted = false;
      let killed = false;
      let done = false;
      let timeoutTimer: NodeJS.Timeout | undefined;
      let graceTimer: NodeJS.Timeout | undefined;

      const finish = (status: ExecuteStatus) => {
        if (done) return;
        done = true;
        clearTimeout(timeoutTimer);
        clearTimeout(graceTimer);
        this.pending.delete(msgId);
        this.deathWatchers.delete(onDeath);
        const rs = reply?.status;
        const replyStatus = rs === 'ok' || rs === 'error' || rs === 'abort' ? rs : null;
        if (replyStatus !== 'ok') this.lastErrorAt = Date.now();
        if (timing.busy && !timing.executeInput) timing.executeInput = timing.busy; // tslab sends no execute_input
        resolve({
          status,
          replyStatus,
          executionCount: typeof reply?.execution_count === 'number' ? reply.execution_count : null,
          outputs: collector.outputs,
          stderr: collector.stderr,
          timing,
          interrupted,
          killed,
          exit: status === 'dead' ? this.exitInfo : undefined,
          ...(status === 'dead' && this.exceeded ? { limitExceeded: this.exceeded } : {}),
        });
      };
      const maybeDone = () => {
        if (!reply || !idle) return;
        if (interrupted) finish('timeout');
        else finish(reply.status === 'ok' ? 'ok' : reply.status === 'abort' ? 'abort' : 'error');
      };
      const onDeath = () => {
        if (this.exceeded) return finish('dead');
        // Let iopub deliver what the cell printed before the process died.
        setTimeout(() => finish(killed ? 'timeout' : 'dead'), 200);
      };
      this.deathWatchers.add(onDeath);
      this.pending.set(msgId, {
        shell: (m) => {
          if (m.header.msg_type !== 'execute_reply') return;
          reply = m.content;
          timing.reply = m.header.date;
          maybeDone();
        },
        iopub: (m) => {
          const type = m.header.msg_type;
          if (type === 'status') {
            const state = m.content.execution_state;
            if (state === 'busy') timing.busy ??= m.header.date;
            if (state === 'idle') {
              timing.idle = m.header.date;
              idle = true;
              maybeDone();
            }
          } else if (type === 'execute_input') {
            timing.executeInput ??= m.header.date;
          } else if (type === 'stream' && options.maxOutputChars !== undefined) {
            // Bounded capture: what is past the cap is dropped, once, with a note.
            const name = m.content.name === 'stderr' ? 'stderr' : 'stdout';
            const text = typeof m.content.text === 'string' ? m.content.text : '';
            const room = options.maxOutputChars - streamChars[name];
            if (room > 0) {
              const kept = text.length > room ? `${text.slice(0, room)}\n… (output truncated at ${options.maxOutputChars} characters)\n` : text;
              collector.handle(type, { ...m.content, text: kept });
            }
            streamChars[name] += text.length;
          } else if (keepRich || type === 'stream' || type === 'error') {
            collector.handle(type, m.content);
          }
        },
      });
      const limit = options.timeoutSeconds ?? 0;
      if (limit > 0) {
        timeoutTimer = setTimeout(() => {
          interrupted = true;
          this.interrupt();
          graceTimer = setTimeout(() => {
            killed = true;
            finish('timeout');
            this.kill();
          }, (options.interruptGraceSeconds ?? 3) * 1000);
        }, limit * 1000);
      }
      this.send(this.shell, msg);
    });
  }

  /** Interrupts the running cell: tslab's interrupt_mode is "signal", so this sends SIGINT. */
  interrupt(): void {
    this.killGroup('SIGINT');
  }

  /**
   * Asks the kernel to shut down (shutdown_request on the control channel), waits for the process
   * to end, and kills it if it does not; always leaves no process behind.
   */
  async shutdown(timeoutSeconds = 5): Promise<void> {
    if (this.alive && this.child.pid) {
      const msg = makeMessage('shutdown_request', { restart: false }, this.session);
      this.send(this.control, msg);
      const exited = new Promise<void>((resolve) => {
        if (this.exitInfo) return resolve();
        const w = () => resolve();
        this.deathWatchers.add(w);
      });
      // tslab closes its sockets on shutdown, but timers left by cell code can keep Node alive.
      await Promise.race([exited, sleep(timeoutSeconds * 1000)]);
    }
    this.kill();
    // Return only once the process is reaped, so callers never observe a leftover or zombie.
    await this.waitForExit(2);
  }

  /** Kills the kernel's process group immediately and releases sockets and temp files. */
  kill(): void {
    if (!this.closed) {
      this.closed = true;
      this.killGroup('SIGKILL');
      for (const s of [this.shell, this.control, this.iopub]) {
        try {
          s?.close();
        } catch {
          /* already closed */
        }
      }
      try {
        this.release?.();
      } catch {
        /* the launcher's cleanup is best effort; the folder removal below still runs */
      }
      fs.rmSync(this.tmpDir, { recursive: true, force: true });
      live.delete(this);
      if (live.size === 0) uninstallHandlers();
    } else {
      this.killGroup('SIGKILL');
    }
  }

  /** Waits until the kernel process has been reaped (after kill or shutdown). */
  async waitForExit(timeoutSeconds = 5): Promise<boolean> {
    if (this.exitInfo) return true;
    return Promise.race([
      new Promise<boolean>((resolve) => this.deathWatchers.add(() => resolve(true))),
      sleep(timeoutSeconds * 1000).then(() => false),
    ]);
  }

  private killGroup(signal: NodeJS.Signals): void {
    const pid = this.child.pid;
    if (!pid) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // Group already gone; the leader itself may still be unreaped for a moment.
      if (!this.exitInfo) {
        try {
          process.kill(pid, signal);
        } catch {
          /* gone */
        }
      }
    }
  }
}
