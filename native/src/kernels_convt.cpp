// Transposed 2-D convolution (NCHW, weight (Cin, Cout/groups, kH, kW)). Accepts the MIL attribute names
// (pad [t, b, l, r], groups) and, because the ONNX reader passes ConvTranspose through, the ONNX ones
// (pads [t, l, b, r], group, output_padding, output_shape). Computed as a GEMM and a scatter-add: per image
// and group, cols = Wᵀ·X holds every (output channel, kh, kw) contribution of every input pixel, and col2im
// adds each into its output position. The multiply-adds run in the GEMM's vector kernel; the scatter is one
// add per column entry (a plain per-pixel scatter did all of it in scalar code, several times slower).
#include <algorithm>
#include <vector>

#include "kernels.hpp"

namespace ane {

namespace {
struct ConvTParams {
  int64_t N, C, H, W, Cout, cog, kH, kW, sH, sW, dH, dW, pt, pb, pl, pr, groups, Ho, Wo;
};

ConvTParams convTParams(const OpNode& op, const Shape& x, const Shape& w) {
  const bool oneD = x.size() == 3 && w.size() == 3;  // (N, C, L) runs as (N, C, 1, L), the weight as (.., 1, k)
  if (!oneD && (x.size() != 4 || w.size() != 4))
    throw Unsupported("no fp16 kernel for conv_transpose of rank " + std::to_string(x.size()) + " yet (1-D and 2-D only)");
  ConvTParams p{};
  p.N = x[0]; p.C = x[1]; p.H = oneD ? 1 : x[2]; p.W = x.back();
  p.groups = op.has("groups") ? op.attrInt("groups", 1) : op.attrInt("group", 1);
  if (p.groups < 1 || p.C % p.groups != 0) opError(op, "groups must divide the input channels");
  if (w[0] != p.C) opError(op, "weight " + formatShape(w) + " must have Cin = " + std::to_string(p.C) + " first");
  p.cog = w[1]; p.Cout = w[1] * p.groups; p.kH = oneD ? 1 : w[2]; p.kW = w.back();
  // Per-axis attributes: (height, width), or the one length axis of a 1-D op (height then 1, or 0 padding).
  auto two = [&](const char* key, int64_t& a, int64_t& b) {
    std::vector<int64_t> v = op.attrInts(key, oneD ? std::vector<int64_t>{1} : std::vector<int64_t>{1, 1});
    if (v.size() != (oneD ? 1u : 2u)) opError(op, std::string("attribute '") + key + "' must have " + (oneD ? "1 entry" : "2 entries"));
    if (oneD) v.insert(v.begin(), 1);
    a = v[0]; b = v[1];
  };
  two("strides", p.sH, p.sW);
  two("dilations", p.dH, p.dW);
  if (p.sH < 1 || p.sW < 1 || p.dH < 1 || p.dW < 1) opError(op, "strides and dilations must be >= 1");
  if (oneD) {
    // MIL `pad` and ONNX `pads` agree for one axis: [begin, end].
    std::vector<int64_t> v = op.attrInts(op.has("pad") ? "pad" : "pads", {0, 0});
    if (v.size() != 2) opError(op, "a 1-D conv_transpose's padding must be [begin, end]");
    p.pl = v[0]; p.pr = v[1];
  } else if (op.has("pad")) {
    std::vector<int64_t> v = op.attrInts("pad", {});
    if (v.size() != 4) opError(op, "attribute 'pad' must be [top, bottom, left, right]");
    p.pt = v[0]; p.pb = v[1]; p.pl = v[2]; p.pr = v[3];
  } else {
    std::vector<int64_t> v = op.attrInts("pads", {0, 0, 0, 0});
    if (v.size() != 4) opError(op, "attribute 'pads' must have 4 entries");
    p.pt = v[0]; p.pl = v[1]; p.pb = v[2]; p.pr = v[3];
  }
  if (op.has("auto_pad") && op.attrString("auto_pad", "NOTSET") != "NOTSET")
    throw Unsupported("no fp16 kernel for conv_transpose with auto_pad yet");
  std::vector<int64_t> opad = op.attrInts("output_padding", oneD ? std::vector<int64_t>{0} : std::vector<int64_t>{0, 0});
  if (opad.size() != (oneD ? 1u : 2u)) opError(op, std::string("attribute 'output_padding' must have ") + (oneD ? "1 entry" : "2 entries"));
  if (oneD) opad.insert(opad.begin(), 0);
  p.Ho = (p.H - 1) * p.sH - p.pt - p.pb + p.dH * (p.kH - 1) + 1 + opad[0];
  p.Wo = (p.W - 1) * p.sW - p.pl - p.pr + p.dW * (p.kW - 1) + 1 + opad[1];
  std::vector<int64_t> os = op.attrInts("output_shape", {});
  if (oneD && os.size() == 1) os.insert(os.begin(), 1);
  if (os.size() >= 2) {
    // ONNX: explicit output size; the total padding follows from it (split evenly, extra at the end).
    const int64_t th = (p.H - 1) * p.sH + p.dH * (p.kH - 1) + 1 + opad[0] - os[os.size() - 2];
    const int64_t tw = (p.W - 1) * p.sW + p.dW * (p.kW - 1) + 1 + opad[1] - os.back();
    p.pt = th / 2; p.pb = th - p.pt; p.pl = tw / 2; p.pr = tw - p.pl;
    p.Ho = os[os.size() - 2]; p.Wo = os.back();
  }
  if (p.Ho <= 0 || p.Wo <= 0) opError(op, "the output would be empty");
  return p;
}
}  // namespace

std::vector<Shape> convTransposeShape(const OpNode& op, const Shapes& in) {
  const Shape& x = needShape(op, in, 0, "x");
  const Shape& w = needShape(op, in, 1, "weight");
  const ConvTParams p = convTParams(op, x, w);  // Unsupported (rank, auto_pad): the executor skips the op
  if (const Shape* b = optShape(in, 2); b && numel(*b) != p.Cout)
    opError(op, "bias " + formatShape(*b) + " does not have " + std::to_string(p.Cout) + " elements");
  if (x.size() == 3) return {{p.N, p.Cout, p.Wo}};
  return {{p.N, p.Cout, p.Ho, p.Wo}};
}

void convTransposeKernel(const OpNode& op, const Inputs& in, Outputs& out) {
  const Tensor& x = needInput(op, in, 0, "x");
  const Tensor& w = needInput(op, in, 1, "weight");
  const Tensor* b = optInput(in, 2);
  const ConvTParams p = convTParams(op, x.shape, w.shape);
  float* o = out[0].data.data();
  const int64_t plane = p.Ho * p.Wo, cig = p.C / p.groups, taps = p.kH * p.kW, rows = p.cog * taps, pixels = p.H * p.W;
  for (int64_t n = 0; n < p.N; n++)
    for (int64_t co = 0; co < p.Cout; co++) std::fill(o + (n * p.Cout + co) * plane, o + (n * p.Cout + co + 1) * plane, b ? b->data[co] : 0.0f);
  // Input rows per GEMM: the column block stays within ~4 MB however large the image.
  const int64_t bandRows = std::max<int64_t>(1, std::min<int64_t>(p.H, (int64_t(1) << 20) / std::max<int64_t>(1, rows * p.W)));
  std::vector<float> wt(static_cast<size_t>(rows * cig)), cols(static_cast<size_t>(rows * bandRows * p.W));
  // The input columns iw whose output column iw·sW − pl + kw·dW lies inside [0, Wo), per kw.
  std::vector<int64_t> iwFrom(p.kW), iwTo(p.kW);
  for (int64_t kw = 0; kw < p.kW; kw++) {
    const int64_t shift = kw * p.dW - p.pl;
    iwFrom[kw] = shift >= 0 ? 0 : (-shift + p.sW - 1) / p.sW;
    iwTo[kw] = std::min(p.W, p.Wo - 1 - shift < 0 ? 0 : (p.Wo - 1 - shift) / p.sW + 1);
  }
  if (cig == 0) return;  // no input channels: the bias alone
  for (int64_t g = 0; g < p.groups; g++) {
    // Wᵀ for the group: row (oc, kh, kw), column ci.
    for (int64_t ci = 0; ci < cig; ci++) {
      const float* wp = w.data.data() + (g * cig + ci) * rows;
      for (int64_t r = 0; r < rows; r++) wt[r * cig + ci] = wp[r];
    }
    for (int64_t n = 0; n < p.N; n++) {
      const float* xg = x.data.data() + (n * p.C + g * cig) * pixels;
      float* og = o + (n * p.Cout + g * p.cog) * plane;
      for (int64_t h0 = 0; h0 < p.H; h0 += bandRows) {
        const int64_t hn = std::min(bandRows, p.H - h0), cn = hn * p.W;
        gemm(rows, cn, cig, wt.data(), cig, xg + h0 * p.W, pixels, cols.data(), cn);
        for (int64_t oc = 0; oc < p.cog; oc++)
          for (int64_t kh = 0; kh < p.kH; kh++)
            for (int64_t kw = 0; kw < p.kW; kw++) {
              const float* c = cols.data() + ((oc * p.kH + kh) * p.kW + kw) * cn;
              const int64_t shift = kw * p.dW - p.pl;
              for (int64_t ih = h0; ih < h0 + hn; ih++) {
                const int64_t oh = ih * p.sH - p.pt + kh * p.dH;
                if (oh < 0 || oh >= p.Ho) continue;
                float* orow = og + oc * plane + oh * p.Wo;
                const float* crow = c + (ih - h0) * p.W;
                for (int64_t iw = iwFrom[kw]; iw < iwTo[kw]; iw++) orow[iw * p.sW + shift] += crow[iw];
              }
            }
      }
    }
  }
}

}  // namespace ane
