// The mission pipeline: fusion wired to the store and the geography. What runs when observations
// arrive (incremental fusion of what is new) and on demand (a time range, or files without a
// database). Used by the CLI and the server; prints nothing.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "truce/fusion/fusion.h"
#include "truce/geo/geography.h"
#include "truce/store/store.h"

namespace truce::pipeline {

// Observations read from a CSV file for file-mode fusion, and the rows that could not be used.
struct FusionInput {
  std::vector<std::string> ids;          // observation ids, parallel to reports
  std::vector<fusion::Report> reports;
  std::int64_t bad = 0;                  // rows skipped
  std::vector<std::string> problems;     // the first few, "file:line: ..."
};
Status read_observations_csv(const std::string& path, const fusion::Config& cfg, FusionInput& out);

// The scorer's assign.csv and incidents.csv (with distance_to_loc_m and more) in dir, formatted on
// `threads` threads (the same bytes for any count).
Status write_scorer_files(const std::string& dir, const std::vector<std::string>& ids,
                          const std::vector<fusion::Incident>& incs, int threads = 2);
// The same from what the mission database holds.
Status export_scorer(Store& store, const std::string& dir, std::size_t* observations, std::size_t* incidents);

Result<std::shared_ptr<const geo::Geography>> load_geography_files(const std::string& zones, const std::string& loc);
// The given files when both are set; else the mission's stored zones and LoC (NotFound if absent).
Result<std::shared_ptr<const geo::Geography>> mission_geography(Store& store, const std::string& zones = "",
                                                                const std::string& loc = "");

// The canonical JSON of an incident: every fused field, rounded so that the same fusion always
// writes the same text (the store versions an incident when this text changes).
std::string incident_content(const fusion::Incident& c, const std::string& id, const std::vector<std::string>& obs_ids);

struct FuseRange {
  std::optional<Instant> from, to;  // both empty: incremental (what was imported since the last run)
};
struct FuseSummary {
  bool nothing_new = false;
  std::size_t observations = 0, incidents = 0;
  IncidentSync sync;
};
// Fuses stored observations and replaces the affected incidents. Exact: the window is widened until
// every candidate group with a report in range lies inside it, so the incidents are those a batch
// fusion of everything gives; re-running changes nothing.
Result<FuseSummary> fuse_stored(Store& store, const geo::Geography& geography, const FuseRange& range,
                                const fusion::Config& cfg);

}  // namespace truce::pipeline
