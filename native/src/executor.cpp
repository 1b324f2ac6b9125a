#include "executor.hpp"

#include <cmath>
#include <cstring>
#include <exception>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "errors.hpp"
#include "fp16.hpp"
#include "op_registry.hpp"
#include "tensor.hpp"

namespace ane {

namespace {

// Below this many input + output elements an op runs both paths on the calling thread: starting a thread
// and waiting for it costs tens of µs, more on a busy machine, which small ops (most of a mobile net)
// cannot win back.
constexpr size_t kParallelMinElems = 65536;

struct Stored {
  bool ready = false;
  std::string missing;  // why the value is not available
  Tensor f32;
  std::vector<uint16_t> f16;
  // Integer and bool values (indices, masks, casts to int) are not fp16 on the device either: the fp16 path
  // keeps them exact, in `low`, instead of rounding them into `f16`.
  bool exact = false;
  std::vector<float> low;
};

bool isExactDType(DType d) {
  return d == DType::int64 || d == DType::int32 || d == DType::int16 || d == DType::int8 || d == DType::uint8 || d == DType::boolean;
}

uint64_t splitmix(uint64_t& s) {
  uint64_t z = (s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

uint64_t hashName(const std::string& s) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

// Standard normal values from (seed, input name), so a run is reproducible and adding an input does
// not change the others.
void seededInput(const TensorDecl& d, uint64_t seed, std::vector<float>& out) {
  uint64_t s = seed ^ hashName(d.name);
  const bool integer = d.dtype != DType::fp32 && d.dtype != DType::fp16 && d.dtype != DType::fp64;
  const uint64_t range = d.dtype == DType::boolean ? 2 : 10;
  for (size_t i = 0; i < out.size(); i += 2) {
    const double u1 = (static_cast<double>(splitmix(s) >> 11) + 1.0) / 9007199254740993.0;
    const double u2 = static_cast<double>(splitmix(s) >> 11) / 9007199254740992.0;
    const double r = std::sqrt(-2.0 * std::log(u1));
    const double z0 = r * std::cos(2 * M_PI * u2), z1 = r * std::sin(2 * M_PI * u2);
    // Integer inputs (ids) get small non-negative integers instead, bool inputs (masks) 0 or 1.
    out[i] = integer ? static_cast<float>(splitmix(s) % range) : static_cast<float>(z0);
    if (i + 1 < out.size()) out[i + 1] = integer ? static_cast<float>(splitmix(s) % range) : static_cast<float>(z1);
  }
}

template <typename T>
T readLE(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));  // the blob is little-endian, as is every host this builds for
  return v;
}

void decodeConstant(const ConstantDecl& c, const Shape& shape, const uint8_t* weights, std::vector<float>& out) {
  const int64_t n = numel(shape);
  out.assign(static_cast<size_t>(n), 0.0f);
  if (c.hasData && c.decl.dtype == DType::fp32) {
    // Most weights: one copy instead of a dtype switch per element.
    std::memcpy(out.data(), weights + c.offset, sizeof(float) * static_cast<size_t>(n));
  } else if (c.hasData) {
    const uint8_t* p = weights + c.offset;
    for (int64_t i = 0; i < n; i++) {
      switch (c.decl.dtype) {
        case DType::fp32: out[i] = readLE<float>(p + 4 * i); break;
        case DType::fp16: out[i] = halfToFloat(readLE<uint16_t>(p + 2 * i)); break;
        case DType::fp64: out[i] = static_cast<float>(readLE<double>(p + 8 * i)); break;
        case DType::int64: out[i] = static_cast<float>(readLE<int64_t>(p + 8 * i)); break;
        case DType::int32: out[i] = static_cast<float>(readLE<int32_t>(p + 4 * i)); break;
        case DType::int16: out[i] = static_cast<float>(readLE<int16_t>(p + 2 * i)); break;
        case DType::int8: out[i] = static_cast<float>(static_cast<int8_t>(p[i])); break;
        case DType::uint8: case DType::boolean: out[i] = static_cast<float>(p[i]); break;
        default: throw GraphError("constant '" + c.decl.name + "' has dtype " + dtypeName(c.decl.dtype) + ", which the simulator cannot read");
      }
    }
  } else {
    for (int64_t i = 0; i < n; i++) out[i] = static_cast<float>(c.value.size() == 1 ? c.value[0] : c.value[i]);
  }
}

void compareExact(const std::vector<float>& low, const std::vector<float>& ref, LayerNumerics& num, bool& overflow) {
  for (size_t i = 0; i < low.size(); i++) {
    if (std::isinf(low[i])) { num.infCount++; if (std::isfinite(ref[i])) overflow = true; continue; }
    if (std::isnan(low[i])) { num.nanCount++; if (std::isfinite(ref[i])) overflow = true; continue; }
    if (!std::isfinite(ref[i])) continue;
    const double abs = std::fabs(static_cast<double>(low[i]) - ref[i]);
    num.maxAbsError = std::max(num.maxAbsError, abs);
    num.maxRelError = std::max(num.maxRelError, abs / std::max(std::fabs(static_cast<double>(ref[i])), kRelFloor));
  }
}

void compareScalar(const uint16_t* h, const float* ref, size_t n, LayerNumerics& num, bool& overflow) {
  for (size_t i = 0; i < n; i++) {
    if (halfIsInf(h[i])) { num.infCount++; if (std::isfinite(ref[i])) overflow = true; continue; }
    if (halfIsNaN(h[i])) { num.nanCount++; if (std::isfinite(ref[i])) overflow = true; continue; }
    if (!std::isfinite(ref[i])) continue;  // the reference itself blew up: no meaningful error
    const double a = halfToFloat(h[i]), b = ref[i];
    const double abs = std::fabs(a - b);
    num.maxAbsError = std::max(num.maxAbsError, abs);
    num.maxRelError = std::max(num.maxRelError, abs / std::max(std::fabs(b), kRelFloor));
  }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define ANE_HAVE_AVX2_COMPARE 1
// Same arithmetic as compareScalar (doubles, exact max), 8 values at a time; a block holding an inf/NaN on
// either side goes through compareScalar, so counts and maxima are bit-identical to the scalar path.
__attribute__((target("avx2,f16c"))) void compareAvx2(const uint16_t* h, const float* ref, size_t n, LayerNumerics& num, bool& overflow) {
  const __m256d sign = _mm256_set1_pd(-0.0), floor = _mm256_set1_pd(kRelFloor);
  const __m128i expH = _mm_set1_epi16(0x7c00);
  const __m256i expF = _mm256_set1_epi32(0x7f800000);
  __m256d maxAbs = _mm256_setzero_pd(), maxRel = _mm256_setzero_pd();
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i hv = _mm_loadu_si128(reinterpret_cast<const __m128i*>(h + i));
    const __m256 b = _mm256_loadu_ps(ref + i);
    const __m128i hExp = _mm_cmpeq_epi16(_mm_and_si128(hv, expH), expH);
    const __m256i bExp = _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_castps_si256(b), expF), expF);
    if (!_mm_testz_si128(hExp, hExp) || !_mm256_testz_si256(bExp, bExp)) {
      compareScalar(h + i, ref + i, 8, num, overflow);
      continue;
    }
    const __m256 a = _mm256_cvtph_ps(hv);
    for (int half = 0; half < 2; half++) {
      const __m256d ad = _mm256_cvtps_pd(half ? _mm256_extractf128_ps(a, 1) : _mm256_castps256_ps128(a));
      const __m256d bd = _mm256_cvtps_pd(half ? _mm256_extractf128_ps(b, 1) : _mm256_castps256_ps128(b));
      const __m256d abs = _mm256_andnot_pd(sign, _mm256_sub_pd(ad, bd));
      const __m256d den = _mm256_max_pd(_mm256_andnot_pd(sign, bd), floor);
      maxAbs = _mm256_max_pd(maxAbs, abs);
      maxRel = _mm256_max_pd(maxRel, _mm256_div_pd(abs, den));
    }
  }
  double lanes[4];
  _mm256_storeu_pd(lanes, maxAbs);
  for (double v : lanes) num.maxAbsError = std::max(num.maxAbsError, v);
  _mm256_storeu_pd(lanes, maxRel);
  for (double v : lanes) num.maxRelError = std::max(num.maxRelError, v);
  compareScalar(h + i, ref + i, n - i, num, overflow);
}

