#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <functional>
#include <set>

#include "test_util.h"
#include "truce/store/store.h"

namespace truce {
namespace {

Observation obs(int i) {
  Observation o;
  o.id = "o" + std::to_string(i);
  o.time = Instant{1693600000000 + i * 60000LL};
  o.observer_id = i % 2 ? "M001" : "A0001";
  o.observer_pos = LatLon{39.85, 46.8};
  o.kind = i % 3 ? Kind::kMortar : Kind::kArtillery;
  o.bearing_deg = i % 360;
  o.count = 1 + i % 5;
  return o;
}

class StoreTest : public ::testing::Test {
 protected:
  std::unique_ptr<Store> open(bool create) {
    SqliteOptions so;
    so.create = create;
    auto s = open_sqlite_store(path_, so);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(s).value() : nullptr;
  }
  void fill(Store& s, int n) {
    auto b = s.begin();
    ASSERT_TRUE(b.ok());
    for (int i = 1; i <= n; ++i) ASSERT_EQ(*(*b)->append(obs(i)), Outcome::kAccepted);
    ASSERT_TRUE((*b)->commit().ok());
  }
  // Changes the file behind truce's back, as someone with the sqlite3 shell would.
  void tamper(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    char* err = nullptr;
    const std::string all =
        "DROP TRIGGER observations_append_only_u; DROP TRIGGER observations_append_only_d; " + sql;
    EXPECT_EQ(sqlite3_exec(db, all.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
    sqlite3_free(err);
    sqlite3_close(db);
  }
  testing::TempDir dir_;
  std::string path_ = dir_.file("m.db");
};

TEST_F(StoreTest, CreateRefusesAnExistingFile) {
  open(true);
  SqliteOptions so;
  so.create = true;
  auto again = open_sqlite_store(path_, so);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().message(), path_ + " already exists; truce init creates a new database");
}

TEST_F(StoreTest, OpenRefusesAMissingFile) {
  auto s = open_sqlite_store(path_, SqliteOptions{});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Code::kNotFound);
}

TEST_F(StoreTest, OpenRefusesAFileThatIsNotATruceDatabase) {
  testing::write_file(path_,
                      "this is not a database at all, just some text that is long enough to be a header....");
  auto s = open_sqlite_store(path_, SqliteOptions{});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().message(),
            path_ + " is not a truce database (SQLite cannot read it: file is not a database)");
}

TEST_F(StoreTest, OpenRefusesAnotherApplicationsSqliteFile) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE t(x)", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto s = open_sqlite_store(path_, SqliteOptions{});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().message(),
            path_ + " is an SQLite database but not a truce database (no truce meta table)");
}

TEST_F(StoreTest, RefusesASchemaFromTheFuture) {
  open(true);
  tamper("UPDATE meta SET value = '99' WHERE key = 'schema_version'");
  auto s = open_sqlite_store(path_, SqliteOptions{});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Code::kUnsupported);
}

