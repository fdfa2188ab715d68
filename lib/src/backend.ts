import * as tf from '@tensorflow/tfjs';
import { BackendError } from './errors';
import { installWasmMatMulFix } from './kernels/wasm-matmul';
import { installWasmConvKernels } from './kernels/conv-wasm';
import { installFusedSoftmaxLoss } from './kernels/softmax-loss-wasm';
import { installFusedDropout } from './kernels/dropout-wasm';
import { installStepKernels } from './kernels/step-kernels-wasm';
import { watchXnnpackInputs } from './kernels/optimizer-wasm';
import {
  blasThreadsWanted, configureBlas, ENABLE_NATIVE_HINT, installNativeMatMul, loadNativeAddon,
  uninstallNativeMatMul, type BlasInfo,
} from './kernels/native';

/**
 * `native` is the tfjs wasm backend with the matmul kernels computed by OpenBLAS (the optional
 * addon in lib/native); `wasm` is pure WebAssembly; `tensorflow` is tfjs-node, where it installs.
 */
export type BackendName = 'tensorflow' | 'native' | 'wasm' | 'cpu';
export type { BlasInfo, BlasKernelFamily, BlasPin } from './kernels/native';
export { blasKernelFamily, describeBlasKernelFamily } from './kernels/native';

export interface BackendInfo {
  /** The tfjs backend that runs every op from now on. */
  name: BackendName;
  tfjsVersion: string;
  /** WebAssembly SIMD in use (wasm backend only). */
  simd: boolean;
  /** Threads one op may use inside this process (grids add processes, not threads). */
  threads: number;
  /** Why this backend was chosen, in words a reader can act on. */
  reason: string;
  /** The tfjs backend underneath (`native` runs on tfjs's wasm backend). */
  tfjsBackend: 'tensorflow' | 'wasm' | 'cpu';
  /** Kernels that do not run on tfjs's own implementation of the backend, by name. */
  nativeKernels: string[];
  /** The BLAS library behind the native kernels (native only). */
  blas?: BlasInfo;
  /** How to turn the native kernels on, when they are not running and could be. */
  nativeHint?: string;
}

// native first: it is the path the tests cover (CI builds it); tfjs-node, whose install needs
// libtensorflow from outside the npm registry, only where the OpenBLAS kernels are not built.
const BACKEND_NAMES: readonly BackendName[] = ['native', 'tensorflow', 'wasm', 'cpu'];

let current: { forced: BackendName | undefined; info: Promise<BackendInfo> } | undefined;

function isModuleMissing(err: unknown, moduleName: string): boolean {
  const e = err as { code?: string; message?: string };
  return e?.code === 'MODULE_NOT_FOUND' && String(e.message).includes(moduleName);
}

/** tfjs-node registers the `tensorflow` backend on the shared tfjs-core when it loads. */
function tryLoadNative(): { ok: true } | { ok: false; why: string } {
  try {
    require('@tensorflow/tfjs-node');
    return { ok: true };
  } catch (err) {
    if (isModuleMissing(err, '@tensorflow/tfjs-node')) {
      return { ok: false, why: '@tensorflow/tfjs-node is not installed (its libtensorflow download needs general internet)' };
    }
    return { ok: false, why: `@tensorflow/tfjs-node failed to load: ${(err as Error).message.split('\n')[0]}` };
  }
}

function tryLoadWasm(): { ok: true } | { ok: false; why: string } {
  try {
    require('@tensorflow/tfjs-backend-wasm');
    return { ok: true };
  } catch (err) {
    return { ok: false, why: `@tensorflow/tfjs-backend-wasm failed to load: ${(err as Error).message.split('\n')[0]}` };
  }
}

/** The cpu backend greets Node users with an "install tfjs-node" banner on first write; we print our own line. */
function silenceCpuBanner(): void {
  const cpu = tf.findBackend('cpu') as unknown as { firstUse?: boolean } | null;
  if (cpu && 'firstUse' in cpu) cpu.firstUse = false;
}

function parseForced(value: string | undefined): BackendName | undefined {
  if (value === undefined || value === '') return undefined;
  if ((BACKEND_NAMES as readonly string[]).includes(value)) return value as BackendName;
  throw new BackendError(
    `KDLAB_BACKEND=${value} is not a backend this workbook knows. Use one of ${BACKEND_NAMES.join(', ')}, or unset it to pick automatically.`,
  );
}

async function activate(name: BackendName): Promise<boolean> {
  try {
    const ok = await tf.setBackend(name);
    await tf.ready();
    return ok && tf.getBackend() === name;
  } catch {
    return false;
  }
}

