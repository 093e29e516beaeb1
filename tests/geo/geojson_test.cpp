// Zones and LoC from GeoJSON: every bad case gets an error naming the feature and the reason.
#include <gtest/gtest.h>

#include <filesystem>

#include "test_util.h"
#include "truce/geo/geography.h"

namespace truce::geo {
namespace {

std::string fc(const std::string& features) {
  return R"({"type":"FeatureCollection","features":[)" + features + "]}";
}
std::string zone(const std::string& id, const std::string& kind, const std::string& coords,
                 const std::string& type = "Polygon", const std::string& party = "\"A\"") {
  return R"({"type":"Feature","properties":{"id":")" + id + R"(","party":)" + party + R"(,"kind":")" + kind +
         R"("},"geometry":{"type":")" + type + R"(","coordinates":)" + coords + "}}";
}
const std::string kSquare = "[[[46,40],[46.1,40],[46.1,40.1],[46,40.1],[46,40]]]";

std::string zones_error(const std::string& json, const GeoJsonLimits& lim = {}) {
  auto r = parse_zones(json, "zones.geojson", lim);
  return r.ok() ? "OK" : r.status().ToString();
}
std::string loc_error(const std::string& json) {
  auto r = parse_loc(json, "loc.geojson");
  return r.ok() ? "OK" : r.status().ToString();
}

TEST(GeoJsonZones, ValidSquareLoads) {
  auto z = parse_zones(fc(zone("a", "control", kSquare)), "zones.geojson");
  ASSERT_TRUE(z.ok()) << z.status().ToString();
  ASSERT_EQ(z->size(), 1u);
  EXPECT_EQ((*z)[0].id, "a");
  EXPECT_EQ((*z)[0].party, "A");
  EXPECT_EQ((*z)[0].kind, ZoneKind::kControl);
  ASSERT_EQ((*z)[0].polygons.size(), 1u);
  EXPECT_EQ((*z)[0].polygons[0][0].size(), 5u);
  EXPECT_EQ((*z)[0].polygons[0][0][1], (LatLon{40, 46.1}));
}

TEST(GeoJsonZones, SyntaxErrorSaysWhere) {
  EXPECT_EQ(
      zones_error("{\"type\": \"FeatureCollection\", \"features\": [}"),
      "zones.geojson: invalid JSON: parse error at line 1, column 44: syntax error while parsing value - "
      "unexpected '}'; expected '[', '{', or a literal");
}

TEST(GeoJsonZones, NotAFeatureCollection) {
  EXPECT_EQ(zones_error(R"({"type":"Feature"})"), "zones.geojson: expected \"type\": \"FeatureCollection\"");
  EXPECT_EQ(zones_error(R"({"type":"FeatureCollection"})"), "zones.geojson: expected a \"features\" array");
  EXPECT_EQ(zones_error(fc("")), "zones.geojson: the FeatureCollection has no zones");
}

TEST(GeoJsonZones, UnclosedRing) {
  EXPECT_EQ(zones_error(fc(zone("a", "control", "[[[46,40],[46.1,40],[46.1,40.1],[46,40.1],[46,40.05]]]"))),
            "zones.geojson: features[0] (id \"a\"): geometry coordinates[0]: ring is not closed: first "
            "position (46, 40) "
            "differs from last (46, 40.05)");
}

TEST(GeoJsonZones, FewerThanFourPositions) {
  EXPECT_EQ(zones_error(fc(zone("a", "control", "[[[46,40],[46.1,40],[46,40]]]"))),
            "zones.geojson: features[0] (id \"a\"): geometry coordinates[0]: ring has 3 positions; a ring "
            "needs at least 4");
}

