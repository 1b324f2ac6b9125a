#include "executor.hpp"

#include <cmath>
#include <cstring>
#include <exception>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "errors.hpp"
#include "fp16.hpp"
#include "op_registry.hpp"
#include "tensor.hpp"

namespace ane {

namespace {

// Below this many input + output elements an op runs both paths on the calling thread: even a hand-off to
// a spinning helper (~1-2 µs) costs more than such an op (squeeze-excitation convs on 1×1 maps, biases).
constexpr size_t kParallelMinElems = 4096;
// Ops at least this large run both paths side by side even right after the helper missed a job.
constexpr size_t kAlwaysParallelElems = 262144;
// Outputs at least this large are rounded and compared half on each thread (the helper is idle then, and a
// hand-off costs ~1-2 µs: from 16K elements on it pays; 64K left most of MobileNet's outputs on one thread,
// ~5% of its run).
constexpr size_t kSplitCompareElems = 16384;

struct Stored {
  bool ready = false;   // available (a constant may still be undecoded: see haveF32 / haveLow)
  std::string missing;  // why the value is not available
  Tensor f32;           // the fp32 reference's value
  // The fp16 path's value, every element exactly a binary16 value (rounded when produced), kept as fp32 so
  // kernels read it without a widening pass. Integer and bool values (indices, masks, casts to int) are not
  // fp16 on the device either: with `exact` they are kept unrounded.
  Tensor low;
  bool exact = false;
  // Constants are decoded lazily, each path's copy on the thread that runs that path.
  bool haveF32 = false, haveLow = false;
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
void seededInput(const TensorDecl& d, uint64_t seed, FloatBuf& out) {
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

void decodeConstant(const ConstantDecl& c, const Shape& shape, const uint8_t* weights, FloatBuf& out) {
  const int64_t n = numel(shape);
  out.resize(static_cast<size_t>(n));
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

/** The constant's fp32 values in the weight blob, when they can be read in place (fp32, 4-byte aligned). */
const float* blobFloats(const ConstantDecl& c, const uint8_t* weights) {
  const uint8_t* p = weights + c.offset;
  if (!c.hasData || c.decl.dtype != DType::fp32 || reinterpret_cast<uintptr_t>(p) % alignof(float) != 0) return nullptr;
  return reinterpret_cast<const float*>(p);
}

// The fp32 reference for a constant: a view of the blob when its fp32 data are aligned for float reads.
void decodeReference(const ConstantDecl& c, const Shape& shape, const uint8_t* weights, FloatBuf& out) {
  if (const float* f = blobFloats(c, weights)) return out.view(f, static_cast<size_t>(numel(shape)));
  decodeConstant(c, shape, weights, out);
}

// The fp16 path's copy of a constant: the weights rounded to binary16 (integer constants kept exact).
void decodeLow(const ConstantDecl& c, const Shape& shape, const uint8_t* weights, bool exact, FloatBuf& out) {
  const uint8_t* p = weights + c.offset;
  if (!exact && c.hasData && c.decl.dtype == DType::fp32 && reinterpret_cast<uintptr_t>(p) % alignof(float) == 0) {
    out.resize(static_cast<size_t>(numel(shape)));
    return roundToHalves(reinterpret_cast<const float*>(p), out.data(), out.size());  // one pass, no fp32 copy first
  }
  decodeConstant(c, shape, weights, out);
  if (!exact) roundToHalves(out.data(), out.data(), out.size());
}

// `low` is the fp16 path's value (binary16-exact, or an exact integer), `ref` the reference's.
void compareScalar(const float* low, const float* ref, size_t n, LayerNumerics& num, bool& overflow) {
  for (size_t i = 0; i < n; i++) {
    if (std::isinf(low[i])) { num.infCount++; if (std::isfinite(ref[i])) overflow = true; continue; }
    if (std::isnan(low[i])) { num.nanCount++; if (std::isfinite(ref[i])) overflow = true; continue; }
    if (!std::isfinite(ref[i])) continue;  // the reference itself blew up: no meaningful error
    const double abs = std::fabs(static_cast<double>(low[i]) - ref[i]);
    num.maxAbsError = std::max(num.maxAbsError, abs);
    num.maxRelError = std::max(num.maxRelError, abs / std::max(std::fabs(static_cast<double>(ref[i])), kRelFloor));
  }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define ANE_HAVE_AVX2_COMPARE 1
// Same arithmetic as compareScalar (doubles, exact max), 8 values at a time; a block holding an inf/NaN on
// either side goes through compareScalar, so counts and maxima are bit-identical to the scalar path.
/** The largest float <= v (v >= 0). */
inline float floatAtMost(double v) {
  float f = static_cast<float>(v);
  if (static_cast<double>(f) > v) f = std::nextafter(f, 0.0f);
  return f;
}

// Most blocks cannot raise either maximum once the running maxima have settled, and that can be shown in
// float arithmetic, 8 lanes at once: with x = |a − b| exact, fl32(x) < L (a float <= maxAbs) implies
// x < L, so the double |a − b| <= maxAbs; and fl32(x) < fl32(fl32(R·denF)·(1 − 2^-20)) with R a float
// <= maxRel and denF = max(|b|, largest float <= 1e-3) <= den implies x < R·den·(1 − 2^-21), so the double
// quotient is <= maxRel. Such blocks skip the double arithmetic; all others take it unchanged. R is only
// used from 1e-30 up, where the float products stay normal (no loss of relative precision).
// With Round, `low` holds the fp16 path's unrounded results: each block is rounded to binary16 and stored
// back before it is compared, one pass over the output instead of a rounding pass and a comparison pass.
template <bool Round>
__attribute__((target("avx2,f16c"))) void compareAvx2(std::conditional_t<Round, float*, const float*> low, const float* ref, size_t n,
                                                     LayerNumerics& num, bool& overflow) {
  const __m256d sign = _mm256_set1_pd(-0.0), floor = _mm256_set1_pd(kRelFloor), shrink = _mm256_set1_pd(1.0 - 0x1p-40);
  const __m256i expF = _mm256_set1_epi32(0x7f800000);
  const __m256 signF = _mm256_set1_ps(-0.0f), floorF = _mm256_set1_ps(floatAtMost(kRelFloor)), shrinkF = _mm256_set1_ps(1.0f - 0x1p-20f);
  __m256d maxAbs = _mm256_setzero_pd(), maxRel = _mm256_setzero_pd();
  __m256 absLimit = _mm256_setzero_ps(), relLimit = _mm256_setzero_ps();  // 0: every block takes the double path
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 a = _mm256_loadu_ps(low + i);
    if constexpr (Round) {
      a = _mm256_cvtph_ps(_mm256_cvtps_ph(a, _MM_FROUND_TO_NEAREST_INT));
      _mm256_storeu_ps(low + i, a);
    }
    const __m256 b = _mm256_loadu_ps(ref + i);
    const __m256i aExp = _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_castps_si256(a), expF), expF);
    const __m256i bExp = _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_castps_si256(b), expF), expF);
    if (!_mm256_testz_si256(aExp, aExp) || !_mm256_testz_si256(bExp, bExp)) {
      compareScalar(low + i, ref + i, 8, num, overflow);
      continue;
    }
    const __m256 absF = _mm256_andnot_ps(signF, _mm256_sub_ps(a, b));
    const __m256 boundF = _mm256_mul_ps(_mm256_mul_ps(relLimit, _mm256_max_ps(_mm256_andnot_ps(signF, b), floorF)), shrinkF);
    const __m256 settled = _mm256_and_ps(_mm256_cmp_ps(absF, absLimit, _CMP_LT_OQ), _mm256_cmp_ps(absF, boundF, _CMP_LT_OQ));
    if (_mm256_movemask_ps(settled) == 0xff) continue;
    for (int half = 0; half < 2; half++) {
      const __m256d ad = _mm256_cvtps_pd(half ? _mm256_extractf128_ps(a, 1) : _mm256_castps256_ps128(a));
      const __m256d bd = _mm256_cvtps_pd(half ? _mm256_extractf128_ps(b, 1) : _mm256_castps256_ps128(b));
      const __m256d abs = _mm256_andnot_pd(sign, _mm256_sub_pd(ad, bd));
      const __m256d den = _mm256_max_pd(_mm256_andnot_pd(sign, bd), floor);
      maxAbs = _mm256_max_pd(maxAbs, abs);
      // The division (the slowest instruction here) only where a quotient could raise its lane's maximum:
      // abs < fl(fl(maxRel·den)·(1 − 2^-40)) < maxRel·den implies fl(abs / den) <= maxRel, so skipped
      // lanes could not have changed the result.
      const __m256d bound = _mm256_mul_pd(_mm256_mul_pd(maxRel, den), shrink);
      const __m256d raise = _mm256_cmp_pd(abs, bound, _CMP_GE_OQ);
      if (!_mm256_testz_pd(raise, raise)) maxRel = _mm256_max_pd(maxRel, _mm256_div_pd(abs, den));
    }
    double lane[4], absMax = 0, relMax = 0;
    _mm256_storeu_pd(lane, maxAbs);
    for (double v : lane) absMax = std::max(absMax, v);
    _mm256_storeu_pd(lane, maxRel);
    for (double v : lane) relMax = std::max(relMax, v);
    absLimit = _mm256_set1_ps(floatAtMost(absMax));
    const float r = floatAtMost(relMax);
    relLimit = _mm256_set1_ps(r >= 1e-30f ? r : 0.0f);
  }
  double lanes[4];
  _mm256_storeu_pd(lanes, maxAbs);
  for (double v : lanes) num.maxAbsError = std::max(num.maxAbsError, v);
  _mm256_storeu_pd(lanes, maxRel);
  for (double v : lanes) num.maxRelError = std::max(num.maxRelError, v);
  if constexpr (Round) roundToHalves(low + i, low + i, n - i);
  compareScalar(low + i, ref + i, n - i, num, overflow);
}

bool hostHasAvx2F16C() {
  static const bool yes = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("f16c");
  }();
  return yes;
}
#endif

