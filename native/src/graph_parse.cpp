// Json → Graph / RunOptions. Every malformed field is reported with the path that holds it, because the
// IR comes from other processes (readers, the Python tracer) and a vague error would hide whose bug it is.
#include <cmath>
#include <iterator>
#include <sstream>
#include <string_view>

#include "errors.hpp"
#include "graph.hpp"

namespace ane {

int dtypeSize(DType d) {
  switch (d) {
    case DType::fp64: case DType::int64: return 8;
    case DType::fp32: case DType::int32: return 4;
    case DType::fp16: case DType::int16: return 2;
    case DType::int8: case DType::uint8: case DType::boolean: return 1;
    default: return 0;
  }
}

const char* dtypeName(DType d) {
  switch (d) {
    case DType::fp32: return "fp32"; case DType::fp16: return "fp16"; case DType::fp64: return "fp64";
    case DType::int64: return "int64"; case DType::int32: return "int32"; case DType::int16: return "int16";
    case DType::int8: return "int8"; case DType::uint8: return "uint8"; case DType::boolean: return "bool";
    case DType::string: return "string"; default: return "unknown";
  }
}

const char* deviceName(Device d) { return d == Device::ane ? "ane" : d == Device::gpu ? "gpu" : "cpu"; }

bool TensorDecl::isStatic() const {
  if (!hasShape) return false;
  for (const auto& d : shape)
    if (!d.isStatic) return false;
  return true;
}

Shape TensorDecl::staticShape() const {
  Shape s;
  for (const auto& d : shape) s.push_back(d.value);
  return s;
}

std::string formatShape(const Shape& s) {
  std::ostringstream o;
  o << "(";
  for (size_t i = 0; i < s.size(); i++) o << (i ? ", " : "") << s[i];
  o << ")";
  return o.str();
}

std::string formatDecl(const TensorDecl& d) {
  if (!d.hasShape) return "?";
  std::ostringstream o;
  o << "(";
  for (size_t i = 0; i < d.shape.size(); i++) {
    o << (i ? ", " : "");
    if (d.shape[i].isStatic) o << d.shape[i].value; else o << d.shape[i].symbol;
  }
  o << ")";
  return o.str();
}

std::string OpNode::label() const { return "'" + name + "' (" + op + ")"; }

namespace {

[[noreturn]] void bad(const std::string& where, const std::string& what) { throw GraphError("graph IR: " + where + ": " + what); }

const Json& need(const Json& obj, const char* key, const std::string& where) {
  const Json* v = obj.get(key);
  if (!v) bad(where, std::string("missing field '") + key + "'");
  return *v;
}

std::string needString(const Json& obj, const char* key, const std::string& where) {
  const Json& v = need(obj, key, where);
  if (!v.isString()) bad(where + "." + key, "expected a string");
  return v.string;
}

const std::vector<Json>& needArray(const Json& obj, const char* key, const std::string& where) {
  const Json& v = need(obj, key, where);
  if (!v.isArray()) bad(where + "." + key, "expected an array");
  return v.array;
}

bool isInteger(double x) { return std::isfinite(x) && std::floor(x) == x; }

bool dtypeFromName(std::string_view s, DType& out) {
  static constexpr std::pair<std::string_view, DType> names[] = {
      {"fp32", DType::fp32}, {"fp16", DType::fp16}, {"fp64", DType::fp64}, {"int64", DType::int64},
      {"int32", DType::int32}, {"int16", DType::int16}, {"int8", DType::int8}, {"uint8", DType::uint8},
      {"bool", DType::boolean}, {"string", DType::string}, {"unknown", DType::unknown}};
  for (const auto& [name, d] : names)
    if (name == s) { out = d; return true; }
  return false;
}

DType parseDType(const std::string& s, const std::string& where) {
  DType d;
  if (!dtypeFromName(s, d)) bad(where, "unknown dtype '" + s + "'");
  return d;
}

// `detailed` = false skips building the error paths (see parseGraph's ops loop); errors still throw.
TensorDecl parseDecl(const Json& j, const std::string& where, bool detailed = true) {
  if (!j.isObject()) bad(where, "expected an object");
  TensorDecl d;
  d.name = needString(j, "name", where);
  const std::string w = detailed ? where + " '" + d.name + "'" : where;
  const Json& type = need(j, "type", w);
  if (!type.isObject()) bad(w + ".type", "expected an object");
  d.dtype = parseDType(needString(type, "dtype", detailed ? w + ".type" : w), detailed ? w + ".type.dtype" : w);
  const Json* shape = type.get("shape");
  if (shape && !shape->isNull()) {
    if (!shape->isArray()) bad(w + ".type.shape", "expected an array");
    d.hasShape = true;
    for (const Json& dim : shape->array) {
      Dim x;
      if (dim.isNumber()) {
        if (!isInteger(dim.number) || dim.number < 0) bad(w + ".type.shape", "dimension " + std::to_string(dim.number) + " is not a non-negative integer");
        if (dim.number > 9.0e15) bad(w + ".type.shape", "dimension is too large to represent");
        x.value = static_cast<int64_t>(dim.number);
      } else if (dim.isString()) {
        x.isStatic = false;
        x.symbol = dim.string;
      } else {
        bad(w + ".type.shape", "a dimension must be a number or a symbol name");
      }
      d.shape.push_back(x);
    }
  }
  return d;
}

AttrValue parseAttr(const Json& j, const std::string& where) {
  AttrValue a;
  switch (j.kind) {
    case Json::Kind::Number: a.kind = AttrValue::Kind::Number; a.number = j.number; break;
    case Json::Kind::String: a.kind = AttrValue::Kind::String; a.string = j.string; break;
    case Json::Kind::Bool: a.kind = AttrValue::Kind::Bool; a.boolean = j.boolean; break;
    case Json::Kind::Array: {
      bool allStrings = !j.array.empty();
      for (const Json& e : j.array) allStrings = allStrings && e.isString();
      if (allStrings) {
        a.kind = AttrValue::Kind::Strings;
        for (const Json& e : j.array) a.strings.push_back(e.string);
      } else {
        a.kind = AttrValue::Kind::Numbers;
        for (const Json& e : j.array) {
          if (e.isNumber()) a.numbers.push_back(e.number);
          else if (e.isBool()) a.numbers.push_back(e.boolean ? 1 : 0);
          else bad(where, "a list attribute must hold only numbers or only strings");
        }
      }
      break;
    }
    default: bad(where, "unsupported attribute value");
  }
  return a;
}

}  // namespace

int64_t OpNode::attrInt(const std::string& key, int64_t fallback) const {
  auto it = attrs.find(key);
  if (it == attrs.end()) return fallback;
  const AttrValue& a = it->second;
  if (a.kind == AttrValue::Kind::Bool) return a.boolean ? 1 : 0;
  double v = a.kind == AttrValue::Kind::Number ? a.number : (a.kind == AttrValue::Kind::Numbers && a.numbers.size() == 1 ? a.numbers[0] : NAN);
  if (!isInteger(v) || std::fabs(v) > 9.0e15) throw GraphError("op " + label() + ": attribute '" + key + "' must be an integer");
  return static_cast<int64_t>(v);
}

double OpNode::attrFloat(const std::string& key, double fallback) const {
  auto it = attrs.find(key);
  if (it == attrs.end()) return fallback;
  const AttrValue& a = it->second;
  if (a.kind == AttrValue::Kind::Number) return a.number;
  if (a.kind == AttrValue::Kind::Numbers && a.numbers.size() == 1) return a.numbers[0];
  throw GraphError("op " + label() + ": attribute '" + key + "' must be a number");
}

bool OpNode::attrBool(const std::string& key, bool fallback) const {
  auto it = attrs.find(key);
  if (it == attrs.end()) return fallback;
  const AttrValue& a = it->second;
  if (a.kind == AttrValue::Kind::Bool) return a.boolean;
  if (a.kind == AttrValue::Kind::Number) return a.number != 0;
  throw GraphError("op " + label() + ": attribute '" + key + "' must be a boolean");
}

std::string OpNode::attrString(const std::string& key, const std::string& fallback) const {
  auto it = attrs.find(key);
  if (it == attrs.end()) return fallback;
  if (it->second.kind != AttrValue::Kind::String) throw GraphError("op " + label() + ": attribute '" + key + "' must be a string");
  return it->second.string;
}

std::vector<int64_t> OpNode::attrInts(const std::string& key, const std::vector<int64_t>& fallback) const {
  auto it = attrs.find(key);
  if (it == attrs.end()) return fallback;
  const AttrValue& a = it->second;
  std::vector<int64_t> out;
  if (a.kind == AttrValue::Kind::Number) {
    if (!isInteger(a.number)) throw GraphError("op " + label() + ": attribute '" + key + "' must hold integers");
    out.push_back(static_cast<int64_t>(a.number));
    return out;
  }
  if (a.kind == AttrValue::Kind::Strings && a.strings.empty()) return out;
  if (a.kind != AttrValue::Kind::Numbers) throw GraphError("op " + label() + ": attribute '" + key + "' must be a list of integers");
  for (double v : a.numbers) {
    if (!isInteger(v) || std::fabs(v) > 9.0e15) throw GraphError("op " + label() + ": attribute '" + key + "' must hold integers");
    out.push_back(static_cast<int64_t>(v));
  }
  return out;
}

Graph parseGraph(const Json& j) {
  if (!j.isObject()) bad("(root)", "expected an object");
  Graph g;
  const Json* name = j.get("name");
  g.name = name && name->isString() ? name->string : "graph";
  const auto& inputs = needArray(j, "inputs", "graph");
  for (size_t i = 0; i < inputs.size(); i++) g.inputs.push_back(parseDecl(inputs[i], "inputs[" + std::to_string(i) + "]"));
  const auto& outputs = needArray(j, "outputs", "graph");
  for (size_t i = 0; i < outputs.size(); i++) {
    if (!outputs[i].isString()) bad("outputs[" + std::to_string(i) + "]", "expected a value name");
    g.outputs.push_back(outputs[i].string);
  }
  const auto& constants = needArray(j, "constants", "graph");
  for (size_t i = 0; i < constants.size(); i++) {
    const std::string where = "constants[" + std::to_string(i) + "]";
    ConstantDecl c;
    c.decl = parseDecl(constants[i], where);
    const std::string w = where + " '" + c.decl.name + "'";
    if (const Json* data = constants[i].get("data"); data && !data->isNull()) {
      if (!data->isObject()) bad(w + ".data", "expected {offset, byteLength}");
      const Json& off = need(*data, "offset", w + ".data");
      const Json& len = need(*data, "byteLength", w + ".data");
      if (!off.isNumber() || !isInteger(off.number) || off.number < 0 || !len.isNumber() || !isInteger(len.number) || len.number < 0)
        bad(w + ".data", "offset and byteLength must be non-negative integers");
      c.hasData = true;
      c.offset = static_cast<uint64_t>(off.number);
      c.byteLength = static_cast<uint64_t>(len.number);
    }
    if (const Json* value = constants[i].get("value"); value && !value->isNull()) {
      if (!value->isArray()) bad(w + ".value", "expected an array of numbers");
      c.hasValue = true;
      for (const Json& v : value->array) {
        if (!v.isNumber()) bad(w + ".value", "expected an array of numbers");
        c.value.push_back(v.number);
      }
    }
    if (const Json* un = constants[i].get("unavailable"); un && un->isString()) c.unavailable = un->string;
    g.constants.push_back(std::move(c));
  }
  const auto& ops = needArray(j, "ops", "graph");
  g.ops.reserve(ops.size());
  // Each op is read first without composing its error paths ("ops[12] 'conv_3'.outputs[0]...": a dozen string
  // allocations per op, a visible share of a 4,000-op call); only an op that fails is read again with them,
  // so the error names the exact field.
  auto parseOp = [&](size_t i, bool detailed) {
    std::string where = detailed ? "ops[" + std::to_string(i) + "]" : std::string();
    const Json& o = ops[i];
    if (!o.isObject()) bad(where, "expected an object");
    OpNode n;
    n.name = needString(o, "name", where);
    if (detailed) where += " '" + n.name + "'";
    n.op = needString(o, "op", where);
    const Json* orig = o.get("originalOp");
    n.originalOp = orig && orig->isString() ? orig->string : n.op;
    for (const Json& in : needArray(o, "inputs", where)) {
      if (!in.isString()) bad(where + ".inputs", "expected value names");
      n.inputs.push_back(in.string);
    }
    const auto& outs = needArray(o, "outputs", where);
    for (size_t k = 0; k < outs.size(); k++)
      n.outputs.push_back(parseDecl(outs[k], detailed ? where + ".outputs[" + std::to_string(k) + "]" : where, detailed));
    if (const Json* attrs = o.get("attrs"); attrs && !attrs->isNull()) {
      if (!attrs->isObject()) bad(where + ".attrs", "expected an object");
      for (const auto& kv : attrs->object) n.attrs[kv.first] = parseAttr(kv.second, detailed ? where + ".attrs." + kv.first : where);
    }
    if (const Json* p = o.get("placement"); p && p->isObject()) {
      if (const Json* d = p->get("device"); d && d->isString()) n.placementDevice = d->string;
    }
    return n;
  };
  for (size_t i = 0; i < ops.size(); i++) {
    try {
      g.ops.push_back(parseOp(i, false));
    } catch (const GraphError&) {
      parseOp(i, true);  // throws the same error with its path
      throw;
    }
  }
  return g;
}

namespace {

// The direct path: the IR read straight from the text into the structs, without a Json tree in between
// (building and freeing ~60k tree nodes was a third of a 4,000-op cost-model call). It accepts only what
// parseGraph accepts and gives the same Graph; on anything else — an invalid field, a duplicate key, bad
// JSON — it declines, and parseGraphText reads the text again through the tree, which either accepts it
// or throws the error naming the field's path. So this path never composes an error message.
class DirectReader {
 public:
  explicit DirectReader(JsonReader& r) : r_(r) {}

