// Humanitarian movement: people and vehicles through checkpoints and corridors, by day and
// direction, and departures against a baseline population (DESIGN.md "crossing", "displacement").
//
// Figures are as reported by their source; a row may cover a single day or a period reported only
// as a total ("2023-09-19/2023-10-01"), which truce never splits into invented daily numbers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "truce/core/status.h"
#include "truce/core/time.h"

namespace truce::agreement {

// "YYYY-MM-DD" -> days since 1970-01-01 (written back by format_day, truce/core/time.h).
Result<std::int64_t> parse_date(std::string_view text);

enum class Direction : std::uint8_t { kOut, kIn };  // out: leaving the area of the baseline

struct Crossing {
  std::int64_t first_day = 0, last_day = 0;  // inclusive; equal for a daily figure
  std::string checkpoint;
  Direction direction = Direction::kOut;
  std::int64_t people = 0;
  std::optional<std::int64_t> vehicles;
  std::string source;
};

struct Baseline {
  std::string area;
  std::int64_t population = 0;
  std::int64_t as_of = 0;  // day
  std::string source;
};

// CSV readers (io::RecordReader underneath; columns by name). Crossings: date, checkpoint,
// direction (out|in), people, vehicles (may be empty), source. Baselines: area, population, date,
// source. A file with any bad row is refused as a whole; errors ("file:line: field 'people': ...")
// list every bad row up to `max_errors`.
struct ReadErrors {
  std::vector<Status> errors;
  std::int64_t more = 0;
};
Result<std::vector<Crossing>> read_crossings_csv(const std::string& path, ReadErrors& errors,
                                                 std::size_t max_errors = 20);
Result<std::vector<Baseline>> read_baselines_csv(const std::string& path, ReadErrors& errors,
                                                 std::size_t max_errors = 20);

// The stored documents ("crossings", "population_baselines"): JSON arrays.
std::string crossings_to_json(const std::vector<Crossing>& rows);
Result<std::vector<Crossing>> crossings_from_json(std::string_view json);
std::string baselines_to_json(const std::vector<Baseline>& rows);
Result<std::vector<Baseline>> baselines_from_json(std::string_view json);

// Merges new rows into stored ones: a row with the same (dates, checkpoint, direction) replaces
// the stored one. Counts say what happened.
struct MergeCounts {
  std::int64_t added = 0, replaced = 0, unchanged = 0;
};
MergeCounts merge_crossings(std::vector<Crossing>& stored, const std::vector<Crossing>& incoming);
MergeCounts merge_baselines(std::vector<Baseline>& stored, const std::vector<Baseline>& incoming);

struct MovementDay {
  std::int64_t first_day = 0, last_day = 0;  // one day, or a reported period
  std::int64_t out_people = 0, in_people = 0;
  std::int64_t out_vehicles = 0, in_vehicles = 0;
  bool vehicles_known = false;
  std::int64_t cumulative_out = 0, cumulative_in = 0;
};

struct MovementSummary {
  std::int64_t at = 0;            // day (inclusive)
  std::vector<MovementDay> days;  // rows ending on or before `at`, by last day then first day
  std::int64_t total_out = 0, total_in = 0;
  std::optional<Baseline>
      baseline;  // the latest baseline dated on or before the first movement (else the earliest)
  std::optional<double> share_out;   // total_out / baseline population
  std::vector<std::string> sources;  // distinct sources of the rows and the baseline, in order seen
};
MovementSummary summarize(const std::vector<Crossing>& rows, const std::vector<Baseline>& baselines,
                          std::int64_t at);

std::string summary_text(const MovementSummary& s);
std::string summary_json(const MovementSummary& s);

}  // namespace truce::agreement