TEST_F(StoreTest, ObservationsAreAppendOnly) {
  auto s = open(true);
  fill(*s, 3);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  EXPECT_NE(sqlite3_exec(db, "UPDATE observations SET count = 9", nullptr, nullptr, &err), SQLITE_OK);
  EXPECT_STREQ(err, "observations are append-only");
  sqlite3_free(err);
  EXPECT_NE(sqlite3_exec(db, "DELETE FROM observations", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
}

TEST_F(StoreTest, DuplicateAndConflictAreTold) {
  auto s = open(true);
  fill(*s, 2);
  auto b = s->begin();
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*(*b)->append(obs(1)), Outcome::kDuplicate);
  Observation changed = obs(1);
  changed.count = 99;
  EXPECT_EQ(*(*b)->append(changed), Outcome::kConflict);
  Observation other_channel = obs(2);
  other_channel.channel = "api";
  EXPECT_EQ(*(*b)->append(other_channel), Outcome::kDuplicate);
  ASSERT_TRUE((*b)->commit().ok());
}

TEST_F(StoreTest, UncommittedBatchIsRolledBack) {
  auto s = open(true);
  {
    auto b = s->begin();
    ASSERT_TRUE(b.ok());
    ASSERT_EQ(*(*b)->append(obs(1)), Outcome::kAccepted);
  }
  EXPECT_EQ((*s->stats()).observations, 0);
  fill(*s, 1);
  EXPECT_EQ((*s->stats()).observations, 1);
  EXPECT_TRUE((*s->verify_chain()).ok);
}

TEST_F(StoreTest, ScanFiltersByTimeObserverKindAndCursor) {
  auto s = open(true);
  fill(*s, 30);
  ObservationFilter f;
  f.from = Instant{1693600000000 + 10 * 60000LL};
  f.to = Instant{1693600000000 + 20 * 60000LL};
  f.observer_id = "M001";
  f.kind = Kind::kMortar;
  std::vector<std::string> ids;
  ASSERT_TRUE(s->scan_observations(f, [&](const StoredObservation& so) {
                 ids.push_back(so.obs.id);
                 return true;
               }).ok());
  EXPECT_EQ(ids, (std::vector<std::string>{"o11", "o13", "o17", "o19"}));
  ObservationFilter page;
  page.after_seq = 28;
  page.limit = 5;
  ids.clear();
  ASSERT_TRUE(s->scan_observations(page, [&](const StoredObservation& so) {
                 ids.push_back(so.obs.id);
                 return true;
               }).ok());
  EXPECT_EQ(ids, (std::vector<std::string>{"o29", "o30"}));
}

// Regression: every scan carried "seq > ?", so a time window was read by walking the whole table
// in seq order (a live fusion run's window of 2,000 observations took 45-140 ms among 190,000).
// The conditions are now only those given; together they still select exactly what they say, in
// seq order.
TEST_F(StoreTest, ATimeWindowScanWithACursorSelectsExactlyItsRowsInOrder) {
  auto s = open(true);
  fill(*s, 30);
  auto scan = [&](const ObservationFilter& f) {
    std::vector<std::string> ids;
    EXPECT_TRUE(s->scan_observations(f, [&](const StoredObservation& so) {
                   ids.push_back(so.obs.id);
                   return true;
                 }).ok());
    return ids;
  };
  ObservationFilter window;
  window.from = Instant{1693600000000 + 10 * 60000LL};
  window.to = Instant{1693600000000 + 14 * 60000LL};
  EXPECT_EQ(scan(window), (std::vector<std::string>{"o10", "o11", "o12", "o13"}));
  window.after_seq = 11;
  EXPECT_EQ(scan(window), (std::vector<std::string>{"o12", "o13"}));
  window.limit = 1;
  EXPECT_EQ(scan(window), (std::vector<std::string>{"o12"}));
  ObservationFilter after;
  after.after_seq = 27;
  EXPECT_EQ(scan(after), (std::vector<std::string>{"o28", "o29", "o30"}));
  EXPECT_EQ(scan(ObservationFilter{}).size(), 30u);
}

TEST_F(StoreTest, StoredObservationRoundTrips) {
  auto s = open(true);
  Observation o = obs(5);
  o.distance_m = 1234.5;
  o.distance_sigma_m = 200;
  o.bearing_sigma_deg = 3.5;
  o.direction = Direction::kIncoming;
  o.notes = "two rounds, then \"silence\"";
  o.channel = "csv";
  o.submitted_by = "post 4";
  auto b = s->begin();
  ASSERT_TRUE(b.ok());
  ASSERT_EQ(*(*b)->append(o), Outcome::kAccepted);
  ASSERT_TRUE((*b)->commit().ok());
  std::optional<Observation> back;
  ASSERT_TRUE(s->scan_observations({}, [&](const StoredObservation& so) {
                 back = so.obs;
                 return true;
               }).ok());
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, o);
}

