// Index-driven ops: gather (embedding lookups), select (masks), shape, and the constexpr ops that expand
// compressed weights (a table lookup; a per-channel dequantization).
#include <cmath>
#include <cstdio>

#include "kernels.hpp"

namespace ane {

std::vector<Shape> gatherShape(const OpNode& op, const Shapes& in) {
  const Shape& x = needShape(op, in, 0, "x");
  const Shape& idx = needShape(op, in, 1, "indices");
  if (op.attrInt("batch_dims", 0) != 0) throw Unsupported("no fp16 kernel for gather with batch_dims yet");
  const int axis = normAxis(op, op.attrInt("axis", 0), x.size(), "axis");
  Shape out(x.begin(), x.begin() + axis);
  out.insert(out.end(), idx.begin(), idx.end());
  out.insert(out.end(), x.begin() + axis + 1, x.end());
  return {out};
}

void gatherKernel(const OpNode& op, const Inputs& in, Outputs& out) {
  const Tensor& x = needInput(op, in, 0, "x");
  const Tensor& idx = needInput(op, in, 1, "indices");
  if (op.attrInt("batch_dims", 0) != 0) throw Unsupported("no fp16 kernel for gather with batch_dims yet");
  const int axis = normAxis(op, op.attrInt("axis", 0), x.shape.size(), "axis");
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < axis; i++) outer *= x.shape[i];
  for (size_t i = axis + 1; i < x.shape.size(); i++) inner *= x.shape[i];
  const int64_t n = x.shape[axis], m = static_cast<int64_t>(idx.data.size());
  std::vector<int64_t> rows(static_cast<size_t>(m));
  for (int64_t j = 0; j < m; j++) {
    const float v = idx.data[j];
    int64_t k = std::isfinite(v) ? static_cast<int64_t>(std::nearbyint(v)) : n;
    if (k < 0) k += n;
    if (k < 0 || k >= n) {
      char shown[32];
      std::snprintf(shown, sizeof shown, "%g", static_cast<double>(v));
      throw Unsupported(std::string("gather index ") + shown + " is out of range for an axis of size " + std::to_string(n) +
                        " (pass real indices in inputs; seeded integer inputs are 0..9)");
    }
    rows[j] = k;
  }
  float* o = out[0].data.data();
  for (int64_t p = 0; p < outer; p++)
    for (int64_t j = 0; j < m; j++) {
      const float* src = x.data.data() + (p * n + rows[j]) * inner;
      std::copy(src, src + inner, o + (p * m + j) * inner);
    }
}

std::vector<Shape> selectShape(const OpNode& op, const Shapes& in) {
  const Shape& c = needShape(op, in, 0, "cond");
  const Shape& a = needShape(op, in, 1, "a");
  const Shape& b = needShape(op, in, 2, "b");
  return {broadcastShapes(op, c, broadcastShapes(op, a, b))};
}

void selectKernel(const OpNode& op, const Inputs& in, Outputs& out) {
  const Tensor* t[3] = {&needInput(op, in, 0, "cond"), &needInput(op, in, 1, "a"), &needInput(op, in, 2, "b")};
  const Shape& os = out[0].shape;
  const size_t r = os.size();
  std::vector<int64_t> st[3];
  for (int k = 0; k < 3; k++) {
    const Shape& s = t[k]->shape;
    std::vector<int64_t> own = stridesOf(s);
    st[k].assign(r, 0);
    for (size_t i = 0; i < s.size(); i++) st[k][r - s.size() + i] = s[i] == 1 ? 0 : own[i];
  }
  const int64_t total = numel(os);
  std::vector<int64_t> idx(r, 0);
  int64_t off[3] = {0, 0, 0};
  for (int64_t i = 0; i < total; i++) {
    out[0].data[i] = t[0]->data[off[0]] != 0 ? t[1]->data[off[1]] : t[2]->data[off[2]];
    for (int k = static_cast<int>(r) - 1; k >= 0; k--) {
      for (int q = 0; q < 3; q++) off[q] += st[q][k];
      if (++idx[k] < os[k]) break;
      for (int q = 0; q < 3; q++) off[q] -= st[q][k] * os[k];
      idx[k] = 0;
    }
  }
}

