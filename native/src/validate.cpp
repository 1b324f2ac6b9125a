#include <algorithm>
#include <queue>

#include "analysis.hpp"
#include "errors.hpp"
#include "tensor.hpp"

namespace ane {

namespace {
constexpr int64_t kMaxElements = int64_t(1) << 31;

std::string joinLabels(const Graph& g, const std::vector<int>& ops) {
  std::string s;
  for (size_t i = 0; i < ops.size(); i++) s += (i ? " -> " : "") + g.ops[ops[i]].label();
  return s;
}
}  // namespace

bool elementCountOk(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) {
    if (d < 0) return false;
    if (d == 0) return true;
  }
  for (int64_t d : s) {
    if (n > kMaxElements / d) return false;
    n *= d;
  }
  return n <= kMaxElements;
}

bool elementCountOk(const TensorDecl& d) {
  int64_t n = 1;
  for (const Dim& x : d.shape) {
    if (x.value < 0) return false;
    if (x.value == 0) return true;
  }
  for (const Dim& x : d.shape) {
    if (n > kMaxElements / x.value) return false;
    n *= x.value;
  }
  return n <= kMaxElements;
}

void checkElementCount(const Shape& s, const std::string& what) {
  int64_t n = 1;
  for (int64_t d : s) {
    if (d < 0) throw GraphError(what + " has a negative dimension in " + formatShape(s));
    if (d == 0) return;
  }
  for (int64_t d : s) {
    if (n > kMaxElements / d) throw GraphError(what + " has shape " + formatShape(s) + ", more than 2^31 elements; the simulator refuses tensors that large");
    n *= d;
  }
  if (n > kMaxElements) throw GraphError(what + " has shape " + formatShape(s) + ", more than 2^31 elements; the simulator refuses tensors that large");
}

