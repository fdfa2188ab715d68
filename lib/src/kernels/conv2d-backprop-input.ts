import * as tf from '@tensorflow/tfjs';
import { KdlabError } from '../errors';
import { colsLimitFloats, gatherDy, type Conv2DGradAttrs } from './conv2d-backprop-filter';
import { heapView, type WasmHeapBackend } from './wasm-heap';

/**
 * A faster `Conv2DBackpropInput` for the tfjs **wasm** backend. The stock kernel (tfjs-wasm
 * 4.22) loops over every output element and filter tap without BLAS: on the conv teacher's
 * second layer (dy [128, 7, 7, 512], filter 3×3×256×512) it takes about 14 s per batch, ten
 * times the rest of the training step. This one does the same arithmetic as one matrix product
 * per chunk of images plus a scatter-add:
 *
 *   P [M = images·outH·outW, K = fh·fw·c_in] = dY [M, c_out] · Wᵀ      (W as [K, c_out])
 *   dX[b, y·s_h + r − pad_top, x·s_w + c − pad_left, i] += P[(b, y, x), (r, c, i)]   (col2im)
 *
 * through the registered `BatchMatMul` (XNNPACK, or OpenBLAS on the native path). Same
 * semantics as the cpu backend's kernel: NHWC or NCHW, pad 'same' / 'valid' / a number /
 * explicit pairs, dimRoundingMode, dilations 1.
 */

type KernelArgs = Parameters<tf.KernelFunc>[0];
type TensorInfo = tf.TensorInfo;

function conv2DBackpropInputWasm(args: KernelArgs): TensorInfo {
  const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
  const attrs = args.attrs as unknown as Conv2DGradAttrs & { inputShape: [number, number, number, number] };
  const backend = args.backend as unknown as WasmHeapBackend;
  if (dy.dtype !== 'float32' || filter.dtype !== 'float32') {
    throw new KdlabError('BACKEND_STATE', `Conv2DBackpropInput (wasm): float32 inputs only, got dy ${dy.dtype} and filter ${filter.dtype}.`);
  }
  const info = tf.backend_util.computeConv2DInfo(
    attrs.inputShape,
    filter.shape as [number, number, number, number],
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
  const K = fh * fw * inChannels;
  const perImage = outHeight * outWidth;
  const dxSize = batchSize * inHeight * inWidth * inChannels;
  const dySize = batchSize * perImage * outChannels;
  const out = backend.makeOutput([...attrs.inputShape], 'float32');
  const view = (t: TensorInfo, n: number): Float32Array => heapView(backend, t, n, 'Conv2DBackpropInput');
  view(out, dxSize).fill(0);
  if (K === 0 || perImage === 0 || batchSize === 0 || outChannels === 0) return out;

  const matMul = tf.getKernel('BatchMatMul', 'wasm');
  if (!matMul) throw new KdlabError('BACKEND_STATE', 'Conv2DBackpropInput (wasm): no BatchMatMul kernel registered for wasm.');
  // The filter [fh, fw, c_in, c_out] is already W as [K, c_out]: a [1, K, c_out] view of the same memory.
  const w3 = { dataId: filter.dataId, shape: [1, K, outChannels], dtype: 'float32' } as TensorInfo;
  const chunk = Math.max(1, Math.min(batchSize, Math.floor(colsLimitFloats() / (K * perImage))));
  const xs = channelsLast
    ? { b: inHeight * inWidth * inChannels, r: inWidth * inChannels, c: inChannels, ch: 1 }
    : { b: inChannels * inHeight * inWidth, r: inWidth, c: 1, ch: inHeight * inWidth };

  for (let b0 = 0; b0 < batchSize; b0 += chunk) {
    const nb = Math.min(chunk, batchSize - b0);
    const M = nb * perImage;
    const dyc = backend.makeOutput([1, M, outChannels], 'float32');
    let product: TensorInfo | undefined;
    try {
      const DY = view(dy, dySize);
      const D = view(dyc, M * outChannels);
      gatherDy(DY, D, b0, nb, perImage, outChannels, channelsLast);
      product = matMul.kernelFunc({
        inputs: { a: dyc, b: w3 },
        backend: args.backend,
        attrs: { transposeA: false, transposeB: true },
      }) as TensorInfo;
      // Views after the allocation: the heap may have grown.
      const P = view(product, M * K);
      const DX = view(out, dxSize);
      let m = 0;
      for (let b = b0; b < b0 + nb; b++) {
        const xb = b * xs.b;
        for (let y = 0; y < outHeight; y++) {
          for (let z = 0; z < outWidth; z++, m++) {
            const prow = m * K;
            for (let r = 0; r < fh; r++) {
              const xr = y * sh + r - top;
              if (xr < 0 || xr >= inHeight) continue;
              for (let c = 0; c < fw; c++) {
                const xc = z * sw + c - left;
                if (xc < 0 || xc >= inWidth) continue;
                const base = xb + xr * xs.r + xc * xs.c;
                const pk = prow + (r * fw + c) * inChannels;
                if (xs.ch === 1) {
                  for (let i = 0; i < inChannels; i++) DX[base + i] += P[pk + i];
                } else {
                  for (let i = 0; i < inChannels; i++) DX[base + i * xs.ch] += P[pk + i];
                }
              }
            }
          }
        }
      }
    } finally {
      backend.disposeData(dyc.dataId);
      if (product) backend.disposeData(product.dataId);
    }
  }
  return out;
}

let stockInput: tf.KernelConfig | undefined;

/**
 * Replaces the stock wasm Conv2DBackpropInput with the matmul version. Idempotent; returns false
 * when the wasm backend is not loaded.
 */
export function installWasmConv2DBackpropInput(): boolean {
  const current = tf.getKernel('Conv2DBackpropInput', 'wasm');
  if (!current) return false;
  if (stockInput) return true;
  stockInput = current;
  tf.unregisterKernel('Conv2DBackpropInput', 'wasm');
  tf.registerKernel({ kernelName: 'Conv2DBackpropInput', backendName: 'wasm', kernelFunc: conv2DBackpropInputWasm });
  return true;
}

/** Runs tfjs-wasm's own Conv2DBackpropInput (tests and benchmarks compare against it). */
export function stockWasmConv2DBackpropInput(): tf.KernelFunc | undefined {
  return stockInput?.kernelFunc;
}
