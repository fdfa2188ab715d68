import * as tf from '@tensorflow/tfjs';
import { KdlabError } from '../errors';

/**
 * The optimizer's element-wise kernels: Adam as one hand-assembled WebAssembly SIMD function on
 * the tfjs wasm heap, and `fusedUpdate`, which runs an update as one pass over the tensors'
 * memory (SIMD kernel first, then a JavaScript loop for the tail or on other backends).
 */

interface WasmInternals {
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  wasm: { HEAPU8: Uint8Array };
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
}

function wasmInternals(): WasmInternals | null {
  if (tf.getBackend() !== 'wasm') return null;
  const b = tf.backend() as unknown as Partial<WasmInternals>;
  return b.dataIdMap && b.wasm && b.makeOutput ? (b as WasmInternals) : null;
}

/**
 * Adam's update as one hand-assembled WebAssembly SIMD function that runs directly on the tfjs
 * wasm heap (it imports the backend's own WebAssembly.Memory). tfjs's Adam issues ~13
 * element-wise ops per variable (each a pass over 1.3M floats plus an allocation), and a plain
 * JavaScript loop is no faster; one f32x4 pass is ~4x cheaper than either.
 *
 * adam(w, g, m, v, w2, m2, v2, n, b1, 1-b1, b2, 1-b2, a, epsHat) for n (multiple of 4) floats:
 *   m2 = b1·m + (1-b1)·g;  v2 = b2·v + (1-b2)·g·g;  w2 = w − a·m2 / (sqrt(v2) + epsHat)
 * which is textbook Adam with a = lr·sqrt(1-b2^t)/(1-b1^t) and epsHat = eps·sqrt(1-b2^t).
 */
function adamWasmBytes(): Uint8Array {
  const simd = (op: number) => (op < 0x80 ? [0xfd, op] : [0xfd, (op & 0x7f) | 0x80, op >> 7]);
  const get = (i: number) => [0x20, i];
  const set = (i: number) => [0x21, i];
  const load = (base: number) => [...get(base), ...get(14), 0x6a, ...simd(0x00), 0x00, 0x00];
  const F32X4 = { splat: 0x13, sqrt: 0xe3, add: 0xe4, sub: 0xe5, mul: 0xe6, div: 0xe7 };
  const store = [...simd(0x0b), 0x00, 0x00];
  const body = [
    // locals: 14 i, 15 end (i32); 16 g, 17 m, 18 v, 19..24 splats (v128)
    0x02, 0x02, 0x7f, 0x09, 0x7b,
    ...get(7), 0x41, 0x02, 0x74, ...set(15),
    ...[8, 9, 10, 11, 12, 13].flatMap((p, k) => [...get(p), ...simd(F32X4.splat), ...set(19 + k)]),
    0x02, 0x40,
    ...get(14), ...get(15), 0x4f, 0x0d, 0x00,
    0x03, 0x40,
    ...load(1), ...set(16),
    ...get(19), ...load(2), ...simd(F32X4.mul), ...get(20), ...get(16), ...simd(F32X4.mul), ...simd(F32X4.add), ...set(17),
    ...get(21), ...load(3), ...simd(F32X4.mul), ...get(22), ...get(16), ...simd(F32X4.mul), ...get(16), ...simd(F32X4.mul),
    ...simd(F32X4.add), ...set(18),
    ...get(5), ...get(14), 0x6a, ...get(17), ...store,
    ...get(6), ...get(14), 0x6a, ...get(18), ...store,
    ...get(4), ...get(14), 0x6a,
    ...load(0), ...get(23), ...get(17), ...simd(F32X4.mul), ...get(18), ...simd(F32X4.sqrt), ...get(24), ...simd(F32X4.add),
    ...simd(F32X4.div), ...simd(F32X4.sub), ...store,
    ...get(14), 0x41, 0x10, 0x6a, 0x22, 14, ...get(15), 0x49, 0x0d, 0x00,
    0x0b, 0x0b, 0x0b,
  ];
  const section = (id: number, content: number[]) => [id, ...leb(content.length), ...content];
  const leb = (n: number) => {
    const out: number[] = [];
    do {
      let byte = n & 0x7f;
      n >>>= 7;
      if (n !== 0) byte |= 0x80;
      out.push(byte);
    } while (n !== 0);
    return out;
  };
  const name = (s: string) => [s.length, ...Array.from(s, (c) => c.charCodeAt(0))];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [0x01, 0x60, 14, ...new Array(8).fill(0x7f), ...new Array(6).fill(0x7d), 0x00]),
    ...section(2, [0x01, ...name('env'), ...name('memory'), 0x02, 0x00, 0x01]),
    ...section(3, [0x01, 0x00]),
    ...section(7, [0x01, ...name('adam'), 0x00, 0x00]),
    ...section(10, [0x01, ...leb(body.length), ...body]),
  ]);
}

