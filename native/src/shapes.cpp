// Output shapes per op, in execution order. A computed shape must agree with a static declared one:
// a disagreement means the reader and the executor understand the op differently, which would make
// every number after it meaningless, so it stops the run naming the op.
#include "analysis.hpp"
#include "errors.hpp"
#include "op_registry.hpp"

namespace ane {

namespace {
/** decl.staticShape() == s for a static declaration, without building the Shape. */
bool declaredAs(const TensorDecl& decl, const Shape& s) {
  if (decl.shape.size() != s.size()) return false;
  for (size_t k = 0; k < s.size(); k++)
    if (decl.shape[k].value != s[k]) return false;
  return true;
}
}  // namespace

void inferShapes(const Graph& g, Analysis& a) {
  a.unsupported.assign(g.ops.size(), std::string());
  std::vector<const Shape*> inShapes;  // reused across ops
  for (int opIndex : a.order) {
    const OpNode& op = g.ops[opIndex];
    const std::vector<int>& outs = a.opOutputs[opIndex];
    inShapes.clear();
    bool allKnown = true;
    for (int vid : a.opInputs[opIndex]) {
      if (vid < 0) { inShapes.push_back(nullptr); continue; }
      if (!a.values[vid].known) allKnown = false;
      inShapes.push_back(&a.values[vid].shape);
    }
    const OpInfo* info = findOp(op.op);
    bool computed = false;
    std::vector<Shape> shapes;
    if (info && allKnown) {
      try {
        shapes = info->shape(op, inShapes);
        computed = true;
      } catch (const Unsupported& e) {
        computed = false;  // e.g. 3-D conv: fall back to the declaration, the executor skips the op
        a.unsupported[opIndex] = e.what();
      }
    }
    if (computed && shapes.size() != outs.size())
      throw GraphError("op " + op.label() + " declares " + std::to_string(outs.size()) + " outputs but computes " + std::to_string(shapes.size()));
    for (size_t k = 0; k < outs.size(); k++) {
      ValueInfo& v = a.values[outs[k]];
      const TensorDecl& decl = op.outputs[k];
      if (computed) {
        if (decl.isStatic() && !declaredAs(decl, shapes[k]))
          throw GraphError("op " + op.label() + ": output '" + decl.name + "' is declared " + formatDecl(decl) + " but the inputs give " + formatShape(shapes[k]));
        if (!elementCountOk(shapes[k])) checkElementCount(shapes[k], "output '" + decl.name + "' of op " + op.label());
        v.shape = std::move(shapes[k]);
        v.known = true;
      } else if (decl.isStatic()) {
        v.shape = decl.staticShape();
        v.known = true;
      } else {
        v.known = false;
      }
    }
  }
}

}  // namespace ane