// SQLite keeps a REAL with no fraction as an integer, so -0.0 comes back as 0.0: the audit link made
// from the submitted value must be the one verify recomputes from the stored one.
TEST_F(StoreTest, MinusZeroBreaksVerify) {
  auto s = open(true);
  Observation o = obs(1);
  o.bearing_deg = -0.0;
  o.observer_pos = LatLon{-0.0, -0.0};
  Observation p = obs(2);
  p.bearing_deg = 0.0;
  p.bearing_sigma_deg = 5e-324;  // the smallest subnormal keeps its one spelling too
  auto b = s->begin();
  ASSERT_TRUE(b.ok());
  ASSERT_EQ(*(*b)->append(o), Outcome::kAccepted);
  ASSERT_EQ(*(*b)->append(p), Outcome::kAccepted);
  ASSERT_TRUE((*b)->commit().ok());
  auto rep = *s->verify_chain();
  EXPECT_TRUE(rep.ok) << rep.problem;
  EXPECT_EQ(rep.records, 2);
  // And -0 resubmitted as 0 is the same report, not a conflict.
  Observation plus = o;
  plus.bearing_deg = 0.0;
  plus.observer_pos = LatLon{0.0, 0.0};
  auto again = s->begin();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*(*again)->append(plus), Outcome::kDuplicate);
  ASSERT_TRUE((*again)->commit().ok());
}

// An edited field report supersedes the original: both are kept in the chain, the original is
// listed with who superseded it, and a scan of current observations (fusion's) leaves it out.
TEST_F(StoreTest, SupersededObservationIsKeptButNotCurrent) {
  auto s = open(true);
  fill(*s, 3);
  Observation edited = obs(2);
  edited.id = "o2-edit";
  edited.count = 4;
  edited.supersedes = "o2";
  {
    auto b = s->begin();
    ASSERT_TRUE(b.ok());
    ASSERT_EQ(*(*b)->append(edited), Outcome::kAccepted);
    EXPECT_EQ(*(*b)->append(edited), Outcome::kDuplicate);
    Observation other = edited;
    other.supersedes = "o3";  // the same id correcting another report is a different report
    EXPECT_EQ(*(*b)->append(other), Outcome::kConflict);
    ASSERT_TRUE((*b)->commit().ok());
  }
  auto scan = [&](const ObservationFilter& f) {
    std::vector<std::string> out;
    EXPECT_TRUE(s->scan_observations(f, [&](const StoredObservation& so) {
                   out.push_back(so.obs.id + (so.superseded_by.empty() ? "" : ">" + so.superseded_by));
                   return true;
                 }).ok());
    return out;
  };
  EXPECT_EQ(scan({}), (std::vector<std::string>{"o1", "o2>o2-edit", "o3", "o2-edit"}));
  ObservationFilter current;
  current.current_only = true;
  EXPECT_EQ(scan(current), (std::vector<std::string>{"o1", "o3", "o2-edit"}));
  ObservationFilter one;
  one.id = "o2";
  EXPECT_EQ(scan(one), (std::vector<std::string>{"o2>o2-edit"}));
  std::optional<Observation> back;
  one.id = "o2-edit";
  ASSERT_TRUE(s->scan_observations(one, [&](const StoredObservation& so) {
                 back = so.obs;
                 return true;
               }).ok());
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, edited);
  EXPECT_EQ(canonical_content(edited).substr(0, 5), "obs2\x1f");
  EXPECT_EQ(canonical_content(obs(2)).substr(0, 5), "obs1\x1f");
  auto rep = *s->verify_chain();
  EXPECT_TRUE(rep.ok) << rep.problem;
  EXPECT_EQ(rep.records, 4);
  s.reset();
  // The supersedes column is part of the audited content.
  tamper("UPDATE observations SET supersedes = 'o1' WHERE id = 'o2-edit'");
  auto bad = *open(false)->verify_chain();
  EXPECT_FALSE(bad.ok);
  EXPECT_EQ(bad.first_bad_id, "o2-edit");
}

TEST_F(StoreTest, VerifyNamesAnEditedRecord) {
  {
    auto s = open(true);
    fill(*s, 10);
    EXPECT_TRUE((*s->verify_chain()).ok);
  }
  tamper("UPDATE observations SET bearing_deg = 1 WHERE id = 'o4'");
  auto rep = *open(false)->verify_chain();
  EXPECT_FALSE(rep.ok);
  EXPECT_EQ(rep.first_bad_seq, 4);
  EXPECT_EQ(rep.first_bad_id, "o4");
  EXPECT_EQ(rep.problem,
            "record 4 (id o4) does not match its audit link: it was changed after it was accepted");
}

