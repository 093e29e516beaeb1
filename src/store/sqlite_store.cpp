// The embedded default store: one SQLite file in WAL mode, synchronous=FULL so that a commit that
// returned is on disk.
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "store/sqlite_db.h"
#include "truce/store/audit.h"
#include "truce/store/store.h"

namespace truce {
namespace {

using sqlite::Stmt;

// Schema migrations: entry i brings the schema from version i to i+1. Append only.
constexpr std::array<std::string_view, 7> kMigrations = {
    R"sql(
CREATE TABLE observers(
  id TEXT PRIMARY KEY, lat REAL, lon REAL, party TEXT NOT NULL, type TEXT NOT NULL);
CREATE TABLE observations(
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  time_ms INTEGER NOT NULL,
  observer_id TEXT NOT NULL,
  observer_lat REAL, observer_lon REAL,
  kind TEXT NOT NULL,
  bearing_deg REAL, bearing_sigma_deg REAL, distance_m REAL, distance_sigma_m REAL,
  count INTEGER NOT NULL,
  direction TEXT NOT NULL,
  notes TEXT NOT NULL,
  channel TEXT NOT NULL,
  submitted_by TEXT NOT NULL,
  link BLOB NOT NULL);
CREATE INDEX observations_time ON observations(time_ms);
CREATE TRIGGER observations_append_only_u BEFORE UPDATE ON observations
  BEGIN SELECT RAISE(ABORT, 'observations are append-only'); END;
CREATE TRIGGER observations_append_only_d BEFORE DELETE ON observations
  BEGIN SELECT RAISE(ABORT, 'observations are append-only'); END;
CREATE TABLE chain_head(one INTEGER PRIMARY KEY CHECK (one = 1), seq INTEGER NOT NULL, link BLOB NOT NULL);
CREATE TABLE rejects(
  seq INTEGER PRIMARY KEY, what TEXT NOT NULL, disposition TEXT NOT NULL, source TEXT NOT NULL,
  line INTEGER NOT NULL, field TEXT NOT NULL, value TEXT NOT NULL, reason TEXT NOT NULL,
  record_id TEXT NOT NULL, raw TEXT NOT NULL, at_ms INTEGER NOT NULL);
CREATE TABLE documents(
  name TEXT NOT NULL, version INTEGER NOT NULL, content TEXT NOT NULL, at_ms INTEGER NOT NULL,
  PRIMARY KEY (name, version));
)sql",
    R"sql(
CREATE TABLE users(
  name TEXT PRIMARY KEY, role TEXT NOT NULL, observers TEXT NOT NULL, token_sha256 BLOB NOT NULL UNIQUE,
  digest_ha1 TEXT NOT NULL, created_ms INTEGER NOT NULL);
)sql",
    // Fusion: current incidents, their observations, and every version of every incident.
    R"sql(
CREATE TABLE incidents(
  id TEXT PRIMARY KEY, version INTEGER NOT NULL, start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL,
  kind TEXT NOT NULL, party TEXT NOT NULL, lat REAL, lon REAL, content TEXT NOT NULL, updated_ms INTEGER NOT NULL);
CREATE INDEX incidents_start ON incidents(start_ms);
CREATE TABLE incident_links(observation_id TEXT PRIMARY KEY, incident_id TEXT NOT NULL);
CREATE INDEX incident_links_incident ON incident_links(incident_id);
CREATE TABLE incident_versions(
  incident_id TEXT NOT NULL, version INTEGER NOT NULL, at_ms INTEGER NOT NULL, change TEXT NOT NULL,
  content TEXT NOT NULL, observation_ids TEXT NOT NULL, PRIMARY KEY (incident_id, version));
)sql",
    // Analysts' reviews of incidents: every version kept.
    R"sql(
CREATE TABLE incident_reviews(
  incident_id TEXT NOT NULL, version INTEGER NOT NULL, status TEXT NOT NULL, notes TEXT NOT NULL,
  by_user TEXT NOT NULL, at_ms INTEGER NOT NULL, PRIMARY KEY (incident_id, version));
)sql",
    // Users: an optional expiry and revocation. Existing users stay active and never expire.
    R"sql(
ALTER TABLE users ADD COLUMN expires_ms INTEGER;
ALTER TABLE users ADD COLUMN revoked_ms INTEGER;
)sql",
    // An observation may supersede an earlier one (an edited field report). Set when it is
    // appended, so observations stay append-only; the index holds only the few that supersede.
    R"sql(
ALTER TABLE observations ADD COLUMN supersedes TEXT NOT NULL DEFAULT '';
CREATE INDEX observations_supersedes ON observations(supersedes) WHERE supersedes <> '';
)sql",
    // The longest incident ever written (end - start; it never shrinks): a time-range scan then
    // reads only the incidents starting within that much before its start, instead of every
    // incident since the mission began. The start index carries the end for the range test.
    R"sql(
CREATE TABLE incident_span(max_ms INTEGER NOT NULL);
INSERT INTO incident_span SELECT coalesce(max(end_ms - start_ms), 0) FROM incidents;
DROP INDEX incidents_start;
CREATE INDEX incidents_start ON incidents(start_ms, end_ms);
)sql",
};

constexpr std::string_view kObsColumns =
    "seq, id, time_ms, observer_id, observer_lat, observer_lon, kind, bearing_deg, bearing_sigma_deg, "
    "distance_m, distance_sigma_m, count, direction, notes, channel, submitted_by, supersedes";

// A stored comma-separated list of ids ("" is none).
std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> out;
  for (std::size_t b = 0; b < text.size();) {
    const std::size_t e = std::min(text.find(',', b), text.size());
    out.push_back(text.substr(b, e - b));
    b = e + 1;
  }
  return out;
}

Observation read_observation(const Stmt& s, int c0) {
  Observation o;
  o.id = s.col_text(c0 + 1);
  o.time = Instant{s.col_int(c0 + 2)};
  o.observer_id = s.col_text(c0 + 3);
  if (!s.col_null(c0 + 4) && !s.col_null(c0 + 5))
    o.observer_pos = LatLon{s.col_double(c0 + 4), s.col_double(c0 + 5)};
  o.kind = kind_from_string(s.col_text(c0 + 6)).value_or(Kind::kOther);
  o.bearing_deg = s.col_opt(c0 + 7);
  o.bearing_sigma_deg = s.col_opt(c0 + 8);
  o.distance_m = s.col_opt(c0 + 9);
  o.distance_sigma_m = s.col_opt(c0 + 10);
  o.count = static_cast<std::int32_t>(s.col_int(c0 + 11));
  o.direction = direction_from_string(s.col_text(c0 + 12)).value_or(Direction::kUnknown);
  o.notes = s.col_text(c0 + 13);
  o.channel = s.col_text(c0 + 14);
  o.submitted_by = s.col_text(c0 + 15);
  o.supersedes = s.col_text(c0 + 16);
  return o;
}

Observer read_observer(const Stmt& s) {
  Observer o;
  o.id = s.col_text(0);
  if (!s.col_null(1) && !s.col_null(2)) o.position = LatLon{s.col_double(1), s.col_double(2)};
  o.party = s.col_text(3);
  o.type = observer_type_from_string(s.col_text(4)).value_or(ObserverType::kOther);
  return o;
}