void compare(const float* low, const float* ref, size_t n, LayerNumerics& num, bool& overflow) {
#ifdef ANE_HAVE_AVX2_COMPARE
  if (hostHasAvx2F16C()) return compareAvx2<false>(low, ref, n, num, overflow);
#endif
  compareScalar(low, ref, n, num, overflow);
}

/** Rounds low[0, n) to binary16 in place, then compares it with ref (fused into one pass where possible). */
void roundAndCompare(float* low, const float* ref, size_t n, LayerNumerics& num, bool& overflow) {
#ifdef ANE_HAVE_AVX2_COMPARE
  if (hostHasAvx2F16C()) return compareAvx2<true>(low, ref, n, num, overflow);
#endif
  roundToHalves(low, low, n);
  compareScalar(low, ref, n, num, overflow);
}

void compare(const FloatBuf& low, const FloatBuf& ref, LayerNumerics& num, bool& overflow) {
  compare(low.data(), ref.data(), low.size(), num, overflow);
}

/** Folds `part` into `num`; maxima and counts do not depend on how the elements were split. */
void merge(LayerNumerics& num, const LayerNumerics& part) {
  num.maxAbsError = std::max(num.maxAbsError, part.maxAbsError);
  num.maxRelError = std::max(num.maxRelError, part.maxRelError);
  num.infCount += part.infCount;
  num.nanCount += part.nanCount;
}

