// The Store interface: everything truce keeps. SQLite is the embedded default; a PostgreSQL
// backend implements the same interface. Implementations are not thread-safe: one Store object
// per thread. Several processes may open one database; writers are serialised by the backend.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "truce/core/observation.h"
#include "truce/core/status.h"
#include "truce/store/audit.h"

namespace truce {

// What became of one record offered to the store.
enum class Outcome : std::uint8_t { kAccepted, kDuplicate, kConflict };

// A record truce did not accept, kept so nothing is silently dropped: rejected (invalid) rows and
// conflicting ones (same id, different content).
struct Reject {
  std::int64_t seq = 0;     // assigned by the store
  std::string what;         // "observation" or "observer"
  std::string disposition;  // "rejected" or "conflict"
  std::string source;       // file name, "-" for stdin, or the channel
  std::int64_t line = 0;    // 1-based line or record number
  std::string field;        // offending field ("" = whole record)
  std::string value;        // offending value (truncated to 200 bytes)
  std::string reason;       // what was expected
  std::string record_id;    // the record's id when it had one
  std::string raw;          // the raw record (truncated to 4 KiB)
  Instant at;               // when it was quarantined
};

// One transaction. Nothing is visible to others until commit(); a batch destroyed without
// commit() is rolled back. The Store that made it must outlive it.
class WriteBatch {
 public:
  virtual ~WriteBatch() = default;
  // `content` must be content_digest(canonical_content(o)) (store/audit.h); callers that have it
  // already (the importer computes it on another thread) save the store the work.
  virtual Result<Outcome> append(const Observation& o, const Digest& content) = 0;
  Result<Outcome> append(const Observation& o);
  virtual Result<Outcome> append(const Observer& o) = 0;
  virtual Status quarantine(const Reject& r) = 0;
  // The stored observation with this id when append() said kConflict (for the report).
  virtual Result<std::optional<Observation>> find_observation(std::string_view id) = 0;
  // Durable on disk when this returns OK.
  virtual Status commit() = 0;
};

struct ObservationFilter {
  std::optional<Instant> from;  // inclusive
  std::optional<Instant> to;    // exclusive
  std::optional<std::string> observer_id;
  std::optional<Kind> kind;
  std::optional<std::string> id;  // just this observation
  std::int64_t after_seq = 0;     // cursor: only records with seq > after_seq
  std::int64_t limit = 0;         // 0 = no limit
  bool current_only = false;      // leave out observations a later one supersedes
};

struct StoredObservation {
  std::int64_t seq = 0;  // position in the audit chain, 1-based
  Observation obs;
  std::string superseded_by = {};  // the latest observation that supersedes this one; "" when it is current
};

struct StoreStats {
  std::int64_t observations = 0;
  std::int64_t observers = 0;
  std::int64_t rejected = 0;
  std::int64_t conflicts = 0;
  std::optional<Instant> first_time, last_time;
  std::vector<std::pair<std::string, std::int64_t>> by_kind;  // kind -> count, by count desc
};

// Result of walking the audit chain.
struct ChainReport {
  bool ok = true;
  std::int64_t records = 0;        // records checked
  std::int64_t first_bad_seq = 0;  // 0 when ok
  std::string first_bad_id;
  std::string problem;  // what does not match
};

// Someone who may use the HTTP API. Tokens are never stored, only their SHA-256.
struct User {
  std::string name;
  std::string role;                    // observer | analyst | admin
  std::vector<std::string> observers;  // for role observer: the observers it may submit for
  std::string digest_ha1;              // MD5(name:realm:token) for HTTP Digest (OpenRosa clients)
};

// A user as `truce user list` shows it: what the store keeps besides the credentials. A user is
// active until it is revoked (final) or its expiry passes (the store's clock at the time of asking).
struct UserAccount {
  User user;  // digest_ha1 is left empty: a listing carries no secrets
  Instant created;
  std::optional<Instant> expires;  // nullopt: never
  std::optional<Instant> revoked;  // when it was revoked; nullopt: not revoked
  std::string state;               // "active" | "revoked" | "expired"
};

// An incident as stored: what fusion believes happened, with links to its observations. `content`
// is the incident's canonical JSON (every fused field); a change of content makes a new version.
struct StoredIncident {
  std::string id;            // stable: derived from its earliest observation
  std::int64_t version = 0;  // set by the store
  Instant start, end;        // estimated event time interval
  std::string kind;
  std::string party;                         // origin's party, "" if unlocated or outside
  std::optional<double> lat, lon;            // origin
  std::string content;                       // canonical JSON
  std::vector<std::string> observation_ids;  // the observations it fuses
};
struct IncidentFilter {
  std::optional<Instant> from;  // incidents ending at or after this instant
  std::optional<Instant> to;    // incidents starting before this instant
  std::optional<std::string> party;
  std::optional<std::string> kind;
  std::optional<std::string> id;       // just this incident
  std::optional<Instant> starting_at;  // incidents starting at or after this instant (paging)
  // What to read besides the indexed columns: a caller that only counts (by day, kind, party)
  // skips the content and the observation links, which are most of the cost.
  bool with_content = true;
  bool with_observations = true;
};
// One entry of an incident's history: created, updated (content changed) or retired (its
// observations now belong to other incidents).
struct IncidentVersion {
  std::int64_t version = 0;
  Instant at;
  std::string change;   // "created" | "updated" | "retired"
  std::string content;  // the content of that version ("" for retired)
  std::vector<std::string> observation_ids;
};
// Where a reader of the incident change feed has got to: the last incident version and the last
// review it has seen (both only ever grow). Equal cursors mean the incidents and reviews are as
// they were, whoever wrote them (this process or another).
struct IncidentCursor {
  std::int64_t versions = 0, reviews = 0;
  bool operator==(const IncidentCursor&) const = default;
};
// One change in that feed: an incident created, updated or retired by fusion, or reviewed.
struct IncidentChange {
  std::string id;
  std::int64_t version = 0;  // the incident version, or the review version for "reviewed"
  std::string change;        // "created" | "updated" | "retired" | "reviewed"
};
struct IncidentSync {
  std::int64_t created = 0, updated = 0, unchanged = 0, retired = 0;
};

// The analysts' verification of an incident, kept apart from what fusion computes so that a
// re-fusion never loses a verdict. Every change makes a new version (optimistic concurrency).
struct IncidentReview {
  std::string incident_id;
  std::int64_t version = 0;  // 0: never reviewed
  std::string status;        // "" (not reviewed), verified, rejected, disputed, reported, corroborated
  std::string notes;
  std::string by;
  Instant at;
};

class Store {
 public:
  virtual ~Store() = default;
  // Incidents (fusion). Backends without them answer kUnsupported.
  // In one transaction: the incidents currently linked to any of `scope` (observation ids) are
  // replaced by `incidents`: unchanged content keeps its version; changed content becomes a new
  // version; incidents no longer produced are retired. Every change is kept in the history.
  virtual Result<IncidentSync> replace_incidents(const std::vector<std::string>& scope,
                                                 const std::vector<StoredIncident>& incidents) {
    (void)scope, (void)incidents;
    return Status::Unsupported("this store keeps no incidents");
  }
  // Calls fn for each current incident matching f, by start time then id, until fn returns false.
  virtual Status scan_incidents(const IncidentFilter& f,
                                const std::function<bool(const StoredIncident&)>& fn) {
    (void)f, (void)fn;
    return Status::Unsupported("this store keeps no incidents");
  }
  virtual Result<std::vector<IncidentVersion>> incident_history(std::string_view id) {
    (void)id;
    return Status::Unsupported("this store keeps no incidents");
  }
  // The change feed: the cursor now, and the changes after `after` (at most `max`, incident
  // versions before reviews), moving `after` past what was returned.
  virtual Result<IncidentCursor> incident_cursor() {
    return Status::Unsupported("this store keeps no incidents");
  }
  virtual Result<std::vector<IncidentChange>> incident_changes(IncidentCursor& after, std::size_t max) {
    (void)after;
    (void)max;
    return Status::Unsupported("this store keeps no incidents");
  }
  // Held while fusion writes incidents, so that one fuser at a time (in any process) works on a
  // database; blocks until it is free. Released when the returned object is destroyed.
  class Lock {
   public:
    virtual ~Lock() = default;
  };
  virtual Result<std::unique_ptr<Lock>> lock_fusion() { return std::unique_ptr<Lock>(); }
  virtual Result<std::unique_ptr<WriteBatch>> begin() = 0;
  // Runs fn inside one write transaction: what fn writes through this Store (put_document,
  // replace_incidents, begin()'s batches) is committed together when fn returns OK, and none of it
  // when fn fails; fn's reads see its own writes. Not to be nested. Backends that cannot answer
  // kUnsupported without calling fn.
  virtual Status write_transaction(const std::function<Status()>& fn) {
    (void)fn;
    return Status::Unsupported("this store has no write transactions");
  }
  virtual Result<std::vector<Observer>> observers() = 0;
  // Calls fn for each matching observation in seq order until fn returns false. Superseded
  // observations are kept (and listed, with superseded_by) unless f.current_only.
  virtual Status scan_observations(const ObservationFilter& f,
                                   const std::function<bool(const StoredObservation&)>& fn) = 0;
  virtual Status scan_rejects(const std::function<bool(const Reject&)>& fn) = 0;
  virtual Result<StoreStats> stats() = 0;
  virtual Result<ChainReport> verify_chain() = 0;
  // Named documents of the mission (e.g. "zones", "loc", "agreement"), versioned: a put keeps
  // every earlier version. Returns the new version number.
  virtual Result<std::int64_t> put_document(std::string_view name, std::string_view content) = 0;
  virtual Result<std::optional<std::string>> document(std::string_view name) = 0;
  // Users of the API. add_user fails with kConflict when the name exists (revoked users keep
  // their name). A user with `expires` is refused from that instant on (nullopt: never).
  virtual Status add_user(const User& u, const Digest& token_hash, std::optional<Instant> expires) = 0;
  Status add_user(const User& u, const Digest& token_hash) { return add_user(u, token_hash, std::nullopt); }
  // The user a request authenticates as: nullopt when nobody has this token or name, and also
  // when that user is revoked or expired (asked on every request, so a revocation, rotation or
  // expiry takes effect at the next request of a running server).
  virtual Result<std::optional<User>> user_by_token(const Digest& token_hash) = 0;
  virtual Result<std::optional<User>> user_by_name(std::string_view name) = 0;
  // Every user, revoked and expired ones too, by name. Never carries token hashes or digest_ha1.
  virtual Result<std::vector<UserAccount>> list_users() = 0;
  // Revokes a user for good: its token and digest stop working at once. kNotFound for an unknown
  // name; kConflict when it is revoked already.
  virtual Status revoke_user(std::string_view name) = 0;
  // Replaces a user's token (its hash and digest_ha1) and sets its expiry (nullopt: never); the
  // old token stops working at once. kNotFound for an unknown name; kConflict for a revoked user.
  virtual Status rotate_user(std::string_view name, const Digest& token_hash, std::string_view digest_ha1,
                             std::optional<Instant> expires) = 0;
  // The latest review of an incident (version 0 when there is none).
  virtual Result<IncidentReview> incident_review(std::string_view incident_id) = 0;
  // Records a review if the latest version is still `expected_version`; kConflict otherwise.
  virtual Result<IncidentReview> update_review(const IncidentReview& r, std::int64_t expected_version) = 0;
  virtual Result<std::vector<IncidentReview>> review_history(std::string_view incident_id) = 0;
};

struct SqliteOptions {
  bool create = false;           // create a new database; fails if the file exists
  bool must_exist = true;        // open only an existing truce database
  const Clock* clock = nullptr;  // for timestamps and user expiry; SystemClock when null
  // Checkpoint the WAL on a background thread (bulk imports, the server): the writer does not
  // stop to copy pages. Costs a thread and a second connection.
  bool background_checkpoint = false;
};
// Opens (or creates) a truce database in one SQLite file, migrating its schema forward.
Result<std::unique_ptr<Store>> open_sqlite_store(const std::string& path, const SqliteOptions& opts);

}  // namespace truce
