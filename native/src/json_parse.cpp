// A strict RFC 8259 JSON reader for the addon's arguments. Walking a V8 object tree through N-API costs
// ~50 µs per op of a graph (4,000 ops: ~200 ms); reading the UTF-8 text directly costs a few µs.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <vector>

#include "errors.hpp"
#include "json.hpp"

namespace ane {

void JsonReader::fail(const std::string& why) const {
  throw GraphError(what_ + " is not valid JSON: " + why + " at offset " + std::to_string(p_));
}

void JsonReader::depthCheck(int depth) const {
  if (depth > kMaxDepth) throw GraphError(what_ + ": JSON nests deeper than " + std::to_string(kMaxDepth) + " levels");
}

void JsonReader::literal(const char* word) {
  ws();
  const size_t n = std::strlen(word);
  if (s_.compare(p_, n, word) != 0) fail("unexpected token");
  p_ += n;
}

void JsonReader::end() {
  ws();
  if (p_ != s_.size()) fail("unexpected text after the JSON value");
}

bool JsonReader::member(bool& first, std::string_view& key) {
  if (first) {
    first = false;
    if (eat('}')) return false;
  } else {
    if (eat('}')) return false;
    expect(',');
  }
  ws();
  if (p_ >= s_.size() || s_[p_] != '"') fail("expected a string key");
  // Keys without escapes (all of a graph's) are viewed in place instead of copied.
  size_t q = p_ + 1;
  while (q < s_.size() && s_[q] != '"' && s_[q] != '\\' && static_cast<unsigned char>(s_[q]) >= 0x20) q++;
  if (q < s_.size() && s_[q] == '"') {
    key = std::string_view(s_.data() + p_ + 1, q - p_ - 1);
    p_ = q + 1;
  } else {
    string(scratch_);
    key = scratch_;
  }
  expect(':');
  return true;
}

bool JsonReader::item(bool& first) {
  if (first) {
    first = false;
    return !eat(']');
  }
  if (eat(']')) return false;
  expect(',');
  return true;
}

bool JsonReader::boolean() {
  if (peek() == 't') { literal("true"); return true; }
  literal("false");
  return false;
}

void JsonReader::skip(int depth) {
  depthCheck(depth);
  bool first = true;
  std::string_view key;
  switch (peek()) {
    case '{':
      objectBegin();
      while (member(first, key)) skip(depth + 1);
      break;
    case '[':
      arrayBegin();
      while (item(first)) skip(depth + 1);
      break;
    case '"': {
      string(scratch_);
      break;
    }
    case 't': case 'f': boolean(); break;
    case 'n': null(); break;
    default: number();
  }
}

Json JsonReader::value(int depth) {
  depthCheck(depth);
  ws();
  if (p_ >= s_.size()) fail("unexpected end");
  Json out;
  const char c = s_[p_];
  if (c == '{') {
    p_++;
    out.kind = Json::Kind::Object;
    if (eat('}')) return out;
    // Members collect on a shared stack and move into an exactly sized vector once the object closes:
    // growing each vector member by member reallocated and moved every node several times.
    const size_t base = members_.size();
    do {
      ws();
      if (p_ >= s_.size() || s_[p_] != '"') fail("expected a string key");
      std::string key = string();
      expect(':');
      Json v = value(depth + 1);
      members_.emplace_back(std::move(key), std::move(v));
    } while (eat(','));
    expect('}');
    out.object.reserve(members_.size() - base);
    std::move(members_.begin() + static_cast<std::ptrdiff_t>(base), members_.end(), std::back_inserter(out.object));
    members_.resize(base);
  } else if (c == '[') {
    p_++;
    out.kind = Json::Kind::Array;
    if (eat(']')) return out;
    const size_t base = items_.size();
    do {
      Json v = value(depth + 1);
      items_.push_back(std::move(v));
    } while (eat(','));
    expect(']');
    out.array.reserve(items_.size() - base);
    std::move(items_.begin() + static_cast<std::ptrdiff_t>(base), items_.end(), std::back_inserter(out.array));
    items_.resize(base);
  } else if (c == '"') {
    out.kind = Json::Kind::String;
    out.string = string();
  } else if (c == 't' || c == 'f') {
    out.kind = Json::Kind::Bool;
    out.boolean = boolean();
  } else if (c == 'n') {
    null();
  } else {
    out.kind = Json::Kind::Number;
    out.number = number();
  }
  return out;
}

double JsonReader::number() {
  ws();
  const size_t start = p_;
  auto digits = [&] {
    const size_t d = p_;
    while (p_ < s_.size() && s_[p_] >= '0' && s_[p_] <= '9') p_++;
    if (p_ == d) fail("malformed number");
  };
  if (p_ < s_.size() && s_[p_] == '-') p_++;
  if (p_ < s_.size() && s_[p_] == '0') p_++;
  else digits();
  if (p_ < s_.size() && s_[p_] == '.') { p_++; digits(); }
  if (p_ < s_.size() && (s_[p_] == 'e' || s_[p_] == 'E')) {
    p_++;
    if (p_ < s_.size() && (s_[p_] == '+' || s_[p_] == '-')) p_++;
    digits();
  }
  // The grammar was checked above, and strtod stops where that grammar ends, so it can read in place (the
  // std::string is NUL-terminated). Integers of up to 15 digits, most of a graph's numbers, skip strtod.
  const char* b = s_.data() + start;
  const size_t len = p_ - start;
  const bool neg = *b == '-';
  const size_t nd = len - (neg ? 1 : 0);
  if (nd > 0 && nd <= 15) {
    int64_t v = 0;
    size_t i = neg ? 1 : 0;
    for (; i < len && b[i] >= '0' && b[i] <= '9'; i++) v = v * 10 + (b[i] - '0');
    if (i == len) return neg ? -static_cast<double>(v) : static_cast<double>(v);
  }
  return std::strtod(b, nullptr);
}

unsigned JsonReader::hex4() {
  if (p_ + 4 > s_.size()) fail("truncated \\u escape");
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    const char h = s_[p_++];
    v <<= 4;
    if (h >= '0' && h <= '9') v |= static_cast<unsigned>(h - '0');
    else if (h >= 'a' && h <= 'f') v |= static_cast<unsigned>(h - 'a' + 10);
    else if (h >= 'A' && h <= 'F') v |= static_cast<unsigned>(h - 'A' + 10);
    else fail("bad \\u escape");
  }
  return v;
}

