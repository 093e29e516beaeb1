// The demo mission end to end: `truce demo` on a fresh database, then what a user asks of it.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>

#include "test_util.h"
#include "truce/geo/geography.h"

namespace truce {
namespace {

using testing::read_file;
using testing::run;
const std::string kTruce = TRUCE_BINARY;
const std::string kMission = std::string(TRUCE_SOURCE_DIR) + "/data/karabakh";

std::string line_after(const std::string& out, const std::string& label) {
  const auto p = out.find(label);
  if (p == std::string::npos) return "";
  const auto e = out.find('\n', p);
  return out.substr(p + label.size(), e - p - label.size());
}

// One demo database for all tests of this file (it takes about a second to build).
class Demo : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir;
    db_ = dir_->file("demo.db");
    out_ = new std::string(run(kTruce + " --db " + db_ + " demo --fresh 2>&1").out);
  }
  static void TearDownTestSuite() {
    delete dir_;
    delete out_;
  }
  static std::string truce(const std::string& args) { return kTruce + " --db " + db_ + " " + args; }
  static testing::TempDir* dir_;
  static std::string db_;
  static std::string* out_;
};
testing::TempDir* Demo::dir_ = nullptr;
std::string Demo::db_;
std::string* Demo::out_ = nullptr;

TEST_F(Demo, SaysWhatIsRealAndWhatIsSimulated) {
  const std::string& out = *out_;
  EXPECT_NE(out.find("REAL:"), std::string::npos) << out;
  EXPECT_NE(out.find("SIMULATED: the 25 observation posts and 30 days"), std::string::npos) << out;
  EXPECT_NE(out.find("imported 4 zones (control 3, corridor 1)"), std::string::npos) << out;
  EXPECT_NE(out.find("place names: GeoNames (geonames.org), CC BY 4.0"), std::string::npos) << out;
  EXPECT_NE(out.find("audit chain:  holds"), std::string::npos) << out;
  // Every stored observation is a simulated one, marked as such.
  auto obs = run(truce("observations --format csv"));
  ASSERT_EQ(obs.status, 0);
  std::size_t rows = 0, marked = 0;
  for (std::size_t p = obs.out.find('\n'); p != std::string::npos && p + 1 < obs.out.size();
       p = obs.out.find('\n', p + 1)) {
    ++rows;
    const auto e = obs.out.find('\n', p + 1);
    if (obs.out.substr(p + 1, e - p - 1).find("SIMULATED") != std::string::npos) ++marked;
  }
  EXPECT_GT(rows, 1000u);
  EXPECT_EQ(marked, rows);
  EXPECT_NE(out.find("observations: " + std::to_string(rows) + " accepted (all SIMULATED"), std::string::npos)
      << out;
}

TEST_F(Demo, FusesAttributesAndClassifies) {
  const std::string inc_line = line_after(*out_, "incidents:    ");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(inc_line, m, std::regex(R"((\d+) fused from (\d+) observations)"))) << *out_;
  const long incidents = std::stol(m[1]);
  EXPECT_GT(incidents, 500);
  // The stored incidents carry their verdicts; the listing shows the rules each breaks.
  auto csv = run(truce("incidents --format csv"));
  ASSERT_EQ(csv.status, 0);
  long lines = -1, r1 = 0, aze = 0, arm = 0;
  std::size_t pos = 0;
  while (pos < csv.out.size()) {
    const auto e = csv.out.find('\n', pos);
    const std::string row = csv.out.substr(pos, e - pos);
    pos = e == std::string::npos ? csv.out.size() : e + 1;
    ++lines;
    if (lines == 0) {
      EXPECT_NE(row.find(",rules"), std::string::npos) << row;
      continue;
    }
    r1 += row.find(",R1") != std::string::npos;
    aze += row.find(",AZE,") != std::string::npos;
    arm += row.find(",ARM,") != std::string::npos;
  }
  EXPECT_EQ(lines, incidents);
  EXPECT_GT(r1, incidents / 2);
  EXPECT_GT(aze, incidents / 5);
  EXPECT_GT(arm, incidents / 5);
  EXPECT_NE(line_after(*out_, "violations:   ").find("R1 " + std::to_string(r1)), std::string::npos) << *out_;
}

TEST_F(Demo, MandateAndHumanitarianFigures) {
  auto m = run(truce("mandate --at 2023-10-13T00:00:00Z --format json"));
  ASSERT_EQ(m.status, 0) << m.out;
  auto j = nlohmann::json::parse(m.out);
  EXPECT_EQ(j["term_index"], 1);
  EXPECT_EQ(j["term_start"], "2020-11-09T21:00:00Z");
  EXPECT_EQ(j["term_end"], "2025-11-09T21:00:00Z");
  EXPECT_EQ(j["notice_deadline"], "2025-05-09T21:00:00Z");
  EXPECT_EQ(j["renews_to"], "2030-11-09T21:00:00Z");
  // The recorded early withdrawal ends the mandate on 12 Jun 2024 (Moscow time).
  auto after = nlohmann::json::parse(run(truce("mandate --at 2024-07-01T00:00:00Z --format json")).out);
  EXPECT_EQ(after["state"], "ended");
  EXPECT_EQ(after["mandate_end"], "2024-06-11T21:00:00Z");
  EXPECT_NE(
      out_->find(
          "mandate today: mandate (stay of the Russian peacekeeping contingent): ended 2024-06-11T21:00:00Z"),
      std::string::npos)
      << *out_;
  EXPECT_NE(out_->find("humanitarian: 100514 of 120000 people (83.8 %) had left by 2023-10-01"),
            std::string::npos)
      << *out_;
}

