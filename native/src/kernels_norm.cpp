// batch_norm (inference form, channel axis 1) and layer_norm over trailing axes.
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
// Number of trailing elements normalized together; throws Unsupported for non-trailing axes.
int64_t layerNormSpan(const OpNode& op, const Shape& x) {
  std::vector<int64_t> axes = op.attrInts("axes", {-1});
  if (axes.empty()) opError(op, "attribute 'axes' is empty");
  std::vector<bool> norm(x.size(), false);
  for (int64_t a : axes) norm[normAxis(op, a, x.size(), "axes")] = true;
  size_t first = x.size();
  while (first > 0 && norm[first - 1]) first--;
  for (size_t i = 0; i < first; i++)
    if (norm[i]) throw Unsupported("no fp16 kernel for layer_norm over non-trailing axes yet");
  int64_t span = 1;
  for (size_t i = first; i < x.size(); i++) span *= x[i];
  return span;
}
}  // namespace

std::vector<Shape> layerNormShape(const OpNode& op, const Shapes& in) {
  const Shape& x = needShape(op, in, 0, "x");
  int64_t span = 0;
  try {
    span = layerNormSpan(op, x);
  } catch (const Unsupported&) {
    return {x};  // still shaped; the kernel reports it as not executed
  }
  for (size_t i = 1; i < 3; i++)
    if (const Shape* s = optShape(in, i); s && numel(*s) != span)
      opError(op, std::string(i == 1 ? "gamma " : "beta ") + formatShape(*s) + " does not have " + std::to_string(span) + " elements (the normalized axes)");
  return {x};
}

void layerNormKernel(const OpNode& op, const Inputs& in, Outputs& out) {
  const Tensor& x = needInput(op, in, 0, "x");
  const Tensor* gamma = optInput(in, 1);
  const Tensor* beta = optInput(in, 2);
  const float eps = static_cast<float>(op.attrFloat("epsilon", 1e-5));
  const int64_t span = layerNormSpan(op, x.shape);
  const int64_t rows = span ? numel(x.shape) / span : 0;
  for (int64_t r = 0; r < rows; r++) {
    const float* xp = x.data.data() + r * span;
    float* o = out[0].data.data() + r * span;
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
}

}  // namespace ane
