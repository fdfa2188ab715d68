/**
 * The parts of training that the benchmarks time one by one ('kdlab/compute-internals'): the
 * optimizer, the training-mode forward pass, one step, the wasm kernels. Not for notebooks.
 */
export { layerWidths } from './models';
export { stockWasmMatMul } from './kernels/wasm-matmul';
export { adamImplementation } from './kernels/optimizer-wasm';
export { blasKernelFamily, describeBlasKernelFamily, plainSgemmGflops, withoutBlasPin, setBlasThreads, setNativeKernels } from './kernels/native';
export type { BlasKernelFamily, BlasPin } from './kernels/native';
export { nativeConvKernelNames } from './kernels/native-conv';
export { setTeacherFeaturesMaxBytes } from './teacher-features';
export { setFusedDropout } from './kernels/dropout-wasm';
export { setFusedSoftmaxLoss, fusedSoftmaxLossAvailable, fusedSoftmaxLoss } from './kernels/softmax-loss-wasm';
export { createTrainStep, Optimizer, trainableVariables, trainingForward } from './train';
export { resolveObjective } from './losses';
export type { ObjectiveLoss } from './losses';
export { describeBackend } from './backend';
export { makeRng, PIXELS } from './data';