std::string truncate(std::string_view s, std::size_t n) { return std::string(s.substr(0, n)); }

class SqliteStore;

class SqliteBatch final : public WriteBatch {
 public:
  SqliteBatch(SqliteStore& store, sqlite3* db, std::int64_t seq, Digest link, Instant now)
      : store_(store), db_(db), seq_(seq), link_(link), now_(now) {}
  ~SqliteBatch() override;
  Result<Outcome> append(const Observation& o, const Digest& content) override;
  Result<Outcome> append(const Observer& o) override;
  Status quarantine(const Reject& r) override;
  Result<std::optional<Observation>> find_observation(std::string_view id) override;
  Status commit() override;

 private:
  SqliteStore& store_;
  sqlite3* db_;
  std::int64_t seq_;
  Digest link_;
  Instant now_;
  bool done_ = false;
};

class SqliteStore final : public Store {
 public:
  SqliteStore(sqlite3* db, const Clock* clock, std::string path)
      : db_(db), clock_(clock), path_(std::move(path)) {}
  ~SqliteStore() override {
    if (ckpt_thread_.joinable()) {
      {
        std::lock_guard lk(ckpt_mu_);
        ckpt_stop_ = true;
      }
      ckpt_cv_.notify_all();
      ckpt_thread_.join();
    }
    stmts_ = {};
    sqlite3_close_v2(db_);  // the last connection checkpoints what is left
  }

  // Moves WAL checkpoints off the writing thread: a second connection on its own thread copies
  // committed pages into the database file while the writer goes on (PASSIVE never blocks it).
  // Durability is unchanged: commits are fsync'd in the WAL either way.
  Status start_checkpointer(const std::string& path) {
    TRUCE_RETURN_IF_ERROR(sqlite::exec(db_, "PRAGMA wal_autocheckpoint = 0;"));
    ckpt_thread_ = std::thread([this, path] {
      sqlite3* c = nullptr;
      if (sqlite3_open_v2(path.c_str(), &c, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr) !=
          SQLITE_OK) {
        sqlite3_close_v2(c);
        return;
      }
      std::unique_lock lk(ckpt_mu_);
      while (!ckpt_stop_) {
        ckpt_cv_.wait_for(lk, std::chrono::milliseconds(50));
        if (ckpt_stop_) break;
        lk.unlock();
        sqlite3_wal_checkpoint_v2(c, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
        lk.lock();
      }
      sqlite3_close_v2(c);
    });
    return Status::Ok();
  }

  Status prepare() {
    auto prep = [&](Stmt& s, std::string_view sql) -> Status {
      s = Stmt(db_, sql);
      return s.ok() ? Status::Ok() : Status::Internal("sqlite prepare: " + s.error());
    };
    TRUCE_RETURN_IF_ERROR(
        prep(stmts_.insert_obs,
             "INSERT INTO observations(seq, id, time_ms, observer_id, observer_lat, observer_lon, "
             "kind, bearing_deg, bearing_sigma_deg, distance_m, distance_sigma_m, count, direction, "
             "notes, channel, submitted_by, link, supersedes) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) "
             "ON CONFLICT(id) DO NOTHING"));
    TRUCE_RETURN_IF_ERROR(
        prep(stmts_.find_obs, "SELECT " + std::string(kObsColumns) + " FROM observations WHERE id = ?"));
    TRUCE_RETURN_IF_ERROR(
        prep(stmts_.find_observer, "SELECT id, lat, lon, party, type FROM observers WHERE id = ?"));
    TRUCE_RETURN_IF_ERROR(
        prep(stmts_.insert_observer, "INSERT INTO observers(id, lat, lon, party, type) VALUES (?,?,?,?,?)"));
    TRUCE_RETURN_IF_ERROR(
        prep(stmts_.insert_reject,
             "INSERT INTO rejects(what, disposition, source, line, field, value, reason, record_id, "
             "raw, at_ms) VALUES (?,?,?,?,?,?,?,?,?,?)"));
    TRUCE_RETURN_IF_ERROR(
        prep(stmts_.set_head, "INSERT OR REPLACE INTO chain_head(one, seq, link) VALUES (1, ?, ?)"));
    return Status::Ok();
  }

  Result<std::unique_ptr<WriteBatch>> begin() override {
    // IMMEDIATE takes the write lock now, so the chain head read below cannot go stale.
    TRUCE_RETURN_IF_ERROR(begin_write());
    std::int64_t seq = 0;
    Digest link = kGenesis;
    Stmt head(db_, "SELECT seq, link FROM chain_head WHERE one = 1");
    if (head.step() == SQLITE_ROW) {
      seq = head.col_int(0);
      auto b = head.col_blob(1);
      if (b.size() == link.size()) std::memcpy(link.data(), b.data(), link.size());
    }
    return std::unique_ptr<WriteBatch>(std::make_unique<SqliteBatch>(*this, db_, seq, link, now()));
  }

  Result<std::vector<Observer>> observers() override {
    Stmt s(db_, "SELECT id, lat, lon, party, type FROM observers ORDER BY id");
    std::vector<Observer> out;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) out.push_back(read_observer(s));
    if (rc != SQLITE_DONE) return sqlite::error(db_, "reading observers");
    return out;
  }

  Status scan_observations(const ObservationFilter& f,
                           const std::function<bool(const StoredObservation&)>& fn) override {
    // Who supersedes whom: few rows, read once from the partial index, so a scan of millions
    // pays nothing per row when nothing was superseded.
    std::unordered_map<std::string, std::string> superseded_by;
    {
      // Ordered here, not in SQL: "ORDER BY seq" made SQLite walk the whole table instead of the
      // partial index (25-50 ms per scan at 190,000 observations, in every live fusion run).
      Stmt sup(db_, "SELECT seq, supersedes, id FROM observations WHERE supersedes <> ''");
      std::vector<std::tuple<std::int64_t, std::string, std::string>> rows;
      int src;
      while ((src = sup.step()) == SQLITE_ROW)
        rows.emplace_back(sup.col_int(0), sup.col_text(1), sup.col_text(2));
      if (src != SQLITE_DONE) return sqlite::error(db_, "reading superseded observations");
      std::sort(rows.begin(), rows.end());
      for (auto& [seq, old_id, new_id] : rows) superseded_by[std::move(old_id)] = std::move(new_id);
    }
    // Only the conditions given: with "seq > 0" always there, SQLite walked the primary key (the
    // whole table, in seq order) even for a window of minutes that the time index finds at once.
    // With a time range, the seq bound is kept out of index choice ("+seq").
    std::string sql = "SELECT " + std::string(kObsColumns) + " FROM observations WHERE 1";
    if (f.after_seq > 0) sql += f.from || f.to ? " AND +seq > ?1" : " AND seq > ?1";
    if (f.from) sql += " AND time_ms >= ?2";
    if (f.to) sql += " AND time_ms < ?3";
    if (f.observer_id) sql += " AND observer_id = ?4";
    if (f.kind) sql += " AND kind = ?5";
    if (f.id) sql += " AND id = ?7";
    if (f.current_only && !superseded_by.empty()) {
      sql += " AND id NOT IN (SELECT supersedes FROM observations WHERE supersedes <> '')";
    }
    sql += " ORDER BY seq";
    if (f.limit > 0) sql += " LIMIT ?6";
    Stmt s(db_, sql);
    if (!s.ok()) return Status::Internal("sqlite prepare: " + s.error());
    s.bind(1, f.after_seq);
    if (f.from) s.bind(2, f.from->ms);
    if (f.to) s.bind(3, f.to->ms);
    if (f.observer_id) s.bind(4, std::string_view(*f.observer_id));
    if (f.kind) s.bind(5, to_string(*f.kind));
    if (f.limit > 0) s.bind(6, f.limit);
    if (f.id) s.bind(7, std::string_view(*f.id));
    int rc;
    StoredObservation so;
    while ((rc = s.step()) == SQLITE_ROW) {
      so.seq = s.col_int(0);
      so.obs = read_observation(s, 0);
      so.superseded_by.clear();
      if (!superseded_by.empty()) {
        if (auto it = superseded_by.find(so.obs.id); it != superseded_by.end()) so.superseded_by = it->second;
      }
      if (!fn(so)) return Status::Ok();
    }
    if (rc != SQLITE_DONE) return sqlite::error(db_, "reading observations");
    return Status::Ok();
  }

