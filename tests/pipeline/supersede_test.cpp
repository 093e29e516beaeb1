// An edited OpenRosa submission (meta/deprecatedID) through the real path: the io parser, ingest,
// the store and incremental fusion. The edited report replaces the original in its incident.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>

#include "test_util.h"
#include "truce/ingest/ingest.h"
#include "truce/io/openrosa.h"
#include "truce/pipeline/fuse.h"

namespace truce {
namespace {

const std::string kData = std::string(TRUCE_SOURCE_DIR) + "/tests/data/report";

struct Report {
  std::string id, deprecated, time, observer, lat, lon, bearing, sigma, dist, count;
};

std::string xform(const Report& r) {
  return "<data id=\"truce_observation\"><observer_id>" + r.observer + "</observer_id><time>" + r.time +
         "</time><location>" + r.lat + " " + r.lon + " 0 5</location><kind>explosion</kind><bearing_deg>" +
         r.bearing + "</bearing_deg><bearing_sigma_deg>" + r.sigma + "</bearing_sigma_deg><distance_m>" +
         r.dist + "</distance_m><count>" + r.count + "</count><meta><instanceID>" + r.id + "</instanceID>" +
         (r.deprecated.empty() ? "" : "<deprecatedID>" + r.deprecated + "</deprecatedID>") + "</meta></data>";
}

// Two posts hear one explosion (reports 330 and 331 of tests/data/report).
const Report kA{"uuid:old", "", "2023-09-07T08:01:52Z", "A0005", "39.873842", "46.802173", "282.8", "4.3",
                "6600",     "1"};
const Report kB{"uuid:b", "", "2023-09-07T08:01:57Z", "B0006", "39.887471", "46.824937", "281.4", "3.2",
                "12300",  "2"};

class Supersede : public ::testing::Test {
 protected:
  void SetUp() override {
    SqliteOptions so;
    so.create = true;
    auto s = open_sqlite_store(dir_.file("m.db"), so);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
    for (const char* name : {"zones", "loc"}) {
      ASSERT_TRUE(store_->put_document(name, testing::read_file(kData + "/" + name + ".geojson")).ok());
    }
    auto obs = ingest::import_observers(*store_, {kData + "/observers.csv"}, ingest::Options{});
    ASSERT_TRUE(obs.ok() && obs->clean());
    auto g = pipeline::mission_geography(*store_);
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    geography_ = *g;
  }
  // Submits as the server's OpenRosa handler does.
  ingest::SubmissionResult submit(const Report& r) {
    ingest::Submission sub;
    io::Row row;
    std::vector<std::string> storage;
    io::XformMeta meta;
    const std::string xml = xform(r);
    sub.raw = xml;
    if (auto e = io::parse_xform_submission(xml, row, storage, meta)) {
      sub.error = *e;
    } else {
      Observation o;
      if (auto pe = io::parse_observation(row, Instant{1800000000000}, o)) {
        sub.error = *pe;
      } else {
        o.channel = "openrosa";
        o.supersedes = meta.deprecated_id;
        sub.obs = std::move(o);
      }
    }
    std::vector<ingest::Submission> subs;
    subs.push_back(std::move(sub));
    auto res = ingest::submit_observations(*store_, std::move(subs), "openrosa", ingest::Options{});
    EXPECT_TRUE(res.ok()) << res.status().ToString();
    return res.ok() ? (*res)[0] : ingest::SubmissionResult{};
  }
  void fuse() {
    auto f = pipeline::fuse_stored(*store_, *geography_, {}, fusion::Config{});
    ASSERT_TRUE(f.ok()) << f.status().ToString();
  }
  // Each current incident as "id: obs,obs".
  std::vector<std::string> incidents() {
    std::vector<std::string> out;
    EXPECT_TRUE(store_
                    ->scan_incidents(IncidentFilter{},
                                     [&](const StoredIncident& si) {
                                       std::string s = si.id + ":";
                                       for (const auto& o : si.observation_ids) s += " " + o;
                                       out.push_back(s);
                                       return true;
                                     })
                    .ok());
    return out;
  }
  testing::TempDir dir_;
  std::unique_ptr<Store> store_;
  std::shared_ptr<const geo::Geography> geography_;
};

TEST_F(Supersede, AnEditedSubmissionGivesOneIncidentWithTheNewReport) {
  ASSERT_EQ(submit(kA).state, ingest::SubmissionResult::State::kAccepted);
  fuse();
  ASSERT_EQ(incidents(), (std::vector<std::string>{"inc-uuid:old: uuid:old"}));
  Report edited = kA;
  edited.id = "uuid:new";
  edited.deprecated = "uuid:old";
  edited.count = "3";
  ASSERT_EQ(submit(edited).state, ingest::SubmissionResult::State::kAccepted);
  EXPECT_EQ(submit(edited).state, ingest::SubmissionResult::State::kDuplicate);  // the device sends it again
  fuse();
  EXPECT_EQ(incidents(), (std::vector<std::string>{"inc-uuid:new: uuid:new"}));
  // Both reports are kept, the original marked.
  std::vector<std::string> kept;
  ASSERT_TRUE(store_
                  ->scan_observations({},
                                      [&](const StoredObservation& so) {
                                        kept.push_back(so.obs.id +
                                                       (so.superseded_by.empty()
                                                            ? ""
                                                            : " superseded by " + so.superseded_by));
                                        return true;
                                      })
                  .ok());
  EXPECT_EQ(kept, (std::vector<std::string>{"uuid:old superseded by uuid:new", "uuid:new"}));
  auto chain = store_->verify_chain();
  ASSERT_TRUE(chain.ok());
  EXPECT_TRUE(chain->ok) << chain->problem;
  // A full re-fusion agrees with the incremental one.
  pipeline::FuseRange all;
  all.from = Instant{0};
  all.to = Instant{4000000000000};
  ASSERT_TRUE(pipeline::fuse_stored(*store_, *geography_, all, fusion::Config{}).ok());
  EXPECT_EQ(incidents(), (std::vector<std::string>{"inc-uuid:new: uuid:new"}));
}

// The edit moves the report hours away: the incident it shared with another post is fused again
// without it, though the new time is far outside that incident's window.
TEST_F(Supersede, AnEditThatMovesTheTimeLeavesTheOldIncident) {
  ASSERT_EQ(submit(kA).state, ingest::SubmissionResult::State::kAccepted);
  ASSERT_EQ(submit(kB).state, ingest::SubmissionResult::State::kAccepted);
  fuse();
  const auto before = incidents();
  ASSERT_EQ(before.size(), 1u) << ::testing::PrintToString(before);
  EXPECT_NE(before[0].find("uuid:old"), std::string::npos);
  EXPECT_NE(before[0].find("uuid:b"), std::string::npos);
  Report edited = kA;
  edited.id = "uuid:new";
  edited.deprecated = "uuid:old";
  edited.time = "2023-09-07T14:01:52Z";
  ASSERT_EQ(submit(edited).state, ingest::SubmissionResult::State::kAccepted);
  fuse();
  const auto after = incidents();
  EXPECT_EQ(after, (std::vector<std::string>{"inc-uuid:b: uuid:b", "inc-uuid:new: uuid:new"}));
}

TEST_F(Supersede, OnlyAReceivedReportOfTheSameObserverCanBeSuperseded) {
  ASSERT_EQ(submit(kA).state, ingest::SubmissionResult::State::kAccepted);
  Report stranger = kB;
  stranger.id = "uuid:takeover";
  stranger.deprecated = "uuid:old";  // B0006 may not take A0005's report out of fusion
  auto r = submit(stranger);
  EXPECT_EQ(r.state, ingest::SubmissionResult::State::kRejected);
  EXPECT_EQ(r.error.field, "supersedes");
  EXPECT_EQ(r.error.reason, "expected a report of observer B0006; it is a report of observer A0005");
  Report orphan = kA;
  orphan.id = "uuid:orphan";
  orphan.deprecated = "uuid:never-received";
  r = submit(orphan);
  EXPECT_EQ(r.state, ingest::SubmissionResult::State::kRejected);
  EXPECT_EQ(r.error.reason, "expected the id of a report received before; there is none with this id");
  Report self = kA;
  self.deprecated = "uuid:old";
  r = submit(self);
  EXPECT_EQ(r.state, ingest::SubmissionResult::State::kRejected);
  EXPECT_EQ(r.error.reason, "expected the id of another report, not its own");
  fuse();
  EXPECT_EQ(incidents(), (std::vector<std::string>{"inc-uuid:old: uuid:old"}));
}

// A stopping server abandons a fusion run: nothing is written and what was pending stays pending,
// fused in full by the next run.
TEST_F(Supersede, ACancelledRunWritesNothingAndTheNextFusesEverything) {
  ASSERT_EQ(submit(kA).state, ingest::SubmissionResult::State::kAccepted);
  ASSERT_EQ(submit(kB).state, ingest::SubmissionResult::State::kAccepted);
  std::atomic<bool> stop{true};
  fusion::Config cfg;
  cfg.cancel = &stop;
  auto r = pipeline::fuse_stored(*store_, *geography_, {}, cfg);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "fusion stopped before it finished: nothing was written");
  EXPECT_TRUE(incidents().empty());
  fuse();
  EXPECT_EQ(incidents(), (std::vector<std::string>{"inc-uuid:old: uuid:b uuid:old"}));
}

}  // namespace
}  // namespace truce
