// reduce_mean / reduce_sum / reduce_max over any set of axes (negative allowed; absent = all axes).
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
  const bool isMax = op.op == "reduce_max";
  std::vector<float>& o = out[0].data;
  std::fill(o.begin(), o.end(), isMax ? -INFINITY : 0.0f);
  const int64_t total = numel(x.shape);
  std::vector<int64_t> idx(r, 0);
  int64_t oi = 0;
  for (int64_t i = 0; i < total; i++) {
    const float v = x.data[i];
    if (isMax) o[oi] = (std::isnan(v) || std::isnan(o[oi])) ? NAN : std::max(o[oi], v);
    else o[oi] += v;
    for (int k = static_cast<int>(r) - 1; k >= 0; k--) {
      oi += ostr[k];
      if (++idx[k] < x.shape[k]) break;
      oi -= ostr[k] * x.shape[k];
      idx[k] = 0;
    }
  }
  if (op.op == "reduce_mean" && count > 0) {
    const float inv = 1.0f / static_cast<float>(count);
    for (float& v : o) v *= inv;
  }
}

}  // namespace ane
