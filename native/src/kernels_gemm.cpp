// A cache-blocked single-thread GEMM and the ops built on it (linear, matmul; conv uses it too).
#include <algorithm>
#include <cstring>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "fp16.hpp"
#include "kernels.hpp"
#include "vec4.hpp"

namespace ane {

namespace {
// Packed, register-blocked GEMM. B is packed per (K block × N block) into 8-column panels and A per
// 4-row strip, so the micro-kernel streams both contiguously and keeps a 4×8 tile of C in registers for
// a whole K block. GCC/Clang vector extensions (vec4.hpp) give SSE on x86-64 and NEON on arm64 without intrinsics.

constexpr int64_t kMR = 4;    // rows of the register tile
constexpr int64_t kNR = 8;    // columns of the register tile (two v4)
constexpr int64_t kKC = 256;  // K block: a packed B panel (kKC × 8 floats = 8 KiB) stays in L1
constexpr int64_t kNC = 256;  // N block: the packed B block (256 KiB) stays in L2

// C[0:rows, 0:cols] += Ap(kn × 4) · Bp(kn × 8).
void micro(int64_t kn, const float* __restrict ap, const float* __restrict bp, float* c, int64_t ldc, int64_t rows, int64_t cols, bool add) {
  v4 c00 = {0, 0, 0, 0}, c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  for (int64_t k = 0; k < kn; k++) {
    const v4 b0 = load4(bp + k * kNR), b1 = load4(bp + k * kNR + 4);
    const float* a = ap + k * kMR;
    c00 += a[0] * b0; c01 += a[0] * b1;
    c10 += a[1] * b0; c11 += a[1] * b1;
    c20 += a[2] * b0; c21 += a[2] * b1;
    c30 += a[3] * b0; c31 += a[3] * b1;
  }
  const v4 acc[kMR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}};
  for (int64_t r = 0; r < rows; r++) {
    float* row = c + r * ldc;
    if (cols == kNR && add) {
      store4(row, load4(row) + acc[r][0]);
      store4(row + 4, load4(row + 4) + acc[r][1]);
    } else if (cols == kNR) {
      store4(row, acc[r][0]);
      store4(row + 4, acc[r][1]);
    } else {
      float tmp[kNR];
      store4(tmp, acc[r][0]);
      store4(tmp + 4, acc[r][1]);
      for (int64_t j = 0; j < cols; j++) row[j] = add ? row[j] + tmp[j] : tmp[j];
    }
  }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define ANE_HAVE_AVX2_PATH 1
// x86-64 hosts with AVX2 + FMA (checked at run time, so the addon still loads on older CPUs and the build
// needs no -mavx2): a 6×16 tile of C in 12 ymm registers, one fused multiply-add per A element and B half.
constexpr int64_t kMR8 = 6;
constexpr int64_t kNR8 = 16;

__attribute__((target("avx2,fma"))) void micro8(int64_t kn, const float* __restrict ap, const float* __restrict bp, float* c,
                                                  int64_t ldc, int64_t rows, int64_t cols, bool add) {
  // Named accumulators, written out: with an array and a loop over rows GCC -O2 keeps the tile in memory.
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00,
         c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  for (int64_t k = 0; k < kn; k++) {
    const __m256 b0 = _mm256_loadu_ps(bp + k * kNR8), b1 = _mm256_loadu_ps(bp + k * kNR8 + 8);
    const float* a = ap + k * kMR8;
    __m256 av = _mm256_broadcast_ss(a + 0);
    c00 = _mm256_fmadd_ps(av, b0, c00); c01 = _mm256_fmadd_ps(av, b1, c01);
    av = _mm256_broadcast_ss(a + 1);
    c10 = _mm256_fmadd_ps(av, b0, c10); c11 = _mm256_fmadd_ps(av, b1, c11);
    av = _mm256_broadcast_ss(a + 2);
    c20 = _mm256_fmadd_ps(av, b0, c20); c21 = _mm256_fmadd_ps(av, b1, c21);
    av = _mm256_broadcast_ss(a + 3);
    c30 = _mm256_fmadd_ps(av, b0, c30); c31 = _mm256_fmadd_ps(av, b1, c31);
    av = _mm256_broadcast_ss(a + 4);
    c40 = _mm256_fmadd_ps(av, b0, c40); c41 = _mm256_fmadd_ps(av, b1, c41);
    av = _mm256_broadcast_ss(a + 5);
    c50 = _mm256_fmadd_ps(av, b0, c50); c51 = _mm256_fmadd_ps(av, b1, c51);
  }
  const __m256 acc[kMR8][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
  if (rows == kMR8 && cols == kNR8) {
    for (int r = 0; r < kMR8; r++) {
      float* row = c + r * ldc;
      _mm256_storeu_ps(row, add ? _mm256_add_ps(_mm256_loadu_ps(row), acc[r][0]) : acc[r][0]);
      _mm256_storeu_ps(row + 8, add ? _mm256_add_ps(_mm256_loadu_ps(row + 8), acc[r][1]) : acc[r][1]);
    }
    return;
  }
  for (int64_t r = 0; r < rows; r++) {
    float tmp[kNR8];
    _mm256_storeu_ps(tmp, acc[r][0]);
    _mm256_storeu_ps(tmp + 8, acc[r][1]);
    float* row = c + r * ldc;
    for (int64_t j = 0; j < cols; j++) row[j] = add ? row[j] + tmp[j] : tmp[j];
  }
}

bool hostHasAvx2Fma() {
  static const bool yes = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }();
  return yes;
}
#endif

using MicroKernel = void (*)(int64_t, const float*, const float*, float*, int64_t, int64_t, int64_t, bool);

inline void addBias(float* __restrict row, int64_t n, float b) {
  for (int64_t j = 0; j < n; j++) row[j] += b;
}

// Packing and blocking around an MR×NR micro-kernel. The summation order over K depends only on the block
// sizes, never on threads, so results are reproducible run to run.
// B as a row-major matrix with leading dimension ldb; pack() has Im2col's contract.
struct MatrixB {
  const float* B;
  int64_t ldb;
  void pack(int64_t k0, int64_t kn, int64_t j0, int64_t cols, int64_t nr, float* dst) const {
    for (int64_t k = 0; k < kn; k++) {
      const float* src = B + (k0 + k) * ldb + j0;
      float* d = dst + k * nr;
      // Constant-size copies for the micro-kernels' panel widths compile to a few vector moves; a memcpy
      // call per 64-byte row was a tenth of a 1×1 conv.
      if (cols == nr && nr == 16) std::memcpy(d, src, 16 * sizeof(float));
      else if (cols == nr && nr == 8) std::memcpy(d, src, 8 * sizeof(float));
      else if (cols == nr && nr == 6) std::memcpy(d, src, 6 * sizeof(float));  // the transposed GEMM's A strips
      else if (cols == nr) std::memcpy(d, src, sizeof(float) * nr);
      else for (int64_t j = 0; j < nr; j++) d[j] = j < cols ? src[j] : 0.0f;
    }
  }
};

#ifdef ANE_HAVE_AVX2_PATH
// dst[k·width + c] = src[c][k] for 8 rows c and k < kn: 8 × 8 transposes in ymm registers, so the panel is
// written 8 floats at a time instead of one strided float per store (the strided version was most of the
// packing time of convs on 7×7 and 14×14 maps, whose weights serve few columns).
__attribute__((target("avx2"))) void transposeRows8(const float* const src[8], int64_t kn, int64_t width, float* dst) {
  int64_t k = 0;
  for (; k + 8 <= kn; k += 8) {
    const __m256 r0 = _mm256_loadu_ps(src[0] + k), r1 = _mm256_loadu_ps(src[1] + k), r2 = _mm256_loadu_ps(src[2] + k),
                 r3 = _mm256_loadu_ps(src[3] + k), r4 = _mm256_loadu_ps(src[4] + k), r5 = _mm256_loadu_ps(src[5] + k),
                 r6 = _mm256_loadu_ps(src[6] + k), r7 = _mm256_loadu_ps(src[7] + k);
    const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1), t2 = _mm256_unpacklo_ps(r2, r3),
                 t3 = _mm256_unpackhi_ps(r2, r3), t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5),
                 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
    const __m256 s0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0)), s1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2)),
                 s2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0)), s3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2)),
                 s4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0)), s5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2)),
                 s6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0)), s7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
    float* d = dst + k * width;
    _mm256_storeu_ps(d, _mm256_permute2f128_ps(s0, s4, 0x20));
    _mm256_storeu_ps(d + width, _mm256_permute2f128_ps(s1, s5, 0x20));
    _mm256_storeu_ps(d + 2 * width, _mm256_permute2f128_ps(s2, s6, 0x20));
    _mm256_storeu_ps(d + 3 * width, _mm256_permute2f128_ps(s3, s7, 0x20));
    _mm256_storeu_ps(d + 4 * width, _mm256_permute2f128_ps(s0, s4, 0x31));
    _mm256_storeu_ps(d + 5 * width, _mm256_permute2f128_ps(s1, s5, 0x31));
    _mm256_storeu_ps(d + 6 * width, _mm256_permute2f128_ps(s2, s6, 0x31));
    _mm256_storeu_ps(d + 7 * width, _mm256_permute2f128_ps(s3, s7, 0x31));
  }
  for (; k < kn; k++)
    for (int c = 0; c < 8; c++) dst[k * width + c] = src[c][k];
}
#endif

