// Nearest-place descriptions for thousands of incidents. Gazetteer::describe looks at every place
// for each point; a busy day asks it ~10,000 times. PlaceFinder keeps a grid of the populated
// places, narrows each look-up to the places that can be nearest (describe's own pre-selection:
// within 5 % of the nearest equirectangular estimate) and lets describe() decide among them, so
// the place chosen and the text are exactly describe()'s. Private to src/report.
#pragma once

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "truce/geo/gazetteer.h"

namespace truce::report::detail {

struct PlaceHit {
  std::string text;  // "4.1 km NW of Martuni"
  std::string name;  // "Martuni"
  double distance_m = 0, azimuth_deg = 0;
};

class PlaceFinder {
 public:
  explicit PlaceFinder(const geo::Gazetteer& g) : g_(g) {
    for (std::size_t i = 0; i < g.places().size(); ++i) {
      const auto& p = g.places()[i];
      if (!suitable(p)) continue;
      const auto c = cell(p.pos);
      cells_[key(c.first, c.second)].push_back(i);
      lo_x_ = std::min(lo_x_, c.first), hi_x_ = std::max(hi_x_, c.first);
      lo_y_ = std::min(lo_y_, c.second), hi_y_ = std::max(hi_y_, c.second);
    }
  }

  std::optional<PlaceHit> describe(LatLon q) const {
    if (cells_.empty()) return std::nullopt;
    constexpr double kDeg = 3.14159265358979323846 / 180;
    const double cl = std::cos(q.lat * kDeg);
    const auto [qx, qy] = cell(q);
    // Wider than the grid in every direction: beyond this ring there is nothing.
    const std::int64_t max_ring =
        std::max({qx - lo_x_, hi_x_ - qx, qy - lo_y_, hi_y_ - qy, std::int64_t{0}}) + 1;
    if (std::abs(q.lon) > 170 || max_ring > 4000) return full(q);  // the antimeridian, or a sparse world
    double best = std::numeric_limits<double>::infinity();
    std::vector<std::pair<double, std::size_t>> seen;
    for (std::int64_t r = 0; r <= max_ring; ++r) {
      const double ring_min =
          static_cast<double>(std::max<std::int64_t>(r - 1, 0)) * kCell * std::min(1.0, cl);
      if (ring_min > best * 1.05 + 0.01) break;
      for (std::int64_t x = qx - r; x <= qx + r; ++x) {
        for (std::int64_t y = qy - r; y <= qy + r; ++y) {
          if (std::max(std::abs(x - qx), std::abs(y - qy)) != r) continue;
          auto it = cells_.find(key(x, y));
          if (it == cells_.end()) continue;
          for (auto i : it->second) {
            const auto& p = g_.places()[i];
            // describe()'s estimate, term for term.
            double dl = std::fabs(p.pos.lon - q.lon);
            if (dl > 180) dl = 360 - dl;
            const double dx = dl * std::max(cl, std::cos(p.pos.lat * kDeg)), dy = p.pos.lat - q.lat;
            const double a = std::sqrt(dx * dx + dy * dy);
            best = std::min(best, a);
            seen.emplace_back(a, i);
          }
        }
      }
    }
    const double limit = best * 1.05 + 0.01;
    std::vector<std::size_t> keep;
    for (const auto& [a, i] : seen)
      if (a <= limit) keep.push_back(i);
    std::sort(keep.begin(), keep.end());  // the gazetteer's order: ties fall as in describe()
    geo::Gazetteer few;
    for (auto i : keep) few.add(g_.places()[i]);
    return hit(few.describe(q));
  }

  // describe() over the whole gazetteer (the reference the grid must agree with).
  std::optional<PlaceHit> full(LatLon q) const { return hit(g_.describe(q)); }

 private:
  static constexpr double kCell = 0.1;  // degrees

  // As Gazetteer::describe: populated places that are not abandoned, historical or sections.
  static bool suitable(const geo::Place& p) {
    const auto& c = p.feature_code;
    if (c.find('.') != std::string::npos) return false;
    return c != "PPLX" && c != "PPLQ" && c != "PPLH" && c != "PPLW";
  }
  static std::pair<std::int64_t, std::int64_t> cell(LatLon p) {
    return {static_cast<std::int64_t>(std::floor(p.lon / kCell)),
            static_cast<std::int64_t>(std::floor(p.lat / kCell))};
  }
  static std::int64_t key(std::int64_t x, std::int64_t y) { return x * 1'000'003 + y; }
  static std::optional<PlaceHit> hit(const std::optional<geo::Description>& d) {
    if (!d || !d->place) return std::nullopt;
    return PlaceHit{d->text, d->place->name, d->distance_m, d->azimuth_deg};
  }

  const geo::Gazetteer& g_;
  std::unordered_map<std::int64_t, std::vector<std::size_t>> cells_;
  std::int64_t lo_x_ = INT64_MAX, hi_x_ = INT64_MIN, lo_y_ = INT64_MAX, hi_y_ = INT64_MIN;
};

}  // namespace truce::report::detail
