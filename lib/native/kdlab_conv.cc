// kdlab_native's convolution and pooling kernels on the tfjs wasm heap (NHWC, float32, dilation 1).
// Convolutions are im2col + cblas_sgemm over chunks of output positions, so the scratch buffer
// stays bounded whatever the batch or image size; pooling is plain loops over channels, which
// are contiguous in NHWC and so vectorise. The JavaScript side (lib/src/kernels/native-conv.ts)
// computes the geometry with tfjs's computeConv2DInfo / computePool2DInfo; this file trusts none
// of it for memory safety: every operand is range-checked, and every input read is bounds-tested
// against the input's own extent.
#include "kdlab_conv.h"

#include <cblas.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "epilogue.h"
#include "kernel_args.h"

namespace kdlab {
namespace {

// The geometry of one NHWC convolution or pooling, read from 13 consecutive numbers:
// batch, inH, inW, inC, outH, outW, outC, fh, fw, strideH, strideW, padTop, padLeft.
// (Pooling passes outC = inC.)
struct Geometry {
  int64_t batch, inH, inW, inC, outH, outW, outC, fh, fw, sh, sw, top, left;

  static constexpr size_t kCount = 13;

  static Geometry Read(const KernelArgs& a, size_t at) {
    return {a.Int(at), a.Int(at + 1), a.Int(at + 2), a.Int(at + 3), a.Int(at + 4), a.Int(at + 5), a.Int(at + 6),
            a.Int(at + 7), a.Int(at + 8), a.Int(at + 9), a.Int(at + 10), a.Int(at + 11), a.Int(at + 12)};
  }
  // Sizes non-negative, strides positive, and every dimension small enough that the products
  // below (in int64) and sgemm's int arguments cannot overflow; the heap (< 2^32 bytes) bounds
  // real tensors far below these limits anyway.
  bool Sane() const {
    const int64_t dims[] = {batch, inH, inW, inC, outH, outW, outC, fh, fw};
    for (int64_t d : dims) {
      if (d < 0 || d > (int64_t{1} << 30)) return false;
    }
    const int64_t pads[] = {top, left};
    for (int64_t p : pads) {
      if (p < -(int64_t{1} << 30) || p > (int64_t{1} << 30)) return false;
    }
    return sh >= 1 && sw >= 1 && sh <= (int64_t{1} << 30) && sw <= (int64_t{1} << 30) &&
           static_cast<double>(fh) * fw * inC <= INT_MAX && static_cast<double>(batch) * outH * outW < 9e15;
  }
  double XFloats() const { return static_cast<double>(batch) * inH * inW * inC; }
  double YFloats() const { return static_cast<double>(batch) * outH * outW * outC; }
  double WFloats() const { return static_cast<double>(fh) * fw * inC * outC; }
  int64_t K() const { return fh * fw * inC; }
  int64_t M() const { return batch * outH * outW; }
  // A 1×1 stride-1 convolution without padding reads x as the cols matrix itself.
  bool Pointwise() const { return fh == 1 && fw == 1 && sh == 1 && sw == 1 && top == 0 && left == 0 && outH == inH && outW == inW; }
};

// Output rows per sgemm so that a chunk's cols [rows, K] fit in `limitFloats`.
int64_t ChunkRows(int64_t limitFloats, int64_t k, int64_t m) {
  const int64_t rows = std::max<int64_t>(1, limitFloats / std::max<int64_t>(1, k));
  return std::min<int64_t>(std::min<int64_t>(rows, m), INT_MAX);
}

// One scratch buffer for every call: the kernels run on Node's main thread, one at a time.
float* Scratch(size_t floats) {
  static std::vector<float> scratch;
  if (scratch.size() < floats) scratch.resize(floats);
  return scratch.data();
}

// The output pixel (b, y, x) of flattened row m, advanced row by row without a division each.
struct Position {
  int64_t b, y, x;
  Position(const Geometry& g, int64_t m) {
    const int64_t perImage = g.outH * g.outW;
    b = m / perImage;
    y = (m % perImage) / g.outW;
    x = m % g.outW;
  }
  void Next(const Geometry& g) {
    if (++x == g.outW) {
      x = 0;
      if (++y == g.outH) {
        y = 0;
        ++b;
      }
    }
  }
};

// The filter columns c in [lo, hi) whose input column lies inside the image for output column x.
inline void ValidTaps(int64_t corner, int64_t taps, int64_t extent, int64_t* lo, int64_t* hi) {
  *lo = std::min(taps, std::max<int64_t>(0, -corner));
  *hi = std::max(*lo, std::min(taps, extent - corner));
}

// cols[i] for rows m0 … m0+rows−1: the input window under each output pixel, K = fh·fw·inC values
// in (r, c, i) order with zeros over the padding. The taps of one filter row that fall inside
// the image are adjacent in NHWC, so each is a single copy.
void Im2Col(const Geometry& g, const float* x, int64_t m0, int64_t rows, float* cols) {
  const int64_t K = g.K(), rowLen = g.fw * g.inC;
  Position p(g, m0);
  for (int64_t m = 0; m < rows; ++m, p.Next(g)) {
    float* out = cols + m * K;
    const int64_t cx = p.x * g.sw - g.left;
    int64_t lo, hi;
    ValidTaps(cx, g.fw, g.inW, &lo, &hi);
    for (int64_t r = 0; r < g.fh; ++r) {
      float* o = out + r * rowLen;
      const int64_t xr = p.y * g.sh + r - g.top;
      if (xr < 0 || xr >= g.inH || lo == hi) {
        std::memset(o, 0, sizeof(float) * rowLen);
        continue;
      }
      if (lo > 0) std::memset(o, 0, sizeof(float) * lo * g.inC);
      const float* src = x + ((p.b * g.inH + xr) * g.inW + cx + lo) * g.inC;
      std::memcpy(o + lo * g.inC, src, sizeof(float) * (hi - lo) * g.inC);
      if (hi < g.fw) std::memset(o + hi * g.inC, 0, sizeof(float) * (g.fw - hi) * g.inC);
    }
  }
}

// The adjoint of Im2Col: dx[window of row m] += cols[m] for rows m0 … m0+rows−1 (padding dropped).
void Col2Im(const Geometry& g, const float* cols, int64_t m0, int64_t rows, float* dx) {
  const int64_t K = g.K(), rowLen = g.fw * g.inC;
  Position p(g, m0);
  for (int64_t m = 0; m < rows; ++m, p.Next(g)) {
    const float* in = cols + m * K;
    const int64_t cx = p.x * g.sw - g.left;
    int64_t lo, hi;
    ValidTaps(cx, g.fw, g.inW, &lo, &hi);
    if (lo == hi) continue;
    for (int64_t r = 0; r < g.fh; ++r) {
      const int64_t xr = p.y * g.sh + r - g.top;
      if (xr < 0 || xr >= g.inH) continue;
      const float* __restrict__ s = in + r * rowLen + lo * g.inC;
      float* __restrict__ d = dx + ((p.b * g.inH + xr) * g.inW + cx + lo) * g.inC;
      const int64_t n = (hi - lo) * g.inC;
      for (int64_t j = 0; j < n; ++j) d[j] += s[j];
    }
  }
}

bool KnownActivation(int a) {
  return a == kLinear || a == kRelu || a == kRelu6 || a == kLeakyRelu || a == kSigmoid || a == kElu;
}

// conv2d(heap, xOff, wOff, yOff, biasOff, biasSize, activation, alpha, geometry…13, chunkFloats)
// y = act(conv(x, w) + bias); biasOff < 0 means no bias, biasSize is 1 or outC.
Napi::Value Conv2D(const Napi::CallbackInfo& info) {
  KernelArgs args(info, "conv2d", 8 + Geometry::kCount);
  if (!args.Valid()) return args.Done();
  const double xOff = args[0], wOff = args[1], yOff = args[2], biasOff = args[3];
  const int64_t biasSize = args.Int(4);
  const int activation = static_cast<int>(args[5]);
  const float alpha = static_cast<float>(args[6]);
  const Geometry g = Geometry::Read(args, 7);
  const int64_t limit = args.Int(7 + Geometry::kCount);
  const bool ok = g.Sane() && limit >= 1 && KnownActivation(activation) && args.Spans(xOff, g.XFloats()) &&
                  args.Spans(wOff, g.WFloats()) && args.Spans(yOff, g.YFloats()) &&
                  (biasOff < 0 || ((biasSize == 1 || biasSize == g.outC) && args.Spans(biasOff, static_cast<double>(biasSize))));
  if (!args.Check(ok, "operands outside the wasm heap, misaligned, or a bad geometry/activation")) return args.Done();
  const float* x = args.At(xOff);
  const float* w = args.At(wOff);
  float* y = args.At(yOff);
  const float* bias = biasOff < 0 ? nullptr : args.At(biasOff);
  const int64_t M = g.M(), K = g.K(), N = g.outC;
  if (M == 0 || N == 0) return args.Done();
  if (K == 0) {
    std::memset(y, 0, sizeof(float) * M * N);
    Epilogue(y, M, N, bias, biasSize, activation, alpha);
    return args.Done();
  }
  const int64_t chunk = g.Pointwise() ? std::min<int64_t>(M, INT_MAX) : ChunkRows(limit, K, M);
  float* cols = g.Pointwise() ? nullptr : Scratch(static_cast<size_t>(chunk * K));
  for (int64_t m0 = 0; m0 < M; m0 += chunk) {
    const int64_t rows = std::min(chunk, M - m0);
    const float* a = cols;
    if (g.Pointwise()) {
      a = x + m0 * K;
    } else {
      Im2Col(g, x, m0, rows, cols);
    }
    float* yc = y + m0 * N;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(rows), static_cast<int>(N),
                static_cast<int>(K), 1.0f, a, static_cast<int>(K), w, static_cast<int>(N), 0.0f, yc, static_cast<int>(N));
    Epilogue(yc, rows, N, bias, biasSize, activation, alpha);
  }
  return args.Done();
}

// conv2dBackpropInput(heap, dyOff, wOff, dxOff, geometry…13, chunkFloats)
// dx = col2im(dy · Wᵀ), W the filter as [K, outC].
Napi::Value Conv2DBackpropInput(const Napi::CallbackInfo& info) {
  KernelArgs args(info, "conv2dBackpropInput", 4 + Geometry::kCount);
  if (!args.Valid()) return args.Done();
  const double dyOff = args[0], wOff = args[1], dxOff = args[2];
  const Geometry g = Geometry::Read(args, 3);
  const int64_t limit = args.Int(3 + Geometry::kCount);
  const bool ok = g.Sane() && limit >= 1 && args.Spans(dyOff, g.YFloats()) && args.Spans(wOff, g.WFloats()) &&
                  args.Spans(dxOff, g.XFloats());
  if (!args.Check(ok, "operands outside the wasm heap, misaligned, or a bad geometry")) return args.Done();
  const float* dy = args.At(dyOff);
  const float* w = args.At(wOff);
  float* dx = args.At(dxOff);
  const int64_t M = g.M(), K = g.K(), N = g.outC;
  if (g.Pointwise() && M > 0 && K > 0 && N > 0 && M <= INT_MAX) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(M), static_cast<int>(K), static_cast<int>(N),
                1.0f, dy, static_cast<int>(N), w, static_cast<int>(N), 0.0f, dx, static_cast<int>(K));
    return args.Done();
  }
  std::memset(dx, 0, sizeof(float) * static_cast<size_t>(g.XFloats()));
  if (M == 0 || K == 0 || N == 0) return args.Done();
  const int64_t chunk = ChunkRows(limit, K, M);
  float* cols = Scratch(static_cast<size_t>(chunk * K));
  for (int64_t m0 = 0; m0 < M; m0 += chunk) {
    const int64_t rows = std::min(chunk, M - m0);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(rows), static_cast<int>(K), static_cast<int>(N),
                1.0f, dy + m0 * N, static_cast<int>(N), w, static_cast<int>(N), 0.0f, cols, static_cast<int>(K));
    Col2Im(g, cols, m0, rows, dx);
  }
  return args.Done();
}

