#include "truce/ingest/ingest.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <thread>

#include "test_util.h"

namespace truce {
namespace {

const std::string kObservers = std::string(TRUCE_SOURCE_DIR) + "/tests/data/ingest/observers.csv";

// A mortar report of 2023-09-01 21:38:41Z as a channel hands it to ingest ("raw <id>" received).
ingest::Submission submission(const std::string& id, const std::string& observer, int count = 1) {
  ingest::Submission s;
  Observation o;
  o.id = id;
  o.time = *parse_instant("2023-09-01T21:38:41Z");
  o.observer_id = observer;
  o.kind = Kind::kMortar;
  o.count = count;
  s.raw = "raw " + id;
  s.obs = o;
  return s;
}
const std::string kHeader =
    "observation_id,time,observer_id,observer_lat,observer_lon,kind,bearing_deg,bearing_sigma_deg,distance_m,"
    "distance_sigma_m,count\n";

class IngestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SqliteOptions so;
    so.create = true;
    auto s = open_sqlite_store(dir_.file("t.db"), so);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
    opts_.clock = &clock_;
    auto o = ingest::import_observers(*store_, {kObservers}, opts_);
    ASSERT_TRUE(o.ok() && o->clean());
  }
  std::string write(const std::string& name, const std::string& content) {
    testing::write_file(dir_.file(name), content);
    return dir_.file(name);
  }
  ingest::Summary import(const std::vector<std::string>& files) {
    auto r = ingest::import_observations(*store_, files, opts_);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : ingest::Summary{};
  }
  std::int64_t stored() { return (*store_->stats()).observations; }

  testing::TempDir dir_;
  FixedClock clock_{*parse_instant("2023-10-01T00:00:00Z")};
  ingest::Options opts_;
  std::unique_ptr<Store> store_;
};

std::string rows(int from, int to) {
  std::string s;
  for (int i = from; i < to; ++i) {
    s += std::to_string(i) + ",2023-09-01T21:" + std::to_string(10 + i % 50) +
         ":00Z,M001,39.85,46.8,mortar," + std::to_string(i % 360) + ",4,1500,300," +
         std::to_string(1 + i % 9) + "\n";
  }
  return s;
}

TEST_F(IngestTest, SameFileTwiceAddsNothing) {
  const auto f = write("a.csv", kHeader + rows(0, 500));
  auto first = import({f});
  EXPECT_EQ(first.accepted, 500);
  auto second = import({f});
  EXPECT_EQ(second.read, 500);
  EXPECT_EQ(second.accepted, 0);
  EXPECT_EQ(second.duplicates, 500);
  EXPECT_EQ(stored(), 500);
  EXPECT_TRUE((*store_->verify_chain()).ok);
}

TEST_F(IngestTest, ConflictKeepsTheStoredVersionAndQuarantinesTheNewOne) {
  import({write("a.csv", kHeader + "7,2023-09-01T21:00:00Z,M001,39.85,46.8,mortar,90,4,1500,300,3\n")});
  auto s =
      import({write("b.csv", kHeader + "7,2023-09-01T21:00:00Z,M001,39.85,46.8,mortar,91,4,1500,300,3\n")});
  EXPECT_EQ(s.conflicts, 1);
  ASSERT_EQ(s.messages.size(), 1u);
  EXPECT_NE(
      s.messages[0].find("field 'bearing_deg': conflict: observation 7 was already accepted with different "
                         "content"),
      std::string::npos)
      << s.messages[0];
  std::optional<double> bearing;
  ASSERT_TRUE(store_
                  ->scan_observations({},
                                      [&](const StoredObservation& so) {
                                        bearing = so.obs.bearing_deg;
                                        return true;
                                      })
                  .ok());
  EXPECT_EQ(bearing, 90.0);
  int conflicts = 0;
  ASSERT_TRUE(store_
                  ->scan_rejects([&](const Reject& r) {
                    conflicts +=
                        r.disposition == "conflict" && r.record_id == "7" && r.field == "bearing_deg";
                    return true;
                  })
                  .ok());
  EXPECT_EQ(conflicts, 1);
}

TEST_F(IngestTest, NdjsonAndCsvOfTheSameReportsAreDuplicates) {
  import({write("a.csv", kHeader + "1,2023-09-01T21:00:00Z,M001,39.85,46.8,mortar,90,4,1500,300,3\n")});
  auto s = import(
      {write("a.ndjson",
             "{\"observation_id\":\"1\",\"time\":\"2023-09-02T01:00:00+04:00\",\"observer_id\":\"M001\","
             "\"observer_lat\":39.85,\"observer_lon\":46.8,\"kind\":\"mortar\",\"bearing_deg\":90,"
             "\"bearing_sigma_deg\":4,\"distance_m\":1500,\"distance_sigma_m\":300,\"count\":3}\n")});
  EXPECT_EQ(s.duplicates, 1) << (s.messages.empty() ? "" : s.messages[0]);
}

