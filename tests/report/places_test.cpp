// The report's grid of places picks exactly the place and text Gazetteer::describe picks.
#include "report/places.h"

#include <gtest/gtest.h>

#include <random>

#include "test_util.h"

namespace truce::report::detail {
namespace {

TEST(ReportPlaces, AgreesWithDescribeEverywhere) {
  const std::string tsv = testing::read_file(
      std::string(TRUCE_SHARED_DIR) + "/data/geonames-cities500-caucasus/cities500_AM_AZ_GE_plus_border.tsv");
  ASSERT_FALSE(tsv.empty()) << "the shared GeoNames extract is missing";
  auto g = geo::Gazetteer::from_geonames_tsv(tsv, "cities500");
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  ASSERT_GT(g->places().size(), 500u);
  PlaceFinder f(*g);
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> lat(37.5, 43.8), lon(42.5, 51.5);
  int far = 0;
  for (int k = 0; k < 3000; ++k) {
    // Mostly over the region, some far outside it (the grid must widen until it finds a place).
    const LatLon q = k % 10 == 0 ? LatLon{lat(rng) - 15, lon(rng) + 20} : LatLon{lat(rng), lon(rng)};
    const auto a = f.describe(q), b = f.full(q);
    ASSERT_TRUE(a && b);
    EXPECT_EQ(a->text, b->text) << q.lat << "," << q.lon;
    EXPECT_EQ(a->name, b->name);
    EXPECT_DOUBLE_EQ(a->distance_m, b->distance_m);
    far += b->distance_m > 100'000;
  }
  EXPECT_GT(far, 100);
  geo::Gazetteer empty;
  EXPECT_FALSE(PlaceFinder(empty).describe({40, 45}));
}

}  // namespace
}  // namespace truce::report::detail
