// Ingest: read -> parse -> validate -> store, for files and streams of observations and observers.
// Every record read ends as exactly one of accepted / duplicate / conflict / rejected; rejected
// and conflicting records are quarantined in the store with where and why.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "truce/core/time.h"
#include "truce/core/validate.h"
#include "truce/io/record_reader.h"
#include "truce/store/store.h"

namespace truce::ingest {

enum class Format { kAuto, kCsv, kNdjson };

struct Options {
  Format format = Format::kAuto;     // kAuto: .ndjson/.jsonl/.json are NDJSON, anything else CSV
  std::string submitted_by;          // recorded with each observation
  std::int64_t batch_rows = 100000;  // rows per transaction (each commit is durable)
  const Clock* clock = nullptr;      // SystemClock when null
  io::Limits limits;
  std::size_t max_messages = 20;  // problems kept verbatim in the summary; all are quarantined
};

struct Summary {
  std::int64_t read = 0, accepted = 0, duplicates = 0, conflicts = 0, rejected = 0;
  std::vector<std::string> messages;  // the first problems, "file:line: field 'f': ..."
  std::int64_t more_messages = 0;     // problems beyond max_messages
  std::vector<std::string> warnings;  // ignored columns, header-only files
  std::vector<Status> file_errors;    // files that could not be read at all
  bool clean() const { return conflicts == 0 && rejected == 0 && file_errors.empty(); }
};

// Told how far the import has got, in bytes; total is -1 when unknown (a pipe).
class Progress {
 public:
  virtual ~Progress() = default;
  virtual void update(std::uint64_t done, std::int64_t total) = 0;
};

// Imports files ("-" = standard input). Fails (Status) only when the store fails; problems with
// the input are counted and described in the Summary.
Result<Summary> import_observations(Store& store, const std::vector<std::string>& paths, const Options& opts,
                                    Progress* progress = nullptr);
Result<Summary> import_observers(Store& store, const std::vector<std::string>& paths, const Options& opts,
                                 Progress* progress = nullptr);

// One record offered through the API or a field app: its raw text (kept if it is refused) and
// either the parsed observation or why it could not be parsed.
struct Submission {
  std::string raw;
  std::optional<Observation> obs;
  FieldError error;  // when !obs, or when prepare() refused obs
  // Set by prepare(): the fields were checked (error says why when `content` is empty) and the
  // content digest computed, so the writer does neither again.
  bool prepared = false;
  std::optional<Digest> content;
};
// The checks that need no database (validate() against `now`) and the content digest, for the
// thread that parsed the submission: HTTP handlers run this in parallel, so the one writer thread
// of a group commit only checks registration and stores.
void prepare(Submission& s, Instant now);
struct SubmissionResult {
  enum class State { kAccepted, kDuplicate, kConflict, kRejected } state = State::kRejected;
  FieldError error;  // for kConflict and kRejected
};
// Stores submissions in one durable transaction with the same rules as a file import (validation,
// observer registration, idempotency, quarantine). `source` names the channel for quarantine.
// An observation that supersedes another (Observation::supersedes, an edited ODK submission's
// deprecatedID) is refused unless that one was received and is of the same observer; both are
// kept, and fusion uses only the newest.
Result<std::vector<SubmissionResult>> submit_observations(Store& store, std::vector<Submission> items,
                                                          const std::string& source, const Options& opts);

// Several requests' submissions in ONE durable transaction (the server's group commit): each
// group is judged as submit_observations would judge it alone, in order, and gets its own results
// (quarantine lines count within the group). Any storage failure fails every group: nothing of
// any of them is then stored.
struct SubmissionGroup {
  std::vector<Submission> items;
  std::string source;
};
// The registered observers as one long-lived writer (the server's group commit) knows them, kept
// between commits: a registration is never changed or removed (a different one is a conflict), so
// what was read stays true; an observer not known (or without a position) is read again, at most
// once per commit. Reading every observer at every commit cost half the writer's time.
class ObserverCache {
 public:
  Status reload(Store& store);
  bool loaded() const { return loaded_; }
  const std::unordered_map<std::string, bool>& known() const { return known_; }  // id -> has a position

 private:
  std::unordered_map<std::string, bool> known_;
  bool loaded_ = false;
};
Result<std::vector<std::vector<SubmissionResult>>> submit_observation_groups(
    Store& store, std::vector<SubmissionGroup> groups, const Options& opts, ObserverCache* cache = nullptr);

}  // namespace truce::ingest
