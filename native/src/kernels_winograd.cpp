// Winograd F(4×4, 3×3) for 3×3, stride-1, undilated, single-group convs (Lavin & Gray, "Fast Algorithms
// for Convolutional Neural Networks", 2015). Each 4×4 block of outputs of one channel pair is
//   Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A
// with g the 3×3 filter and d the 6×6 input patch: 36 multiplies instead of 144. Summed over input
// channels, element e of the 6×6 transform domain is a GEMM, U[e] (Cout × C) · V[e] (C × tiles), so the
// work is 36 GEMMs plus three transforms, 2.25-4x fewer multiply-adds than the direct conv (ResNet-50's
// bottleneck 3×3 convs are ~45% of its MACs). All transforms are fp32; on the fp16 path the weights are
// rounded to binary16 before they are transformed (the device holds fp16 weights), and the executor rounds
// the outputs. The sums come out in a different order than the direct conv's: low bits differ, within
// the fp32 tolerances the tests hold the reference to.
//
// Transforms are written as loops over a whole row of tiles (the 4-wide tile grid), each plain enough for
// the compiler to vectorize, and the same arithmetic on every host: no FMA, no reassociation.
#include <algorithm>
#include <cstring>
#include <vector>

#if defined(__SSE__)
#include <xmmintrin.h>
#endif

#include "fp16.hpp"
#include "kernels.hpp"
#include "vec4.hpp"

