// Attribution of a points file: every point of a CSV (point_id, lat, lon) to the zones holding it,
// with its geodesic distance to the line of contact and its side of it, written as CSV. The bytes
// written are the same for any number of threads.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "truce/core/status.h"
#include "truce/geo/geography.h"

namespace truce::pipeline {

struct AttributeOptions {
  unsigned threads = 0;  // parts the file is read in, one thread each; 0 = all cores
  // Called with the first `max_problems` bad rows, in file order, before attribute_points returns.
  std::function<void(const Status&)> problem;
  std::int64_t max_problems = 20;
};

struct AttributeSummary {
  // Not OK when the file is not a points CSV (empty, or no point_id, lat or lon in its header):
  // then nothing was read further and nothing was written.
  Status refused;
  std::size_t points = 0;     // attributed and written
  std::int64_t bad_rows = 0;  // skipped
  unsigned threads = 1;       // parts the file was read in (1 for a file under 1 MiB)
  double read_attribute_s = 0, write_s = 0;
};

// The header of the output CSV.
inline constexpr std::string_view kAttributionHeader = "point_id,party,distance_to_loc_m,side,zones\n";

// Reads the points CSV `input` (at most 512 MiB) and writes its attribution to `output` ("-" =
// stdout; a file is created only once the input is read): point_id,party,distance_to_loc_m,side,
// zones, in input order. Bad rows are skipped and counted. An error is a failure to read or write.
Result<AttributeSummary> attribute_points(const geo::Geography& geography, const std::string& input,
                                          const std::string& output, const AttributeOptions& options = {});

}  // namespace truce::pipeline