// Rows [r0, r0 + count) of A, columns [k0, k0 + kn), into a panel `width` wide (dst[k·width + r]); the rows
// past `count` are zero. Row by row, so each source row is read contiguously (A is usually a weight matrix of
// up to 2.4 M floats per conv, and reading it a column of rows at a time with a bounds test per element made
// packing cost a fifth of the GEMM). With roundA each row is rounded to binary16 first (the fp16 path's weights).
// `row` is scratch for rounded rows. Full panels of 16 (the AVX2 kernel's B side) go 8 rows at a time through
// transposeRows8; the copied values are the same either way.
void packRowsInterleaved(const float* A, int64_t lda, int64_t r0, int64_t count, int64_t k0, int64_t kn, int64_t width, bool roundA,
                         std::vector<float>& row, float* dst) {
#ifdef ANE_HAVE_AVX2_PATH
  if (width % 8 == 0 && count == width && hostHasAvx2Fma()) {
    if (roundA) row.resize(static_cast<size_t>(8 * kn));
    for (int64_t g = 0; g < width; g += 8) {
      const float* src[8];
      for (int64_t c = 0; c < 8; c++) {
        src[c] = A + (r0 + g + c) * lda + k0;
        if (roundA) {
          roundToHalves(src[c], row.data() + c * kn, static_cast<size_t>(kn));
          src[c] = row.data() + c * kn;
        }
      }
      transposeRows8(src, kn, width, dst + g);
    }
    return;
  }
#endif
  for (int64_t r = 0; r < count; r++) {
    const float* __restrict src = A + (r0 + r) * lda + k0;
    if (roundA) {
      roundToHalves(src, row.data(), static_cast<size_t>(kn));
      src = row.data();
    }
    float* __restrict d = dst + r;
    for (int64_t k = 0; k < kn; k++) d[k * width] = src[k];
  }
  for (int64_t r = count; r < width; r++)
    for (int64_t k = 0; k < kn; k++) dst[k * width + r] = 0.0f;
}

