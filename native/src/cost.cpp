#include "cost.hpp"

#include <algorithm>
#include <unordered_set>

#include "tensor.hpp"

namespace ane {

namespace {
constexpr int64_t kAneLastAxisAlignElems = 32;  // 64 bytes of fp16

double elems(const Shape& s) { return static_cast<double>(numel(s)); }

const Shape* knownShape(const Analysis& a, int vid) {
  if (vid < 0 || !a.values[vid].known) return nullptr;
  return &a.values[vid].shape;
}

double outElems(const Analysis& a, int opIndex) {
  double n = 0;
  for (int vid : a.opOutputs[opIndex])
    if (const Shape* s = knownShape(a, vid)) n += elems(*s);
  return n;
}
}  // namespace

double activationBytes(const Shape& s, Device d) {
  if (d == Device::cpu) return elems(s) * 4;  // the CPU fallback computes in fp32
  if (d == Device::gpu) return elems(s) * 2;
  if (s.empty()) return kAneLastAxisAlignElems * 2.0;
  const int64_t last = s.back();
  const int64_t padded = (last + kAneLastAxisAlignElems - 1) / kAneLastAxisAlignElems * kAneLastAxisAlignElems;
  return (last ? elems(s) / static_cast<double>(last) : 0) * static_cast<double>(padded) * 2;
}

double opFlops(const OpNode& op, const Analysis& a, int opIndex) {
  static const std::unordered_set<std::string> movement = {
      "reshape", "expand_dims", "squeeze", "transpose", "concat", "split", "slice_by_index", "pad",
      "upsample_nearest_neighbor", "identity", "const", "tile", "cast"};
  const std::string& t = op.op;
  const std::vector<int>& ins = a.opInputs[opIndex];
  const double out = outElems(a, opIndex);
  auto in = [&](size_t i) { return i < ins.size() ? knownShape(a, ins[i]) : nullptr; };
  if (movement.count(t)) return 0;
  if (t == "conv") {
    const Shape* w = in(1);
    if (!w || w->empty() || (*w)[0] == 0) return out;
    // out = N·Cout·Ho·Wo and numel(w)/Cout = (Cin/groups)·kH·kW.
    const double perOut = elems(*w) / static_cast<double>((*w)[0]);
    return 2 * out * perOut + (in(2) ? out : 0);
  }
  if (t == "linear") {
    const Shape* w = in(1);
    if (!w || w->size() != 2) return out;
    return 2 * out * static_cast<double>((*w)[1]) + (in(2) ? out : 0);
  }
  if (t == "matmul") {
    const Shape* x = in(0);
    if (!x || x->empty()) return out;
    const bool tx = x->size() >= 2 && op.attrBool("transpose_x", false);
    const double K = static_cast<double>(tx ? (*x)[x->size() - 2] : x->back());
    return 2 * out * K;
  }
  if (t == "conv_transpose") {
    const Shape* x = in(0);
    const Shape* w = in(1);
    if (!x || !w || w->empty() || (*w)[0] == 0) return out;
    // weight (Cin, Cout/groups, kH, kW): every input element scatters into (Cout/groups)·kH·kW outputs.
    return 2 * elems(*x) * (elems(*w) / static_cast<double>((*w)[0]));
  }
  if (t == "lstm" || t == "gru" || t == "rnn") {
    // ONNX layout: X (T, B, I), W (dirs, gates·H, I), R (dirs, gates·H, H); one input and one recurrent
    // matmul per step and direction.
    const Shape* x = in(0);
    const Shape* w = in(1);
    const Shape* r = in(2);
    if (!x || x->empty() || !w || !r || x->back() == 0) return out;
    const double steps = elems(*x) / static_cast<double>(x->back());
    return 2 * (elems(*w) + elems(*r)) * steps;
  }
  if (t.rfind("reduce_", 0) == 0) {
    const Shape* x = in(0);
    return x ? elems(*x) : out;
  }
  if (t == "avg_pool" || t == "max_pool") {
    std::vector<int64_t> k = op.attrInts("kernel_sizes", {1, 1});
    double window = 1;
    for (int64_t v : k) window *= static_cast<double>(v);
    return out * window;
  }
  // A few multi-step ops count their passes; everything else is one operation per output element.
  if (t == "softmax") return 3 * out;       // exp, sum, divide
  if (t == "layer_norm") return 5 * out;    // mean, variance, normalize, scale, shift
  if (t == "batch_norm") return 2 * out;    // folded to a scale and a shift
  return out;
}

std::vector<LayerCost> costLayers(const Graph& g, const Analysis& a, const RunOptions& o) {
  std::vector<LayerCost> costs(g.ops.size());
  for (size_t i = 0; i < g.ops.size(); i++) {
    const Device d = o.devices[i];
    LayerCost& c = costs[i];
    c.flops = opFlops(g.ops[i], a, static_cast<int>(i));
    std::unordered_set<int> seen;  // a value read twice (mul x x) is moved once
    for (int vid : a.opInputs[i]) {
      if (vid < 0 || !a.values[vid].known || !seen.insert(vid).second) continue;
      const ValueInfo& v = a.values[vid];
      if (v.kind == ValueInfo::Kind::Constant) c.bytes += elems(v.shape) * (d == Device::cpu ? 4 : 2);
      else c.bytes += activationBytes(v.shape, d);
    }
    for (int vid : a.opOutputs[i])
      if (a.values[vid].known) c.bytes += activationBytes(a.values[vid].shape, d);
    const Roofline& r = o.roofline(d);
    const double computeS = c.flops / (r.tflops * 1e12);
    const double memoryS = c.bytes / (r.bandwidthGBs * 1e9);
    c.estMs = std::max(computeS, memoryS) * 1e3;
  }
  int prev = -1;
  for (int opIndex : a.order) {
    const Device d = o.devices[opIndex];
    if (prev < 0 || o.devices[prev] != d) {
      costs[opIndex].segmentStart = true;
      costs[opIndex].estMs += o.roofline(d).dispatchMs;
    }
    prev = opIndex;
  }
  return costs;
}

}  // namespace ane