// conv2dBackpropFilter(heap, xOff, dyOff, dwOff, geometry…13, chunkFloats)
// dW [K, outC] = Σ_chunks im2col(x)ᵀ · dy, accumulated in place by sgemm (beta 1 after the first).
Napi::Value Conv2DBackpropFilter(const Napi::CallbackInfo& info) {
  KernelArgs args(info, "conv2dBackpropFilter", 4 + Geometry::kCount);
  if (!args.Valid()) return args.Done();
  const double xOff = args[0], dyOff = args[1], dwOff = args[2];
  const Geometry g = Geometry::Read(args, 3);
  const int64_t limit = args.Int(3 + Geometry::kCount);
  const bool ok = g.Sane() && limit >= 1 && args.Spans(xOff, g.XFloats()) && args.Spans(dyOff, g.YFloats()) &&
                  args.Spans(dwOff, g.WFloats());
  if (!args.Check(ok, "operands outside the wasm heap, misaligned, or a bad geometry")) return args.Done();
  const float* x = args.At(xOff);
  const float* dy = args.At(dyOff);
  float* dw = args.At(dwOff);
  const int64_t M = g.M(), K = g.K(), N = g.outC;
  if (K == 0 || N == 0) return args.Done();
  if (M == 0) {
    std::memset(dw, 0, sizeof(float) * K * N);
    return args.Done();
  }
  const bool pointwise = g.Pointwise();
  const int64_t chunk = pointwise ? std::min<int64_t>(M, INT_MAX) : ChunkRows(limit, K, M);
  float* cols = pointwise ? nullptr : Scratch(static_cast<size_t>(chunk * K));
  for (int64_t m0 = 0; m0 < M; m0 += chunk) {
    const int64_t rows = std::min(chunk, M - m0);
    const float* a = cols;
    if (pointwise) {
      a = x + m0 * K;
    } else {
      Im2Col(g, x, m0, rows, cols);
    }
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, static_cast<int>(K), static_cast<int>(N), static_cast<int>(rows),
                1.0f, a, static_cast<int>(K), dy + m0 * N, static_cast<int>(N), m0 == 0 ? 0.0f : 1.0f, dw, static_cast<int>(N));
  }
  return args.Done();
}

