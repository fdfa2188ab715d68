import { installWasmConv2DBackpropFilter } from './conv2d-backprop-filter';
import { installWasmConv2DBackpropInput } from './conv2d-backprop-input';

/**
 * The wasm convolution-gradient kernels: Conv2DBackpropFilter (missing from tfjs-wasm 4.22, so
 * conv training failed on wasm) and a matmul Conv2DBackpropInput (about 10x the stock kernel on
 * the conv teacher). initBackend calls this once the wasm backend is active. Idempotent;
 * returns false when the wasm backend is not loaded.
 */
export function installWasmConvKernels(): boolean {
  return installWasmConv2DBackpropFilter() && installWasmConv2DBackpropInput();
}