// B given transposed, B(k, j) = Bt[j·ldbt + k]: a linear layer's (out, in) weight or the key matrix of
// attention's Q·Kᵀ. Its panels are packed straight from Bt's rows (8 × 8 AVX transposes for full panels), so
// no transposed copy of the whole operand is written first; with round, Bt is rounded to binary16 as packed.
struct TransposedB {
  const float* Bt;
  int64_t ldbt;
  bool round;
  void pack(int64_t k0, int64_t kn, int64_t j0, int64_t cols, int64_t nr, float* dst) const {
    thread_local std::vector<float> row;
    if (round) row.resize(static_cast<size_t>(8 * kn));
    packRowsInterleaved(Bt, ldbt, j0, cols, k0, kn, nr, round, row, dst);
  }
};

template <int64_t MR, int64_t NR, typename Source>
void gemmBlocked(MicroKernel kernel, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const Source& B, float* C, int64_t ldc,
                 bool roundA, const float* rowBias) {
  if (M == 0 || N == 0) return;
  if (K == 0) {
    for (int64_t i = 0; i < M; i++) {
      std::memset(C + i * ldc, 0, sizeof(float) * N);
      if (rowBias) addBias(C + i * ldc, N, rowBias[i]);
    }
    return;
  }
  thread_local std::vector<float> bp, ap, row;
  if (roundA) row.resize(static_cast<size_t>(std::min(kKC, K)));
  bp.resize(static_cast<size_t>(kKC * ((std::min(kNC, N) + NR - 1) / NR) * NR));
  // A is packed once per K block for all rows, then reused across every N block.
  const int64_t strips = (M + MR - 1) / MR;
  for (int64_t k0 = 0; k0 < K; k0 += kKC) {
    const int64_t kn = std::min(kKC, K - k0);
    ap.resize(static_cast<size_t>(strips * kn * MR));
    for (int64_t s = 0; s < strips; s++) {
      const int64_t i0 = s * MR, rows = std::min(MR, M - i0);
      float* dst = ap.data() + s * kn * MR;
      packRowsInterleaved(A, lda, i0, rows, k0, kn, MR, roundA, row, dst);
    }
    for (int64_t j0 = 0; j0 < N; j0 += kNC) {
      const int64_t jn = std::min(kNC, N - j0);
      const int64_t panels = (jn + NR - 1) / NR;
      for (int64_t p = 0; p < panels; p++) B.pack(k0, kn, j0 + p * NR, std::min(NR, jn - p * NR), NR, bp.data() + p * kn * NR);
      const bool last = k0 + kn == K;
      for (int64_t s = 0; s < strips; s++) {
        const int64_t i0 = s * MR, rows = std::min(MR, M - i0);
        for (int64_t p = 0; p < panels; p++) {
          float* c = C + i0 * ldc + j0 + p * NR;
          const int64_t cols = std::min(NR, jn - p * NR);
          kernel(kn, ap.data() + s * kn * MR, bp.data() + p * kn * NR, c, ldc, rows, cols, k0 > 0);  // the first K block stores
          // The bias joins the finished tile while it is in L1: the same C + b as a pass over C afterwards.
          if (last && rowBias)
            for (int64_t r = 0; r < rows; r++) addBias(c + r * ldc, cols, rowBias[i0 + r]);
        }
      }
    }
  }
}
// The same product computed as Cᵀ = Bᵀ·Aᵀ, for few columns and many rows (a conv on a 7×7 map: N = 49
// output positions, M = up to 2048 channels). In the direct layout 49 columns fill 4 panels of 16 (23% of
// the tiles wasted) and the whole packed K block of A (M × 256 floats, 2 MB) overflows L2; here the 49
// positions are 9 row strips of 6 (54, 10% waste) and each packed weight panel is used by every strip while
// it is in cache. Every element still sums the same products in the same K order (a·b = b·a, also fused),
// so results are bit-identical to gemmBlocked.
template <int64_t MR, int64_t NR, typename Source>
void gemmSwapped(MicroKernel kernel, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const Source& B, float* C, int64_t ldc,
                 bool roundA, const float* rowBias) {
  thread_local std::vector<float> bp, ap, row, ct;
  if (roundA) row.resize(static_cast<size_t>(std::min(kKC, K)));
  ct.resize(static_cast<size_t>(N * M));  // Cᵀ, N × M
  const int64_t strips = (N + MR - 1) / MR;
  for (int64_t k0 = 0; k0 < K; k0 += kKC) {
    const int64_t kn = std::min(kKC, K - k0);
    ap.resize(static_cast<size_t>(strips * kn * MR));
    for (int64_t s = 0; s < strips; s++) B.pack(k0, kn, s * MR, std::min(MR, N - s * MR), MR, ap.data() + s * kn * MR);
    for (int64_t j0 = 0; j0 < M; j0 += kNC) {
      const int64_t jn = std::min(kNC, M - j0);
      const int64_t panels = (jn + NR - 1) / NR;
      bp.resize(static_cast<size_t>(panels * kn * NR));
      for (int64_t p = 0; p < panels; p++) {
        float* dst = bp.data() + p * kn * NR;
        // Panel column j = row j0 + p·NR + j of A.
        packRowsInterleaved(A, lda, j0 + p * NR, std::min(NR, jn - p * NR), k0, kn, NR, roundA, row, dst);
      }
      for (int64_t s = 0; s < strips; s++) {
        const int64_t i0 = s * MR, rows = std::min(MR, N - i0);
        for (int64_t p = 0; p < panels; p++)
          kernel(kn, ap.data() + s * kn * MR, bp.data() + p * kn * NR, ct.data() + i0 * M + j0 + p * NR, M, rows, std::min(NR, jn - p * NR),
                 k0 > 0);
      }
    }
  }
  for (int64_t m = 0; m < M; m++) {
    for (int64_t n = 0; n < N; n++) C[m * ldc + n] = ct[n * M + m];
    if (rowBias) addBias(C + m * ldc, N, rowBias[m]);
  }
}

