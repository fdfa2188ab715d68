import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { heapOffset, type WasmHeapBackend } from './wasm-heap';
import { installNativeConv, uninstallNativeConv, type NativeConvAddon } from './native-conv';
import { InputError } from '../errors';

/**
 * The optional native kernels: `BatchMatMul` and `_FusedMatMul` for the tfjs **wasm** backend,
 * computed by the system's OpenBLAS (`cblas_sgemm`) through the addon built from
 * lib/native/kdlab_native.cc. They read and write the tensors in the wasm backend's own heap
 * (zero copy) and pass transposes to sgemm as flags, so every other op keeps running on wasm and
 * no data moves between the two. Anything the addon does not cover (non-float32, general batch
 * broadcasting, prelu) falls through to the wasm kernel that was registered before.
 */

interface NativeAddon extends NativeConvAddon {
  gemm(
    heap: ArrayBuffer, transA: boolean, transB: boolean, batch: number, m: number, n: number, k: number,
    aOff: number, aBatchStride: number, bOff: number, bBatchStride: number, cOff: number,
    biasOff: number, biasSize: number, activation: number, alpha: number,
  ): void;
  denseGrad(heap: ArrayBuffer, dyOff: number, yOff: number, dzOff: number, dbOff: number, rows: number, n: number, relu: boolean): void;
  maxNorm(heap: ArrayBuffer, wOff: number, outOff: number, rows: number, cols: number, limit: number): void;
  dropout(heap: ArrayBuffer, xOff: number, yOff: number, maskOff: number, n: number, threshold: number, scale: number, key: number): void;
  columnSum(heap: ArrayBuffer, xOff: number, outOff: number, rows: number, cols: number): void;
  leakyRelu(heap: ArrayBuffer, xOff: number, outOff: number, n: number, alpha: number): void;
  leakyReluGrad(heap: ArrayBuffer, dyOff: number, xOff: number, outOff: number, n: number, alpha: number): void;
  setThreads(n: number): number;
  info(): { config: string; core: string; parallel: string; threads: number };
  abiVersion: number;
}

/** What the native path reports: the BLAS build and how many threads one matmul may use. */
export interface BlasInfo {
  /** OpenBLAS's own build line, e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64". */
  library: string;
  /** The CPU kernel family OpenBLAS runs (e.g. Haswell): pinned, user-chosen or its own pick. */
  core: string;
  /** Who chose `core` and what the digits then depend on (blasKernelFamily). */
  family: BlasKernelFamily;
  threading: string;
  threads: number;
  addonPath: string;
}

export type NativeLoad = { ok: true; addon: NativeAddon; path: string } | { ok: false; why: string };

/** The one command that turns the native path on where it did not build. */
export const ENABLE_NATIVE_HINT = 'apt-get install libopenblas-dev g++ make python3, then `npm run build:native`';

const ABI_VERSION = 6;

/** Where the addon lives: KDLAB_NATIVE_ADDON overrides (tests point it at a missing file). */
export function nativeAddonPath(): string {
  const explicit = process.env.KDLAB_NATIVE_ADDON;
  if (explicit !== undefined && explicit !== '') return path.resolve(explicit);
  // lib/dist/kernels (built) and lib/src/kernels (tests through tsx) are both two levels below lib/.
  return path.resolve(__dirname, '..', '..', 'native', 'build', 'Release', 'kdlab_native.node');
}

let loaded: NativeLoad | undefined;

/**
 * Who chose OpenBLAS's kernel family: the workbook's Haswell pin, the user (OPENBLAS_CORETYPE),
 * or nobody (OpenBLAS picked for this CPU).
 */
export type BlasPin = 'haswell-default' | 'user' | 'none';

/** The sgemm kernel family OpenBLAS runs and why: the part of "same digits" that depends on the CPU. */
export interface BlasKernelFamily {
  /** OpenBLAS's openblas_get_corename(), e.g. "Haswell"; '' when the addon is not loaded. */
  core: string;
  pinned: BlasPin;
  /** In words, for the doctor and the run store: what the digits then depend on. */
  why?: string;
}

