// The executor's working tensor: fp32 values with a static shape. The fp16 path's tensors hold values that
// are exactly binary16 (rounded after every op), so it reads them as fp32 with no widening pass.
#pragma once
#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

#include "graph.hpp"

namespace ane {

/** A float array that either owns its storage or views memory owned elsewhere (fp32 weights read straight
 *  from the weight blob: copying 100 MB of resnet50 weights per run cost more than the copies saved anywhere
 *  else). resize() leaves new elements uninitialized: most kernels overwrite their whole output, and
 *  zero-filling every output first was a full extra pass over it. */
class FloatBuf {
 public:
  FloatBuf() = default;
  FloatBuf(FloatBuf&& o) noexcept { *this = std::move(o); }
  FloatBuf& operator=(FloatBuf&& o) noexcept {
    if (this != &o) {
      own_ = std::move(o.own_);
      ptr_ = o.ptr_;
      n_ = o.n_;
      cap_ = o.cap_;
      o.ptr_ = nullptr;
      o.n_ = o.cap_ = 0;
    }
    return *this;
  }
  FloatBuf(const FloatBuf& o) { *this = o; }
  FloatBuf& operator=(const FloatBuf& o) {
    if (this != &o) {
      resize(o.n_);
      std::copy(o.ptr_, o.ptr_ + o.n_, own_.get());
    }
    return *this;
  }

  /** Owned storage for n values, contents unspecified. */
  void resize(size_t n) {
    own_.reset(n ? new float[n] : nullptr);  // new float[n] (no "()"): not value-initialized
    ptr_ = own_.get();
    n_ = cap_ = n;
  }
  /** Takes over `storage` (room for `capacity` values) to hold n <= capacity values, contents unspecified. */
  void adopt(std::unique_ptr<float[]> storage, size_t capacity, size_t n) {
    own_ = std::move(storage);
    ptr_ = own_.get();
    cap_ = capacity;
    n_ = n;
  }
  /** Gives up owned storage (nullptr for a view or an empty buffer), leaving this empty. */
  std::unique_ptr<float[]> surrender(size_t& capacity) {
    capacity = cap_;
    std::unique_ptr<float[]> out = std::move(own_);
    ptr_ = nullptr;
    n_ = cap_ = 0;
    return out;
  }
  void assign(size_t n, float v) {
    resize(n);
    std::fill(ptr_, ptr_ + n, v);
  }
  /** Views n floats owned by someone else, who keeps them alive and unchanged while this is used. */
  void view(const float* p, size_t n) {
    own_.reset();
    ptr_ = const_cast<float*>(p);  // a view is only ever read: it backs kernel inputs, never outputs
    n_ = n;
    cap_ = 0;
  }
  float* data() { return ptr_; }
  const float* data() const { return ptr_; }
  size_t size() const { return n_; }
  bool empty() const { return n_ == 0; }
  float& operator[](size_t i) { return ptr_[i]; }
  const float& operator[](size_t i) const { return ptr_[i]; }
  float* begin() { return ptr_; }
  float* end() { return ptr_ + n_; }
  const float* begin() const { return ptr_; }
  const float* end() const { return ptr_ + n_; }

 private:
  std::unique_ptr<float[]> own_;
  float* ptr_ = nullptr;
  size_t n_ = 0, cap_ = 0;  // cap_: room in own_ (0 for a view)
};

struct Tensor {
  Shape shape;
  FloatBuf data;
  /** fp16 path only: `data` are weights not yet rounded to binary16, handed to a kernel that rounds them as it
   *  reads them (OpInfo::roundsWeight) instead of the executor making a rounded copy of every weight first. */
  bool roundOnRead = false;
};

inline int64_t numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

/** Row-major strides in elements. */
inline std::vector<int64_t> stridesOf(const Shape& s) {
  std::vector<int64_t> st(s.size(), 1);
  for (int i = static_cast<int>(s.size()) - 2; i >= 0; i--) st[i] = st[i + 1] * s[i + 1];
  return st;
}

/** Steps a row-major multi-index to the next element of `shape` (last axis fastest); wraps to zeros at the end. */
inline void nextIndex(std::vector<int64_t>& idx, const Shape& shape) {
  for (int k = static_cast<int>(shape.size()) - 1; k >= 0; k--) {
    if (++idx[k] < shape[k]) return;
    idx[k] = 0;
  }
}

/** Normalizes a possibly negative axis; throws a GraphError naming the op when it is out of range. */
int normAxis(const OpNode& op, int64_t axis, size_t rank, const char* attr);

}  // namespace ane
