// avg_pool / max_pool on NCHW with explicit padding and ceil_mode (PyTorch's rules for the last window),
// and nearest-neighbour upsampling.
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels.hpp"

namespace ane {

namespace {
struct PoolParams {
  int64_t N, C, H, W, kH, kW, sH, sW, pt, pb, pl, pr, Ho, Wo;
};

int64_t poolOut(int64_t in, int64_t k, int64_t s, int64_t p0, int64_t p1, bool ceilMode) {
  const int64_t room = in + p0 + p1 - k;
  if (room < 0) return 0;
  int64_t out = (ceilMode ? (room + s - 1) / s : room / s) + 1;
  // A window may not start inside the trailing padding (PyTorch/Core ML ceil_mode rule).
  if (ceilMode && (out - 1) * s >= in + p0) out--;
  return out;
}

PoolParams poolParams(const OpNode& op, const Shape& x) {
  if (x.size() != 4) {
    if (x.size() == 3 || x.size() == 5) throw Unsupported("no fp16 kernel for " + op.op + " on rank-" + std::to_string(x.size()) + " input yet");
    opError(op, "expects x (N, C, H, W), got " + formatShape(x));
  }
  PoolParams p{};
  p.N = x[0]; p.C = x[1]; p.H = x[2]; p.W = x[3];
  requireAttr(op, "kernel_sizes");
  std::vector<int64_t> k = op.attrInts("kernel_sizes", {});
  if (k.size() != 2) opError(op, "attribute 'kernel_sizes' must be [kH, kW]");
  p.kH = k[0]; p.kW = k[1];
  std::vector<int64_t> s = op.attrInts("strides", {1, 1});
  if (s.size() != 2) opError(op, "attribute 'strides' must have 2 entries");
  p.sH = s[0]; p.sW = s[1];
  if (p.kH < 1 || p.kW < 1 || p.sH < 1 || p.sW < 1) opError(op, "kernel sizes and strides must be >= 1");
  std::vector<int64_t> pad = op.attrInts("pad", {0, 0, 0, 0});
  if (pad.size() != 4) opError(op, "attribute 'pad' must be [top, bottom, left, right]");
  for (int64_t v : pad)
    if (v < 0) opError(op, "negative padding is not supported");
  p.pt = pad[0]; p.pb = pad[1]; p.pl = pad[2]; p.pr = pad[3];
  const bool ceilMode = op.attrBool("ceil_mode", false);
  p.Ho = poolOut(p.H, p.kH, p.sH, p.pt, p.pb, ceilMode);
  p.Wo = poolOut(p.W, p.kW, p.sW, p.pl, p.pr, ceilMode);
  if (p.Ho <= 0 || p.Wo <= 0) opError(op, "the pooling window is larger than the padded input " + formatShape(x));
  return p;
}
}  // namespace

std::vector<Shape> poolShape(const OpNode& op, const Shapes& in) {
  PoolParams p = poolParams(op, needShape(op, in, 0, "x"));
  return {Shape{p.N, p.C, p.Ho, p.Wo}};
}

void poolKernel(const OpNode& op, const Inputs& in, Outputs& out) {
  const Tensor& x = needInput(op, in, 0, "x");
  const PoolParams p = poolParams(op, x.shape);
  const bool isMax = op.op == "max_pool";
  const bool exclude = op.attrBool("exclude_padding_from_average", false);
  float* o = out[0].data.data();
  for (int64_t nc = 0; nc < p.N * p.C; nc++) {
    const float* plane = x.data.data() + nc * p.H * p.W;
    for (int64_t oh = 0; oh < p.Ho; oh++) {
      const int64_t h0 = oh * p.sH - p.pt;
      const int64_t h1 = std::min(h0 + p.kH, p.H + p.pb);  // window end, clipped to the padded extent
      const int64_t hs = std::max<int64_t>(h0, 0), he = std::min(h1, p.H);
      for (int64_t ow = 0; ow < p.Wo; ow++) {
        const int64_t w0 = ow * p.sW - p.pl;
        const int64_t w1 = std::min(w0 + p.kW, p.W + p.pr);
        const int64_t ws = std::max<int64_t>(w0, 0), we = std::min(w1, p.W);
        float r;
        if (isMax) {
          r = -INFINITY;
          for (int64_t h = hs; h < he; h++)
            for (int64_t w = ws; w < we; w++) {
              const float v = plane[h * p.W + w];
              r = (std::isnan(v) || std::isnan(r)) ? NAN : std::max(r, v);
            }
        } else {
          float sum = 0;
          for (int64_t h = hs; h < he; h++)
            for (int64_t w = ws; w < we; w++) sum += plane[h * p.W + w];
          const int64_t count = exclude ? std::max<int64_t>(0, he - hs) * std::max<int64_t>(0, we - ws) : (h1 - h0) * (w1 - w0);
          r = count > 0 ? sum / static_cast<float>(count) : 0.0f;
        }
        o[(nc * p.Ho + oh) * p.Wo + ow] = r;
      }
    }
  }
}

namespace {
void upsampleScales(const OpNode& op, double& sh, double& sw) {
  requireAttr(op, "scale_factor_height");
  requireAttr(op, "scale_factor_width");
  sh = op.attrFloat("scale_factor_height", 1);
  sw = op.attrFloat("scale_factor_width", 1);
  if (!(sh > 0) || !(sw > 0) || !std::isfinite(sh) || !std::isfinite(sw)) opError(op, "scale factors must be positive");
}
}  // namespace

std::vector<Shape> upsampleShape(const OpNode& op, const Shapes& in) {
  const Shape& x = needShape(op, in, 0, "x");
  if (x.size() < 2) opError(op, "expects at least (H, W) axes, got " + formatShape(x));
  double sh, sw;
  upsampleScales(op, sh, sw);
  Shape out = x;
  const double h = std::floor(x[x.size() - 2] * sh), w = std::floor(x[x.size() - 1] * sw);
  if (h > 2147483648.0 || w > 2147483648.0) opError(op, "scale factors give an output larger than 2^31 elements");
  out[x.size() - 2] = static_cast<int64_t>(h);
  out[x.size() - 1] = static_cast<int64_t>(w);
  return {out};
}

void upsampleKernel(const OpNode& op, const Inputs& in, Outputs& out) {
  const Tensor& x = needInput(op, in, 0, "x");
  double sh, sw;
  upsampleScales(op, sh, sw);
  const size_t r = x.shape.size();
  const int64_t H = x.shape[r - 2], W = x.shape[r - 1];
  const int64_t Ho = out[0].shape[r - 2], Wo = out[0].shape[r - 1];
  const int64_t planes = (H * W) != 0 ? numel(x.shape) / (H * W) : 0;
  // Source rows and columns computed once per axis, not a floor and a division per output element.
  std::vector<int64_t> ih(static_cast<size_t>(Ho)), iw(static_cast<size_t>(Wo));
  for (int64_t oh = 0; oh < Ho; oh++) ih[oh] = std::min(H - 1, static_cast<int64_t>(std::floor(oh / sh)));
  for (int64_t ow = 0; ow < Wo; ow++) iw[ow] = std::min(W - 1, static_cast<int64_t>(std::floor(ow / sw)));
  float* o = out[0].data.data();
  for (int64_t pl = 0; pl < planes; pl++)
    for (int64_t oh = 0; oh < Ho; oh++) {
      const float* row = x.data.data() + (pl * H + ih[oh]) * W;
      float* orow = o + (pl * Ho + oh) * Wo;
      for (int64_t ow = 0; ow < Wo; ow++) orow[ow] = row[iw[ow]];
    }
}

namespace {
// Output extent: an explicit target size wins over the scale factor.
int64_t resizeExtent(const OpNode& op, int64_t in, const char* targetKey, const char* scaleKey) {
  if (!op.has(targetKey) && !op.has(scaleKey))
    throw Unsupported("no fp16 kernel for " + op.op + " without a static '" + targetKey + "' or '" + scaleKey + "' attribute yet");
  if (op.has(targetKey)) {
    const int64_t t = op.attrInt(targetKey, 0);
    if (t < 1 || t > (int64_t(1) << 31)) opError(op, std::string("attribute '") + targetKey + "' must be a positive size");
    return t;
  }
  const double s = op.attrFloat(scaleKey, 1);
  if (!(s > 0) || !std::isfinite(s)) opError(op, std::string("attribute '") + scaleKey + "' must be positive");
  const double e = std::floor(static_cast<double>(in) * s);
  if (e > 2147483648.0) opError(op, "scale factors give an output larger than 2^31 elements");
  return static_cast<int64_t>(e);
}

// Source coordinate of output index i along one axis, per MIL's sampling modes.
std::vector<double> samplingGrid(const OpNode& op, int64_t in, int64_t out) {
  // MIL's upsample_bilinear has align_corners (default true; false samples from half a step in), resize_bilinear
  // its sampling_mode (NeuralNetwork upsample layers get one from their linear mode).
  const bool upsample = op.op == "upsample_bilinear";
  std::string mode = op.attrString("sampling_mode", op.attrBool("align_corners", upsample) ? "STRICT_ALIGN_CORNERS" : upsample ? "UNALIGN_CORNERS" : "DEFAULT");
  std::vector<double> g(static_cast<size_t>(out));
  const double Xin = static_cast<double>(in), Xout = static_cast<double>(out);
  auto clampTo = [&](double v) { return std::min(Xin - 1, std::max(0.0, v)); };
  for (int64_t i = 0; i < out; i++) {
    double v;
    if (mode == "STRICT_ALIGN_CORNERS" || mode == "ALIGN_CORNERS") {
      if (out == 1) v = mode == "STRICT_ALIGN_CORNERS" ? (Xin - 1) / 2 : 0;
      else v = i * (Xin - 1) / (Xout - 1);
    } else if (mode == "DEFAULT") {
      v = out == 1 ? (Xin - 1) / 2 : i * (Xin - Xin / Xout) / (Xout - 1);
    } else if (mode == "OFFSET_CORNERS") {
      const double delta = std::max(1.0, Xin - 1) / Xout;
      v = 0.5 * delta + i * delta;
    } else if (mode == "UNALIGN_CORNERS") {
      const double spacing = Xin / Xout;
      v = i * spacing + 0.5 * spacing - 0.5;
    } else {
      opError(op, "unknown sampling_mode '" + mode + "'");
    }
    g[i] = clampTo(v);
  }
  return g;
}
}  // namespace

std::vector<Shape> resizeBilinearShape(const OpNode& op, const Shapes& in) {
  const Shape& x = needShape(op, in, 0, "x");
  if (x.size() < 2) opError(op, "expects at least (H, W) axes, got " + formatShape(x));
  Shape out = x;
  out[x.size() - 2] = resizeExtent(op, x[x.size() - 2], "target_size_height", "scale_factor_height");
  out[x.size() - 1] = resizeExtent(op, x[x.size() - 1], "target_size_width", "scale_factor_width");
  return {out};
}

void resizeBilinearKernel(const OpNode& op, const Inputs& in, Outputs& out) {
  const Tensor& x = needInput(op, in, 0, "x");
  const size_t r = x.shape.size();
  const int64_t H = x.shape[r - 2], W = x.shape[r - 1];
  const int64_t Ho = out[0].shape[r - 2], Wo = out[0].shape[r - 1];
  if (H == 0 || W == 0) {  // nothing to sample: the (registered as filling) output is zeros
    std::fill(out[0].data.begin(), out[0].data.end(), 0.0f);
    return;
  }
  const std::vector<double> gy = samplingGrid(op, H, Ho), gx = samplingGrid(op, W, Wo);
  // Each column's two source columns and weight, computed once (the same values as per element).
  std::vector<int64_t> x0(static_cast<size_t>(Wo)), x1(static_cast<size_t>(Wo));
  std::vector<float> fx(static_cast<size_t>(Wo));
  for (int64_t ow = 0; ow < Wo; ow++) {
    x0[ow] = static_cast<int64_t>(std::floor(gx[ow]));
    x1[ow] = std::min(W - 1, x0[ow] + 1);
    fx[ow] = static_cast<float>(gx[ow] - x0[ow]);
  }
  const int64_t planes = numel(x.shape) / (H * W);
  // Two passes per plane: every source row interpolated across once (rows[h] = what `top`/`bottom` would be
  // for each output column), then each output row a contiguous blend of two of those rows. An upscale by 2
  // reads each interpolated row for two output rows instead of interpolating it twice; the arithmetic per
  // element is the same expressions in the same order.
  std::vector<float> rows(static_cast<size_t>(H * Wo));
  float* o = out[0].data.data();
  for (int64_t pl = 0; pl < planes; pl++) {
    const float* src = x.data.data() + pl * H * W;
    for (int64_t h = 0; h < H; h++) {
      const float* r = src + h * W;
      float* t = rows.data() + h * Wo;
      for (int64_t ow = 0; ow < Wo; ow++) t[ow] = r[x0[ow]] * (1 - fx[ow]) + r[x1[ow]] * fx[ow];
    }
    for (int64_t oh = 0; oh < Ho; oh++) {
      const int64_t y0 = static_cast<int64_t>(std::floor(gy[oh])), y1 = std::min(H - 1, y0 + 1);
      const float fy = static_cast<float>(gy[oh] - y0);
      const float* __restrict top = rows.data() + y0 * Wo;
      const float* __restrict bottom = rows.data() + y1 * Wo;
      float* __restrict orow = o + (pl * Ho + oh) * Wo;
      for (int64_t ow = 0; ow < Wo; ow++) orow[ow] = top[ow] * (1 - fy) + bottom[ow] * fy;
    }
  }
}

}  // namespace ane
