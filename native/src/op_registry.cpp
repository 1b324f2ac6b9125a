#include "op_registry.hpp"

#include <unordered_map>

#include "kernels.hpp"

namespace ane {

const Shape& needShape(const OpNode& op, const Shapes& in, size_t i, const char* role) {
  if (i >= in.size() || !in[i]) opError(op, std::string("needs input ") + std::to_string(i) + " (" + role + ")");
  return *in[i];
}

const Tensor& needInput(const OpNode& op, const Inputs& in, size_t i, const char* role) {
  if (i >= in.size() || !in[i]) opError(op, std::string("needs input ") + std::to_string(i) + " (" + role + ")");
  return *in[i];
}

void opError(const OpNode& op, const std::string& what) { throw GraphError("op " + op.label() + ": " + what); }

void requireAttr(const OpNode& op, const char* key) {
  if (!op.has(key)) throw Unsupported("no fp16 kernel for " + op.op + " without a static '" + key + "' attribute yet");
}

int normAxis(const OpNode& op, int64_t axis, size_t rank, const char* attr) {
  int64_t r = static_cast<int64_t>(rank);
  if (axis < -r || axis >= r)
    opError(op, std::string("attribute '") + attr + "' = " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
  return static_cast<int>(axis < 0 ? axis + r : axis);
}

Shape broadcastShapes(const OpNode& op, const Shape& a, const Shape& b) {
  size_t r = std::max(a.size(), b.size());
  Shape out(r);
  for (size_t i = 0; i < r; i++) {
    int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
    int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
    if (da != db && da != 1 && db != 1) opError(op, "shapes " + formatShape(a) + " and " + formatShape(b) + " do not broadcast");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

const OpInfo* findOp(const std::string& op) {
  constexpr bool kFills = true;   // the kernel writes every output element (see OpInfo::fills)
  constexpr bool kRounds = true;  // the kernel rounds an unrounded weight itself (see OpInfo::roundsWeight)
  static const std::unordered_map<std::string, OpInfo> table = {
      {"add", {binaryShape, binaryKernel, kFills}}, {"sub", {binaryShape, binaryKernel, kFills}}, {"mul", {binaryShape, binaryKernel, kFills}},
      {"real_div", {binaryShape, binaryKernel, kFills}}, {"maximum", {binaryShape, binaryKernel, kFills}}, {"minimum", {binaryShape, binaryKernel, kFills}},
      {"pow", {binaryShape, binaryKernel, kFills}}, {"prelu", {binaryShape, binaryKernel, kFills}}, {"mod", {binaryShape, binaryKernel, kFills}},
      {"floor_div", {binaryShape, binaryKernel, kFills}}, {"equal", {binaryShape, binaryKernel, kFills}}, {"not_equal", {binaryShape, binaryKernel, kFills}},
      {"greater", {binaryShape, binaryKernel, kFills}}, {"greater_equal", {binaryShape, binaryKernel, kFills}}, {"less", {binaryShape, binaryKernel, kFills}},
      {"less_equal", {binaryShape, binaryKernel, kFills}}, {"logical_and", {binaryShape, binaryKernel, kFills}}, {"logical_or", {binaryShape, binaryKernel, kFills}},
      {"logical_xor", {binaryShape, binaryKernel, kFills}},
      {"relu", {unaryShape, unaryKernel, kFills}}, {"sigmoid", {unaryShape, unaryKernel, kFills}}, {"tanh", {unaryShape, unaryKernel, kFills}},
      {"clip", {unaryShape, unaryKernel, kFills}}, {"gelu", {unaryShape, unaryKernel, kFills}}, {"silu", {unaryShape, unaryKernel, kFills}},
      {"exp", {unaryShape, unaryKernel, kFills}}, {"sqrt", {unaryShape, unaryKernel, kFills}}, {"rsqrt", {unaryShape, unaryKernel, kFills}},
      {"abs", {unaryShape, unaryKernel, kFills}}, {"log", {unaryShape, unaryKernel, kFills}}, {"erf", {unaryShape, unaryKernel, kFills}},
      {"leaky_relu", {unaryShape, unaryKernel, kFills}}, {"sigmoid_hard", {unaryShape, unaryKernel, kFills}}, {"softplus", {unaryShape, unaryKernel, kFills}},
      {"square", {unaryShape, unaryKernel, kFills}}, {"identity", {unaryShape, unaryKernel, kFills}}, {"const", {unaryShape, unaryKernel, kFills}}, {"softsign", {unaryShape, unaryKernel, kFills}},
      {"mish", {unaryShape, unaryKernel, kFills}}, {"floor", {unaryShape, unaryKernel, kFills}}, {"ceil", {unaryShape, unaryKernel, kFills}},
      {"round", {unaryShape, unaryKernel, kFills}}, {"sign", {unaryShape, unaryKernel, kFills}}, {"sin", {unaryShape, unaryKernel, kFills}},
      {"cos", {unaryShape, unaryKernel, kFills}}, {"tan", {unaryShape, unaryKernel, kFills}}, {"asin", {unaryShape, unaryKernel, kFills}},
      {"acos", {unaryShape, unaryKernel, kFills}}, {"atan", {unaryShape, unaryKernel, kFills}}, {"sinh", {unaryShape, unaryKernel, kFills}},
      {"cosh", {unaryShape, unaryKernel, kFills}}, {"asinh", {unaryShape, unaryKernel, kFills}}, {"acosh", {unaryShape, unaryKernel, kFills}},
      {"atanh", {unaryShape, unaryKernel, kFills}}, {"logical_not", {unaryShape, unaryKernel, kFills}}, {"inverse", {unaryShape, unaryKernel, kFills}},
      {"elu", {unaryShape, unaryKernel, kFills}}, {"thresholded_relu", {unaryShape, unaryKernel, kFills}}, {"cast", {unaryShape, unaryKernel, kFills}},
      {"linear_activation", {unaryShape, unaryKernel, kFills}}, {"threshold", {unaryShape, unaryKernel, kFills}},
      {"softmax", {softmaxShape, softmaxKernel, kFills}},
      {"linear", {linearShape, linearKernel, kFills, kRounds}}, {"matmul", {matmulShape, matmulKernel, kFills}},
      {"einsum", {einsumShape, einsumKernel, kFills}},
      {"conv", {convShape, convKernel, kFills, kRounds}}, {"conv_transpose", {convTransposeShape, convTransposeKernel, kFills}},
      {"reduce_mean", {reduceShape, reduceKernel, kFills}}, {"reduce_sum", {reduceShape, reduceKernel, kFills}}, {"reduce_max", {reduceShape, reduceKernel, kFills}},
      {"reduce_min", {reduceShape, reduceKernel, kFills}}, {"reduce_prod", {reduceShape, reduceKernel, kFills}},
      {"reduce_l1_norm", {reduceShape, reduceKernel, kFills}}, {"reduce_l2_norm", {reduceShape, reduceKernel, kFills}},
      {"reduce_sum_square", {reduceShape, reduceKernel, kFills}}, {"reduce_log_sum", {reduceShape, reduceKernel, kFills}},
      {"reduce_log_sum_exp", {reduceShape, reduceKernel, kFills}},
      {"reduce_argmax", {argReduceShape, argReduceKernel, kFills}}, {"reduce_argmin", {argReduceShape, argReduceKernel, kFills}},
      {"avg_pool", {poolShape, poolKernel, kFills}}, {"max_pool", {poolShape, poolKernel, kFills}},
      {"upsample_nearest_neighbor", {upsampleShape, upsampleKernel, kFills}}, {"resize_bilinear", {resizeBilinearShape, resizeBilinearKernel, kFills}},
      {"upsample_bilinear", {resizeBilinearShape, resizeBilinearKernel, kFills}},
      {"tile", {tileShape, tileKernel, kFills}}, {"gather", {gatherShape, gatherKernel, kFills}}, {"select", {selectShape, selectKernel}},
      {"shape", {shapeOfShape, shapeOfKernel}},
      {"reshape", {reshapeShape, copyKernel, kFills}}, {"expand_dims", {expandDimsShape, copyKernel, kFills}}, {"squeeze", {squeezeShape, copyKernel, kFills}},
      {"transpose", {transposeShape, transposeKernel, kFills}}, {"concat", {concatShape, concatKernel, kFills}}, {"split", {splitShape, splitKernel, kFills}},
      {"slice_by_index", {sliceShape, sliceKernel, kFills}}, {"pad", {padShape, padKernel, kFills}},
      {"space_to_batch", {spaceToBatchShape, spaceToBatchKernel, kFills}},
      {"constexpr_affine_dequantize", {affineDequantizeShape, affineDequantizeKernel, kFills}},
      {"constexpr_lut_to_dense", {lutToDenseShape, lutToDenseKernel, kFills}},
      {"depth_to_space", {depthSpaceShape, depthSpaceKernel, kFills}}, {"pixel_shuffle", {depthSpaceShape, depthSpaceKernel, kFills}},
      {"space_to_depth", {depthSpaceShape, depthSpaceKernel, kFills}}, {"batch_to_space", {batchToSpaceShape, batchToSpaceKernel, kFills}},
      {"batch_norm", {batchNormShape, batchNormKernel}}, {"layer_norm", {layerNormShape, layerNormKernel}},
      {"instance_norm", {instanceNormShape, instanceNormKernel, kFills}},
  };
  auto it = table.find(op);
  return it == table.end() ? nullptr : &it->second;
}

}  // namespace ane