/** The AVX2+FMA family: any x86-64 CPU with both can run it, and its block sizes are constants, not read from the CPU's caches. */
export const PINNED_CORE = 'Haswell';
// Set beside OPENBLAS_CORETYPE when the workbook (not the user) chose it: a worker process forked
// with {...process.env} inherits both and then reports the pin, not a user choice.
const PIN_MARK = 'KDLAB_OPENBLAS_CORETYPE_PINNED';

let pinDecision: { pinned: BlasPin; why: string } | undefined;

/** Why the Haswell kernels cannot run here, or null when the CPU has AVX2 and FMA. */
function cpuLacksHaswell(): string | null {
  if (process.arch !== 'x64') return `not an x86-64 CPU (${process.arch}): OpenBLAS picks its own kernels, and digits follow them`;
  let info: string;
  try {
    // Inside Node's permission model this read throws: then nothing is pinned.
    info = fs.readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return 'the CPU flags could not be read (/proc/cpuinfo), so the CPU\'s own kernels run and digits follow them';
  }
  const flagsLine = /^flags\s*:(.*)$/m.exec(info);
  const flags = new Set((flagsLine ? flagsLine[1] : '').trim().split(/\s+/));
  const missing: string[] = [];
  for (const flag of ['avx2', 'fma']) if (!flags.has(flag)) missing.push(flag.toUpperCase());
  return missing.length === 0 ? null : `this CPU lacks ${missing.join('/')}: its own kernels run, and digits follow them`;
}

/**
 * Chooses OpenBLAS's kernel family before libopenblas loads (it reads OPENBLAS_CORETYPE once, in
 * its load-time constructor). A DYNAMIC_ARCH build otherwise picks per CPU (Haswell, SkylakeX,
 * Cooperlake, Zen…), and those kernels sum in different orders: same seed, different digits.
 * Pinning Haswell makes the digits the same on every AVX2 x86-64 machine.
 */
function pinBlasCore(): { pinned: BlasPin; why: string } {
  const env = process.env;
  const chosen = env.OPENBLAS_CORETYPE;
  if (chosen !== undefined && chosen !== '') {
    if (chosen === env[PIN_MARK]) return { pinned: 'haswell-default', why: 'same digits on every AVX2 x86-64 machine' };
    return { pinned: 'user', why: 'set by OPENBLAS_CORETYPE' };
  }
  const lacks = cpuLacksHaswell();
  if (lacks !== null) return { pinned: 'none', why: lacks };
  // Node's process.env setter calls setenv(), which the library's constructor then reads.
  env.OPENBLAS_CORETYPE = PINNED_CORE;
  env[PIN_MARK] = PINNED_CORE;
  return { pinned: 'haswell-default', why: 'same digits on every AVX2 x86-64 machine' };
}

/**
 * `env` without the workbook's pin, for a child process that is not the workbook (PyTorch as the
 * benchmarks' yardstick): it then runs the kernels its users get. A user's OPENBLAS_CORETYPE stays.
 */
export function withoutBlasPin(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out = { ...env };
  if (out[PIN_MARK] !== undefined && out[PIN_MARK] === out.OPENBLAS_CORETYPE) delete out.OPENBLAS_CORETYPE;
  delete out[PIN_MARK];
  return out;
}

/**
 * The kernel family OpenBLAS runs in this process and who chose it. Loads the addon (and so
 * decides the pin) if nothing has yet; core is '' without the addon.
 */
export function blasKernelFamily(): BlasKernelFamily {
  const load = loadNativeAddon();
  if (!load.ok) return { core: '', pinned: 'none', why: load.why };
  const decision = pinDecision ?? { pinned: 'none' as const, why: '' };
  const core = load.addon.info().core;
  // A pin the library ignored (an unknown name, or libopenblas loaded before the addon) is no pin.
  if (decision.pinned === 'haswell-default' && core !== PINNED_CORE) {
    return { core, pinned: 'none', why: `OpenBLAS runs ${core} although ${PINNED_CORE} was asked for (libopenblas loaded before the addon?)` };
  }
  return decision.why === '' ? { core, pinned: decision.pinned } : { core, pinned: decision.pinned, why: decision.why };
}