  Graph graph() {
    Graph g;
    g.name = "graph";
    object(0, [&](std::string_view key, unsigned& seen) {
      if (key == "name") {
        once(seen, 1);
        if (r_.peek() == '"') r_.string(g.name);
        else r_.skip(1);
      } else if (key == "inputs") {
        once(seen, 2);
        array([&] { g.inputs.push_back(decl(2)); });
      } else if (key == "outputs") {
        once(seen, 4);
        array([&] { g.outputs.push_back(string()); });
      } else if (key == "constants") {
        once(seen, 8);
        array([&] { g.constants.push_back(constant(2)); });
      } else if (key == "ops") {
        once(seen, 16);
        array([&] { g.ops.push_back(op(2)); });
      } else {
        return false;
      }
      return true;
    }, 2 | 4 | 8 | 16);
    r_.end();
    return g;
  }

 private:
  JsonReader& r_;

  [[noreturn]] static void decline() { throw GraphError("graph IR: the direct reader declined"); }
  // Json::get takes the first of duplicate keys; rather than mirror that, a repeated field declines.
  static void once(unsigned& seen, unsigned bit) {
    if (seen & bit) decline();
    seen |= bit;
  }

  /** An object at `depth`: `field(key, seen)` reads the value of a key it knows and returns true; other
   *  values are skipped. Declines unless every bit of `required` was marked in `seen`. */
  template <typename Field>
  void object(int depth, Field&& field, unsigned required = 0) {
    if (r_.peek() != '{') decline();
    r_.objectBegin();
    unsigned seen = 0;
    bool first = true;
    std::string_view key;
    while (r_.member(first, key))
      if (!field(key, seen)) r_.skip(depth + 1);
    if ((seen & required) != required) decline();
  }