  Status scan_rejects(const std::function<bool(const Reject&)>& fn) override {
    Stmt s(db_,
           "SELECT seq, what, disposition, source, line, field, value, reason, record_id, raw, at_ms "
           "FROM rejects ORDER BY seq");
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) {
      Reject r;
      r.seq = s.col_int(0);
      r.what = s.col_text(1);
      r.disposition = s.col_text(2);
      r.source = s.col_text(3);
      r.line = s.col_int(4);
      r.field = s.col_text(5);
      r.value = s.col_text(6);
      r.reason = s.col_text(7);
      r.record_id = s.col_text(8);
      r.raw = s.col_text(9);
      r.at = Instant{s.col_int(10)};
      if (!fn(r)) return Status::Ok();
    }
    if (rc != SQLITE_DONE) return sqlite::error(db_, "reading rejects");
    return Status::Ok();
  }

  Result<StoreStats> stats() override {
    StoreStats st;
    {
      Stmt s(db_, "SELECT count(*), min(time_ms), max(time_ms) FROM observations");
      if (s.step() != SQLITE_ROW) return sqlite::error(db_, "stats");
      st.observations = s.col_int(0);
      if (!s.col_null(1)) st.first_time = Instant{s.col_int(1)};
      if (!s.col_null(2)) st.last_time = Instant{s.col_int(2)};
    }
    {
      Stmt s(db_, "SELECT count(*) FROM observers");
      if (s.step() == SQLITE_ROW) st.observers = s.col_int(0);
    }
    {
      Stmt s(db_, "SELECT disposition, count(*) FROM rejects GROUP BY disposition");
      while (s.step() == SQLITE_ROW) {
        (s.col_text(0) == "conflict" ? st.conflicts : st.rejected) = s.col_int(1);
      }
    }
    {
      Stmt s(db_, "SELECT kind, count(*) AS n FROM observations GROUP BY kind ORDER BY n DESC, kind");
      while (s.step() == SQLITE_ROW) st.by_kind.emplace_back(s.col_text(0), s.col_int(1));
    }
    return st;
  }

  Result<ChainReport> verify_chain() override {
    ChainReport rep;
    Stmt s(db_, "SELECT " + std::string(kObsColumns) + ", link FROM observations ORDER BY seq");
    Digest link = kGenesis;
    std::int64_t expect = 1;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) {
      const std::int64_t seq = s.col_int(0);
      Observation o = read_observation(s, 0);
      if (seq != expect) {
        rep.ok = false;
        rep.first_bad_seq = expect;
        rep.first_bad_id = o.id;
        rep.problem = "record " + std::to_string(expect) +
                      " is missing (deleted?); the chain continues at record " + std::to_string(seq) +
                      " (id " + o.id + ")";
        return rep;
      }
      link = chain_link(link, content_digest(canonical_content(o)));
      auto stored = s.col_blob(17);
      if (stored.size() != link.size() || std::memcmp(stored.data(), link.data(), link.size()) != 0) {
        rep.ok = false;
        rep.first_bad_seq = seq;
        rep.first_bad_id = o.id;
        rep.problem = "record " + std::to_string(seq) + " (id " + o.id +
                      ") does not match its audit link: it was changed after it was accepted";
        return rep;
      }
      ++rep.records;
      ++expect;
    }
    if (rc != SQLITE_DONE) return sqlite::error(db_, "reading observations");
    Stmt head(db_, "SELECT seq, link FROM chain_head WHERE one = 1");
    std::int64_t head_seq = 0;
    Digest head_link = kGenesis;
    if (head.step() == SQLITE_ROW) {
      head_seq = head.col_int(0);
      auto b = head.col_blob(1);
      if (b.size() == head_link.size()) std::memcpy(head_link.data(), b.data(), b.size());
    }
    if (head_seq != rep.records || head_link != link) {
      rep.ok = false;
      rep.first_bad_seq = rep.records + 1;
      rep.problem = "the chain ends at record " + std::to_string(rep.records) + " but truce recorded " +
                    std::to_string(head_seq) + " records: the last records were deleted";
    }
    return rep;
  }

  Result<IncidentSync> replace_incidents(const std::vector<std::string>& scope,
                                         const std::vector<StoredIncident>& incidents) override {
    TRUCE_RETURN_IF_ERROR(begin_write(/*background=*/true));
    IncidentSync sync;
    Status st = replace_incidents_tx(scope, incidents, sync);
    if (!st.ok()) {
      end_write("ROLLBACK").ok();
      return st;
    }
    TRUCE_RETURN_IF_ERROR(end_write("COMMIT"));
    return sync;
  }

  Status scan_incidents(const IncidentFilter& f,
                        const std::function<bool(const StoredIncident&)>& fn) override {
    // Only the conditions given, so that SQLite uses the primary key for an id and the start index
    // for a time range ("?n IS NULL OR ..." terms would make every lookup a full scan).
    std::string where;
    const auto term = [&](bool given, const char* sql) {
      if (given) where += (where.empty() ? " WHERE " : " AND ") + std::string(sql);
    };
    term(f.from.has_value(), "end_ms >= ?1");
    // Exact: no incident is longer than incident_span (read in this statement's snapshot).
    term(f.from.has_value(), "start_ms >= ?1 - (SELECT max_ms FROM incident_span)");
    term(f.to.has_value(), "start_ms < ?2");
    term(f.party.has_value(), "party = ?3");
    term(f.kind.has_value(), "kind = ?4");
    term(f.id.has_value(), "id = ?5");
    term(f.starting_at.has_value(), "start_ms >= ?6");
    Stmt s(db_, std::string("SELECT id, version, start_ms, end_ms, kind, party, lat, lon, ") +
                    (f.with_content ? "content" : "''") + " FROM incidents" + where +
                    " ORDER BY start_ms, id");
    Stmt links(db_,
               "SELECT observation_id FROM incident_links WHERE incident_id = ? ORDER BY observation_id");
    if (!s.ok() || !links.ok())
      return Status::Internal("sqlite prepare: " + (s.ok() ? links.error() : s.error()));
    if (f.from) s.bind(1, f.from->ms);
    if (f.to) s.bind(2, f.to->ms);
    if (f.party) s.bind(3, std::string_view(*f.party));
    if (f.kind) s.bind(4, std::string_view(*f.kind));
    if (f.id) s.bind(5, std::string_view(*f.id));
    if (f.starting_at) s.bind(6, f.starting_at->ms);
    StoredIncident inc;
    for (;;) {
      const int rc = s.step();
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return sqlite::error(db_, "reading incidents");
      inc.id = s.col_text(0);
      inc.version = s.col_int(1);
      inc.start = Instant{s.col_int(2)};
      inc.end = Instant{s.col_int(3)};
      inc.kind = s.col_text(4);
      inc.party = s.col_text(5);
      inc.lat = s.col_opt(6);
      inc.lon = s.col_opt(7);
      inc.content = s.col_text(8);
      inc.observation_ids.clear();
      if (f.with_observations) {
        links.reset();
        links.bind(1, std::string_view(inc.id));
        while (links.step() == SQLITE_ROW) inc.observation_ids.push_back(links.col_text(0));
      }
      if (!fn(inc)) break;
    }
    return Status::Ok();
  }

  Result<std::vector<IncidentVersion>> incident_history(std::string_view id) override {
    Stmt s(db_,
           "SELECT version, at_ms, change, content, observation_ids FROM incident_versions WHERE incident_id "
           "= ? "
           "ORDER BY version");
    if (!s.ok()) return Status::Internal("sqlite prepare: " + s.error());
    s.bind(1, id);
    std::vector<IncidentVersion> out;
    for (;;) {
      const int rc = s.step();
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return sqlite::error(db_, "reading incident history");
      IncidentVersion v;
      v.version = s.col_int(0);
      v.at = Instant{s.col_int(1)};
      v.change = s.col_text(2);
      v.content = s.col_text(3);
      v.observation_ids = split_commas(s.col_text(4));
      out.push_back(std::move(v));
    }
    return out;
  }

  Result<IncidentCursor> incident_cursor() override {
    // Rows are only ever added to both tables, so their rowids only grow.
    Stmt s(db_,
           "SELECT (SELECT coalesce(max(rowid), 0) FROM incident_versions), "
           "(SELECT coalesce(max(rowid), 0) FROM incident_reviews)");
    if (s.step() != SQLITE_ROW) return sqlite::error(db_, "reading the incident change cursor");
    return IncidentCursor{s.col_int(0), s.col_int(1)};
  }

  Result<std::vector<IncidentChange>> incident_changes(IncidentCursor& after, std::size_t max) override {
    std::vector<IncidentChange> out;
    Stmt v(db_,
           "SELECT rowid, incident_id, version, change FROM incident_versions WHERE rowid > ? ORDER BY rowid "
           "LIMIT ?");
    v.bind(1, after.versions);
    v.bind(2, static_cast<std::int64_t>(max));
    int rc;
    while ((rc = v.step()) == SQLITE_ROW) {
      after.versions = v.col_int(0);
      out.push_back({v.col_text(1), v.col_int(2), v.col_text(3)});
    }
    if (rc != SQLITE_DONE) return sqlite::error(db_, "reading incident versions");
    if (out.size() >= max) return out;
    Stmt r(db_,
           "SELECT rowid, incident_id, version FROM incident_reviews WHERE rowid > ? ORDER BY rowid LIMIT ?");
    r.bind(1, after.reviews);
    r.bind(2, static_cast<std::int64_t>(max - out.size()));
    while ((rc = r.step()) == SQLITE_ROW) {
      after.reviews = r.col_int(0);
      out.push_back({r.col_text(1), r.col_int(2), "reviewed"});
    }
    if (rc != SQLITE_DONE) return sqlite::error(db_, "reading incident reviews");
    return out;
  }

  Result<std::unique_ptr<Lock>> lock_fusion() override {
    // An advisory lock on a file beside the database: held by one process (and one connection)
    // at a time, released by the kernel if the holder dies.
    if (path_.empty() || path_ == ":memory:") return std::unique_ptr<Lock>();  // a private database
    const std::string lock_path = path_ + "-fusion.lock";
    const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return Status::IOError("cannot open " + lock_path + ": " + std::strerror(errno));
    while (::flock(fd, LOCK_EX) != 0) {
      if (errno != EINTR) {
        const int e = errno;
        ::close(fd);
        return Status::IOError("cannot lock " + lock_path + ": " + std::strerror(e));
      }
    }
    struct FileLock final : Lock {
      explicit FileLock(int f) : fd(f) {}
      ~FileLock() override { ::close(fd); }  // closing releases the lock
      int fd;
    };
    return std::unique_ptr<Lock>(std::make_unique<FileLock>(fd));
  }

  Result<std::int64_t> put_document(std::string_view name, std::string_view content) override {
    TRUCE_RETURN_IF_ERROR(begin_write());
    Stmt v(db_, "SELECT coalesce(max(version), 0) + 1 FROM documents WHERE name = ?");
    v.bind(1, name);
    if (v.step() != SQLITE_ROW) {
      end_write("ROLLBACK").ok();
      return sqlite::error(db_, "documents");
    }
    const std::int64_t version = v.col_int(0);
    Stmt ins(db_, "INSERT INTO documents(name, version, content, at_ms) VALUES (?,?,?,?)");
    ins.bind(1, name);
    ins.bind(2, version);
    ins.bind(3, content);
    ins.bind(4, now().ms);
    if (ins.step() != SQLITE_DONE) {
      Status st = sqlite::error(db_, "writing document");
      end_write("ROLLBACK").ok();
      return st;
    }
    TRUCE_RETURN_IF_ERROR(end_write("COMMIT"));
    return version;
  }

  Result<std::optional<std::string>> document(std::string_view name) override {
    Stmt s(db_, "SELECT content FROM documents WHERE name = ? ORDER BY version DESC LIMIT 1");
    s.bind(1, name);
    const int rc = s.step();
    if (rc == SQLITE_ROW) return std::optional<std::string>(s.col_text(0));
    if (rc == SQLITE_DONE) return std::optional<std::string>();
    return sqlite::error(db_, "reading document");
  }

  using Store::add_user;
  Status add_user(const User& u, const Digest& token_hash, std::optional<Instant> expires) override {
    std::string observers;
    for (const auto& o : u.observers) observers += (observers.empty() ? "" : ",") + o;
    Stmt s(db_,
           "INSERT INTO users(name, role, observers, token_sha256, digest_ha1, created_ms, expires_ms) "
           "VALUES (?,?,?,?,?,?,?)");
    s.bind(1, std::string_view(u.name));
    s.bind(2, std::string_view(u.role));
    s.bind(3, std::string_view(observers));
    s.bind_blob(4, token_hash.data(), static_cast<int>(token_hash.size()));
    s.bind(5, std::string_view(u.digest_ha1));
    s.bind(6, now().ms);
    if (expires) s.bind(7, expires->ms);
    const int rc = s.step();
    if (rc == SQLITE_CONSTRAINT) return Status::Conflict("a user named " + u.name + " exists already");
    return rc == SQLITE_DONE ? Status::Ok() : sqlite::error(db_, "adding user");
  }

  // Only users that are neither revoked nor expired at the store clock's now authenticate.
  static constexpr std::string_view kActiveUser =
      "SELECT name, role, observers, digest_ha1 FROM users "
      "WHERE revoked_ms IS NULL AND (expires_ms IS NULL OR expires_ms > ?2) AND ";

  Result<std::optional<User>> user_by_token(const Digest& token_hash) override {
    // Asked for every authenticated request: the statement is prepared once.
    Stmt& s = stmts_.user_by_token;
    if (!s.ok()) {
      s = Stmt(db_, std::string(kActiveUser) + "token_sha256 = ?1");
      if (!s.ok()) return Status::Internal("sqlite prepare: " + s.error());
    }
    s.reset();
    s.bind_blob(1, token_hash.data(), static_cast<int>(token_hash.size()));
    s.bind(2, now().ms);
    auto u = read_user(s);
    s.reset();  // no read transaction is left open between requests
    return u;
  }

  Result<std::optional<User>> user_by_name(std::string_view name) override {
    Stmt s(db_, std::string(kActiveUser) + "name = ?1");
    if (!s.ok()) return Status::Internal("sqlite prepare: " + s.error());
    s.bind(1, name);
    s.bind(2, now().ms);
    return read_user(s);
  }

  Result<std::vector<UserAccount>> list_users() override {
    Stmt s(db_, "SELECT name, role, observers, created_ms, expires_ms, revoked_ms FROM users ORDER BY name");
    if (!s.ok()) return Status::Internal("sqlite prepare: " + s.error());
    const Instant at = now();
    std::vector<UserAccount> out;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) {
      UserAccount a;
      a.user.name = s.col_text(0);
      a.user.role = s.col_text(1);
      a.user.observers = split_commas(s.col_text(2));
      a.created = Instant{s.col_int(3)};
      if (!s.col_null(4)) a.expires = Instant{s.col_int(4)};
      if (!s.col_null(5)) a.revoked = Instant{s.col_int(5)};
      a.state = a.revoked ? "revoked" : a.expires && *a.expires <= at ? "expired" : "active";
      out.push_back(std::move(a));
    }
    if (rc != SQLITE_DONE) return sqlite::error(db_, "reading users");
    return out;
  }

  Status revoke_user(std::string_view name) override {
    return in_transaction([&]() -> Status {
      TRUCE_RETURN_IF_ERROR(check_revocable(name));
      Stmt s(db_, "UPDATE users SET revoked_ms = ? WHERE name = ?");
      s.bind(1, now().ms);
      s.bind(2, name);
      return s.step() == SQLITE_DONE ? Status::Ok() : sqlite::error(db_, "revoking user");
    });
  }

  Status rotate_user(std::string_view name, const Digest& token_hash, std::string_view digest_ha1,
                     std::optional<Instant> expires) override {
    return in_transaction([&]() -> Status {
      TRUCE_RETURN_IF_ERROR(check_revocable(name));
      Stmt s(db_, "UPDATE users SET token_sha256 = ?, digest_ha1 = ?, expires_ms = ? WHERE name = ?");
      s.bind_blob(1, token_hash.data(), static_cast<int>(token_hash.size()));
      s.bind(2, digest_ha1);
      if (expires) s.bind(3, expires->ms);
      s.bind(4, name);
      const int rc = s.step();
      if (rc == SQLITE_CONSTRAINT) return Status::Conflict("another user has this token already");
      return rc == SQLITE_DONE ? Status::Ok() : sqlite::error(db_, "rotating the user's token");
    });
  }

  // OK when `name` is a user that is not revoked; kNotFound or kConflict (saying why) otherwise.
  Status check_revocable(std::string_view name) {
    Stmt s(db_, "SELECT revoked_ms FROM users WHERE name = ?");
    s.bind(1, name);
    const int rc = s.step();
    if (rc == SQLITE_DONE) {
      return Status::NotFound("no user named " + std::string(name) + " (`truce user list` shows them)");
    }
    if (rc != SQLITE_ROW) return sqlite::error(db_, "reading users");
    if (!s.col_null(0)) {
      return Status::Conflict("user " + std::string(name) + " was revoked at " +
                              format_instant(Instant{s.col_int(0)}) +
                              "; a revocation is final: add a new user");
    }
    return Status::Ok();
  }

  Status write_transaction(const std::function<Status()>& fn) override {
    if (in_write_transaction_ || writing_) return Status::Internal("write_transaction inside a transaction");
    TRUCE_RETURN_IF_ERROR(begin_write());
    in_write_transaction_ = true;
    Status st = fn();
    in_write_transaction_ = false;
    if (st.ok() && sqlite3_get_autocommit(db_))
      st = Status::Internal("the write transaction was rolled back");
    if (!st.ok()) {
      end_write("ROLLBACK").ok();
      return st;
    }
    return end_write("COMMIT");
  }

  // Runs fn inside BEGIN IMMEDIATE ... COMMIT; rolls back when it fails.
  Status in_transaction(const std::function<Status()>& fn) {
    TRUCE_RETURN_IF_ERROR(begin_write());
    Status st = fn();
    if (!st.ok()) {
      end_write("ROLLBACK").ok();
      return st;
    }
    return end_write("COMMIT");
  }

  Result<IncidentReview> incident_review(std::string_view id) override {
    // Asked once per incident by a report or a listing: the statement is prepared once.
    Stmt& s = stmts_.latest_review;
    if (!s.ok()) {
      s = Stmt(db_,
               "SELECT version, status, notes, by_user, at_ms FROM incident_reviews WHERE incident_id = ? "
               "ORDER BY version DESC LIMIT 1");
      if (!s.ok()) return Status::Internal("sqlite prepare: " + s.error());
    }
    s.reset();
    s.bind(1, id);
    IncidentReview r;
    r.incident_id = std::string(id);
    const int rc = s.step();
    if (rc == SQLITE_ROW) {
      read_review(s, r);
    } else if (rc != SQLITE_DONE) {
      Status st = sqlite::error(db_, "reading the incident's review");
      s.reset();
      return st;
    }
    s.reset();
    return r;
  }

  Result<IncidentReview> update_review(const IncidentReview& r, std::int64_t expected_version) override {
    TRUCE_RETURN_IF_ERROR(begin_write());
    auto cur = incident_review(r.incident_id);
    if (!cur.ok() || cur->version != expected_version) {
      end_write("ROLLBACK").ok();
      if (!cur.ok()) return cur.status();
      return Status::Conflict("incident " + r.incident_id +
                              " was reviewed meanwhile: its review is at version " +
                              std::to_string(cur->version) + ", not " + std::to_string(expected_version) +
                              "; reload it and apply your change again");
    }
    IncidentReview next = r;
    next.version = cur->version + 1;
    next.at = now();
    Stmt s(db_,
           "INSERT INTO incident_reviews(incident_id, version, status, notes, by_user, at_ms) VALUES "
           "(?,?,?,?,?,?)");
    s.bind(1, std::string_view(next.incident_id));
    s.bind(2, next.version);
    s.bind(3, std::string_view(next.status));
    s.bind(4, std::string_view(next.notes));
    s.bind(5, std::string_view(next.by));
    s.bind(6, next.at.ms);
    if (s.step() != SQLITE_DONE) {
      Status st = sqlite::error(db_, "recording a review");
      end_write("ROLLBACK").ok();
      return st;
    }
    TRUCE_RETURN_IF_ERROR(end_write("COMMIT"));
    return next;
  }

  Result<std::vector<IncidentReview>> review_history(std::string_view id) override {
    Stmt s(db_,
           "SELECT version, status, notes, by_user, at_ms FROM incident_reviews WHERE incident_id = ? ORDER "
           "BY version");
    s.bind(1, id);
    std::vector<IncidentReview> out;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) {
      IncidentReview r;
      r.incident_id = std::string(id);
      read_review(s, r);
      out.push_back(std::move(r));
    }
    if (rc != SQLITE_DONE) return sqlite::error(db_, "reading reviews");
    return out;
  }

  // A row of (version, status, notes, by_user, at_ms).
  static void read_review(const Stmt& s, IncidentReview& r) {
    r.version = s.col_int(0);
    r.status = s.col_text(1);
    r.notes = s.col_text(2);
    r.by = s.col_text(3);
    r.at = Instant{s.col_int(4)};
  }

  Result<std::optional<User>> read_user(Stmt& s) {
    const int rc = s.step();
    if (rc == SQLITE_DONE) return std::optional<User>();
    if (rc != SQLITE_ROW) return sqlite::error(db_, "reading users");
    User u;
    u.name = s.col_text(0);
    u.role = s.col_text(1);
    u.observers = split_commas(s.col_text(2));
    u.digest_ha1 = s.col_text(3);
    return std::optional<User>(std::move(u));
  }

  // The body of replace_incidents, inside its transaction.
  Status replace_incidents_tx(const std::vector<std::string>& scope,
                              const std::vector<StoredIncident>& incidents, IncidentSync& sync) {
    Stmt linked(db_, "SELECT incident_id FROM incident_links WHERE observation_id = ?");
    Stmt cur(db_, "SELECT version, content FROM incidents WHERE id = ?");
    Stmt last(db_, "SELECT coalesce(max(version), 0) FROM incident_versions WHERE incident_id = ?");
    Stmt del(db_, "DELETE FROM incidents WHERE id = ?");
    Stmt del_links(db_, "DELETE FROM incident_links WHERE incident_id = ?");
    Stmt put(db_,
             "INSERT OR REPLACE INTO incidents(id, version, start_ms, end_ms, kind, party, lat, lon, "
             "content, updated_ms) "
             "VALUES (?,?,?,?,?,?,?,?,?,?)");
    Stmt link(db_, "INSERT OR REPLACE INTO incident_links(observation_id, incident_id) VALUES (?,?)");
    Stmt hist(db_,
              "INSERT INTO incident_versions(incident_id, version, at_ms, change, content, observation_ids) "
              "VALUES (?,?,?,?,?,?)");
    for (const Stmt* st : {&linked, &cur, &last, &del, &del_links, &put, &link, &hist}) {
      if (!st->ok()) return Status::Internal("sqlite prepare: " + st->error());
    }
    const std::int64_t at = now().ms;
    auto done = [&](Stmt& st, const char* what) -> Status {
      const int rc = st.step();
      st.reset();
      return rc == SQLITE_DONE || rc == SQLITE_ROW ? Status::Ok() : sqlite::error(db_, what);
    };
    auto add_history = [&](const std::string& id, std::int64_t version, std::string_view change,
                           std::string_view content, std::string_view ids) -> Status {
      hist.bind(1, std::string_view(id));
      hist.bind(2, version);
      hist.bind(3, at);
      hist.bind(4, change);
      hist.bind(5, content);
      hist.bind(6, ids);
      return done(hist, "writing incident history");
    };
    std::vector<std::string> old;
    for (const auto& oid : scope) {
      linked.bind(1, std::string_view(oid));
      while (linked.step() == SQLITE_ROW) old.push_back(linked.col_text(0));
      linked.reset();
    }
    std::sort(old.begin(), old.end());
    old.erase(std::unique(old.begin(), old.end()), old.end());
    std::vector<std::string> fresh;
    for (const auto& inc : incidents) fresh.push_back(inc.id);
    std::sort(fresh.begin(), fresh.end());
    // Retire what is no longer produced.
    for (const auto& id : old) {
      if (std::binary_search(fresh.begin(), fresh.end(), id)) continue;
      cur.bind(1, std::string_view(id));
      const bool exists = cur.step() == SQLITE_ROW;
      const std::int64_t version = exists ? cur.col_int(0) : 0;
      cur.reset();
      if (!exists) continue;
      del.bind(1, std::string_view(id));
      TRUCE_RETURN_IF_ERROR(done(del, "retiring incident"));
      del_links.bind(1, std::string_view(id));
      TRUCE_RETURN_IF_ERROR(done(del_links, "retiring incident"));
      TRUCE_RETURN_IF_ERROR(add_history(id, version + 1, "retired", "", ""));
      ++sync.retired;
    }
    std::int64_t longest = 0;  // of the incidents written
    for (const auto& inc : incidents) {
      cur.bind(1, std::string_view(inc.id));
      const bool exists = cur.step() == SQLITE_ROW;
      std::int64_t version = exists ? cur.col_int(0) : 0;
      const bool same = exists && cur.col_text(1) == inc.content;
      cur.reset();
      if (same) {
        ++sync.unchanged;
        continue;
      }
      if (!exists) {
        last.bind(1, std::string_view(inc.id));
        if (last.step() == SQLITE_ROW) version = last.col_int(0);
        last.reset();
      }
      ++version;
      put.bind(1, std::string_view(inc.id));
      put.bind(2, version);
      put.bind(3, inc.start.ms);
      put.bind(4, inc.end.ms);
      put.bind(5, std::string_view(inc.kind));
      put.bind(6, std::string_view(inc.party));
      put.bind(7, inc.lat);
      put.bind(8, inc.lon);
      put.bind(9, std::string_view(inc.content));
      put.bind(10, at);
      TRUCE_RETURN_IF_ERROR(done(put, "writing incident"));
      del_links.bind(1, std::string_view(inc.id));
      TRUCE_RETURN_IF_ERROR(done(del_links, "writing incident links"));
      std::string ids;
      for (const auto& oid : inc.observation_ids) {
        link.bind(1, std::string_view(oid));
        link.bind(2, std::string_view(inc.id));
        TRUCE_RETURN_IF_ERROR(done(link, "writing incident links"));
        ids += (ids.empty() ? "" : ",") + oid;
      }
      TRUCE_RETURN_IF_ERROR(add_history(inc.id, version, exists ? "updated" : "created", inc.content, ids));
      ++(exists ? sync.updated : sync.created);
      longest = std::max(longest, inc.end.ms - inc.start.ms);
    }
    if (longest > 0) {
      Stmt span(db_, "UPDATE incident_span SET max_ms = max(max_ms, ?)");
      if (!span.ok()) return Status::Internal("sqlite prepare: " + span.error());
      span.bind(1, longest);
      TRUCE_RETURN_IF_ERROR(done(span, "writing the longest incident's span"));
    }
    return Status::Ok();
  }

  // BEGIN IMMEDIATE in this process's turn (see sqlite::WriteTurns); end_write gives it back.
  // `background`: a write no client waits for (fusion's incidents).
  Status begin_write(bool background = false) {
    // Inside write_transaction: a savepoint of its transaction, which must still be open (a failed
    // statement can roll it back; what follows would then be written outside it).
    if (in_write_transaction_) {
      if (sqlite3_get_autocommit(db_)) return Status::Internal("the write transaction was rolled back");
      return sqlite::exec(db_, "SAVEPOINT inner_write");
    }
    // Already in a transaction on this connection: SQLite refuses the nested BEGIN (waiting for
    // our own turn would never end).
    if (writing_) return sqlite::exec(db_, "BEGIN IMMEDIATE");
    turns_->lock(background);
    Status st = sqlite::exec(db_, "BEGIN IMMEDIATE");
    if (!st.ok()) {
      turns_->unlock();
      return st;
    }
    writing_ = true;
    return st;
  }
  // COMMIT or ROLLBACK, then the turn goes to the next writer.
  // A COMMIT that fails is rolled back here, so the turn is never kept by a transaction left open.
  Status end_write(const char* how) {
    if (in_write_transaction_) {  // the savepoint begin_write made: kept, or undone
      if (sqlite3_get_autocommit(db_)) return Status::Internal("the write transaction was rolled back");
      if (std::string_view(how) == "COMMIT") return sqlite::exec(db_, "RELEASE inner_write");
      Status st = sqlite::exec(db_, "ROLLBACK TO inner_write");
      Status rel = sqlite::exec(db_, "RELEASE inner_write");
      return st.ok() ? rel : st;
    }
    Status st = sqlite::exec(db_, how);
    if (!st.ok() && !sqlite3_get_autocommit(db_)) sqlite::exec(db_, "ROLLBACK").ok();
    if (writing_ && sqlite3_get_autocommit(db_)) {
      writing_ = false;
      turns_->unlock();
    }
    return st;
  }

  Instant now() const {
    static const SystemClock kSystem;
    return (clock_ ? clock_ : &kSystem)->now();
  }

  struct Stmts {
    Stmt insert_obs, find_obs, find_observer, insert_observer, insert_reject, set_head;
    Stmt latest_review, user_by_token;  // prepared on first use
  };
  sqlite3* db_;
  const Clock* clock_;
  std::string path_;  // the database file (beside it: the fusion lock)
  std::shared_ptr<sqlite::WriteTurns> turns_ = sqlite::write_turns_for(path_);
  bool writing_ = false;               // this connection holds its turn (between begin_write and end_write)
  bool in_write_transaction_ = false;  // inside write_transaction's fn
  Stmts stmts_;
  std::thread ckpt_thread_;
  std::mutex ckpt_mu_;
  std::condition_variable ckpt_cv_;
  bool ckpt_stop_ = false;
};