/** blasKernelFamily in one phrase, e.g. "core Haswell (pinned: same digits on every AVX2 x86-64 machine)". */
export function describeBlasKernelFamily(family: BlasKernelFamily): string {
  const how = family.pinned === 'haswell-default' ? 'pinned' : family.pinned === 'user' ? 'user-chosen' : 'not pinned';
  return `core ${family.core} (${how}${family.why ? `: ${family.why}` : ''})`;
}

export function loadNativeAddon(): NativeLoad {
  if (loaded) return loaded;
  const file = nativeAddonPath();
  try {
    // Inside Node's permission model (the homework grader's kernels) even existsSync throws.
    if (!fs.existsSync(file)) {
      loaded = { ok: false, why: `the native kernels are not built (${file} is missing)` };
      return loaded;
    }
    pinDecision = pinBlasCore();
    const addon = require(file) as NativeAddon;
    if (addon.abiVersion !== ABI_VERSION) {
      loaded = { ok: false, why: `the native kernels at ${file} are from another version (run \`npm run build:native\`)` };
    } else {
      loaded = { ok: true, addon, path: file };
    }
  } catch (err) {
    loaded = { ok: false, why: `the native kernels failed to load: ${(err as Error).message.split('\n')[0]}` };
  }
  return loaded;
}

/**
 * BLAS threads for this process: KDLAB_BLAS_THREADS, else every core. Grid workers are started
 * with KDLAB_BLAS_THREADS=1 so that processes, not threads, share the cores.
 */
export function blasThreadsWanted(): number {
  const raw = process.env.KDLAB_BLAS_THREADS;
  const n = raw === undefined || raw === '' ? Number.NaN : Number(raw);
  if (Number.isInteger(n) && n >= 1) return n;
  return os.availableParallelism?.() ?? os.cpus().length;
}


type KernelArgs = Parameters<tf.KernelFunc>[0];

interface MatMulAttrs {
  transposeA?: boolean;
  transposeB?: boolean;
  activation?: string;
  leakyreluAlpha?: number;
}

// tfjs-wasm's FusableActivation codes, which the addon uses too; prelu (3) is left to wasm.
const ACTIVATION_CODES: Readonly<Record<string, number>> = {
  linear: 0,
  relu: 1,
  relu6: 2,
  leakyrelu: 4,
  sigmoid: 5,
  elu: 6,
};

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Equal batch sizes, or one of them 1 (broadcast): the cases a strided sgemm loop covers. */
function simpleBatch(aOuter: number[], bOuter: number[]): { outer: number[]; batchA: number; batchB: number } | null {
  let outer: number[];
  try {
    outer = tf.broadcast_util.assertAndGetBroadcastShape(aOuter, bOuter);
  } catch {
    return null;
  }
  const batchA = size(aOuter);
  const batchB = size(bOuter);
  if (size(outer) !== Math.max(batchA, batchB)) return null;
  if (batchA !== batchB && batchA !== 1 && batchB !== 1) return null;
  return { outer, batchA, batchB };
}

