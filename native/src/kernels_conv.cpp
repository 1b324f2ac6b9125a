// 2-D convolution (NCHW, weights (Cout, Cin/groups, kH, kW)) as a GEMM per group whose B panels are packed
// straight from the input (implicit im2col). A 1×1, stride-1, unpadded conv multiplies the input planes
// directly; a depthwise conv has its own direct kernel; a large enough 3×3 stride-1 conv goes to Winograd.
#include <algorithm>
#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "kernels.hpp"
#include "vec4.hpp"

namespace ane {

namespace {

struct ConvParams {
  int64_t N, C, H, W, Cout, cg, kH, kW, sH, sW, dH, dW, pt, pb, pl, pr, groups, Ho, Wo;
  bool oneD;  // (N, C, L) input: run as H = 1
};

int64_t outDim(int64_t in, int64_t k, int64_t s, int64_t d, int64_t p0, int64_t p1) {
  const int64_t span = d * (k - 1) + 1;
  const int64_t room = in + p0 + p1 - span;
  return room < 0 ? 0 : room / s + 1;
}

ConvParams convParams(const OpNode& op, const Shape& x, const Shape& w) {
  ConvParams p{};
  if (x.size() == 3 && w.size() == 3) {
    p.oneD = true;
  } else if (x.size() != 4 || w.size() != 4) {
    if (x.size() == 5 || w.size() == 5) throw Unsupported("no fp16 kernel for 3-D conv yet");
    opError(op, "conv expects x (N, C, H, W) and weight (Cout, Cin/groups, kH, kW); got x " + formatShape(x) + ", weight " + formatShape(w));
  }
  p.N = x[0]; p.C = x[1];
  p.H = p.oneD ? 1 : x[2]; p.W = p.oneD ? x[2] : x[3];
  p.Cout = w[0]; p.cg = w[1];
  p.kH = p.oneD ? 1 : w[2]; p.kW = p.oneD ? w[2] : w[3];
  p.groups = op.attrInt("groups", 1);
  if (p.groups < 1) opError(op, "groups must be >= 1");
  if (p.C != p.cg * p.groups)
    opError(op, "x has " + std::to_string(p.C) + " channels but weight " + formatShape(w) + " with groups=" + std::to_string(p.groups) + " expects " + std::to_string(p.cg * p.groups));
  if (p.Cout % p.groups != 0) opError(op, "Cout " + std::to_string(p.Cout) + " is not divisible by groups " + std::to_string(p.groups));
  auto pair = [&](const char* key, int64_t def, int64_t& a, int64_t& b) {
    std::vector<int64_t> v = op.attrInts(key, {});
    if (v.empty()) { a = b = def; return; }
    if (p.oneD && v.size() == 1) { a = def; b = v[0]; return; }
    if (v.size() != 2) opError(op, std::string("attribute '") + key + "' must have 2 entries");
    a = v[0]; b = v[1];
  };
  pair("strides", 1, p.sH, p.sW);
  pair("dilations", 1, p.dH, p.dW);
  if (p.sH < 1 || p.sW < 1 || p.dH < 1 || p.dW < 1) opError(op, "strides and dilations must be >= 1");
  const std::string padType = op.attrString("pad_type", "custom");
  if (padType == "valid") {
    p.pt = p.pb = p.pl = p.pr = 0;
  } else if (padType == "same") {
    auto same = [](int64_t in, int64_t k, int64_t s, int64_t d, int64_t& lo, int64_t& hi) {
      const int64_t out = (in + s - 1) / s;
      const int64_t total = std::max<int64_t>(0, (out - 1) * s + d * (k - 1) + 1 - in);
      lo = total / 2;
      hi = total - lo;
    };
    same(p.H, p.kH, p.sH, p.dH, p.pt, p.pb);
    same(p.W, p.kW, p.sW, p.dW, p.pl, p.pr);
  } else {
    std::vector<int64_t> pad = op.attrInts("pad", {});
    if (pad.empty()) pad = {0, 0, 0, 0};
    if (p.oneD && pad.size() == 2) pad = {0, 0, pad[0], pad[1]};
    if (pad.size() != 4) opError(op, "attribute 'pad' must be [top, bottom, left, right]");
    for (int64_t v : pad)
      if (v < 0) opError(op, "negative padding is not supported");
    p.pt = pad[0]; p.pb = pad[1]; p.pl = pad[2]; p.pr = pad[3];
  }
  p.Ho = outDim(p.H, p.kH, p.sH, p.dH, p.pt, p.pb);
  p.Wo = outDim(p.W, p.kW, p.sW, p.dW, p.pl, p.pr);
  if (p.Ho <= 0 || p.Wo <= 0) opError(op, "the kernel (with dilation) is larger than the padded input " + formatShape(x));
  return p;
}


// Depthwise (one input and one output channel per group): im2col would build a kH·kW × P matrix for a
// single output row, and a loop per (output row, tap) is all overhead on 7×7 and 14×14 maps. Instead each
// input plane is copied once into a zero-padded scratch split into sH × sW phase planes (phase (a, b) holds
// padded rows a, a + sH, ... and columns b, b + sW, ...). In phase coordinates every tap is a constant offset,
// so the output, computed on a grid Wq wide (columns Wo.. are discarded), is for each i
//   wide[i] = Σ over taps, in (kh, kw) order, of w[tap] · phases[i + offset[tap]]
// — eight outputs at a time with all taps summed in registers, no bounds tests. A tap over padding adds w · 0.
// Outputs per step of depthwiseTaps: four independent accumulator chains of 8 (AVX) keep the adders busy;
// with one chain every tap waited for the previous add.
constexpr int64_t kDwBlock = 32;

// wide[i] = Σ_t wc[t] · ph[i + offset[t]] for i < len (a multiple of kDwBlock), taps summed in order with a
// separate multiply and add (no FMA), so the AVX and portable versions give identical results.
void depthwiseTapsPortable(const float* ph, const int64_t* offset, const float* wc, int64_t taps, float* wide, int64_t len) {
  for (int64_t i = 0; i < len; i += 8) {
    v4 acc0 = {0, 0, 0, 0}, acc1 = acc0;
    for (int64_t t = 0; t < taps; t++) {
      const float* src = ph + i + offset[t];
      acc0 += wc[t] * load4(src);
      acc1 += wc[t] * load4(src + 4);
    }
    store4(wide + i, acc0);
    store4(wide + i + 4, acc1);
  }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
__attribute__((target("avx"))) void depthwiseTapsAvx(const float* ph, const int64_t* offset, const float* wc, int64_t taps, float* wide,
                                                     int64_t len) {
  for (int64_t i = 0; i < len; i += kDwBlock) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (int64_t t = 0; t < taps; t++) {
      const float* src = ph + i + offset[t];
      const __m256 wv = _mm256_set1_ps(wc[t]);
      a0 = _mm256_add_ps(a0, _mm256_mul_ps(wv, _mm256_loadu_ps(src)));
      a1 = _mm256_add_ps(a1, _mm256_mul_ps(wv, _mm256_loadu_ps(src + 8)));
      a2 = _mm256_add_ps(a2, _mm256_mul_ps(wv, _mm256_loadu_ps(src + 16)));
      a3 = _mm256_add_ps(a3, _mm256_mul_ps(wv, _mm256_loadu_ps(src + 24)));
    }
    _mm256_storeu_ps(wide + i, a0);
    _mm256_storeu_ps(wide + i + 8, a1);
    _mm256_storeu_ps(wide + i + 16, a2);
    _mm256_storeu_ps(wide + i + 24, a3);
  }
}

bool hostHasAvx() {
  static const bool yes = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx");
  }();
  return yes;
}
#endif

void depthwiseTaps(const float* ph, const int64_t* offset, const float* wc, int64_t taps, float* wide, int64_t len) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  if (hostHasAvx()) return depthwiseTapsAvx(ph, offset, wc, taps, wide, len);
#endif
  depthwiseTapsPortable(ph, offset, wc, taps, wide, len);
}

