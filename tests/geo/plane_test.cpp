// The projected plane and the exact predicate against their library / integer oracles.
#include <gtest/gtest.h>

#include <GeographicLib/Geodesic.hpp>
#include <GeographicLib/TransverseMercator.hpp>
#include <random>

#include "geo/internal.h"

namespace truce::geo {
namespace {

TEST(TmPlane, AgreesWithGeographicLibTransverseMercatorToAMillimetre) {
  const GeographicLib::TransverseMercator tm(GeographicLib::Constants::WGS84_a(),
                                             GeographicLib::Constants::WGS84_f(), 1);
  std::mt19937 rng(11);
  std::uniform_real_distribution<double> dlat(-60, 60), dlon(-3.9, 3.9);
  for (int i = 0; i < 20000; ++i) {
    const double lat0 = 41, lon0 = 46.5;
    const double lat = dlat(rng), lon = lon0 + dlon(rng);
    TmPlane plane(lat0, lon0);
    TmPlane::Pt p;
    ASSERT_TRUE(plane.forward(lat, lon, p));
    double x, y, y0, x0;
    tm.Forward(lon0, lat, lon, x, y);
    tm.Forward(lon0, lat0, lon0, x0, y0);
    ASSERT_NEAR(p.x, x, 1e-3) << lat << " " << lon;
    ASSERT_NEAR(p.y, y - y0, 1e-3) << lat << " " << lon;
  }
}

TEST(TmPlane, RefusesPointsOutsideItsBand) {
  TmPlane plane(41, 46.5);
  TmPlane::Pt p;
  EXPECT_TRUE(plane.forward(41, 46.5 + TmPlane::kMaxLonOffsetDeg, p));
  EXPECT_FALSE(plane.forward(41, 46.5 + TmPlane::kMaxLonOffsetDeg + 0.01, p));
  EXPECT_FALSE(plane.forward(85, 46.5, p));
}

TEST(TmPlane, LineLengthsMatchGeographicLibInverseWithinFiveMillimetresTo150Km) {
  const auto& g = GeographicLib::Geodesic::WGS84();
  TmPlane plane(41, 46.5);
  std::mt19937 rng(5);
  std::uniform_real_distribution<double> lat(39, 43), lon(44.5, 48.5), az(0, 360), dist(10, 150000);
  double worst = 0;
  for (int i = 0; i < 5000; ++i) {
    const double la1 = lat(rng), lo1 = lon(rng), s = dist(rng);
    double la2, lo2;
    g.Direct(la1, lo1, az(rng), s, la2, lo2);
    TmPlane::Pt p, q;
    if (!plane.forward(la1, lo1, p) || !plane.forward(la2, lo2, q)) continue;
    const double d = std::hypot(p.x - q.x, p.y - q.y);
    worst = std::max(worst, std::fabs(TmPlane::geodesic_length(p, q, d) - s));
  }
  EXPECT_LT(worst, 0.005);
}

__extension__ typedef __int128 i128;

// Orientation on a grid of 2^-30 degrees, exactly, in integers.
int orient_int(std::int64_t ax, std::int64_t ay, std::int64_t bx, std::int64_t by, std::int64_t cx,
               std::int64_t cy) {
  const i128 d = static_cast<i128>(ax - cx) * (by - cy) - static_cast<i128>(ay - cy) * (bx - cx);
  return (d > 0) - (d < 0);
}

TEST(Orient2d, ExactOnNearlyCollinearPoints) {
  std::mt19937_64 rng(3);
  const double unit = std::ldexp(1.0, -30);
  std::uniform_int_distribution<std::int64_t> coord(-(std::int64_t{170} << 30), std::int64_t{170} << 30);
  std::uniform_int_distribution<std::int64_t> step(-1000, 1000), k(-(1 << 20), 1 << 20), jitter(-1, 1);
  int zero = 0;
  for (int i = 0; i < 200000; ++i) {
    // b and c on the line through a with direction (dx, dy), then c nudged by at most one unit.
    const std::int64_t ax = coord(rng), ay = coord(rng), dx = step(rng), dy = step(rng);
    const std::int64_t kb = k(rng), kc = k(rng);
    const std::int64_t bx = ax + kb * dx, by = ay + kb * dy;
    const std::int64_t cx = ax + kc * dx + (i % 2 ? jitter(rng) : 0),
                       cy = ay + kc * dy + (i % 2 ? jitter(rng) : 0);
    const int want = orient_int(ax, ay, bx, by, cx, cy);
    zero += want == 0;
    ASSERT_EQ(orient2d(static_cast<double>(ax) * unit, static_cast<double>(ay) * unit,
                       static_cast<double>(bx) * unit, static_cast<double>(by) * unit,
                       static_cast<double>(cx) * unit, static_cast<double>(cy) * unit),
              want)
        << i;
  }
  EXPECT_GT(zero, 0);  // the sample did hit exactly collinear triples
}

TEST(Orient2d, ClassicRoundingTrap) {
  // Naive evaluation of these nearly collinear points gets signs wrong; the exact one must not.
  EXPECT_EQ(orient2d(0.5, 0.5, 12, 12, 24, 24), 0);
  const double e = std::ldexp(1.0, -50);
  EXPECT_EQ(orient2d(0.5, 0.5, 12, 12, 24 + 24 * e, 24), -1);
  EXPECT_EQ(orient2d(0.5, 0.5, 12, 12, 24, 24 + 24 * e), 1);
}

}  // namespace
}  // namespace truce::geo