Result<Outcome> SqliteBatch::append(const Observation& o, const Digest& content) {
  const Digest next = chain_link(link_, content);
  Stmt& s = store_.stmts_.insert_obs;
  s.bind(1, seq_ + 1);
  s.bind_static(2, o.id);
  s.bind(3, o.time.ms);
  s.bind_static(4, o.observer_id);
  if (o.observer_pos) {
    s.bind(5, o.observer_pos->lat);
    s.bind(6, o.observer_pos->lon);
  } else {
    s.bind_null(5);
    s.bind_null(6);
  }
  s.bind_static(7, to_string(o.kind));
  s.bind(8, o.bearing_deg);
  s.bind(9, o.bearing_sigma_deg);
  s.bind(10, o.distance_m);
  s.bind(11, o.distance_sigma_m);
  s.bind(12, static_cast<std::int64_t>(o.count));
  s.bind_static(13, to_string(o.direction));
  s.bind_static(14, o.notes);
  s.bind_static(15, o.channel);
  s.bind_static(16, o.submitted_by);
  s.bind_blob(17, next.data(), static_cast<int>(next.size()));
  s.bind_static(18, o.supersedes);
  const int rc = s.step();
  sqlite3_reset(s.get());  // every parameter is bound each time: no need to clear bindings
  if (rc != SQLITE_DONE) return sqlite::error(db_, "inserting observation " + o.id);
  if (sqlite3_changes(db_) == 1) {
    ++seq_;
    link_ = next;
    return Outcome::kAccepted;
  }
  auto existing = find_observation(o.id);
  if (!existing.ok()) return existing.status();
  if (!*existing) return Status::Internal("observation " + o.id + " neither inserted nor found");
  return content_digest(canonical_content(**existing)) == content ? Outcome::kDuplicate : Outcome::kConflict;
}

