// Rounding for output. A value rounded to some decimal places is returned as the double nearest
// that decimal, so that writers using the shortest round-trip form (JSON, std::to_chars) print it
// as written: 6.6, never 6.6000000000000005 (which round(v / 0.1) * 0.1 gives).
#pragma once

#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>
#include <system_error>

namespace truce {

namespace decimal_detail {
// Powers of ten that doubles hold exactly.
inline constexpr std::array<double, 16> kPow10 = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                                  1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
}  // namespace decimal_detail

// v rounded to `decimals` places (clamped to [0, 15]); never negative zero.
inline double round_decimals(double v, int decimals) {
  using decimal_detail::kPow10;
  const double p = kPow10[static_cast<std::size_t>(decimals < 0 ? 0 : decimals > 15 ? 15 : decimals)];
  const double r = std::round(v * p) / p;
  return r == 0 ? 0.0 : r;
}

// v rounded to a multiple of `step` (a public grid, e.g. 0.05 degrees), printed without binary
// artefacts (steps with up to 9 decimals).
inline double round_to_grid(double v, double step) { return round_decimals(std::round(v / step) * step, 9); }

// std::from_chars for doubles (general format), with a fast exact path for the plain decimals of
// field reports ("41.258531", "-3.5", "2800"): at most 15 digits, no exponent, is m / 10^k with m
// and 10^k exact doubles, so one IEEE division rounds it correctly,
// to the same double from_chars gives. Anything else (exponents, long digit strings, junk) goes to
// std::from_chars itself; the result, end pointer and error are always from_chars'.
inline std::from_chars_result from_chars_double(const char* first, const char* last, double& value) {
  using decimal_detail::kPow10;
  const char* p = first;
  const bool neg = p != last && *p == '-';
  if (neg) ++p;
  std::uint64_t m = 0;
  const char* const int_start = p;
  while (p != last && static_cast<unsigned>(*p - '0') < 10u) m = m * 10 + static_cast<unsigned>(*p++ - '0');
  const auto int_digits = p - int_start;
  std::ptrdiff_t decimals = 0;
  if (p != last && *p == '.') {
    const char* const frac_start = ++p;
    while (p != last && static_cast<unsigned>(*p - '0') < 10u) m = m * 10 + static_cast<unsigned>(*p++ - '0');
    decimals = p - frac_start;
  }
  // The fast path only for a whole plain decimal of at most 15 digits (leading zeros included, so
  // m < 10^15 < 2^53); a text that goes on (an exponent, a second point, other characters) or
  // anything longer is left entirely to from_chars.
  if (p != last || int_digits + decimals == 0 || int_digits + decimals > 15) {
    return std::from_chars(first, last, value);
  }
  const double x = static_cast<double>(m) / kPow10[static_cast<std::size_t>(decimals)];
  value = neg ? -x : x;
  return {last, std::errc()};
}

// Appends v with exactly `decimals` digits after the point: the text of std::to_chars(...,
// std::chars_format::fixed, decimals), several times faster for the usual coordinates, distances
// and angles. The fast path rounds |v| * 10^decimals to an integer when that product is farther
// than its rounding error from a half (so the rounding direction of the exact value is certain);
// anything else (near-halves, huge values, NaN, infinities, more than 9 decimals) is printed by
// std::to_chars itself.
inline void append_fixed(std::string& out, double v, int decimals) {
  using decimal_detail::kPow10;
  if (decimals >= 0 && decimals <= 9 && std::isfinite(v)) {
    const double a = std::fabs(v) * kPow10[static_cast<std::size_t>(decimals)];
    if (a < 4503599627370496.0) {  // 2^52: a - floor(a) is exact
      const double whole = std::floor(a), frac = a - whole;
      if (std::fabs(frac - 0.5) > a * 5e-16 + 1e-300) {
        const auto q = static_cast<std::uint64_t>(whole) + (frac > 0.5 ? 1u : 0u);
        char digits[24];
        const auto r = std::to_chars(digits, digits + sizeof digits, q);
        const auto n = static_cast<std::size_t>(r.ptr - digits);
        const auto d = static_cast<std::size_t>(decimals);
        if (std::signbit(v)) out += '-';
        if (d == 0) {
          out.append(digits, n);
        } else if (n <= d) {
          out += "0.";
          out.append(d - n, '0');
          out.append(digits, n);
        } else {
          out.append(digits, n - d);
          out += '.';
          out.append(digits + (n - d), d);
        }
        return;
      }
    }
  }
  char b[400];
  const auto r = std::to_chars(b, b + sizeof b, v, std::chars_format::fixed, decimals);
  out.append(b, r.ptr);
}

}  // namespace truce
