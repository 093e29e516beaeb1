// End to end: `truce import zones|loc|places`, `truce attribute`, `truce describe` on real files,
// scored by the scenario scorer against generated ground truth.
#include <gtest/gtest.h>

#include <filesystem>

#include "test_util.h"

namespace truce {
namespace {

using testing::read_file;
using testing::run;
using testing::write_file;
const std::string kTruce = TRUCE_BINARY;
const std::string kShared = TRUCE_SHARED_DIR;
const std::string kExample = std::string(TRUCE_SOURCE_DIR) + "/data/example";

class GeoCli : public ::testing::Test {
 protected:
  std::string truce(const std::string& args) { return kTruce + " --db " + db_ + " " + args; }
  // Runs score.py on an attribution file; returns its JSON line.
  std::string score(const std::string& truth, const std::string& attrib) {
    return run("python3 " + kShared + "/scenario/score.py --truth " + truth + " --attrib " + attrib +
               " 2>/dev/null")
        .out;
  }
  static double metric(const std::string& json, const std::string& key) {
    const auto p = json.find("\"" + key + "\": ");
    return p == std::string::npos ? -1 : std::stod(json.substr(p + key.size() + 4));
  }
  testing::TempDir dir_;
  std::string db_ = dir_.file("m.db");
};

TEST_F(GeoCli, AttributeWithFilesScoresPerfectOnTheExample) {
  const std::string out = dir_.file("attrib.csv");
  auto r = run(truce("attribute " + kExample + "/points.csv -o " + out + " --zones " + kExample +
                     "/zones.geojson --loc " + kExample + "/loc.geojson -q"));
  ASSERT_EQ(r.status, 0) << r.out;
  const std::string csv = read_file(out);
  EXPECT_EQ(csv.substr(0, csv.find('\n')), "point_id,party,distance_to_loc_m,side,zones");
  if (!std::filesystem::exists(kShared + "/scenario/score.py")) GTEST_SKIP() << "no scorer";
  const auto s = score(kExample, out);
  EXPECT_EQ(metric(s, "attrib_party_accuracy"), 1.0) << s;
  EXPECT_LE(metric(s, "attrib_dist_err_max_m"), 1.0) << s;
  EXPECT_GE(metric(s, "attrib_dist_err_max_m"), 0.0) << s;
}

TEST_F(GeoCli, GeneratedScenariosOfSeveralSeedsAndFrontsScorePerfect) {
  if (!std::filesystem::exists(kShared + "/scenario/gen.py")) GTEST_SKIP() << "no generator";
  for (auto [seed, front] : {std::pair{3, 80}, {4, 15}, {5, 40}}) {
    const std::string sc = dir_.file("s" + std::to_string(seed));
    auto g = run("python3 " + kShared + "/scenario/gen.py --out " + sc + " --seed " + std::to_string(seed) +
                 " --observations 100 --points 3000 --quiet --front-km " + std::to_string(front) + " 2>&1");
    ASSERT_EQ(g.status, 0) << g.out;
    const std::string out = sc + "/attrib.csv";
    auto r = run(truce("attribute " + sc + "/points.csv -o " + out + " --zones " + sc +
                       "/zones.geojson --loc " + sc + "/loc.geojson -q 2>&1"));
    ASSERT_EQ(r.status, 0) << r.out;
    const auto s = score(sc, out);
    EXPECT_EQ(metric(s, "attrib_party_accuracy"), 1.0) << seed << " " << s;
    EXPECT_LE(metric(s, "attrib_dist_err_max_m"), 1.0) << seed << " " << s;
    EXPECT_GE(metric(s, "attrib_dist_err_max_m"), 0.0) << seed << " " << s;
  }
}

TEST_F(GeoCli, ImportedGeographyIsVersionedAndABadReimportChangesNothing) {
  ASSERT_EQ(run(truce("init")).status, 0);
  auto z = run(truce("import zones " + kExample + "/zones.geojson"));
  ASSERT_EQ(z.status, 0) << z.out;
  EXPECT_EQ(z.out, "imported 3 zones (control 2, buffer 1) from " + kExample +
                       "/zones.geojson: zones version 1 (earlier versions kept)\n");
  auto l = run(truce("import loc " + kExample + "/loc.geojson"));
  ASSERT_EQ(l.status, 0) << l.out;
  EXPECT_EQ(l.out, "imported the line of contact (1 lines, 601 vertices) from " + kExample +
                       "/loc.geojson: loc version 1 (earlier versions kept)\n");
  const std::string out1 = dir_.file("a1.csv"), out2 = dir_.file("a2.csv"), ref = dir_.file("ref.csv");
  ASSERT_EQ(run(truce("attribute " + kExample + "/points.csv -o " + out1 + " -q")).status, 0);
  ASSERT_EQ(run(truce("attribute " + kExample + "/points.csv -o " + ref + " -q --zones " + kExample +
                      "/zones.geojson --loc " + kExample + "/loc.geojson"))
                .status,
            0);
  EXPECT_EQ(read_file(out1), read_file(ref));
  // A self-intersecting ring: refused with the feature and the reason; the stored zones stay.
  const std::string bad = dir_.file("bad.geojson");
  write_file(
      bad,
      R"({"type":"FeatureCollection","features":[{"type":"Feature","properties":{"id":"bow","party":"A","kind":"control"},)"
      R"("geometry":{"type":"Polygon","coordinates":[[[46,40],[46.1,40.1],[46.1,40],[46,40.1],[46,40]]]}}]})");
  auto b = run(truce("import zones " + bad + " 2>&1"));
  EXPECT_EQ(b.status, 1);
  EXPECT_EQ(b.out, "truce: " + bad +
                       ": features[0] (id \"bow\"): geometry is not valid: edges cross (self-intersection) "
                       "at (46.05, 40.05)\n");
  ASSERT_EQ(run(truce("attribute " + kExample + "/points.csv -o " + out2 + " -q")).status, 0);
  EXPECT_EQ(read_file(out2), read_file(ref));
  // A good re-import is version 2.
  auto z2 = run(truce("import zones " + kExample + "/zones.geojson"));
  EXPECT_NE(z2.out.find("zones version 2"), std::string::npos) << z2.out;
}

TEST_F(GeoCli, AttributeWithoutGeographySaysWhatToDo) {
  ASSERT_EQ(run(truce("init")).status, 0);
  auto r = run(truce("attribute " + kExample + "/points.csv -o " + dir_.file("x.csv") + " 2>&1"));
  EXPECT_EQ(r.status, 3);
  EXPECT_EQ(r.out,
            "truce: the mission has no zones: run `truce import zones FILE` or give --zones and --loc\n");
  auto half = run(truce("attribute " + kExample + "/points.csv --zones " + kExample + "/zones.geojson 2>&1"));
  EXPECT_EQ(half.status, 1);
  EXPECT_EQ(half.out,
            "truce: --zones and --loc go together: give both, or neither to use the mission database\n");
}

TEST_F(GeoCli, BadPointRowsAreReportedAndSkipped) {
  const std::string pts = dir_.file("p.csv"), out = dir_.file("o.csv");
  write_file(pts, "point_id,lat,lon\n1,39.9,46.8\n2,91,46.8\n3,39.9\n4,39.91,46.81\n");
  auto r = run(truce("attribute " + pts + " -o " + out + " -q --zones " + kExample + "/zones.geojson --loc " +
                     kExample + "/loc.geojson 2>&1"));
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.out, "truce: " + pts +
                       ":3: field 'lat': expected a latitude in [-90, 90], got \"91\"\ntruce: " + pts +
                       ":4: expected 3 fields, got 2\n");
  const std::string csv = read_file(out);
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 3);
  EXPECT_EQ(csv.substr(csv.find('\n') + 1, 2), "1,");
}

