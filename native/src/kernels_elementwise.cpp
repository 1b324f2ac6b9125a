// Elementwise ops with numpy broadcasting, unary activations and softmax.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels.hpp"
#include "vec4.hpp"

namespace ane {

std::vector<Shape> binaryShape(const OpNode& op, const Shapes& in) {
  return {broadcastShapes(op, needShape(op, in, 0, "x"), needShape(op, in, 1, "y"))};
}

namespace {

enum class Bin { add, sub, mul, div, max, min, pow, prelu, mod, floor_div, eq, ne, gt, ge, lt, le, land, lor, lxor };

template <Bin B>
inline float apply(float a, float b) {
  if constexpr (B == Bin::add) return a + b;
  if constexpr (B == Bin::sub) return a - b;
  if constexpr (B == Bin::mul) return a * b;
  if constexpr (B == Bin::div) return a / b;
  if constexpr (B == Bin::max) return std::isnan(a) || std::isnan(b) ? NAN : std::max(a, b);
  if constexpr (B == Bin::min) return std::isnan(a) || std::isnan(b) ? NAN : std::min(a, b);
  if constexpr (B == Bin::pow) return std::pow(a, b);
  if constexpr (B == Bin::prelu) return a >= 0 ? a : a * b;
  if constexpr (B == Bin::mod) return a - std::floor(a / b) * b;  // Python/MIL sign convention: follows b
  if constexpr (B == Bin::floor_div) return std::floor(a / b);
  if constexpr (B == Bin::eq) return a == b ? 1.0f : 0.0f;
  if constexpr (B == Bin::ne) return a != b ? 1.0f : 0.0f;
  if constexpr (B == Bin::gt) return a > b ? 1.0f : 0.0f;
  if constexpr (B == Bin::ge) return a >= b ? 1.0f : 0.0f;
  if constexpr (B == Bin::lt) return a < b ? 1.0f : 0.0f;
  if constexpr (B == Bin::le) return a <= b ? 1.0f : 0.0f;
  if constexpr (B == Bin::land) return (a != 0 && b != 0) ? 1.0f : 0.0f;
  if constexpr (B == Bin::lor) return (a != 0 || b != 0) ? 1.0f : 0.0f;
  if constexpr (B == Bin::lxor) return ((a != 0) != (b != 0)) ? 1.0f : 0.0f;
  return 0;
}

// Walks the output in row-major order with one odometer over all but the last axis; each input's
// stride is 0 along the axes it is broadcast on.
template <Bin B>
void broadcastLoop(const Tensor& x, const Tensor& y, Tensor& out) {
  const Shape& os = out.shape;
  const size_t r = os.size();
  const int64_t total = numel(os);
  if (total == 0) return;
  if (x.shape == os && y.shape == os) {
    for (int64_t i = 0; i < total; i++) out.data[i] = apply<B>(x.data[i], y.data[i]);
    return;
  }
  if (r == 0) { out.data[0] = apply<B>(x.data[0], y.data[0]); return; }
  auto bstrides = [&](const Shape& s) {
    std::vector<int64_t> st(r, 0);
    std::vector<int64_t> own = stridesOf(s);
    for (size_t i = 0; i < s.size(); i++) {
      size_t oi = r - s.size() + i;
      st[oi] = s[i] == 1 ? 0 : own[i];
    }
    return st;
  };
  std::vector<int64_t> sx0 = bstrides(x.shape), sy0 = bstrides(y.shape);
  // Adjacent axes along which both inputs are either contiguous or both broadcast walk as one axis: a
  // (1, C, H, W) · (1, C, 1, 1) channel scale becomes C runs of H·W instead of C·H runs of W.
  Shape dims{os[0]};
  std::vector<int64_t> sx{sx0[0]}, sy{sy0[0]};
  for (size_t k = 1; k < r; k++) {
    const bool mergeX = sx.back() == sx0[k] * os[k];
    const bool mergeY = sy.back() == sy0[k] * os[k];
    if (mergeX && mergeY) {
      dims.back() *= os[k];
      sx.back() = sx0[k];
      sy.back() = sy0[k];
    } else {
      dims.push_back(os[k]);
      sx.push_back(sx0[k]);
      sy.push_back(sy0[k]);
    }
  }
  const size_t rr = dims.size();
  const int64_t inner = dims[rr - 1], ix = sx[rr - 1], iy = sy[rr - 1];
  std::vector<int64_t> idx(rr, 0);
  int64_t ox = 0, oy = 0;
  float* o = out.data.data();
  const float* xd = x.data.data();
  const float* yd = y.data.data();
  for (int64_t done = 0; done < total; done += inner) {
    const float* xp = xd + ox;
    const float* yp = yd + oy;
    if (ix == 1 && iy == 1) for (int64_t j = 0; j < inner; j++) o[j] = apply<B>(xp[j], yp[j]);
    else if (ix == 1 && iy == 0) { float b = yp[0]; for (int64_t j = 0; j < inner; j++) o[j] = apply<B>(xp[j], b); }
    else if (ix == 0 && iy == 1) { float a = xp[0]; for (int64_t j = 0; j < inner; j++) o[j] = apply<B>(a, yp[j]); }
    else for (int64_t j = 0; j < inner; j++) o[j] = apply<B>(xp[j * ix], yp[j * iy]);
    o += inner;
    for (int k = static_cast<int>(rr) - 2; k >= 0; k--) {
      idx[k]++;
      ox += sx[k];
      oy += sy[k];
      if (idx[k] < dims[k]) break;
      ox -= sx[k] * dims[k];
      oy -= sy[k] * dims[k];
      idx[k] = 0;
    }
  }
}

}  // namespace

void binaryKernel(const OpNode& op, const Inputs& in, Outputs& out) {
  const Tensor& x = needInput(op, in, 0, "x");
  const Tensor& y = needInput(op, in, 1, "y");
  const std::string& t = op.op;
  if (t == "add") broadcastLoop<Bin::add>(x, y, out[0]);
  else if (t == "sub") broadcastLoop<Bin::sub>(x, y, out[0]);
  else if (t == "mul") broadcastLoop<Bin::mul>(x, y, out[0]);
  else if (t == "real_div") broadcastLoop<Bin::div>(x, y, out[0]);
  else if (t == "maximum") broadcastLoop<Bin::max>(x, y, out[0]);
  else if (t == "minimum") broadcastLoop<Bin::min>(x, y, out[0]);
  else if (t == "pow") broadcastLoop<Bin::pow>(x, y, out[0]);
  else if (t == "prelu") broadcastLoop<Bin::prelu>(x, y, out[0]);
  else if (t == "mod") broadcastLoop<Bin::mod>(x, y, out[0]);
  else if (t == "floor_div") broadcastLoop<Bin::floor_div>(x, y, out[0]);
  else if (t == "equal") broadcastLoop<Bin::eq>(x, y, out[0]);
  else if (t == "not_equal") broadcastLoop<Bin::ne>(x, y, out[0]);
  else if (t == "greater") broadcastLoop<Bin::gt>(x, y, out[0]);
  else if (t == "greater_equal") broadcastLoop<Bin::ge>(x, y, out[0]);
  else if (t == "less") broadcastLoop<Bin::lt>(x, y, out[0]);
  else if (t == "less_equal") broadcastLoop<Bin::le>(x, y, out[0]);
  else if (t == "logical_and") broadcastLoop<Bin::land>(x, y, out[0]);
  else if (t == "logical_or") broadcastLoop<Bin::lor>(x, y, out[0]);
  else if (t == "logical_xor") broadcastLoop<Bin::lxor>(x, y, out[0]);
  else throw Unsupported("no fp16 kernel for " + t + " yet");
}

std::vector<Shape> unaryShape(const OpNode& op, const Shapes& in) { return {needShape(op, in, 0, "x")}; }

namespace {
template <typename F>
void mapUnary(const Tensor& x, Tensor& out, F f) {
  const size_t n = x.data.size();
  const float* __restrict a = x.data.data();  // outputs never alias inputs
  float* __restrict o = out.data.data();
  for (size_t i = 0; i < n; i++) o[i] = f(a[i]);
}
inline float sigmoidf(float v) { return 1.0f / (1.0f + std::exp(-v)); }

// The piecewise-linear activations of mobile nets (relu, clip/relu6, hard sigmoid), four lanes at a time with
// GCC/Clang vector selects: GCC left their scalar forms unvectorized (a select on a captured bound). Each lane
// computes exactly what the scalar form below it does, NaN and signed zeros included.
inline v4 splat(float f) { return v4{f, f, f, f}; }

template <typename V, typename S>
void mapPiecewise(const Tensor& x, Tensor& out, V vf, S sf) {
  const size_t n = x.data.size();
  const float* a = x.data.data();
  float* o = out.data.data();
  size_t i = 0;
  for (; i + 4 <= n; i += 4) store4(o + i, vf(load4(a + i)));
  for (; i < n; i++) o[i] = sf(a[i]);
}
}  // namespace

void unaryKernel(const OpNode& op, const Inputs& in, Outputs& out) {
  const Tensor& x = needInput(op, in, 0, "x");
  Tensor& o = out[0];
  const std::string& t = op.op;
  // Comparisons written out rather than std::min/std::max/std::isnan (which take references): these loops
  // then vectorize. Same results, including NaN and signed zeros.
  if (t == "relu") {
    // NaN compares false: stays NaN; -0 becomes +0.
    mapPiecewise(x, o, [](v4 v) { return v <= splat(0) ? splat(0) : v; }, [](float v) { return v <= 0 ? 0.0f : v; });
  }
  else if (t == "sigmoid") mapUnary(x, o, sigmoidf);
  else if (t == "tanh") mapUnary(x, o, [](float v) { return std::tanh(v); });
  else if (t == "exp") mapUnary(x, o, [](float v) { return std::exp(v); });
  else if (t == "log") mapUnary(x, o, [](float v) { return std::log(v); });
  else if (t == "sqrt") mapUnary(x, o, [](float v) { return std::sqrt(v); });
  else if (t == "abs") mapUnary(x, o, [](float v) { return std::fabs(v); });
  else if (t == "erf") mapUnary(x, o, [](float v) { return std::erf(v); });
  else if (t == "square") mapUnary(x, o, [](float v) { return v * v; });
  // A NeuralNetwork loadConstantND carries its values as its input for a run: the layer outputs them.
  else if (t == "identity" || t == "const") mapUnary(x, o, [](float v) { return v; });
  else if (t == "silu") mapUnary(x, o, [](float v) { return v * sigmoidf(v); });
  else if (t == "softplus") mapUnary(x, o, [](float v) { return v > 20 ? v : std::log1p(std::exp(v)); });
  else if (t == "softsign") mapUnary(x, o, [](float v) { return v / (1.0f + std::fabs(v)); });
  else if (t == "mish") mapUnary(x, o, [](float v) { return v * std::tanh(v > 20 ? v : std::log1p(std::exp(v))); });
  else if (t == "floor") mapUnary(x, o, [](float v) { return std::floor(v); });
  else if (t == "ceil") mapUnary(x, o, [](float v) { return std::ceil(v); });
  else if (t == "round") mapUnary(x, o, [](float v) { return std::nearbyint(v); });  // ties to even, like ONNX Round
  else if (t == "sign") mapUnary(x, o, [](float v) { return v > 0 ? 1.0f : v < 0 ? -1.0f : v; });
  else if (t == "sin") mapUnary(x, o, [](float v) { return std::sin(v); });
  else if (t == "cos") mapUnary(x, o, [](float v) { return std::cos(v); });
  else if (t == "tan") mapUnary(x, o, [](float v) { return std::tan(v); });
  else if (t == "asin") mapUnary(x, o, [](float v) { return std::asin(v); });
  else if (t == "acos") mapUnary(x, o, [](float v) { return std::acos(v); });
  else if (t == "atan") mapUnary(x, o, [](float v) { return std::atan(v); });
  else if (t == "sinh") mapUnary(x, o, [](float v) { return std::sinh(v); });
  else if (t == "cosh") mapUnary(x, o, [](float v) { return std::cosh(v); });
  else if (t == "asinh") mapUnary(x, o, [](float v) { return std::asinh(v); });
  else if (t == "acosh") mapUnary(x, o, [](float v) { return std::acosh(v); });
  else if (t == "atanh") mapUnary(x, o, [](float v) { return std::atanh(v); });
  else if (t == "logical_not") mapUnary(x, o, [](float v) { return v == 0 ? 1.0f : 0.0f; });
  else if (t == "inverse") {
    // MIL's inverse carries an epsilon added to the denominator (default 1e-4).
    const float eps = static_cast<float>(op.attrFloat("epsilon", 1e-4));
    mapUnary(x, o, [eps](float v) { return 1.0f / (v + eps); });
  } else if (t == "elu") {
    // Selu arrives as elu with a gamma scale.
    const float a = static_cast<float>(op.attrFloat("alpha", 1)), g = static_cast<float>(op.attrFloat("gamma", 1));
    mapUnary(x, o, [a, g](float v) { return g * (v > 0 ? v : a * (std::exp(v) - 1.0f)); });
  } else if (t == "thresholded_relu") {
    const float a = static_cast<float>(op.attrFloat("alpha", 1));
    mapUnary(x, o, [a](float v) { return v > a ? v : 0.0f; });
  } else if (t == "linear_activation") {
    const float a = static_cast<float>(op.attrFloat("alpha", 1)), b = static_cast<float>(op.attrFloat("beta", 0));
    mapUnary(x, o, [a, b](float v) { return a * v + b; });
  } else if (t == "threshold") {
    // MIL threshold: a lower bound, max(x, alpha) (NaN stays NaN).
    const float a = static_cast<float>(op.attrFloat("alpha", 0));
    mapUnary(x, o, [a](float v) { return v < a ? a : v; });
  } else if (t == "cast") {
    const std::string to = op.attrString("dtype", "fp32");
    if (to == "bool") mapUnary(x, o, [](float v) { return v != 0 ? 1.0f : 0.0f; });
    else if (to.rfind("int", 0) == 0 || to == "uint8") mapUnary(x, o, [](float v) { return std::trunc(v); });
    else mapUnary(x, o, [](float v) { return v; });  // float casts: the fp16 path rounds the output anyway
  }
  else if (t == "rsqrt") {
    // MIL's rsqrt carries an epsilon added under the root (default 1e-12).
    const float eps = static_cast<float>(op.attrFloat("epsilon", 1e-12));
    mapUnary(x, o, [eps](float v) { return 1.0f / std::sqrt(v + eps); });
  } else if (t == "clip") {
    if ((in.size() > 1 && in[1]) || (in.size() > 2 && in[2])) throw Unsupported("no fp16 kernel for clip with tensor bounds yet");
    const float lo = static_cast<float>(op.attrFloat("alpha", -INFINITY));
    const float hi = static_cast<float>(op.attrFloat("beta", INFINITY));
    if (lo > hi) opError(op, "clip has alpha > beta");
    const v4 vlo = splat(lo), vhi = splat(hi);
    mapPiecewise(
        x, o,
        [vlo, vhi](v4 v) {
          const v4 m = vlo < v ? v : vlo;
          return v != v ? v : (m < vhi ? m : vhi);
        },
        [lo, hi](float v) {
          const float m = lo < v ? v : lo;  // std::max(lo, v)
          return v != v ? v : (m < hi ? m : hi);  // NaN stays NaN; else std::min(hi, m)
        });
  } else if (t == "leaky_relu") {
    const float a = static_cast<float>(op.attrFloat("alpha", 0.01));
    mapUnary(x, o, [a](float v) { return v >= 0 ? v : a * v; });
  } else if (t == "sigmoid_hard") {
    const float a = static_cast<float>(op.attrFloat("alpha", 0.2)), b = static_cast<float>(op.attrFloat("beta", 0.5));
    const v4 va = splat(a), vb = splat(b);
    mapPiecewise(
        x, o,
        [va, vb](v4 v) {
          const v4 t = va * v + vb;
          const v4 m = splat(0) < t ? t : splat(0);
          return m < splat(1) ? m : splat(1);
        },
        [a, b](float v) {
          const float t = a * v + b;
          const float m = 0.0f < t ? t : 0.0f;  // std::max(0, t): NaN becomes 0, as before
          return m < 1.0f ? m : 1.0f;
        });
  } else if (t == "gelu") {
    const std::string mode = op.attrString("mode", "EXACT");
    if (mode == "EXACT") {
      mapUnary(x, o, [](float v) { return 0.5f * v * (1.0f + std::erf(v * 0.70710678118654752f)); });
    } else if (mode == "TANH_APPROXIMATION") {
      mapUnary(x, o, [](float v) { return 0.5f * v * (1.0f + std::tanh(0.79788456080286536f * (v + 0.044715f * v * v * v))); });
    } else if (mode == "SIGMOID_APPROXIMATION") {
      mapUnary(x, o, [](float v) { return v * sigmoidf(1.702f * v); });
    } else {
      opError(op, "unknown gelu mode '" + mode + "' (expected EXACT, TANH_APPROXIMATION or SIGMOID_APPROXIMATION)");
    }
  } else {
    throw Unsupported("no fp16 kernel for " + t + " yet");
  }
}

std::vector<Shape> softmaxShape(const OpNode& op, const Shapes& in) {
  const Shape& s = needShape(op, in, 0, "x");
  normAxis(op, op.attrInt("axis", -1), s.size(), "axis");
  return {s};
}

void softmaxKernel(const OpNode& op, const Inputs& in, Outputs& out) {
  const Tensor& x = needInput(op, in, 0, "x");
  const int axis = normAxis(op, op.attrInt("axis", -1), x.shape.size(), "axis");
  int64_t outer = 1, inner = 1;
  const int64_t n = x.shape[axis];
  for (int i = 0; i < axis; i++) outer *= x.shape[i];
  for (size_t i = axis + 1; i < x.shape.size(); i++) inner *= x.shape[i];
  const float* a = x.data.data();
  float* o = out[0].data.data();
  for (int64_t p = 0; p < outer; p++) {
    for (int64_t q = 0; q < inner; q++) {
      const int64_t base = p * n * inner + q;
      float m = -INFINITY;
      for (int64_t k = 0; k < n; k++) m = std::max(m, a[base + k * inner]);
      float sum = 0;
      for (int64_t k = 0; k < n; k++) {
        float e = std::exp(a[base + k * inner] - m);
        o[base + k * inner] = e;
        sum += e;
      }
      const float inv = 1.0f / sum;
      for (int64_t k = 0; k < n; k++) o[base + k * inner] *= inv;
    }
  }
}

}  // namespace ane
