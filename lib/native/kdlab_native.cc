// kdlab's optional native kernels: single-precision GEMM from the system's OpenBLAS, run
// directly on the tfjs wasm backend's heap (the WebAssembly.Memory's ArrayBuffer), so a matmul
// reads and writes the tensors where they already live and every other op stays on wasm.
// The JavaScript side (lib/src/kernels/native.ts) owns shapes, broadcasting and validation;
// this file only checks that every byte range it touches lies inside the heap.
#include <napi.h>
#include <cblas.h>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>
#include "epilogue.h"
#include "kdlab_conv.h"
#include "kernel_args.h"

extern "C" {
// OpenBLAS extensions (declared in its cblas.h on most builds; repeated for the others).
void openblas_set_num_threads(int);
int openblas_get_num_threads(void);
char* openblas_get_config(void);
char* openblas_get_corename(void);
int openblas_get_parallel(void);
}

namespace {

using kdlab::KernelArgs;

using kdlab::Epilogue;

// gemm(heap, transA, transB, batch, m, n, k, aOff, aBatchStride, bOff, bBatchStride, cOff,
//      biasOff, biasSize, activation, alpha)
// Offsets are byte offsets into heap; batch strides are in floats (0 broadcasts one matrix).
// C[i] = act(op(A[i]) * op(B[i]) + bias) with op() a transpose when asked; biasOff < 0 means
// no bias; biasSize is 1 (scalar) or n (one per column).
Napi::Value Gemm(const Napi::CallbackInfo& info) {
  KernelArgs args(info, "gemm", 15);
  if (!args.Valid()) return args.Done();
  const bool transA = args.Flag(0), transB = args.Flag(1);
  const int64_t batch = args.Int(2), m = args.Int(3), n = args.Int(4), k = args.Int(5);
  const double aOff = args[6], aStride = args[7], bOff = args[8], bStride = args[9], cOff = args[10];
  const double biasOff = args[11];
  const int64_t biasSize = args.Int(12);
  const int activation = static_cast<int>(args[13]);
  const float alpha = static_cast<float>(args[14]);
  const bool ok = batch >= 0 && m >= 0 && n >= 0 && k >= 0 &&
                  args.Spans(aOff, aStride * (batch > 0 ? batch - 1 : 0) + m * k) &&
                  args.Spans(bOff, bStride * (batch > 0 ? batch - 1 : 0) + k * n) &&
                  args.Spans(cOff, static_cast<double>(batch) * m * n) &&
                  (biasOff < 0 || (args.Spans(biasOff, static_cast<double>(biasSize)) && (biasSize == 1 || biasSize == n)));
  if (!args.Check(ok)) return args.Done();
  const float* a = args.At(aOff);
  const float* b = args.At(bOff);
  float* c = args.At(cOff);
  const float* bias = biasOff < 0 ? nullptr : args.At(biasOff);
  const int64_t as = static_cast<int64_t>(aStride), bs = static_cast<int64_t>(bStride);
  // Row-major: lda is the stored row length of A, i.e. k untransposed and m transposed.
  const int lda = transA ? static_cast<int>(m) : static_cast<int>(k);
  const int ldb = transB ? static_cast<int>(k) : static_cast<int>(n);

  for (int64_t i = 0; i < batch; ++i) {
    float* ci = c + i * m * n;
    if (m == 0 || n == 0) continue;
    if (k == 0) {
      std::memset(ci, 0, sizeof(float) * m * n);
    } else {
      cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                  static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), 1.0f, a + i * as, lda,
                  b + i * bs, ldb, 0.0f, ci, static_cast<int>(n));
    }
    Epilogue(ci, m, n, bias, biasSize, activation, alpha);
  }
  return args.Done();
}

// denseGrad(heap, dyOff, yOff, dzOff, dbOff, rows, n, relu): the backward pass of
// y = act(x·W + b) up to the matmuls, in one pass over dy: dz = dy·[y > 0] (or dy when linear)
// and db = Σ_rows dz. On wasm these are a multiply, a step and a Sum that first transposes.
Napi::Value DenseGrad(const Napi::CallbackInfo& info) {
  KernelArgs args(info, "denseGrad", 7);
  if (!args.Valid()) return args.Done();
  const int64_t rows = args.Int(4), n = args.Int(5);
  const bool relu = args.Flag(6);
  const double all = static_cast<double>(rows) * n;
  const bool ok = rows >= 0 && n >= 0 && args.Spans(args[0], all) && args.Spans(args[2], all) &&
                  args.Spans(args[3], static_cast<double>(n)) && (!relu || args.Spans(args[1], all));
  if (!args.Check(ok)) return args.Done();
  const float* __restrict__ dy = args.At(args[0]);
  const float* __restrict__ y = args.At(args[1]);
  float* __restrict__ dz = args.At(args[2]);
  float* __restrict__ db = args.At(args[3]);
  for (int64_t j = 0; j < n; ++j) db[j] = 0.0f;
  for (int64_t r = 0; r < rows; ++r) {
    const float* __restrict__ dyr = dy + r * n;
    float* __restrict__ dzr = dz + r * n;
    if (relu) {
      const float* __restrict__ yr = y + r * n;
      for (int64_t j = 0; j < n; ++j) dzr[j] = yr[j] > 0.0f ? dyr[j] : 0.0f;
    } else {
      for (int64_t j = 0; j < n; ++j) dzr[j] = dyr[j];
    }
    for (int64_t j = 0; j < n; ++j) db[j] += dzr[j];
  }
  return args.Done();
}