  template <typename Item>
  void array(Item&& item) {
    if (r_.peek() != '[') decline();
    r_.arrayBegin();
    bool first = true;
    while (r_.item(first)) item();
  }

  // Small lists (shapes, inputs, attribute values) collect on a reused scratch stack and are copied out at
  // their exact size: growing each vector element by element cost two or three allocations apiece.
  std::vector<Dim> dims_;
  std::vector<std::string> strings_;
  std::vector<double> numbers_;

  template <typename T, typename Read>
  void list(std::vector<T>& out, std::vector<T>& scratch, Read&& read) {
    const size_t base = scratch.size();
    array([&] { scratch.push_back(read()); });
    moveOut(out, scratch, base);
  }

  template <typename T>
  static void moveOut(std::vector<T>& out, std::vector<T>& scratch, size_t base) {
    out.assign(std::make_move_iterator(scratch.begin() + static_cast<std::ptrdiff_t>(base)), std::make_move_iterator(scratch.end()));
    scratch.resize(base);
  }

  std::string string() {
    if (r_.peek() != '"') decline();
    return r_.string();
  }

  double number() {
    const char c = r_.peek();
    if (c != '-' && (c < '0' || c > '9')) decline();
    return r_.number();
  }

  /** The `name` and `type` of a TensorDecl (also the first fields of a constant); false for other keys. */
  bool declField(TensorDecl& d, std::string_view key, unsigned& seen, int depth) {
    if (key == "name") {
      once(seen, 1);
      r_.peek() == '"' ? r_.string(d.name) : decline();
    } else if (key == "type") {
      once(seen, 2);
      type(d, depth + 1);
    } else {
      return false;
    }
    return true;
  }

