// Rules and classification, data-driven: each folder under tests/data/agreement/ holds incidents
// and one or more rules files with the violations the classifier must give (README.md there).
#include "truce/agreement/rules.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <string>

#include "test_util.h"
#include "truce/agreement/geo_view.h"
#include "truce/io/record_reader.h"

namespace truce::agreement {
namespace {

const std::string kData = std::string(TRUCE_SOURCE_DIR) + "/tests/data/agreement";

// Rows of a CSV file as maps column -> value.
std::vector<std::map<std::string, std::string>> read_csv(const std::string& path) {
  std::vector<std::map<std::string, std::string>> out;
  auto src = io::ByteSource::open(path);
  EXPECT_TRUE(src.ok()) << path;
  if (!src.ok()) return out;
  io::RecordReader r(**src, io::RecordReader::Mode::kCsv);
  io::Record rec;
  Status err;
  std::vector<std::string> header;
  while (r.next(rec, err) == io::ReadResult::kRecord) {
    if (header.empty()) {
      for (auto f : rec.fields) header.emplace_back(f);
      continue;
    }
    std::map<std::string, std::string> row;
    for (std::size_t i = 0; i < rec.fields.size() && i < header.size(); ++i)
      row[header[i]] = std::string(rec.fields[i]);
    out.push_back(std::move(row));
  }
  return out;
}

std::shared_ptr<const geo::Geography> test_geography() {
  auto g = geo::Geography::from_geojson(testing::read_file(kData + "/geo/zones.geojson"),
                                        testing::read_file(kData + "/geo/loc.geojson"), "zones", "loc");
  EXPECT_TRUE(g.ok()) << g.status().ToString();
  return g.ok() ? *g : nullptr;
}

std::vector<IncidentView> incidents(const std::string& path, const geo::Geography& g) {
  std::vector<IncidentView> out;
  for (auto& row : read_csv(path)) {
    IncidentView v;
    v.id = row["incident_id"];
    v.time = *parse_instant(row["time"]);
    v.kind = *kind_from_string(row["kind"]);
    if (!row["lat"].empty()) v.origin = LatLon{std::stod(row["lat"]), std::stod(row["lon"])};
    if (!row["target_lat"].empty())
      v.target = LatLon{std::stod(row["target_lat"]), std::stod(row["target_lon"])};
    place_on(v, g);
    out.push_back(std::move(v));
  }
  return out;
}

std::string joined(const std::vector<std::string>& v, const char* sep) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : sep) + x;
  return s;
}

TEST(RulesData, EveryCaseGivesTheExpectedViolations) {
  auto g = test_geography();
  ASSERT_TRUE(g);
  const ZoneCatalog cat = zone_catalog(*g);
  int files = 0;
  for (const auto& dir : std::filesystem::directory_iterator(kData)) {
    if (!dir.is_directory() || !std::filesystem::exists(dir.path() / "incidents.csv")) continue;
    const auto incs = incidents((dir.path() / "incidents.csv").string(), *g);
    for (const auto& f : std::filesystem::directory_iterator(dir.path())) {
      const std::string name = f.path().filename().string();
      if (name.rfind("rules", 0) != 0 || f.path().extension() != ".json") continue;
      const std::string suffix = name.substr(5, name.size() - 10);  // "" or "-2"
      const std::string expected_path = (dir.path() / ("expected" + suffix + ".csv")).string();
      SCOPED_TRACE(f.path().string());
      auto rules = parse_rules_document(testing::read_file(f.path().string()), name);
      ASSERT_TRUE(rules.ok()) << rules.status().ToString();
      const auto expected = read_csv(expected_path);
      ASSERT_EQ(expected.size(), incs.size()) << expected_path;
      for (std::size_t i = 0; i < incs.size(); ++i) {
        const auto c = classify(incs[i], *rules, cat);
        std::vector<std::string> ids, expl;
        for (const auto& v : c.violations) {
          ids.push_back(v.rule_id);
          expl.push_back(v.explanation);
        }
        auto e = expected[i];
        EXPECT_EQ(incs[i].id, e["incident_id"]);
        EXPECT_EQ(joined(ids, ";"), e["rules"]) << incs[i].id;
        EXPECT_EQ(joined(c.unchecked, ";"), e["unchecked"]) << incs[i].id;
        EXPECT_EQ(joined(expl, " | "), e["explanation"]) << incs[i].id;
      }
      ++files;
    }
  }
  EXPECT_GE(files, 5);
}

TEST(Rules, ChangingTheRulesReclassifies) {
  IncidentView v;
  v.id = "x";
  v.time = *parse_instant("2023-09-01T00:00:00Z");
  v.kind = Kind::kMortar;
  v.origin = LatLon{40, 46.5};
  v.party = "ARM";
  v.distance_to_loc_m = 25'000;
  auto fire = parse_rules_document(R"({"rules":[{"id":"R1","title":"no fire","kinds":["fire"]}]})", "a");
  auto far = parse_rules_document(
      R"({"rules":[{"id":"R9","title":"no mortar within 10 km","kinds":["mortar"],"within_km_of_loc":10}]})",
      "b");
  ASSERT_TRUE(fire.ok() && far.ok());
  EXPECT_EQ(classify(v, *fire, {}).violations.size(), 1u);
  EXPECT_TRUE(classify(v, *far, {}).violations.empty());
  v.distance_to_loc_m = 9'999;
  ASSERT_EQ(classify(v, *far, {}).violations.size(), 1u);
  EXPECT_EQ(classify(v, *far, {}).violations[0].explanation,
            "no mortar within 10 km: mortar at 2023-09-01T00:00:00Z from ARM-held ground, 10.0 km from the "
            "line of contact");
}

TEST(Rules, RulesFileErrorsNameTheKey) {
  auto r = parse_rules_document(R"({"rules":[{"id":"R1","title":"t","from":"yesterday"}]})", "rules.json");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().ToString(),
            "rules.json: field 'rules[0].from': expected an ISO 8601 time with a zone, e.g. "
            "2023-09-01T21:38:41Z or "
            "2023-09-02T01:38:41+04:00, got \"yesterday\"");
  auto r2 = parse_rules_document(
      R"({"rules":[{"id":"R1","title":"t","within_km_of_loc":10,"beyond_km_of_loc":20}]})", "r.json");
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ(r2.status().ToString(),
            "r.json: field 'rules[0].beyond_km_of_loc': must be less than within_km_of_loc, or no incident "
            "can match");
  auto r3 = parse_rules_document(R"({"rule":[]})", "r.json");
  EXPECT_EQ(r3.status().ToString(), "r.json: field 'rule': unknown key; expected one of: rules");
}

}  // namespace
}  // namespace truce::agreement