// maxNorm(heap, wOff, outOff, rows, cols, limit): the max-norm constraint of a dense kernel
// [rows = inputs, cols = units]: each column scaled to norm <= limit, as
// out = w · min(norm, limit) / (norm + 1e-7). Two row-major passes; on wasm the column sums go
// through a transpose of the whole matrix first.
Napi::Value MaxNorm(const Napi::CallbackInfo& info) {
  KernelArgs args(info, "maxNorm", 5);
  if (!args.Valid()) return args.Done();
  const int64_t rows = args.Int(2), cols = args.Int(3);
  const float limit = static_cast<float>(args[4]);
  const double all = static_cast<double>(rows) * cols;
  if (!args.Check(rows >= 0 && cols >= 0 && args.Spans(args[0], all) && args.Spans(args[1], all))) return args.Done();
  const float* w = args.At(args[0]);
  float* out = args.At(args[1]);
  std::vector<float> scale(static_cast<size_t>(cols), 0.0f);
  for (int64_t r = 0; r < rows; ++r) {
    const float* wr = w + r * cols;
    for (int64_t j = 0; j < cols; ++j) scale[j] += wr[j] * wr[j];
  }
  for (int64_t j = 0; j < cols; ++j) {
    const float norm = std::sqrt(scale[j]);
    scale[j] = (norm < limit ? norm : limit) / (norm + 1e-7f);
  }
  for (int64_t r = 0; r < rows; ++r) {
    const float* wr = w + r * cols;
    float* outr = out + r * cols;
    for (int64_t j = 0; j < cols; ++j) outr[j] = wr[j] * scale[j];
  }
  return args.Done();
}

// lowbias32 (C. Wellons' integer hash), as hash32 in dropout-wasm.ts: uint32 arithmetic there
// (Math.imul, >>>) and here give the same bits.
inline uint32_t Hash32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352dU;
  x ^= x >> 15;
  x *= 0x846ca68bU;
  x ^= x >> 16;
  return x;
}

// dropout(heap, xOff, yOff, maskOff, n, threshold, scale, key): dropoutMask of dropout-wasm.ts
// bit for bit: element i kept when Hash32(key + i * golden) >= threshold, mask = scale or 0, and
// y = x * mask with the products in double as JavaScript computes them. The JavaScript loop took
// about 4 ms of the full teacher's 29 ms step; with this one the step measured 2-4 ms shorter.
// (Splitting it over two threads measured no faster: the other core is OpenBLAS's.)
Napi::Value Dropout(const Napi::CallbackInfo& info) {
  KernelArgs args(info, "dropout", 7);
  if (!args.Valid()) return args.Done();
  const int64_t n = args.Int(3);
  const bool ok = n >= 0 && n < (int64_t{1} << 31) && args[4] >= 0 && args[4] < 4294967296.0 && args[6] >= 0 &&
                  args[6] < 4294967296.0 && args.Spans(args[0], static_cast<double>(n)) &&
                  args.Spans(args[1], static_cast<double>(n)) && args.Spans(args[2], static_cast<double>(n));
  if (!args.Check(ok, "operands outside the wasm heap, misaligned, or a bad threshold/key")) return args.Done();
  const float* x = args.At(args[0]);
  float* y = args.At(args[1]);
  float* mask = args.At(args[2]);
  const uint32_t threshold = static_cast<uint32_t>(args[4]);
  const double scale = args[5];
  const uint32_t key = static_cast<uint32_t>(args[6]);
  for (int64_t i = 0; i < n; ++i) {
    const double m = Hash32(key + static_cast<uint32_t>(i) * 0x9e3779b9U) >= threshold ? scale : 0.0;
    mask[i] = static_cast<float>(m);
    y[i] = static_cast<float>(static_cast<double>(x[i]) * m);
  }
  return args.Done();
}