/** Few columns, many rows: the transposed layout wastes fewer tile columns (see gemmSwapped). */
bool preferSwapped(int64_t M, int64_t N, int64_t K) { return K > 0 && N < 128 && M > N; }

template <int64_t MR, int64_t NR, typename Source>
void gemmAny(MicroKernel kernel, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const Source& B, float* C, int64_t ldc,
             bool roundA, const float* rowBias) {
  if (M > 0 && N > 0 && preferSwapped(M, N, K)) return gemmSwapped<MR, NR>(kernel, M, N, K, A, lda, B, C, ldc, roundA, rowBias);
  gemmBlocked<MR, NR>(kernel, M, N, K, A, lda, B, C, ldc, roundA, rowBias);
}
}  // namespace

// Σ a[k]·b[k] with eight interleaved partial sums combined in a fixed order (deterministic, and
// vectorizable without -ffast-math).
static float dot(const float* __restrict a, const float* __restrict b, int64_t n) {
  v4 s0 = {0, 0, 0, 0}, s1 = s0;
  int64_t k = 0;
  for (; k + 8 <= n; k += 8) {
    s0 += load4(a + k) * load4(b + k);
    s1 += load4(a + k + 4) * load4(b + k + 4);
  }
  const v4 s = s0 + s1;
  float t = (s[0] + s[1]) + (s[2] + s[3]);
  for (; k < n; k++) t += a[k] * b[k];
  return t;
}