async function choose(forced: BackendName | undefined): Promise<BackendInfo> {
  const notes: string[] = [];
  const order: BackendName[] = forced ? [forced] : [...BACKEND_NAMES];
  let nativeHint: string | undefined;
  for (const name of order) {
    if (name === 'tensorflow') {
      const r = tryLoadNative();
      if (!r.ok) {
        notes.push(r.why);
        continue;
      }
    }
    const addon = name === 'native' ? loadNativeAddon() : undefined;
    if (addon && !addon.ok) {
      notes.push(addon.why);
      nativeHint = `${addon.why}; to enable them: ${ENABLE_NATIVE_HINT}`;
      continue;
    }
    if (name === 'wasm' || name === 'native') {
      const r = tryLoadWasm();
      if (!r.ok) {
        notes.push(r.why);
        continue;
      }
    }
    const tfjsBackend = name === 'native' ? 'wasm' : name;
    if (!(await activate(tfjsBackend))) {
      notes.push(`backend ${name} did not initialise`);
      continue;
    }
    silenceCpuBanner();
    let simd = false;
    let threads = 1;
    let blas: BlasInfo | undefined;
    let nativeKernels: string[] = [];
    if (tfjsBackend === 'wasm') {
      installWasmMatMulFix();
      installWasmConvKernels();
      installFusedSoftmaxLoss();
      installFusedDropout();
      installStepKernels();
      // After the wasm fixes, before the native kernels: see fusedUpdate's in-place rule.
      watchXnnpackInputs();
      simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
      const wasm = require('@tensorflow/tfjs-backend-wasm') as { getThreadsCount?: () => number };
      threads = wasm.getThreadsCount?.() ?? 1;
      if (addon?.ok) {
        nativeKernels = installNativeMatMul(addon.addon);
        blas = configureBlas(addon.addon, addon.path, blasThreadsWanted());
        threads = blas.threads;
      } else {
        uninstallNativeMatMul();
      }
    } else if (name === 'tensorflow') {
      threads = require('node:os').availableParallelism?.() ?? 1;
    }
    const reason = forced
      ? `forced by KDLAB_BACKEND=${forced}`
      : notes.length === 0
        ? name === 'native'
          ? 'the OpenBLAS kernels are built'
          : 'native TensorFlow (tfjs-node) is installed'
        : `${notes.join('; ')}; using ${name}`;
    // Forcing pure wasm is a choice, not a missing install: no hint then.
    const hint = name === 'wasm' && !forced ? nativeHint : undefined;
    return {
      name, tfjsVersion: tf.version.tfjs, simd, threads, reason, tfjsBackend, nativeKernels,
      ...(blas ? { blas } : {}), ...(hint ? { nativeHint: hint } : {}),
    };
  }
  if (forced) {
    throw new BackendError(
      `KDLAB_BACKEND=${forced} was requested but is not available: ${notes.join('; ')}. ` +
        (forced === 'tensorflow'
          ? 'Install @tensorflow/tfjs-node (needs internet for libtensorflow) or unset KDLAB_BACKEND.'
          : forced === 'native'
            ? `To build them: ${ENABLE_NATIVE_HINT}; or unset KDLAB_BACKEND to fall back to wasm.`
            : 'Run `npm ci` again, or unset KDLAB_BACKEND to pick automatically.'),
    );
  }
  throw new BackendError(`No tfjs backend could start: ${notes.join('; ')}. Run \`npm ci\` again.`);
}

function pinNote(blas: BlasInfo): string {
  return blas.family.pinned === 'haswell-default' ? ' pinned' : blas.family.pinned === 'user' ? ' by OPENBLAS_CORETYPE' : ' (this CPU\'s pick)';
}

/** One line for notebooks, the CLI and benchmarks: which backend runs and why. */
export function describeBackend(info: BackendInfo): string {
  const plural = (n: number): string => `${n} thread${n === 1 ? '' : 's'}`;
  const blasName = info.blas ? info.blas.library.split(' ').slice(0, 2).join(' ') : '';
  const detail =
    info.name === 'native' && info.blas
      ? ` (${info.nativeKernels.join(' and ')} on ${blasName} ${info.blas.core}${pinNote(info.blas)}, ${plural(info.blas.threads)}; ` +
        `other ops on wasm ${info.simd ? 'SIMD' : 'without SIMD'})`
      : info.name === 'wasm'
        ? ` (${info.simd ? 'SIMD' : 'no SIMD'}, ${plural(info.threads)}, transposed-matmul fix on)`
        : info.name === 'cpu'
          ? ' (pure JavaScript: slow)'
          : '';
  const hint = info.nativeHint ? `. Native kernels off: ${info.nativeHint}` : '';
  return `kdlab: tfjs ${info.tfjsVersion} backend ${info.name}${detail} — ${info.reason}${hint}`;
}

/**
 * Picks and activates the fastest backend that works here: native (wasm with OpenBLAS matmuls) >
 * tensorflow (tfjs-node) > wasm > cpu,
 * or the one named by KDLAB_BACKEND / `options.backend`. Idempotent: later calls return the
 * same answer (and print nothing) unless they force a different backend.
 */
export async function initBackend(options: { backend?: BackendName; quiet?: boolean } = {}): Promise<BackendInfo> {
  const forced = options.backend ?? parseForced(process.env.KDLAB_BACKEND);
  if (current && current.forced === forced) return current.info;
  const info = choose(forced);
  current = { forced, info };
  try {
    const resolved = await info;
    if (!options.quiet) console.log(describeBackend(resolved));
    return resolved;
  } catch (err) {
    // A failed attempt must not poison later calls.
    if (current?.info === info) current = undefined;
    throw err;
  }
}
