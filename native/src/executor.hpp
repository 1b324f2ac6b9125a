// Runs the graph twice side by side: the fp16 path (activations stored as binary16 between ops, weights
// rounded to binary16, arithmetic in fp32, every output rounded) and the fp32 reference (same kernels,
// no rounding). Values are dropped after their last reader.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "analysis.hpp"

namespace ane {

struct LayerNumerics {
  double maxAbsError = 0, maxRelError = 0;
  int64_t infCount = 0, nanCount = 0;
};

struct LayerRun {
  bool executed = false;
  std::string notExecuted;
  LayerNumerics numerics;
};

struct OutputRun {
  std::string name;
  Shape shape;
  std::vector<float> fp16, fp32;
  double maxAbsError = 0, maxRelError = 0;
};

struct ExecResult {
  std::vector<LayerRun> layers;  // graph.ops order
  std::string firstOverflowLayer;  // empty: none
  std::vector<OutputRun> outputs;  // executed graph outputs, in graph.outputs order
};

struct InputData {
  const float* data;
  size_t length;
};

/** Denominator floor of the relative error |fp16 − fp32| / max(|fp32|, kRelFloor). */
constexpr double kRelFloor = 1e-3;

/** Frees what the executor keeps between runs of the process (its buffer pool and helper thread, each
 *  dropped anyway after a few seconds without a run). Safe to call at any time, also during a run. */
void releaseExecutorMemory();

ExecResult execute(const Graph& g, const Analysis& a, const uint8_t* weights, uint64_t weightsSize,
                   const std::map<std::string, InputData>& inputs, const RunOptions& o);

}  // namespace ane