void gemm(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc, bool roundA,
          const float* rowBias) {
  // A single output column (1×1 convs on a 1×1 map, e.g. squeeze-excitation): packing would fill 1 of
  // 16 tile columns, so take dot products with the (gathered) column instead.
  if (N == 1 && M > 0 && K > 0) {
    thread_local std::vector<float> col;
    col.resize(static_cast<size_t>(K));
    for (int64_t k = 0; k < K; k++) col[k] = B[k * ldb];
    thread_local std::vector<float> row;
    if (roundA) row.resize(static_cast<size_t>(K));
    for (int64_t i = 0; i < M; i++) {
      const float* a = A + i * lda;
      if (roundA) {
        roundToHalves(a, row.data(), static_cast<size_t>(K));
        a = row.data();
      }
      C[i * ldc] = dot(a, col.data(), K);
      if (rowBias) C[i * ldc] += rowBias[i];
    }
    return;
  }
  const MatrixB src{B, ldb};
#ifdef ANE_HAVE_AVX2_PATH
  if (hostHasAvx2Fma()) return gemmAny<kMR8, kNR8>(micro8, M, N, K, A, lda, src, C, ldc, roundA, rowBias);
#endif
  gemmAny<kMR, kNR>(micro, M, N, K, A, lda, src, C, ldc, roundA, rowBias);
}

void gemm(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const Im2col& B, float* C, int64_t ldc, bool roundA,
          const float* rowBias) {
  if (N == 1 && M > 0 && K > 0) {
    // One output position: take the column as a matrix and let the dot-product path have it.
    thread_local std::vector<float> col;
    col.resize(static_cast<size_t>(K));
    B.pack(0, K, 0, 1, 1, col.data());
    return gemm(M, N, K, A, lda, col.data(), 1, C, ldc, roundA, rowBias);
  }
#ifdef ANE_HAVE_AVX2_PATH
  if (hostHasAvx2Fma()) return gemmAny<kMR8, kNR8>(micro8, M, N, K, A, lda, B, C, ldc, roundA, rowBias);
#endif
  gemmAny<kMR, kNR>(micro, M, N, K, A, lda, B, C, ldc, roundA, rowBias);
}

void gemmTransposedB(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* Bt, int64_t ldbt, bool roundB, float* C,
                     int64_t ldc) {
  if (N == 1 && M > 0 && K > 0) {
    // One column: it is Bt's one row, as stored.
    thread_local std::vector<float> col;
    const float* b = Bt;
    if (roundB) {
      col.resize(static_cast<size_t>(K));
      roundToHalves(Bt, col.data(), static_cast<size_t>(K));
      b = col.data();
    }
    for (int64_t i = 0; i < M; i++) C[i * ldc] = dot(A + i * lda, b, K);
    return;
  }
  const TransposedB src{Bt, ldbt, roundB};
#ifdef ANE_HAVE_AVX2_PATH
  if (hostHasAvx2Fma()) return gemmAny<kMR8, kNR8>(micro8, M, N, K, A, lda, src, C, ldc, false, nullptr);
#endif
  gemmAny<kMR, kNR>(micro, M, N, K, A, lda, src, C, ldc, false, nullptr);
}

