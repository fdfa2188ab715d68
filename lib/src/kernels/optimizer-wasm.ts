import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { KdlabError } from '../errors';

/**
 * The optimizer's element-wise kernels: Adam and momentum SGD as WebAssembly SIMD functions
 * (adam.wat, momentum.wat) on the tfjs wasm heap, and `fusedUpdate`, which runs an update as one pass over the tensors'
 * memory (SIMD kernel first, then a JavaScript loop for the tail or on other backends).
 */

interface WasmInternals {
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  refCount(dataId: object): number;
  wasm: { HEAPU8: Uint8Array };
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
}

function wasmInternals(): WasmInternals | null {
  if (tf.getBackend() !== 'wasm') return null;
  const b = tf.backend() as unknown as Partial<WasmInternals>;
  return b.dataIdMap && b.wasm && b.makeOutput ? (b as WasmInternals) : null;
}

/**
 * The optimizer's SIMD kernels, each a WebAssembly function that runs directly on the tfjs wasm
 * heap (it imports the backend's own WebAssembly.Memory). Sources: adam.wat and momentum.wat
 * beside this file; the build assembles them to dist/kernels/*.wasm (tools/scripts/assemble-wat.js).
 */
function kernelWasmBytes(name: string): Uint8Array | null {
  const candidates = [
    path.join(__dirname, `${name}.wasm`),
    path.join(__dirname, '..', '..', 'dist', 'kernels', `${name}.wasm`),
  ];
  const file = candidates.find((f) => fs.existsSync(f));
  return file ? new Uint8Array(fs.readFileSync(file)) : null;
}

/** adam(w, g, m, v, w2, m2, v2, n, b1, 1-b1, b2, 1-b2, a, epsHat): see adam.wat. */
export type AdamKernel = (
  w: number, g: number, m: number, v: number, w2: number, m2: number, v2: number, n: number,
  b1: number, ob1: number, b2: number, ob2: number, a: number, epsHat: number,
) => void;

/** momentum(w, g, a, w2, a2, n, mu, d, lr): see momentum.wat. */
export type MomentumKernel = (w: number, g: number, a: number, w2: number, a2: number, n: number, mu: number, d: number, lr: number) => void;

const kernels = new Map<string, { memory: WebAssembly.Memory; fn: unknown }>();

/** The exported function `name` of `name`.wasm bound to the active wasm backend's memory, or null where it cannot run. */
function wasmKernel(name: string): unknown {
  const b = tf.backend() as unknown as { wasm?: { asm?: { memory?: unknown } } };
  const memory = b.wasm?.asm?.memory;
  if (!(memory instanceof WebAssembly.Memory)) return null;
  if (typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer) return null;
  const cached = kernels.get(name);
  if (cached && cached.memory === memory) return cached.fn;
  let fn: unknown = null;
  const bytes = kernelWasmBytes(name);
  if (bytes) {
    try {
      const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
      fn = instance.exports[name] ?? null;
    } catch {
      fn = null;
    }
  }
  kernels.set(name, { memory, fn });
  return fn;
}

/** The SIMD Adam kernel on the active wasm backend's memory, or null where it cannot run. */
export function wasmAdam(): AdamKernel | null {
  return wasmKernel('adam') as AdamKernel | null;
}

/** The SIMD momentum-SGD kernel on the active wasm backend's memory, or null where it cannot run. */
export function wasmMomentum(): MomentumKernel | null {
  return wasmKernel('momentum') as MomentumKernel | null;
}

/** Which Adam implementation runs on the active backend: one wasm SIMD pass, or a JavaScript loop. */
export function adamImplementation(): 'wasm-simd' | 'javascript' {
  return wasmInternals() && wasmAdam() ? 'wasm-simd' : 'javascript';
}

/**
 * The wasm kernels whose XNNPACK operators tfjs-wasm caches by the tensor's buffer id (packed
 * weights): a buffer one of them has seen must never change in place, or the cached operator
 * would go on multiplying by the old values. watchXnnpackInputs records every buffer they are
 * given (all of their inputs, conservatively); the native kernels never cache.
 */
