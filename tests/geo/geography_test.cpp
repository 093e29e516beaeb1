// The attribution engine against its oracles: GEOS for zones, GeographicLib brute force for
// distances; the documented on-edge rule; the real 2020 lines.
#include "truce/geo/geography.h"

#include <geos_c.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "geo/oracle.h"
#include "test_util.h"
#include "truce/geo/gazetteer.h"

namespace truce::geo {
namespace {

using truce::testing::read_file;

std::shared_ptr<const Geography> example() {
  const std::string ex = std::string(TRUCE_SOURCE_DIR) + "/data/example/";
  auto g = Geography::from_geojson(read_file(ex + "zones.geojson"), read_file(ex + "loc.geojson"));
  EXPECT_TRUE(g.ok()) << g.status().ToString();
  return g.ok() ? *g : nullptr;
}

std::vector<LatLon> example_points() {
  std::vector<LatLon> pts;
  std::istringstream in(read_file(std::string(TRUCE_SOURCE_DIR) + "/data/example/points.csv"));
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    const auto a = line.find(','), b = line.find(',', a + 1);
    pts.push_back({std::stod(line.substr(a + 1, b - a - 1)), std::stod(line.substr(b + 1))});
  }
  return pts;
}

// GEOS: which zones contain the point (interior only; random points are never on a boundary).
std::vector<std::string> geos_zones(const std::vector<Zone>& zones, const LatLon& p) {
  GEOSContextHandle_t h = GEOS_init_r();
  std::vector<std::string> out;
  GEOSGeometry* pt = GEOSGeom_createPointFromXY_r(h, p.lon, p.lat);
  for (const auto& z : zones) {
    for (const auto& poly : z.polygons) {
      auto ring = [&](const std::vector<LatLon>& r) {
        GEOSCoordSequence* cs = GEOSCoordSeq_create_r(h, static_cast<unsigned>(r.size()), 2);
        for (unsigned i = 0; i < r.size(); ++i) GEOSCoordSeq_setXY_r(h, cs, i, r[i].lon, r[i].lat);
        return GEOSGeom_createLinearRing_r(h, cs);
      };
      std::vector<GEOSGeometry*> holes;
      for (std::size_t i = 1; i < poly.size(); ++i) holes.push_back(ring(poly[i]));
      GEOSGeometry* g =
          GEOSGeom_createPolygon_r(h, ring(poly[0]), holes.data(), static_cast<unsigned>(holes.size()));
      if (GEOSContains_r(h, g, pt) == 1) out.push_back(z.id);
      GEOSGeom_destroy_r(h, g);
    }
  }
  GEOSGeom_destroy_r(h, pt);
  GEOS_finish_r(h);
  return out;
}

TEST(Geography, ZonesAgreeWithGeosOnTheExampleScenario) {
  auto g = example();
  ASSERT_TRUE(g);
  int inside = 0;
  for (const auto& p : example_points()) {
    const auto a = g->attribute(p);
    std::vector<std::string> got;
    for (const auto& z : g->zones())
      if (z.kind == ZoneKind::kControl && z.party == a.party && !a.party.empty()) got.push_back(z.id);
    got.insert(got.end(), a.zones.begin(), a.zones.end());
    std::sort(got.begin(), got.end());
    auto want = geos_zones(g->zones(), p);
    std::sort(want.begin(), want.end());
    ASSERT_EQ(got, want) << p.lat << " " << p.lon;
    inside += !a.party.empty();
  }
  EXPECT_GT(inside, 1000);
}

TEST(Geography, DistancesMatchGeographicLibBruteForceWithinACentimetre) {
  auto g = example();
  ASSERT_TRUE(g);
  const auto pts = example_points();
  double worst = 0;
  for (std::size_t i = 0; i < pts.size(); i += 10) {
    const double d = g->attribute(pts[i]).distance_to_loc_m;
    worst = std::max(worst, std::fabs(d - oracle::oracle_distance(g->loc(), pts[i])));
  }
  EXPECT_LT(worst, 0.01);
}

TEST(Geography, FarPointsAndPointsOutsideThePlaneStayExact) {
  auto g = example();
  ASSERT_TRUE(g);
  std::mt19937 rng(9);
  std::uniform_real_distribution<double> lat(36, 44), lon(41, 52), far(-30, 30);
  double worst = 0;
  for (int i = 0; i < 30; ++i) {
    // 24 points up to ~500 km away inside the plane's band, 6 far outside it (exact path).
    const LatLon p = i < 24 ? LatLon{lat(rng), lon(rng)} : LatLon{far(rng), 100 + far(rng)};
    const double d = g->distance_to_loc(p);
    worst = std::max(worst, std::fabs(d - oracle::oracle_distance(g->loc(), p)) / (i < 24 ? 1 : 10));
  }
  EXPECT_LT(worst, 0.03);
}

// Two unit squares side by side (A west, B east) and a LoC between them digitised south to north.
std::shared_ptr<const Geography> squares() {
  std::vector<Zone> zones(2);
  zones[0] = {
      "zone-A", "A", ZoneKind::kControl, {{{{40, 46}, {40, 46.5}, {40.5, 46.5}, {40.5, 46}, {40, 46}}}}};
  zones[1] = {
      "zone-B", "B", ZoneKind::kControl, {{{{40, 46.5}, {40, 47}, {40.5, 47}, {40.5, 46.5}, {40, 46.5}}}}};
  std::vector<LocLine> loc{{"loc", {{40, 46.5}, {40.5, 46.5}}}};
  auto g = Geography::from_parts(std::move(zones), std::move(loc));
  EXPECT_TRUE(g.ok());
  return *g;
}

TEST(Geography, PointOnASharedEdgeBelongsToTheZoneEastOfIt) {
  auto g = squares();
  EXPECT_EQ(g->attribute({40.25, 46.5}).party, "B");  // on the shared edge
  EXPECT_EQ(g->attribute({40.25, 46.0}).party, "A");  // on A's west edge: A lies east of it
  EXPECT_EQ(g->attribute({40.25, 47.0}).party, "");   // on B's east edge: nothing east of it
}

TEST(Geography, PointOnAnEastWestEdgeBelongsToTheZoneNorthOfIt) {
  auto g = squares();
  EXPECT_EQ(g->attribute({40.0, 46.25}).party, "A");  // bottom edge of A
  EXPECT_EQ(g->attribute({40.5, 46.25}).party, "");   // top edge of A
  EXPECT_EQ(g->attribute({40.0, 46.5}).party, "B");   // vertex shared by A and B at the bottom
  EXPECT_EQ(g->attribute({40.5, 46.5}).party, "");    // vertex at the top
  EXPECT_EQ(g->attribute({40.0, 46.0}).party, "A");   // south-west corner of A
}

TEST(Geography, SideOfTheLineAndZeroOnIt) {
  auto g = squares();
  const auto west = g->attribute({40.25, 46.4});
  EXPECT_EQ(west.side, -1);  // left of a line running north
  EXPECT_EQ(g->attribute({40.25, 46.6}).side, 1);
  const auto on = g->attribute({40.25, 46.5});
  EXPECT_EQ(on.side, 0);
  EXPECT_LT(on.distance_to_loc_m, 0.001);
  // 0.1 degree of longitude at 40.25 N, measured by GeographicLib.
  double want;
  GeographicLib::Geodesic::WGS84().Inverse(40.25, 46.4, 40.25, 46.5, want);
  EXPECT_NEAR(west.distance_to_loc_m, want, 0.002);
}

TEST(Geography, SideAtAVertexFollowsTheTurn) {
  // An L-shaped LoC: north, then east. Left of it is the north-west, right the south-east.
  std::vector<LocLine> loc{{"loc", {{40, 46}, {40.5, 46}, {40.5, 46.5}}}};
  auto g = Geography::from_parts({}, std::move(loc));
  ASSERT_TRUE(g.ok());
  int side = 0;
  (*g)->distance_to_loc({40.6, 45.9}, &side);  // outside the corner, nearest point is the vertex
  EXPECT_EQ(side, -1);
  (*g)->distance_to_loc({40.4, 46.1}, &side);  // inside the corner
  EXPECT_EQ(side, 1);
  (*g)->distance_to_loc({40.1, 46.1}, &side);
  EXPECT_EQ(side, 1);
  (*g)->distance_to_loc({40.7, 46.2}, &side);
  EXPECT_EQ(side, -1);
}

TEST(Geography, BufferZonesAreListedBesideTheParty) {
  auto g = example();
  ASSERT_TRUE(g);
  const auto& loc = g->loc()[0].vertices;
  const LatLon near_line = loc[loc.size() / 2];  // a LoC vertex lies in the buffer
  const auto a = g->attribute({near_line.lat + 1e-6, near_line.lon + 1e-6});
  EXPECT_EQ(a.zones, std::vector<std::string>{"buffer"});
  EXPECT_FALSE(a.party.empty());
}

TEST(Geography, BatchOnTwoThreadsEqualsOneByOne) {
  auto g = example();
  ASSERT_TRUE(g);
  const auto pts = example_points();
  std::vector<CompactAttribution> out(pts.size());
  std::vector<std::uint32_t> others;
  g->attribute_batch(pts, out, others, 2);
  for (std::size_t i = 0; i < pts.size(); ++i) {
    const auto a = g->attribute(pts[i]);
    EXPECT_EQ(out[i].control_zone < 0 ? std::string()
                                      : g->zones()[static_cast<std::size_t>(out[i].control_zone)].party,
              a.party);
    EXPECT_EQ(out[i].distance_to_loc_m, a.distance_to_loc_m);
    EXPECT_EQ(out[i].side, a.side);
    ASSERT_EQ(out[i].n_other, a.zones.size());
    for (std::uint32_t k = 0; k < out[i].n_other; ++k)
      EXPECT_EQ(g->zones()[others[out[i].first_other + k]].id, a.zones[k]);
  }
}

TEST(Geography, Real2020LinesTownsInsideAndOutside) {
  const std::string shared = TRUCE_SHARED_DIR;
  const std::string ne = shared + "/data/natural-earth-caucasus/";
  const std::string gn = shared + "/data/geonames-cities500-caucasus/cities500_AM_AZ_GE_plus_border.tsv";
  if (!std::filesystem::exists(ne) || !std::filesystem::exists(gn)) GTEST_SKIP() << "no shared data";
  auto g = Geography::from_geojson(read_file(ne + "nagorno_karabakh_2020_area_derived.geojson"),
                                   read_file(ne + "nagorno_karabakh_2020_ceasefire_lines_ne_master.geojson"));
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  auto places = Gazetteer::from_geonames_tsv(read_file(gn), "cities500");
  ASSERT_TRUE(places.ok()) << places.status().ToString();
  auto town = [&](std::int64_t geonameid) {
    for (const auto& p : places->places())
      if (p.source_id == geonameid) return p.pos;
    ADD_FAILURE() << "no geonameid " << geonameid;
    return LatLon{};
  };
  const std::string area = (*g)->zones()[0].party;
  // Stepanakert (Xankandi), Martakert, Martuni (Novyy Karanlug), Askeran (Askyaran).
  for (std::int64_t id : {146970, 587379, 146969, 148450})
    EXPECT_EQ((*g)->attribute(town(id)).party, area) << id;
  // Aghdam, Hadrut, Kalbajar (Kerbakhiar).
  for (std::int64_t id : {148619, 148105, 586268}) EXPECT_EQ((*g)->attribute(town(id)).party, "") << id;
  const LatLon stepanakert = town(146970);
  EXPECT_NEAR((*g)->attribute(stepanakert).distance_to_loc_m,
              oracle::oracle_distance((*g)->loc(), stepanakert), 0.01);
}

}  // namespace
}  // namespace truce::geo
