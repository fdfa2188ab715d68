import * as tf from '@tensorflow/tfjs';
import { KdlabError } from '../errors';
import { heapView, type WasmHeapBackend } from './wasm-heap';

/**
 * `Conv2DBackpropFilter` for the tfjs **wasm** backend, which (as of tfjs 4.22) registers Conv2D
 * and Conv2DBackpropInput but not this kernel: without it, the gradient of a conv2d's filter
 * throws on wasm and no convolutional network can train there.
 *
 * dW[r, c, i, o] = Σ_{b, y, x} X[b, y·s_h + r − pad_top, x·s_w + c − pad_left, i] · dY[b, y, x, o]
 *
 * computed as im2col + one matrix product per chunk of images: cols [M = images·outH·outW,
 * K = fh·fw·c_in] is written by a JavaScript loop straight into the wasm heap (zeros where the
 * window hangs over the padding), dY is laid out as [M, c_out], and dW = colsᵀ · dY runs through
 * whatever `BatchMatMul` kernel is registered for wasm: XNNPACK on pure wasm, OpenBLAS sgemm
 * when the native kernels are on (lib/src/kernels/native.ts). Same semantics as the cpu
 * backend's kernel (tfjs-backend-cpu Conv2DBackpropFilter): NHWC or NCHW, pad 'same' / 'valid'
 * / a number / explicit pairs, dimRoundingMode, dilations 1 (tfjs's conv2d gradient refuses
 * others).
 */

type KernelArgs = Parameters<tf.KernelFunc>[0];
type TensorInfo = tf.TensorInfo;

/** The attributes both convolution-gradient kernels share. */
export interface Conv2DGradAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | [[number, number], [number, number], [number, number], [number, number]];
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

interface Conv2DBackpropFilterAttrs extends Conv2DGradAttrs {
  filterShape: [number, number, number, number];
}

/** Largest im2col buffer per matrix product (floats): 4M floats = 16 MB; bigger batches are chunked. */
const DEFAULT_COLS_LIMIT = 4 * 1024 * 1024;
let colsLimit = DEFAULT_COLS_LIMIT;

/** The im2col / col2im buffer size per matrix product, in floats (both gradient kernels). */
export function colsLimitFloats(): number {
  return colsLimit;
}

/** Sets the im2col chunk size in floats (tests use a small one to exercise chunking); returns the previous one. */
export function setConv2DBackpropFilterChunk(floats: number = DEFAULT_COLS_LIMIT): number {
  const previous = colsLimit;
  colsLimit = Math.max(1, Math.floor(floats));
  return previous;
}

/**
 * Images b0 … b0+nb−1 of dY as a [nb·outHeight·outWidth, outChannels] matrix (rows: output
 * positions, as im2col lays them out): a copy in NHWC, a transpose per image in NCHW.
 * Both gradient kernels multiply with this matrix.
 */
export function gatherDy(
  DY: Float32Array, D: Float32Array, b0: number, nb: number, perImage: number, outChannels: number, channelsLast: boolean,
): void {
  const perBatch = perImage * outChannels;
  if (channelsLast) {
    D.set(DY.subarray(b0 * perBatch, (b0 + nb) * perBatch));
    return;
  }
  let m = 0;
  for (let b = b0; b < b0 + nb; b++) {
    for (let p = 0; p < perImage; p++, m++) {
      for (let o = 0; o < outChannels; o++) D[m * outChannels + o] = DY[b * perBatch + o * perImage + p];
    }
  }
}

