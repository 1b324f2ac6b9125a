// Shape functions and kernels, grouped by family in kernels_*.cpp and wired up in op_registry.cpp.
#pragma once
#include <string>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "errors.hpp"
#include "graph.hpp"
#include "tensor.hpp"

namespace ane {

using Shapes = std::vector<const Shape*>;
using Inputs = std::vector<const Tensor*>;
using Outputs = std::vector<Tensor>;

// --- helpers shared by the families ---
/** The i-th input shape; throws naming the op when it is absent. */
const Shape& needShape(const OpNode& op, const Shapes& in, size_t i, const char* role);
const Tensor& needInput(const OpNode& op, const Inputs& in, size_t i, const char* role);
inline const Tensor* optInput(const Inputs& in, size_t i) { return i < in.size() ? in[i] : nullptr; }
inline const Shape* optShape(const Shapes& in, size_t i) { return i < in.size() ? in[i] : nullptr; }
[[noreturn]] void opError(const OpNode& op, const std::string& what);
/** A reader that could not resolve an attribute statically leaves it out: the op is then not executed
 *  (Unsupported) rather than the whole run refused. */
void requireAttr(const OpNode& op, const char* key);
Shape broadcastShapes(const OpNode& op, const Shape& a, const Shape& b);

/** dst[t] = src[2t] for t < n (stride-2 convs gather every other input column). src[2n − 1] must be
 *  readable: the vector loop loads pairs and keeps the even elements. */
inline void gatherEven(const float* src, float* dst, int64_t n) {
  int64_t t = 0;
#if defined(__SSE2__)
  for (; t + 4 <= n; t += 4)
    _mm_storeu_ps(dst + t, _mm_shuffle_ps(_mm_loadu_ps(src + 2 * t), _mm_loadu_ps(src + 2 * t + 4), _MM_SHUFFLE(2, 0, 2, 0)));
#endif
  for (; t < n; t++) dst[t] = src[2 * t];
}

/** C[M×N] = A[M×K]·B[K×N], row-major with leading dimensions; C is overwritten. With roundA, A's values are
 *  rounded to binary16 as they are read (A is an unrounded weight on the fp16 path: Tensor::roundOnRead).
 *  With rowBias, rowBias[i] is added to row i of the finished product (a conv's bias per output channel). */
void gemm(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc,
          bool roundA = false, const float* rowBias = nullptr);
/** C[M×N] = A[M×K]·Btᵀ with Bt row-major N×K (leading dimension ldbt): a linear layer's (out, in) weight or
 *  attention's keys, packed straight from their rows instead of transposed into a copy first. With roundB,
 *  Bt's values are rounded to binary16 as they are read (Tensor::roundOnRead). C is overwritten. */
void gemmTransposedB(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* Bt, int64_t ldbt, bool roundB, float* C,
                     int64_t ldc);
/** A conv's im2col matrix, read straight from the input as the GEMM packs it instead of being built first:
 *  row k = (ci, kh, kw) of the (Cin/groups·kH·kW) × (Ho·Wo) matrix, column j = output position (oh, ow),
 *  value x[ci][oh·sH − pt + kh·dH][ow·sW − pl + kw·dW], 0 over padding. */
struct Im2col {
  const float* x;  // the group's first input plane
  int64_t H, W, kH, kW, sH, sW, dH, dW, pt, pl, Wo;
  /** dst[k·nr + j] = entry (k0 + k, j0 + j) for k < kn, j < cols; 0 for cols <= j < nr. */
  void pack(int64_t k0, int64_t kn, int64_t j0, int64_t cols, int64_t nr, float* dst) const;
};
/** gemm with B the im2col matrix of a conv (see Im2col). */
void gemm(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const Im2col& B, float* C, int64_t ldc, bool roundA,
          const float* rowBias);
/** Rows per panel of gemmPanels16's packed A. */
constexpr int64_t kPanelRows = 16;
/** C[M×N] = A·B (C overwritten) with A given packed: panel p = rows 16p..16p+15, laid out
 *  Ap[p·panelStride + k·16 + r] = A[16p + r][k] (panelStride >= K·16), rows past M zero. For operands
 *  produced in this layout (Winograd's transformed weights): no packing pass over A. */
void gemmPanels16(int64_t M, int64_t N, int64_t K, const float* Ap, int64_t panelStride, const float* B, int64_t ldb, float* C, int64_t ldc);
/** Whether winogradConv3x3 pays for a 3×3, stride-1, undilated, single-group conv of these sizes. */
bool winogradApplies(int64_t C, int64_t Cout, int64_t Ho, int64_t Wo);
/** A 3×3, stride-1, undilated, single-group conv (NCHW; weights (Cout, C, 3, 3), rounded to binary16 first
 *  with roundW) by Winograd F(4×4, 3×3) (kernels_winograd.cpp). Pads pt/pl on top/left; the bottom/right
 *  padding follows from Ho, Wo. Overwrites o (N, Cout, Ho, Wo), bias per output channel or null. Returns
 *  false, leaving o unspecified, when an input or (rounded) weight is inf or NaN: the caller then runs the
 *  direct conv, whose inf/NaN pattern Winograd's transforms would smear over whole tiles. */
bool winogradConv3x3(int64_t N, int64_t C, int64_t H, int64_t W, int64_t Cout, int64_t pt, int64_t pl, int64_t Ho, int64_t Wo,
                     const float* x, const float* w, const float* bias, float* o, bool roundW);
/** out[i] = x[base + Σ idx[k]·step[k]] over the multi-indices idx of `counts`, row-major (transpose, slice,
 *  einsum's operand layouts); whole rows are block copies when the last step is 1 (kernels_layout.cpp). */
void stridedCopy(const float* x, int64_t base, const std::vector<int64_t>& counts, const std::vector<int64_t>& step, float* out);
/** An einsum equation checked against its operands' shapes (kernels_einsum.cpp): one or two operands, letters
 *  only, each at most once per operand; an implicit output is the letters used once, in alphabetical order. */
struct EinsumSpec {
  std::vector<std::string> operands;  // each operand's letters, one per axis
  std::string output;
  int64_t size[128] = {};             // extent per letter
  /** Multiply-adds: the product of every letter's extent (each output element sums over the rest). */
  double macs() const;
};
EinsumSpec einsumSpec(const OpNode& op, const Shapes& in);
/** The weight's values as the kernel must use them: `w` itself, or, with roundOnRead, a rounded copy in `scratch`. */
const float* weightValues(const Tensor& w, std::vector<float>& scratch);

// --- elementwise (kernels_elementwise.cpp) ---
std::vector<Shape> binaryShape(const OpNode&, const Shapes&);
void binaryKernel(const OpNode&, const Inputs&, Outputs&);
std::vector<Shape> unaryShape(const OpNode&, const Shapes&);
void unaryKernel(const OpNode&, const Inputs&, Outputs&);
std::vector<Shape> softmaxShape(const OpNode&, const Shapes&);
void softmaxKernel(const OpNode&, const Inputs&, Outputs&);

// --- gemm family (kernels_gemm.cpp) ---
std::vector<Shape> linearShape(const OpNode&, const Shapes&);
void linearKernel(const OpNode&, const Inputs&, Outputs&);
std::vector<Shape> matmulShape(const OpNode&, const Shapes&);
void matmulKernel(const OpNode&, const Inputs&, Outputs&);

// --- einsum (kernels_einsum.cpp) ---
std::vector<Shape> einsumShape(const OpNode&, const Shapes&);
void einsumKernel(const OpNode&, const Inputs&, Outputs&);

// --- conv (kernels_conv.cpp) ---
std::vector<Shape> convShape(const OpNode&, const Shapes&);
void convKernel(const OpNode&, const Inputs&, Outputs&);
std::vector<Shape> convTransposeShape(const OpNode&, const Shapes&);
void convTransposeKernel(const OpNode&, const Inputs&, Outputs&);

// --- reductions (kernels_reduce.cpp) ---
std::vector<Shape> reduceShape(const OpNode&, const Shapes&);
void reduceKernel(const OpNode&, const Inputs&, Outputs&);

// --- pooling (kernels_pool.cpp) ---
std::vector<Shape> poolShape(const OpNode&, const Shapes&);
void poolKernel(const OpNode&, const Inputs&, Outputs&);
std::vector<Shape> upsampleShape(const OpNode&, const Shapes&);
void upsampleKernel(const OpNode&, const Inputs&, Outputs&);
std::vector<Shape> resizeBilinearShape(const OpNode&, const Shapes&);
void resizeBilinearKernel(const OpNode&, const Inputs&, Outputs&);

// --- layout (kernels_layout.cpp) ---
std::vector<Shape> reshapeShape(const OpNode&, const Shapes&);
std::vector<Shape> expandDimsShape(const OpNode&, const Shapes&);
std::vector<Shape> squeezeShape(const OpNode&, const Shapes&);
void copyKernel(const OpNode&, const Inputs&, Outputs&);
std::vector<Shape> transposeShape(const OpNode&, const Shapes&);
void transposeKernel(const OpNode&, const Inputs&, Outputs&);
std::vector<Shape> concatShape(const OpNode&, const Shapes&);
void concatKernel(const OpNode&, const Inputs&, Outputs&);
std::vector<Shape> splitShape(const OpNode&, const Shapes&);
void splitKernel(const OpNode&, const Inputs&, Outputs&);
std::vector<Shape> sliceShape(const OpNode&, const Shapes&);
void sliceKernel(const OpNode&, const Inputs&, Outputs&);
std::vector<Shape> padShape(const OpNode&, const Shapes&);
void padKernel(const OpNode&, const Inputs&, Outputs&);
std::vector<Shape> argReduceShape(const OpNode&, const Shapes&);
void argReduceKernel(const OpNode&, const Inputs&, Outputs&);
std::vector<Shape> depthSpaceShape(const OpNode&, const Shapes&);
void depthSpaceKernel(const OpNode&, const Inputs&, Outputs&);
std::vector<Shape> affineDequantizeShape(const OpNode&, const Shapes&);
void affineDequantizeKernel(const OpNode&, const Inputs&, Outputs&);
std::vector<Shape> lutToDenseShape(const OpNode&, const Shapes&);
void lutToDenseKernel(const OpNode&, const Inputs&, Outputs&);
std::vector<Shape> spaceToBatchShape(const OpNode&, const Shapes&);
void spaceToBatchKernel(const OpNode&, const Inputs&, Outputs&);
std::vector<Shape> batchToSpaceShape(const OpNode&, const Shapes&);
void batchToSpaceKernel(const OpNode&, const Inputs&, Outputs&);
std::vector<Shape> tileShape(const OpNode&, const Shapes&);
void tileKernel(const OpNode&, const Inputs&, Outputs&);

// --- index-driven (kernels_index.cpp) ---
std::vector<Shape> gatherShape(const OpNode&, const Shapes&);
void gatherKernel(const OpNode&, const Inputs&, Outputs&);
std::vector<Shape> selectShape(const OpNode&, const Shapes&);
void selectKernel(const OpNode&, const Inputs&, Outputs&);
std::vector<Shape> shapeOfShape(const OpNode&, const Shapes&);
void shapeOfKernel(const OpNode&, const Inputs&, Outputs&);

// --- normalization (kernels_norm.cpp) ---
std::vector<Shape> batchNormShape(const OpNode&, const Shapes&);
void batchNormKernel(const OpNode&, const Inputs&, Outputs&);
std::vector<Shape> instanceNormShape(const OpNode&, const Shapes&);
void instanceNormKernel(const OpNode&, const Inputs&, Outputs&);
std::vector<Shape> layerNormShape(const OpNode&, const Shapes&);
void layerNormKernel(const OpNode&, const Inputs&, Outputs&);

}  // namespace ane