void gemmPanels16(int64_t M, int64_t N, int64_t K, const float* Ap, int64_t panelStride, const float* B, int64_t ldb, float* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  const int64_t panels = (M + kPanelRows - 1) / kPanelRows;
#ifdef ANE_HAVE_AVX2_PATH
  if (hostHasAvx2Fma()) {
    // gemmSwapped with its B side already packed: the panels are the 6×16 kernel's 16-wide panels, and
    // the K block k0.. of panel p starts at Ap + p·panelStride + k0·16.
    static_assert(kNR8 == kPanelRows, "the panels are the AVX2 kernel's B panels");
    thread_local std::vector<float> ap, ct;
    ct.resize(static_cast<size_t>(N * M));  // Cᵀ, N × M
    const MatrixB src{B, ldb};
    const int64_t strips = (N + kMR8 - 1) / kMR8;
    for (int64_t k0 = 0; k0 < K; k0 += kKC) {
      const int64_t kn = std::min(kKC, K - k0);
      ap.resize(static_cast<size_t>(strips * kn * kMR8));
      for (int64_t s = 0; s < strips; s++) src.pack(k0, kn, s * kMR8, std::min(kMR8, N - s * kMR8), kMR8, ap.data() + s * kn * kMR8);
      for (int64_t p = 0; p < panels; p++) {
        const float* bp = Ap + p * panelStride + k0 * kPanelRows;
        const int64_t cols = std::min(kPanelRows, M - p * kPanelRows);
        for (int64_t s = 0; s < strips; s++)
          micro8(kn, ap.data() + s * kn * kMR8, bp, ct.data() + s * kMR8 * M + p * kPanelRows, M, std::min(kMR8, N - s * kMR8), cols, k0 > 0);
      }
    }
    for (int64_t m = 0; m < M; m++)
      for (int64_t n = 0; n < N; n++) C[m * ldc + n] = ct[n * M + m];
    return;
  }
#endif
  // Elsewhere: the panels unpacked into a row-major A for the portable GEMM.
  std::vector<float> a(static_cast<size_t>(M * K));
  for (int64_t m = 0; m < M; m++)
    for (int64_t k = 0; k < K; k++) a[m * K + k] = Ap[(m / kPanelRows) * panelStride + k * kPanelRows + m % kPanelRows];
  gemm(M, N, K, a.data(), K, B, ldb, C, ldc);
}

void Im2col::pack(int64_t k0, int64_t kn, int64_t j0, int64_t cols, int64_t nr, float* dst) const {
  // The panel's columns as runs along one output row: (oh, ow, length, offset in the panel).
  // h0, w0: the input row and column of the run's first output before the tap offset (kh·dH, kw·dW).
  struct Run {
    int64_t h0, w0, len, at;
  };
  Run runs[32];
  int nRuns = 0;
  for (int64_t at = 0, j = j0; at < cols; nRuns++) {
    const int64_t oh = j / Wo, ow = j % Wo, len = std::min(cols - at, Wo - ow);
    runs[nRuns] = {oh * sH - pt, ow * sW - pl, len, at};
    at += len;
    j += len;
  }
  // Row k0 as (ci, kh, kw), then stepped without divisions.
  const int64_t taps = kH * kW;
  int64_t ci = k0 / taps, kh = (k0 % taps) / kW, kw = k0 % kW;
  for (int64_t k = 0; k < kn; k++) {
    float* d = dst + k * nr;
    const float* plane = x + ci * H * W;
    for (int r = 0; r < nRuns; r++) {
      const Run& run = runs[r];
      float* o = d + run.at;
      const int64_t ih = run.h0 + kh * dH;
      if (ih < 0 || ih >= H) {
        for (int64_t t = 0; t < run.len; t++) o[t] = 0.0f;
        continue;
      }
      const float* row = plane + ih * W;
      const int64_t iw0 = run.w0 + kw * dW;  // input column of the run's first output
      // Positions t with 0 <= iw0 + t·sW < W (without divisions for stride 1, the common case).
      int64_t lo, hi;
      if (sW == 1) {
        lo = std::min(run.len, std::max<int64_t>(0, -iw0));
        hi = std::max(lo, std::min(run.len, W - iw0));
      } else {
        lo = std::min(run.len, iw0 >= 0 ? 0 : (-iw0 + sW - 1) / sW);
        hi = std::max(lo, std::min(run.len, W - 1 - iw0 < 0 ? 0 : (W - 1 - iw0) / sW + 1));
      }
      // Runs are at most 16 long: plain loops, which GCC inlines and vectorizes, beat memcpy/fill calls.
      for (int64_t t = 0; t < lo; t++) o[t] = 0.0f;
      if (sW == 1 && lo == 0 && hi == 16) {
        std::memcpy(o, row + iw0, 16 * sizeof(float));  // a whole panel row inside the image: four vector moves
      } else if (sW == 1) {
        const float* __restrict in = row + iw0;
        for (int64_t t = lo; t < hi; t++) o[t] = in[t];
      } else if (sW == 2 && hi > lo) {
        // Pairs loaded and the even elements kept; the last pair may reach one past the row, so it is only
        // loaded when that element exists in this row.
        const int64_t m = hi - lo, vec = iw0 + 2 * hi - 1 <= W - 1 ? m : m - 1;
        gatherEven(row + iw0 + 2 * lo, o + lo, vec);
        for (int64_t t = lo + vec; t < hi; t++) o[t] = row[iw0 + 2 * t];
      } else {
        for (int64_t t = lo; t < hi; t++) o[t] = row[iw0 + t * sW];
      }
      for (int64_t t = hi; t < run.len; t++) o[t] = 0.0f;
    }
    for (int64_t j = cols; j < nr; j++) d[j] = 0.0f;
    if (++kw == kW) {
      kw = 0;
      if (++kh == kH) {
        kh = 0;
        ci++;
      }
    }
  }
}

