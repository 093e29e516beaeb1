#include "truce/core/decimal.h"

#include <charconv>
#include <random>
#include <string>

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace truce
