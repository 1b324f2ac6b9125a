// What the executor, the buffer plan and the cost model share: the value table, each op's input and
// output value ids, the topological order, and static shapes (declared or inferred).
#pragma once
#include <string>
#include <unordered_map>
#include <vector>

#include "graph.hpp"

namespace ane {

struct ValueInfo {
  enum class Kind { Input, Constant, OpOutput } kind = Kind::Input;
  std::string name;
  int index = -1;      // into graph.inputs / graph.constants / graph.ops
  int outIndex = 0;    // which output of the op
  bool known = false;  // shape known and static
  Shape shape;
  int lastUse = -1;    // position in `order` of the last consuming op; -1 when none
  bool graphOutput = false;
};

struct Analysis {
  std::unordered_map<std::string, int> valueIds;
  std::vector<ValueInfo> values;
  std::vector<std::vector<int>> opInputs;   // value id per input; -1 for an omitted optional input ("")
  std::vector<std::vector<int>> opOutputs;  // value id per output
  std::vector<int> order;                   // topological order, indices into graph.ops
  std::vector<std::string> unsupported;     // per op: why its shape function declined (the executor skips it)
};

/** Checks names, dtypes, static input shapes, constant byte ranges and element counts, then orders the
 *  ops topologically. Throws GraphError naming the op or tensor on the first problem. */
Analysis analyzeGraph(const Graph& g, uint64_t weightsSize);

/** Infers every op's output shapes in execution order and checks them against the declared ones. */
void inferShapes(const Graph& g, Analysis& a);

/** Throws when a shape has more than 2^31 elements. */
void checkElementCount(const Shape& s, const std::string& what);
/** The same test without a message, so hot paths build the message only when it is needed. */
bool elementCountOk(const Shape& s);
/** The same for a static declaration, without building its Shape. */
bool elementCountOk(const TensorDecl& d);

}  // namespace ane
