import * as tf from '@tensorflow/tfjs';
import { KdlabError } from '../errors';

/**
 * The parts of tfjs's wasm backend our kernels use to work on tensors where they live: the
 * heap, each tensor's byte offset in it, and output allocation. One place for every kernel
 * (native.ts, the conv gradients) so the rule below is written once.
 */
export interface WasmHeapBackend {
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  wasm: { HEAPU8: Uint8Array };
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
  disposeData(dataId: object): boolean;
}

/** A tensor's byte offset in the wasm heap; `kernel` names the caller in the error. */
export function heapOffset(backend: WasmHeapBackend, t: tf.TensorInfo, kernel: string): number {
  const entry = backend.dataIdMap.get(t.dataId);
  if (!entry) throw new KdlabError('BACKEND_STATE', `${kernel} (wasm): a tensor has no wasm memory (disposed?).`);
  return entry.memoryOffset;
}

/**
 * A Float32Array over a tensor's n floats. Take views after every allocation: growing the heap
 * replaces its buffer and detaches older views.
 */
export function heapView(backend: WasmHeapBackend, t: tf.TensorInfo, n: number, kernel: string): Float32Array {
  return new Float32Array(backend.wasm.HEAPU8.buffer, heapOffset(backend, t, kernel), n);
}

/**
 * Registers a wasm kernel whose forward pass already computed the derivative of its first output
 * with respect to one input, and returned it as its output number `gradientOutput`: the backward
 * pass is dy · that saved output (the fused loss and dropout kernels).
 */
export function registerKernelWithSavedGradient(
  kernelName: string,
  kernelFunc: unknown,
  input: string,
  outputs: number,
  gradientOutput: number,
): void {
  tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc: kernelFunc as tf.KernelFunc });
  tf.registerGradient({
    kernelName,
    outputsToSave: Array.from({ length: outputs }, (_, i) => i === gradientOutput),
    gradFunc: (dy, saved) => {
      const dFirst = Array.isArray(dy) ? dy[0] : dy;
      return { [input]: () => tf.mul(dFirst, saved[0]) };
    },
  });
}