namespace {
void utf8(std::string& out, unsigned cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}
}  // namespace

std::string JsonReader::string() {
  std::string out;
  string(out);
  return out;
}

void JsonReader::string(std::string& out) {
  ws();
  if (p_ >= s_.size() || s_[p_] != '"') fail("expected a string");
  p_++;  // opening quote
  // Fast path: a run without escapes is copied in one piece.
  {
    size_t q = p_;
    while (q < s_.size()) {
      const unsigned char c = static_cast<unsigned char>(s_[q]);
      if (c == '"' || c == '\\' || c < 0x20) break;
      q++;
    }
    out.assign(s_, p_, q - p_);
    p_ = q;
  }
  for (;;) {
    if (p_ >= s_.size()) fail("unterminated string");
    const char c = s_[p_++];
    if (c == '"') return;
    if (static_cast<unsigned char>(c) < 0x20) fail("control character in a string");
    if (c != '\\') { out += c; continue; }
    if (p_ >= s_.size()) fail("unterminated escape");
    const char e = s_[p_++];
    switch (e) {
      case '"': out += '"'; break;
      case '\\': out += '\\'; break;
      case '/': out += '/'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'u': {
        unsigned cp = hex4();
        if (cp >= 0xD800 && cp < 0xDC00 && p_ + 1 < s_.size() && s_[p_] == '\\' && s_[p_ + 1] == 'u') {
          const size_t save = p_;
          p_ += 2;
          const unsigned lo = hex4();
          if (lo >= 0xDC00 && lo < 0xE000) cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          else p_ = save;
        }
        utf8(out, cp);
        break;
      }
      default: fail("bad escape");
    }
  }
}

Json parseJsonText(const std::string& text, const std::string& what) {
  JsonReader r(text, what);
  Json v = r.value(0);
  r.end();
  return v;
}

}  // namespace ane
