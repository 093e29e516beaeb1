// The daily report (DESIGN.md module `report`): what a monitoring mission publishes every morning.
//
// Two steps. build_daily_report() turns the day's inputs (gathered from the store by
// pipeline::gather_report_inputs, or built by hand in tests) into a DailyReport: the model, where
// every figure and every sentence is decided once. The renderers (JSON, Markdown, HTML) only lay
// the model out; none computes a figure of its own, so all formats agree. The public variant is
// made in the model (Options::public_view): no observer ids or positions, locations rounded to the
// public grid, analyst notes left out. Nothing here prints, reads the clock or the environment:
// the same inputs always give the same bytes.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "truce/agreement/agreement.h"
#include "truce/agreement/humanitarian.h"
#include "truce/core/observation.h"
#include "truce/core/status.h"
#include "truce/geo/gazetteer.h"
#include "truce/geo/geography.h"

namespace truce::report {

// --- inputs -------------------------------------------------------------------------------------

struct Violation {
  std::string rule;         // "R2"
  std::string explanation;  // one line, from the classification stored with the incident
};

// 2-sigma uncertainty ellipse of an origin, as fusion stores it.
struct Ellipse {
  double semi_major_m = 0, semi_minor_m = 0;
  double major_azimuth_deg = 0;  // clockwise from true north
};

// One incident of the day as the report needs it.
struct IncidentInput {
  std::string id;
  Instant start, end;
  std::string kind;   // to_string(Kind)
  std::string party;  // origin's party, "" when unlocated or outside every control zone
  std::optional<LatLon> origin;
  std::optional<double> distance_to_loc_m;
  std::optional<Ellipse> ellipse;
  std::int64_t reports = 0;  // observations fused
  std::int64_t rounds = 0;
  std::vector<std::string> observers;  // distinct observer ids, sorted
  std::int64_t simulated_reports = 0;  // how many of its observations are simulated
  std::string review_status;           // the analysts' verdict, "" when never reviewed
  std::string review_notes;            // analyst notes (left out of the public report)
  std::vector<Violation> violations;   // as classified when the incident was stored
};

// Incidents of one earlier day, by kind (for the change and the 30-day trend).
struct DayCount {
  std::int64_t day = 0;  // days since 1970-01-01 (UTC)
  std::array<std::int64_t, kKindNames.size()> by_kind{};
};

struct ReportInputs {
  std::int64_t day = 0;                  // the report's UTC day, days since 1970-01-01
  std::vector<IncidentInput> incidents;  // incidents starting on the day
  std::int64_t observations = 0;         // observations timed on the day
  std::int64_t simulated_observations = 0;
  // Earlier days: any of the 30 days before `day`; a missing day counts as none.
  std::vector<DayCount> history;
  std::vector<geo::Zone> zones;                   // the mission's geography for the map
  std::vector<geo::LocLine> loc;                  //   (empty: the map shows incidents only)
  std::optional<geo::Gazetteer> gazetteer;        // none: no place descriptions
  std::vector<Observer> observers;                // the mission's observers (posts on the map)
  std::optional<agreement::Agreement> agreement;  // none: no mandate line, no rule titles
  std::vector<agreement::Crossing> crossings;
  std::vector<agreement::Baseline> baselines;
  std::string mission;  // a title for the report ("" = the agreement's id, else "the mission")
};

struct Options {
  bool public_view = false;
  double public_grid_deg = 0.05;  // as the server's public view (ServerOptions::public_grid_deg)
  std::size_t max_notable = 5;
  std::size_t max_places_on_map = 40;
};

// --- the model ----------------------------------------------------------------------------------

struct Count {
  std::string key;
  std::int64_t n = 0;
};

struct Change {
  std::int64_t previous_day = 0;
  std::int64_t vs_previous_day = 0;           // today - previous day
  std::optional<double> vs_previous_day_pct;  // none when the previous day had none
  double mean_7d = 0;                         // mean of the 7 days before, 0.1 precision
  double vs_mean_7d = 0;                      // today - mean, 0.1 precision
  std::optional<double> vs_mean_7d_pct;       // none when the mean is 0
};

struct RuleCount {
  std::string rule, title;  // title "" when the agreement does not know the rule
  std::int64_t incidents = 0;
};

struct ReportIncident {
  std::string id;
  std::string time;  // "HH:MM" of the start, UTC
  std::string start, end;
  std::string kind, party;                  // party: "" when none
  std::optional<LatLon> origin;             // rounded to the public grid in the public report
  std::optional<Ellipse> ellipse;           // none in the public report
  std::optional<double> distance_to_loc_m;  // whole km in the public report
  std::string place;                        // "4.1 km NW of Martuni" ("" without gazetteer or origin)
  std::string area;                         // the nearest place's name, "unlocated" without origin
  std::int64_t observers = 0, reports = 0, rounds = 0;
  std::vector<std::string> observer_ids;  // empty in the public report
  std::string status;                     // verification status
  std::vector<Violation> violations;
  std::string notes;       // analyst notes; empty in the public report
  bool simulated = false;  // every observation of it is simulated
};

struct Notable {
  std::string id;
  std::vector<std::string> why;  // "most observers", "heaviest weapon", "breaks R2"
  std::string text;              // the sentence
};

struct MapPlace {
  std::string name;
  LatLon pos;
};
struct MapPost {
  std::string id, party, type;
  LatLon pos;
};
struct MapZone {
  std::string id, kind, party;
  std::vector<std::vector<LatLon>> rings;  // simplified to the map's resolution
};
struct MapModel {
  double min_lat = 0, min_lon = 0, max_lat = 0, max_lon = 0;  // the area shown
  std::vector<MapZone> zones;
  std::vector<std::vector<LatLon>> loc;
  std::vector<MapPlace> places;
  std::vector<MapPost> posts;  // empty in the public report
};

struct TrendDay {
  std::string date;
  std::int64_t total = 0;
  std::vector<Count> by_kind;  // kinds with incidents, in kKindNames order
};

struct Humanitarian {
  std::string as_of;
  std::int64_t total_out = 0, total_in = 0;
  std::optional<std::int64_t> day_out, day_in;  // rows covering exactly this day
  std::optional<std::int64_t> baseline_population;
  std::string baseline_area;
  std::optional<double> share_out_pct;  // 0.1 precision
  std::vector<std::string> sources;
};

struct DailyReport {
  std::string date;  // "2023-09-14"
  std::string mission;
  bool is_public = false;
  std::int64_t incidents = 0, located = 0, observations = 0, simulated_observations = 0;
  std::int64_t simulated_incidents = 0;
  std::vector<Count> by_kind;   // by count desc, then name
  std::vector<Count> by_party;  // "unlocated" (no origin), "none" (outside every control zone)
  std::vector<Count> by_area;   // nearest place; "unlocated"
  Change change;
  std::vector<Count> verification;  // reported, corroborated, verified, disputed, rejected (all five)
  std::vector<RuleCount> violations;
  std::int64_t incidents_breaking_rules = 0;
  std::vector<Notable> notable;  // by time
  std::array<std::int64_t, 24> by_hour{};
  std::vector<std::string> trend_kinds;  // kinds present in the trend, in kKindNames order
  std::vector<TrendDay> trend;           // the 30 days ending with the report day
  std::string mandate;                   // status line as of the end of the day; "" without agreement
  std::optional<Humanitarian> humanitarian;
  std::vector<ReportIncident> incident_list;  // by start time then id
  MapModel map;
  std::vector<std::string> credits;  // whom to credit (place names)
};

// Builds the model. Fails only on inputs that contradict themselves (e.g. an unknown kind).
Result<DailyReport> build_daily_report(const ReportInputs& in, const Options& opts = {});

// The renderers. Each is a pure function of the model.
std::string to_json(const DailyReport& r);  // the model, pretty-printed, ends with "\n"
std::string to_markdown(const DailyReport& r);
std::string to_html(const DailyReport& r);  // self-contained: inline CSS and SVG, no requests

// "2023-09-14" -> day number, strict (the CLI's --date); format_day (truce/core/time.h) writes it.
Result<std::int64_t> parse_day(std::string_view text);

// Whether an observation is simulated: its id begins "sim-", its channel is "simulated" or its
// notes carry the word SIMULATED (truce simulate marks every row so).
bool is_simulated(const Observation& o);

}  // namespace truce::report
