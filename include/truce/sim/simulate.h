// truce simulate: generated observations over a mission's own geography, for exercises, training,
// demos and load tests. Nothing it writes is a real report: every row carries the note "SIMULATED"
// and an id beginning "sim-".
//
// What is simulated (docs/agreement.md "Simulation"): observation posts (the mission's own, or
// posts placed along the line of contact); bursts of fire (1-8 episodes of one weapon from nearly
// one place, minutes apart, night-heavy), 40 % answered from the other side of the line (an
// exchange); each observer within the weapon's detection range reports with a probability falling
// with distance; bearing noise (per-observer compass bias + Gaussian), log-normal distance error
// rounded as people round, sound delay and reaction time, some clocks truncated to the minute,
// kind confusion with a neighbouring weapon, and false reports from posts.
//
// Deterministic: the same geography, observers, options and seed give byte-identical output on
// any machine (own PRNG and distributions, no std:: distributions). Streamed: one simulated day is
// held in memory at a time.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "truce/core/observation.h"
#include "truce/core/status.h"
#include "truce/geo/geography.h"

namespace truce::sim {

struct Options {
  std::uint64_t seed = 1;
  Instant start{1693526400000};  // 2023-09-01T00:00:00Z
  double days = 30;
  double bursts_per_day = 40;         // mean, over the whole line
  double exchange_probability = 0.4;  // a burst is answered from the other side
  double bearing_sigma_deg = 4.0;     // base bearing noise, scaled per kind and observer
  double distance_rel_sigma = 0.25;   // sigma of log(distance error), scaled per kind
  double kind_confusion = 0.10;       // a report names a neighbouring kind
  double false_rate = 0.05;           // share of all rows that are false reports
  int local_utc_offset_h = 4;         // local time for the diurnal pattern (South Caucasus: UTC+4)
};

struct Stats {
  std::int64_t rows = 0, genuine = 0, false_reports = 0, events = 0, events_reported = 0, bursts = 0,
               exchanges = 0;
};

// `n` mission posts spread evenly along the line of contact, 300 m off it on alternating sides,
// ids SIM-P01.., party `party`, type post.
std::vector<Observer> posts_along_loc(const geo::Geography& g, int n, const std::string& party = "MON");

// The header of the observations CSV truce simulate writes (the `truce import observations` format).
inline constexpr const char* kCsvHeader =
    "observation_id,time,observer_id,observer_lat,observer_lon,kind,bearing_deg,bearing_sigma_deg,distance_m,"
    "distance_sigma_m,count,direction,notes\n";

// Writes observations to `out` (CSV with header, rows sorted by time) and, when `truth` is not null,
// the true event behind each row (observation_id,event_id,burst_id,event_time,lat,lon,party,kind,
// count,distance_to_loc_m; empty event for a false report). Observers without a position are not
// used. Fails on an empty line of contact, no usable observer, bad options or a write error.
Result<Stats> simulate(const geo::Geography& g, const std::vector<Observer>& observers, const Options& opts,
                       std::FILE* out, std::FILE* truth = nullptr);

}  // namespace truce::sim
