// The mission pipeline: fusion wired to the store and the geography. What runs when observations
// arrive (incremental fusion of what is new) and on demand (a time range, or files without a
// database). Used by the CLI and the server; prints nothing.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "truce/fusion/fusion.h"
#include "truce/geo/geography.h"
#include "truce/store/store.h"

namespace truce::pipeline {

// Observations read from a CSV file for file-mode fusion, and the rows that could not be used.
struct FusionInput {
  std::vector<std::string> ids;  // observation ids, parallel to reports
  std::vector<fusion::Report> reports;
  std::int64_t bad = 0;               // rows skipped
  std::vector<std::string> problems;  // the first few, "file:line: ..."
};
Status read_observations_csv(const std::string& path, const fusion::Config& cfg, FusionInput& out);

// The scorer's assign.csv and incidents.csv (with distance_to_loc_m and more) in dir, formatted on
// `threads` threads (the same bytes for any count).
Status write_scorer_files(const std::string& dir, const std::vector<std::string>& ids,
                          const std::vector<fusion::Incident>& incs, int threads = 2);
// The same from what the mission database holds.
Status export_scorer(Store& store, const std::string& dir, std::size_t* observations, std::size_t* incidents);

Result<std::shared_ptr<const geo::Geography>> load_geography_files(const std::string& zones,
                                                                   const std::string& loc);
// The given files when both are set; else the mission's stored zones and LoC (NotFound if absent).
Result<std::shared_ptr<const geo::Geography>> mission_geography(Store& store, const std::string& zones = "",
                                                                const std::string& loc = "");

// The canonical JSON of an incident: every fused field, rounded so that the same fusion always
// writes the same text (the store versions an incident when this text changes).
std::string incident_content(const fusion::Incident& c, const std::string& id,
                             const std::vector<std::string>& obs_ids);

struct FuseRange {
  std::optional<Instant> from, to;  // both empty: incremental (what was imported since the last run)
};
struct FuseSummary {
  bool nothing_new = false;
  std::size_t observations = 0, incidents = 0;
  IncidentSync sync;
  //! Where the run's time went (milliseconds, wall clock): reading observations (every try of the
  //! window), fusing them, attributing and classifying the incidents, writing them.
  double read_ms = 0, fuse_ms = 0, describe_ms = 0, write_ms = 0;
  //! How many windows were tried, and how many reports the last one held.
  std::size_t window_tries = 0, window_reports = 0;
  //! Incidents of the window found exactly as stored, and so not described or written again.
  std::size_t unchanged = 0;
};
// What one incremental run leaves for the next (owned by the caller, e.g. the live fuser; one per
// store). Only a first guess of the window: the result is exact whatever it holds.
struct FuseMemo {
  //! The span (ms) of the candidate groups the last run's new reports belonged to; reports that
  //! arrive next, close in time, most often extend the same groups.
  std::optional<std::int64_t> group_first_ms, group_last_ms;
  //! The incidents of the last run's window as it left them: id -> its reports' ids, sorted and
  //! joined by '\n'. Trusted only while the store's incident versions have not moved since.
  std::unordered_map<std::string, std::string> incidents;
  std::optional<std::int64_t> versions_after;  //! IncidentCursor::versions after the last run
  //! Every stored observation with its time in [window_from, window_to) and seq <= window_seq,
  //! as the last run read them (window_seq is the fusion cursor it left; 0: nothing kept). The
  //! next run reads from the store only what is new or outside this window.
  std::vector<StoredObservation> window;
  std::int64_t window_from = 0, window_to = 0, window_seq = 0;
  //! When set, the run's writes (incidents, cursor) are handed to it to run, on whatever thread it
  //! chooses, while the run waits: a run computed at low priority then does not hold the
  //! database's write lock at low priority.
  std::function<Status(const std::function<Status()>&)> write;
};
// Fuses stored observations and replaces the affected incidents. Exact: the window is widened until
// every candidate group with a report in range lies inside it, so the incidents are those a batch
// fusion of everything gives; re-running changes nothing. Incremental runs cluster only the
// groups holding a changed report; with a `memo` they also read only what the last run's window
// lacked, start where its groups reached, and leave the incidents it left untouched.
Result<FuseSummary> fuse_stored(Store& store, const geo::Geography& geography, const FuseRange& range,
                                const fusion::Config& cfg, FuseMemo* memo = nullptr);

}  // namespace truce::pipeline