TEST_F(StoreTest, VerifyNamesADeletedRecord) {
  {
    auto s = open(true);
    fill(*s, 10);
  }
  tamper("DELETE FROM observations WHERE id = 'o6'");
  auto rep = *open(false)->verify_chain();
  EXPECT_FALSE(rep.ok);
  EXPECT_EQ(rep.first_bad_seq, 6);
  EXPECT_EQ(rep.problem, "record 6 is missing (deleted?); the chain continues at record 7 (id o7)");
}

TEST_F(StoreTest, VerifyNoticesTheLastRecordsDeleted) {
  {
    auto s = open(true);
    fill(*s, 10);
  }
  tamper("DELETE FROM observations WHERE seq > 8");
  auto rep = *open(false)->verify_chain();
  EXPECT_FALSE(rep.ok);
  EXPECT_EQ(rep.problem,
            "the chain ends at record 8 but truce recorded 10 records: the last records were deleted");
}

TEST_F(StoreTest, DocumentsKeepEveryVersion) {
  auto s = open(true);
  EXPECT_FALSE(*s->document("zones"));
  EXPECT_EQ(*s->put_document("zones", "v1"), 1);
  EXPECT_EQ(*s->put_document("zones", "v2"), 2);
  EXPECT_EQ(**s->document("zones"), "v2");
}

// Regression: every lookup of one incident by id scanned the whole table (the filter was written
// as "?n IS NULL OR ..." terms, which SQLite cannot serve from an index), so under live fusion a
// page of 100 changed incidents took 300 ms. The query now holds only the given conditions; each
// filter, alone and together, still selects exactly what it says.
TEST_F(StoreTest, IncidentFiltersSelectExactlyWhatTheySayAloneAndTogether) {
  auto s = open(true);
  fill(*s, 40);
  std::vector<StoredIncident> incs;
  for (int i = 1; i <= 40; ++i) {
    StoredIncident inc;
    inc.id = "i" + std::to_string(i);
    inc.start = Instant{1693600000000 + i * 60000LL};
    inc.end = Instant{inc.start.ms + (i % 4) * 60000LL};
    inc.kind = i % 3 ? "mortar" : "artillery";
    inc.party = i % 2 ? "ARM" : "AZE";
    inc.content = "{\"n\":" + std::to_string(i) + "}";
    inc.observation_ids = {"o" + std::to_string(i)};
    incs.push_back(inc);
  }
  std::vector<std::string> scope;
  for (int i = 1; i <= 40; ++i) scope.push_back("o" + std::to_string(i));
  ASSERT_TRUE(s->replace_incidents(scope, incs).ok());
  const auto ids = [&](const IncidentFilter& f) {
    std::vector<std::string> out;
    EXPECT_TRUE(s->scan_incidents(f, [&](const StoredIncident& si) {
                   out.push_back(si.id);
                   return true;
                 }).ok());
    return out;
  };
  const auto expect = [&](const std::function<bool(const StoredIncident&)>& keep) {
    std::vector<std::string> out;
    for (const auto& i : incs) {
      if (keep(i)) out.push_back(i.id);
    }
    return out;
  };
  IncidentFilter by_id;
  by_id.id = "i17";
  EXPECT_EQ(ids(by_id), std::vector<std::string>{"i17"});
  by_id.id = "i99";
  EXPECT_TRUE(ids(by_id).empty());
  const Instant from{1693600000000 + 10 * 60000LL}, to{1693600000000 + 20 * 60000LL};
  IncidentFilter f;
  f.from = from;
  EXPECT_EQ(ids(f), expect([&](const StoredIncident& i) { return i.end.ms >= from.ms; }));
  f = {};
  f.to = to;
  EXPECT_EQ(ids(f), expect([&](const StoredIncident& i) { return i.start.ms < to.ms; }));
  f = {};
  f.party = "AZE";
  EXPECT_EQ(ids(f), expect([&](const StoredIncident& i) { return i.party == "AZE"; }));
  f = {};
  f.kind = "artillery";
  EXPECT_EQ(ids(f), expect([&](const StoredIncident& i) { return i.kind == "artillery"; }));
  f = {};
  f.starting_at = to;
  EXPECT_EQ(ids(f), expect([&](const StoredIncident& i) { return i.start.ms >= to.ms; }));
  f = {};
  f.from = from, f.to = to, f.party = "ARM", f.kind = "mortar";
  EXPECT_EQ(ids(f), expect([&](const StoredIncident& i) {
              return i.end.ms >= from.ms && i.start.ms < to.ms && i.party == "ARM" && i.kind == "mortar";
            }));
  f.id = "i11";
  EXPECT_EQ(ids(f), std::vector<std::string>{"i11"});
  f.id = "i12";  // AZE: the other conditions still hold
  EXPECT_TRUE(ids(f).empty());
  EXPECT_EQ(ids(IncidentFilter{}).size(), 40u);
}