  TensorDecl decl(int depth) {
    TensorDecl d;
    object(depth, [&](std::string_view key, unsigned& seen) { return declField(d, key, seen, depth); }, 1 | 2);
    return d;
  }

  void type(TensorDecl& d, int depth) {
    object(depth, [&](std::string_view key, unsigned& seen) {
      if (key == "dtype") {
        once(seen, 1);
        if (r_.peek() != '"') decline();
        const std::string text = r_.string();
        if (!dtypeFromName(text, d.dtype)) decline();
      } else if (key == "shape") {
        once(seen, 2);
        if (r_.peek() == 'n') { r_.null(); return true; }
        d.hasShape = true;
        list(d.shape, dims_, [&] { return dim(); });
      } else {
        return false;
      }
      return true;
    }, 1);
  }

  Dim dim() {
    Dim x;
    if (r_.peek() == '"') {
      x.isStatic = false;
      r_.string(x.symbol);
      return x;
    }
    const double v = number();
    if (!isInteger(v) || v < 0 || v > 9.0e15) decline();
    x.value = static_cast<int64_t>(v);
    return x;
  }

  ConstantDecl constant(int depth) {
    ConstantDecl c;
    object(depth, [&](std::string_view key, unsigned& seen) {
      if (declField(c.decl, key, seen, depth)) return true;
      if (key == "data") {
        once(seen, 4);
        if (r_.peek() == 'n') { r_.null(); return true; }
        data(c, depth + 1);
      } else if (key == "value") {
        once(seen, 8);
        if (r_.peek() == 'n') { r_.null(); return true; }
        c.hasValue = true;
        list(c.value, numbers_, [&] { return number(); });
      } else if (key == "unavailable") {
        once(seen, 16);
        if (r_.peek() == '"') r_.string(c.unavailable);
        else r_.skip(depth + 1);
      } else {
        return false;
      }
      return true;
    }, 1 | 2);
    return c;
  }

