// The epilogue both GEMM-based kernels apply to their output (kdlab_native.cc's gemm, the
// convolutions in kdlab_conv.cc): bias, then tfjs-wasm's fusable activation.
#pragma once
#include <cmath>
#include <cstdint>

namespace kdlab {

// Activation codes follow tfjs-wasm's FusableActivation enum (prelu is handled in JavaScript).
enum Activation { kLinear = 0, kRelu = 1, kRelu6 = 2, kLeakyRelu = 4, kSigmoid = 5, kElu = 6 };

// rows × n of y: += bias (scalar or per column), then the activation; one loop per activation so
// each vectorises.
inline void Epilogue(float* y, int64_t rows, int64_t n, const float* bias, int64_t biasSize, int activation, float alpha) {
  if (bias == nullptr && activation == kLinear) return;
  for (int64_t r = 0; r < rows; ++r) {
    float* __restrict__ row = y + r * n;
    if (bias != nullptr) {
      if (biasSize == 1) {
        const float b0 = bias[0];
        for (int64_t j = 0; j < n; ++j) row[j] += b0;
      } else {
        const float* __restrict__ bj = bias;
        for (int64_t j = 0; j < n; ++j) row[j] += bj[j];
      }
    }
    switch (activation) {
      case kRelu:
        for (int64_t j = 0; j < n; ++j) row[j] = row[j] > 0.0f ? row[j] : 0.0f;
        break;
      case kRelu6:
        for (int64_t j = 0; j < n; ++j) row[j] = row[j] > 0.0f ? (row[j] < 6.0f ? row[j] : 6.0f) : 0.0f;
        break;
      case kLeakyRelu:
        for (int64_t j = 0; j < n; ++j) row[j] = row[j] < 0.0f ? alpha * row[j] : row[j];
        break;
      case kSigmoid:
        for (int64_t j = 0; j < n; ++j) row[j] = 1.0f / (1.0f + std::exp(-row[j]));
        break;
      case kElu:
        for (int64_t j = 0; j < n; ++j) row[j] = row[j] < 0.0f ? std::expm1(row[j]) : row[j];
        break;
      default:
        break;
    }
  }
}

}  // namespace kdlab