const XNNPACK_CACHING_KERNELS = ['_FusedMatMul', 'BatchMatMul', 'Conv2D', 'FusedConv2D', 'DepthwiseConv2dNative', 'FusedDepthwiseConv2D', 'Conv2DBackpropInput', 'Prelu'];
const seenByXnnpack = new WeakSet<object>();
const watched = new Set<string>();

/**
 * Wraps the wasm kernels registered now under XNNPACK_CACHING_KERNELS so that they record the
 * buffers they see. Call after the wasm fixes are installed and before the native kernels go in
 * front of them (those keep these as their fallbacks, so a fallback records too). Idempotent.
 */
export function watchXnnpackInputs(): void {
  for (const name of XNNPACK_CACHING_KERNELS) {
    if (watched.has(name)) continue;
    const current = tf.getKernel(name, 'wasm');
    if (!current) continue;
    watched.add(name);
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel({
      ...current,
      kernelFunc: (args) => {
        for (const t of Object.values(args.inputs)) if (t) seenByXnnpack.add(t.dataId);
        return current.kernelFunc(args);
      },
    });
  }
}

/**
 * Element-wise update kernels run as one JavaScript loop over the tensors' memory: tfjs's own
 * Adam issues ~13 separate element-wise ops (and allocations) per variable per step, which on
 * wasm cost about as much as the whole backward pass. Inputs are read in place.
 *
 * Output k is written over input `inPlace[k]`, and that input tensor returned as the output,
 * when every such input's buffer belongs to it alone (the backend's reference count is 1: no
 * clone, reshape or saved copy shares it) and no XNNPACK operator has seen it (see
 * watchXnnpackInputs: in practice, on the native path). Otherwise the outputs are new tensors.
 * In place the update reads and writes each buffer once; into new buffers it measured 2.1 ms
 * instead of 1.3 ms per step for the 2×800 student's 1.27M parameters (Adam).
 */
export function fusedUpdate(
  inputs: tf.Tensor[],
  outputs: number,
  body: (ins: Float32Array[], outs: Float32Array[], start: number, n: number) => void,
  simd?: (ins: number[], outs: number[], n4: number) => void,
  inPlace?: number[],
): tf.Tensor[] {
  const shape = inputs[0].shape;
  const n = inputs[0].size;
  const wasm = wasmInternals();
  if (wasm) {
    // A plain loop, not Array.prototype.every, which notebook code may have patched: overwriting a
    // shared buffer would corrupt another tensor.
    let overwrite = inPlace !== undefined && inPlace.length === outputs;
    for (let j = 0; overwrite && inPlace !== undefined && j < inPlace.length; j++) {
      const id = inputs[inPlace[j]].dataId;
      overwrite = wasm.refCount(id) === 1 && !seenByXnnpack.has(id);
    }
    const infos: tf.TensorInfo[] = [];
    if (!overwrite) for (let i = 0; i < outputs; i++) infos.push(wasm.makeOutput(shape, 'float32'));
    const offset = (dataId: object) => {
      const entry = wasm.dataIdMap.get(dataId);
      if (!entry) throw new KdlabError('BACKEND_STATE', 'optimizer: a tensor has no wasm memory (disposed?).');
      return entry.memoryOffset;
    };
    const inPtr = inputs.map((t) => offset(t.dataId));
    const outPtr = overwrite ? (inPlace as number[]).map((k) => inPtr[k]) : infos.map((info) => offset(info.dataId));
    const n4 = simd ? n - (n % 4) : 0;
    // Element j of every output depends on element j of the inputs only, and each kernel reads
    // an element's inputs before it writes it: writing over an input is safe.
    if (simd && n4 > 0) simd(inPtr, outPtr, n4);
    if (n4 < n) {
      // Views are taken after every allocation: growing the wasm heap detaches older views.
      const heap = wasm.wasm.HEAPU8.buffer;
      body(inPtr.map((p) => new Float32Array(heap, p, n)), outPtr.map((p) => new Float32Array(heap, p, n)), n4, n);
    }
    if (overwrite) return (inPlace as number[]).map((k) => inputs[k]);
    return infos.map((info) => tf.engine().makeTensorFromTensorInfo(info));
  }
  const outs = Array.from({ length: outputs }, () => new Float32Array(n));
  body(inputs.map((t) => t.dataSync() as Float32Array), outs, 0, n);
  return outs.map((o) => tf.tensor(o, shape, 'float32'));
}
