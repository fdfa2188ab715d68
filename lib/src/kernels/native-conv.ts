import * as tf from '@tensorflow/tfjs';
import { heapOffset, type WasmHeapBackend } from './wasm-heap';

/**
 * The native convolution and max-pool kernels for the tfjs **wasm** backend: `Conv2D`,
 * `FusedConv2D`, `Conv2DBackpropInput`, `Conv2DBackpropFilter`, `MaxPool` and `MaxPoolGrad`,
 * computed by lib/native/kdlab_conv.cc (im2col + OpenBLAS sgemm, pooling loops over contiguous
 * channels) on the tensors where they live in the wasm heap. On the conv teacher the stock
 * kernels (XNNPACK's convolution, tfjs-wasm's scalar MaxPoolGrad, the JavaScript im2col of
 * conv2d-backprop-*.ts) took most of a training step. The geometry (output size, padding) comes
 * from tfjs's own computeConv2DInfo / computePool2DInfo, so 'same', 'valid', explicit pads and
 * dimRoundingMode mean what they mean on every backend. Anything else (NCHW, dilations, other
 * dtypes, prelu, other bias shapes) goes to the kernel registered before, kept as the fallback.
 */

/** batch, inH, inW, inC, outH, outW, outC, filterH, filterW, strideH, strideW, padTop, padLeft. */
export type ConvGeometry = [
  batch: number, inHeight: number, inWidth: number, inChannels: number,
  outHeight: number, outWidth: number, outChannels: number,
  filterHeight: number, filterWidth: number, strideHeight: number, strideWidth: number,
  padTop: number, padLeft: number,
];

/**
 * The addon's convolution exports (kdlab_conv.cc); offsets are byte offsets into `heap`, and the
 * convolutions take the im2col chunk size in floats after the geometry.
 */
export interface NativeConvAddon {
  conv2d(
    heap: ArrayBuffer, xOff: number, wOff: number, yOff: number, biasOff: number, biasSize: number,
    activation: number, alpha: number, ...geometryAndChunk: [...ConvGeometry, number]
  ): void;
  conv2dBackpropInput(heap: ArrayBuffer, dyOff: number, wOff: number, dxOff: number, ...geometryAndChunk: [...ConvGeometry, number]): void;
  conv2dBackpropFilter(heap: ArrayBuffer, xOff: number, dyOff: number, dwOff: number, ...geometryAndChunk: [...ConvGeometry, number]): void;
  maxPool(heap: ArrayBuffer, xOff: number, yOff: number, ...geometry: ConvGeometry): void;
  maxPoolGrad(heap: ArrayBuffer, dyOff: number, xOff: number, dxOff: number, ...geometry: ConvGeometry): void;
}

type KernelArgs = Parameters<tf.KernelFunc>[0];
type TensorInfo = tf.TensorInfo;
type Pad = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
type Rounding = 'floor' | 'round' | 'ceil' | undefined;

interface ConvAttrs {
  strides: [number, number] | number;
  pad: Pad;
  dataFormat?: 'NHWC' | 'NCHW';
  dilations?: [number, number] | number;
  dimRoundingMode?: Rounding;
  activation?: string;
  leakyreluAlpha?: number;
}

interface PoolAttrs {
  filterSize: [number, number] | number;
  strides: [number, number] | number;
  pad: Pad;
  dimRoundingMode?: Rounding;
}

// The gemm kernel's activation codes (tfjs-wasm's FusableActivation); prelu is left to the fallback.
const ACTIVATION_CODES: Readonly<Record<string, number>> = { linear: 0, relu: 1, relu6: 2, leakyrelu: 4, sigmoid: 5, elu: 6 };

/** Largest im2col buffer per sgemm, in floats (16 MB), as the wasm kernels' colsLimitFloats. */
const DEFAULT_CHUNK_FLOATS = 4 * 1024 * 1024;
let chunkFloats = DEFAULT_CHUNK_FLOATS;

/** Sets the native kernels' im2col chunk in floats (tests use a tiny one to exercise chunking); returns the previous one. */
export function setNativeConvChunk(floats: number = DEFAULT_CHUNK_FLOATS): number {
  const before = chunkFloats;
  chunkFloats = Math.max(1, Math.floor(floats));
  return before;
}

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function dilationsOne(d: [number, number] | number | undefined): boolean {
  if (d === undefined) return true;
  if (typeof d === 'number') return d === 1;
  // Plain loops in this file, not Array.prototype methods, which notebook code may patch.
  for (const v of d) if (v !== 1) return false;
  return true;
}

