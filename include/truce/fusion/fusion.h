// Fusion: many observers' reports in, located incidents out (DESIGN.md module `fusion`).
//
// Correlation joins reports of one event from different observers into one incident and keeps
// different events apart; location fits each incident's origin to all its bearings and distances
// on the WGS84 ellipsoid and says how sure it is (a 2-sigma ellipse, or a sector when there is no
// point). The result depends only on the set of reports, never on their order of arrival: the
// candidate graph splits reports into independent groups and each group is clustered
// deterministically, which is what makes incremental fusion equal to batch fusion.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "truce/core/observation.h"

namespace truce::geo {
class Geography;
}

namespace truce::fusion {

// The one configuration truce uses for every mission (docs/ACCURACY.md). The defaults encode what
// reports are known to carry; they are not tuned per scenario.
struct Config {
  //! Unstated per-observer compass bias (1 sigma, degrees), added in quadrature to the stated sigma.
  double bearing_bias_deg = 1.0;
  //! Bearing sigma used when a report states none.
  double default_bearing_sigma_deg = 6.0;
  //! Relative (log) distance sigma used when a report states none.
  double default_distance_rel_sigma = 0.3;
  //! Speed of sound: a report is late by the distance / this.
  double sound_speed_m_s = 343.0;
  //! Observer reaction: a report is late by up to this much beyond the sound's travel.
  double reaction_max_s = 50.0;
  //! No report is later than this after the event (reaction and travel together).
  double delay_cap_s = 90.0;
  //! A report whose time is a whole minute may have been truncated to the minute.
  double minute_rounding_s = 60.0;
  //! Slack on every time interval (seconds truncation, clock skew).
  double time_slack_s = 2.0;
  //! Pair pre-gate: squared Mahalanobis distance between two reports' projected points.
  double pair_gate = 20.0;
  //! Largest merge cost (chi-square units: misfit increase + time + count terms) that joins two groups.
  double merge_gate = 22.0;
  //! Weight of the count agreement term and the log-count noise (1 sigma) it assumes.
  double count_log_sigma = 0.25;
  double count_cost_cap = 6.0;
  //! A report's distance estimate is taken as at least this (metres).
  double min_distance_m = 30.0;
  //! Without any distance, a fix whose 2-sigma semi-major axis exceeds this fraction of the mean
  //! range is not a point (near-parallel bearings): the incident keeps only its sector.
  double max_bearing_only_axis_ratio = 0.5;
  //! Candidate partners kept per report, among the later reports that pass the pre-gate: the
  //! nearest. Bounds the pairs (and the memory) a flood of mutually compatible reports can make.
  std::size_t max_pairs_per_report = 48;
  //! Worker threads for batch fusion (>= 1).
  int threads = 2;
  //! When set and true, fuse() gives up early (its result is then incomplete and must be
  //! discarded): a stopping server does not wait for a long run. Read with relaxed loads.
  const std::atomic<bool>* cancel = nullptr;
  bool cancelled() const { return cancel && cancel->load(std::memory_order_relaxed); }
  //! When set (one flag per report, by its position in the input): only the groups that hold a
  //! flagged report are clustered, located and returned, each exactly as without a focus. Incremental
  //! fusion flags what changed; the other groups' incidents are already known. Not owned.
  const std::vector<char>* focus = nullptr;
  //! Largest difference of reported times of two reports of one event (seconds).
  double pair_window_s() const { return delay_cap_s + minute_rounding_s + 2 * time_slack_s + 2; }
};

// One report as fusion sees it. Built from an Observation by make_report().
struct Report {
  std::uint32_t index = 0;      // the caller's index of the observation (returned in Incident::members)
  std::uint32_t observer = 0;   // interned observer identity: one observer reports an event at most once
  std::int64_t time_s = 0;      // reported time, seconds since the epoch (UTC)
  bool time_on_minute = false;  // the reported time is a whole minute (may have been truncated)
  bool has_position = false;    // without the observer's position a report cannot be located
  double lat = 0, lon = 0;      // observer position
  Kind kind = Kind::kOther;
  bool has_bearing = false;
  double bearing_deg = 0, bearing_sigma_deg = 0;
  bool has_distance = false;
  double distance_m = 0, distance_sigma_m = 0;
  std::int32_t count = 1;
};

// Converts an observation. `position` is the observer's position at the time of the report (the
// observation's own, else the registered one); without it the report stays alone and unlocated.
Report make_report(const Observation& o, std::uint32_t index, std::uint32_t observer,
                   std::optional<LatLon> position, const Config& cfg);

// 2-sigma uncertainty ellipse of an origin.
struct Ellipse {
  double semi_major_m = 0;
  double semi_minor_m = 0;
  double major_azimuth_deg = 0;  // of the major axis, clockwise from true north, [0, 180)
};

// Where a bearing-only incident lies: within half_width_deg (2 sigma) of azimuth_deg from apex.
struct Sector {
  LatLon apex;
  double azimuth_deg = 0;
  double half_width_deg = 0;
};

struct Incident {
  std::vector<std::uint32_t> members;  // Report::index values, ascending
  std::int64_t start_s = 0;            // estimated event time interval (seconds since the epoch)
  std::int64_t end_s = 0;
  Kind kind = Kind::kOther;
  int observers = 0;  // distinct observers (== members.size())
  std::optional<LatLon> origin;
  std::optional<Ellipse> ellipse;
  std::optional<Sector> sector;  // when there is no point
  double chi2 = 0;               // misfit of the location (0 for one report)
  int rounds = 0;                // estimated round count (median of the reports)
  // Reported times of the first and last report of the incident's candidate group (the connected
  // component of the candidate pairs it was clustered in). fuse() over any superset of the reports
  // gives the same incidents for a group when no report within Config::pair_window_s() of the
  // group lies outside the set: this is what incremental fusion uses to be exact.
  std::int64_t group_first_s = 0, group_last_s = 0;
  // Filled by attribute(): the control zone's party of the origin ("" when unlocated or outside),
  // the other zones containing it, and its geodesic distance to the line of contact.
  std::string party;
  std::vector<std::string> zones;
  std::optional<double> distance_to_loc_m;
};

// Wall time of each step of a batch fusion (seconds), in order: for `truce fuse --timings`.
using PhaseTimes = std::vector<std::pair<std::string, double>>;

// Batch fusion: clusters and locates all reports. Incidents come sorted by (start_s, first member).
// Thread-safe (no shared state); uses cfg.threads workers. `times`, when given, receives the steps'
// wall times (models, prepare, pairs, components, clusters, locate, order).
std::vector<Incident> fuse(std::span<const Report> reports, const Config& cfg, PhaseTimes* times = nullptr);
// The same, freeing the reports as soon as their measurement models are built (a batch of a
// million reports then needs ~100 MB less at its peak). `reports` is left empty.
std::vector<Incident> fuse(std::vector<Report>&& reports, const Config& cfg, PhaseTimes* times = nullptr);

// Locates one group of reports (all members must have a position) on the WGS84 ellipsoid:
// least squares over bearings and log-distances with their sigmas, iterated with exact geodesic
// derivatives. Fills origin/ellipse or sector, chi2, times, kind and rounds.
Incident locate(std::span<const Report> group, const Config& cfg);

// Attributes every located incident's origin with the geography engine (party, zones, distance
// to the LoC), on `threads` threads.
void attribute(std::span<Incident> incidents, const geo::Geography& geography, unsigned threads);

// The neighbouring-kinds relation observers confuse (small_arms-heavy_mg-mortar-explosion-artillery-mlrs,
// drone-explosion); a kind neighbours itself.
bool kinds_neighbour(Kind a, Kind b);

}  // namespace truce::fusion
