// The graph IR (common/graphIR.ts) as C++ structs, plus the run options of contract 4.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "json.hpp"

namespace ane {

enum class DType { fp32, fp16, fp64, int64, int32, int16, int8, uint8, boolean, string, unknown };

/** Bytes per element, 0 when the dtype has no fixed size. */
int dtypeSize(DType d);
const char* dtypeName(DType d);

struct Dim {
  bool isStatic = true;
  int64_t value = 0;
  std::string symbol;
};

/** A static shape; the executor only ever works with these. */
using Shape = std::vector<int64_t>;

struct TensorDecl {
  std::string name;
  DType dtype = DType::unknown;
  bool hasShape = false;
  std::vector<Dim> shape;

  bool isStatic() const;
  Shape staticShape() const;  // only when isStatic()
};

struct ConstantDecl {
  TensorDecl decl;
  bool hasData = false;
  uint64_t offset = 0, byteLength = 0;
  bool hasValue = false;
  std::vector<double> value;
  std::string unavailable;
};

struct AttrValue {
  enum class Kind { Number, String, Bool, Numbers, Strings } kind = Kind::Number;
  double number = 0;
  std::string string;
  bool boolean = false;
  std::vector<double> numbers;
  std::vector<std::string> strings;
};

struct OpNode {
  std::string name, op, originalOp;
  std::vector<std::string> inputs;
  std::vector<TensorDecl> outputs;
  std::map<std::string, AttrValue> attrs;
  std::string placementDevice;  // "" when the IR carries no placement

  /** "'conv1' (conv)" for messages. */
  std::string label() const;
  bool has(const std::string& key) const { return attrs.count(key) != 0; }
  int64_t attrInt(const std::string& key, int64_t fallback) const;
  double attrFloat(const std::string& key, double fallback) const;
  bool attrBool(const std::string& key, bool fallback) const;
  std::string attrString(const std::string& key, const std::string& fallback) const;
  std::vector<int64_t> attrInts(const std::string& key, const std::vector<int64_t>& fallback) const;
};

struct Graph {
  std::string name;
  std::vector<TensorDecl> inputs;
  std::vector<std::string> outputs;
  std::vector<ConstantDecl> constants;
  std::vector<OpNode> ops;
};

enum class Device { ane, gpu, cpu };
const char* deviceName(Device d);

struct Roofline {
  double tflops = 0, bandwidthGBs = 0, dispatchMs = 0;
};

struct RunOptions {
  std::string chipId;
  Roofline ane, gpu, cpu;
  std::vector<Device> devices;  // one per op, graph.ops order
  uint64_t seed = 0;
  bool execute = true;
  /** ANE on-chip working set (chip.ane.workingSetBytes); operands beyond it spill to DRAM. */
  double aneWorkingSetBytes = 32.0 * 1024 * 1024;
  /** A reduction over the last axis longer than this takes the transpose route (192 on M1/M2-tier, 384 from M3). */
  int64_t aneLastAxisReduceLimit = 384;
  /** true: Core ML-style segmentation may move ANE-capable ops to the CPU; false: `devices` is final. */
  bool segment = true;
  /** Worker threads of the executor's heavy kernels (conv, GEMM). */
  int threads = 2;
  const Roofline& roofline(Device d) const { return d == Device::ane ? ane : d == Device::gpu ? gpu : cpu; }
};

Graph parseGraph(const Json& j);
/** Graph IR JSON text → Graph, read without building a Json tree when the text is well formed; accepts,
 *  rejects and words errors exactly like parseGraph(parseJsonText(text, what)). */
Graph parseGraphText(const std::string& text, const std::string& what);
RunOptions parseOptions(const Json& j, const Graph& g);

std::string formatShape(const Shape& s);
std::string formatDecl(const TensorDecl& d);

}  // namespace ane