const float* weightValues(const Tensor& w, std::vector<float>& scratch) {
  if (!w.roundOnRead) return w.data.data();
  scratch.resize(w.data.size());
  roundToHalves(w.data.data(), scratch.data(), scratch.size());
  return scratch.data();
}

std::vector<Shape> linearShape(const OpNode& op, const Shapes& in) {
  const Shape& x = needShape(op, in, 0, "x");
  const Shape& w = needShape(op, in, 1, "weight");
  if (x.empty()) opError(op, "x must have at least one axis");
  if (w.size() != 2) opError(op, "weight must be 2-D (out, in), got " + formatShape(w));
  if (w[1] != x.back()) opError(op, "weight " + formatShape(w) + " does not match the last axis of x " + formatShape(x));
  if (const Shape* b = optShape(in, 2); b && numel(*b) != w[0])
    opError(op, "bias " + formatShape(*b) + " does not have " + std::to_string(w[0]) + " elements");
  Shape out = x;
  out.back() = w[0];
  return {out};
}

void linearKernel(const OpNode& op, const Inputs& in, Outputs& out) {
  const Tensor& x = needInput(op, in, 0, "x");
  const Tensor& w = needInput(op, in, 1, "weight");
  const Tensor* b = optInput(in, 2);
  const int64_t N = w.shape[0], K = w.shape[1], M = K ? numel(x.shape) / K : 0;
  float* o = out[0].data.data();
  // A few rows (a classifier head on one image): dot products against the weight rows as stored beat
  // transposing the whole weight for a GEMM that would fill 1 of 6 tile rows.
  if (M < 6 && K > 0) {
    thread_local std::vector<float> row;  // one weight row rounded to binary16 (roundOnRead)
    if (w.roundOnRead) row.resize(static_cast<size_t>(K));
    for (int64_t n = 0; n < N; n++) {
      const float* wr = w.data.data() + n * K;
      if (w.roundOnRead) {
        roundToHalves(wr, row.data(), static_cast<size_t>(K));
        wr = row.data();
      }
      for (int64_t m = 0; m < M; m++) o[m * N + n] = dot(x.data.data() + m * K, wr, K) + (b ? b->data[n] : 0.0f);
    }
    return;
  }
  if (K == 0) std::fill(o, o + M * N, 0.0f);
  else gemmTransposedB(M, N, K, x.data.data(), K, w.data.data(), K, w.roundOnRead, o, N);
  if (b)
    for (int64_t m = 0; m < M; m++)
      for (int64_t n = 0; n < N; n++) o[m * N + n] += b->data[n];
}

namespace {
struct MatmulDims {
  Shape batch;
  int64_t M, N, K;
  bool xVec, yVec;
};

MatmulDims matmulDims(const OpNode& op, const Shape& x, const Shape& y) {
  if (x.empty() || y.empty()) opError(op, "matmul needs inputs of rank >= 1");
  const bool tx = op.attrBool("transpose_x", false), ty = op.attrBool("transpose_y", false);
  MatmulDims d{};
  d.xVec = x.size() == 1;
  d.yVec = y.size() == 1;
  // numpy: a 1-D x is a row vector, a 1-D y a column vector; the added axis is dropped afterwards.
  Shape xs = d.xVec ? Shape{1, x[0]} : x;
  Shape ys = d.yVec ? Shape{y[0], 1} : y;
  if (d.xVec && tx) std::swap(xs[0], xs[1]);
  if (d.yVec && ty) std::swap(ys[0], ys[1]);
  const int64_t xm = xs[xs.size() - 2], xk = xs.back();
  const int64_t yk = ys[ys.size() - 2], yn = ys.back();
  d.M = tx ? xk : xm;
  const int64_t K1 = tx ? xm : xk;
  const int64_t K2 = ty ? yn : yk;
  d.N = ty ? yk : yn;
  if (K1 != K2) opError(op, "inner dimensions differ: x " + formatShape(x) + " and y " + formatShape(y) + (tx || ty ? " (after transposes)" : ""));
  d.K = K1;
  Shape bx(xs.begin(), xs.end() - 2), by(ys.begin(), ys.end() - 2);
  d.batch = broadcastShapes(op, bx, by);
  return d;
}
}  // namespace

