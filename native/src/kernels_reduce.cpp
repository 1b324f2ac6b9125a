// reduce_mean / reduce_sum / reduce_max ... over any set of axes (negative allowed; absent = all axes), and reduce_argmax/argmin.
#include <algorithm>
#include <cmath>

#include "kernels.hpp"

namespace ane {

namespace {
std::vector<bool> reducedAxes(const OpNode& op, size_t rank) {
  std::vector<bool> red(rank, false);
  std::vector<int64_t> axes = op.attrInts("axes", {});
  if (axes.empty()) {
    std::fill(red.begin(), red.end(), true);
  } else {
    for (int64_t a : axes) {
      int ax = normAxis(op, a, rank, "axes");
      if (red[ax]) opError(op, "axis " + std::to_string(a) + " appears twice in 'axes'");
      red[ax] = true;
    }
  }
  return red;
}
}  // namespace

std::vector<Shape> reduceShape(const OpNode& op, const Shapes& in) {
  const Shape& x = needShape(op, in, 0, "x");
  std::vector<bool> red = reducedAxes(op, x.size());
  const bool keep = op.attrBool("keep_dims", false);
  Shape out;
  for (size_t i = 0; i < x.size(); i++) {
    if (!red[i]) out.push_back(x[i]);
    else if (keep) out.push_back(1);
  }
  return {out};
}

void reduceKernel(const OpNode& op, const Inputs& in, Outputs& out) {
  const Tensor& x = needInput(op, in, 0, "x");
  std::vector<bool> red = reducedAxes(op, x.shape.size());
  const size_t r = x.shape.size();
  // Output strides laid over the input axes: 0 on reduced axes, so one odometer over x maps each
  // element to its output slot.
  std::vector<int64_t> ostr(r, 0);
  int64_t acc = 1;
  for (int i = static_cast<int>(r) - 1; i >= 0; i--)
    if (!red[i]) { ostr[i] = acc; acc *= x.shape[i]; }
  int64_t count = 1;
  for (size_t i = 0; i < r; i++)
    if (red[i]) count *= x.shape[i];
  const std::string& t = op.op;
  enum class Acc { sum, max, min, prod, abs, square, exp } mode = Acc::sum;
  if (t == "reduce_max") mode = Acc::max;
  else if (t == "reduce_min") mode = Acc::min;
  else if (t == "reduce_prod") mode = Acc::prod;
  else if (t == "reduce_l1_norm") mode = Acc::abs;
  else if (t == "reduce_l2_norm" || t == "reduce_sum_square") mode = Acc::square;
  else if (t == "reduce_log_sum_exp") mode = Acc::exp;
  else if (t != "reduce_sum" && t != "reduce_mean" && t != "reduce_log_sum") throw Unsupported("no fp16 kernel for " + t + " yet");
  FloatBuf& o = out[0].data;
  std::fill(o.begin(), o.end(), mode == Acc::max ? -INFINITY : mode == Acc::min ? INFINITY : mode == Acc::prod ? 1.0f : 0.0f);
  const int64_t total = numel(x.shape);
  auto accumulate = [mode](float& d, float v) {
    switch (mode) {
      case Acc::max: d = (std::isnan(v) || std::isnan(d)) ? NAN : std::max(d, v); break;
      case Acc::min: d = (std::isnan(v) || std::isnan(d)) ? NAN : std::min(d, v); break;
      case Acc::prod: d *= v; break;
      case Acc::abs: d += std::fabs(v); break;
      case Acc::square: d += v * v; break;
      case Acc::exp: d += std::exp(v); break;
      default: d += v; break;
    }
  };
  // Reducing trailing axes only (global pooling over H, W; a last-axis mean): each output is one contiguous
  // run of x, summed in the same element order as the general walk below, without its per-element odometer.
  size_t firstReduced = r;
  while (firstReduced > 0 && red[firstReduced - 1]) firstReduced--;
  bool trailing = true;
  for (size_t i = 0; i < firstReduced; i++) trailing = trailing && !red[i];
  if (trailing && count > 0) {
    const float* xd = x.data.data();
    for (size_t j = 0; j < o.size(); j++) {
      float d = o[j];
      const float* run = xd + j * count;
      if (mode == Acc::sum) for (int64_t i = 0; i < count; i++) d += run[i];  // the common case, kept branch-free
      else for (int64_t i = 0; i < count; i++) accumulate(d, run[i]);
      o[j] = d;
    }
  } else {
    std::vector<int64_t> idx(r, 0);
    int64_t oi = 0;
    for (int64_t i = 0; i < total; i++) {
      accumulate(o[oi], x.data[i]);
      for (int k = static_cast<int>(r) - 1; k >= 0; k--) {
        oi += ostr[k];
        if (++idx[k] < x.shape[k]) break;
        oi -= ostr[k] * x.shape[k];
        idx[k] = 0;
      }
    }
  }
  if (t == "reduce_mean" && count > 0) {
    const float inv = 1.0f / static_cast<float>(count);
    for (float& v : o) v *= inv;
  }
  if (t == "reduce_l2_norm") for (float& v : o) v = std::sqrt(v);
  if (t == "reduce_log_sum" || t == "reduce_log_sum_exp") for (float& v : o) v = std::log(v);
}

// reduce_argmax / reduce_argmin over one axis (MIL: `axis`, default -1): the index of the first extreme
// value, an exact integer on both paths; a NaN counts as the extreme (numpy's convention).
std::vector<Shape> argReduceShape(const OpNode& op, const Shapes& in) {
  const Shape& x = needShape(op, in, 0, "x");
  if (x.empty()) opError(op, "needs an input of rank 1 or more");
  const int axis = normAxis(op, op.attrInt("axis", -1), x.size(), "axis");
  Shape out = x;
  if (op.attrBool("keep_dims", false)) out[axis] = 1;
  else out.erase(out.begin() + axis);
  return {out};
}

void argReduceKernel(const OpNode& op, const Inputs& in, Outputs& out) {
  const Tensor& x = needInput(op, in, 0, "x");
  const int axis = normAxis(op, op.attrInt("axis", -1), x.shape.size(), "axis");
  const bool isMax = op.op == "reduce_argmax";
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < axis; i++) outer *= x.shape[i];
  for (size_t i = axis + 1; i < x.shape.size(); i++) inner *= x.shape[i];
  const int64_t n = x.shape[axis];
  if (n == 0) opError(op, "cannot take an arg-reduction over an empty axis");
  float* o = out[0].data.data();
  for (int64_t a = 0; a < outer; a++)
    for (int64_t b = 0; b < inner; b++) {
      const float* p = x.data.data() + a * n * inner + b;
      int64_t best = 0;
      float v = p[0];
      for (int64_t k = 1; k < n && !std::isnan(v); k++) {
        const float u = p[k * inner];
        if (std::isnan(u) || (isMax ? u > v : u < v)) best = k, v = u;
      }
      o[a * inner + b] = static_cast<float>(best);
    }
}

}  // namespace ane