function geometry(info: tf.backend_util.Conv2DInfo, outChannels: number): ConvGeometry {
  return [
    info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth, outChannels,
    info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth, info.padInfo.top, info.padInfo.left,
  ];
}

function float32(...ts: Array<TensorInfo | undefined>): boolean {
  for (const t of ts) if (t === undefined || t.dtype !== 'float32' || t.shape.length !== 4) return false;
  return true;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The heap and an offset reader; the heap is read after makeOutput, which may have grown (replaced) it. */
function heapOf(args: KernelArgs, kernel: string): { heap: ArrayBuffer; at: (t: TensorInfo) => number; backend: WasmHeapBackend } {
  const backend = args.backend as unknown as WasmHeapBackend;
  return { backend, heap: backend.wasm.HEAPU8.buffer as ArrayBuffer, at: (t) => heapOffset(backend, t, kernel) };
}

function conv2DKernel(addon: NativeConvAddon, fallback: tf.KernelFunc, fused: boolean): tf.KernelFunc {
  const name = fused ? 'FusedConv2D' : 'Conv2D';
  return (args: KernelArgs) => {
    const { x, filter, bias, preluActivationWeights } = args.inputs as Record<string, TensorInfo | undefined>;
    const attrs = args.attrs as unknown as ConvAttrs;
    const activation = fused ? ACTIVATION_CODES[attrs.activation ?? 'linear'] : 0;
    const biasSize = bias ? size(bias.shape) : 0;
    const biasOk = !bias || (bias.dtype === 'float32' && bias.shape.length <= 1 && (biasSize === 1 || biasSize === filter?.shape[3]));
    if (!x || !filter || !float32(x, filter) || attrs.dataFormat === 'NCHW' || !dilationsOne(attrs.dilations) ||
        filter.shape[2] !== x.shape[3] || activation === undefined || preluActivationWeights || !biasOk) {
      return fallback(args);
    }
    const info = tf.backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number], filter.shape as [number, number, number, number],
      attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast',
    );
    const backend = args.backend as unknown as WasmHeapBackend;
    const out = backend.makeOutput(info.outShape, 'float32');
    if (size(info.outShape) === 0) return out;
    const { heap, at } = heapOf(args, name);
    addon.conv2d(
      heap, at(x), at(filter), at(out), bias ? at(bias) : -1, biasSize, activation, attrs.leakyreluAlpha ?? 0,
      ...geometry(info, info.outChannels), chunkFloats,
    );
    return out;
  };
}

function backpropInputKernel(addon: NativeConvAddon, fallback: tf.KernelFunc): tf.KernelFunc {
  return (args: KernelArgs) => {
    const { dy, filter } = args.inputs as Record<string, TensorInfo | undefined>;
    const attrs = args.attrs as unknown as ConvAttrs & { inputShape: [number, number, number, number] };
    if (!dy || !filter || !float32(dy, filter) || attrs.dataFormat === 'NCHW' || attrs.inputShape?.length !== 4 ||
        filter.shape[2] !== attrs.inputShape[3]) {
      return fallback(args);
    }
    const info = tf.backend_util.computeConv2DInfo(
      attrs.inputShape, filter.shape as [number, number, number, number], attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast',
    );
    if (!sameShape(dy.shape, info.outShape)) return fallback(args);
    const backend = args.backend as unknown as WasmHeapBackend;
    const out = backend.makeOutput([...attrs.inputShape], 'float32');
    if (size(attrs.inputShape) === 0) return out;
    const { heap, at } = heapOf(args, 'Conv2DBackpropInput');
    addon.conv2dBackpropInput(heap, at(dy), at(filter), at(out), ...geometry(info, info.outChannels), chunkFloats);
    return out;
  };
}