// A time range reads only the incidents that start within the longest incident's span before it
// (the store keeps that span); one long incident written later, in another replace, must widen it.
TEST_F(StoreTest, ATimeRangeFindsEveryOverlappingIncidentHoweverLongAndWhenEverWritten) {
  auto s = open(true);
  const std::int64_t t0 = 1693600000000;
  std::vector<StoredIncident> all;
  const auto write = [&](int first, int n, std::int64_t length_ms) {
    std::vector<StoredIncident> incs;
    std::vector<std::string> scope;
    for (int i = first; i < first + n; ++i) {
      StoredIncident inc;
      inc.id = "i" + std::to_string(i);
      inc.start = Instant{t0 + i * 60000LL};
      inc.end = Instant{inc.start.ms + length_ms * (1 + i % 3)};
      inc.kind = "mortar";
      inc.party = "ARM";
      inc.content = "{}";
      inc.observation_ids = {"o" + std::to_string(i)};
      scope.push_back("o" + std::to_string(i));
      incs.push_back(inc);
      all.push_back(inc);
    }
    ASSERT_TRUE(s->replace_incidents(scope, incs).ok());
  };
  write(0, 100, 30000);        // up to 90 s long
  write(100, 1, 6 * 3600000);  // one that lasts 12 h (6 h, times 1 + 100 % 3), written afterwards
  write(101, 100, 1000);
  for (std::int64_t from_min : {-10, 0, 50, 99, 100, 150, 300, 900, 1500}) {
    for (std::int64_t len_min : {1, 5, 60}) {
      IncidentFilter f;
      f.from = Instant{t0 + from_min * 60000};
      f.to = Instant{f.from->ms + len_min * 60000};
      std::set<std::string> got, want;
      ASSERT_TRUE(s->scan_incidents(f, [&](const StoredIncident& si) {
                     got.insert(si.id);
                     return true;
                   }).ok());
      for (const auto& i : all) {
        if (i.end.ms >= f.from->ms && i.start.ms < f.to->ms) want.insert(i.id);
      }
      EXPECT_EQ(got, want) << "from minute " << from_min << ", " << len_min << " minutes";
    }
  }
  // The long incident (i100) is found from far after its start.
  IncidentFilter late;
  late.from = Instant{t0 + 100 * 60000LL + 11 * 3600000LL};
  std::vector<std::string> ids;
  ASSERT_TRUE(s->scan_incidents(late, [&](const StoredIncident& si) {
                 ids.push_back(si.id);
                 return true;
               }).ok());
  EXPECT_EQ(ids, std::vector<std::string>{"i100"});
}