  void data(ConstantDecl& c, int depth) {
    auto count = [&]() {
      const double v = number();
      if (!isInteger(v) || v < 0) decline();
      return static_cast<uint64_t>(v);
    };
    object(depth, [&](std::string_view key, unsigned& seen) {
      if (key == "offset") { once(seen, 1); c.offset = count(); return true; }
      if (key == "byteLength") { once(seen, 2); c.byteLength = count(); return true; }
      return false;
    }, 1 | 2);
    c.hasData = true;
  }

  OpNode op(int depth) {
    OpNode n;
    bool hasOriginal = false;
    object(depth, [&](std::string_view key, unsigned& seen) {
      if (key == "name") {
        once(seen, 1);
        r_.peek() == '"' ? r_.string(n.name) : decline();
      } else if (key == "op") {
        once(seen, 2);
        r_.peek() == '"' ? r_.string(n.op) : decline();
      } else if (key == "originalOp") {
        once(seen, 4);
        hasOriginal = r_.peek() == '"';
        hasOriginal ? r_.string(n.originalOp) : r_.skip(depth + 1);
      } else if (key == "inputs") {
        once(seen, 8);
        list(n.inputs, strings_, [&] { return string(); });
      } else if (key == "outputs") {
        once(seen, 16);
        array([&] { n.outputs.push_back(decl(depth + 2)); });
      } else if (key == "attrs") {
        once(seen, 32);
        if (r_.peek() == 'n') { r_.null(); return true; }
        object(depth + 1, [&](std::string_view name, unsigned&) {
          std::string k(name);  // `name` may view a scratch buffer the value's reading reuses
          n.attrs[std::move(k)] = attr();  // like parseGraph: a repeated attribute takes the last value
          return true;
        });
      } else if (key == "placement") {
        once(seen, 64);
        if (r_.peek() != '{') return false;
        object(depth + 1, [&](std::string_view field, unsigned& placed) {
          if (field != "device") return false;
          once(placed, 1);
          if (r_.peek() != '"') return false;
          r_.string(n.placementDevice);
          return true;
        });
      } else {
        return false;
      }
      return true;
    }, 1 | 2 | 8 | 16);
    if (!hasOriginal) n.originalOp = n.op;
    return n;
  }

