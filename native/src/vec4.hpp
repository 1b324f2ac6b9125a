// Four floats as one GCC vector (SSE on x86-64, NEON on arm64, no intrinsics), with unaligned loads and
// stores: shared by the depthwise and Winograd kernels.
#pragma once

#include <cstring>

namespace ane {

typedef float v4 __attribute__((vector_size(16)));

inline v4 load4(const float* p) {
  v4 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

inline void store4(float* p, v4 v) { std::memcpy(p, &v, sizeof v); }

}  // namespace ane