// The channel loops of the pooling kernels, as functions of restrict pointers so that each
// compiles to compare-and-blend vectors. `a > b ? a : b` keeps b when a is NaN (maxps).
inline void MaxInto(float* __restrict__ out, const float* __restrict__ in, int64_t n) {
  for (int64_t d = 0; d < n; ++d) out[d] = in[d] > out[d] ? in[d] : out[d];
}

inline void ArgMaxStep(float* __restrict__ best, int32_t* __restrict__ where, const float* __restrict__ in, int32_t tap, int64_t n) {
  for (int64_t d = 0; d < n; ++d) {
    const float v = in[d], b = best[d];
    const int32_t w = where[d];
    // An integer mask rather than a second select on the comparison: GCC vectorises this form.
    const int32_t more = -static_cast<int32_t>(v > b);
    best[d] = v > b ? v : b;
    where[d] = (tap & more) | (w & ~more);
  }
}

inline void ScatterTap(float* __restrict__ dx, const float* __restrict__ dy, const int32_t* __restrict__ where, int32_t tap, int64_t n) {
  for (int64_t d = 0; d < n; ++d) {
    const float g = dy[d];
    dx[d] += where[d] == tap ? g : 0.0f;
  }
}

// The pooling geometry: the convolution's with outC = inC and no filter operand.
bool PoolSane(const Geometry& g) { return g.Sane() && g.outC == g.inC; }