void depthwise(const ConvParams& p, const float* x, const float* w, const float* bias, float* o) {
  const int64_t Hp = p.H + p.pt + p.pb, Wp = p.W + p.pl + p.pr;
  const int64_t Hq = (Hp + p.sH - 1) / p.sH, Wq = (Wp + p.sW - 1) / p.sW, planeSize = Hq * Wq;
  const int64_t taps = p.kH * p.kW;
  std::vector<int64_t> offset(static_cast<size_t>(taps));
  int64_t maxOffset = 0;
  for (int64_t kh = 0; kh < p.kH; kh++)
    for (int64_t kw = 0; kw < p.kW; kw++) {
      const int64_t r = kh * p.dH, c = kw * p.dW;
      offset[kh * p.kW + kw] = ((r % p.sH) * p.sW + c % p.sW) * planeSize + (r / p.sH) * Wq + c / p.sW;
      maxOffset = std::max(maxOffset, offset[kh * p.kW + kw]);
    }
  const int64_t wideLen = (p.Ho * Wq + kDwBlock - 1) / kDwBlock * kDwBlock;
  thread_local std::vector<float> phases, wide;
  // Zeroed once: the padding positions are the same for every channel, only the interior is rewritten.
  phases.assign(static_cast<size_t>(std::max(p.sH * p.sW * planeSize, maxOffset + wideLen)), 0.0f);
  wide.resize(static_cast<size_t>(wideLen));
  // Where each input row and column phase lands is the same for every channel: computed once here (the
  // divisions per row and phase were ~1% of a MobileNet run, on 7×7 to 112×112 planes).
  std::vector<int64_t> rowAt(static_cast<size_t>(p.H));
  for (int64_t h = 0; h < p.H; h++) {
    const int64_t hp = h + p.pt;
    rowAt[h] = (hp % p.sH) * p.sW * planeSize + (hp / p.sH) * Wq;
  }
  struct ColumnPhase {
    int64_t first, j0, count, vec;  // input columns first, first + sW, ... (count of them) go to j0, j0 + 1, ...
  };
  std::vector<ColumnPhase> colPhase(static_cast<size_t>(p.sW));
  for (int64_t b = 0; b < p.sW; b++) {
    ColumnPhase& cp = colPhase[b];
    cp.first = ((b - p.pl) % p.sW + p.sW) % p.sW;  // first iw with (iw + pl) % sW == b
    cp.j0 = (cp.first + p.pl) / p.sW;
    cp.count = cp.first < p.W ? (p.W - cp.first + p.sW - 1) / p.sW : 0;
    // Stride 2: pairs are loaded and the even elements kept, so the last pair must lie inside the row.
    cp.vec = p.sW == 2 && cp.count > 0 ? (cp.first + 2 * cp.count - 1 <= p.W - 1 ? cp.count : cp.count - 1) : 0;
  }
  float* const ph = phases.data();
  for (int64_t n = 0; n < p.N; n++)
    for (int64_t c = 0; c < p.C; c++) {
      const float* plane = x + (n * p.C + c) * p.H * p.W;
      for (int64_t h = 0; h < p.H; h++) {
        const float* src = plane + h * p.W;
        if (p.sW == 1) {
          std::memcpy(ph + rowAt[h] + p.pl, src, sizeof(float) * p.W);
          continue;
        }
        for (int64_t b = 0; b < p.sW; b++) {
          const ColumnPhase& cp = colPhase[b];
          float* dst = ph + rowAt[h] + b * planeSize + cp.j0;
          gatherEven(src + cp.first, dst, cp.vec);  // vec is 0 unless sW == 2
          for (int64_t t = cp.vec; t < cp.count; t++) dst[t] = src[cp.first + t * p.sW];
        }
      }
      depthwiseTaps(phases.data(), offset.data(), w + c * taps, taps, wide.data(), wideLen);
      float* out = o + (n * p.C + c) * p.Ho * p.Wo;
      for (int64_t oh = 0; oh < p.Ho; oh++) {
        float* __restrict dst = out + oh * p.Wo;
        const float* __restrict src = wide.data() + oh * Wq;
        if (bias) for (int64_t ow = 0; ow < p.Wo; ow++) dst[ow] = src[ow] + bias[c];
        else std::memcpy(dst, src, sizeof(float) * p.Wo);
      }
    }
}