TEST_F(IngestTest, BatchesCommitAsTheyGoAndCountsAddUp) {
  opts_.batch_rows = 100;
  std::string content = kHeader + rows(0, 1000);
  content += "bad,2023-09-01T21:00:00Z,M001,39.85,46.8,tank,90,4,1500,300,3\n";
  auto s = import({write("a.csv", content)});
  EXPECT_EQ(s.read, 1001);
  EXPECT_EQ(s.accepted + s.duplicates + s.conflicts + s.rejected, s.read);
  EXPECT_EQ(s.rejected, 1);
  EXPECT_EQ(stored(), 1000);
  EXPECT_TRUE((*store_->verify_chain()).ok);
}

TEST_F(IngestTest, UnknownObserverWithAPositionIsAccepted) {
  auto s = import({write("a.csv", kHeader + "1,2023-09-01T21:00:00Z,NEW7,39.85,46.8,drone,,,,,\n")});
  EXPECT_EQ(s.accepted, 1);
}

TEST_F(IngestTest, RegisteredObserverPositionIsUsedWhenTheRowHasNone) {
  auto s = import({write("a.csv", kHeader + "1,2023-09-01T21:00:00Z,M001,,,drone,,,,,\n")});
  EXPECT_EQ(s.accepted, 1);
}

TEST_F(IngestTest, SeveralFilesAndAMissingOneInOneImport) {
  const auto a = write("a.csv", kHeader + rows(0, 10));
  const auto b = write("b.csv", kHeader + rows(10, 20));
  auto s = import({a, dir_.file("missing.csv"), b});
  EXPECT_EQ(s.accepted, 20);
  ASSERT_EQ(s.file_errors.size(), 1u);
  EXPECT_EQ(s.file_errors[0].message(),
            "cannot open " + dir_.file("missing.csv") + ": No such file or directory");
}

// A gigabyte on one line arrives through a pipe: it is rejected and skipped without being held in
// memory, and the good row after it is accepted.
// A submission built by a channel that skipped the parser is still checked, and quarantined.
TEST_F(IngestTest, InvalidUtf8ViaOpenRosaIsRejectedAndQuarantined) {
  Observation o;
  o.id = "uuid:1";
  o.time = *parse_instant("2023-09-01T21:38:41Z");
  o.observer_id = "M001";
  o.kind = Kind::kMortar;
  o.notes = "bad \xC3";
  std::vector<ingest::Submission> subs(1);
  subs[0].raw = "<data/>";
  subs[0].obs = o;
  auto r = ingest::submit_observations(*store_, std::move(subs), "openrosa", opts_);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)[0].state, ingest::SubmissionResult::State::kRejected);
  EXPECT_EQ((*r)[0].error.field, "notes");
  EXPECT_EQ((*r)[0].error.reason, "expected UTF-8 text; byte 4 (0xc3) is not part of a UTF-8 character");
  EXPECT_EQ(stored(), 0);
  EXPECT_EQ((*store_->stats()).rejected, 1);
}

// The server's group commit: several requests in one transaction, each judged as if alone and in
// order (a repeat in a later request is its duplicate), each rejection quarantined with the line of
// its own request.
TEST_F(IngestTest, GroupsInOneTransactionAreJudgedEachOnItsOwn) {
  const auto sub = [](const std::string& id, const std::string& observer) {
    return submission(id, observer);
  };
  std::vector<ingest::SubmissionGroup> groups(3);
  groups[0] = {{sub("g1", "M001"), sub("g2", "M001")}, "api"};
  groups[1] = {{sub("g1", "M001")}, "api"};                          // the same report again
  groups[2] = {{sub("g3", "M001"), sub("g4", "NOPE")}, "openrosa"};  // an unknown observer, item 2
  auto r = ingest::submit_observation_groups(*store_, std::move(groups), opts_);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 3u);
  using State = ingest::SubmissionResult::State;
  EXPECT_EQ((*r)[0][0].state, State::kAccepted);
  EXPECT_EQ((*r)[0][1].state, State::kAccepted);
  EXPECT_EQ((*r)[1][0].state, State::kDuplicate);
  EXPECT_EQ((*r)[2][0].state, State::kAccepted);
  EXPECT_EQ((*r)[2][1].state, State::kRejected);
  EXPECT_EQ(stored(), 3);
  std::vector<Reject> rejects;
  ASSERT_TRUE(store_
                  ->scan_rejects([&](const Reject& rj) {
                    rejects.push_back(rj);
                    return true;
                  })
                  .ok());
  ASSERT_EQ(rejects.size(), 1u);
  EXPECT_EQ(rejects[0].source, "openrosa");
  EXPECT_EQ(rejects[0].line, 2);
  EXPECT_EQ(rejects[0].record_id, "g4");
}