TEST_F(Demo, PrintsAnAnalystToken) {
  std::smatch m;
  ASSERT_TRUE(std::regex_search(*out_, m, std::regex(R"(analyst token: ([0-9a-f]{64})\n)"))) << *out_;
}

TEST_F(Demo, IsDeterministicForItsSeed) {
  testing::TempDir other;
  auto again = run(kTruce + " --db " + other.file("d.db") + " demo 2>&1");
  ASSERT_EQ(again.status, 0) << again.out;
  EXPECT_EQ(line_after(again.out, "incidents:    "), line_after(*out_, "incidents:    "));
  EXPECT_EQ(line_after(again.out, "violations:   "), line_after(*out_, "violations:   "));
}

TEST_F(Demo, NewRulesReclassifyTheStoredIncidents) {
  // The same agreement with R2 dropped and a rule on mortars fired from Azerbaijan-held ground.
  auto a = nlohmann::json::parse(read_file(kMission + "/agreement.json"));
  a["rules"] = nlohmann::json::array({a["rules"][0],
                                      {{"id", "R9"},
                                       {"title", "no mortar fire from Azerbaijan-held ground"},
                                       {"kinds", {"mortar"}},
                                       {"parties", {"AZE"}}}});
  const std::string path = dir_->file("rules2.json");
  testing::write_file(path, a.dump(2));
  testing::TempDir copy_dir;
  const std::string db2 = copy_dir.file("copy.db");
  ASSERT_EQ(run(kTruce + " --db " + db2 + " demo --days 3 2>&1").status, 0);
  auto before = run(kTruce + " --db " + db2 + " incidents --kind mortar --party AZE --format csv");
  ASSERT_NE(before.out.find(",R1"), std::string::npos) << before.out;
  EXPECT_EQ(before.out.find(";R9"), std::string::npos);
  auto imp = run(kTruce + " --db " + db2 + " import agreement " + path);
  ASSERT_EQ(imp.status, 0) << imp.out;
  EXPECT_NE(imp.out.find("reclassified "), std::string::npos) << imp.out;
  auto after = run(kTruce + " --db " + db2 + " incidents --kind mortar --party AZE --format csv");
  EXPECT_NE(after.out.find(",R1;R9"), std::string::npos) << after.out;
  auto r2 = run(kTruce + " --db " + db2 + " incidents --format csv");
  EXPECT_EQ(r2.out.find("R2"), std::string::npos);
  // The change is a new version of the incident, the earlier verdict kept in its history.
  const auto start = after.out.find("\ninc-") + 1;
  const std::string id = after.out.substr(start, after.out.find(',', start) - start);
  auto hist = run(kTruce + " --db " + db2 + " incidents --history " + id + " --format csv");
  EXPECT_NE(hist.out.find("\n2,"), std::string::npos) << hist.out;
  // Importing the same rules again changes nothing.
  auto same = run(kTruce + " --db " + db2 + " import agreement " + path);
  EXPECT_NE(same.out.find(" 0 changed"), std::string::npos) << same.out;
}

TEST(DemoGeography, TownsLieOnTheRightSide) {
  auto g = geo::Geography::from_geojson(read_file(kMission + "/zones.geojson"),
                                        read_file(kMission + "/loc.geojson"));
  ASSERT_TRUE(g.ok()) << g.status().message();
  struct Case {
    const char* name;
    LatLon p;
    const char* party;
  };
  // GeoNames coordinates (data/karabakh/places.tsv); far enough from the line for a 1:10M map.
  for (const Case& c :
       {Case{"Stepanakert (Xankandi)", {39.8177, 46.7528}, "ARM"},
        Case{"Martakert", {40.21127, 46.82135}, "ARM"}, Case{"Agdam", {39.99096, 46.92736}, "AZE"},
        Case{"Fizuli", {39.60094, 47.14529}, "AZE"}, Case{"Goris (Armenia)", {39.5111, 46.3381}, "ARM"}}) {
    EXPECT_EQ((*g)->attribute(c.p).party, c.party) << c.name;
  }
  // The Lachin corridor is a corridor zone (rule R2 looks at it).
  auto corridor = (*g)->attribute(LatLon{39.5859, 46.5530});
  EXPECT_NE(std::find(corridor.zones.begin(), corridor.zones.end(), "LACHIN"), corridor.zones.end());
}

}  // namespace
}  // namespace truce