function nativeMatMul(addon: NativeAddon, fallback: tf.KernelFunc, fused: boolean): tf.KernelFunc {
  return (args: KernelArgs) => {
    const { a, b, bias, preluActivationWeights } = args.inputs as Record<string, tf.TensorInfo | undefined>;
    const attrs = (args.attrs ?? {}) as MatMulAttrs;
    if (!a || !b || a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length < 2 || b.shape.length < 2) {
      return fallback(args);
    }
    const activation = fused ? ACTIVATION_CODES[attrs.activation ?? 'linear'] : 0;
    if (activation === undefined || preluActivationWeights) return fallback(args);
    const transA = Boolean(attrs.transposeA);
    const transB = Boolean(attrs.transposeB);
    const ar = a.shape.length;
    const br = b.shape.length;
    const m = transA ? a.shape[ar - 1] : a.shape[ar - 2];
    const k = transA ? a.shape[ar - 2] : a.shape[ar - 1];
    const kB = transB ? b.shape[br - 1] : b.shape[br - 2];
    const n = transB ? b.shape[br - 2] : b.shape[br - 1];
    const batching = simpleBatch(a.shape.slice(0, -2), b.shape.slice(0, -2));
    if (k !== kB || !batching) return fallback(args); // the wasm kernel words the shape error
    const { outer, batchA, batchB } = batching;
    const biasSize = bias ? size(bias.shape) : 0;
    if (bias && (bias.dtype !== 'float32' || (biasSize !== 1 && biasSize !== n) || bias.shape.length > 1)) {
      return fallback(args);
    }
    const backend = args.backend as unknown as WasmHeapBackend;
    const batch = Math.max(batchA, batchB);
    const out = backend.makeOutput([...outer, m, n], 'float32');
    if (batch * m * n === 0) return out;
    const offset = (x: tf.TensorInfo): number => heapOffset(backend, x, fused ? '_FusedMatMul' : 'BatchMatMul');
    // The heap's ArrayBuffer is read after makeOutput: an allocation may have grown (replaced) it.
    addon.gemm(
      backend.wasm.HEAPU8.buffer as ArrayBuffer, transA, transB, batch, m, n, k,
      offset(a), batchA === 1 ? 0 : m * k, offset(b), batchB === 1 ? 0 : k * n, offset(out),
      bias ? offset(bias) : -1, biasSize, activation, attrs.leakyreluAlpha ?? 0,
    );
    return out;
  };
}

/**
 * A kernel of our own (not a tfjs op): the dense layer's backward pass up to its matmuls,
 * dz = dy·[y > 0] (relu) or dy (linear), and db = Σ_rows dz, in one pass. Registered only on
 * the native path; trainingForward calls it through denseGradNative().
 */
export const DENSE_GRAD_KERNEL = 'KdlabDenseGrad';

function denseGradKernel(addon: NativeAddon): tf.KernelFunc {
  return (args: KernelArgs) => {
    const { dy, y } = args.inputs as Record<string, tf.TensorInfo>;
    const relu = Boolean((args.attrs as { relu?: boolean } | undefined)?.relu);
    const backend = args.backend as unknown as WasmHeapBackend;
    const [rows, n] = dy.shape;
    const dz = backend.makeOutput([rows, n], 'float32');
    const db = backend.makeOutput([n], 'float32');
    const offset = (x: tf.TensorInfo): number => heapOffset(backend, x, DENSE_GRAD_KERNEL);
    addon.denseGrad(backend.wasm.HEAPU8.buffer as ArrayBuffer, offset(dy), relu ? offset(y) : 0, offset(dz), offset(db), rows, n, relu);
    return [dz, db];
  };
}

/** dz and db of a dense layer from dy and its output y, on the native kernel (see DENSE_GRAD_KERNEL). */
export function denseGradNative(dy: tf.Tensor2D, y: tf.Tensor2D, relu: boolean): [tf.Tensor2D, tf.Tensor1D] {
  const attrs = { relu } as unknown as tf.NamedAttrMap;
  const out = tf.engine().runKernel(DENSE_GRAD_KERNEL, { dy, y }, attrs) as unknown as tf.Tensor[];
  return [out[0] as tf.Tensor2D, out[1] as tf.Tensor1D];
}

/** The max-norm constraint of a dense kernel in two passes (see kdlab_native.cc); native path only. */
export const MAX_NORM_KERNEL = 'KdlabMaxNorm';