export type AdamKernel = (
  w: number, g: number, m: number, v: number, w2: number, m2: number, v2: number, n: number,
  b1: number, ob1: number, b2: number, ob2: number, a: number, epsHat: number,
) => void;

let adamKernel: { memory: WebAssembly.Memory; fn: AdamKernel | null } | undefined;

/** The SIMD Adam kernel bound to the active wasm backend's memory, or null where it cannot run. */
export function wasmAdam(): AdamKernel | null {
  const b = tf.backend() as unknown as { wasm?: { asm?: { memory?: unknown } } };
  const memory = b.wasm?.asm?.memory;
  if (!(memory instanceof WebAssembly.Memory)) return null;
  if (typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer) return null;
  if (adamKernel && adamKernel.memory === memory) return adamKernel.fn;
  let fn: AdamKernel | null = null;
  try {
    const module = new WebAssembly.Module(adamWasmBytes());
    const instance = new WebAssembly.Instance(module, { env: { memory } });
    fn = instance.exports.adam as AdamKernel;
  } catch {
    fn = null; // no WebAssembly SIMD here: the JavaScript loop does the work
  }
  adamKernel = { memory, fn };
  return fn;
}

/** Which Adam implementation runs on the active backend: one wasm SIMD pass, or a JavaScript loop. */
export function adamImplementation(): 'wasm-simd' | 'javascript' {
  return wasmInternals() && wasmAdam() ? 'wasm-simd' : 'javascript';
}

/**
 * Element-wise update kernels run as one JavaScript loop over the tensors' memory: tfjs's own
 * Adam issues ~13 separate element-wise ops (and allocations) per variable per step, which on
 * wasm cost about as much as the whole backward pass. Inputs are read in place; outputs are new
 * tensors (variables are re-pointed with assign), so no tensor that shares a buffer is changed.
 */
export function fusedUpdate(
  inputs: tf.Tensor[],
  outputs: number,
  body: (ins: Float32Array[], outs: Float32Array[], start: number, n: number) => void,
  simd?: (ins: number[], outs: number[], n4: number) => void,
): tf.Tensor[] {
  const shape = inputs[0].shape;
  const n = inputs[0].size;
  const wasm = wasmInternals();
  if (wasm) {
    const infos: tf.TensorInfo[] = [];
    for (let i = 0; i < outputs; i++) infos.push(wasm.makeOutput(shape, 'float32'));
    const offset = (dataId: object) => {
      const entry = wasm.dataIdMap.get(dataId);
      if (!entry) throw new KdlabError('BACKEND_STATE', 'optimizer: a tensor has no wasm memory (disposed?).');
      return entry.memoryOffset;
    };
    const inPtr = inputs.map((t) => offset(t.dataId));
    const outPtr = infos.map((info) => offset(info.dataId));
    const n4 = simd ? n - (n % 4) : 0;
    if (simd && n4 > 0) simd(inPtr, outPtr, n4);
    if (n4 < n) {
      // Views are taken after every allocation: growing the wasm heap detaches older views.
      const heap = wasm.wasm.HEAPU8.buffer;
      body(inPtr.map((p) => new Float32Array(heap, p, n)), outPtr.map((p) => new Float32Array(heap, p, n)), n4, n);
    }
    return infos.map((info) => tf.engine().makeTensorFromTensorInfo(info));
  }
  const outs = Array.from({ length: outputs }, () => new Float32Array(n));
  body(inputs.map((t) => t.dataSync() as Float32Array), outs, 0, n);
  return outs.map((o) => tf.tensor(o, shape, 'float32'));
}
