// JSON for the addon's arguments: a strict RFC 8259 reader (json_parse.cpp) that can either build a small
// value tree (`Json`, for the options and for error reporting) or be pulled token by token (`JsonReader`),
// so that graph_parse.cpp fills the Graph structs straight from the text without a tree in between.
#pragma once
#include <cstring>
#include <string>
#include <string_view>
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
  bool isNull() const { return kind == Kind::Null; }
  bool isNumber() const { return kind == Kind::Number; }
  bool isString() const { return kind == Kind::String; }
  bool isArray() const { return kind == Kind::Array; }
  bool isObject() const { return kind == Kind::Object; }
  bool isBool() const { return kind == Kind::Bool; }
};

/** A pull reader over JSON text. Every syntax error throws GraphError "<what> is not valid JSON: ... at
 *  offset N"; callers check types themselves with peek(). */
class JsonReader {
 public:
  // Deep enough for any graph IR (ops nest ~5 levels), shallow enough that hostile input cannot exhaust
  // the native stack.
  static constexpr int kMaxDepth = 64;

  JsonReader(const std::string& text, const std::string& what) : s_(text), what_(what) {}

  /** The first character of the next value ('{', '[', '"', 't', 'f', 'n', or a number's first character);
   *  0 at the end of the text. */
  char peek() {
    ws();
    return p_ < s_.size() ? s_[p_] : '\0';
  }
  /** Object members: call objectBegin() on '{', then member(first, key) until it returns false (at '}');
   *  `key` views the text (or a scratch buffer when the key has escapes) until the next call. */
  void objectBegin() { expect('{'); }
  bool member(bool& first, std::string_view& key);
  /** Array items: arrayBegin() on '[', then item(first) before each element until it returns false (at ']'). */
  void arrayBegin() { expect('['); }
  bool item(bool& first);
  std::string string();
  void string(std::string& out);
  double number();
  bool boolean();
  void null() { literal("null"); }
  /** Reads and discards one value of any kind, checking its syntax; `depth` is the nesting it starts at. */
  void skip(int depth);
  /** A whole value as a tree. */
  Json value(int depth);
  /** Only whitespace may follow the document. */
  void end();
  [[noreturn]] void fail(const std::string& why) const;

 private:
  const std::string& s_;
  const std::string& what_;
  size_t p_ = 0;
  std::string scratch_;                                // keys with escapes
  std::vector<Json> items_;                            // open arrays' elements, innermost last
  std::vector<std::pair<std::string, Json>> members_;  // open objects' members, innermost last

  void ws() {
    while (p_ < s_.size() && (s_[p_] == ' ' || s_[p_] == '\t' || s_[p_] == '\n' || s_[p_] == '\r')) p_++;
  }
  bool eat(char c) {
    ws();
    if (p_ < s_.size() && s_[p_] == c) { p_++; return true; }
    return false;
  }
  void expect(char c) {
    if (!eat(c)) fail(std::string("expected '") + c + "'");
  }
  void literal(const char* word);
  unsigned hex4();
  void depthCheck(int depth) const;
};

/** Strict JSON text → Json; throws GraphError "<what> is not valid JSON: ..." naming the offset. */
Json parseJsonText(const std::string& text, const std::string& what);

}  // namespace ane
