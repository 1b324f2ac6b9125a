#include "json_napi.hpp"

#include <cmath>

#include "errors.hpp"

namespace ane {
namespace {

// Deep enough for any graph IR (ops nest ~5 levels), shallow enough that hostile input cannot exhaust
// the native stack.
constexpr int kMaxDepth = 64;

Json convert(Napi::Env env, Napi::Value v, const std::string& what, int depth) {
  if (depth > kMaxDepth) throw GraphError(what + ": JSON nests deeper than " + std::to_string(kMaxDepth) + " levels");
  Json out;
  switch (v.Type()) {
    case napi_undefined:
    case napi_null:
      out.kind = Json::Kind::Null;
      break;
    case napi_boolean:
      out.kind = Json::Kind::Bool;
      out.boolean = v.As<Napi::Boolean>().Value();
      break;
    case napi_number:
      out.kind = Json::Kind::Number;
      out.number = v.As<Napi::Number>().DoubleValue();
      break;
    case napi_string:
      out.kind = Json::Kind::String;
      out.string = v.As<Napi::String>().Utf8Value();
      break;
    case napi_object:
      if (v.IsArray()) {
        Napi::Array a = v.As<Napi::Array>();
        out.kind = Json::Kind::Array;
        uint32_t n = a.Length();
        out.array.reserve(n);
        for (uint32_t i = 0; i < n; i++) out.array.push_back(convert(env, a.Get(i), what, depth + 1));
      } else {
        Napi::Object o = v.As<Napi::Object>();
        out.kind = Json::Kind::Object;
        Napi::Array keys = o.GetPropertyNames();
        uint32_t n = keys.Length();
        out.object.reserve(n);
        for (uint32_t i = 0; i < n; i++) {
          Napi::Value key = keys.Get(i);
          std::string k = key.ToString().Utf8Value();
          out.object.emplace_back(k, convert(env, o.Get(key), what, depth + 1));
        }
      }
      break;
    default:
      throw GraphError(what + ": unexpected JavaScript value (function, symbol or bigint) in the JSON");
  }
  return out;
}

}  // namespace

Json jsonFromArgument(Napi::Env env, Napi::Value value, const std::string& what) {
  // Text is read natively (json_parse.cpp); an already-parsed object is walked through N-API.
  if (value.IsString()) return parseJsonText(value.As<Napi::String>().Utf8Value(), what);
  if (value.IsObject()) return convert(env, value, what, 0);
  throw GraphError(what + " must be a JSON string");
}

}  // namespace ane
