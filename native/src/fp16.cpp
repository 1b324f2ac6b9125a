#include "fp16.hpp"

#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace ane {

uint16_t floatToHalf(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000);
  const uint32_t a = x & 0x7fffffffu;
  if (a >= 0x38800000u && a < 0x477ff000u) {
    // Normal half: rebias the exponent (127 → 15) and round the 13 dropped bits to nearest even by adding
    // 0xfff plus the kept LSB before truncating; a carry into the exponent is still the right answer.
    return sign | static_cast<uint16_t>((a - 0x38000000u + 0x0fffu + ((a >> 13) & 1u)) >> 13);
  }
  if (a >= 0x7f800000u) {
    if (a > 0x7f800000u) return sign | 0x7e00 | static_cast<uint16_t>((a >> 13) & 0x3ff);  // quiet NaN, payload kept
    return sign | 0x7c00;
  }
  // 65520 (0x477ff000) is halfway between 65504, the largest half, and 65536: the tie goes to the even
  // neighbour, which is the overflow to infinity.
  if (a >= 0x477ff000u) return sign | 0x7c00;
  // Below 2^-14: a subnormal half, counted in units of 2^-24.
  const uint32_t exp = a >> 23;
  if (exp < 102) return sign;  // < 2^-25: rounds to zero (2^-25 itself ties to even zero, handled below)
  const uint32_t mant = (a & 0x7fffff) | 0x800000;
  const uint32_t shift = 126 - exp;  // 14..24
  uint32_t q = mant >> shift;
  const uint32_t rem = mant & ((1u << shift) - 1);
  const uint32_t halfway = 1u << (shift - 1);
  if (rem > halfway || (rem == halfway && (q & 1))) q++;
  return sign | static_cast<uint16_t>(q);  // q == 0x400 is the smallest normal, encoded correctly
}

float halfToFloat(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  const uint32_t exp = (h >> 10) & 0x1f;
  const uint32_t mant = h & 0x3ff;
  uint32_t bits;
  if (exp == 0) {
    const float v = static_cast<float>(mant) * 5.9604644775390625e-8f;  // mant · 2^-24, exact
    return sign ? -v : v;
  }
  if (exp == 31) bits = sign | 0x7f800000u | (mant << 13);
  else bits = sign | ((exp + 112) << 23) | (mant << 13);
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
// F16C converts 8 values per instruction with the same IEEE semantics as floatToHalf (round to nearest
// even, overflow to inf, subnormals kept, NaN quieted with the payload's top bits), so results do not depend
// on which path ran (widening quiets a signalling-NaN half, which is NaN either way). Selected at run time;
// the build needs no -mf16c.
namespace {
bool hostHasF16C() {
  static const bool yes = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx") && __builtin_cpu_supports("f16c");
  }();
  return yes;
}

__attribute__((target("avx,f16c"))) void floatsToHalvesF16C(const float* in, uint16_t* out, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), _mm256_cvtps_ph(_mm256_loadu_ps(in + i), _MM_FROUND_TO_NEAREST_INT));
  for (; i < n; i++) out[i] = floatToHalf(in[i]);
}

__attribute__((target("avx,f16c"))) void halvesToFloatsF16C(const uint16_t* in, float* out, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i))));
  for (; i < n; i++) out[i] = halfToFloat(in[i]);
}
__attribute__((target("avx,f16c"))) void roundToHalvesF16C(const float* in, float* out, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm256_cvtps_ph(_mm256_loadu_ps(in + i), _MM_FROUND_TO_NEAREST_INT)));
  for (; i < n; i++) out[i] = roundToHalf(in[i]);
}
}  // namespace
#define ANE_HAVE_F16C_PATH 1
#endif

void floatsToHalves(const float* in, uint16_t* out, size_t n) {
#ifdef ANE_HAVE_F16C_PATH
  if (hostHasF16C()) return floatsToHalvesF16C(in, out, n);
#endif
  for (size_t i = 0; i < n; i++) out[i] = floatToHalf(in[i]);
}

void roundToHalves(const float* in, float* out, size_t n) {
#ifdef ANE_HAVE_F16C_PATH
  if (hostHasF16C()) return roundToHalvesF16C(in, out, n);
#endif
  for (size_t i = 0; i < n; i++) out[i] = roundToHalf(in[i]);
}

void halvesToFloats(const uint16_t* in, float* out, size_t n) {
#ifdef ANE_HAVE_F16C_PATH
  if (hostHasF16C()) return halvesToFloatsF16C(in, out, n);
#endif
  // 65536 entries × 4 bytes: one table makes widening a load instead of bit surgery.
  static const float* table = [] {
    float* t = new float[65536];
    for (uint32_t i = 0; i < 65536; i++) t[i] = halfToFloat(static_cast<uint16_t>(i));
    return t;
  }();
  for (size_t i = 0; i < n; i++) out[i] = table[in[i]];
}

}  // namespace ane