// maxPool(heap, xOff, yOff, geometry…13): y = max over each window's in-image taps, NaN ignored
// and −∞ for a window with none, as tfjs-backend-cpu's pool() (strict >, starting from −∞); a
// 1×1 window that keeps the shape copies x, as that backend does.
Napi::Value MaxPool(const Napi::CallbackInfo& info) {
  KernelArgs args(info, "maxPool", 2 + Geometry::kCount);
  if (!args.Valid()) return args.Done();
  const double xOff = args[0], yOff = args[1];
  const Geometry g = Geometry::Read(args, 2);
  const bool ok = PoolSane(g) && args.Spans(xOff, g.XFloats()) && args.Spans(yOff, g.YFloats());
  if (!args.Check(ok, "operands outside the wasm heap, misaligned, or a bad geometry")) return args.Done();
  const float* x = args.At(xOff);
  float* y = args.At(yOff);
  const int64_t C = g.inC, M = g.M();
  if (M == 0) return args.Done();
  if (g.fh == 1 && g.fw == 1 && g.outH == g.inH && g.outW == g.inW) {
    // tfjs-backend-cpu returns x itself here (NaN kept), not the pooled value (NaN dropped).
    std::memcpy(y, x, sizeof(float) * static_cast<size_t>(g.XFloats()));
    return args.Done();
  }
  const float lowest = -std::numeric_limits<float>::infinity();
  Position p(g, 0);
  for (int64_t m = 0; m < M; ++m, p.Next(g)) {
    float* out = y + m * C;
    for (int64_t d = 0; d < C; ++d) out[d] = lowest;
    const int64_t cy = p.y * g.sh - g.top, cx = p.x * g.sw - g.left;
    int64_t rlo, rhi, clo, chi;
    ValidTaps(cy, g.fh, g.inH, &rlo, &rhi);
    ValidTaps(cx, g.fw, g.inW, &clo, &chi);
    for (int64_t r = rlo; r < rhi; ++r) {
      for (int64_t c = clo; c < chi; ++c) {
        MaxInto(out, x + ((p.b * g.inH + cy + r) * g.inW + cx + c) * C, C);
      }
    }
  }
  return args.Done();
}