  // parseAttr's rules: a number, string or bool; or a list of only strings (non-empty) or only numbers and bools.
  AttrValue attr() {
    AttrValue a;
    switch (r_.peek()) {
      case '"': a.kind = AttrValue::Kind::String; r_.string(a.string); break;
      case 't': case 'f': a.kind = AttrValue::Kind::Bool; a.boolean = r_.boolean(); break;
      case '[': {
        // A list of strings if its first element is one; otherwise of numbers and bools.
        const size_t stringsBase = strings_.size(), numbersBase = numbers_.size();
        bool firstItem = true, strings = false;
        array([&] {
          const char c = r_.peek();
          if (firstItem) {
            strings = c == '"';
            firstItem = false;
          }
          if (strings) strings_.push_back(string());
          else numbers_.push_back(c == 't' || c == 'f' ? (r_.boolean() ? 1.0 : 0.0) : number());
        });
        a.kind = strings ? AttrValue::Kind::Strings : AttrValue::Kind::Numbers;
        moveOut(a.strings, strings_, stringsBase);
        moveOut(a.numbers, numbers_, numbersBase);
        break;
      }
      default: a.kind = AttrValue::Kind::Number; a.number = number();
    }
    return a;
  }
};

}  // namespace

Graph parseGraphText(const std::string& text, const std::string& what) {
  try {
    JsonReader r(text, what);
    return DirectReader(r).graph();
  } catch (const GraphError&) {
    // Declined: the tree path decides, with its exact error message when the text is at fault.
  }
  return parseGraph(parseJsonText(text, what));
}

namespace {

// `where` is a callable so that the path in the message ("devices[3999]") is only built for a bad entry.
template <typename Where>
Device parseDevice(const std::string& s, const Where& where) {
  if (s == "ane") return Device::ane;
  if (s == "gpu") return Device::gpu;
  if (s == "cpu") return Device::cpu;
  throw GraphError("options: " + where() + ": unknown device '" + s + "' (expected ane, gpu or cpu)");
}

Roofline parseRoofline(const Json& chip, const std::string& unit) {
  const Json* u = chip.get(unit);
  if (!u || !u->isObject()) throw GraphError("options: chip." + unit + " is missing");
  Roofline r;
  auto num = [&](const char* key, double& out, bool positive) {
    const Json* v = u->get(key);
    if (!v || !v->isNumber() || !std::isfinite(v->number) || v->number < 0 || (positive && v->number == 0))
      throw GraphError(std::string("options: chip.") + unit + "." + key + " must be a " + (positive ? "positive" : "non-negative") + " number");
    out = v->number;
  };
  num("tflops", r.tflops, true);
  num("bandwidthGBs", r.bandwidthGBs, true);
  num("dispatchMs", r.dispatchMs, false);
  return r;
}

}  // namespace

RunOptions parseOptions(const Json& j, const Graph& g) {
  if (!j.isObject()) throw GraphError("options: expected an object");
  RunOptions o;
  const Json* chip = j.get("chip");
  if (!chip || !chip->isObject()) throw GraphError("options: 'chip' (ChipParams) is missing");
  const Json* id = chip->get("id");
  o.chipId = id && id->isString() ? id->string : "?";
  o.ane = parseRoofline(*chip, "ane");
  o.gpu = parseRoofline(*chip, "gpu");
  o.cpu = parseRoofline(*chip, "cpu");
  const Json* devices = j.get("devices");
  if (devices && !devices->isNull()) {
    if (!devices->isArray()) throw GraphError("options: 'devices' must be an array");
    if (devices->array.size() != g.ops.size())
      throw GraphError("options: 'devices' has " + std::to_string(devices->array.size()) + " entries but the graph has " +
                       std::to_string(g.ops.size()) + " ops");
    for (size_t i = 0; i < devices->array.size(); i++) {
      const Json& d = devices->array[i];
      if (!d.isString()) throw GraphError("options: devices[" + std::to_string(i) + "] must be a string");
      o.devices.push_back(parseDevice(d.string, [&] { return "devices[" + std::to_string(i) + "]"; }));
    }
  } else {
    // Without an explicit list, the placement carried by the IR decides; unplaced ops count as ANE.
    for (const auto& op : g.ops)
      o.devices.push_back(op.placementDevice.empty() ? Device::ane : parseDevice(op.placementDevice, [&] { return "placement of op '" + op.name + "'"; }));
  }
  if (const Json* seed = j.get("seed"); seed && seed->isNumber() && std::isfinite(seed->number))
    o.seed = static_cast<uint64_t>(static_cast<int64_t>(seed->number));
  if (const Json* ex = j.get("execute"); ex && ex->isBool()) o.execute = ex->boolean;
  if (const Json* ane = chip->get("ane"); ane && ane->isObject()) {
    const Json* ws = ane->get("workingSetBytes");
    if (ws && ws->isNumber() && std::isfinite(ws->number) && ws->number > 0) o.aneWorkingSetBytes = ws->number;
  }
  {
    // ane-guide ch.17: reduced axis >= 192 switches to the transpose route, >= 384 from M3 (A17 Pro on phones).
    const Json* fam = chip->get("family");
    const Json* gen = chip->get("generation");
    if (fam && fam->isString() && gen && gen->isNumber()) {
      const bool early = (fam->string == "M" && gen->number <= 2) || (fam->string == "A" && gen->number <= 16);
      o.aneLastAxisReduceLimit = early ? 192 : 384;
    }
  }
  if (const Json* seg = j.get("segmentation"); seg && !seg->isNull()) {
    if (!seg->isString() || (seg->string != "coreml" && seg->string != "fixed"))
      throw GraphError("options: 'segmentation' must be \"coreml\" or \"fixed\"");
    o.segment = seg->string == "coreml";
  }
  if (const Json* th = j.get("threads"); th && !th->isNull()) {
    if (!th->isNumber() || !std::isfinite(th->number) || th->number < 1 || th->number > 64 || th->number != static_cast<int>(th->number))
      throw GraphError("options: 'threads' must be an integer from 1 to 64");
    o.threads = static_cast<int>(th->number);
  }
  return o;
}

}  // namespace ane
