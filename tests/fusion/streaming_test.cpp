// Streaming = batch: observations imported in several batches, out of time order (late arrivals),
// with an incremental `truce fuse` after each, end with the same incidents as one batch fusion
// of the whole file; re-fusing changes nothing; the history keeps what changed on the way.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "test_util.h"

namespace {

// The command's output with its stderr and a last line EXIT=<status>.
std::string run(const std::string& cmd) { return truce::testing::run(cmd + " 2>&1; echo EXIT=$?").out; }

std::vector<std::string> lines(const std::string& path) {
  std::ifstream f(path);
  std::vector<std::string> v;
  for (std::string l; std::getline(f, l);) v.push_back(l);
  return v;
}

// assign.csv + incidents.csv -> {sorted observation ids -> "lat,lon,party"}
std::map<std::set<std::string>, std::string> incidents_of(const std::string& dir) {
  std::map<std::string, std::set<std::string>> members;
  auto a = lines(dir + "/assign.csv");
  for (std::size_t i = 1; i < a.size(); ++i) {
    const auto c = a[i].find(',');
    members[a[i].substr(c + 1)].insert(a[i].substr(0, c));
  }
  std::map<std::string, std::string> where;
  auto inc = lines(dir + "/incidents.csv");
  for (std::size_t i = 1; i < inc.size(); ++i) {
    std::stringstream ss(inc[i]);
    std::string id, lat, lon, party;
    std::getline(ss, id, ',');
    std::getline(ss, lat, ',');
    std::getline(ss, lon, ',');
    std::getline(ss, party, ',');
    where[id] = lat + "," + lon + "," + party;
  }
  std::map<std::set<std::string>, std::string> out;
  for (auto& [id, m] : members) out[m] = where[id];
  return out;
}

TEST(FusionStreaming, IncrementalFusionOfLateArrivalsEqualsBatch) {
  const std::string data = std::string(TRUCE_SOURCE_DIR) + "/data/example";
  const auto dir =
      std::filesystem::temp_directory_path() / ("truce_fusion_stream_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string t = std::string(TRUCE_BINARY);
  const std::string db = " --db " + (dir / "m.db").string();

  // Batch, file mode.
  ASSERT_NE(run(t + " fuse --observations " + data + "/observations.csv --zones " + data +
                "/zones.geojson --loc " + data + "/loc.geojson --out " + (dir / "batch").string())
                .find("EXIT=0"),
            std::string::npos);

  // Three imports: the second half of the file first, then the odd and the even rows of the first.
  const auto rows = lines(data + "/observations.csv");
  ASSERT_GT(rows.size(), 1000u);
  const std::size_t half = rows.size() / 2;
  std::vector<std::vector<std::string>> chunks(3);
  for (std::size_t i = 1; i < rows.size(); ++i) chunks[i >= half ? 0 : (i % 2 ? 1 : 2)].push_back(rows[i]);
  ASSERT_NE(run(t + db + " init").find("EXIT=0"), std::string::npos);
  ASSERT_NE(run(t + db + " import zones " + data + "/zones.geojson").find("EXIT=0"), std::string::npos);
  ASSERT_NE(run(t + db + " import loc " + data + "/loc.geojson").find("EXIT=0"), std::string::npos);
  std::string changes;
  for (std::size_t k = 0; k < chunks.size(); ++k) {
    const std::string path = (dir / ("chunk" + std::to_string(k) + ".csv")).string();
    std::ofstream f(path);
    f << rows[0] << "\n";
    for (const auto& r : chunks[k]) f << r << "\n";
    f.close();
    ASSERT_NE(run(t + db + " import observations " + path).find("EXIT=0"), std::string::npos);
    const std::string out = run(t + db + " fuse");
    ASSERT_NE(out.find("EXIT=0"), std::string::npos) << out;
    changes += out;
  }
  // Late arrivals joined incidents fused before: some incidents were updated or retired.
  EXPECT_EQ(changes.find(" 0 updated, 0 unchanged, 0 retired"),
            changes.rfind(" 0 updated, 0 unchanged, 0 retired"))
      << changes;
  ASSERT_NE(run(t + db + " export scorer --out " + (dir / "stream").string()).find("EXIT=0"),
            std::string::npos);
  const auto batch = incidents_of((dir / "batch").string());
  const auto stream = incidents_of((dir / "stream").string());
  EXPECT_GT(batch.size(), 500u);
  EXPECT_EQ(stream.size(), batch.size());
  EXPECT_TRUE(stream == batch) << "incremental and batch fusion differ";

  // Re-running over everything is idempotent: nothing created, updated or retired.
  const std::string again = run(t + db + " fuse --from 2000-01-01T00:00:00Z --to 2100-01-01T00:00:00Z");
  EXPECT_NE(again.find(" 0 created, 0 updated, " + std::to_string(batch.size()) + " unchanged, 0 retired"),
            std::string::npos)
      << again;
  EXPECT_NE(run(t + db + " fuse").find("nothing new to fuse"), std::string::npos);

  // Filters and formats.
  const std::string gj = run(t + db + " incidents --party A --format geojson");
  EXPECT_NE(gj.find("\"type\":\"FeatureCollection\""), std::string::npos);
  EXPECT_EQ(gj.find("\"party\":\"B\""), std::string::npos);
  EXPECT_NE(gj.find("\"party\":\"A\""), std::string::npos);
  const std::string csv = run(t + db + " incidents --kind mlrs --format csv");
  EXPECT_EQ(csv.find(",mortar,"), std::string::npos);
  EXPECT_NE(run(t + db + " incidents --kind cannon").find("EXIT=2"), std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace
