// A small JSON value tree. The addon lets V8's own JSON.parse read the strings it is given and then
// copies the result into this tree, so the C++ side never hand-parses JSON text and never touches
// napi values after the conversion.
#pragma once
#include <cstring>
#include <string>
#include <utility>
#include <vector>

namespace ane {

struct Json {
  enum class Kind { Null, Bool, Number, String, Array, Object };
  Kind kind = Kind::Null;
  bool boolean = false;
  double number = 0;
  std::string string;
  std::vector<Json> array;
  std::vector<std::pair<std::string, Json>> object;

  // Keys are looked up by literal: a const char* overload avoids building a std::string per lookup.
  const Json* get(const char* key) const {
    if (kind != Kind::Object) return nullptr;
    const size_t n = std::strlen(key);
    for (const auto& kv : object)
      if (kv.first.size() == n && std::memcmp(kv.first.data(), key, n) == 0) return &kv.second;
    return nullptr;
  }
  const Json* get(const std::string& key) const { return get(key.c_str()); }
  void swap(Json& o) noexcept {
    std::swap(kind, o.kind);
    std::swap(boolean, o.boolean);
    std::swap(number, o.number);
    string.swap(o.string);
    array.swap(o.array);
    object.swap(o.object);
  }
    bool isNull() const { return kind == Kind::Null; }
  bool isNumber() const { return kind == Kind::Number; }
  bool isString() const { return kind == Kind::String; }
  bool isArray() const { return kind == Kind::Array; }
  bool isObject() const { return kind == Kind::Object; }
  bool isBool() const { return kind == Kind::Bool; }
};

}  // namespace ane
