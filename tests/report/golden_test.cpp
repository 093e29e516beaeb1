// The daily report of a fixed scenario (tests/data/report), gathered from a real mission database:
// JSON and Markdown against golden files, the HTML checked for structure against the JSON.
// TRUCE_UPDATE_GOLDEN=1 rewrites the golden files instead of comparing.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "test_util.h"
#include "truce/agreement/humanitarian.h"
#include "truce/geo/gazetteer.h"
#include "truce/ingest/ingest.h"
#include "truce/pipeline/fuse.h"
#include "truce/pipeline/report.h"
#include "truce/report/report.h"

namespace truce {
namespace {

const std::string kData = std::string(TRUCE_SOURCE_DIR) + "/tests/data/report";
const std::string kGolden = kData + "/golden";

class ReportScenario : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    SqliteOptions so;
    so.create = true;
    auto s = open_sqlite_store(dir_->file("m.db"), so);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    Store& st = **s;
    for (const char* name : {"zones", "loc"}) {
      ASSERT_TRUE(st.put_document(name, testing::read_file(kData + "/" + name + ".geojson")).ok());
    }
    auto places = geo::Gazetteer::from_geonames_tsv(testing::read_file(kData + "/places.tsv"), "places.tsv");
    ASSERT_TRUE(places.ok()) << places.status().ToString();
    ASSERT_TRUE(st.put_document("places", places->serialize()).ok());
    ASSERT_TRUE(st.put_document("agreement", testing::read_file(kData + "/agreement.json")).ok());
    agreement::ReadErrors errors;
    auto crossings = agreement::read_crossings_csv(kData + "/crossings.csv", errors);
    ASSERT_TRUE(crossings.ok() && errors.errors.empty());
    ASSERT_TRUE(st.put_document("crossings", agreement::crossings_to_json(*crossings)).ok());
    auto baselines = agreement::read_baselines_csv(kData + "/baseline.csv", errors);
    ASSERT_TRUE(baselines.ok() && errors.errors.empty());
    ASSERT_TRUE(st.put_document("population_baselines", agreement::baselines_to_json(*baselines)).ok());
    ingest::Options io;
    io.submitted_by = "test";
    auto obs = ingest::import_observers(st, {kData + "/observers.csv"}, io);
    ASSERT_TRUE(obs.ok() && obs->clean());
    auto rows = ingest::import_observations(st, {kData + "/observations.csv"}, io);
    ASSERT_TRUE(rows.ok() && rows->clean());
    ASSERT_EQ(rows->accepted, 682);
    auto geography = pipeline::mission_geography(st);
    ASSERT_TRUE(geography.ok());
    auto fused = pipeline::fuse_stored(st, **geography, {}, fusion::Config{});
    ASSERT_TRUE(fused.ok()) << fused.status().ToString();
    // Two analysts' verdicts on the day: the first two incidents starting on 2023-09-14.
    std::vector<std::string> ids;
    IncidentFilter f;
    f.from = parse_instant("2023-09-14T00:00:00Z").value();
    f.to = parse_instant("2023-09-15T00:00:00Z").value();
    ASSERT_TRUE(st.scan_incidents(f, [&](const StoredIncident& si) {
                    if (si.start >= *f.from) ids.push_back(si.id);
                    return ids.size() < 2;
                  }).ok());
    ASSERT_EQ(ids.size(), 2u);
    IncidentReview v{ids[0],     0, "verified", "crater and fragments found by the afternoon patrol",
                     "analyst1", {}};
    ASSERT_TRUE(st.update_review(v, 0).ok());
    IncidentReview d{ids[1], 0, "disputed", "party B denies firing", "analyst1", {}};
    ASSERT_TRUE(st.update_review(d, 0).ok());
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }

  static report::DailyReport build(bool is_public) {
    SqliteOptions so;
    auto s = open_sqlite_store(dir_->file("m.db"), so);
    EXPECT_TRUE(s.ok());
    auto in = pipeline::gather_report_inputs(**s, report::parse_day("2023-09-14").value());
    EXPECT_TRUE(in.ok()) << in.status().ToString();
    report::Options o;
    o.public_view = is_public;
    auto r = report::build_daily_report(*in, o);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return *r;
  }

  static void golden(const std::string& name, const std::string& got) {
    const std::string path = kGolden + "/" + name;
    if (const char* u = std::getenv("TRUCE_UPDATE_GOLDEN"); u && std::string(u) == "1") {
      std::filesystem::create_directories(kGolden);
      testing::write_file(path, got);
      std::fprintf(stderr, "rewrote %s\n", path.c_str());
      return;
    }
    ASSERT_TRUE(std::filesystem::exists(path)) << path << " is missing: run with TRUCE_UPDATE_GOLDEN=1";
    const std::string want = testing::read_file(path);
    if (want != got) {
      testing::write_file(path + ".got", got);
      FAIL() << name << " differs from its golden file; the output is in " << path
             << ".got (diff them; TRUCE_UPDATE_GOLDEN=1 rewrites the goldens)";
    }
  }

  static testing::TempDir* dir_;
};
testing::TempDir* ReportScenario::dir_ = nullptr;

TEST_F(ReportScenario, JsonAndMarkdownMatchTheGoldenFiles) {
  const auto full = build(false);
  golden("2023-09-14.json", report::to_json(full));
  golden("2023-09-14.md", report::to_markdown(full));
  const auto pub = build(true);
  golden("2023-09-14.public.json", report::to_json(pub));
  golden("2023-09-14.public.md", report::to_markdown(pub));
}