std::vector<Shape> shapeOfShape(const OpNode& op, const Shapes& in) {
  return {Shape{static_cast<int64_t>(needShape(op, in, 0, "x").size())}};
}

void shapeOfKernel(const OpNode& op, const Inputs& in, Outputs& out) {
  const Tensor& x = needInput(op, in, 0, "x");
  for (size_t i = 0; i < x.shape.size(); i++) out[0].data[i] = static_cast<float>(x.shape[i]);
}

// Compressed ML-program weights (iOS16 constexpr ops), expanded as Core ML does when it loads the model.
// constexpr_affine_dequantize: scale · (q − zero_point), scale and zero_point scalars or vectors along `axis`.
std::vector<Shape> affineDequantizeShape(const OpNode& op, const Shapes& in) {
  return {needShape(op, in, 0, "quantized_data")};
}

void affineDequantizeKernel(const OpNode& op, const Inputs& in, Outputs& out) {
  const Tensor& q = needInput(op, in, 0, "quantized_data");
  const Tensor& zp = needInput(op, in, 1, "zero_point");
  const Tensor& scale = needInput(op, in, 2, "scale");
  const Shape& s = q.shape;
  const int axis = s.empty() ? 0 : normAxis(op, op.attrInt("axis", 0), s.size(), "axis");
  const int64_t n = s.empty() ? 1 : s[axis];
  auto perAxis = [&](const Tensor& t, const char* role) {
    const int64_t k = static_cast<int64_t>(t.data.size());
    if (k != 1 && k != n) opError(op, std::string(role) + " has " + std::to_string(k) + " values; expected 1 or " + std::to_string(n) + " (one per index of axis " + std::to_string(axis) + ")");
    return k;
  };
  const int64_t kz = perAxis(zp, "zero_point"), ks = perAxis(scale, "scale");
  int64_t inner = 1;
  for (size_t i = axis + 1; i < s.size(); i++) inner *= s[i];
  float* o = out[0].data.data();
  const int64_t total = static_cast<int64_t>(q.data.size());
  for (int64_t i = 0; i < total; i++) {
    const int64_t c = n > 1 ? (i / inner) % n : 0;
    o[i] = scale.data[ks == 1 ? 0 : c] * (q.data[i] - zp.data[kz == 1 ? 0 : c]);
  }
}

// constexpr_lut_to_dense: `shape` elements, each lut[index], the indices packed in uint8 bytes. Only 8-bit indices
// (a 256-entry table) are read: for fewer bits the packing order is not documented where this was written.
std::vector<Shape> lutToDenseShape(const OpNode& op, const Shapes& in) {
  needShape(op, in, 0, "lut");
  needShape(op, in, 1, "indices");
  const std::vector<int64_t> shape = op.attrInts("shape", {});
  if (shape.empty()) opError(op, "needs the dense 'shape'");
  for (int64_t d : shape)
    if (d < 0) opError(op, "'shape' must not be negative");
  return {Shape(shape.begin(), shape.end())};
}

void lutToDenseKernel(const OpNode& op, const Inputs& in, Outputs& out) {
  const Tensor& lut = needInput(op, in, 0, "lut");
  const Tensor& idx = needInput(op, in, 1, "indices");
  const int64_t entries = static_cast<int64_t>(lut.data.size());
  if (entries != 256) throw Unsupported("palettes of " + std::to_string(entries) + " entries (packed sub-byte indices) are not read yet; 256-entry ones are");
  const int64_t total = numel(out[0].shape);
  if (static_cast<int64_t>(idx.data.size()) != total) opError(op, "has " + std::to_string(idx.data.size()) + " indices for " + std::to_string(total) + " values");
  float* o = out[0].data.data();
  for (int64_t i = 0; i < total; i++) {
    const float v = idx.data[i];
    if (!(v >= 0 && v < 256)) opError(op, "index " + std::to_string(v) + " is outside the 256-entry table");
    o[i] = lut.data[static_cast<size_t>(v)];
  }
}

}  // namespace ane