// Submissions checked and digested by the receiving thread (prepare) are judged exactly as those
// the writer checks itself: the same outcomes, the same stored content (verify holds), and a field
// prepare refused is quarantined with its error.
TEST_F(IngestTest, PreparedSubmissionsAreJudgedAsUnpreparedOnes) {
  const auto sub = [](const std::string& id, int count) { return submission(id, "M001", count); };
  const Instant now = *parse_instant("2023-10-01T00:00:00Z");
  std::vector<ingest::Submission> prepared{sub("p1", 1), sub("p2", 0), sub("p3", 3)};
  for (auto& s : prepared) ingest::prepare(s, now);
  EXPECT_TRUE(prepared[0].content.has_value());
  EXPECT_FALSE(prepared[1].content.has_value());
  EXPECT_EQ(prepared[1].error.field, "count");
  std::vector<ingest::SubmissionGroup> groups(2);
  groups[0] = {std::move(prepared), "api"};
  groups[1] = {{sub("p1", 1), sub("u2", 0), sub("p3", 4)}, "api"};  // unprepared: the writer checks
  auto r = ingest::submit_observation_groups(*store_, std::move(groups), opts_);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  using State = ingest::SubmissionResult::State;
  EXPECT_EQ((*r)[0][0].state, State::kAccepted);
  EXPECT_EQ((*r)[0][1].state, State::kRejected);
  EXPECT_EQ((*r)[0][1].error.field, "count");
  EXPECT_EQ((*r)[0][2].state, State::kAccepted);
  EXPECT_EQ((*r)[1][0].state, State::kDuplicate);  // same content as the prepared p1
  EXPECT_EQ((*r)[1][1].state, State::kRejected);
  EXPECT_EQ((*r)[1][1].error.field, "count");
  EXPECT_EQ((*r)[1][2].state, State::kConflict);  // differs from the prepared p3
  EXPECT_EQ(stored(), 2);
  std::vector<Reject> rejects;
  ASSERT_TRUE(store_
                  ->scan_rejects([&](const Reject& rj) {
                    rejects.push_back(rj);
                    return true;
                  })
                  .ok());
  ASSERT_EQ(rejects.size(), 3u);
  EXPECT_EQ(rejects[0].record_id, "p2");
  EXPECT_EQ(rejects[0].raw, "raw p2");
  EXPECT_TRUE((*store_->verify_chain()).ok);
}

// The server's writer keeps the registered observers between commits; one registered after it
// read them (by another process) is found at its first report, not refused.
TEST_F(IngestTest, AnObserverRegisteredAfterTheCacheWasReadIsKnown) {
  const auto sub = [](const std::string& id, const std::string& observer) {
    return submission(id, observer);
  };
  ingest::ObserverCache cache;
  std::vector<ingest::SubmissionGroup> first(1);
  first[0] = {{sub("c1", "M001"), sub("c2", "LATE")}, "api"};
  auto r = ingest::submit_observation_groups(*store_, std::move(first), opts_, &cache);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  using State = ingest::SubmissionResult::State;
  EXPECT_EQ((*r)[0][0].state, State::kAccepted);
  EXPECT_EQ((*r)[0][1].state, State::kRejected);
  EXPECT_EQ((*r)[0][1].error.field, "observer_id");
  {
    auto other = open_sqlite_store(dir_.file("t.db"), {});  // another process registers it
    ASSERT_TRUE(other.ok());
    auto b = (*other)->begin();
    ASSERT_TRUE(b.ok());
    Observer late;
    late.id = "LATE";
    late.position = LatLon{39.8, 46.7};
    late.party = "A";
    ASSERT_TRUE((*b)->append(late).ok());
    ASSERT_TRUE((*b)->commit().ok());
  }
  std::vector<ingest::SubmissionGroup> second(1);
  second[0] = {{sub("c3", "LATE")}, "api"};
  r = ingest::submit_observation_groups(*store_, std::move(second), opts_, &cache);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)[0][0].state, State::kAccepted);
  EXPECT_TRUE(cache.known().count("LATE"));
}

// A line over the record bound (1 MiB) but under the skip bound (64 MiB) is rejected and skipped,
// never buffered whole, and the rows after it are read. (A line longer than the skip bound ends the
// file's reading: Cli.AnEndlessInputWithoutALineEndStopsWithAClearError.)
TEST_F(IngestTest, AThirtyTwoMegabyteSingleLineIsSkippedNotBuffered) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  std::thread writer([w = fds[1]] {
    const std::string head = kHeader;
    (void)!::write(w, head.data(), head.size());
    std::string junk(1 << 20, 'x');
    for (int i = 0; i < 32; ++i) {
      for (std::size_t off = 0; off < junk.size();) {
        const ssize_t n = ::write(w, junk.data() + off, junk.size() - off);
        if (n <= 0) break;
        off += static_cast<std::size_t>(n);
      }
    }
    const std::string tail = "\n" + rows(0, 1);
    (void)!::write(w, tail.data(), tail.size());
    ::close(w);
  });
  auto s = import({"/dev/fd/" + std::to_string(fds[0])});
  writer.join();
  ::close(fds[0]);
  EXPECT_EQ(s.read, 2);
  EXPECT_EQ(s.rejected, 1);
  EXPECT_EQ(s.accepted, 1);
  ASSERT_FALSE(s.messages.empty());
  EXPECT_NE(s.messages[0].find(":2: record longer than 1048576 bytes"), std::string::npos) << s.messages[0];
}

}  // namespace
}  // namespace truce
