#include "result_json.hpp"

#include <cmath>
#include <cstdio>
#include <sstream>

namespace ane {

namespace {
void str(std::ostringstream& o, const std::string& s) {
  o << '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': o << "\\\""; break;
      case '\\': o << "\\\\"; break;
      case '\n': o << "\\n"; break;
      case '\r': o << "\\r"; break;
      case '\t': o << "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          o << buf;
        } else {
          o << c;
        }
    }
  }
  o << '"';
}

void num(std::ostringstream& o, double v) {
  if (!std::isfinite(v)) { o << "null"; return; }  // never produced for errors/costs, kept valid JSON anyway
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  o << buf;
}

void shape(std::ostringstream& o, const Shape& s) {
  o << '[';
  for (size_t i = 0; i < s.size(); i++) o << (i ? "," : "") << s[i];
  o << ']';
}
}  // namespace

std::string resultJson(const Graph& g, const Analysis& a, const std::vector<LayerCost>& costs, const BufferPlan& plan, const ExecResult& exec) {
  std::ostringstream o;
  o << "{\"order\":[";
  for (size_t i = 0; i < a.order.size(); i++) o << (i ? "," : "") << a.order[i];
  o << "],\"layers\":[";
  double total = 0;
  for (size_t i = 0; i < g.ops.size(); i++) {
    const LayerCost& c = costs[i];
    const LayerRun& r = exec.layers[i];
    total += c.estMs;
    o << (i ? "," : "") << "{\"name\":";
    str(o, g.ops[i].name);
    o << ",\"flops\":";
    num(o, c.flops);
    o << ",\"bytes\":";
    num(o, c.bytes);
    o << ",\"estMs\":";
    num(o, c.estMs);
    o << ",\"segmentStart\":" << (c.segmentStart ? "true" : "false");
    o << ",\"outputShape\":";
    const ValueInfo& v = a.values[a.opOutputs[i][0]];
    if (v.known) shape(o, v.shape);
    else o << "[]";
    o << ",\"executed\":" << (r.executed ? "true" : "false");
    if (r.executed) {
      o << ",\"numerics\":{\"maxAbsError\":";
      num(o, r.numerics.maxAbsError);
      o << ",\"maxRelError\":";
      num(o, r.numerics.maxRelError);
      o << ",\"infCount\":" << r.numerics.infCount << ",\"nanCount\":" << r.numerics.nanCount << "}";
    } else {
      o << ",\"notExecuted\":";
      str(o, r.notExecuted);
    }
    o << "}";
  }
  o << "],\"totalMs\":";
  num(o, total);
  o << ",\"peakActivationBytes\":" << plan.peakBytes;
  o << ",\"unplannedActivationBytes\":" << plan.unplannedBytes;
  o << ",\"firstOverflowLayer\":";
  if (exec.firstOverflowLayer.empty()) o << "null";
  else str(o, exec.firstOverflowLayer);
  o << ",\"outputs\":[";
  for (size_t i = 0; i < exec.outputs.size(); i++) {
    const OutputRun& r = exec.outputs[i];
    o << (i ? "," : "") << "{\"name\":";
    str(o, r.name);
    o << ",\"shape\":";
    shape(o, r.shape);
    o << ",\"maxAbsError\":";
    num(o, r.maxAbsError);
    o << ",\"maxRelError\":";
    num(o, r.maxRelError);
    o << "}";
  }
  o << "]}";
  return o.str();
}

}  // namespace ane