function conv2DBackpropFilterWasm(args: KernelArgs): TensorInfo {
  const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
  const attrs = args.attrs as unknown as Conv2DBackpropFilterAttrs;
  const backend = args.backend as unknown as WasmHeapBackend;
  if (x.dtype !== 'float32' || dy.dtype !== 'float32') {
    throw new KdlabError('BACKEND_STATE', `Conv2DBackpropFilter (wasm): float32 inputs only, got x ${x.dtype} and dy ${dy.dtype}.`);
  }
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    tf.backend_util.convertConv2DDataFormat(attrs.dataFormat),
  );
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
  const { strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const channelsLast = info.dataFormat === 'channelsLast';
  if (dy.shape.length !== 4 || dy.shape.reduce((a, b) => a * b, 1) !== batchSize * outHeight * outWidth * outChannels) {
    throw new KdlabError('BACKEND_STATE', `Conv2DBackpropFilter (wasm): dy has shape [${dy.shape.join(', ')}], expected ${batchSize}×${outHeight}×${outWidth}×${outChannels}.`);
  }
  const K = fh * fw * inChannels;
  const perImage = outHeight * outWidth;
  const total = K * outChannels;
  const out = backend.makeOutput([fh, fw, inChannels, outChannels], 'float32');
  const view = (t: TensorInfo, n: number): Float32Array => heapView(backend, t, n, 'Conv2DBackpropFilter');
  view(out, total).fill(0);
  if (K === 0 || perImage === 0 || batchSize === 0 || outChannels === 0) return out;

  const matMul = tf.getKernel('BatchMatMul', 'wasm');
  if (!matMul) throw new KdlabError('BACKEND_STATE', 'Conv2DBackpropFilter (wasm): no BatchMatMul kernel registered for wasm.');
  const chunk = Math.max(1, Math.min(batchSize, Math.floor(colsLimit / (K * perImage))));
  const xSize = batchSize * inHeight * inWidth * inChannels;
  const dySize = batchSize * perImage * outChannels;
  // Element strides of X in its layout.
  const xs = channelsLast
    ? { b: inHeight * inWidth * inChannels, r: inWidth * inChannels, c: inChannels, ch: 1 }
    : { b: inChannels * inHeight * inWidth, r: inWidth, c: 1, ch: inHeight * inWidth };

  for (let b0 = 0; b0 < batchSize; b0 += chunk) {
    const nb = Math.min(chunk, batchSize - b0);
    const M = nb * perImage;
    const cols = backend.makeOutput([1, M, K], 'float32');
    const dyc = backend.makeOutput([1, M, outChannels], 'float32');
    let product: TensorInfo | undefined;
    try {
      // Views are taken after every allocation: growing the wasm heap detaches older views.
      const X = view(x, xSize);
      const DY = view(dy, dySize);
      const C = view(cols, M * K);
      const D = view(dyc, M * outChannels);
      // Row m = (image, y, x) of cols holds the input window under output pixel (y, x):
      // K = fh·fw·c_in values in (r, c, i) order, contiguous reads along i (NHWC).
      let m = 0;
      for (let b = b0; b < b0 + nb; b++) {
        const xb = b * xs.b;
        for (let y = 0; y < outHeight; y++) {
          for (let xo = 0; xo < outWidth; xo++, m++) {
            let k = m * K;
            for (let r = 0; r < fh; r++) {
              const xr = y * sh + r - top;
              if (xr < 0 || xr >= inHeight) {
                C.fill(0, k, k + fw * inChannels);
                k += fw * inChannels;
                continue;
              }
              for (let c = 0; c < fw; c++) {
                const xc = xo * sw + c - left;
                if (xc < 0 || xc >= inWidth) {
                  C.fill(0, k, k + inChannels);
                  k += inChannels;
                  continue;
                }
                const base = xb + xr * xs.r + xc * xs.c;
                if (xs.ch === 1 && inChannels >= 16) {
                  C.set(X.subarray(base, base + inChannels), k);
                  k += inChannels;
                } else {
                  for (let i = 0; i < inChannels; i++) C[k++] = X[base + i * xs.ch];
                }
              }
            }
          }
        }
      }
      gatherDy(DY, D, b0, nb, perImage, outChannels, channelsLast);
      product = matMul.kernelFunc({
        inputs: { a: cols, b: dyc },
        backend: args.backend,
        attrs: { transposeA: true, transposeB: false },
      }) as TensorInfo;
      const W = view(out, total);
      const P = view(product, total);
      if (b0 === 0) W.set(P);
      else for (let j = 0; j < total; j++) W[j] += P[j];
    } finally {
      backend.disposeData(cols.dataId);
      backend.disposeData(dyc.dataId);
      if (product) backend.disposeData(product.dataId);
    }
  }
  return out;
}

/**
 * Registers the kernel for the wasm backend unless one is registered already (ours, or a later
 * tfjs's own). Returns false when the wasm backend is not loaded. Idempotent.
 */
export function installWasmConv2DBackpropFilter(): boolean {
  if (!tf.getKernel('Conv2D', 'wasm')) return false;
  if (tf.getKernel('Conv2DBackpropFilter', 'wasm')) return true;
  tf.registerKernel({ kernelName: 'Conv2DBackpropFilter', backendName: 'wasm', kernelFunc: conv2DBackpropFilterWasm });
  return true;
}