function maxNormKernel(addon: NativeAddon): tf.KernelFunc {
  return (args: KernelArgs) => {
    const { w } = args.inputs as Record<string, tf.TensorInfo>;
    const limit = Number((args.attrs as { limit?: number } | undefined)?.limit);
    const backend = args.backend as unknown as WasmHeapBackend;
    const [rows, cols] = w.shape;
    const out = backend.makeOutput([rows, cols], 'float32');
    const offset = (x: tf.TensorInfo): number => heapOffset(backend, x, MAX_NORM_KERNEL);
    addon.maxNorm(backend.wasm.HEAPU8.buffer as ArrayBuffer, offset(w), offset(out), rows, cols, limit);
    return out;
  };
}

/** w with every column scaled to norm ≤ limit, or null when the native kernels are off. */
export function maxNormNative(w: tf.Tensor2D, limit: number): tf.Tensor2D | null {
  if (installed.size === 0 || tf.getBackend() !== 'wasm') return null;
  return tf.engine().runKernel(MAX_NORM_KERNEL, { w }, { limit } as unknown as tf.NamedAttrMap) as tf.Tensor2D;
}

/**
 * dropoutMask (dropout-wasm.ts) on the native kernels: the same bits,
 * written to the heap at the tensors' offsets. False when the native kernels are off (the caller
 * runs the JavaScript loop).
 */
export function dropoutNative(
  backend: WasmHeapBackend, x: tf.TensorInfo, y: tf.TensorInfo, mask: tf.TensorInfo, n: number,
  masks: { threshold: number; scale: number; key: number },
): boolean {
  const load = loadNativeAddon();
  if (installed.size === 0 || !load.ok) return false;
  const offset = (t: tf.TensorInfo): number => heapOffset(backend, t, 'KdlabDropout');
  load.addon.dropout(backend.wasm.HEAPU8.buffer as ArrayBuffer, offset(x), offset(y), offset(mask), n, masks.threshold, masks.scale, masks.key);
  return true;
}

/** The element-wise step kernels of the addon (step-kernels-wasm.ts), or null when the native kernels are off. */
export function nativeStepKernels(): Pick<NativeAddon, 'columnSum' | 'leakyRelu' | 'leakyReluGrad'> | null {
  const load = loadNativeAddon();
  return installed.size > 0 && load.ok ? load.addon : null;
}

const installed = new Set<string>();
const previous = new Map<string, tf.KernelConfig>();

/**
 * Registers the OpenBLAS matmul kernels on the wasm backend, in front of whatever wasm kernel is
 * registered now (the fallback). Idempotent; call after the wasm backend is active.
 */
export function installNativeMatMul(addon: NativeAddon): string[] {
  for (const name of ['BatchMatMul', '_FusedMatMul']) {
    if (installed.has(name)) continue;
    const current = tf.getKernel(name, 'wasm');
    if (!current) continue;
    previous.set(name, current);
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel({ ...current, kernelFunc: nativeMatMul(addon, current.kernelFunc, name === '_FusedMatMul') });
    installed.add(name);
  }
  installNativeConv(addon);
  if (!tf.getKernel(DENSE_GRAD_KERNEL, 'wasm')) {
    tf.registerKernel({ kernelName: DENSE_GRAD_KERNEL, backendName: 'wasm', kernelFunc: denseGradKernel(addon) });
  }
  if (!tf.getKernel(MAX_NORM_KERNEL, 'wasm')) {
    tf.registerKernel({ kernelName: MAX_NORM_KERNEL, backendName: 'wasm', kernelFunc: maxNormKernel(addon) });
  }
  return [...installed];
}

/** The kernels the native path has taken over in this process (empty on pure wasm). */
export function nativeKernelNames(): string[] {
  return [...installed];
}

export function configureBlas(addon: NativeAddon, addonPath: string, threads: number): BlasInfo {
  addon.setThreads(threads);
  const info = addon.info();
  return { library: info.config, core: info.core, family: blasKernelFamily(), threading: info.parallel, threads: info.threads, addonPath };
}