// maxPoolGrad(heap, dyOff, xOff, dxOff, geometry…13): dx[argmax of each window] += dy, the argmax
// being the first strict maximum in row-major window order (tfjs-backend-cpu's
// maxPoolPositions): ties go to the earliest tap, NaN never wins, a window of only NaN or −∞
// passes no gradient.
Napi::Value MaxPoolGrad(const Napi::CallbackInfo& info) {
  KernelArgs args(info, "maxPoolGrad", 3 + Geometry::kCount);
  if (!args.Valid()) return args.Done();
  const double dyOff = args[0], xOff = args[1], dxOff = args[2];
  const Geometry g = Geometry::Read(args, 3);
  const bool ok = PoolSane(g) && args.Spans(dyOff, g.YFloats()) && args.Spans(xOff, g.XFloats()) &&
                  args.Spans(dxOff, g.XFloats()) && g.fh * g.fw <= INT_MAX;
  if (!args.Check(ok, "operands outside the wasm heap, misaligned, or a bad geometry")) return args.Done();
  const float* dy = args.At(dyOff);
  const float* x = args.At(xOff);
  float* dx = args.At(dxOff);
  const int64_t C = g.inC, M = g.M();
  std::memset(dx, 0, sizeof(float) * static_cast<size_t>(g.XFloats()));
  if (C == 0 || M == 0) return args.Done();
  std::vector<float> best(static_cast<size_t>(C));
  std::vector<int32_t> where(static_cast<size_t>(C));
  const float lowest = -std::numeric_limits<float>::infinity();
  Position p(g, 0);
  for (int64_t m = 0; m < M; ++m, p.Next(g)) {
    const int64_t cy = p.y * g.sh - g.top, cx = p.x * g.sw - g.left;
    int64_t rlo, rhi, clo, chi;
    ValidTaps(cy, g.fh, g.inH, &rlo, &rhi);
    ValidTaps(cx, g.fw, g.inW, &clo, &chi);
    float* bv = best.data();
    int32_t* bw = where.data();
    for (int64_t d = 0; d < C; ++d) {
      bv[d] = lowest;
      bw[d] = -1;
    }
    for (int64_t r = rlo; r < rhi; ++r) {
      for (int64_t c = clo; c < chi; ++c) {
        const int32_t tap = static_cast<int32_t>(r * g.fw + c);
        ArgMaxStep(bv, bw, x + ((p.b * g.inH + cy + r) * g.inW + cx + c) * C, tap, C);
      }
    }
    const float* g_out = dy + m * C;
    for (int64_t r = rlo; r < rhi; ++r) {
      for (int64_t c = clo; c < chi; ++c) {
        const int32_t tap = static_cast<int32_t>(r * g.fw + c);
        ScatterTap(dx + ((p.b * g.inH + cy + r) * g.inW + cx + c) * C, g_out, bw, tap, C);
      }
    }
  }
  return args.Done();
}

}  // namespace

void RegisterConvKernels(Napi::Env env, Napi::Object exports) {
  exports.Set("conv2d", Napi::Function::New(env, Conv2D));
  exports.Set("conv2dBackpropInput", Napi::Function::New(env, Conv2DBackpropInput));
  exports.Set("conv2dBackpropFilter", Napi::Function::New(env, Conv2DBackpropFilter));
  exports.Set("maxPool", Napi::Function::New(env, MaxPool));
  exports.Set("maxPoolGrad", Napi::Function::New(env, MaxPoolGrad));
}

}  // namespace kdlab