TEST(GeoJsonZones, CoordinatesOutOfRange) {
  EXPECT_EQ(zones_error(fc(zone("a", "control", "[[[46,40],[46.1,40],[46.1,95],[46,40]]]"))),
            "zones.geojson: features[0] (id \"a\"): geometry coordinates[0][2]: latitude 95 out of range "
            "[-90, 90]");
  EXPECT_EQ(zones_error(fc(zone("a", "control", "[[[46,40],[186.1,40],[46.1,41],[46,40]]]"))),
            "zones.geojson: features[0] (id \"a\"): geometry coordinates[0][1]: longitude 186.1 out of range "
            "[-180, 180]");
  EXPECT_EQ(zones_error(fc(zone("a", "control", "[[[46,40],[\"x\",40],[46.1,41],[46,40]]]"))),
            "zones.geojson: features[0] (id \"a\"): geometry coordinates[0][1]: expected numbers, got \"x\"");
  EXPECT_EQ(zones_error(fc(zone("a", "control", "[[[46,40],[46.5],[46.1,41],[46,40]]]"))),
            "zones.geojson: features[0] (id \"a\"): geometry coordinates[0][1]: expected a position [lon, "
            "lat] (optionally "
            "with a height)");
}

TEST(GeoJsonZones, SelfIntersectingRing) {
  // A bow tie: the edges cross at (46.05, 40.05).
  EXPECT_EQ(zones_error(fc(zone("bow", "control", "[[[46,40],[46.1,40.1],[46.1,40],[46,40.1],[46,40]]]"))),
            "zones.geojson: features[0] (id \"bow\"): geometry is not valid: edges cross (self-intersection) "
            "at (46.05, 40.05)");
}

TEST(GeoJsonZones, HoleOutsideShell) {
  EXPECT_EQ(zones_error(fc(zone("h", "control",
                                "[[[46,40],[46.1,40],[46.1,40.1],[46,40.1],[46,40]],"
                                "[[47,40],[47.01,40],[47.01,40.01],[47,40.01],[47,40]]]"))),
            "zones.geojson: features[0] (id \"h\"): geometry is not valid: a hole lies outside its shell at "
            "(47, 40)");
}

TEST(GeoJsonZones, OverlappingPartsOfAMultiPolygon) {
  EXPECT_EQ(zones_error(fc(zone("m", "control",
                                "[[[[46,40],[46.1,40],[46.1,40.1],[46,40.1],[46,40]]],"
                                "[[[46.05,40.05],[46.2,40.05],[46.2,40.2],[46.05,40.2],[46.05,40.05]]]]",
                                "MultiPolygon"))),
            "zones.geojson: features[0] (id \"m\"): geometry is not valid: edges cross (self-intersection) "
            "at (46.1, 40.05)");
}

TEST(GeoJsonZones, UnknownKind) {
  EXPECT_EQ(zones_error(fc(zone("a", "bunker", kSquare))),
            "zones.geojson: features[0] (id \"a\"): property 'kind': unknown kind \"bunker\"; expected "
            "control, buffer, "
            "corridor or withdrawal");
}

TEST(GeoJsonZones, DuplicateId) {
  EXPECT_EQ(zones_error(fc(zone("a", "control", kSquare) + "," + zone("b", "buffer", kSquare) + "," +
                           zone("a", "buffer", kSquare))),
            "zones.geojson: features[2] (id \"a\"): duplicate zone id \"a\" (also features[0])");
}

TEST(GeoJsonZones, NestingDeeperThanTheBound) {
  std::string deep = std::string(40, '[') + std::string(40, ']');
  EXPECT_EQ(zones_error(fc(zone("a", "control", deep))),
            "zones.geojson:1: JSON nested deeper than 16 levels");
}

TEST(GeoJsonZones, HundredMegabyteCoordinateArray) {
  // ~100 MB of positions in one ring: refused once the per-feature limit is passed, never stored.
  std::string coords = "[[";
  coords.reserve(100u << 20);
  while (coords.size() < (100u << 20)) coords += "[46.123456789,40.123456789],";
  coords += "[46.123456789,40.123456789]]]";
  EXPECT_EQ(zones_error(fc(zone("big", "control", coords))),
            "zones.geojson: features[0]: geometry has more than 1000000 positions (the limit per feature)");
}

TEST(GeoJsonZones, TotalPositionLimit) {
  GeoJsonLimits lim;
  lim.max_positions_total = 12;
  EXPECT_EQ(zones_error(fc(zone("a", "control", kSquare) + "," + zone("b", "buffer", kSquare) + "," +
                           zone("c", "buffer", kSquare)),
                        lim),
            "zones.geojson: features[2]: more than 12 positions in the file (the limit)");
}

