// `truce report daily` end to end: the real binary on a database built with the CLI, including the
// PDF through Debian's Chromium (CI installs it; a missing Chromium fails this test, never skips it).
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "test_util.h"

namespace truce {
namespace {

using testing::run;
const std::string kTruce = TRUCE_BINARY;
const std::string kData = std::string(TRUCE_SOURCE_DIR) + "/tests/data/report";

class ReportCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    for (const std::string& step :
         {std::string("init"), "import zones " + kData + "/zones.geojson",
          "import loc " + kData + "/loc.geojson", "import places " + kData + "/places.tsv",
          "import agreement " + kData + "/agreement.json", "import observers " + kData + "/observers.csv",
          "import observations " + kData + "/observations.csv", std::string("fuse")}) {
      auto r = run(truce(step) + " 2>&1");
      ASSERT_EQ(r.status, 0) << step << ": " << r.out;
    }
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static std::string truce(const std::string& args) {
    return kTruce + " --db " + dir_->file("m.db") + " " + args;
  }
  static testing::TempDir* dir_;
};
testing::TempDir* ReportCli::dir_ = nullptr;

TEST_F(ReportCli, JsonHasTheFieldsTheAcceptanceChecksRead) {
  const std::string out = dir_->file("r.json");
  auto r = run(truce("report daily --date 2023-09-14 --format json -o " + out + " 2>&1"));
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("truce: daily report 2023-09-14 (json): "), std::string::npos) << r.out;
  auto j = nlohmann::json::parse(testing::read_file(out), nullptr, false);
  ASSERT_FALSE(j.is_discarded());
  EXPECT_EQ(j["date"], "2023-09-14");
  EXPECT_EQ(j["totals"]["observations"], 83);
  EXPECT_GT(j["totals"]["incidents"].get<int>(), 10);
  ASSERT_TRUE(j["by_kind"].is_object());
  ASSERT_TRUE(j["by_party"].is_object());
  ASSERT_TRUE(j["notable"].is_array());
  EXPECT_FALSE(j["notable"].empty());
  int sum = 0;
  for (const auto& [k, n] : j["by_kind"].items()) sum += n.get<int>();
  EXPECT_EQ(sum, j["totals"]["incidents"].get<int>());
  // Markdown to stdout, and the same totals.
  auto md = run(truce("report daily --date 2023-09-14 --format md -o -"));
  ASSERT_EQ(md.status, 0);
  EXPECT_EQ(md.out.rfind("# Daily report 2023-09-14\n", 0), 0u);
  EXPECT_NE(md.out.find("- Incidents: **" + std::to_string(j["totals"]["incidents"].get<int>()) + "**"),
            std::string::npos);
  // The public edition has no observer ids.
  auto pub = run(truce("report daily --date 2023-09-14 --format json --public -o -"));
  ASSERT_EQ(pub.status, 0);
  EXPECT_EQ(pub.out.find("observer_ids"), std::string::npos);
  EXPECT_NE(pub.out.find("\"public\": true"), std::string::npos);
}

TEST_F(ReportCli, PdfThroughChromium) {
  const std::string out = dir_->file("r.pdf");
  auto r = run(truce("report daily --date 2023-09-14 --format pdf -o " + out + " 2>&1"));
  ASSERT_EQ(r.status, 0) << r.out;
  const std::string pdf = testing::read_file(out);
  EXPECT_EQ(pdf.rfind("%PDF-", 0), 0u);
  EXPECT_GT(pdf.size(), 20000u);
  EXPECT_FALSE(std::filesystem::exists(out + ".tmp"));
}

TEST_F(ReportCli, BadArgumentsSayWhatWasExpected) {
  auto d = run(truce("report daily --date 2023-13-45 --format json -o - 2>&1"));
  EXPECT_EQ(d.status, 2);
  EXPECT_EQ(d.out, "truce: --date: expected a date YYYY-MM-DD, got \"2023-13-45\"\n");
  auto p = run(truce("report daily --date 2023-09-14 --format pdf -o - 2>&1"));
  EXPECT_EQ(p.status, 2);
  EXPECT_EQ(p.out, "truce: -o: a PDF cannot go to stdout; give -o FILE.pdf\n");
  auto c = run(truce("report daily --date 2023-09-14 --format pdf --chromium /nonexistent/chromium -o " +
                     dir_->file("x.pdf") + " 2>&1"));
  EXPECT_EQ(c.status, 3);
  EXPECT_EQ(
      c.out,
      "truce: cannot run Chromium at /nonexistent/chromium (No such file or directory): install Debian's "
      "chromium package (apt-get install chromium) or give --chromium PATH\n");
  EXPECT_FALSE(std::filesystem::exists(dir_->file("x.pdf")));
  auto f = run(truce("report daily --date 2023-09-14 --format docx -o - 2>&1"));
  EXPECT_EQ(f.status, 2);
}

TEST_F(ReportCli, MissingDatabaseIsAFailure) {
  auto r = run(kTruce + " --db " + dir_->file("none.db") + " report daily --date 2023-09-14 -o - 2>&1");
  EXPECT_EQ(r.status, 3);
  EXPECT_NE(r.out.find("truce: "), std::string::npos);
}

}  // namespace
}  // namespace truce