// Storage of released values, reused for later outputs of the run and of later runs in the process (like
// onnxruntime's arena, which lives as long as its session): storage only, never values — every buffer handed
// out is written before it is read. A fresh large allocation is fresh pages from the kernel, faulted in and
// zeroed on first write; a recycled one costs nothing and is often still in cache. Both threads of a run, and
// runs that overlap (worker threads), allocate from it under its lock. Emptied by releaseExecutorMemory() or
// after kIdleRelease without a run (see Runtime).
class BufferPool {
 public:
  /** `b` gets room for n values, contents unspecified: the smallest pooled buffer that fits, else a new one.
   *  (Any fit, not just a close one: tensors shrink along a network, and a large early buffer reused for a
   *  smaller later tensor still saves faulting in fresh pages.) */
  void allocate(FloatBuf& b, size_t n) {
    if (n >= kMinPooled) {
      std::lock_guard<std::mutex> lock(m_);
      size_t best = free_.size();
      for (size_t i = 0; i < free_.size(); i++)
        if (free_[i].capacity >= n && (best == free_.size() || free_[i].capacity < free_[best].capacity)) best = i;
      if (best != free_.size()) {
        Entry e = std::move(free_[best]);
        free_.erase(free_.begin() + static_cast<std::ptrdiff_t>(best));
        bytes_ -= e.capacity * sizeof(float);
        b.adopt(std::move(e.storage), e.capacity, n);
        return;
      }
    }
    b.resize(n);
  }
  /** Takes `b`'s storage (if it owns any worth keeping) for reuse, leaving `b` empty. */
  void recycle(FloatBuf& b) {
    size_t capacity = 0;
    std::unique_ptr<float[]> storage = b.surrender(capacity);
    if (!storage || capacity < kMinPooled) return;
    std::lock_guard<std::mutex> lock(m_);
    free_.push_back({std::move(storage), capacity});
    bytes_ += capacity * sizeof(float);
    while (bytes_ > kMaxBytes) {  // oldest first
      bytes_ -= free_.front().capacity * sizeof(float);
      free_.erase(free_.begin());
    }
  }

