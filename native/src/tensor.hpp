// The executor's working tensor: fp32 values with a static shape. The fp16 path keeps its activations as
// binary16 between ops and widens them into one of these only for the duration of a kernel call.
#pragma once
#include <cstdint>
#include <vector>

#include "graph.hpp"

namespace ane {

struct Tensor {
  Shape shape;
  std::vector<float> data;
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