Analysis analyzeGraph(const Graph& g, uint64_t weightsSize) {
  Analysis a;
  // `producer` is only needed for an error message: callers pass a callable so the text is built only then.
  // One hash of the name per value: try_emplace both looks it up and inserts it.
  auto addValue = [&](ValueInfo v, const auto& producerOf) {
    if (v.name.empty()) throw GraphError(producerOf() + " declares a value with an empty name");
    const auto [it, added] = a.valueIds.try_emplace(v.name, static_cast<int>(a.values.size()));
    if (!added) {
      const ValueInfo& prev = a.values[it->second];
      std::string prevWhat = prev.kind == ValueInfo::Kind::Input ? "graph input" : prev.kind == ValueInfo::Kind::Constant ? "constant" : "op " + g.ops[prev.index].label();
      throw GraphError("value '" + v.name + "' is defined twice: by " + prevWhat + " and by " + producerOf());
    }
    a.values.push_back(std::move(v));
  };
  size_t valueCount = g.inputs.size() + g.constants.size();
  for (const OpNode& op : g.ops) valueCount += op.outputs.size();
  a.valueIds.reserve(valueCount);
  a.values.reserve(valueCount);

  for (size_t i = 0; i < g.inputs.size(); i++) {
    const TensorDecl& d = g.inputs[i];
    if (d.dtype == DType::unknown || d.dtype == DType::string)
      throw GraphError("graph input '" + d.name + "' has dtype " + dtypeName(d.dtype) + "; the simulator needs a numeric dtype");
    if (!d.hasShape) throw GraphError("graph input '" + d.name + "' has no shape; give it a static shape (e.g. (1, 3, 224, 224))");
    for (size_t k = 0; k < d.shape.size(); k++)
      if (!d.shape[k].isStatic)
        throw GraphError("graph input '" + d.name + "' has a dynamic dimension '" + d.shape[k].symbol + "' at axis " + std::to_string(k) + " in " +
                         formatDecl(d) + "; give it a static shape (e.g. replace the symbol with a number) to run it");
    ValueInfo v;
    v.kind = ValueInfo::Kind::Input;
    v.name = d.name;
    v.index = static_cast<int>(i);
    v.known = true;
    v.shape = d.staticShape();
    checkElementCount(v.shape, "graph input '" + d.name + "'");
    addValue(std::move(v), [] { return std::string("graph input"); });
  }

  for (size_t i = 0; i < g.constants.size(); i++) {
    const ConstantDecl& c = g.constants[i];
    const std::string what = "constant '" + c.decl.name + "'";
    ValueInfo v;
    v.kind = ValueInfo::Kind::Constant;
    v.name = c.decl.name;
    v.index = static_cast<int>(i);
    if (c.decl.hasShape) {
      if (!c.decl.isStatic()) throw GraphError(what + " has a symbolic shape " + formatDecl(c.decl) + "; constants must be static");
      v.shape = c.decl.staticShape();
    } else if (c.hasValue) {
      v.shape = {static_cast<int64_t>(c.value.size())};
    } else if (c.hasData && dtypeSize(c.decl.dtype) > 0) {
      v.shape = {static_cast<int64_t>(c.byteLength / dtypeSize(c.decl.dtype))};
    }
    v.known = c.decl.hasShape || c.hasValue || (c.hasData && dtypeSize(c.decl.dtype) > 0);
    if (v.known) checkElementCount(v.shape, what);
    if (c.hasData) {
      if (c.decl.dtype == DType::unknown || c.decl.dtype == DType::string)
        throw GraphError(what + " has dtype " + dtypeName(c.decl.dtype) + "; the simulator can only read numeric constants");
      if (c.offset > weightsSize || c.byteLength > weightsSize - c.offset)
        throw GraphError(what + " points at bytes [" + std::to_string(c.offset) + ", " + std::to_string(c.offset + c.byteLength) +
                         ") but the weights blob has only " + std::to_string(weightsSize) + " bytes");
      uint64_t expect = static_cast<uint64_t>(numel(v.shape)) * dtypeSize(c.decl.dtype);
      if (c.byteLength != expect)
        throw GraphError(what + " has " + std::to_string(c.byteLength) + " bytes of data but shape " + formatShape(v.shape) + " in " +
                         dtypeName(c.decl.dtype) + " needs " + std::to_string(expect));
    } else if (c.hasValue) {
      int64_t n = numel(v.shape);
      if (static_cast<int64_t>(c.value.size()) != n && c.value.size() != 1)
        throw GraphError(what + " has " + std::to_string(c.value.size()) + " inline values but shape " + formatShape(v.shape) + " needs " + std::to_string(n));
    }
    addValue(std::move(v), [&] { return what; });
  }

  a.opInputs.resize(g.ops.size());
  a.opOutputs.resize(g.ops.size());
  for (size_t i = 0; i < g.ops.size(); i++) {
    const OpNode& op = g.ops[i];
    if (op.outputs.empty()) throw GraphError("op " + op.label() + " declares no outputs");
    for (size_t k = 0; k < op.outputs.size(); k++) {
      const TensorDecl& d = op.outputs[k];
      ValueInfo v;
      v.kind = ValueInfo::Kind::OpOutput;
      v.name = d.name;
      v.index = static_cast<int>(i);
      v.outIndex = static_cast<int>(k);
      if (d.isStatic() && !elementCountOk(d)) checkElementCount(d.staticShape(), "output '" + d.name + "' of op " + op.label());
      addValue(std::move(v), [&] { return "op " + op.label(); });
      a.opOutputs[i].push_back(static_cast<int>(a.values.size()) - 1);
    }
  }

  for (size_t i = 0; i < g.ops.size(); i++) {
    const OpNode& op = g.ops[i];
    a.opInputs[i].reserve(op.inputs.size());
    for (const std::string& in : op.inputs) {
      if (in.empty()) { a.opInputs[i].push_back(-1); continue; }
      auto it = a.valueIds.find(in);
      if (it == a.valueIds.end())
        throw GraphError("op " + op.label() + " reads '" + in + "', which no op, graph input or constant produces (dangling input)");
      a.opInputs[i].push_back(it->second);
    }
  }
  for (const std::string& out : g.outputs) {
    auto it = a.valueIds.find(out);
    if (it == a.valueIds.end()) throw GraphError("graph output '" + out + "' is not produced by any op, input or constant");
    a.values[it->second].graphOutput = true;
  }

  // Kahn's algorithm, always taking the lowest-index ready op so the order follows the file when it can.
  const size_t n = g.ops.size();
  std::vector<int> pending(n, 0);
  std::vector<std::vector<int>> consumers(n);
  for (size_t i = 0; i < n; i++) {
    for (int vid : a.opInputs[i]) {
      if (vid < 0) continue;
      const ValueInfo& v = a.values[vid];
      // Count each producer once; it was seen already when this op is the last entry of its consumer list.
      if (v.kind == ValueInfo::Kind::OpOutput && (consumers[v.index].empty() || consumers[v.index].back() != static_cast<int>(i))) {
        pending[i]++;
        consumers[v.index].push_back(static_cast<int>(i));
      }
    }
  }
  std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
  for (size_t i = 0; i < n; i++)
    if (pending[i] == 0) ready.push(static_cast<int>(i));
  while (!ready.empty()) {
    int i = ready.top();
    ready.pop();
    a.order.push_back(i);
    for (int c : consumers[i])
      if (--pending[c] == 0) ready.push(c);
  }
  if (a.order.size() != n) {
    // Every op left over waits on another left-over op, so walking producers from any of them must
    // revisit one: that loop is the cycle to show.
    int start = -1;
    for (size_t i = 0; i < n && start < 0; i++)
      if (pending[i] > 0) start = static_cast<int>(i);
    std::vector<int> path;
    std::vector<int> seenAt(n, -1);
    int cur = start;
    while (seenAt[cur] < 0) {
      seenAt[cur] = static_cast<int>(path.size());
      path.push_back(cur);
      int next = -1;
      for (int vid : a.opInputs[cur]) {
        if (vid < 0) continue;
        const ValueInfo& v = a.values[vid];
        if (v.kind == ValueInfo::Kind::OpOutput && pending[v.index] > 0) { next = v.index; break; }
      }
      if (next < 0) break;  // cannot happen, but never loop forever
      cur = next;
    }
    std::vector<int> cycle(path.begin() + std::max(0, seenAt[cur]), path.end());
    std::reverse(cycle.begin(), cycle.end());  // now in data-flow order
    std::rotate(cycle.begin(), std::min_element(cycle.begin(), cycle.end()), cycle.end());
    cycle.push_back(cycle.front());
    throw GraphError("the graph has a cycle: op " + g.ops[cycle.front()].label() + " depends on its own output through " + joinLabels(g, cycle));
  }

  for (size_t pos = 0; pos < a.order.size(); pos++)
    for (int vid : a.opInputs[a.order[pos]])
      if (vid >= 0) a.values[vid].lastUse = static_cast<int>(pos);
  return a;
}

}  // namespace ane
