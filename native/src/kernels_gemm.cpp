// A cache-blocked single-thread GEMM and the ops built on it (linear, matmul; conv uses it too).
#include <algorithm>
#include <cstring>

#include "kernels.hpp"

namespace ane {

namespace {
// A 4-row strip of C (4×kNB floats = 4 KiB) stays in L1 while a kNB-wide panel of B streams through:
// each B element loaded feeds four multiply-adds.
constexpr int64_t kNB = 256;
constexpr int64_t kKB = 128;

inline void strip4(int64_t kn, int64_t jn, const float* A, int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc) {
  float* __restrict c0 = C;
  float* __restrict c1 = C + ldc;
  float* __restrict c2 = C + 2 * ldc;
  float* __restrict c3 = C + 3 * ldc;
  for (int64_t k = 0; k < kn; k++) {
    const float a0 = A[k], a1 = A[lda + k], a2 = A[2 * lda + k], a3 = A[3 * lda + k];
    const float* __restrict b = B + k * ldb;
    for (int64_t j = 0; j < jn; j++) {
      const float bj = b[j];
      c0[j] += a0 * bj;
      c1[j] += a1 * bj;
      c2[j] += a2 * bj;
      c3[j] += a3 * bj;
    }
  }
}

inline void strip1(int64_t kn, int64_t jn, const float* A, const float* B, int64_t ldb, float* C) {
  float* __restrict c0 = C;
  for (int64_t k = 0; k < kn; k++) {
    const float a0 = A[k];
    const float* __restrict b = B + k * ldb;
    for (int64_t j = 0; j < jn; j++) c0[j] += a0 * b[j];
  }
}
}  // namespace

void gemm(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc) {
  for (int64_t i = 0; i < M; i++) std::memset(C + i * ldc, 0, sizeof(float) * N);
  for (int64_t j0 = 0; j0 < N; j0 += kNB) {
    const int64_t jn = std::min(kNB, N - j0);
    for (int64_t k0 = 0; k0 < K; k0 += kKB) {
      const int64_t kn = std::min(kKB, K - k0);
      int64_t i = 0;
      for (; i + 4 <= M; i += 4) strip4(kn, jn, A + i * lda + k0, lda, B + k0 * ldb + j0, ldb, C + i * ldc + j0, ldc);
      for (; i < M; i++) strip1(kn, jn, A + i * lda + k0, B + k0 * ldb + j0, ldb, C + i * ldc + j0);
    }
  }
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
  std::vector<float> wt(static_cast<size_t>(K * N));
  for (int64_t n = 0; n < N; n++)
    for (int64_t k = 0; k < K; k++) wt[k * N + n] = w.data[n * K + k];
  float* o = out[0].data.data();
  if (K == 0) std::fill(o, o + M * N, 0.0f);
  else gemm(M, N, K, x.data.data(), K, wt.data(), N, o, N);
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
  std::vector<float> a(static_cast<size_t>(M * K)), b(static_cast<size_t>(K * N));
  std::vector<int64_t> idx(br, 0);
  float* o = out[0].data.data();
  for (int64_t bi = 0; bi < batches; bi++) {
    int64_t ox = 0, oy = 0;
    for (size_t k = 0; k < br; k++) { ox += idx[k] * sx[k]; oy += idx[k] * sy[k]; }
    const float* xp = x.data.data() + ox;
    const float* yp = y.data.data() + oy;
    // x stored as (M,K) or, transposed, as (K,M); a 1-D operand's storage is the same either way.
    if (tx && !d.xVec) { for (int64_t m = 0; m < M; m++) for (int64_t k = 0; k < K; k++) a[m * K + k] = xp[k * M + m]; }
    else std::copy(xp, xp + M * K, a.begin());
    if (ty && !d.yVec) { for (int64_t k = 0; k < K; k++) for (int64_t n = 0; n < N; n++) b[k * N + n] = yp[n * K + k]; }
    else std::copy(yp, yp + K * N, b.begin());
    float* op_ = o + bi * M * N;
    if (K == 0) std::fill(op_, op_ + M * N, 0.0f);
    else gemm(M, N, K, a.data(), K, b.data(), N, op_, N);
    for (int k = static_cast<int>(br) - 1; k >= 0; k--) {
      if (++idx[k] < d.batch[k]) break;
      idx[k] = 0;
    }
  }
}

}  // namespace ane
