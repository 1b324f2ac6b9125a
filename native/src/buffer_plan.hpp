// Liveness-based buffer plan for the fp16 activations: a buffer is freed after the last op that reads it
// and reused (best fit, grown if needed) by later outputs. Its total size is the peak activation memory.
#pragma once
#include <cstdint>
#include <vector>

#include "analysis.hpp"

namespace ane {

struct BufferPlan {
  uint64_t peakBytes = 0;       // sum of all buffer sizes at the end (buffers only grow)
  uint64_t unplannedBytes = 0;  // every activation in its own buffer, for comparison
  std::vector<int> bufferOf;    // per value id; -1 for constants and unknown shapes
  size_t bufferCount = 0;
};

BufferPlan planBuffers(const Graph& g, const Analysis& a, uint64_t bytesPerElement);

}  // namespace ane
