// N-API surface of ane_native (contract 4): version() and run(graphJson, weights, optionsJson, inputs).
// Every failure leaves as a JS Error with a message naming the op or tensor; nothing may crash the host.
#include <napi.h>

#include <chrono>
#include <map>
#include <new>

#include "analysis.hpp"
#include "buffer_plan.hpp"
#include "cost.hpp"
#include "errors.hpp"
#include "executor.hpp"
#include "graph.hpp"
#include "json_napi.hpp"
#include "result_json.hpp"
#include "tensor.hpp"

namespace {

constexpr const char* kVersion = "ane_native 0.1.0 (sim executor)";
// Activations of the fp16 plan beyond this are refused before anything is allocated.
constexpr uint64_t kMaxActivationBytes = uint64_t(4) << 30;

Napi::Value Version(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), kVersion); }

// The pool and helper thread the executor keeps between runs (they go anyway after a few idle seconds).
Napi::Value ReleaseMemory(const Napi::CallbackInfo& info) {
  ane::releaseExecutorMemory();
  return info.Env().Undefined();
}

Napi::Value RunImpl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  using Clock = std::chrono::steady_clock;
  const Clock::time_point t0 = Clock::now();
  auto since = [](Clock::time_point a) { return std::chrono::duration<double, std::milli>(Clock::now() - a).count(); };
  if (info.Length() < 3) throw ane::GraphError("run(graphJson, weights, optionsJson, inputs) needs at least 3 arguments");
  // Text (what addon.ts sends) is read straight into the Graph; an already-parsed object goes through N-API.
  const ane::Graph g = info[0].IsString() ? ane::parseGraphText(info[0].As<Napi::String>().Utf8Value(), "graphJson")
                                          : ane::parseGraph(ane::jsonFromArgument(env, info[0], "graphJson"));
  if (!info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
    throw ane::GraphError("weights must be a Uint8Array (use an empty one when the graph has no weights)");
  Napi::Uint8Array weights = info[1].As<Napi::Uint8Array>();
  const ane::RunOptions options = ane::parseOptions(ane::jsonFromArgument(env, info[2], "optionsJson"), g);
  ane::Analysis a = ane::analyzeGraph(g, weights.ByteLength());
  ane::inferShapes(g, a);

  std::map<std::string, ane::InputData> inputs;
  if (info.Length() >= 4 && !info[3].IsUndefined() && !info[3].IsNull()) {
    if (!info[3].IsObject()) throw ane::GraphError("inputs must be an object of Float32Array by input name");
    Napi::Object obj = info[3].As<Napi::Object>();
    Napi::Array keys = obj.GetPropertyNames();
    for (uint32_t i = 0; i < keys.Length(); i++) {
      const std::string name = keys.Get(i).ToString().Utf8Value();
      auto it = a.valueIds.find(name);
      if (it == a.valueIds.end() || a.values[it->second].kind != ane::ValueInfo::Kind::Input)
        throw ane::GraphError("inputs['" + name + "'] does not name a graph input");
      Napi::Value v = obj.Get(name);
      if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
        throw ane::GraphError("inputs['" + name + "'] must be a Float32Array");
      Napi::Float32Array arr = v.As<Napi::Float32Array>();
      const ane::Shape& s = a.values[it->second].shape;
      if (static_cast<int64_t>(arr.ElementLength()) != ane::numel(s))
        throw ane::GraphError("inputs['" + name + "'] has " + std::to_string(arr.ElementLength()) + " values but shape " + ane::formatShape(s) +
                              " needs " + std::to_string(ane::numel(s)));
      inputs[name] = {arr.Data(), arr.ElementLength()};
    }
  }

  const ane::BufferPlan plan = ane::planBuffers(g, a, 2);
  if (plan.peakBytes > kMaxActivationBytes)
    throw ane::GraphError("the graph needs " + std::to_string(plan.peakBytes >> 20) + " MiB of fp16 activations at peak, more than the 4 GiB the simulator allows");
  const double prepareMs = since(t0);
  const Clock::time_point tCost = Clock::now();
  const ane::CostResult costs = ane::costGraph(g, a, options);
  const double costMs = since(tCost);
  const Clock::time_point tExec = Clock::now();
  const ane::ExecResult exec = ane::execute(g, a, weights.Data(), weights.ByteLength(), inputs, options);
  const double executeMs = since(tExec);

  Napi::Object result = Napi::Object::New(env);
  ane::ResultText text = ane::resultJson(g, a, costs, plan, exec);
  std::string& json = text.json;
  // Where the call's time went (parse + validate + shapes + buffer plan / cost model / executor), for benchmarks.
  json.pop_back();
  json += ",\"timingMs\":{\"prepare\":" + std::to_string(prepareMs) + ",\"cost\":" + std::to_string(costMs) +
          ",\"execute\":" + std::to_string(executeMs) + ",\"total\":" + std::to_string(since(t0)) + "}}";
  // The result is almost always ASCII (op names from model files may not be): then V8 can take the bytes as
  // Latin-1 without a UTF-8 decoding pass over ~1 MB for a 4,000-op graph.
  napi_value str;
  napi_status st = text.ascii ? napi_create_string_latin1(env, json.data(), json.size(), &str)
                              : napi_create_string_utf8(env, json.data(), json.size(), &str);
  NAPI_THROW_IF_FAILED(env, st, Napi::Value());
  result.Set("result", Napi::Value(env, str));
  Napi::Object outputs = Napi::Object::New(env);
  for (const ane::OutputRun& r : exec.outputs) {
    Napi::Object pair = Napi::Object::New(env);
    Napi::Float32Array f16 = Napi::Float32Array::New(env, r.fp16.size());
    Napi::Float32Array f32 = Napi::Float32Array::New(env, r.fp32.size());
    std::copy(r.fp16.begin(), r.fp16.end(), f16.Data());
    std::copy(r.fp32.begin(), r.fp32.end(), f32.Data());
    pair.Set("fp16", f16);
    pair.Set("fp32", f32);
    outputs.Set(r.name, pair);
  }
  result.Set("outputs", outputs);
  return result;
}

Napi::Value Run(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    return RunImpl(info);
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::bad_alloc&) {
    throw Napi::Error::New(env, "ane_native: out of memory while running the graph");
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, std::string("ane_native: ") + e.what());
  } catch (...) {
    throw Napi::Error::New(env, "ane_native: unknown native failure");
  }
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("version", Napi::Function::New(env, Version, "version"));
  exports.Set("run", Napi::Function::New(env, Run, "run"));
  exports.Set("releaseMemory", Napi::Function::New(env, ReleaseMemory, "releaseMemory"));
  return exports;
}

}  // namespace

NODE_API_MODULE(ane_native, Init)