std::vector<Shape> matmulShape(const OpNode& op, const Shapes& in) {
  const Shape& x = needShape(op, in, 0, "x");
  const Shape& y = needShape(op, in, 1, "y");
  MatmulDims d = matmulDims(op, x, y);
  Shape out = d.batch;
  if (!d.xVec) out.push_back(d.M);
  if (!d.yVec) out.push_back(d.N);
  return {out};
}

void matmulKernel(const OpNode& op, const Inputs& in, Outputs& out) {
  const Tensor& x = needInput(op, in, 0, "x");
  const Tensor& y = needInput(op, in, 1, "y");
  const bool tx = op.attrBool("transpose_x", false), ty = op.attrBool("transpose_y", false);
  MatmulDims d = matmulDims(op, x.shape, y.shape);
  const int64_t M = d.M, N = d.N, K = d.K;
  // Batch strides of each operand inside the broadcast batch (0 where broadcast).
  const size_t br = d.batch.size();
  auto batchStrides = [&](const Shape& s, bool vec) {
    std::vector<int64_t> st(br, 0);
    if (vec) return st;
    const size_t sb = s.size() - 2;
    const int64_t mat = s[s.size() - 1] * s[s.size() - 2];
    int64_t acc = mat;
    for (int i = static_cast<int>(sb) - 1; i >= 0; i--) {
      st[br - sb + i] = s[i] == 1 ? 0 : acc;
      acc *= s[i];
    }
    return st;
  };
  std::vector<int64_t> sx = batchStrides(x.shape, d.xVec), sy = batchStrides(y.shape, d.yVec);
  const int64_t batches = numel(d.batch);
  float* o = out[0].data.data();
  // A y shared by every batch (a weight) times a dense, untransposed x is one product of all of x's rows:
  // (batch·M) × K by K × N. Batch by batch, the weight was packed again for each batch: PyTorch's attention
  // exports its input projection as (S, 1, E) @ (E, 3E), S products of one row each.
  const bool yShared = std::all_of(sy.begin(), sy.end(), [](int64_t v) { return v == 0; });
  if (batches > 1 && yShared && !tx && !d.xVec && numel(x.shape) == batches * M * K) {
    if (K == 0) std::fill(o, o + batches * M * N, 0.0f);
    else if (ty && !d.yVec) gemmTransposedB(batches * M, N, K, x.data.data(), K, y.data.data(), K, false, o, N);
    else gemm(batches * M, N, K, x.data.data(), K, y.data.data(), N, o, N);
    return;
  }
  // Operands are read in place; only a transposed x is copied (a transposed y is packed from its rows).
  std::vector<float> a(tx && !d.xVec ? static_cast<size_t>(M * K) : 0);
  std::vector<int64_t> idx(br, 0);
  for (int64_t bi = 0; bi < batches; bi++) {
    int64_t ox = 0, oy = 0;
    for (size_t k = 0; k < br; k++) { ox += idx[k] * sx[k]; oy += idx[k] * sy[k]; }
    const float* xp = x.data.data() + ox;
    const float* yp = y.data.data() + oy;
    // x stored as (M,K) or, transposed, as (K,M); a 1-D operand's storage is the same either way.
    if (!a.empty()) {
      for (int64_t m = 0; m < M; m++) for (int64_t k = 0; k < K; k++) a[m * K + k] = xp[k * M + m];
      xp = a.data();
    }
    float* op_ = o + bi * M * N;
    if (K == 0) std::fill(op_, op_ + M * N, 0.0f);
    else if (ty && !d.yVec) gemmTransposedB(M, N, K, xp, K, yp, K, false, op_, N);
    else gemm(M, N, K, xp, K, yp, N, op_, N);
    for (int k = static_cast<int>(br) - 1; k >= 0; k--) {
      if (++idx[k] < d.batch[k]) break;
      idx[k] = 0;
    }
  }
}

}  // namespace ane