Result<std::optional<Observation>> SqliteBatch::find_observation(std::string_view id) {
  Stmt& s = store_.stmts_.find_obs;
  s.bind(1, id);
  const int rc = s.step();
  std::optional<Observation> out;
  if (rc == SQLITE_ROW) out = read_observation(s, 0);
  s.reset();
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return sqlite::error(db_, "finding observation");
  return out;
}

Result<Outcome> SqliteBatch::append(const Observer& o) {
  Stmt& f = store_.stmts_.find_observer;
  f.bind(1, std::string_view(o.id));
  const int rc = f.step();
  std::optional<Observer> existing;
  if (rc == SQLITE_ROW) existing = read_observer(f);
  f.reset();
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return sqlite::error(db_, "finding observer");
  if (existing) return *existing == o ? Outcome::kDuplicate : Outcome::kConflict;
  Stmt& s = store_.stmts_.insert_observer;
  s.bind(1, std::string_view(o.id));
  if (o.position) {
    s.bind(2, o.position->lat);
    s.bind(3, o.position->lon);
  }
  s.bind(4, std::string_view(o.party));
  s.bind(5, to_string(o.type));
  const int irc = s.step();
  s.reset();
  if (irc != SQLITE_DONE) return sqlite::error(db_, "inserting observer " + o.id);
  return Outcome::kAccepted;
}