// write_transaction: a document and incidents written in one transaction are committed together,
// or, when a later step fails, not at all (importing an agreement relies on it).
TEST_F(StoreTest, WriteTransactionRollsBackEveryWriteWhenALaterStepFails) {
  auto s = open(true);
  StoredIncident inc;
  inc.id = "i1";
  inc.start = Instant{1693600000000};
  inc.end = Instant{1693600060000};
  inc.kind = "mortar";
  inc.content = "{}";
  inc.observation_ids = {"o1"};
  auto incidents = [&] {
    int n = 0;
    EXPECT_TRUE(s->scan_incidents({}, [&](const StoredIncident&) { return ++n, true; }).ok());
    return n;
  };
  Status st = s->write_transaction([&]() -> Status {
    auto v = s->put_document("agreement", "v1");
    if (!v.ok()) return v.status();
    auto sync = s->replace_incidents({"o1"}, {inc});
    if (!sync.ok()) return sync.status();
    auto doc = s->document("agreement");  // its own writes are visible inside
    EXPECT_TRUE(doc.ok() && *doc && **doc == "v1");
    EXPECT_EQ(incidents(), 1);
    return Status::Invalid("a later step failed");
  });
  EXPECT_EQ(st.message(), "a later step failed");
  auto doc = s->document("agreement");
  ASSERT_TRUE(doc.ok());
  EXPECT_FALSE(doc->has_value());
  EXPECT_EQ(incidents(), 0);

  ASSERT_TRUE(s->write_transaction([&]() -> Status {
                 auto v = s->put_document("agreement", "v1");
                 if (!v.ok()) return v.status();
                 fill(*s, 2);  // a batch joins the transaction too
                 return s->replace_incidents({"o1"}, {inc}).status();
               }).ok());
  doc = s->document("agreement");
  ASSERT_TRUE(doc.ok() && doc->has_value());
  EXPECT_EQ(**doc, "v1");
  EXPECT_EQ(incidents(), 1);
  EXPECT_EQ(s->stats()->observations, 2);
  EXPECT_TRUE(s->verify_chain()->ok);
  EXPECT_FALSE(s->write_transaction([&] { return s->write_transaction([] { return Status::Ok(); }); }).ok());
}

