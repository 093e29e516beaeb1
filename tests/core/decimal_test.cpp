#include "truce/core/decimal.h"

#include <gtest/gtest.h>

#include <bit>
#include <charconv>
#include <cstdint>
#include <limits>
#include <random>
#include <string>

namespace truce {
namespace {

// The shortest text that reads back as v (what JSON writers print).
std::string shortest(double v) {
  char b[64];
  auto r = std::to_chars(b, b + sizeof b, v);
  return std::string(b, r.ptr);
}

TEST(RoundDecimals, PrintsAsTheDecimalItRoundsTo) {
  EXPECT_EQ(shortest(round_decimals(6.55000001, 1)), "6.6");
  EXPECT_EQ(shortest(round_decimals(2887.66, 1)), "2887.7");
  EXPECT_EQ(shortest(round_decimals(46.80236041, 7)), "46.8023604");
  EXPECT_EQ(shortest(round_decimals(3720.4, 0)), "3720");
  EXPECT_EQ(shortest(round_decimals(-0.04, 1)), "0");  // no negative zero
  EXPECT_EQ(shortest(round_decimals(-12.345, 2)), "-12.35");
}

TEST(RoundToGrid, PrintsTheGridValue) {
  EXPECT_EQ(shortest(round_to_grid(39.8123, 0.05)), "39.8");
  EXPECT_EQ(shortest(round_to_grid(46.7771, 0.01)), "46.78");
  EXPECT_EQ(shortest(round_to_grid(40.13, 0.05)), "40.15");
}

// The regression: round(v / step) * step printed 2887.7000000000003 and 6.6000000000000005 in
// reports and incident records. No rounded value may print more decimals than asked for.
TEST(RoundDecimals, NeverPrintsMoreDecimalsThanAsked) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> dist(-20000.0, 20000.0);
  for (int i = 0; i < 20000; ++i) {
    const double v = dist(rng);
    for (int d = 0; d <= 7; ++d) {
      const std::string s = shortest(round_decimals(v, d));
      const auto dot = s.find('.');
      const std::size_t places = dot == std::string::npos ? 0 : s.size() - dot - 1;
      ASSERT_LE(places, static_cast<std::size_t>(d)) << v << " to " << d << " places printed " << s;
      ASSERT_NEAR(round_decimals(v, d), v, 0.5 / std::pow(10.0, d) + 1e-9);
    }
  }
}

// from_chars_double is std::from_chars with a fast path: the library is the oracle. Same value (to
// the bit), same end pointer, same error, on plain decimals of every length and on junk.
void expect_like_from_chars(const std::string& s) {
  double want = -12345.0, got = -12345.0;
  const auto w = std::from_chars(s.data(), s.data() + s.size(), want);
  const auto g = from_chars_double(s.data(), s.data() + s.size(), got);
  ASSERT_EQ(static_cast<int>(g.ec), static_cast<int>(w.ec)) << '"' << s << '"';
  ASSERT_EQ(g.ptr, w.ptr) << '"' << s << '"';
  ASSERT_EQ(std::bit_cast<std::uint64_t>(got), std::bit_cast<std::uint64_t>(want)) << '"' << s << '"';
}

TEST(FromCharsDouble, AgreesWithStdFromCharsOnEdgeCases) {
  for (const char* s : {"0",
                        "-0",
                        "0.0",
                        "-0.0",
                        "5.",
                        "-5.",
                        ".5",
                        "-.5",
                        ".",
                        "-",
                        "",
                        "00.5",
                        "41.258531",
                        "46.580336",
                        "-179.999999",
                        "2800",
                        "0.1",
                        "0.3",
                        "1.2.3",
                        "1e5",
                        "1E-3",
                        "inf",
                        "nan",
                        "+5",
                        "5 ",
                        " 5",
                        "123456789012345",
                        "1234567890123456",
                        "9007199254740993",
                        "0.0000000000000000000001",
                        "0.00000000000000000000001",
                        "999999999999999.9",
                        "72.2",
                        "4.5",
                        "910",
                        "-.",
                        "--5",
                        "5-",
                        "0x10"}) {
    expect_like_from_chars(s);
  }
}

TEST(FromCharsDouble, AgreesWithStdFromCharsOnRandomText) {
  std::mt19937_64 rng(11);
  const std::string plain = "0123456789", junk = "0123456789.-eE+x ";
  for (int i = 0; i < 300000; ++i) {
    std::string s;
    const bool decimal = i % 3 != 0;
    const std::size_t len = 1 + rng() % (decimal ? 24 : 12);
    if (decimal) {
      if (rng() % 4 == 0) s += '-';
      const std::size_t point = rng() % (len + 2);
      for (std::size_t k = 0; k < len; ++k) {
        if (k == point) s += '.';
        s += plain[rng() % plain.size()];
      }
    } else {
      for (std::size_t k = 0; k < len; ++k) s += junk[rng() % junk.size()];
    }
    expect_like_from_chars(s);
  }
}

// append_fixed prints what std::to_chars(fixed, decimals) prints: the library is the oracle.
std::string fixed_by_library(double v, int decimals) {
  char b[400];
  auto r = std::to_chars(b, b + sizeof b, v, std::chars_format::fixed, decimals);
  return std::string(b, r.ptr);
}
std::string fixed(double v, int decimals) {
  std::string s;
  append_fixed(s, v, decimals);
  return s;
}

TEST(AppendFixed, AgreesWithStdToCharsOnEdgeCases) {
  for (double v : {0.0,
                   -0.0,
                   0.5,
                   1.5,
                   2.5,
                   -2.5,
                   0.125,
                   0.375,
                   1e-7,
                   -1e-7,
                   46.580336,
                   41.258531,
                   2887.65,
                   0.05,
                   0.15,
                   0.25,
                   0.35,
                   1e15,
                   4503599627370496.0,
                   1e300,
                   -1e300,
                   123456789.123456789,
                   999999.9999995,
                   std::numeric_limits<double>::infinity(),
                   -std::numeric_limits<double>::infinity(),
                   std::numeric_limits<double>::quiet_NaN(),
                   std::numeric_limits<double>::denorm_min()}) {
    for (int d = 0; d <= 10; ++d) EXPECT_EQ(fixed(v, d), fixed_by_library(v, d)) << v << " to " << d;
  }
}

TEST(AppendFixed, AgreesWithStdToCharsOnRandomValues) {
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> mant(-10.0, 10.0);
  std::uniform_int_distribution<int> exp10(-9, 12);
  for (int i = 0; i < 200000; ++i) {
    const double v = mant(rng) * std::pow(10.0, exp10(rng));
    const int d = static_cast<int>(rng() % 10);
    ASSERT_EQ(fixed(v, d), fixed_by_library(v, d)) << v << " to " << d;
    // Values on the decimal grid and halfway between it (the rounding boundaries).
    const double grid = std::round(v * std::pow(10.0, d)) / std::pow(10.0, d);
    const double half = grid + 0.5 / std::pow(10.0, d);
    ASSERT_EQ(fixed(grid, d), fixed_by_library(grid, d)) << grid << " to " << d;
    ASSERT_EQ(fixed(half, d), fixed_by_library(half, d)) << half << " to " << d;
  }
}

}  // namespace
}  // namespace truce
