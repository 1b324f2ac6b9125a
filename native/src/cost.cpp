#include "cost.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "kernels.hpp"
#include "tensor.hpp"

namespace ane {

namespace {
constexpr int64_t kAneLastAxisAlignElems = 32;  // 64 bytes of fp16

// ---- The one parameter set (docs/native.md "Cost model"; calibrated by test/sim/calibration.test.ts) ----
// Share of the chip's fp16 peak each op class reaches on the ANE.
constexpr double kEffConv = 1.0;         // 1x1 and kxk conv: chip tflops are conv-benchmark figures
constexpr double kEffMatmul = 0.54;      // M5 matmul roof 10.2 / conv roof 18.8 (ane-guide)
constexpr double kEffDepthwise = 0.08;   // assumed: one MAC per weight per output, no channel reuse
constexpr double kEffElementwise = 0.05; // assumed: planar-engine ops, one "flop" per output element
constexpr double kEffReduction = 0.03;   // assumed: reductions, softmax, norms, pooling
// Convs and matmuls with few channels leave MAC lanes idle: util = min(1, C / 256)^0.62 (fit to §4 row 21 vs 22).
constexpr double kChannelSaturation = 256, kChannelExponent = 0.62;
// Fixed issue cost of one op inside a segment, ms (learned engine costs of tiny ops are tens of ns; a CPU op
// call ~1 us; a GPU kernel encode ~5 us). Assumed.
constexpr double kIssueMs[3] = {0.00005, 0.005, 0.001};  // ane, gpu, cpu
// A device change: a fixed synchronisation plus a copy into the other unit's layout at CPU bandwidth. Assumed.
constexpr double kTransferFixedMs = 0.01;

// Core ML's planner anchors (ane-guide ch.5/18, decompiled): throughput GFLOP/s and GB/s per backend, launch
// penalty per segment, transfer penalty per backend crossing. Read as ms; they decide placement, never times.
constexpr double kPlanGflops[3] = {800, 120, 20};
constexpr double kPlanGBs[3] = {50, 40, 10};
constexpr double kPlanLaunch[3] = {0.05, 0.10, 0.10};
constexpr double kPlanTransferInto[3] = {0.09, 0.23, 0.23};

int dev(Device d) { return d == Device::ane ? 0 : d == Device::gpu ? 1 : 2; }

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

int64_t padLast(int64_t v) { return (v + kAneLastAxisAlignElems - 1) / kAneLastAxisAlignElems * kAneLastAxisAlignElems; }

double channelUtil(double c) {
  if (c <= 0) return 1;
  return std::pow(std::min(1.0, c / kChannelSaturation), kChannelExponent);
}

/** The op's einsum equation checked against its known input shapes, or false when it cannot be read. */
bool knownEinsum(const OpNode& op, const Analysis& a, int opIndex, EinsumSpec& spec) {
  Shapes shapes;
  for (int vid : a.opInputs[opIndex]) {
    const Shape* s = vid >= 0 ? knownShape(a, vid) : nullptr;
    if (!s) return false;
    shapes.push_back(s);
  }
  try {
    spec = einsumSpec(op, shapes);
    return true;
  } catch (const std::exception&) {
    return false;  // the shape pass or the executor reports it; the cost falls back to one op per element
  }
}

/** Channels that bound MAC-array use: min(Cin/groups, Cout) for conv, min(K, N) for linear and matmul. */
double macChannels(const OpNode& op, const Analysis& a, int opIndex) {
  const std::vector<int>& ins = a.opInputs[opIndex];
  auto in = [&](size_t i) { return i < ins.size() ? knownShape(a, ins[i]) : nullptr; };
  const Shape* w = in(1);
  const std::string_view t = op.op;
  if ((t == "conv" || t == "conv_transpose") && w && w->size() >= 2)
    return static_cast<double>(std::min((*w)[0], (*w)[1]));
  if (t == "linear" && w && w->size() == 2) return static_cast<double>(std::min((*w)[0], (*w)[1]));
  if (t == "einsum") {
    // The summed letters (K) and the second operand's own output letters (N), as for matmul.
    EinsumSpec e;
    if (!knownEinsum(op, a, opIndex, e) || e.operands.size() != 2) return 0;
    double k = 1, n = 1;
    for (char c : e.operands[1]) {
      const bool inA = e.operands[0].find(c) != std::string::npos, inOut = e.output.find(c) != std::string::npos;
      if (inA && !inOut) k *= static_cast<double>(e.size[static_cast<unsigned char>(c)]);
      if (!inA && inOut) n *= static_cast<double>(e.size[static_cast<unsigned char>(c)]);
    }
    return std::min(k, n);
  }
  if (t == "matmul") {
    const Shape* x = in(0);
    const Shape* y = in(1);
    if (!x || !y || x->empty() || y->empty()) return 0;
    const bool tx = x->size() >= 2 && op.attrBool("transpose_x", false);
    const bool ty = y->size() >= 2 && op.attrBool("transpose_y", false);
    const int64_t k = tx ? (*x)[x->size() - 2] : x->back();
    const int64_t n = y->size() < 2 ? 1 : ty ? (*y)[y->size() - 2] : y->back();
    return static_cast<double>(std::min(k, n));
  }
  return 0;
}

bool reducesLongLastAxis(const OpNode& op, const Analysis& a, int opIndex, int64_t limit) {
  const Shape* x = a.opInputs[opIndex].empty() ? nullptr : knownShape(a, a.opInputs[opIndex][0]);
  if (!x || x->empty() || x->back() < limit) return false;
  const int64_t rank = static_cast<int64_t>(x->size());
  auto isLast = [&](int64_t axis) { return axis == -1 || axis == rank - 1; };
  const std::string_view t = op.op;
  if (t == "softmax") return isLast(op.attrInt("axis", -1));
  if (t == "avg_pool" || t == "max_pool" || t == "l2_pool") return false;  // windows, not reductions of the axis
  for (int64_t axis : op.attrInts("axes", {-1}))
    if (isLast(axis)) return true;
  return false;
}

bool isMetadataOp(std::string_view t) {
  // constexpr ops are expanded when Core ML loads the model: no work at run time.
  return t == "reshape" || t == "expand_dims" || t == "squeeze" || t == "identity" || t == "flatten2d" || t == "const" || t == "shape" ||
         t.substr(0, 10) == "constexpr_";
}
}  // namespace

const char* opClassName(OpClass c) {
  switch (c) {
    case OpClass::conv1x1: return "conv1x1";
    case OpClass::convKxK: return "convKxK";
    case OpClass::depthwise: return "depthwise";
    case OpClass::matmul: return "matmul";
    case OpClass::elementwise: return "elementwise";
    case OpClass::reduction: return "reduction";
    case OpClass::movement: return "movement";
    case OpClass::metadata: return "metadata";
  }
  return "elementwise";
}

double activationBytes(const Shape& s, Device d) {
  if (d == Device::cpu) return elems(s) * 4;  // the CPU fallback computes in fp32
  if (d == Device::gpu) return elems(s) * 2;
  if (s.empty()) return kAneLastAxisAlignElems * 2.0;
  const int64_t last = s.back();
  return (last ? elems(s) / static_cast<double>(last) : 0) * static_cast<double>(padLast(last)) * 2;
}

OpClass classifyOp(const OpNode& op, const Analysis& a, int opIndex) {
  static const std::unordered_set<std::string> movement = {
      "transpose", "concat", "split", "slice_by_index", "slice_by_size", "pad", "tile", "upsample_nearest_neighbor",
      "gather", "gather_nd", "gather_along_axis", "cast", "stack", "depth_to_space", "space_to_depth", "pixel_shuffle", "select"};
  static const std::unordered_set<std::string> reduction = {
      "softmax", "layer_norm", "instance_norm", "l2_norm", "avg_pool", "max_pool", "l2_pool", "reduce_argmax", "reduce_argmin", "cumsum"};
  if (isMetadataOp(op.op)) return OpClass::metadata;
  if (movement.count(op.op)) return OpClass::movement;
  const std::string_view t = op.op;  // == on a string_view tests the length before any memcmp
  if (reduction.count(op.op) || t.substr(0, 7) == "reduce_") return OpClass::reduction;
  if (t == "linear" || t == "matmul" || t == "einsum" || t == "lstm" || t == "gru" || t == "rnn") return OpClass::matmul;
  if (t == "conv" || t == "conv_transpose") {
    const std::vector<int>& ins = a.opInputs[opIndex];
    const Shape* w = ins.size() > 1 ? knownShape(a, ins[1]) : nullptr;
    const int64_t groups = op.attrInt("groups", 1);
    // conv weight (Cout, Cin/groups, ...), conv_transpose (Cin, Cout/groups, ...): one channel per group either way.
    if (w && w->size() >= 2 && groups > 1 && (*w)[1] == 1) return OpClass::depthwise;
    if (w && w->size() >= 3) {
      int64_t k = 1;
      for (size_t i = 2; i < w->size(); i++) k *= (*w)[i];
      if (k == 1) return OpClass::conv1x1;
    }
    return OpClass::convKxK;
  }
  return OpClass::elementwise;
}

double opFlops(const OpNode& op, const Analysis& a, int opIndex) {
  static const std::unordered_set<std::string> movement = {
      "reshape", "expand_dims", "squeeze", "transpose", "concat", "split", "slice_by_index", "pad",
      "upsample_nearest_neighbor", "identity", "const", "tile", "cast", "constexpr_affine_dequantize", "constexpr_lut_to_dense",
      "constexpr_sparse_to_dense", "constexpr_blockwise_shift_scale", "constexpr_lut_to_sparse"};
  const std::string_view t = op.op;  // == on a string_view tests the length before any memcmp
  const std::vector<int>& ins = a.opInputs[opIndex];
  const double out = outElems(a, opIndex);
  auto in = [&](size_t i) { return i < ins.size() ? knownShape(a, ins[i]) : nullptr; };
  if (movement.count(op.op)) return 0;
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
  if (t == "einsum") {
    EinsumSpec e;
    if (!knownEinsum(op, a, opIndex, e)) return out;
    return e.operands.size() == 2 ? 2 * e.macs() : e.macs();  // one operand: a sum or a permutation
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
  if (t.substr(0, 7) == "reduce_") {
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

OpTime opTime(const Graph& g, const Analysis& a, const RunOptions& o, int i, Device d) {
  return opTime(g, a, o, i, d, classifyOp(g.ops[i], a, i), opFlops(g.ops[i], a, i));
}

OpTime opTime(const Graph& g, const Analysis& a, const RunOptions& o, int i, Device d, OpClass cls, double flops) {
  const OpNode& op = g.ops[i];
  OpTime t;
  double weightBytes = 0, actIn = 0, actOut = 0;
  const std::vector<int>& ins = a.opInputs[i];
  // A value read twice (mul x x) is moved once. Ops have a handful of inputs: a scan beats a hash set.
  auto readBefore = [&](size_t k) { return std::find(ins.begin(), ins.begin() + static_cast<std::ptrdiff_t>(k), ins[k]) != ins.begin() + static_cast<std::ptrdiff_t>(k); };
  for (size_t k = 0; k < ins.size(); k++) {
    const int vid = ins[k];
    if (vid < 0 || !a.values[vid].known || readBefore(k)) continue;
    const ValueInfo& v = a.values[vid];
    if (v.kind == ValueInfo::Kind::Constant) weightBytes += elems(v.shape) * (d == Device::cpu ? 4 : 2);
    else actIn += activationBytes(v.shape, d);
  }
  for (int vid : a.opOutputs[i])
    if (a.values[vid].known) actOut += activationBytes(a.values[vid].shape, d);
  t.touchedBytes = weightBytes + actIn + actOut;
  const Roofline& r = o.roofline(d);

  // Reshape-like ops are metadata unless they change the last axis, which on the ANE means a strided copy.
  bool metadataOnly = cls == OpClass::metadata;
  if (metadataOnly && d == Device::ane) {
    const Shape* in0 = a.opInputs[i].empty() ? nullptr : knownShape(a, a.opInputs[i][0]);
    const Shape* out0 = a.opOutputs[i].empty() ? nullptr : knownShape(a, a.opOutputs[i][0]);
    if (in0 && out0 && !in0->empty() && !out0->empty() && in0->back() != out0->back()) metadataOnly = false;
  }

  if (d != Device::ane) {
    // Plain roofline for the fallbacks: every operand crosses DRAM.
    t.dramBytes = metadataOnly ? 0 : t.touchedBytes;
    t.computeMs = flops / (r.tflops * 1e12) * 1e3;
    t.memoryMs = t.dramBytes / (r.bandwidthGBs * 1e9) * 1e3;
  } else {
    double eff = kEffElementwise;
    switch (cls) {
      case OpClass::conv1x1: case OpClass::convKxK: eff = kEffConv * channelUtil(macChannels(op, a, i)); break;
      case OpClass::matmul: eff = kEffMatmul * channelUtil(macChannels(op, a, i)); break;
      case OpClass::depthwise: eff = kEffDepthwise; break;
      case OpClass::reduction: eff = kEffReduction; break;
      default: break;
    }
    // The ANE computes whole 64-byte rows: a last axis of 1 costs 32 lanes.
    double lanes = 1;
    if (!a.opOutputs[i].empty()) {
      if (const Shape* out = knownShape(a, a.opOutputs[i][0]); out && !out->empty() && out->back() > 0)
        lanes = static_cast<double>(padLast(out->back())) / static_cast<double>(out->back());
    }
    t.computeMs = flops * lanes / (r.tflops * 1e12 * eff) * 1e3;
    // Weights stream from DRAM every time; activations stay on chip while the op's working set fits.
    t.spilled = actIn + actOut + weightBytes > o.aneWorkingSetBytes;
    const bool dma = cls == OpClass::movement || (cls == OpClass::metadata && !metadataOnly);
    t.dramBytes = weightBytes + (t.spilled || dma ? actIn + actOut : 0);
    // A long reduction over the last (width) axis is done by transposing it away and back (two copies).
    if (cls == OpClass::reduction && reducesLongLastAxis(op, a, i, o.aneLastAxisReduceLimit)) t.dramBytes += 2 * actIn;
    t.memoryMs = t.dramBytes / (r.bandwidthGBs * 1e9) * 1e3;
  }
  if (metadataOnly) t.computeMs = 0;
  t.ms = std::max(t.computeMs, t.memoryMs) + kIssueMs[dev(d)];
  return t;
}

namespace {
/** Core ML planner cost of one op on one backend (its coarse anchors, unpadded fp16 bytes). */
double plannerOpCost(double flops, double bytes, Device d) {
  const int k = dev(d);
  return std::max(flops / (kPlanGflops[k] * 1e9), bytes / (kPlanGBs[k] * 1e9)) * 1e3;
}

bool readsActivation(const Analysis& a, int i) {
  for (int vid : a.opInputs[i])
    if (vid >= 0 && a.values[vid].kind == ValueInfo::Kind::OpOutput) return true;
  return false;
}
}  // namespace

CostResult costGraph(const Graph& g, const Analysis& a, const RunOptions& o) {
  const size_t n = g.ops.size();
  CostResult res;
  res.layers.resize(n);
  std::vector<double> flops(n);
  for (size_t i = 0; i < n; i++) {
    flops[i] = opFlops(g.ops[i], a, static_cast<int>(i));
    res.layers[i].flops = flops[i];
    res.layers[i].opClass = classifyOp(g.ops[i], a, static_cast<int>(i));
  }

  // 1. Device choice. The placement (`devices`) is final for ops it put off the ANE (no ANE choice); an
  // ANE-placed op may also go to the CPU (Core ML's CPU_AND_NE). The cheapest path runs over the
  // topological order as a chain: the state is the device of the previous op in that order, and a change
  // of state pays the new backend's launch and a transfer into it. In a DAG an edge that skips over a
  // segment boundary is not seen by the DP; step 3 still charges it from the real edges.
  std::vector<Device> chosen(o.devices.begin(), o.devices.end());
  if (o.segment && !a.order.empty()) {
    constexpr double inf = std::numeric_limits<double>::infinity();
    const size_t m = a.order.size();
    std::vector<std::array<double, 3>> best(m);
    std::vector<std::array<int, 3>> from(m);
    const Device devs[3] = {Device::ane, Device::gpu, Device::cpu};
    for (size_t p = 0; p < m; p++) {
      const int i = a.order[p];
      const Device placed = o.devices[i];
      double bytes = 0;
      for (int vid : a.opInputs[i])
        if (vid >= 0 && a.values[vid].known) bytes += elems(a.values[vid].shape) * 2;
      for (int vid : a.opOutputs[i])
        if (a.values[vid].known) bytes += elems(a.values[vid].shape) * 2;
      const bool act = readsActivation(a, i);
      for (int k = 0; k < 3; k++) {
        best[p][k] = inf;
        from[p][k] = -1;
        const Device d = devs[k];
        const bool allowed = d == placed || (placed == Device::ane && d == Device::cpu);
        if (!allowed) continue;
        const double own = plannerOpCost(flops[i], bytes, d);
        if (p == 0) { best[p][k] = own + kPlanLaunch[k]; continue; }
        for (int q = 0; q < 3; q++) {
          if (best[p - 1][q] == inf) continue;
          const double sw = q == k ? 0 : kPlanLaunch[k] + (act ? kPlanTransferInto[k] : 0);
          const double c = best[p - 1][q] + sw + own;
          if (c < best[p][k]) { best[p][k] = c; from[p][k] = q; }
        }
      }
    }
    int k = 0;
    for (int q = 1; q < 3; q++)
      if (best[m - 1][q] < best[m - 1][k]) k = q;
    for (size_t p = m; p-- > 0;) {
      chosen[a.order[p]] = devs[k];
      if (p > 0) k = from[p][k];
    }
  }

  // 2. Physical time of each op on its device.
  for (size_t i = 0; i < n; i++) {
    LayerCost& c = res.layers[i];
    const OpTime t = opTime(g, a, o, static_cast<int>(i), chosen[i], c.opClass, c.flops);
    c.device = chosen[i];
    c.fallback = chosen[i] == Device::ane ? Fallback::none : o.devices[i] != Device::ane ? Fallback::unsupported : Fallback::cost;
    c.bytes = t.touchedBytes;
    c.dramBytes = t.dramBytes;
    c.computeMs = t.computeMs;
    c.memoryMs = t.memoryMs;
    c.spilled = t.spilled;
    c.estMs = t.ms;
  }

  // 3. Segments (maximal same-device runs in execution order) pay their device's dispatch floor, charged to
  // their first layer; every producer→consumer edge across devices pays one transfer (once per value and
  // receiving device), charged to the consumer.
  std::vector<int> producer(a.values.size(), -1);
  for (size_t i = 0; i < n; i++)
    for (int vid : a.opOutputs[i]) producer[vid] = static_cast<int>(i);
  std::unordered_set<int64_t> moved;
  for (size_t p = 0; p < a.order.size(); p++) {
    const int i = a.order[p];
    LayerCost& c = res.layers[i];
    if (p == 0 || chosen[a.order[p - 1]] != chosen[i]) {
      c.segmentStart = true;
      c.launchMs = o.roofline(chosen[i]).dispatchMs;
      res.segments.push_back({chosen[i], i, i, 0, 0});
    }
    SegmentCost& seg = res.segments.back();
    seg.lastOp = i;
    seg.ops++;
    for (int vid : a.opInputs[i]) {
      if (vid < 0 || producer[vid] < 0 || chosen[producer[vid]] == chosen[i] || !a.values[vid].known) continue;
      if (!moved.insert(static_cast<int64_t>(vid) * 4 + dev(chosen[i])).second) continue;
      TransferCost tr;
      tr.value = a.values[vid].name;
      tr.fromOp = producer[vid];
      tr.toOp = i;
      tr.from = chosen[producer[vid]];
      tr.to = chosen[i];
      tr.bytes = elems(a.values[vid].shape) * 4;  // converted through an fp32 host copy
      tr.ms = kTransferFixedMs + tr.bytes / (o.cpu.bandwidthGBs * 1e9) * 1e3;
      c.transferMs += tr.ms;
      res.transfers.push_back(tr);
    }
    c.estMs += c.launchMs + c.transferMs;
    seg.ms += c.estMs;
    res.totalMs += c.estMs;
  }
  return res;
}

}  // namespace ane