Status SqliteBatch::quarantine(const Reject& r) {
  Stmt& s = store_.stmts_.insert_reject;
  s.bind(1, std::string_view(r.what));
  s.bind(2, std::string_view(r.disposition));
  s.bind(3, std::string_view(r.source));
  s.bind(4, r.line);
  s.bind(5, std::string_view(r.field));
  s.bind(6, truncate(r.value, 200));
  s.bind(7, std::string_view(r.reason));
  s.bind(8, truncate(r.record_id, 200));
  s.bind(9, truncate(r.raw, 4096));
  s.bind(10, (r.at.ms != 0 ? r.at : now_).ms);
  const int rc = s.step();
  s.reset();
  return rc == SQLITE_DONE ? Status::Ok() : sqlite::error(db_, "quarantining a record");
}

SqliteBatch::~SqliteBatch() {
  if (!done_) store_.end_write("ROLLBACK").ok();
}

Status SqliteBatch::commit() {
  Stmt& h = store_.stmts_.set_head;
  h.bind(1, seq_);
  h.bind_blob(2, link_.data(), static_cast<int>(link_.size()));
  const int rc = h.step();
  h.reset();
  if (rc != SQLITE_DONE) return sqlite::error(db_, "updating the chain head");
  TRUCE_RETURN_IF_ERROR(store_.end_write("COMMIT"));
  done_ = true;
  return Status::Ok();
}

