// batch_norm (inference form, channel axis 1), layer_norm over any axes, and instance_norm (per image and
// channel over the spatial axes: GroupNorm exports as it, through a reshape to one group per channel).
#include <cmath>

#include "kernels.hpp"

namespace ane {

std::vector<Shape> batchNormShape(const OpNode& op, const Shapes& in) {
  const Shape& x = needShape(op, in, 0, "x");
  if (x.size() < 2) opError(op, "expects x with a channel axis (N, C, ...), got " + formatShape(x));
  const char* roles[] = {"x", "mean", "variance", "gamma", "beta"};
  for (size_t i = 1; i < 5; i++) {
    const Shape* s = i < 3 ? &needShape(op, in, i, roles[i]) : optShape(in, i);
    if (s && numel(*s) != x[1]) opError(op, std::string(roles[i]) + " " + formatShape(*s) + " does not have " + std::to_string(x[1]) + " elements (one per channel)");
  }
  return {x};
}

void batchNormKernel(const OpNode& op, const Inputs& in, Outputs& out) {
  const Tensor& x = needInput(op, in, 0, "x");
  const Tensor& mean = needInput(op, in, 1, "mean");
  const Tensor& var = needInput(op, in, 2, "variance");
  const Tensor* gamma = optInput(in, 3);
  const Tensor* beta = optInput(in, 4);
  const float eps = static_cast<float>(op.attrFloat("epsilon", 1e-5));
  const int64_t N = x.shape[0], C = x.shape[1];
  const int64_t inner = (N * C) != 0 ? numel(x.shape) / (N * C) : 0;
  for (int64_t n = 0; n < N; n++)
    for (int64_t c = 0; c < C; c++) {
      // The same two-step form Core ML folds to: scale = gamma / sqrt(var + eps), shift = beta - mean*scale.
      const float inv = 1.0f / std::sqrt(var.data[c] + eps);
      const float g = gamma ? gamma->data[c] : 1.0f;
      const float b = beta ? beta->data[c] : 0.0f;
      const float m = mean.data[c];
      const float* xp = x.data.data() + (n * C + c) * inner;
      float* o = out[0].data.data() + (n * C + c) * inner;
      for (int64_t i = 0; i < inner; i++) o[i] = (xp[i] - m) * inv * g + b;
    }
}

namespace {
// Which axes are normalized, how many elements each group holds, and whether they are the trailing axes
// (the contiguous fast path).
struct NormAxes {
  std::vector<bool> norm;
  int64_t span = 1;
  bool trailing = true;
};

NormAxes layerNormAxes(const OpNode& op, const Shape& x) {
  std::vector<int64_t> axes = op.attrInts("axes", {-1});
  if (axes.empty()) opError(op, "attribute 'axes' is empty");
  NormAxes n;
  n.norm.assign(x.size(), false);
  for (int64_t a : axes) n.norm[normAxis(op, a, x.size(), "axes")] = true;
  size_t first = x.size();
  while (first > 0 && n.norm[first - 1]) first--;
  for (size_t i = 0; i < x.size(); i++) {
    if (n.norm[i]) n.span *= x[i];
    if (i < first && n.norm[i]) n.trailing = false;
  }
  return n;
}

void normalizeGroup(const float* xp, float* o, int64_t span, float eps, const Tensor* gamma, const Tensor* beta) {
  float mean = 0;
  for (int64_t i = 0; i < span; i++) mean += xp[i];
  mean /= static_cast<float>(span);
  float var = 0;
  for (int64_t i = 0; i < span; i++) var += (xp[i] - mean) * (xp[i] - mean);
  var /= static_cast<float>(span);
  const float inv = 1.0f / std::sqrt(var + eps);
  for (int64_t i = 0; i < span; i++) {
    float v = (xp[i] - mean) * inv;
    if (gamma) v *= gamma->data[i];
    if (beta) v += beta->data[i];
    o[i] = v;
  }
}
}  // namespace

namespace {
/** gamma (input 1) and beta (input 2), when given, hold `count` elements (`what` says which). */
void checkScaleShift(const OpNode& op, const Shapes& in, int64_t count, const char* what) {
  for (size_t i = 1; i < 3; i++)
    if (const Shape* s = optShape(in, i); s && numel(*s) != count)
      opError(op, std::string(i == 1 ? "gamma " : "beta ") + formatShape(*s) + " does not have " + std::to_string(count) + " elements (" + what + ")");
}
}  // namespace

std::vector<Shape> instanceNormShape(const OpNode& op, const Shapes& in) {
  const Shape& x = needShape(op, in, 0, "x");
  if (x.size() < 3) opError(op, "expects x (N, C, spatial...), got " + formatShape(x));
  checkScaleShift(op, in, x[1], "one per channel");
  return {x};
}

void instanceNormKernel(const OpNode& op, const Inputs& in, Outputs& out) {
  const Tensor& x = needInput(op, in, 0, "x");
  const Tensor* gamma = optInput(in, 1);
  const Tensor* beta = optInput(in, 2);
  const float eps = static_cast<float>(op.attrFloat("epsilon", 1e-5));
  const int64_t N = x.shape[0], C = x.shape[1];
  const int64_t span = (N * C) != 0 ? numel(x.shape) / (N * C) : 0;
  if (span == 0) return;
  for (int64_t n = 0; n < N; n++)
    for (int64_t c = 0; c < C; c++) {
      const int64_t at = (n * C + c) * span;
      float* o = out[0].data.data() + at;
      // The layer norm of one (image, channel) plane, then that channel's scale and shift.
      normalizeGroup(x.data.data() + at, o, span, eps, nullptr, nullptr);
      const float g = gamma ? gamma->data[c] : 1.0f, b = beta ? beta->data[c] : 0.0f;
      if (g != 1.0f || b != 0.0f)
        for (int64_t i = 0; i < span; i++) o[i] = o[i] * g + b;
    }
}

std::vector<Shape> layerNormShape(const OpNode& op, const Shapes& in) {
  const Shape& x = needShape(op, in, 0, "x");
  checkScaleShift(op, in, layerNormAxes(op, x).span, "the normalized axes");
  return {x};
}

void layerNormKernel(const OpNode& op, const Inputs& in, Outputs& out) {
  const Tensor& x = needInput(op, in, 0, "x");
  const Tensor* gamma = optInput(in, 1);
  const Tensor* beta = optInput(in, 2);
  const float eps = static_cast<float>(op.attrFloat("epsilon", 1e-5));
  const NormAxes n = layerNormAxes(op, x.shape);
  const int64_t total = numel(x.shape);
  if (n.span == 0 || total == 0) return;
  if (n.trailing) {
    for (int64_t r = 0; r < total / n.span; r++)
      normalizeGroup(x.data.data() + r * n.span, out[0].data.data() + r * n.span, n.span, eps, gamma, beta);
    return;
  }
  // Any other axes (e.g. the channel axis of (B, C, 1, S), Apple's layout): gather each group into a
  // contiguous row (normalized axes in their order), normalize, scatter back.
  const size_t r = x.shape.size();
  std::vector<int64_t> strides(r, 1);
  for (size_t i = r - 1; i-- > 0;) strides[i] = strides[i + 1] * x.shape[i + 1];
  std::vector<size_t> outerAxes, innerAxes;
  for (size_t i = 0; i < r; i++) (n.norm[i] ? innerAxes : outerAxes).push_back(i);
  std::vector<int64_t> offsets(static_cast<size_t>(n.span));
  {
    std::vector<int64_t> idx(innerAxes.size(), 0);
    for (int64_t k = 0; k < n.span; k++) {
      int64_t off = 0;
      for (size_t j = 0; j < innerAxes.size(); j++) off += idx[j] * strides[innerAxes[j]];
      offsets[k] = off;
      for (size_t j = innerAxes.size(); j-- > 0;) {
        if (++idx[j] < x.shape[innerAxes[j]]) break;
        idx[j] = 0;
      }
    }
  }
  std::vector<float> row(static_cast<size_t>(n.span)), res(row.size());
  std::vector<int64_t> idx(outerAxes.size(), 0);
  for (int64_t g = 0; g < total / n.span; g++) {
    int64_t base = 0;
    for (size_t j = 0; j < outerAxes.size(); j++) base += idx[j] * strides[outerAxes[j]];
    for (int64_t k = 0; k < n.span; k++) row[k] = x.data[base + offsets[k]];
    normalizeGroup(row.data(), res.data(), n.span, eps, gamma, beta);
    for (int64_t k = 0; k < n.span; k++) out[0].data[base + offsets[k]] = res[k];
    for (size_t j = outerAxes.size(); j-- > 0;) {
      if (++idx[j] < x.shape[outerAxes[j]]) break;
      idx[j] = 0;
    }
  }
}

}  // namespace ane