function backpropFilterKernel(addon: NativeConvAddon, fallback: tf.KernelFunc): tf.KernelFunc {
  return (args: KernelArgs) => {
    const { x, dy } = args.inputs as Record<string, TensorInfo | undefined>;
    const attrs = args.attrs as unknown as ConvAttrs & { filterShape: [number, number, number, number] };
    if (!x || !dy || !float32(x, dy) || attrs.dataFormat === 'NCHW' || attrs.filterShape?.length !== 4 ||
        attrs.filterShape[2] !== x.shape[3]) {
      return fallback(args);
    }
    const info = tf.backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number], attrs.filterShape, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast',
    );
    if (!sameShape(dy.shape, info.outShape)) return fallback(args);
    const backend = args.backend as unknown as WasmHeapBackend;
    const out = backend.makeOutput([...attrs.filterShape], 'float32');
    if (size(attrs.filterShape) === 0) return out;
    const { heap, at } = heapOf(args, 'Conv2DBackpropFilter');
    addon.conv2dBackpropFilter(heap, at(x), at(dy), at(out), ...geometry(info, info.outChannels), chunkFloats);
    return out;
  };
}

function poolInfo(x: TensorInfo, attrs: PoolAttrs): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computePool2DInfo(
    x.shape as [number, number, number, number], attrs.filterSize, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode,
  );
}

function maxPoolKernel(addon: NativeConvAddon, fallback: tf.KernelFunc): tf.KernelFunc {
  return (args: KernelArgs) => {
    const { x } = args.inputs as Record<string, TensorInfo | undefined>;
    if (!x || !float32(x)) return fallback(args);
    const info = poolInfo(x, args.attrs as unknown as PoolAttrs);
    const backend = args.backend as unknown as WasmHeapBackend;
    const out = backend.makeOutput(info.outShape, 'float32');
    if (size(info.outShape) === 0) return out;
    const { heap, at } = heapOf(args, 'MaxPool');
    addon.maxPool(heap, at(x), at(out), ...geometry(info, info.inChannels));
    return out;
  };
}

function maxPoolGradKernel(addon: NativeConvAddon, fallback: tf.KernelFunc): tf.KernelFunc {
  return (args: KernelArgs) => {
    const { dy, input } = args.inputs as Record<string, TensorInfo | undefined>;
    if (!dy || !input || !float32(dy, input)) return fallback(args);
    const info = poolInfo(input, args.attrs as unknown as PoolAttrs);
    if (!sameShape(dy.shape, info.outShape)) return fallback(args);
    const backend = args.backend as unknown as WasmHeapBackend;
    const out = backend.makeOutput([...input.shape], 'float32');
    if (size(input.shape) === 0) return out;
    const { heap, at } = heapOf(args, 'MaxPoolGrad');
    // tfjs's maxPoolGrad finds each window's maximum again from the input (the `output` operand
    // goes unused), which decides ties by scan order; so does the addon.
    addon.maxPoolGrad(heap, at(dy), at(input), at(out), ...geometry(info, info.inChannels));
    return out;
  };
}

const KERNELS: Readonly<Record<string, (addon: NativeConvAddon, fallback: tf.KernelFunc) => tf.KernelFunc>> = {
  Conv2D: (a, f) => conv2DKernel(a, f, false),
  FusedConv2D: (a, f) => conv2DKernel(a, f, true),
  Conv2DBackpropInput: backpropInputKernel,
  Conv2DBackpropFilter: backpropFilterKernel,
  MaxPool: maxPoolKernel,
  MaxPoolGrad: maxPoolGradKernel,
};

const previous = new Map<string, tf.KernelConfig>();

/**
 * Registers the native convolution and pooling kernels on the wasm backend in front of the
 * kernels registered now (their fallbacks). A kernel with nothing registered yet is skipped, as
 * installNativeMatMul does. Idempotent; returns the kernels taken over.
 */
export function installNativeConv(addon: NativeConvAddon): string[] {
  for (const [name, make] of Object.entries(KERNELS)) {
    if (previous.has(name)) continue;
    const current = tf.getKernel(name, 'wasm');
    if (!current) continue;
    previous.set(name, current);
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel({ ...current, kernelFunc: make(addon, current.kernelFunc) });
  }
  return [...previous.keys()];
}

/** Puts back the kernels that were registered before installNativeConv. */
export function uninstallNativeConv(): void {
  for (const [name, config] of previous) {
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel(config);
  }
  previous.clear();
}

/** The kernels installNativeConv has taken over in this process. */
export function nativeConvKernelNames(): string[] {
  return [...previous.keys()];
}