// columnSum(heap, xOff, outOff, rows, cols): out[c] = Σ_r x[r, c] with float64 accumulators,
// rounded once: a bias gradient (Sum over every axis but the last). tfjs-wasm transposes first.
// The same order and precision as columnSums in step-kernels-wasm.ts, so both paths agree.
Napi::Value ColumnSum(const Napi::CallbackInfo& info) {
  KernelArgs args(info, "columnSum", 4);
  if (!args.Valid()) return args.Done();
  const int64_t rows = args.Int(2), cols = args.Int(3);
  const double all = static_cast<double>(rows) * cols;
  if (!args.Check(rows >= 0 && cols >= 0 && args.Spans(args[0], all) && args.Spans(args[1], static_cast<double>(cols)))) {
    return args.Done();
  }
  const float* __restrict__ x = args.At(args[0]);
  float* __restrict__ out = args.At(args[1]);
  std::vector<double> acc(static_cast<size_t>(cols), 0.0);
  for (int64_t r = 0; r < rows; ++r) {
    const float* __restrict__ xr = x + r * cols;
    double* __restrict__ a = acc.data();
    for (int64_t c = 0; c < cols; ++c) a[c] += xr[c];
  }
  for (int64_t c = 0; c < cols; ++c) out[c] = static_cast<float>(acc[c]);
  return args.Done();
}

// leakyRelu(heap, xOff, outOff, n, alpha) and leakyReluGrad(heap, dyOff, xOff, outOff, n, alpha):
// y = x > 0 ? x : alpha·x and dx = x > 0 ? dy : alpha·dy, one float32 product each (tfjs's
// kernels compute the same values in three passes for the gradient).
Napi::Value LeakyRelu(const Napi::CallbackInfo& info) {
  KernelArgs args(info, "leakyRelu", 4);
  if (!args.Valid()) return args.Done();
  const int64_t n = args.Int(2);
  const float alpha = static_cast<float>(args[3]);
  if (!args.Check(n >= 0 && args.Spans(args[0], static_cast<double>(n)) && args.Spans(args[1], static_cast<double>(n)))) return args.Done();
  const float* __restrict__ x = args.At(args[0]);
  float* __restrict__ y = args.At(args[1]);
  // A factor chosen by a compare (a select, not a branch: signs of real activations are random,
  // and a branch mispredicted half the time cost 4x); times 1 is exact.
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * (x[i] > 0.0f ? 1.0f : alpha);
  return args.Done();
}

Napi::Value LeakyReluGrad(const Napi::CallbackInfo& info) {
  KernelArgs args(info, "leakyReluGrad", 5);
  if (!args.Valid()) return args.Done();
  const int64_t n = args.Int(3);
  const float alpha = static_cast<float>(args[4]);
  const double nf = static_cast<double>(n);
  if (!args.Check(n >= 0 && args.Spans(args[0], nf) && args.Spans(args[1], nf) && args.Spans(args[2], nf))) return args.Done();
  const float* __restrict__ dy = args.At(args[0]);
  const float* __restrict__ x = args.At(args[1]);
  float* __restrict__ dx = args.At(args[2]);
  for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * (x[i] > 0.0f ? 1.0f : alpha);
  return args.Done();
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  const int n = info.Length() > 0 ? info[0].ToNumber().Int32Value() : 1;
  openblas_set_num_threads(n < 1 ? 1 : n);
  return Napi::Number::New(info.Env(), openblas_get_num_threads());
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("config", Napi::String::New(env, openblas_get_config()));
  o.Set("core", Napi::String::New(env, openblas_get_corename()));
  const int parallel = openblas_get_parallel();
  o.Set("parallel", Napi::String::New(env, parallel == 0 ? "sequential" : parallel == 1 ? "pthreads" : "openmp"));
  o.Set("threads", Napi::Number::New(env, openblas_get_num_threads()));
  return o;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("gemm", Napi::Function::New(env, Gemm));
  exports.Set("denseGrad", Napi::Function::New(env, DenseGrad));
  exports.Set("maxNorm", Napi::Function::New(env, MaxNorm));
  exports.Set("dropout", Napi::Function::New(env, Dropout));
  exports.Set("columnSum", Napi::Function::New(env, ColumnSum));
  exports.Set("leakyRelu", Napi::Function::New(env, LeakyRelu));
  exports.Set("leakyReluGrad", Napi::Function::New(env, LeakyReluGrad));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads));
  exports.Set("info", Napi::Function::New(env, Info));
  kdlab::RegisterConvKernels(env, exports);
  exports.Set("abiVersion", Napi::Number::New(env, 6));
  return exports;
}

}  // namespace

NODE_API_MODULE(kdlab_native, Init)