// 3×3, stride 1, no dilation, one group, enough channels and outputs: Winograd (kernels_winograd.cpp).
bool winogradFits(const ConvParams& p) {
  return !p.oneD && p.kH == 3 && p.kW == 3 && p.sH == 1 && p.sW == 1 && p.dH == 1 && p.dW == 1 && p.groups == 1 &&
         winogradApplies(p.C, p.Cout, p.Ho, p.Wo);
}

}  // namespace

static void convGemm(const ConvParams& p, const float* x, const float* w, const float* bias, float* o, bool roundW);

std::vector<Shape> convShape(const OpNode& op, const Shapes& in) {
  const Shape& x = needShape(op, in, 0, "x");
  const Shape& w = needShape(op, in, 1, "weight");
  ConvParams p = convParams(op, x, w);
  if (const Shape* b = optShape(in, 2); b && numel(*b) != p.Cout)
    opError(op, "bias " + formatShape(*b) + " does not have " + std::to_string(p.Cout) + " elements");
  if (p.oneD) return {Shape{p.N, p.Cout, p.Wo}};
  return {Shape{p.N, p.Cout, p.Ho, p.Wo}};
}

void convKernel(const OpNode& op, const Inputs& in, Outputs& out) {
  const Tensor& x = needInput(op, in, 0, "x");
  const Tensor& w = needInput(op, in, 1, "weight");
  const Tensor* bias = optInput(in, 2);
  const ConvParams p = convParams(op, x.shape, w.shape);
  // The bias is added to each output as it is finished (out = conv + b, the same sum as a pass afterwards).
  const float* b = bias ? bias->data.data() : nullptr;
  if (p.groups == p.C && p.Cout == p.C && p.cg == 1) {
    std::vector<float> scratch;  // depthwise weights are small: round them once up front if needed
    depthwise(p, x.data.data(), weightValues(w, scratch), b, out[0].data.data());
  } else if (!(winogradFits(p) && winogradConv3x3(p.N, p.C, p.H, p.W, p.Cout, p.pt, p.pl, p.Ho, p.Wo, x.data.data(), w.data.data(), b,
                                                   out[0].data.data(), w.roundOnRead))) {
    // The direct conv, also where Winograd declined a non-finite input or weight. Weights are rounded while packing.
    convGemm(p, x.data.data(), w.data.data(), b, out[0].data.data(), w.roundOnRead);
  }
}

