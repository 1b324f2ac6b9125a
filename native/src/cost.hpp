// Roofline cost per layer on its device (contract 4): max(compute time, memory time), plus the device's
// dispatch cost once per segment (maximal run of same-device layers in execution order).
#pragma once
#include <vector>

#include "analysis.hpp"

namespace ane {

struct LayerCost {
  double flops = 0, bytes = 0, estMs = 0;
  bool segmentStart = false;
};

/** Bytes of one activation of this shape on a device: ANE pads the last axis to 64 bytes of fp16. */
double activationBytes(const Shape& s, Device d);
double opFlops(const OpNode& op, const Analysis& a, int opIndex);
/** graph.ops order. */
std::vector<LayerCost> costLayers(const Graph& g, const Analysis& a, const RunOptions& o);

}  // namespace ane
