// Convolution and pooling kernels of kdlab_native (kdlab_conv.cc), registered by Init.
#pragma once
#include <napi.h>

namespace kdlab {
void RegisterConvKernels(Napi::Env env, Napi::Object exports);
}
