// Gazetteer: GeoNames TSV and GeoJSON points, the 16-point compass and "2.4 km SE of X".
#include "truce/geo/gazetteer.h"

#include <gtest/gtest.h>

#include <GeographicLib/Geodesic.hpp>
#include <filesystem>

#include "test_util.h"

namespace truce::geo {
namespace {

const std::string kHeader =
    "geonameid\tname\tasciiname\talternatenames\tlatitude\tlongitude\tfeature_class\tfeature_code\tcountry_"
    "code\tcc2\t"
    "admin1_code\tadmin2_code\tadmin3_code\tadmin4_code\tpopulation\televation\tdem\ttimezone\tmodification_"
    "date\n";
std::string row(const std::string& id, const std::string& name, const std::string& lat,
                const std::string& lon, const std::string& fclass = "P", const std::string& code = "PPL") {
  return id + "\t" + name + "\t" + name + "\t\t" + lat + "\t" + lon + "\t" + fclass + "\t" + code +
         "\tAZ\t\t\t\t\t\t1000\t\t500\tAsia/Baku\t2020-01-01\n";
}

TEST(Compass16, Boundaries) {
  EXPECT_EQ(compass16(0), "N");
  EXPECT_EQ(compass16(11.24), "N");
  EXPECT_EQ(compass16(11.25), "NNE");
  EXPECT_EQ(compass16(135), "SE");
  EXPECT_EQ(compass16(348.74), "NNW");
  EXPECT_EQ(compass16(348.75), "N");
  EXPECT_EQ(compass16(-45), "NW");
  EXPECT_EQ(compass16(360), "N");
  EXPECT_EQ(compass16(202.5), "SSW");
}

TEST(FormatDistance, Units) {
  EXPECT_EQ(format_distance(444), "440 m");
  EXPECT_EQ(format_distance(2449), "2.4 km");
  EXPECT_EQ(format_distance(9949), "9.9 km");
  EXPECT_EQ(format_distance(37400), "37 km");
}

TEST(Gazetteer, DescribesAPointBySteppingFromAPlace) {
  auto g = Gazetteer::from_geonames_tsv(kHeader + row("1", "Martuni", "39.79496", "47.1117") +
                                            row("2", "Farville", "40.5", "47.5") +
                                            row("3", "Quarter", "39.796", "47.113", "P", "PPLX"),
                                        "t.tsv");
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  double lat, lon;
  GeographicLib::Geodesic::WGS84().Direct(39.79496, 47.1117, 135, 2400, lat, lon);
  auto d = g->describe({lat, lon});
  ASSERT_TRUE(d);
  EXPECT_EQ(d->text, "2.4 km SE of Martuni");  // the PPLX quarter is nearer but not a suitable place
  EXPECT_NEAR(d->distance_m, 2400, 1e-6);
  EXPECT_NEAR(d->azimuth_deg, 135, 1e-6);
  EXPECT_EQ(d->place->credit, kGeoNamesCredit);
  EXPECT_EQ(g->describe({39.79497, 47.1117})->text, "at Martuni");
}

TEST(Gazetteer, BadGeoNamesRowsSayWhere) {
  auto bad = [](const std::string& text) {
    auto g = Gazetteer::from_geonames_tsv(text, "t.tsv");
    return g.ok() ? std::string("OK") : g.status().ToString();
  };
  EXPECT_EQ(bad(kHeader + row("1", "A", "95", "47")),
            "t.tsv:2: field 'latitude': expected a number in [-90, 90], got \"95\"");
  EXPECT_EQ(bad(kHeader + row("1", "A", "40", "x")),
            "t.tsv:2: field 'longitude': expected a number in [-180, 180], got \"x\"");
  EXPECT_EQ(bad(kHeader + "1\tA\n"), "t.tsv:2: expected 19 tab-separated GeoNames columns, got 2");
  EXPECT_EQ(bad(kHeader), "t.tsv: no places");
  EXPECT_EQ(bad(row("x", "A", "40", "47")),
            "t.tsv:1: field 'geonameid': expected a positive integer, got \"x\"");
}

TEST(Gazetteer, StoredFormRoundTrips) {
  auto g = Gazetteer::from_geonames_tsv(kHeader + row("7", "Şuşa", "39.75", "46.75", "P", "PPLA"), "t.tsv");
  ASSERT_TRUE(g.ok());
  auto back = Gazetteer::deserialize(g->serialize(), "stored");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->places(), g->places());
  EXPECT_EQ(Gazetteer::deserialize("nope\n", "stored").status().ToString(),
            "stored:1: not a stored truce gazetteer (header differs)");
}

TEST(Gazetteer, SharedGeoNamesAndNaturalEarthFilesLoad) {
  const std::string shared = TRUCE_SHARED_DIR;
  const std::string gn = shared + "/data/geonames-cities500-caucasus/cities500_AM_AZ_GE_plus_border.tsv";
  const std::string ne = shared + "/data/natural-earth-caucasus/populated_places_10m_caucasus.geojson";
  if (!std::filesystem::exists(gn)) GTEST_SKIP() << "no " << gn;
  auto g = Gazetteer::from_geonames_tsv(testing::read_file(gn), gn);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(g->places().size(), 792u);
  EXPECT_EQ(g->credits(), std::vector<std::string>{std::string(kGeoNamesCredit)});
  // Near Stepanakert (Xankandi 39.8177 N 46.7528 E), 2 km north.
  EXPECT_EQ(g->describe({39.8357, 46.7528})->text, "2.0 km N of Xankandi");
  auto n = Gazetteer::from_geojson(testing::read_file(ne), ne, "Natural Earth");
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(n->places().size(), 69u);
  EXPECT_EQ(n->credits(), std::vector<std::string>{"Natural Earth"});
}

TEST(Gazetteer, BadGeoJsonPlaces) {
  auto r = Gazetteer::from_geojson(
      R"({"type":"FeatureCollection","features":[{"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[46,40]}}]})",
      "p.geojson", "x");
  EXPECT_EQ(r.status().ToString(), "p.geojson: features[0]: no name (property name, NAME or NAMEASCII)");
  r = Gazetteer::from_geojson(
      R"({"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"a"},"geometry":{"type":"Point","coordinates":[46,99]}}]})",
      "p.geojson", "x");
  EXPECT_EQ(r.status().ToString(), "p.geojson: features[0]: latitude out of range [-90, 90]");
}

}  // namespace
}  // namespace truce::geo
