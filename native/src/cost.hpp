// The cost model (issue 5): per-op time on each device from an op-class efficiency, lane padding, on-chip
// residency and a spill penalty; then Core ML-style segmentation (cheapest (op, device) path with a launch
// cost per segment and a transfer cost per device change); then the chosen plan's times. docs/native.md
// "Cost model" documents every constant.
#pragma once
#include <string>
#include <vector>

#include "analysis.hpp"

namespace ane {

enum class OpClass { conv1x1, convKxK, depthwise, matmul, elementwise, reduction, movement, metadata };
const char* opClassName(OpClass c);

/** Why a layer is not on the ANE: the placement gave it no ANE choice, or the segmenter preferred another device. */
enum class Fallback { none, unsupported, cost };

struct OpTime {
  double computeMs = 0, memoryMs = 0, ms = 0;
  double touchedBytes = 0;  // inputs + weights + outputs as the device lays them out (ANE: padded)
  double dramBytes = 0;     // what actually crosses DRAM (ANE: weights, plus activations when spilling)
  bool spilled = false;
};

struct LayerCost {
  double flops = 0, bytes = 0, dramBytes = 0, estMs = 0, computeMs = 0, memoryMs = 0;
  double launchMs = 0, transferMs = 0;  // charged to this layer: segment launch, transfers into it
  bool segmentStart = false, spilled = false;
  OpClass opClass = OpClass::elementwise;
  Device device = Device::ane;
  Fallback fallback = Fallback::none;
};

struct SegmentCost {
  Device device = Device::ane;
  int firstOp = -1, lastOp = -1, ops = 0;  // graph.ops indices of the first and last op in execution order
  double ms = 0;
};

struct TransferCost {
  std::string value;
  int fromOp = -1, toOp = -1;
  Device from = Device::ane, to = Device::cpu;
  double bytes = 0, ms = 0;
};

struct CostResult {
  std::vector<LayerCost> layers;  // graph.ops order
  std::vector<SegmentCost> segments;
  std::vector<TransferCost> transfers;
  double totalMs = 0;
};

/** Bytes of one activation of this shape on a device: ANE pads the last axis to 64 bytes of fp16. */
double activationBytes(const Shape& s, Device d);
double opFlops(const OpNode& op, const Analysis& a, int opIndex);
OpClass classifyOp(const OpNode& op, const Analysis& a, int opIndex);
/** One op's physical time on one device, without launch or transfer costs. */
OpTime opTime(const Graph& g, const Analysis& a, const RunOptions& o, int opIndex, Device d);
/** The same with the op's class and flops already known (costGraph computes them once per op). */
OpTime opTime(const Graph& g, const Analysis& a, const RunOptions& o, int opIndex, Device d, OpClass cls, double flops);
CostResult costGraph(const Graph& g, const Analysis& a, const RunOptions& o);

}  // namespace ane