enum class ReadOnly { kNo, kFile, kFileSystem };
// Why an existing database file cannot be written here, if it cannot.
ReadOnly read_only_reason(const std::string& path) {
  struct statvfs fs {};
  if (::statvfs(path.c_str(), &fs) == 0 && (fs.f_flag & ST_RDONLY)) return ReadOnly::kFileSystem;
  if (::access(path.c_str(), W_OK) != 0 && errno != ENOENT) return ReadOnly::kFile;
  return ReadOnly::kNo;
}

// "file:" URI of a path for sqlite3_open_v2 with SQLITE_OPEN_URI: '%', '?' and '#' escaped.
std::string sqlite_file_uri(const std::string& path) {
  std::string out = "file:";
  for (const char c : path) {
    if (c == '%' || c == '?' || c == '#') {
      char b[4];
      std::snprintf(b, sizeof b, "%%%02X", static_cast<unsigned char>(c));
      out += b;
    } else {
      out += c;
    }
  }
  return out;
}

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

// `creating`: a new database (no file before); `read_only`: opened where it cannot be written.
Status migrate(sqlite3* db, const std::string& path, bool creating, bool read_only) {
  std::int64_t version = 0;
  {
    Stmt t(db, "SELECT count(*) FROM sqlite_master");
    if (!t.ok() || t.step() != SQLITE_ROW) {
      return Status::Invalid(path + " is not a truce database (SQLite cannot read it: " + sqlite3_errmsg(db) +
                             ")");
    }
    const bool empty = t.col_int(0) == 0;
    if (empty && !creating) {
      // An empty file (0 bytes, or SQLite with no tables) is not a mission: never turned into a
      // new one by a command that expected one.
      return Status::Invalid(path + " is empty: not a truce database (`truce init` creates one; remove the " +
                             "empty file first)");
    }
    if (empty) {
      TRUCE_RETURN_IF_ERROR(
          sqlite::exec(db,
                       "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
                       "INSERT INTO meta VALUES ('application', 'truce'), ('schema_version', '0');"));
    }
    Stmt m(db, "SELECT value FROM meta WHERE key = 'application'");
    if (!m.ok() || m.step() != SQLITE_ROW || m.col_text(0) != "truce") {
      return Status::Invalid(path + " is an SQLite database but not a truce database (no truce meta table)");
    }
    Stmt v(db, "SELECT value FROM meta WHERE key = 'schema_version'");
    if (v.step() == SQLITE_ROW) version = std::stoll(v.col_text(0));
  }
  if (version > static_cast<std::int64_t>(kMigrations.size())) {
    return Status::Unsupported(path + " has schema version " + std::to_string(version) +
                               ", newer than this truce understands (" + std::to_string(kMigrations.size()) +
                               "); upgrade truce");
  }
  if (read_only && version < static_cast<std::int64_t>(kMigrations.size())) {
    return Status::Unsupported(path + " has schema version " + std::to_string(version) + " and this truce " +
                               std::to_string(kMigrations.size()) +
                               ": it is read-only here; open it once where it can be written to upgrade it");
  }
  for (auto i = static_cast<std::size_t>(version); i < kMigrations.size(); ++i) {
    TRUCE_RETURN_IF_ERROR(sqlite::exec(db, "BEGIN IMMEDIATE"));
    Status st = sqlite::exec(db, kMigrations[i]);
    if (st.ok()) {
      st = sqlite::exec(
          db, "UPDATE meta SET value = '" + std::to_string(i + 1) + "' WHERE key = 'schema_version'");
    }
    if (!st.ok()) {
      sqlite::exec(db, "ROLLBACK").ok();
      return st;
    }
    TRUCE_RETURN_IF_ERROR(sqlite::exec(db, "COMMIT"));
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<Store>> open_sqlite_store(const std::string& path, const SqliteOptions& opts) {
  // Allocation statistics take a global mutex on every malloc; truce does not use them.
  static const bool configured = [] {
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    return true;
  }();
  (void)configured;
  const bool exists = file_exists(path);
  if (opts.create && exists)
    return Status::Invalid(path + " already exists; truce init creates a new database");
  if (!opts.create && opts.must_exist && !exists) {
    return Status::NotFound("no truce database at " + path +
                            " (create one with `truce init`, or pass --db FILE)");
  }
  // A database on a read-only file system, or a file this process may not write, is opened
  // read-only: every command that only reads works, and a write fails saying the database is
  // read-only. On a read-only file system nothing can change the file, and SQLite may read it
  // without the WAL's shared-memory file (which it could not create there): immutable.
  const ReadOnly ro = exists && !opts.create ? read_only_reason(path) : ReadOnly::kNo;
  sqlite3* db = nullptr;
  const int flags = ro == ReadOnly::kNo ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
                                        : SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX;
  const std::string name = ro == ReadOnly::kNo           ? path
                           : ro == ReadOnly::kFileSystem ? sqlite_file_uri(path) + "?mode=ro&immutable=1"
                                                         : sqlite_file_uri(path) + "?mode=ro";
  if (sqlite3_open_v2(name.c_str(), &db, flags, nullptr) != SQLITE_OK) {
    std::string m = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close_v2(db);
    return Status::IOError("cannot open " + path + ": " + m);
  }
  auto store = std::make_unique<SqliteStore>(db, opts.clock, path);
  sqlite3_busy_timeout(db, 30000);
  TRUCE_RETURN_IF_ERROR(migrate(db, path, opts.create || !exists, ro != ReadOnly::kNo));
  TRUCE_RETURN_IF_ERROR(sqlite::exec(db, ro == ReadOnly::kNo
                                             ? "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; "
                                               "PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY;"
                                             : "PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY;"));
  TRUCE_RETURN_IF_ERROR(store->prepare());
  if (opts.background_checkpoint) TRUCE_RETURN_IF_ERROR(store->start_checkpointer(path));
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace truce

namespace truce {
Result<Outcome> WriteBatch::append(const Observation& o) {
  return append(o, content_digest(canonical_content(o)));
}
}  // namespace truce