  /** Frees everything pooled. */
  void clear() {
    std::vector<Entry> drop;
    {
      std::lock_guard<std::mutex> lock(m_);
      drop.swap(free_);
      bytes_ = 0;
    }
  }

 private:
  static constexpr size_t kMinPooled = 16384;          // 64 KiB: malloc reuses smaller blocks well itself
  static constexpr size_t kMaxBytes = size_t{256} << 20;  // bounds what the process keeps beyond live values
  struct Entry {
    std::unique_ptr<float[]> storage;
    size_t capacity;
  };
  std::mutex m_;
  std::vector<Entry> free_;
  size_t bytes_ = 0;
};

// When the caller had to run a job itself, the helper was not getting a core (a busy machine): the next few
// small ops then run on one thread without posting anything, 4, 8, ... up to 64 of them, doubling while it
// keeps happening. Posting to a helper that cannot run only adds hand-off work and a spinning thread competing
// for the core. Which thread runs what never changes the results.
class HandOffBackoff {
 public:
  bool allows() {
    if (skip_ == 0) return true;
    skip_--;
    return false;
  }
  void record(bool callerRanIt) {
    span_ = callerRanIt ? std::min(span_ ? span_ * 2 : 4, 64) : 0;
    skip_ = span_;
  }

 private:
  int span_ = 0, skip_ = 0;
};

// One helper thread for the whole run, fed an op at a time. A thread per op paid its start-up and, worse,
// began with empty thread-local GEMM/im2col buffers each time, so every op page-faulted them in afresh.
// A posted job is claimed by whichever thread gets to it first: the helper, or the caller in finish() if the
// helper has not started it yet. On a busy machine (more runnable threads than cores) the helper may not
// be scheduled for milliseconds; the caller then runs the job itself instead of waiting for a time slice,
// and degrades to one thread rather than to worse than one. Results do not depend on which thread ran it.
// Waits spin for a few µs, then yield the core at each check, and sleep on the condition variable after
// ~50 µs: most hand-offs follow within microseconds, and a futex sleep + wake-up costs tens of µs each way.
class Helper {
 public:
  Helper() : thread_([this] { loop(); }) {}
  ~Helper() {
    {
      std::lock_guard<std::mutex> lock(m_);
      quit_.store(true);
    }
    cv_.notify_all();
    thread_.join();
  }
  /** Posts `job` (which must not throw: callers capture exceptions themselves); the previous one is finished. */
  void start(std::function<void()> job) {
    job_ = std::move(job);  // nobody reads job_ until it is claimed, after the store below
    {
      std::lock_guard<std::mutex> lock(m_);
      state_.store(kPosted, std::memory_order_release);
    }
    cv_.notify_all();
  }
  /** Returns once the posted job has run: here, if the helper has not claimed it yet (then true). */
  bool finish() {
    int posted = kPosted;
    if (state_.compare_exchange_strong(posted, kRunning, std::memory_order_acq_rel)) {
      job_();
      state_.store(kDone, std::memory_order_release);
      return true;
    }
    if (waitFor(kDone)) return false;
    std::unique_lock<std::mutex> lock(m_);
    cv_.wait(lock, [&] { return state_.load(std::memory_order_acquire) == kDone; });
    return false;
  }