TEST_F(ReportScenario, ModelHoldsWhatTheScenarioHolds) {
  const auto r = build(false);
  EXPECT_EQ(r.date, "2023-09-14");
  EXPECT_EQ(r.observations, 83);  // rows of observations.csv timed on the day
  EXPECT_EQ(r.simulated_observations, 83);
  EXPECT_GT(r.incidents, 10);
  std::int64_t sum = 0;
  for (const auto& c : r.by_kind) sum += c.n;
  EXPECT_EQ(sum, r.incidents);
  sum = 0;
  for (const auto& c : r.by_party) sum += c.n;
  EXPECT_EQ(sum, r.incidents);
  sum = 0;
  for (const auto& c : r.verification) sum += c.n;
  EXPECT_EQ(sum, r.incidents);
  for (const auto& c : r.verification) {
    if (c.key == "verified" || c.key == "disputed") {
      EXPECT_EQ(c.n, 1) << c.key;
    }
  }
  std::int64_t hours = 0;
  for (auto n : r.by_hour) hours += n;
  EXPECT_EQ(hours, r.incidents);
  EXPECT_EQ(r.trend.back().total, r.incidents);
  EXPECT_FALSE(r.notable.empty());
  EXPECT_FALSE(r.map.zones.empty());
  EXPECT_FALSE(r.map.posts.empty());
  EXPECT_FALSE(r.map.places.empty());
  ASSERT_TRUE(r.humanitarian);
  EXPECT_EQ(r.humanitarian->day_out, 310);
  EXPECT_EQ(r.humanitarian->total_out, 525);
  // As of the end of the day, from the stored agreement (not the wall clock).
  EXPECT_NE(r.mandate.find("term 1 ends 2025-11-09T21:00:00Z"), std::string::npos) << r.mandate;
  EXPECT_EQ(r.credits, (std::vector<std::string>{std::string(geo::kGeoNamesCredit)}));
}

TEST_F(ReportScenario, HtmlMapHasOneMarkPerLocatedIncidentAndTotalsMatchTheJson) {
  for (bool is_public : {false, true}) {
    const auto r = build(is_public);
    const auto j = nlohmann::json::parse(report::to_json(r));
    const std::string html = report::to_html(r);
    std::size_t located = 0;
    std::set<std::string> located_ids;
    for (const auto& i : j["incidents"]) {
      if (!i["lat"].is_null()) located_ids.insert(i["id"].get<std::string>());
    }
    located = located_ids.size();
    EXPECT_EQ(static_cast<std::int64_t>(located), j["totals"]["located"].get<std::int64_t>());
    std::set<std::string> marked;
    std::size_t marks = 0;
    const std::regex mark(R"re(<g class="incident" data-id="([^"]+)")re");
    for (auto it = std::sregex_iterator(html.begin(), html.end(), mark); it != std::sregex_iterator(); ++it) {
      ++marks;
      marked.insert((*it)[1].str());
    }
    EXPECT_EQ(marks, located);
    EXPECT_EQ(marked, located_ids);
    const std::regex total(R"re(<span class="total" data-key="([a-z_]+)" data-value="(-?[0-9]+)">)re");
    std::size_t totals = 0;
    for (auto it = std::sregex_iterator(html.begin(), html.end(), total); it != std::sregex_iterator();
         ++it) {
      ++totals;
      EXPECT_EQ(std::stoll((*it)[2].str()), j["totals"][(*it)[1].str()].get<std::int64_t>())
          << (*it)[1].str();
    }
    EXPECT_EQ(totals, 5u);
    // Kind counts in the by-kind table equal the JSON's.
    for (const auto& [k, n] : j["by_kind"].items()) {
      const std::string row =
          "<tr><td>" + k + "</td><td class=\"n\" data-n=\"" + std::to_string(n.get<std::int64_t>()) + "\">";
      EXPECT_NE(html.find(row), std::string::npos) << row;
    }
    // Self-contained: nothing fetched.
    EXPECT_EQ(html.find("http://"), std::string::npos);
    EXPECT_EQ(html.find("https://"), std::string::npos);
    EXPECT_EQ(html.find("src="), std::string::npos);
    EXPECT_EQ(html.find("@import"), std::string::npos);
    const std::regex href(R"re(href="([^"]*)")re");
    for (auto it = std::sregex_iterator(html.begin(), html.end(), href); it != std::sregex_iterator(); ++it)
      EXPECT_EQ((*it)[1].str().rfind("#", 0), 0u) << (*it)[1].str();
    EXPECT_EQ(html.find("class=\"post\"") != std::string::npos, !is_public);
    EXPECT_NE(html.find("<ellipse") != std::string::npos, is_public);
    const std::string js = report::to_json(r);
    EXPECT_EQ(js.find("crater and fragments") == std::string::npos, is_public);  // analyst notes
    EXPECT_EQ(js.find("observer_ids") == std::string::npos, is_public);
    if (is_public) {
      EXPECT_EQ(html.find("crater and fragments"), std::string::npos);
    }
  }
}

TEST_F(ReportScenario, SameDatabaseSameBytes) {
  EXPECT_EQ(report::to_html(build(false)), report::to_html(build(false)));
  EXPECT_EQ(report::to_json(build(true)), report::to_json(build(true)));
}

}  // namespace
}  // namespace truce