bool hostHasAvx2F16C() {
  static const bool yes = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("f16c");
  }();
  return yes;
}
#endif

void compare(const std::vector<uint16_t>& h, const std::vector<float>& ref, LayerNumerics& num, bool& overflow) {
#ifdef ANE_HAVE_AVX2_COMPARE
  if (hostHasAvx2F16C()) return compareAvx2(h.data(), ref.data(), h.size(), num, overflow);
#endif
  compareScalar(h.data(), ref.data(), h.size(), num, overflow);
}

// One helper thread for the whole run, fed an op at a time. A thread per op paid its start-up and, worse,
// began with empty thread-local GEMM/im2col buffers each time, so every op page-faulted them in afresh.
class Helper {
 public:
  Helper() : thread_([this] { loop(); }) {}
  ~Helper() {
    {
      std::lock_guard<std::mutex> lock(m_);
      quit_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  /** Runs `job` on the helper; the job must not throw (callers capture exceptions themselves). */
  void start(std::function<void()> job) {
    {
      std::lock_guard<std::mutex> lock(m_);
      job_ = std::move(job);
      pending_ = true;
      done_ = false;
    }
    cv_.notify_all();
  }
  void wait() {
    std::unique_lock<std::mutex> lock(m_);
    cv_.wait(lock, [&] { return done_; });
  }

 private:
  void loop() {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock<std::mutex> lock(m_);
        cv_.wait(lock, [&] { return pending_ || quit_; });
        if (!pending_) return;
        job = std::move(job_);
        pending_ = false;
      }
      job();
      {
        std::lock_guard<std::mutex> lock(m_);
        done_ = true;
      }
      cv_.notify_all();
    }
  }
  std::mutex m_;
  std::condition_variable cv_;
  bool pending_ = false, done_ = true, quit_ = false;
  std::function<void()> job_;
  std::thread thread_;  // last: starts once the members above exist
};

}  // namespace

