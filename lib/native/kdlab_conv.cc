// kdlab_native's convolution and pooling kernels on the tfjs wasm heap (NHWC, float32).
#include "kdlab_conv.h"
#include "kernel_args.h"

namespace kdlab {

void RegisterConvKernels(Napi::Env env, Napi::Object exports) {
  (void)env;
  (void)exports;
}

}  // namespace kdlab