TEST(GeoJsonZones, WrongGeometryTypeAndProperties) {
  EXPECT_EQ(zones_error(fc(zone("a", "control", "[[46,40],[46.1,40]]", "LineString"))),
            "zones.geojson: features[0] (id \"a\"): geometry type \"LineString\" is not a zone; expected "
            "Polygon or "
            "MultiPolygon");
  EXPECT_EQ(zones_error(fc(zone("a", "control", kSquare, "Polygon", "7"))),
            "zones.geojson: features[0] (id \"a\"): property 'party': expected a string or null, got 7");
  EXPECT_EQ(zones_error(fc(R"({"type":"Feature","properties":{"id":"a"},"geometry":null})")),
            "zones.geojson: features[0] (id \"a\"): missing geometry");
}

TEST(GeoJsonZones, DefaultsWhenPropertiesAreMissing) {
  auto z =
      parse_zones(fc(R"({"type":"Feature","properties":null,"geometry":{"type":"Polygon","coordinates":)" +
                     kSquare + "}}," + zone("buf", "buffer", kSquare, "Polygon", "null")),
                  "z");
  ASSERT_TRUE(z.ok()) << z.status().ToString();
  EXPECT_EQ((*z)[0].id, "feature-1");
  EXPECT_EQ((*z)[0].kind, ZoneKind::kControl);
  EXPECT_EQ((*z)[0].party, "feature-1");
  EXPECT_EQ((*z)[1].party, "");
  EXPECT_EQ((*z)[1].kind, ZoneKind::kBuffer);
}

TEST(GeoJsonLoc, BadLines) {
  EXPECT_EQ(
      loc_error(fc(
          R"({"type":"Feature","properties":{"id":"loc"},"geometry":{"type":"LineString","coordinates":[[46,40]]}})")),
      "loc.geojson: features[0] (id \"loc\"): geometry coordinates: a line needs at least 2 positions, got "
      "1");
  EXPECT_EQ(
      loc_error(fc(R"({"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":)" +
                   kSquare + "}}")),
      "loc.geojson: features[0]: geometry type \"Polygon\" is not a line of contact; expected LineString or "
      "MultiLineString");
  EXPECT_EQ(
      loc_error(fc(
          R"({"type":"Feature","properties":{},"geometry":{"type":"MultiLineString","coordinates":[[[46,40],[46,41]],[[46,91],[46,40]]]}})")),
      "loc.geojson: features[0]: geometry coordinates[1][0]: latitude 91 out of range [-90, 90]");
}

TEST(GeoJsonFiles, ScenarioAndNaturalEarthFilesLoad) {
  const std::string shared = TRUCE_SHARED_DIR;
  const std::string ne = shared + "/data/natural-earth-caucasus/";
  const std::string ex = std::string(TRUCE_SOURCE_DIR) + "/data/example/";
  auto zones = parse_zones(testing::read_file(ex + "zones.geojson"), "zones");
  ASSERT_TRUE(zones.ok()) << zones.status().ToString();
  EXPECT_EQ(zones->size(), 3u);
  auto loc = parse_loc(testing::read_file(ex + "loc.geojson"), "loc");
  ASSERT_TRUE(loc.ok()) << loc.status().ToString();
  EXPECT_EQ((*loc)[0].vertices.size(), 601u);
  if (!std::filesystem::exists(ne)) GTEST_SKIP() << "no " << ne;
  for (const char* f : {"countries_10m_caucasus.geojson", "nagorno_karabakh_1994_area_10m.geojson",
                        "nagorno_karabakh_2020_area_derived.geojson"}) {
    auto z = parse_zones(testing::read_file(ne + f), f);
    EXPECT_TRUE(z.ok()) << z.status().ToString();
  }
  for (const char* f :
       {"boundary_lines_land_10m_caucasus.geojson", "nagorno_karabakh_reference_lines_10m.geojson",
        "nagorno_karabakh_2020_ceasefire_lines_ne_master.geojson"}) {
    auto l = parse_loc(testing::read_file(ne + f), f);
    EXPECT_TRUE(l.ok()) << l.status().ToString();
  }
}

}  // namespace
}  // namespace truce::geo
