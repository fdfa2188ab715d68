import * as tf from '@tensorflow/tfjs';
import { KdlabError } from '../errors';

/**
 * Stock tfjs-wasm multiplies with a transposed operand about 40x slower than without
 * (it walks the transposed matrix with a cache-hostile stride). Dense-layer backward passes
 * are all transposed products, so training spends most of its time there. We re-register
 * `BatchMatMul` and `_FusedMatMul` so that a transposed operand is first transposed
 * explicitly (cheap, O(n^2)) and the fast untransposed path does the O(n^3) work.
 */

type KernelArgs = Parameters<tf.KernelFunc>[0];
type TensorInfo = tf.TensorInfo;
interface WasmBackendLike {
  disposeData(dataId: object): boolean;
}

const patched = new Set<string>();

function swapLastTwo(rank: number): number[] {
  const perm = Array.from({ length: rank }, (_, i) => i);
  perm[rank - 2] = rank - 1;
  perm[rank - 1] = rank - 2;
  return perm;
}

function wrapWithExplicitTranspose(stock: tf.KernelFunc, transposeKernel: tf.KernelFunc): tf.KernelFunc {
  return (args: KernelArgs) => {
    const attrs = args.attrs as { transposeA?: boolean; transposeB?: boolean } | undefined;
    if (!attrs || (!attrs.transposeA && !attrs.transposeB)) return stock(args);
    const backend = args.backend as unknown as WasmBackendLike;
    const inputs = { ...args.inputs } as Record<string, TensorInfo>;
    const temporaries: TensorInfo[] = [];
    const transposed = (x: TensorInfo): TensorInfo => {
      const t = transposeKernel({
        inputs: { x },
        backend: args.backend,
        attrs: { perm: swapLastTwo(x.shape.length) },
      }) as TensorInfo;
      temporaries.push(t);
      return t;
    };
    if (attrs.transposeA) inputs.a = transposed(inputs.a);
    if (attrs.transposeB) inputs.b = transposed(inputs.b);
    try {
      return stock({ ...args, inputs, attrs: { ...attrs, transposeA: false, transposeB: false } });
    } finally {
      for (const t of temporaries) backend.disposeData(t.dataId);
    }
  };
}

/**
 * Replaces the wasm matmul kernels with the explicit-transpose versions. Idempotent.
 * Returns false when the wasm kernels are not registered (wasm backend not loaded).
 */
export function installWasmMatMulFix(): boolean {
  const stockBmm = tf.getKernel('BatchMatMul', 'wasm');
  const transposeKernel = tf.getKernel('Transpose', 'wasm');
  if (!stockBmm || !transposeKernel) return false;
  if (patched.size > 0) return true;
  stockBmmOriginal = stockBmm.kernelFunc;
  for (const name of ['BatchMatMul', '_FusedMatMul']) {
    const stock = tf.getKernel(name, 'wasm');
    if (!stock) continue;
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel({ ...stock, kernelFunc: wrapWithExplicitTranspose(stock.kernelFunc, transposeKernel.kernelFunc) });
    patched.add(name);
  }
  return true;
}

let stockBmmOriginal: tf.KernelFunc | undefined;

/** Runs the stock (unpatched) wasm BatchMatMul; for tests and the benchmark only. */
export function stockWasmMatMul(a: tf.Tensor, b: tf.Tensor, transposeA: boolean, transposeB: boolean): tf.Tensor {
  if (!stockBmmOriginal) {
    throw new KdlabError('BACKEND_STATE', 'stockWasmMatMul: the wasm backend is not active or its matmul kernels are not patched (call initBackend first).');
  }
  const kernel = stockBmmOriginal;
  // Route through the engine so that the output is a tracked tensor like any op result.
  const a3 = a.rank === 2 ? a.expandDims(0) : a;
  const b3 = b.rank === 2 ? b.expandDims(0) : b;
  const backend = tf.backend();
  const info = kernel({ inputs: { a: a3, b: b3 }, backend, attrs: { transposeA, transposeB } }) as TensorInfo;
  const out = tf.engine().makeTensorFromTensorInfo(info);
  if (a3 !== a) a3.dispose();
  if (b3 !== b) b3.dispose();
  if (a.rank !== 2 || b.rank !== 2) return out;
  const squeezed = out.squeeze([0]);
  out.dispose();
  return squeezed;
}