 private:
  enum : int { kDone = 0, kPosted = 1, kRunning = 2 };
  static void pause() {
#if defined(__x86_64__) || defined(__i386__)
    _mm_pause();
#endif
  }
  /** Waits for `state_ == want` without sleeping for up to ~50 µs; true if it got there. The first few µs
   *  spin on the core; after that each check yields it, so the wait does not take the core from the thread
   *  it is waiting for. */
  bool waitFor(int want) {
    const auto start = std::chrono::steady_clock::now();
    for (;;) {
      for (int i = 0; i < 64; i++) {
        if (state_.load(std::memory_order_acquire) == want) return true;
        pause();
      }
      const auto waited = std::chrono::steady_clock::now() - start;
      if (quit_.load(std::memory_order_relaxed) || waited > std::chrono::microseconds(50)) return state_.load(std::memory_order_acquire) == want;
      if (waited > std::chrono::microseconds(3)) std::this_thread::yield();
    }
  }
  void loop() {
    for (;;) {
      if (!waitFor(kPosted)) {
        std::unique_lock<std::mutex> lock(m_);
        cv_.wait(lock, [&] { return state_.load(std::memory_order_acquire) == kPosted || quit_.load(); });
        if (quit_.load()) return;
      }
      int posted = kPosted;
      if (!state_.compare_exchange_strong(posted, kRunning, std::memory_order_acq_rel)) continue;  // the caller took it
      job_();
      {
        std::lock_guard<std::mutex> lock(m_);
        state_.store(kDone, std::memory_order_release);
      }
      cv_.notify_all();
    }
  }
  std::mutex m_;
  std::condition_variable cv_;
  std::atomic<int> state_{kDone};
  std::atomic<bool> quit_{false};
  std::function<void()> job_;
  std::thread thread_;  // last: starts once the members above exist
};

// What outlives a run: the buffer pool and one helper thread. A helper started per run began with empty
// thread-local GEMM/im2col/Winograd scratch every time (megabytes, faulted in afresh: ~7,000 page faults per
// ResNet-50 run), and paid a thread start. Both are dropped by releaseExecutorMemory() or once no run has
// been active for kIdleRelease (a janitor thread waits for that), so an idle extension host holds nothing.
// Never destroyed: at process exit its threads are blocked on a condition variable and simply end with it.
class Runtime {
 public:
  static Runtime& get() {
    static Runtime* r = new Runtime;
    return *r;
  }
  BufferPool pool;

  void runStarted() {
    std::lock_guard<std::mutex> lock(m_);
    active_++;
    generation_++;
  }
  void runEnded() {
    {
      std::lock_guard<std::mutex> lock(m_);
      active_--;
      generation_++;
      if (!janitor_.joinable()) janitor_ = std::thread([this] { janitor(); });
    }
    cv_.notify_all();
  }
  /** The kept helper, or a new one (an overlapping run takes its own). */
  std::unique_ptr<Helper> takeHelper() {
    std::unique_ptr<Helper> h;
    {
      std::lock_guard<std::mutex> lock(m_);
      h = std::move(idle_);
    }
    return h ? std::move(h) : std::make_unique<Helper>();
  }
  /** Keeps `h` for the next run (one is enough: a second is joined here). */
  void returnHelper(std::unique_ptr<Helper> h) {
    if (!h) return;
    std::unique_ptr<Helper> extra;
    {
      std::lock_guard<std::mutex> lock(m_);
      if (idle_) extra = std::move(h);
      else idle_ = std::move(h);
    }
  }
  /** Frees the pool and the kept helper (and with it its thread-local scratch). */
  void release() {
    std::unique_ptr<Helper> h;
    {
      std::lock_guard<std::mutex> lock(m_);
      h = std::move(idle_);
    }
    pool.clear();
  }

 private:
  static constexpr std::chrono::seconds kIdleRelease{5};
  Runtime() = default;
  void janitor() {
    std::unique_lock<std::mutex> lock(m_);
    for (;;) {
      cv_.wait(lock, [&] { return active_ == 0 && generation_ != released_; });
      const uint64_t seen = generation_;
      // Released only after kIdleRelease with no run started or ended in between.
      if (cv_.wait_for(lock, kIdleRelease, [&] { return generation_ != seen; })) continue;
      released_ = seen;
      lock.unlock();
      release();
      lock.lock();
    }
  }
  std::mutex m_;
  std::condition_variable cv_;
  int active_ = 0;
  uint64_t generation_ = 0, released_ = 0;
  std::unique_ptr<Helper> idle_;
  std::thread janitor_;
};