ExecResult execute(const Graph& g, const Analysis& a, const uint8_t* weights, uint64_t weightsSize,
                   const std::map<std::string, InputData>& inputs, const RunOptions& o) {
  (void)weightsSize;  // ranges were checked by analyzeGraph
  ExecResult res;
  res.layers.resize(g.ops.size());
  std::vector<Stored> store(a.values.size());
  std::unique_ptr<Helper> helper;  // created at the first op big enough to split (threads >= 2)

  std::vector<bool> exact(a.values.size(), false);
  for (size_t vid = 0; vid < a.values.size(); vid++) {
    const ValueInfo& v = a.values[vid];
    const DType d = v.kind == ValueInfo::Kind::Input ? g.inputs[v.index].dtype
                    : v.kind == ValueInfo::Kind::Constant ? g.constants[v.index].decl.dtype
                                                          : g.ops[v.index].outputs[v.outIndex].dtype;
    exact[vid] = isExactDType(d);
  }
  auto makeReady = [&](int vid, std::vector<float>&& values) {
    Stored& s = store[vid];
    s.f32.shape = a.values[vid].shape;
    s.f32.data = std::move(values);
    s.exact = exact[vid];
    if (s.exact) {
      s.low = s.f32.data;
    } else {
      s.f16.resize(s.f32.data.size());
      floatsToHalves(s.f32.data.data(), s.f16.data(), s.f16.size());
    }
    s.ready = true;
  };
  auto release = [&](int vid) {
    if (a.values[vid].graphOutput) return;
    store[vid] = Stored{};
    store[vid].missing = "released";
  };

  // With execution disabled (cost model only) no input is materialized: seeding a large input costs more
  // than costing the whole graph.
  for (size_t vid = 0; o.execute && vid < a.values.size(); vid++) {
    const ValueInfo& v = a.values[vid];
    if (v.kind != ValueInfo::Kind::Input) continue;
    const TensorDecl& d = g.inputs[v.index];
    std::vector<float> data(static_cast<size_t>(numel(v.shape)));
    auto it = inputs.find(d.name);
    if (it != inputs.end()) std::memcpy(data.data(), it->second.data, sizeof(float) * data.size());
    else seededInput(d, o.seed, data);
    makeReady(static_cast<int>(vid), std::move(data));
  }

  // Constants are decoded when first read and dropped after their last reader.
  auto constantReady = [&](int vid) -> bool {
    Stored& s = store[vid];
    if (s.ready) return true;
    const ValueInfo& v = a.values[vid];
    const ConstantDecl& c = g.constants[v.index];
    if ((!c.hasData && !c.hasValue) || !v.known) {
      s.missing = "constant '" + c.decl.name + "' has no data" + (c.unavailable.empty() ? "" : " (" + c.unavailable + ")");
      return false;
    }
    std::vector<float> values;
    decodeConstant(c, v.shape, weights, values);
    makeReady(vid, std::move(values));
    return true;
  };

  for (size_t pos = 0; pos < a.order.size(); pos++) {
    const int opIndex = a.order[pos];
    const OpNode& op = g.ops[opIndex];
    LayerRun& layer = res.layers[opIndex];
    const std::vector<int>& ins = a.opInputs[opIndex];
    const std::vector<int>& outs = a.opOutputs[opIndex];
    auto finishInputs = [&] {
      for (int vid : ins)
        if (vid >= 0 && a.values[vid].lastUse == static_cast<int>(pos)) release(vid);
    };
    auto skip = [&](const std::string& why, const std::string& downstream) {
      layer.executed = false;
      layer.notExecuted = why;
      for (int vid : outs) store[vid].missing = downstream;
      finishInputs();
    };

    if (!o.execute) { skip("execution disabled (options.execute is false)", "execution disabled (options.execute is false)"); continue; }
    std::string missing;
    bool missingConstant = false;
    for (int vid : ins) {
      if (vid < 0) continue;
      const bool isConstant = a.values[vid].kind == ValueInfo::Kind::Constant;
      if (isConstant ? !constantReady(vid) : !store[vid].ready) {
        missing = store[vid].missing;
        missingConstant = isConstant;
        break;
      }
    }
    // Dependants name the op where the gap started: this one for a missing constant, else the upstream root.
    if (!missing.empty()) { skip(missing, missingConstant ? "upstream " + op.name + " was not executed" : missing); continue; }
    const OpInfo* info = findOp(op.op);
    if (!a.unsupported.empty() && !a.unsupported[opIndex].empty()) { skip(a.unsupported[opIndex], "upstream " + op.name + " was not executed"); continue; }
    if (!info || !info->kernel) { skip("no fp16 kernel for " + op.op + " yet", "upstream " + op.name + " was not executed"); continue; }
    bool shapesKnown = true;
    for (int vid : outs) shapesKnown = shapesKnown && a.values[vid].known;
    if (!shapesKnown) { skip("output shape of " + op.op + " is unknown", "upstream " + op.name + " was not executed"); continue; }

    std::vector<Tensor> out32(outs.size()), out16(outs.size());
    for (size_t k = 0; k < outs.size(); k++) {
      out32[k].shape = out16[k].shape = a.values[outs[k]].shape;
      out32[k].data.assign(static_cast<size_t>(numel(out32[k].shape)), 0.0f);
      out16[k].data.assign(out32[k].data.size(), 0.0f);
    }
    std::vector<const Tensor*> in32;
    std::vector<Tensor> wide(ins.size());
    std::vector<const Tensor*> in16;
    for (size_t i = 0; i < ins.size(); i++) {
      const int vid = ins[i];
      if (vid < 0) { in32.push_back(nullptr); in16.push_back(nullptr); continue; }
      in32.push_back(&store[vid].f32);
      wide[i].shape = store[vid].f32.shape;
      if (store[vid].exact) {
        wide[i].data = store[vid].low;
      } else {
        wide[i].data.resize(store[vid].f16.size());
        halvesToFloats(store[vid].f16.data(), wide[i].data.data(), wide[i].data.size());
      }
      in16.push_back(&wide[i]);
    }
    // The fp16 path's outputs are rounded to binary16 on the thread that produced them, while the reference
    // may still be running.
    std::vector<std::vector<uint16_t>> halves(outs.size());
    auto roundOutputs = [&] {
      for (size_t k = 0; k < outs.size(); k++) {
        if (exact[outs[k]]) continue;
        halves[k].resize(out16[k].data.size());
        floatsToHalves(out16[k].data.data(), halves[k].data(), halves[k].size());
      }
    };
    try {
      // The fp32 reference and the fp16 path are independent: with 2+ threads they run side by side
      // (small ops stay on one thread, where a thread start would cost more than the op).
      size_t work = 0;
      for (const Tensor& t : out32) work += t.data.size();
      for (const Tensor* t : in32) work += t ? t->data.size() : 0;
      if (o.threads >= 2 && work >= kParallelMinElems) {
        std::exception_ptr failed;
        if (!helper) helper = std::make_unique<Helper>();
        helper->start([&] {
          try {
            info->kernel(op, in32, out32);
          } catch (...) {
            failed = std::current_exception();
          }
        });
        try {
          info->kernel(op, in16, out16);
          roundOutputs();
        } catch (...) {
          helper->wait();
          throw;
        }
        helper->wait();
        if (failed) std::rethrow_exception(failed);
      } else {
        info->kernel(op, in32, out32);
        info->kernel(op, in16, out16);
        roundOutputs();
      }
    } catch (const Unsupported& e) {
      skip(e.what(), "upstream " + op.name + " was not executed");
      continue;
    }
    wide.clear();
    bool overflow = false;
    for (size_t k = 0; k < outs.size(); k++) {
      Stored& s = store[outs[k]];
      s.exact = exact[outs[k]];
      if (s.exact) {
        s.low = std::move(out16[k].data);
      } else {
        s.f16 = std::move(halves[k]);
      }
      s.f32 = std::move(out32[k]);
      s.ready = true;
      if (s.exact) compareExact(s.low, s.f32.data, layer.numerics, overflow);
      else compare(s.f16, s.f32.data, layer.numerics, overflow);
    }
    layer.executed = true;
    if (overflow && res.firstOverflowLayer.empty()) res.firstOverflowLayer = op.name;
    finishInputs();
    for (int vid : outs)
      if (a.values[vid].lastUse < 0) release(vid);
  }

  for (const std::string& name : g.outputs) {
    const int vid = a.valueIds.at(name);
    if (a.values[vid].kind == ValueInfo::Kind::Constant) constantReady(vid);
    Stored& s = store[vid];
    if (!s.ready) continue;
    OutputRun r;
    r.name = name;
    r.shape = s.f32.shape;
    r.fp32 = s.f32.data;
    LayerNumerics num;
    bool unused = false;
    if (s.exact) {
      r.fp16 = s.low;
      compareExact(s.low, s.f32.data, num, unused);
    } else {
      r.fp16.resize(s.f16.size());
      halvesToFloats(s.f16.data(), r.fp16.data(), r.fp16.size());
      compare(s.f16, s.f32.data, num, unused);
    }
    r.maxAbsError = num.maxAbsError;
    r.maxRelError = num.maxRelError;
    res.outputs.push_back(std::move(r));
  }
  return res;
}

}  // namespace ane
