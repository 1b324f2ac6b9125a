#include "buffer_plan.hpp"

#include "tensor.hpp"

namespace ane {

BufferPlan planBuffers(const Graph& g, const Analysis& a, uint64_t bytesPerElement) {
  BufferPlan plan;
  plan.bufferOf.assign(a.values.size(), -1);
  std::vector<uint64_t> size;
  std::vector<bool> isFree;
  auto bytesOf = [&](int vid) { return static_cast<uint64_t>(numel(a.values[vid].shape)) * bytesPerElement; };
  auto allocate = [&](int vid) {
    const uint64_t need = bytesOf(vid);
    plan.unplannedBytes += need;
    int best = -1, largest = -1;
    for (size_t b = 0; b < size.size(); b++) {
      if (!isFree[b]) continue;
      if (size[b] >= need && (best < 0 || size[b] < size[best])) best = static_cast<int>(b);
      if (largest < 0 || size[b] > size[largest]) largest = static_cast<int>(b);
    }
    if (best < 0 && largest >= 0) {
      best = largest;  // growing the largest free buffer costs less than a new one
      plan.peakBytes += need - size[best];
      size[best] = need;
    }
    if (best < 0) {
      best = static_cast<int>(size.size());
      size.push_back(need);
      isFree.push_back(false);
      plan.peakBytes += need;
    }
    isFree[best] = false;
    plan.bufferOf[vid] = best;
  };
  auto release = [&](int vid) {
    if (plan.bufferOf[vid] >= 0 && !a.values[vid].graphOutput) isFree[plan.bufferOf[vid]] = true;
  };

  // Graph inputs are live from the start.
  for (size_t vid = 0; vid < a.values.size(); vid++)
    if (a.values[vid].kind == ValueInfo::Kind::Input && a.values[vid].known) allocate(static_cast<int>(vid));
  for (size_t vid = 0; vid < a.values.size(); vid++)
    if (a.values[vid].kind == ValueInfo::Kind::Input && a.values[vid].lastUse < 0) release(static_cast<int>(vid));

  for (size_t pos = 0; pos < a.order.size(); pos++) {
    const int opIndex = a.order[pos];
    // Outputs are allocated while the inputs are still held: an op never writes over what it reads.
    for (int vid : a.opOutputs[opIndex])
      if (a.values[vid].known) allocate(vid);
    for (int vid : a.opInputs[opIndex])
      if (vid >= 0 && a.values[vid].kind != ValueInfo::Kind::Constant && a.values[vid].lastUse == static_cast<int>(pos)) release(vid);
    for (int vid : a.opOutputs[opIndex])
      if (a.values[vid].lastUse < 0) release(vid);  // produced but never read
  }
  plan.bufferCount = size.size();
  (void)g;
  return plan;
}

}  // namespace ane