static void convGemm(const ConvParams& p, const float* xd, const float* wd, const float* bias, float* o, bool roundW) {
  const int64_t P = p.Ho * p.Wo, K = p.cg * p.kH * p.kW, Mg = p.Cout / p.groups;
  const bool direct = p.kH == 1 && p.kW == 1 && p.sH == 1 && p.sW == 1 && p.pt == 0 && p.pb == 0 && p.pl == 0 && p.pr == 0;
  for (int64_t n = 0; n < p.N; n++) {
    for (int64_t g = 0; g < p.groups; g++) {
      const float* wg = wd + g * Mg * K;
      const float* xg = xd + (n * p.C + g * p.cg) * p.H * p.W;
      float* og = o + (n * p.Cout + g * Mg) * P;
      if (direct) {
        gemm(Mg, P, K, wg, K, xg, p.H * p.W, og, P, roundW, bias ? bias + g * Mg : nullptr);
      } else {
        // The GEMM packs its B panels straight from the input: no K × P im2col matrix (7 MB for a 3×3 conv
        // on 56×56×64) written out and read back.
        const Im2col cols{xg, p.H, p.W, p.kH, p.kW, p.sH, p.sW, p.dH, p.dW, p.pt, p.pl, p.Wo};
        gemm(Mg, P, K, wg, K, cols, og, P, roundW, bias ? bias + g * Mg : nullptr);
      }
    }
  }
}

}  // namespace ane