namespace ane {

namespace {

constexpr int64_t kOut = 4;   // output tile edge
constexpr int64_t kIn = 6;    // input tile edge (kOut + 3 − 1)
constexpr int64_t kE = 36;    // transform-domain elements per tile (kIn²)

// The rows of a 4 × 4 block of floats (4 vectors) as its columns.
inline void transpose4(v4& a, v4& b, v4& c, v4& d) {
#if defined(__SSE__)
  __m128 r0 = a, r1 = b, r2 = c, r3 = d;
  _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
  a = r0; b = r1; c = r2; d = r3;
#else
  float m[4][4];
  store4(m[0], a); store4(m[1], b); store4(m[2], c); store4(m[3], d);
  a = v4{m[0][0], m[1][0], m[2][0], m[3][0]};
  b = v4{m[0][1], m[1][1], m[2][1], m[3][1]};
  c = v4{m[0][2], m[1][2], m[2][2], m[3][2]};
  d = v4{m[0][3], m[1][3], m[2][3], m[3][3]};
#endif
}

// dst[0, n) = src[0, n) for the short rows here (a row of tiles): vector moves and a scalar tail instead of a
// memcpy call per row, which cost a fifth of a 56×56 conv.
inline void copyShort(float* __restrict dst, const float* __restrict src, int64_t n) {
  int64_t t = 0;
  for (; t + 4 <= n; t += 4) store4(dst + t, load4(src + t));
  for (; t < n; t++) dst[t] = src[t];
}

// Fully unrolled small loops: the G entries become constants, not loads and broadcasts per use.
#if defined(__clang__)
#define ANE_UNROLL _Pragma("unroll")
#elif defined(__GNUC__)
#define ANE_UNROLL _Pragma("GCC unroll 16")
#else
#define ANE_UNROLL
#endif

// G applied to (a, b, c) with G's zeros and repeated entries factored out (13 operations instead of 25):
//   G = [1/4 0 0; −1/6 −1/6 −1/6; −1/6 1/6 −1/6; 1/24 1/12 1/6; 1/24 −1/12 1/6; 0 0 1]
inline void applyG(v4 a, v4 b, v4 c, v4& r0, v4& r1, v4& r2, v4& r3, v4& r4, v4& r5) {
  const v4 ac = a + c, t = a * (1.0f / 24) + c * (1.0f / 6), u = b * (1.0f / 12);
  r0 = a * 0.25f;
  r1 = (ac + b) * (-1.0f / 6);
  r2 = (ac - b) * (-1.0f / 6);
  r3 = t + u;
  r4 = t - u;
  r5 = c;
}

// Floats between the starts of consecutive transform-domain elements' panels in transformWeights' output:
// C·16 would put the 36 streams a step writes a multiple of 4 KiB apart, all in the same L1 cache set.
int64_t elementStride(int64_t C) { return C * kPanelRows + 16; }

// U[e] = (G g Gᵀ)[e] for every filter g = w[co][ci], e = 6·i + l, written straight into the 16-row panels
// gemmPanels16 multiplies — panel p of element e at Up + (p·36 + e)·elementStride(C), holding
// [ci][16] for co = 16p + r (rows past Cout zero) — so the GEMMs pack nothing on the weight side. Computed
// 16 output channels × one input channel at a time, as four v4 over output channels; each step writes 36
// runs of 64 bytes. (Transformed over input channels into a plain matrix and then packed by every GEMM,
// this cost a third of a 14×14×256 conv.) Returns false, with Up incomplete, at a non-finite (rounded) tap.
bool transformWeights(int64_t Cout, int64_t C, const float* w, bool roundW, float* Up) {
  const int64_t P = (Cout + kPanelRows - 1) / kPanelRows, stride = elementStride(C);
  thread_local std::vector<float> rounded, zeros;
  if (roundW) rounded.resize(static_cast<size_t>(kPanelRows * 9 * C));
  zeros.assign(static_cast<size_t>(9 * C), 0.0f);  // the filters of the rows past Cout
  float* const rnd = rounded.data();
  for (int64_t p = 0; p < P; p++) {
    const int64_t rows = std::min(kPanelRows, Cout - p * kPanelRows);
    const float* src[kPanelRows];
    for (int64_t r = rows; r < kPanelRows; r++) src[r] = zeros.data();
    for (int64_t r = 0; r < rows; r++) {
      src[r] = w + (p * kPanelRows + r) * C * 9;
      if (roundW) {
        roundToHalves(src[r], rnd + r * 9 * C, static_cast<size_t>(9 * C));
        src[r] = rnd + r * 9 * C;
      }
    }
    float* const panel = Up + p * kE * stride;
    v4 bad = {0, 0, 0, 0};  // lanes that met an inf or NaN tap (x − x is NaN exactly for those)
    for (int64_t ci = 0; ci < C; ci++) {
      ANE_UNROLL for (int64_t q = 0; q < kPanelRows; q += 4) {
        // gv[t]: tap t of output channels 16p + q .. + 3. Each filter's 9 taps are contiguous: taps 0-3 and
        // 4-7 of four filters are 4 × 4 blocks, transposed in registers.
        const float* f0 = src[q] + ci * 9;
        const float* f1 = src[q + 1] + ci * 9;
        const float* f2 = src[q + 2] + ci * 9;
        const float* f3 = src[q + 3] + ci * 9;
        v4 gv[9] = {load4(f0), load4(f1), load4(f2), load4(f3), load4(f0 + 4), load4(f1 + 4), load4(f2 + 4), load4(f3 + 4),
                    v4{f0[8], f1[8], f2[8], f3[8]}};
        transpose4(gv[0], gv[1], gv[2], gv[3]);
        transpose4(gv[4], gv[5], gv[6], gv[7]);
        ANE_UNROLL for (int64_t t = 0; t < 9; t++) bad += gv[t] - gv[t];
        v4 half[kIn][3];  // G g (6×3), per column j
        ANE_UNROLL for (int64_t j = 0; j < 3; j++) applyG(gv[j], gv[3 + j], gv[6 + j], half[0][j], half[1][j], half[2][j], half[3][j], half[4][j], half[5][j]);
        ANE_UNROLL for (int64_t i = 0; i < kIn; i++) {
          v4 u[kIn];  // (G g) Gᵀ, row i
          applyG(half[i][0], half[i][1], half[i][2], u[0], u[1], u[2], u[3], u[4], u[5]);
          ANE_UNROLL for (int64_t l = 0; l < kIn; l++) store4(panel + (i * kIn + l) * stride + ci * kPanelRows + q, u[l]);
        }
      }
    }
    if (!(bad[0] == 0 && bad[1] == 0 && bad[2] == 0 && bad[3] == 0)) return false;
  }
  return true;
}

// Whether x[0, n) is all finite. Winograd's transforms mix every value of a tile into every transformed one,
// so one inf would turn a whole tile's outputs into NaN where the direct conv gives ±inf only in its
// receptive field: with a non-finite input or weight (an fp16 overflow upstream, a weight beyond fp16's
// range on the fp16 path) the conv takes the direct kernel, and the inf/NaN counts stay the device's.
bool allFinite(const float* x, int64_t n) {
  v4 bad = {0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const v4 v = load4(x + i);
    bad += v - v;
  }
  float tail = 0;
  for (; i < n; i++) tail += x[i] - x[i];
  return bad[0] == 0 && bad[1] == 0 && bad[2] == 0 && bad[3] == 0 && tail == 0;
}

// Bᵀ applied to six vectors d_k = src + off[k] (elementwise, n a multiple of 4): dst + k·dstStride gets
// r_k = Σ Bᵀ[k][i] d_i, written out sparse:
//   Bᵀ = [4 0 −5 0 1 0; 0 −4 −4 1 1 0; 0 4 −4 −1 1 0; 0 −2 −1 2 1 0; 0 2 −1 −2 1 0; 0 4 0 −5 0 1]
inline void applyBt(const float* const d[kIn], float* dst, int64_t dstStride, int64_t n) {
  for (int64_t t = 0; t < n; t += 4) {
    const v4 d0 = load4(d[0] + t), d1 = load4(d[1] + t), d2 = load4(d[2] + t), d3 = load4(d[3] + t), d4 = load4(d[4] + t), d5 = load4(d[5] + t);
    const v4 a = d4 - 4.0f * d2, b = d3 - 4.0f * d1;  // shared by rows 1, 2
    const v4 c = d4 - d2, e = 2.0f * (d3 - d1);       // shared by rows 3, 4
    store4(dst + t, 4.0f * d0 - 5.0f * d2 + d4);
    store4(dst + dstStride + t, a + b);
    store4(dst + 2 * dstStride + t, a - b);
    store4(dst + 3 * dstStride + t, c + e);
    store4(dst + 4 * dstStride + t, c - e);
    store4(dst + 5 * dstStride + t, 4.0f * d1 - 5.0f * d3 + d5);
  }
}

// Aᵀ applied to six vectors m_k (n a multiple of 4): dst + a·dstStride gets y_a = Σ Aᵀ[a][k] m_k.
//   Aᵀ = [1 1 1 1 1 0; 0 1 −1 2 −2 0; 0 1 1 4 4 0; 0 1 −1 8 −8 1]
inline void applyAt(const float* const m[kIn], float* dst, int64_t dstStride, int64_t n) {
  for (int64_t t = 0; t < n; t += 4) {
    const v4 m0 = load4(m[0] + t), m1 = load4(m[1] + t), m2 = load4(m[2] + t), m3 = load4(m[3] + t), m4 = load4(m[4] + t), m5 = load4(m[5] + t);
    const v4 s12 = m1 + m2, d12 = m1 - m2, s34 = m3 + m4, d34 = m3 - m4;
    store4(dst + t, m0 + s12 + s34);
    store4(dst + dstStride + t, d12 + 2.0f * d34);
    store4(dst + 2 * dstStride + t, s12 + 4.0f * s34);
    store4(dst + 3 * dstStride + t, d12 + 8.0f * d34 + m5);
  }
}

struct Geometry {
  int64_t C, H, W, Cout, pt, pl, Ho, Wo;
  int64_t th, tw, tiles;  // tile grid
  int64_t tw4;            // tw rounded up to a multiple of 4: the width of the vector loops (extra lanes unused)
  int64_t Hp, Wp;         // the zero-padded input plane the tiles read: Hp = 4·th + 2 rows, Wp = 4·tw4 + 16 columns
};

// V[e][c][t] = (Bᵀ d B)[e] for every channel c and tile t = ty·tw + tx of one image. Per channel: each
// padded row is split into 4 column phases (phase s holds columns s, s + 4, ...; 4 × 4 transposes), so a
// tile's column s is phase s at index tx and its columns 4, 5 are phases 0, 1 at tx + 1; the row transform
// (·B) then runs over a whole row of tiles with unit stride, once per padded row (adjacent tile rows share
// two), and the column transform (Bᵀ·) reads those rows and writes V contiguously along t.
void transformInput(const Geometry& g, const float* x, float* V) {
  const int64_t tw4 = g.tw4, stride = tw4 + 4;
  thread_local std::vector<float> padded, phases, rows, block;
  padded.assign(static_cast<size_t>(g.Hp * g.Wp), 0.0f);  // borders stay zero, interiors are rewritten
  phases.resize(static_cast<size_t>(4 * stride));
  rows.resize(static_cast<size_t>(g.Hp * kIn * tw4));  // rows[y][j][tx]: padded row y times B, column j
  block.resize(static_cast<size_t>(kIn * tw4));
  // Plain pointers: thread_local vectors read in the loops cost a TLS lookup each time.
  float* const pad = padded.data();
  float* const ph = phases.data();
  float* const rw = rows.data();
  float* const blk = block.data();
  for (int64_t c = 0; c < g.C; c++) {
    const float* plane = x + c * g.H * g.W;
    for (int64_t h = 0; h < g.H; h++) copyShort(pad + (h + g.pt) * g.Wp + g.pl, plane + h * g.W, g.W);
    for (int64_t y = 0; y < g.Hp; y++) {
      const float* src = pad + y * g.Wp;
      for (int64_t tx = 0; tx < tw4 + 4; tx += 4) {
        v4 a = load4(src + 4 * tx), b = load4(src + 4 * tx + 4), c4 = load4(src + 4 * tx + 8), d = load4(src + 4 * tx + 12);
        transpose4(a, b, c4, d);
        store4(ph + tx, a);
        store4(ph + stride + tx, b);
        store4(ph + 2 * stride + tx, c4);
        store4(ph + 3 * stride + tx, d);
      }
      // (d B)[j] = (Bᵀ dᵀ)[j]: the same combination along the row.
      const float* d[kIn] = {ph, ph + stride, ph + 2 * stride, ph + 3 * stride, ph + 1, ph + stride + 1};
      applyBt(d, rw + y * kIn * tw4, tw4, tw4);
    }
    for (int64_t ty = 0; ty < g.th; ty++)
      for (int64_t j = 0; j < kIn; j++) {
        const float* r[kIn];
        for (int64_t k = 0; k < kIn; k++) r[k] = rw + ((ty * kOut + k) * kIn + j) * tw4;
        applyBt(r, blk, tw4, tw4);
        for (int64_t i = 0; i < kIn; i++) copyShort(V + ((i * kIn + j) * g.C + c) * g.tiles + ty * g.tw, blk + i * tw4, g.tw);
      }
  }
}

// o[co] = Aᵀ M A (+ bias) for every output channel and tile, clipped to Ho × Wo. Per channel and tile row:
// the column transform (Aᵀ·) over the 6 rows of M, then the row transform (·A) into 4 column phases,
// interleaved into the output rows (4 × 4 transposes).
void transformOutput(const Geometry& g, const float* M, const float* bias, float* o) {
  const int64_t tw = g.tw, tw4 = g.tw4;
  thread_local std::vector<float> in, cols, phases;
  in.assign(static_cast<size_t>(kIn * tw4), 0.0f);  // one row of M per i, padded to tw4 (the tail stays 0)
  cols.resize(static_cast<size_t>(kOut * kIn * tw4));  // cols[a][j][tx]
  phases.resize(static_cast<size_t>(kOut * tw4));
  float* const rowsM = in.data();
  float* const cl = cols.data();
  float* const ph = phases.data();
  for (int64_t co = 0; co < g.Cout; co++) {
    float* plane = o + co * g.Ho * g.Wo;
    const v4 b = v4{1, 1, 1, 1} * (bias ? bias[co] : 0.0f);
    for (int64_t ty = 0; ty < g.th; ty++) {
      for (int64_t j = 0; j < kIn; j++) {
        const float* m[kIn];
        for (int64_t i = 0; i < kIn; i++) {
          copyShort(rowsM + i * tw4, M + ((i * kIn + j) * g.Cout + co) * g.tiles + ty * tw, tw);
          m[i] = rowsM + i * tw4;
        }
        applyAt(m, cl + j * tw4, kIn * tw4, tw4);
      }
      for (int64_t a = 0; a < kOut; a++) {
        const int64_t oh = ty * kOut + a;
        if (oh >= g.Ho) break;
        const float* r = cl + a * kIn * tw4;
        const float* m[kIn] = {r, r + tw4, r + 2 * tw4, r + 3 * tw4, r + 4 * tw4, r + 5 * tw4};
        applyAt(m, ph, tw4, tw4);
        float* dst = plane + oh * g.Wo;
        // The bias joins after the transform: the same conv + b as the direct kernel's.
        for (int64_t tx = 0; tx < tw; tx += 4) {
          v4 q0 = load4(ph + tx), q1 = load4(ph + tw4 + tx), q2 = load4(ph + 2 * tw4 + tx), q3 = load4(ph + 3 * tw4 + tx);
          transpose4(q0, q1, q2, q3);  // q_k: the 4 outputs of tile tx + k
          const v4 q[4] = {q0, q1, q2, q3};
          for (int64_t k = 0; k < 4 && tx + k < tw; k++) {
            const int64_t ow = (tx + k) * kOut;
            const v4 v = bias ? q[k] + b : q[k];
            if (ow + kOut <= g.Wo) {
              store4(dst + ow, v);
            } else {
              for (int64_t s = 0; ow + s < g.Wo; s++) dst[ow + s] = v[s];
            }
          }
        }
      }
    }
  }
}

}  // namespace

bool winogradApplies(int64_t C, int64_t Cout, int64_t Ho, int64_t Wo) {
  // Below these sizes the transforms and the 36 small GEMMs cost more than they save: few channels means
  // little work per transformed value; few tiles means the weights (transformed every run into 4x their
  // size) serve too few columns. Measured on (3×3, C → C) convs: 56×56×64 and 28×28×128 gain most,
  // 14×14×256 (16 tiles) ~10%, 7×7×512 (4 tiles, 8×8 outputs computed for 7×7) is ~1.5x slower.
  const int64_t tiles = ((Ho + kOut - 1) / kOut) * ((Wo + kOut - 1) / kOut);
  return C >= 16 && Cout >= 16 && tiles >= 16;
}

bool winogradConv3x3(int64_t N, int64_t C, int64_t H, int64_t W, int64_t Cout, int64_t pt, int64_t pl, int64_t Ho, int64_t Wo,
                     const float* x, const float* w, const float* bias, float* o, bool roundW) {
  if (!allFinite(x, N * C * H * W)) return false;
  Geometry g{C, H, W, Cout, pt, pl, Ho, Wo, 0, 0, 0, 0, 0, 0};
  g.th = (Ho + kOut - 1) / kOut;
  g.tw = (Wo + kOut - 1) / kOut;
  g.tiles = g.th * g.tw;
  g.tw4 = (g.tw + 3) / 4 * 4;
  g.Hp = g.th * kOut + 2;
  g.Wp = g.tw4 * kOut + 16;  // the phase split reads one block of 4 tiles past tw4 (it needs tile tw4's columns 0, 1)
  thread_local std::vector<float> U, V, M;
  const int64_t panels = (Cout + kPanelRows - 1) / kPanelRows;
  U.resize(static_cast<size_t>(kE * panels * elementStride(C)));
  V.resize(static_cast<size_t>(kE * C * g.tiles));
  M.resize(static_cast<size_t>(kE * Cout * g.tiles));
  if (!transformWeights(Cout, C, w, roundW, U.data())) return false;
  for (int64_t n = 0; n < N; n++) {
    transformInput(g, x + n * C * H * W, V.data());
    for (int64_t e = 0; e < kE; e++)
      gemmPanels16(Cout, g.tiles, C, U.data() + e * elementStride(C), kE * elementStride(C), V.data() + e * C * g.tiles, g.tiles,
                   M.data() + e * Cout * g.tiles, g.tiles);
    transformOutput(g, M.data(), bias, o + n * Cout * Ho * Wo);
  }
  return true;
}

}  // namespace ane
