// IEEE 754 binary16, written out rather than relying on _Float16 so the rounding is the same on every
// compiler: round-to-nearest-even, overflow to ±inf, gradual underflow to subnormals, NaN stays NaN.
#pragma once
#include <cstdint>
#include <cstddef>

namespace ane {

uint16_t floatToHalf(float f);
float halfToFloat(uint16_t h);
/** f rounded to the nearest binary16 value, returned as a float. */
inline float roundToHalf(float f) { return halfToFloat(floatToHalf(f)); }
void floatsToHalves(const float* in, uint16_t* out, size_t n);
void halvesToFloats(const uint16_t* in, float* out, size_t n);
/** out[i] = roundToHalf(in[i]); in may equal out. One pass instead of narrowing and widening again. */
void roundToHalves(const float* in, float* out, size_t n);
inline bool halfIsInf(uint16_t h) { return (h & 0x7fff) == 0x7c00; }
inline bool halfIsNaN(uint16_t h) { return (h & 0x7c00) == 0x7c00 && (h & 0x03ff) != 0; }

}  // namespace ane
