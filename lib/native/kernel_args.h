// The argument reader every kdlab_native kernel shares: (heap: ArrayBuffer, n numbers), operands
// as byte offsets into the tfjs wasm heap, each range checked before a kernel touches it.
#pragma once
#include <napi.h>
#include <cstdint>
#include <string>
#include <vector>

namespace kdlab {

inline bool InHeap(size_t heapBytes, double offset, double floats) {
  if (offset < 0 || floats < 0) return false;
  const double end = offset + 4.0 * floats;
  return end <= static_cast<double>(heapBytes);
}

// Every kernel is called as (heap: ArrayBuffer, n numbers), its operands given as byte offsets
// into the heap (booleans arrive as 1 or 0). KernelArgs reads that head and throws the kernel's
// errors, so each kernel only states which operands span how many floats.
class KernelArgs {
 public:
  KernelArgs(const Napi::CallbackInfo& info, const char* name, size_t numbers) : env_(info.Env()), name_(name) {
    if (info.Length() != numbers + 1 || !info[0].IsArrayBuffer()) {
      Throw(Napi::TypeError::New(env_, "kdlab_native." + name_ + ": expected (ArrayBuffer, " + std::to_string(numbers) + " numbers)"));
      return;
    }
    Napi::ArrayBuffer heap = info[0].As<Napi::ArrayBuffer>();
    bytes_ = heap.ByteLength();
    base_ = static_cast<float*>(heap.Data());
    for (size_t i = 0; i < numbers; ++i) values_.push_back(info[1 + i].ToNumber().DoubleValue());
  }
  bool Valid() const { return !thrown_; }
  double operator[](size_t i) const { return values_[i]; }
  int64_t Int(size_t i) const { return static_cast<int64_t>(values_[i]); }
  bool Flag(size_t i) const { return values_[i] != 0; }
  // `floats` floats from byte offset `offset` lie inside the heap, on a float boundary.
  bool Spans(double offset, double floats) const {
    return InHeap(bytes_, offset, floats) && static_cast<int64_t>(offset) % 4 == 0;
  }
  float* At(double offset) const { return base_ + static_cast<int64_t>(offset) / 4; }
  // Throws a RangeError naming the kernel unless `ok`; returns `ok`.
  bool Check(bool ok, const char* what = "operands outside the wasm heap or misaligned") {
    if (!ok) Throw(Napi::RangeError::New(env_, "kdlab_native." + name_ + ": " + what));
    return ok;
  }
  Napi::Value Done() const { return env_.Undefined(); }

 private:
  void Throw(const Napi::Error& e) {
    e.ThrowAsJavaScriptException();
    thrown_ = true;
  }
  Napi::Env env_;
  std::string name_;
  size_t bytes_ = 0;
  float* base_ = nullptr;
  std::vector<double> values_;
  bool thrown_ = false;
};

}  // namespace kdlab
