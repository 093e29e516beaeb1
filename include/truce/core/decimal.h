// Rounding for output. A value rounded to some decimal places is returned as the double nearest
// that decimal, so that writers using the shortest round-trip form (JSON, std::to_chars) print it
// as written: 6.6, never 6.6000000000000005 (which round(v / 0.1) * 0.1 gives).
#pragma once

#include <array>
#include <cmath>

namespace truce {

// v rounded to `decimals` places (clamped to [0, 15]); never negative zero.
inline double round_decimals(double v, int decimals) {
  static constexpr std::array<double, 16> kPow10 = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                                    1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
  const double p = kPow10[static_cast<std::size_t>(decimals < 0 ? 0 : decimals > 15 ? 15 : decimals)];
  const double r = std::round(v * p) / p;
  return r == 0 ? 0.0 : r;
}

// v rounded to a multiple of `step` (a public grid, e.g. 0.05 degrees), printed without binary
// artefacts (steps with up to 9 decimals).
inline double round_to_grid(double v, double step) { return round_decimals(std::round(v / step) * step, 9); }

}  // namespace truce
