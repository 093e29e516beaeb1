// The public view's rules, one set for the public daily report and the API's public routes:
// nothing finer than the mission's public grid.
#pragma once

#include <cmath>
#include <cstdint>

#include "truce/core/decimal.h"
#include "truce/core/observation.h"
#include "truce/core/time.h"

namespace truce::report::public_view {

// A position on the public grid (cells of grid_deg degrees).
inline LatLon on_grid(LatLon p, double grid_deg) {
  return LatLon{round_to_grid(p.lat, grid_deg), round_to_grid(p.lon, grid_deg)};
}

// A distance to the nearest whole kilometre ("about 4 km" for 3,600 m): no finer than the grid,
// and never "0 km" for 600 m.
inline std::int64_t whole_km(double metres) { return std::llround(metres / 1000.0); }

// A time to the minute, rounded down.
inline Instant to_minute(Instant t) { return Instant{floor_div(t.ms, 60'000) * 60'000}; }

}  // namespace truce::report::public_view