// Marks a run active for its lifetime and hands its helper back at the end, also when it throws.
struct RunScope {
  Runtime& rt = Runtime::get();
  std::unique_ptr<Helper> helper;  // taken at the first op big enough to split (threads >= 2)
  RunScope() { rt.runStarted(); }
  ~RunScope() {
    rt.returnHelper(std::move(helper));
    rt.runEnded();
  }
};

}  // namespace

void releaseExecutorMemory() { Runtime::get().release(); }

ExecResult execute(const Graph& g, const Analysis& a, const uint8_t* weights, uint64_t weightsSize,
                   const std::map<std::string, InputData>& inputs, const RunOptions& o) {
  (void)weightsSize;  // ranges were checked by analyzeGraph
  ExecResult res;
  res.layers.resize(g.ops.size());
  std::vector<Stored> store(a.values.size());
  RunScope scope;
  std::unique_ptr<Helper>& helper = scope.helper;
  HandOffBackoff backoff;

  std::vector<bool> exact(a.values.size(), false);
  for (size_t vid = 0; vid < a.values.size(); vid++) {
    const ValueInfo& v = a.values[vid];
    const DType d = v.kind == ValueInfo::Kind::Input ? g.inputs[v.index].dtype
                    : v.kind == ValueInfo::Kind::Constant ? g.constants[v.index].decl.dtype
                                                          : g.ops[v.index].outputs[v.outIndex].dtype;
    exact[vid] = isExactDType(d);
  }
  auto makeReady = [&](int vid, FloatBuf&& values) {
    Stored& s = store[vid];
    s.f32.shape = s.low.shape = a.values[vid].shape;
    s.f32.data = std::move(values);
    s.exact = exact[vid];
    if (s.exact) {
      s.low.data = s.f32.data;
    } else {
      s.low.data.resize(s.f32.data.size());
      roundToHalves(s.f32.data.data(), s.low.data.data(), s.low.data.size());
    }
    s.haveF32 = s.haveLow = s.ready = true;
  };
  // The fp16 path's copies of constants decoded ahead of time by the helper (see decodeAhead).
  std::vector<FloatBuf> early(a.values.size());
  std::vector<char> hasEarly(a.values.size(), 0);
  BufferPool& pool = scope.rt.pool;
  auto release = [&](int vid) {
    if (hasEarly[vid]) { pool.recycle(early[vid]); hasEarly[vid] = 0; }
    if (a.values[vid].graphOutput) return;
    pool.recycle(store[vid].f32.data);
    pool.recycle(store[vid].low.data);
    store[vid] = Stored{};
    store[vid].missing = "released";
  };

  // With execution disabled (cost model only) no input is materialized: seeding a large input costs more
  // than costing the whole graph.
  for (size_t vid = 0; o.execute && vid < a.values.size(); vid++) {
    const ValueInfo& v = a.values[vid];
    if (v.kind != ValueInfo::Kind::Input) continue;
    const TensorDecl& d = g.inputs[v.index];
    FloatBuf data;
    data.resize(static_cast<size_t>(numel(v.shape)));
    auto it = inputs.find(d.name);
    if (it != inputs.end()) std::memcpy(data.data(), it->second.data, sizeof(float) * data.size());
    else seededInput(d, o.seed, data);
    makeReady(static_cast<int>(vid), std::move(data));
  }

  // Constants are checked here, decoded when first read (each path's copy by decodeFor, on that path's
  // thread) and dropped after their last reader.
  auto constantReady = [&](int vid) -> bool {
    Stored& s = store[vid];
    if (s.ready) return true;
    const ValueInfo& v = a.values[vid];
    const ConstantDecl& c = g.constants[v.index];
    if ((!c.hasData && !c.hasValue) || !v.known) {
      s.missing = "constant '" + c.decl.name + "' has no data" + (c.unavailable.empty() ? "" : " (" + c.unavailable + ")");
      return false;
    }
    s.exact = exact[vid];
    s.f32.shape = s.low.shape = v.shape;
    s.ready = true;
    return true;
  };
  auto decodeFor = [&](int vid, bool reference) {
    Stored& s = store[vid];
    const ConstantDecl& c = g.constants[a.values[vid].index];
    if (reference && !s.haveF32) {
      decodeReference(c, s.f32.shape, weights, s.f32.data);
      s.haveF32 = true;
    } else if (!reference && !s.haveLow) {
      if (hasEarly[vid]) s.low.data = std::move(early[vid]);
      else decodeLow(c, s.low.shape, weights, s.exact, s.low.data);
      hasEarly[vid] = 0;
      s.haveLow = true;
    }
  };
  // The fp16 path hands a conv/linear weight to the kernel unrounded, viewed in the blob, and the kernel
  // rounds it as it packs it (OpInfo::roundsWeight): no rounded copy of ~100 MB of ResNet-50 weights is
  // written and read back. Only for non-integer fp32 weights readable in place, not already decoded.
  auto roundsInKernel = [&](const OpInfo* info, size_t input, int vid) {
    return info && info->roundsWeight && input == 1 && vid >= 0 && a.values[vid].kind == ValueInfo::Kind::Constant && !exact[vid] &&
           !store[vid].haveLow && blobFloats(g.constants[a.values[vid].index], weights) != nullptr;
  };
  // Run on the helper once its share of the op at `pos` is done (it would otherwise wait while the main
  // thread finishes): decodes the fp16 path's copies of the next op's other constants (biases, elementwise
  // operands), which the main thread would otherwise decode at the start of that op. It touches only
  // constants that the current op does not read (checked first: the main thread may be decoding those right
  // now), and writes only `early`, never `store`.
  auto decodeAhead = [&](size_t pos) {
    if (pos + 1 >= a.order.size()) return;
    const std::vector<int>& now = a.opInputs[a.order[pos]];
    const std::vector<int>& next = a.opInputs[a.order[pos + 1]];
    const OpInfo* nextInfo = findOp(g.ops[a.order[pos + 1]].op);
    for (size_t i = 0; i < next.size(); i++) {
      const int vid = next[i];
      if (vid < 0 || a.values[vid].kind != ValueInfo::Kind::Constant || hasEarly[vid]) continue;
      if (std::find(now.begin(), now.end(), vid) != now.end()) continue;
      if (store[vid].haveLow || roundsInKernel(nextInfo, i, vid)) continue;
      const ConstantDecl& c = g.constants[a.values[vid].index];
      if ((!c.hasData && !c.hasValue) || !a.values[vid].known) continue;
      try {
        decodeLow(c, a.values[vid].shape, weights, exact[vid], early[vid]);
        hasEarly[vid] = 1;
      } catch (...) {
        // Left to the main thread, which reports it when the op reads the constant.
      }
    }
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

    std::vector<const Tensor*> in32(ins.size(), nullptr), in16(ins.size(), nullptr);
    Tensor unrounded;  // the weight passed with roundOnRead, if any
    std::vector<char> decodeLowCopy(ins.size(), 1);
    for (size_t i = 0; i < ins.size(); i++) {
      if (ins[i] < 0) continue;
      in32[i] = &store[ins[i]].f32;
      in16[i] = &store[ins[i]].low;
      if (roundsInKernel(info, i, ins[i])) {
        unrounded.shape = a.values[ins[i]].shape;
        unrounded.data.view(blobFloats(g.constants[a.values[ins[i]].index], weights), static_cast<size_t>(numel(unrounded.shape)));
        unrounded.roundOnRead = true;
        in16[i] = &unrounded;
        decodeLowCopy[i] = 0;
      }
    }
    std::vector<Tensor> out32(outs.size()), out16(outs.size());
    // One path of the op, start to finish, on whichever thread runs it: its copies of constant inputs, its
    // outputs (uninitialized when the kernel writes them all) and the kernel. The fp16 outputs are rounded
    // to binary16 afterwards, in finishRange.
    auto runPath = [&](bool reference) {
      for (size_t i = 0; i < ins.size(); i++)
        if (ins[i] >= 0 && a.values[ins[i]].kind == ValueInfo::Kind::Constant && (reference || decodeLowCopy[i])) decodeFor(ins[i], reference);
      std::vector<Tensor>& result = reference ? out32 : out16;
      for (size_t k = 0; k < outs.size(); k++) {
        result[k].shape = a.values[outs[k]].shape;
        const size_t n = static_cast<size_t>(numel(result[k].shape));
        pool.allocate(result[k].data, n);
        if (!info->fills) std::fill(result[k].data.begin(), result[k].data.end(), 0.0f);
      }
      info->kernel(op, reference ? in32 : in16, result);
    };
    // Rounds elements [from, to) of fp16 output k to binary16 and compares them with the reference. Large
    // outputs are done half on each thread: rounding is elementwise and the statistics (maxima, counts) do
    // not depend on the split.
    auto finishRange = [&](size_t k, size_t from, size_t to, LayerNumerics& num, bool& overflowed) {
      float* low = out16[k].data.data() + from;
      if (exact[outs[k]]) compare(low, out32[k].data.data() + from, to - from, num, overflowed);
      else roundAndCompare(low, out32[k].data.data() + from, to - from, num, overflowed);
    };
    try {
      // The fp32 reference and the fp16 path are independent: with 2+ threads they run side by side
      // (small ops stay on one thread, where a thread start would cost more than the op).
      size_t work = 0;
      for (int vid : outs) work += static_cast<size_t>(numel(a.values[vid].shape));
      for (int vid : ins) work += vid >= 0 ? static_cast<size_t>(numel(a.values[vid].shape)) : 0;
      // Large ops always go to both threads: the helper has time to wake up while the caller works, and a
      // stolen job costs only the hand-off; the backoff is for runs of small ops.
      const bool parallel = o.threads >= 2 && work >= kParallelMinElems && (work >= kAlwaysParallelElems || backoff.allows());
      if (parallel) {
        std::exception_ptr failed;
        if (!helper) helper = scope.rt.takeHelper();
        helper->start([&] {
          try {
            runPath(true);
          } catch (...) {
            failed = std::current_exception();
          }
          decodeAhead(pos);
        });
        try {
          runPath(false);
        } catch (...) {
          helper->finish();
          throw;
        }
        backoff.record(helper->finish());
        if (failed) std::rethrow_exception(failed);
      } else {
        runPath(true);
        runPath(false);
      }
    } catch (const Unsupported& e) {
      skip(e.what(), "upstream " + op.name + " was not executed");
      continue;
    }
    bool overflow = false;
    for (size_t k = 0; k < outs.size(); k++) {
      const size_t n = out16[k].data.size();
      if (helper && o.threads >= 2 && n >= kSplitCompareElems) {
        const size_t half = n / 2;
        LayerNumerics part;
        bool partOverflow = false;
        helper->start([&] { finishRange(k, 0, half, part, partOverflow); });
        finishRange(k, half, n, layer.numerics, overflow);
        backoff.record(helper->finish());
        merge(layer.numerics, part);
        overflow = overflow || partOverflow;
      } else {
        finishRange(k, 0, n, layer.numerics, overflow);
      }
      Stored& s = store[outs[k]];
      s.exact = exact[outs[k]];
      s.low = std::move(out16[k]);
      s.f32 = std::move(out32[k]);
      s.ready = s.haveF32 = s.haveLow = true;
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
    if (a.values[vid].kind == ValueInfo::Kind::Constant) {
      decodeFor(vid, true);
      decodeFor(vid, false);
    }
    OutputRun r;
    r.name = name;
    r.shape = s.f32.shape;
    r.fp32.assign(s.f32.data.begin(), s.f32.data.end());
    r.fp16.assign(s.low.data.begin(), s.low.data.end());
    LayerNumerics num;
    bool unused = false;
    compare(s.low.data, s.f32.data, num, unused);
    r.maxAbsError = num.maxAbsError;
    r.maxRelError = num.maxRelError;
    res.outputs.push_back(std::move(r));
  }
  // Everything still held (graph outputs, now copied into res) goes back to the pool for the next run.
  for (size_t vid = 0; vid < store.size(); vid++) {
    pool.recycle(store[vid].f32.data);
    pool.recycle(store[vid].low.data);
    if (hasEarly[vid]) pool.recycle(early[vid]);
  }
  return res;
}

}  // namespace ane