// A database from before the longest span was kept (schema 6) learns it from its incidents.
TEST_F(StoreTest, SchemaSixDatabaseFindsItsLongIncidentsByTimeRange) {
  {
    auto s = open(true);
    StoredIncident inc;
    inc.id = "long";
    inc.start = Instant{1693600000000};
    inc.end = Instant{1693600000000 + 5 * 3600000LL};
    inc.kind = "mortar";
    inc.party = "ARM";
    inc.content = "{}";
    inc.observation_ids = {"o1"};
    ASSERT_TRUE(s->replace_incidents({"o1"}, {inc}).ok());
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "DROP TABLE incident_span; DROP INDEX incidents_start; "
                         "CREATE INDEX incidents_start ON incidents(start_ms); "
                         "UPDATE meta SET value = '6' WHERE key = 'schema_version';",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto s = open(false);
  ASSERT_NE(s, nullptr);
  IncidentFilter f;
  f.from = Instant{1693600000000 + 4 * 3600000LL};
  int n = 0;
  ASSERT_TRUE(s->scan_incidents(f, [&](const StoredIncident&) { return ++n, true; }).ok());
  EXPECT_EQ(n, 1);
}

// A clock the test moves forward.
class SteppingClock final : public Clock {
 public:
  explicit SteppingClock(Instant t) : ms_(t.ms) {}
  Instant now() const override { return Instant{ms_.load()}; }
  void set(Instant t) { ms_ = t.ms; }

 private:
  std::atomic<std::int64_t> ms_;
};

class UserStoreTest : public StoreTest {
 protected:
  void SetUp() override {
    open(true);
    store_ = open_at(path_);
    ASSERT_NE(store_, nullptr);
  }
  std::unique_ptr<Store> open_at(const std::string& path, bool create = false) {
    SqliteOptions so;
    so.create = create;
    so.clock = &clock_;
    auto s = open_sqlite_store(path, so);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(s).value() : nullptr;
  }
  static Digest token(const std::string& t) { return content_digest(t); }
  SteppingClock clock_{Instant{1800000000000}};  // 2027-01-15T08:00:00Z
  std::unique_ptr<Store> store_;
};

TEST_F(UserStoreTest, ListShowsEveryUserWithoutSecrets) {
  ASSERT_TRUE(store_->add_user(User{"obs", "observer", {"M001", "M002"}, "ha1-obs"}, token("t-obs")).ok());
  clock_.set(Instant{1800000060000});
  ASSERT_TRUE(
      store_->add_user(User{"ana", "analyst", {}, "ha1-ana"}, token("t-ana"), Instant{1900000000000}).ok());
  auto users = store_->list_users();
  ASSERT_TRUE(users.ok()) << users.status().ToString();
  ASSERT_EQ(users->size(), 2u);
  const UserAccount& ana = (*users)[0];  // by name
  EXPECT_EQ(ana.user.name, "ana");
  EXPECT_EQ(ana.user.role, "analyst");
  EXPECT_TRUE(ana.user.observers.empty());
  EXPECT_EQ(ana.user.digest_ha1, "");
  EXPECT_EQ(ana.created, Instant{1800000060000});
  EXPECT_EQ(ana.expires, Instant{1900000000000});
  EXPECT_EQ(ana.revoked, std::nullopt);
  EXPECT_EQ(ana.state, "active");
  const UserAccount& obs = (*users)[1];
  EXPECT_EQ(obs.user.name, "obs");
  EXPECT_EQ(obs.user.observers, (std::vector<std::string>{"M001", "M002"}));
  EXPECT_EQ(obs.user.digest_ha1, "");
  EXPECT_EQ(obs.created, Instant{1800000000000});
  EXPECT_EQ(obs.expires, std::nullopt);
  EXPECT_EQ(obs.state, "active");
}

TEST_F(UserStoreTest, RevokedUserIsFoundNeitherByTokenNorByNameButStillListed) {
  ASSERT_TRUE(store_->add_user(User{"ana", "analyst", {}, "ha1"}, token("t")).ok());
  ASSERT_TRUE((*store_->user_by_token(token("t"))).has_value());
  // Revoked through a second connection, as `truce user revoke` does beside a running server.
  auto other = open_at(path_);
  ASSERT_TRUE(other->revoke_user("ana").ok());
  EXPECT_EQ(*store_->user_by_token(token("t")), std::nullopt);
  EXPECT_EQ(*store_->user_by_name("ana"), std::nullopt);
  auto users = store_->list_users();
  ASSERT_EQ(users->size(), 1u);
  EXPECT_EQ((*users)[0].state, "revoked");
  EXPECT_EQ((*users)[0].revoked, clock_.now());
  Status again = store_->revoke_user("ana");
  EXPECT_EQ(again.code(), Code::kConflict);
  EXPECT_EQ(again.message(),
            "user ana was revoked at 2027-01-15T08:00:00Z; a revocation is final: add a new user");
  EXPECT_EQ(store_->rotate_user("ana", token("t2"), "ha1-2", std::nullopt).code(), Code::kConflict);
  EXPECT_EQ(*store_->user_by_token(token("t2")), std::nullopt);
  EXPECT_EQ(store_->add_user(User{"ana", "analyst", {}, "ha1"}, token("t3")).code(), Code::kConflict);
}

TEST_F(UserStoreTest, RotateRefusesTheOldTokenAndAcceptsTheNew) {
  ASSERT_TRUE(store_->add_user(User{"obs", "observer", {"M001"}, "ha1-old"}, token("old")).ok());
  auto other = open_at(path_);
  ASSERT_TRUE(other->rotate_user("obs", token("new"), "ha1-new", Instant{1900000000000}).ok());
  EXPECT_EQ(*store_->user_by_token(token("old")), std::nullopt);
  auto u = store_->user_by_token(token("new"));
  ASSERT_TRUE(u.ok() && *u);
  EXPECT_EQ((*u)->name, "obs");
  EXPECT_EQ((*u)->observers, std::vector<std::string>{"M001"});
  EXPECT_EQ((*u)->digest_ha1, "ha1-new");
  EXPECT_EQ((**store_->user_by_name("obs")).digest_ha1, "ha1-new");
  EXPECT_EQ((*store_->list_users())[0].expires, Instant{1900000000000});
}

TEST_F(UserStoreTest, ExpiredUserIsRefusedOnceTheClockReachesItsExpiry) {
  const Instant expiry{1800000600000};
  ASSERT_TRUE(store_->add_user(User{"ana", "analyst", {}, "ha1"}, token("t"), expiry).ok());
  clock_.set(Instant{expiry.ms - 1});
  EXPECT_TRUE((*store_->user_by_token(token("t"))).has_value());
  EXPECT_TRUE((*store_->user_by_name("ana")).has_value());
  EXPECT_EQ((*store_->list_users())[0].state, "active");
  clock_.set(expiry);
  EXPECT_EQ(*store_->user_by_token(token("t")), std::nullopt);
  EXPECT_EQ(*store_->user_by_name("ana"), std::nullopt);
  EXPECT_EQ((*store_->list_users())[0].state, "expired");
  // A rotation with a later expiry (or none) brings the user back with its new token only.
  ASSERT_TRUE(store_->rotate_user("ana", token("t2"), "ha1-2", std::nullopt).ok());
  EXPECT_EQ(*store_->user_by_token(token("t")), std::nullopt);
  EXPECT_TRUE((*store_->user_by_token(token("t2"))).has_value());
  EXPECT_EQ((*store_->list_users())[0].expires, std::nullopt);
  EXPECT_EQ((*store_->list_users())[0].state, "active");
}

TEST_F(UserStoreTest, UnknownNameIsNotFound) {
  Status r = store_->revoke_user("nobody");
  EXPECT_EQ(r.code(), Code::kNotFound);
  EXPECT_EQ(r.message(), "no user named nobody (`truce user list` shows them)");
  Status t = store_->rotate_user("nobody", token("t"), "ha1", std::nullopt);
  EXPECT_EQ(t.code(), Code::kNotFound);
  EXPECT_EQ(t.message(), "no user named nobody (`truce user list` shows them)");
  EXPECT_EQ(*store_->user_by_token(token("t")), std::nullopt);
}

// A database written by the truce before expiry and revocation (schema version 4) keeps its users.
TEST_F(UserStoreTest, SchemaFourDatabaseOpensAndKeepsItsUsers) {
  store_.reset();
  const std::string old = dir_.file("v4.db");
  ASSERT_NE(open_at(old, true), nullptr);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(old.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  // Back to the version-4 tables (users, observations), then a user added the way that truce did.
  const std::string sql =
      "ALTER TABLE users DROP COLUMN expires_ms; ALTER TABLE users DROP COLUMN revoked_ms; "
      "DROP INDEX observations_supersedes; ALTER TABLE observations DROP COLUMN supersedes; "
      "DROP TABLE incident_span; DROP INDEX incidents_start; CREATE INDEX incidents_start ON "
      "incidents(start_ms); "
      "UPDATE meta SET value = '4' WHERE key = 'schema_version'; "
      "INSERT INTO users(name, role, observers, token_sha256, digest_ha1, created_ms) "
      "VALUES ('obs', 'observer', 'M001,M002', x'" +
      to_hex(token("t-old")) + "', 'ha1-obs', 1700000000000);";
  ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
  sqlite3_free(err);
  sqlite3_close(db);

  auto s = open_at(old);
  ASSERT_NE(s, nullptr);
  auto u = s->user_by_token(token("t-old"));
  ASSERT_TRUE(u.ok() && *u) << (u.ok() ? "not found" : u.status().ToString());
  EXPECT_EQ((*u)->name, "obs");
  EXPECT_EQ((*u)->observers, (std::vector<std::string>{"M001", "M002"}));
  EXPECT_EQ((*u)->digest_ha1, "ha1-obs");
  auto users = s->list_users();
  ASSERT_TRUE(users.ok());
  ASSERT_EQ(users->size(), 1u);
  EXPECT_EQ((*users)[0].created, Instant{1700000000000});
  EXPECT_EQ((*users)[0].expires, std::nullopt);
  EXPECT_EQ((*users)[0].state, "active");
  ASSERT_TRUE(s->revoke_user("obs").ok());
  EXPECT_EQ(*s->user_by_token(token("t-old")), std::nullopt);
}

}  // namespace
}  // namespace truce
