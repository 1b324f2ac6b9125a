#include "result_json.hpp"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <type_traits>

namespace ane {

namespace {
// An append-only text buffer: std::ostringstream's per-insert locale and sentry work was a visible share
// of a 4,000-op cost-model call.
struct Out {
  std::string s;
  unsigned char highBits = 0;  // OR of every byte str() wrote: names are the only text that may not be ASCII
  Out& operator<<(const char* t) { s += t; return *this; }
  Out& operator<<(const std::string& t) { s += t; return *this; }
  Out& operator<<(char c) { s += c; return *this; }
  // Integers only; characters go through the char overload (an unsigned char here would print as a number).
  template <typename T, typename = std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool> && !std::is_same_v<T, unsigned char> && !std::is_same_v<T, signed char>>>
  Out& operator<<(T v) {
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    s.append(buf, r.ptr);
    return *this;
  }
};

void str(Out& o, const std::string& s) {
  o << '"';
  for (unsigned char c : s) {
    o.highBits |= c;
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
          o << static_cast<char>(c);
        }
    }
  }
  o << '"';
}

void num(Out& o, double v) {
  if (!std::isfinite(v)) { o << "null"; return; }  // never produced for errors/costs, kept valid JSON anyway
  // Whole numbers (flops, bytes: most of a layer's numbers) print as integers, much cheaper than the shortest
  // round-trip search and read back as the same double (-0 keeps its sign through the path below).
  if (std::fabs(v) < 9007199254740992.0 && v == std::trunc(v) && !(v == 0 && std::signbit(v))) {
    o << static_cast<int64_t>(v);
    return;
  }
  char buf[32];
#if defined(__cpp_lib_to_chars) && __cpp_lib_to_chars >= 201611L
  // Shortest text that reads back as the same double: what JSON.parse sees is unchanged, the text is about
  // half as long as %.17g and much cheaper to write and to parse.
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  o.s.append(buf, r.ptr);
#else
  std::snprintf(buf, sizeof buf, "%.17g", v);
  o << buf;
#endif
}

void shape(Out& o, const Shape& s) {
  o << '[';
  for (size_t i = 0; i < s.size(); i++) o << (i ? "," : "") << s[i];
  o << ']';
}

/** The reason shared by every layer when none was executed (always so with execute: false); null when there
 *  is none. It is written once at the top instead of on each of thousands of layers. */
const std::string* sharedNotExecuted(const ExecResult& exec) {
  if (exec.layers.empty()) return nullptr;
  const std::string& first = exec.layers[0].notExecuted;
  for (const LayerRun& r : exec.layers)
    if (r.executed || r.notExecuted != first) return nullptr;
  return &first;
}
}  // namespace

// Layer fields at their defaults (segmentStart and spilled false, launchMs and transferMs 0) are left out: on
// a 4,000-op graph they were a sixth of the text that JSON.parse reads (docs/native.md "AddonRunResult").
ResultText resultJson(const Graph& g, const Analysis& a, const CostResult& cost, const BufferPlan& plan, const ExecResult& exec) {
  Out o;
  o.s.reserve(256 + g.ops.size() * 300);
  const std::string* shared = sharedNotExecuted(exec);
  o << "{\"order\":[";
  for (size_t i = 0; i < a.order.size(); i++) o << (i ? "," : "") << a.order[i];
  o << "],\"layers\":[";
  for (size_t i = 0; i < g.ops.size(); i++) {
    const LayerCost& c = cost.layers[i];
    const LayerRun& r = exec.layers[i];
    o << (i ? "," : "") << "{\"name\":";
    str(o, g.ops[i].name);
    o << ",\"flops\":";
    num(o, c.flops);
    o << ",\"bytes\":";
    num(o, c.bytes);
    o << ",\"estMs\":";
    num(o, c.estMs);
    if (c.segmentStart) o << ",\"segmentStart\":true";
    o << ",\"device\":\"" << deviceName(c.device) << "\"";
    if (c.fallback != Fallback::none) o << ",\"fallback\":\"" << (c.fallback == Fallback::unsupported ? "unsupported" : "cost") << "\"";
    o << ",\"opClass\":\"" << opClassName(c.opClass) << "\"";
    o << ",\"computeMs\":";
    num(o, c.computeMs);
    o << ",\"memoryMs\":";
    num(o, c.memoryMs);
    o << ",\"dramBytes\":";
    num(o, c.dramBytes);
    if (c.launchMs != 0) {
      o << ",\"launchMs\":";
      num(o, c.launchMs);
    }
    if (c.transferMs != 0) {
      o << ",\"transferMs\":";
      num(o, c.transferMs);
    }
    if (c.spilled) o << ",\"spilled\":true";
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
    } else if (!shared) {
      o << ",\"notExecuted\":";
      str(o, r.notExecuted);
    }
    o << "}";
  }
  o << "],\"totalMs\":";
  num(o, cost.totalMs);
  o << ",\"segments\":[";
  for (size_t i = 0; i < cost.segments.size(); i++) {
    const SegmentCost& s = cost.segments[i];
    o << (i ? "," : "") << "{\"device\":\"" << deviceName(s.device) << "\",\"firstLayer\":";
    str(o, g.ops[s.firstOp].name);
    o << ",\"lastLayer\":";
    str(o, g.ops[s.lastOp].name);
    o << ",\"layers\":" << s.ops << ",\"ms\":";
    num(o, s.ms);
    o << "}";
  }
  o << "],\"transfers\":[";
  for (size_t i = 0; i < cost.transfers.size(); i++) {
    const TransferCost& t = cost.transfers[i];
    o << (i ? "," : "") << "{\"value\":";
    str(o, t.value);
    o << ",\"fromLayer\":";
    str(o, g.ops[t.fromOp].name);
    o << ",\"toLayer\":";
    str(o, g.ops[t.toOp].name);
    o << ",\"from\":\"" << deviceName(t.from) << "\",\"to\":\"" << deviceName(t.to) << "\",\"bytes\":";
    num(o, t.bytes);
    o << ",\"ms\":";
    num(o, t.ms);
    o << "}";
  }
  o << "]";
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
  o << "]";
  if (shared) {
    o << ",\"notExecuted\":";
    str(o, *shared);
  }
  o << "}";
  return {std::move(o.s), o.highBits < 0x80};
}

}  // namespace ane
