// Accuracy regression: `truce fuse` on the example scenario (data/example, 2k observations with
// truth), scored by the scenario scorer. The floors are issue 4's bars, a little lower where the
// small sample makes a metric noisy (origin accuracy over ~600 incidents).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "test_util.h"

namespace {

std::string run(const std::string& cmd) { return truce::testing::run(cmd).out; }

TEST(FusionAccuracy, ExampleScenarioMeetsTheFloors) {
  const std::string data = std::string(TRUCE_SOURCE_DIR) + "/data/example";
  const auto dir =
      std::filesystem::temp_directory_path() / ("truce_fusion_acc_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  const std::string out = dir.string();
  const std::string fuse = std::string(TRUCE_BINARY) + " fuse --observations " + data +
                           "/observations.csv --zones " + data + "/zones.geojson --loc " + data +
                           "/loc.geojson --out " + out + " 2>&1";
  const std::string fuse_out = run(fuse + "; echo EXIT=$?");
  ASSERT_NE(fuse_out.find("EXIT=0"), std::string::npos) << fuse_out;
  const std::string score =
      run("python3 " + std::string(TRUCE_SHARED_DIR) + "/scenario/score.py --truth " + data + " --assign " +
          out + "/assign.csv --incidents " + out + "/incidents.csv 2>/dev/null");
  std::filesystem::remove_all(dir);
  auto j = nlohmann::json::parse(score, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << score;
  EXPECT_EQ(j["n_unassigned"].get<int>(), 0);
  EXPECT_GE(j["pair_f1"].get<double>(), 0.97);
  EXPECT_GE(j["pair_precision"].get<double>(), 0.97);
  EXPECT_LE(j["false_merged_rate"].get<double>(), 0.02);
  EXPECT_LE(j["loc_err_multi_median_m"].get<double>(), 300.0);
  EXPECT_LE(j["loc_err_multi_p90_m"].get<double>(), 1100.0);
  EXPECT_GE(j["origin_accuracy"].get<double>(), 0.97);
  EXPECT_LE(j["dist_err_median_m"].get<double>(), 300.0);
}

TEST(FusionAccuracy, BadRowsAreSkippedAndReportedNotFatal) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("truce_fusion_bad_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string obs = (dir / "obs.csv").string();
  FILE* f = std::fopen(obs.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs(
      "observation_id,time,observer_id,observer_lat,observer_lon,kind,bearing_deg,bearing_sigma_deg,distance_"
      "m,"
      "distance_sigma_m,count\n"
      "1,2023-09-01T01:00:00Z,A1,39.9,46.8,mortar,90.0,3.0,2000,500,2\n"
      "2,not-a-time,A2,39.9,46.8,mortar,90.0,3.0,2000,500,2\n"
      "3,2023-09-01T01:00:05Z,A3,39.9,46.8,mortar,400.0,3.0,2000,500,2\n"
      "4,2023-09-01T01:00:05Z,A3,39.9\n",
      f);
  std::fclose(f);
  const std::string data = std::string(TRUCE_SOURCE_DIR) + "/data/example";
  const std::string out = (dir / "out").string();
  const std::string res =
      run(std::string(TRUCE_BINARY) + " fuse --observations " + obs + " --zones " + data +
          "/zones.geojson --loc " + data + "/loc.geojson --out " + out + " 2>&1; echo EXIT=$?");
  EXPECT_NE(res.find("EXIT=1"), std::string::npos) << res;
  EXPECT_NE(res.find("obs.csv:3: field 'time'"), std::string::npos) << res;
  EXPECT_NE(res.find("field 'bearing_deg'"), std::string::npos) << res;
  EXPECT_NE(res.find("1 observations -> 1 incidents, 3 rows skipped"), std::string::npos) << res;
  EXPECT_TRUE(std::filesystem::exists(out + "/assign.csv"));
  const std::string missing =
      run(std::string(TRUCE_BINARY) + " fuse --observations " + (dir / "nope.csv").string() + " --zones " +
          data + "/zones.geojson --loc " + data + "/loc.geojson --out " + out + " 2>&1; echo EXIT=$?");
  EXPECT_NE(missing.find("EXIT=3"), std::string::npos) << missing;
  EXPECT_NE(missing.find("nope.csv"), std::string::npos) << missing;
  std::filesystem::remove_all(dir);
}

// The file reader splits a large quote-free file into pieces parsed in parallel; the result, the
// skipped rows and their line numbers must be those of reading it in one piece, also when a piece
// meets a malformed record (it then reads the file in one piece).
TEST(FusionAccuracy, ParallelReadEqualsOnePieceRead) {
  const std::string data = std::string(TRUCE_SOURCE_DIR) + "/data/example";
  const auto dir =
      std::filesystem::temp_directory_path() / ("truce_fusion_read_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string header, body;
  {
    FILE* in = std::fopen((data + "/observations.csv").c_str(), "r");
    ASSERT_NE(in, nullptr);
    char line[4096];
    std::vector<std::string> rows;
    while (std::fgets(line, sizeof line, in)) {
      if (header.empty())
        header = line;
      else
        rows.emplace_back(line);
    }
    std::fclose(in);
    // Copies of the example in earlier years, with their own ids, until the file passes 1 MiB.
    for (int k = 0; body.size() < (std::size_t{3} << 20) / 2; ++k) {
      for (const auto& r : rows) {
        std::string row = "c" + std::to_string(k) + "-" + r;
        if (const auto y = row.find("2023-"); y != std::string::npos)
          row.replace(y, 4, std::to_string(2023 - k));
        body += row;
      }
    }
  }
  auto fuse = [&](const std::string& csv, int threads, const std::string& out) {
    return run(std::string(TRUCE_BINARY) + " fuse --threads " + std::to_string(threads) + " --observations " +
               csv + " --zones " + data + "/zones.geojson --loc " + data + "/loc.geojson --out " + out +
               " 2>&1; echo EXIT=$?");
  };
  auto slurp = [](const std::string& path) {
    std::string s;
    FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) return s;
    char buf[65536];
    std::size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
    std::fclose(f);
    return s;
  };
  const std::size_t mid = body.find('\n', body.size() * 3 / 4) + 1;
  const std::string bad_field = "x1,not-a-time,A2,39.9,46.8,mortar,90.0,3.0,2000,500,2\n";
  const std::string bad_record =
      std::string("x2,2023-09-01T01:00:00Z,A2,39.9,46.8,mortar,90.0,3.0,2000,500,2") + '\0' + "\n";
  // Line ends, blank lines and non-ASCII text as a reader meets them: CRLF throughout, blank lines
  // (counted in line numbers), and UTF-8 observer ids (the pieces are split in place, not through
  // the reader, so these must come out the same).
  std::string odd;
  {
    const std::string src = body.substr(0, mid) + bad_field + body.substr(mid);
    std::size_t n = 0;
    for (std::size_t b = 0; b < src.size();) {
      const std::size_t e = src.find('\n', b);
      std::string line = src.substr(b, e - b);
      b = e + 1;
      if (++n % 97 == 0) odd += "\r\n\n";
      if (n % 89 == 0) {
        const auto c1 = line.find(','), c2 = line.find(',', c1 + 1);  // observer_id is the third field
        const auto c3 = line.find(',', c2 + 1);
        line.replace(c2 + 1, c3 - c2 - 1,
                     "\xD0\x9F\xD0\xBE\xD1\x81\xD1\x82-" + line.substr(c2 + 1, c3 - c2 - 1));
      }
      odd += line + "\r\n";
    }
  }
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"fields", header + body.substr(0, mid) + bad_field + body.substr(mid)},
      {"record", header + body.substr(0, mid) + bad_record + bad_field + body.substr(mid)},
      {"crlf", header + odd},
      // Records the reader rejects, met by a piece: too many fields, invalid UTF-8.
      {"wide", header + body.substr(0, mid) + bad_field + std::string(300, ',') + "\n" + body.substr(mid)},
      {"utf8", header + body.substr(0, mid) + bad_field + "x3,\xff\xfe,A2\n" + body.substr(mid)},
      // A quote anywhere (here in the last stretch): the file is read in one piece.
      {"quoted", header + body.substr(0, mid) + bad_field + body.substr(mid) +
                     "\"q1\",2023-09-01T01:00:00Z,A2,39.9,46.8,mortar,90.0,3.0,2000,500,2\n"}};
  for (const auto& [name, text] : cases) {
    const std::string csv = (dir / (name + ".csv")).string();
    FILE* f = std::fopen(csv.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    std::fwrite(text.data(), 1, text.size(), f);
    std::fclose(f);
    const std::string one = fuse(csv, 1, (dir / (name + "_1")).string());
    const std::string two = fuse(csv, 2, (dir / (name + "_2")).string());
    const std::string three = fuse(csv, 3, (dir / (name + "_3")).string());
    EXPECT_NE(one.find("EXIT=1"), std::string::npos) << one;
    EXPECT_EQ(one, two) << name;
    EXPECT_EQ(one, three) << name;
    // The skipped row is named by its line in the file.
    const auto line =
        2 + std::count(text.begin() + static_cast<std::ptrdiff_t>(header.size()),
                       text.begin() + static_cast<std::ptrdiff_t>(text.find("x1,not-a-time")), '\n');
    EXPECT_NE(two.find(name + ".csv:" + std::to_string(line) + ": field 'time'"), std::string::npos) << two;
    for (const char* file : {"/assign.csv", "/incidents.csv"}) {
      const std::string a = slurp((dir / (name + "_1")).string() + file),
                        b = slurp((dir / (name + "_2")).string() + file);
      EXPECT_GT(a.size(), 1000u);
      EXPECT_TRUE(a == b) << name << file;
      EXPECT_TRUE(a == slurp((dir / (name + "_3")).string() + file)) << name << file;
    }
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
