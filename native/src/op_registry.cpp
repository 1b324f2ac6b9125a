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
  static const std::unordered_map<std::string, OpInfo> table = {
      {"add", {binaryShape, binaryKernel}}, {"sub", {binaryShape, binaryKernel}}, {"mul", {binaryShape, binaryKernel}},
      {"real_div", {binaryShape, binaryKernel}}, {"maximum", {binaryShape, binaryKernel}}, {"minimum", {binaryShape, binaryKernel}},
      {"pow", {binaryShape, binaryKernel}}, {"prelu", {binaryShape, binaryKernel}}, {"mod", {binaryShape, binaryKernel}},
      {"floor_div", {binaryShape, binaryKernel}}, {"equal", {binaryShape, binaryKernel}}, {"not_equal", {binaryShape, binaryKernel}},
      {"greater", {binaryShape, binaryKernel}}, {"greater_equal", {binaryShape, binaryKernel}}, {"less", {binaryShape, binaryKernel}},
      {"less_equal", {binaryShape, binaryKernel}}, {"logical_and", {binaryShape, binaryKernel}}, {"logical_or", {binaryShape, binaryKernel}},
      {"logical_xor", {binaryShape, binaryKernel}},
      {"relu", {unaryShape, unaryKernel}}, {"sigmoid", {unaryShape, unaryKernel}}, {"tanh", {unaryShape, unaryKernel}},
      {"clip", {unaryShape, unaryKernel}}, {"gelu", {unaryShape, unaryKernel}}, {"silu", {unaryShape, unaryKernel}},
      {"exp", {unaryShape, unaryKernel}}, {"sqrt", {unaryShape, unaryKernel}}, {"rsqrt", {unaryShape, unaryKernel}},
      {"abs", {unaryShape, unaryKernel}}, {"log", {unaryShape, unaryKernel}}, {"erf", {unaryShape, unaryKernel}},
      {"leaky_relu", {unaryShape, unaryKernel}}, {"sigmoid_hard", {unaryShape, unaryKernel}}, {"softplus", {unaryShape, unaryKernel}},
      {"square", {unaryShape, unaryKernel}}, {"identity", {unaryShape, unaryKernel}}, {"softsign", {unaryShape, unaryKernel}},
      {"mish", {unaryShape, unaryKernel}}, {"floor", {unaryShape, unaryKernel}}, {"ceil", {unaryShape, unaryKernel}},
      {"round", {unaryShape, unaryKernel}}, {"sign", {unaryShape, unaryKernel}}, {"sin", {unaryShape, unaryKernel}},
      {"cos", {unaryShape, unaryKernel}}, {"tan", {unaryShape, unaryKernel}}, {"asin", {unaryShape, unaryKernel}},
      {"acos", {unaryShape, unaryKernel}}, {"atan", {unaryShape, unaryKernel}}, {"sinh", {unaryShape, unaryKernel}},
      {"cosh", {unaryShape, unaryKernel}}, {"asinh", {unaryShape, unaryKernel}}, {"acosh", {unaryShape, unaryKernel}},
      {"atanh", {unaryShape, unaryKernel}}, {"logical_not", {unaryShape, unaryKernel}}, {"inverse", {unaryShape, unaryKernel}},
      {"elu", {unaryShape, unaryKernel}}, {"thresholded_relu", {unaryShape, unaryKernel}}, {"cast", {unaryShape, unaryKernel}},
      {"softmax", {softmaxShape, softmaxKernel}},
      {"linear", {linearShape, linearKernel}}, {"matmul", {matmulShape, matmulKernel}},
      {"conv", {convShape, convKernel}}, {"conv_transpose", {convTransposeShape, convTransposeKernel}},
      {"reduce_mean", {reduceShape, reduceKernel}}, {"reduce_sum", {reduceShape, reduceKernel}}, {"reduce_max", {reduceShape, reduceKernel}},
      {"reduce_min", {reduceShape, reduceKernel}}, {"reduce_prod", {reduceShape, reduceKernel}},
      {"reduce_l1_norm", {reduceShape, reduceKernel}}, {"reduce_l2_norm", {reduceShape, reduceKernel}},
      {"reduce_sum_square", {reduceShape, reduceKernel}}, {"reduce_log_sum", {reduceShape, reduceKernel}},
      {"reduce_log_sum_exp", {reduceShape, reduceKernel}},
      {"avg_pool", {poolShape, poolKernel}}, {"max_pool", {poolShape, poolKernel}},
      {"upsample_nearest_neighbor", {upsampleShape, upsampleKernel}}, {"resize_bilinear", {resizeBilinearShape, resizeBilinearKernel}},
      {"tile", {tileShape, tileKernel}}, {"gather", {gatherShape, gatherKernel}}, {"select", {selectShape, selectKernel}},
      {"shape", {shapeOfShape, shapeOfKernel}},
      {"reshape", {reshapeShape, copyKernel}}, {"expand_dims", {expandDimsShape, copyKernel}}, {"squeeze", {squeezeShape, copyKernel}},
      {"transpose", {transposeShape, transposeKernel}}, {"concat", {concatShape, concatKernel}}, {"split", {splitShape, splitKernel}},
      {"slice_by_index", {sliceShape, sliceKernel}}, {"pad", {padShape, padKernel}},
      {"batch_norm", {batchNormShape, batchNormKernel}}, {"layer_norm", {layerNormShape, layerNormKernel}},
  };
  auto it = table.find(op);
  return it == table.end() ? nullptr : &it->second;
}

}  // namespace ane
