// The agreement commands end to end: the real `truce` binary and a real database.
#include <gtest/gtest.h>

#include <string>

#include "test_util.h"

namespace truce {
namespace {

using testing::run;
const std::string kTruce = TRUCE_BINARY;
const std::string kDemo = std::string(TRUCE_SOURCE_DIR) + "/data/karabakh";
const std::string kGeo = std::string(TRUCE_SOURCE_DIR) + "/tests/data/agreement/geo";
const std::string kExample = std::string(TRUCE_SHARED_DIR) + "/scenario/example";

class AgreementCli : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(run(truce("init")).status, 0); }
  std::string truce(const std::string& args) { return kTruce + " --db " + db_ + " " + args; }
  testing::TempDir dir_;
  std::string db_ = dir_.file("m.db");
};

TEST_F(AgreementCli, ImportAgreementThenMandateJson) {
  auto imp = run(truce("import agreement " + kDemo + "/agreement.json"));
  EXPECT_EQ(imp.status, 0);
  EXPECT_EQ(imp.out,
            "imported agreement 'trilateral-statement-2020-11-10': 3 parties, 9 provisions, a term, 1 "
            "event, 2 rules: "
            "agreement version 1 (earlier versions kept)\n");
  auto m = run(truce("mandate --at 2023-10-13T00:00:00Z --format json"));
  EXPECT_EQ(m.status, 0);
  for (const char* k :
       {R"("term_index":1)", R"("term_start":"2020-11-09T21:00:00Z")", R"("term_end":"2025-11-09T21:00:00Z")",
        R"("notice_deadline":"2025-05-09T21:00:00Z")", R"("renews_to":"2030-11-09T21:00:00Z")"})
    EXPECT_NE(m.out.find(k), std::string::npos) << k << " in " << m.out;
  EXPECT_EQ(m.out.find('\n'), m.out.size() - 1);  // one JSON object on one line
  auto text = run(truce("mandate --at 2023-10-13T00:00:00Z"));
  EXPECT_EQ(text.status, 0);
  EXPECT_NE(text.out.find("notice deadline:  2025-05-09T21:00:00Z (10 May 2025 00:00 Moscow time), 574 days "
                          "left, no notice given\n"),
            std::string::npos)
      << text.out;
}

TEST_F(AgreementCli, BadAgreementFileNamesTheKeyAndStoresNothing) {
  testing::write_file(
      dir_.file("a.json"),
      R"({"id":"x","title":"x","parties":[{"code":"A"}],"term":{"effective":"2020-01-01T00:00:00Z","utc_offset":"Z","length":"5 years","notice":"P6M"}})");
  auto r = run(truce("import agreement " + dir_.file("a.json") + " 2>&1"));
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.out,
            "truce: " + dir_.file("a.json") +
                ": field 'term.length': expected an ISO 8601 duration of dates such as \"P5Y\", \"P6M\", "
                "\"P1Y6M\" or \"P30D\", got \"5 years\"\n");
  auto m = run(truce("mandate 2>&1"));
  EXPECT_EQ(m.status, 3);
  EXPECT_EQ(
      m.out,
      "truce: the mission has no agreement: run `truce import agreement FILE` or give --agreement FILE\n");
}

TEST_F(AgreementCli, CrossingsBaselineHumanitarian) {
  auto c = run(truce("import crossings " + kDemo + "/crossings.csv"));
  EXPECT_EQ(c.status, 0);
  EXPECT_EQ(c.out,
            "imported 1 crossing rows from " + kDemo +
                "/crossings.csv: 1 added, 0 replaced, 0 unchanged; 1 rows stored (crossings version 1)\n");
  auto again = run(truce("import crossings " + kDemo + "/crossings.csv"));
  EXPECT_NE(again.out.find("0 added, 0 replaced, 1 unchanged"), std::string::npos);
  EXPECT_EQ(run(truce("import baseline " + kDemo + "/baseline.csv")).status, 0);
  auto h = run(truce("humanitarian --at 2023-10-01"));
  EXPECT_EQ(h.status, 0);
  EXPECT_NE(h.out.find("departed: 100,514 of 120,000 (83.8 %) by 2023-10-01\n"), std::string::npos) << h.out;
  auto j = run(truce("humanitarian --at 2023-10-01 --format json"));
  EXPECT_NE(j.out.find(R"("share_out_percent":83.8)"), std::string::npos) << j.out;
  testing::write_file(dir_.file("bad.csv"),
                      "date,checkpoint,direction,people,source\n2023-09-24,X,out,many,s\n");
  auto bad = run(truce("import crossings " + dir_.file("bad.csv") + " 2>&1"));
  EXPECT_EQ(bad.status, 1);
  EXPECT_EQ(bad.out,
            "truce: " + dir_.file("bad.csv") +
                ":2: field 'people': expected a whole number >= 0 without separators, got \"many\"\n" +
                "truce: " + dir_.file("bad.csv") +
                ": nothing imported: fix the rows above and import the file again\n");
}

TEST_F(AgreementCli, ClassifyWithFilesAndChangedRules) {
  const std::string base = "classify --zones " + kGeo + "/zones.geojson --loc " + kGeo +
                           "/loc.geojson --incidents " + kGeo + "/../withdrawal/incidents.csv --format csv";
  auto r = run(truce(base + " --rules " + kGeo + "/../withdrawal/rules.json 2>/dev/null"));
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("w1,2023-09-02T01:00:00Z,artillery,W1;W3,,"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("w6,2023-09-02T06:00:00Z,artillery,,W1;W3,"), std::string::npos) << r.out;
  auto r2 = run(truce(base + " --rules " + kGeo + "/../ceasefire/rules.json 2>/dev/null"));
  EXPECT_NE(r2.out.find("w7,2023-09-02T07:00:00Z,small_arms,R1,,"), std::string::npos) << r2.out;
}

TEST_F(AgreementCli, SimulateIsDeterministicAndImports) {
  const std::string args = "simulate --zones " + kExample + "/zones.geojson --loc " + kExample +
                           "/loc.geojson --days 2 --seed 5 --quiet";
  ASSERT_EQ(run(truce(args + " -o " + dir_.file("a.csv"))).status, 0);
  ASSERT_EQ(run(truce(args + " -o " + dir_.file("b.csv"))).status, 0);
  const std::string a = testing::read_file(dir_.file("a.csv"));
  EXPECT_EQ(a, testing::read_file(dir_.file("b.csv")));
  ASSERT_GT(a.size(), 1000u);
  auto imp = run(truce("import observations " + dir_.file("a.csv") + " --format json"));
  EXPECT_EQ(imp.status, 0) << imp.out;
  EXPECT_NE(imp.out.find("\"rejected\":0"), std::string::npos) << imp.out;
  auto q = run(truce("observations --limit 3 --format csv"));
  EXPECT_NE(q.out.find("SIMULATED"), std::string::npos) << q.out;
  auto nogeo = run(truce("simulate --days 1 -o " + dir_.file("c.csv") + " 2>&1"));
  EXPECT_EQ(nogeo.status, 3);
  EXPECT_EQ(nogeo.out,
            "truce: the mission has no zones or line of contact: run `truce import zones FILE` and `truce "
            "import loc "
            "FILE`, or give --zones and --loc\n");
}

}  // namespace
}  // namespace truce