// A file over 1 MiB is read in one part per thread: the bytes written, the bad rows named (with
// their line numbers) and the exit code are the same for any number of threads.
TEST_F(GeoCli, AttributeWritesTheSameBytesForAnyThreadCount) {
  const std::string pts = dir_.file("big.csv");
  const std::string example = read_file(kExample + "/points.csv");
  std::string rows = example.substr(example.find('\n') + 1);
  std::string text = "point_id,lat,lon\n";
  for (int copy = 0; text.size() < (std::size_t{3} << 20); ++copy) {
    text += rows;
    text += "\"c" + std::to_string(copy) + ",x\",39.9,46.8\n";  // an id that needs quoting
    if (copy % 2 == 1) text += "bad" + std::to_string(copy) + ",91,46.8\n";
  }
  write_file(pts, text);
  std::string first_csv, first_err;
  for (const char* threads : {"1", "2", "3", "7"}) {
    const std::string out = dir_.file(std::string("o") + threads + ".csv");
    auto r = run(truce("attribute " + pts + " -o " + out + " -q --threads " + threads + " --zones " +
                       kExample + "/zones.geojson --loc " + kExample + "/loc.geojson 2>&1"));
    EXPECT_EQ(r.status, 1) << threads;
    const std::string csv = read_file(out);
    if (first_csv.empty()) {
      first_csv = csv, first_err = r.out;
      EXPECT_NE(r.out.find("more bad rows"), std::string::npos) << r.out;
      continue;
    }
    EXPECT_TRUE(csv == first_csv) << threads << " threads wrote other bytes";
    EXPECT_EQ(r.out, first_err) << threads;
  }
}

TEST_F(GeoCli, ImportPlacesAndDescribeCreditsGeoNames) {
  const std::string gn = kShared + "/data/geonames-cities500-caucasus/cities500_AM_AZ_GE_plus_border.tsv";
  if (!std::filesystem::exists(gn)) GTEST_SKIP() << "no " << gn;
  ASSERT_EQ(run(truce("init")).status, 0);
  auto i = run(truce("import places " + gn));
  ASSERT_EQ(i.status, 0) << i.out;
  EXPECT_EQ(
      i.out,
      "imported 792 places from " + gn +
          ": places version 1 (earlier versions kept)\nplace names: GeoNames (geonames.org), CC BY 4.0\n");
  // 2 km north of Xankandi (Stepanakert).
  auto d = run(truce("describe 39.8357 46.7528"));
  ASSERT_EQ(d.status, 0) << d.out;
  EXPECT_EQ(d.out, "2.0 km N of Xankandi\nplace names: GeoNames (geonames.org), CC BY 4.0\n");
  auto j = run(truce("describe 39.8357 46.7528 --format json"));
  EXPECT_NE(j.out.find("\"text\":\"2.0 km N of Xankandi\""), std::string::npos) << j.out;
  EXPECT_NE(j.out.find("\"credit\":\"GeoNames (geonames.org), CC BY 4.0\""), std::string::npos) << j.out;
  auto neg = run(truce("describe -33.9 151.2"));
  EXPECT_EQ(neg.status, 0) << neg.out;
}

}  // namespace
}  // namespace truce
