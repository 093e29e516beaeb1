// The live fuser's priority policy: which runs go to the low-priority thread (a flood) and which
// stay at the server's own priority, on a real SQLite mission.
#include "server/live_fusion.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "server/events.h"
#include "test_util.h"
#include "truce/geo/geography.h"
#include "truce/ingest/ingest.h"
#include "truce/sim/simulate.h"
#include "truce/store/store.h"

namespace truce {
namespace {

using Clock = std::chrono::steady_clock;
const std::string kData = std::string(TRUCE_SOURCE_DIR) + "/data/karabakh/";

class LiveFusionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string zones = testing::read_file(kData + "zones.geojson");
    const std::string loc = testing::read_file(kData + "loc.geojson");
    auto g = geo::Geography::from_geojson(zones, loc, "zones", "loc");
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    const auto posts = sim::posts_along_loc(**g, 12);
    std::string csv = "observer_id,lat,lon,party,type\n";
    for (const auto& p : posts) {
      csv += p.id + "," + std::to_string(p.position->lat) + "," + std::to_string(p.position->lon) + "," +
             p.party + ",post\n";
    }
    testing::write_file(dir_.file("observers.csv"), csv);
    // Two halves of one simulated day: the first fused, then the second arrives.
    for (int half = 0; half < 2; ++half) {
      sim::Options so;
      so.days = 0.5;
      so.start = Instant{parse_instant("2023-09-14T00:00:00Z")->ms + half * 43'200'000};
      so.bursts_per_day = 1500;
      so.seed = 31 + static_cast<std::uint64_t>(half);
      const std::string path = dir_.file("half" + std::to_string(half) + ".csv");
      std::FILE* f = std::fopen(path.c_str(), "w");
      ASSERT_NE(f, nullptr);
      ASSERT_TRUE(sim::simulate(**g, posts, so, f).ok());
      std::fclose(f);
    }
    db_ = dir_.file("mission.db");
    auto s = open(true);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    ingest::Options io;
    ASSERT_TRUE(ingest::import_observers(**s, {dir_.file("observers.csv")}, io)->clean());
    ASSERT_TRUE((*s)->put_document("zones", zones).ok());
    ASSERT_TRUE((*s)->put_document("loc", loc).ok());
  }

  Result<std::unique_ptr<Store>> open(bool create = false) const {
    SqliteOptions so;
    so.create = create;
    return open_sqlite_store(db_, so);
  }

  // Imports one half of the day.
  void import(int half) {
    auto s = open();
    ASSERT_TRUE(s.ok());
    auto sum = ingest::import_observations(**s, {dir_.file("half" + std::to_string(half) + ".csv")}, {});
    ASSERT_TRUE(sum.ok()) << sum.status().ToString();
    ASSERT_GT(sum->accepted, 100);
    imported_ += sum->accepted;
  }
  // Waits until the fuser has fused everything imported.
  void wait_fused(const server::LiveFusion& live) {
    const auto deadline = Clock::now() + std::chrono::seconds(60);
    while (live.figures().observations < imported_ && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_EQ(live.figures().observations, imported_);
  }
  // The first half is fused by the fuser's first run (at start), the second after one notify, as
  // for a single post: only the policy can call that run a flood. Returns the flood runs after each.
  std::pair<std::int64_t, std::int64_t> fuse_both_halves(const server::LiveFusion::Options& o) {
    server::EventLog events;
    server::LiveFusion live(o, events);
    import(0);
    EXPECT_TRUE(live.start().ok());
    wait_fused(live);
    const auto first = live.figures().flood_runs;
    import(1);
    live.notify(1);
    wait_fused(live);
    const auto second = live.figures().flood_runs;
    live.stop();
    return {first, second};
  }

  server::LiveFusion::Options options() const {
    server::LiveFusion::Options o;
    o.open_store = [this] { return open(); };
    o.poll = std::chrono::milliseconds(20);
    return o;
  }

  testing::TempDir dir_;
  std::string db_;
  std::int64_t imported_ = 0;
};

TEST_F(LiveFusionTest, SmallRunsAfterSmallWindowsStayAtTheServersPriority) {
  const auto [first, second] = fuse_both_halves(options());
  EXPECT_EQ(first, 0);
  EXPECT_EQ(second, 0);
}

// Regression: reports posted one by one into one dense span (every one fused again with the whole
// window) ran at the server's priority, since only the count accepted since the last run was
// counted, and took a third of the CPU from the posts (bench/serve batches ~150/s, not 200).
TEST_F(LiveFusionTest, ARunAfterAFloodSizedWindowRunsAtLowPriority) {
  auto o = options();
  o.flood_window = 50;  // the first half's window is larger than this
  const auto [first, second] = fuse_both_halves(o);
  EXPECT_EQ(first, 0);
  EXPECT_EQ(second, 1);
}

// The same after a run slower than the live bound: fusion is behind, posts come first.
TEST_F(LiveFusionTest, ARunAfterASlowRunRunsAtLowPriority) {
  auto o = options();
  o.flood_run = std::chrono::milliseconds(1);  // the first run (601 reports) takes longer
  const auto [first, second] = fuse_both_halves(o);
  EXPECT_EQ(first, 0);
  EXPECT_EQ(second, 1);
}

}  // namespace
}  // namespace truce
