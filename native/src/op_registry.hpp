// One table of what the executor knows per op: how to compute its output shapes and how to run it.
// An op without an entry (or without a kernel) is still shaped from its declaration and costed.
#pragma once
#include <string>
#include <vector>

#include "graph.hpp"
#include "tensor.hpp"

namespace ane {

/** Input shapes in argument order; nullptr for an omitted optional input. */
using ShapeFn = std::vector<Shape> (*)(const OpNode&, const std::vector<const Shape*>&);
/** Outputs arrive with their shapes set and data sized (zero-filled unless OpInfo::fills); the kernel fills the data. */
using KernelFn = void (*)(const OpNode&, const std::vector<const Tensor*>&, std::vector<Tensor>&);

struct OpInfo {
  ShapeFn shape;
  KernelFn kernel;
  /** The kernel writes every element of its outputs, so the executor hands them over uninitialized; the
   *  others (scatter-style kernels that accumulate or skip elements) get zero-filled outputs. */
  bool fills = false;
  /** The kernel accepts its weight (input 1) with Tensor::roundOnRead on the fp16 path. */
  bool roundsWeight = false;
};

const OpInfo* findOp(const std::string& op);

}  // namespace ane