/** Puts back the kernels that were registered before installNativeMatMul (pure wasm again). */
export function uninstallNativeMatMul(): void {
  for (const [name, config] of previous) {
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel(config);
  }
  previous.clear();
  installed.clear();
  uninstallNativeConv();
  for (const name of [DENSE_GRAD_KERNEL, MAX_NORM_KERNEL]) {
    if (tf.getKernel(name, 'wasm')) tf.unregisterKernel(name, 'wasm');
  }
}

/**
 * Turns the native kernels on or off in this process (the wasm backend stays; only kernel
 * registrations change), e.g. to time both paths on the same model. Returns whether they are on.
 */
export function setNativeKernels(on: boolean): boolean {
  const load = loadNativeAddon();
  if (!on || !load.ok || tf.getBackend() !== 'wasm') {
    uninstallNativeMatMul();
    return false;
  }
  installNativeMatMul(load.addon);
  return true;
}

/**
 * BLAS threads in each worker process: the workers, not threads inside them, share the cores. A
 * run's digits depend on it (withBlasThreads), so the teacher's cached logits are computed with it
 * (teacherLogitsCached); a run spec's own count is its blasThreads (runs/execute.ts sets it).
 */
export const WORKER_BLAS_THREADS = 1;

/** Sets OpenBLAS's thread count for this process; returns the count in effect (0 without the addon). */
export function setBlasThreads(n: number): number {
  const load = loadNativeAddon();
  return load.ok ? load.addon.setThreads(n) : 0;
}

/**
 * Runs `fn` with OpenBLAS set to `n` threads and puts the previous count back afterwards (a no-op
 * without the addon). OpenBLAS's sums come out in a different order with a different thread count,
 * so a run reproduces another run's digits only with the same count: the run engine trains each
 * spec inside this at its blasThreads, in a worker or in-process alike.
 */
export async function withBlasThreads<T>(n: number, fn: () => Promise<T>): Promise<T> {
  const restore = switchBlasThreads(n, 'withBlasThreads');
  try {
    return await fn();
  } finally {
    restore();
  }
}

/** withBlasThreads for synchronous work. */
export function withBlasThreadsSync<T>(n: number, fn: () => T): T {
  const restore = switchBlasThreads(n, 'withBlasThreadsSync');
  try {
    return fn();
  } finally {
    restore();
  }
}

/** Sets the count to `n` and returns what puts the previous one back. */
function switchBlasThreads(n: number, caller: string): () => void {
  if (!(Number.isInteger(n) && n >= 1)) {
    throw new InputError('BAD_INPUT', `${caller}: the thread count must be an integer >= 1, got ${n}.`);
  }
  const load = loadNativeAddon();
  if (!load.ok) return () => undefined;
  const before = load.addon.info().threads;
  load.addon.setThreads(n);
  return () => load.addon.setThreads(before);
}

/**
 * GFLOP/s of plain cblas_sgemm (m×k by k×n, no tfjs involved) on this machine with the current
 * thread count: the practical ceiling for the matmuls inside a training step. null without the addon.
 */
export function plainSgemmGflops(m: number, n: number, k: number, transA: boolean, transB: boolean, reps: number): number | null {
  const load = loadNativeAddon();
  if (!load.ok) return null;
  const floats = m * k + k * n + m * n;
  const heap = new ArrayBuffer(4 * floats);
  const f = new Float32Array(heap);
  for (let i = 0; i < f.length; i++) f[i] = ((i * 7919) % 1000) / 1000 - 0.5;
  const aOff = 0;
  const bOff = 4 * m * k;
  const cOff = 4 * (m * k + k * n);
  const call = (): void => load.addon.gemm(heap, transA, transB, 1, m, n, k, aOff, 0, bOff, 0, cOff, -1, 0, 0, 0);
  for (let i = 0; i < 3; i++) call();
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) call();
  const seconds = (performance.now() - t0) / 1000;
  return (2 * m * n * k * reps) / seconds / 1e9;
}
