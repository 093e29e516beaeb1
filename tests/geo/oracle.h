// Test oracles built straight on the libraries: GeographicLib for geodesics, GEOS for polygons.
#pragma once

#include <GeographicLib/Geodesic.hpp>
#include <GeographicLib/GeodesicLine.hpp>
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "truce/geo/geography.h"

namespace truce::geo::oracle {

// Distance from p to the geodesic a-b: golden-section search along the geodesic (GeodesicLine)
// of GeographicLib's Inverse distance to p. The distance is unimodal along a short segment.
inline double oracle_segment(const LatLon& a, const LatLon& b, const LatLon& p) {
  const auto& g = GeographicLib::Geodesic::WGS84();
  double s12, azi1, azi2;
  g.Inverse(a.lat, a.lon, b.lat, b.lon, s12, azi1, azi2);
  const GeographicLib::GeodesicLine line(g, a.lat, a.lon, azi1);
  auto f = [&](double s) {
    double lat, lon, d;
    line.Position(s, lat, lon);
    g.Inverse(p.lat, p.lon, lat, lon, d);
    return d;
  };
  double lo = 0, hi = s12;
  const double r = (std::sqrt(5.0) - 1) / 2;
  double x1 = hi - r * (hi - lo), x2 = lo + r * (hi - lo), f1 = f(x1), f2 = f(x2);
  for (int i = 0; i < 100 && hi - lo > 1e-7; ++i) {
    if (f1 < f2) {
      hi = x2, x2 = x1, f2 = f1, x1 = hi - r * (hi - lo), f1 = f(x1);
    } else {
      lo = x1, x1 = x2, f1 = f2, x2 = lo + r * (hi - lo), f2 = f(x2);
    }
  }
  return std::min({f(0), f(s12), f1, f2});
}

// Brute force over the whole LoC: Inverse to every vertex, then the exact search on every segment
// that can hold a nearer point (an endpoint within the nearest vertex distance + segment length).
inline double oracle_distance(const std::vector<LocLine>& loc, const LatLon& p) {
  const auto& g = GeographicLib::Geodesic::WGS84();
  double dv = std::numeric_limits<double>::infinity();
  std::vector<std::vector<double>> d(loc.size());
  for (std::size_t l = 0; l < loc.size(); ++l) {
    for (const auto& v : loc[l].vertices) {
      double s;
      g.Inverse(p.lat, p.lon, v.lat, v.lon, s);
      d[l].push_back(s);
      dv = std::min(dv, s);
    }
  }
  double best = dv;
  for (std::size_t l = 0; l < loc.size(); ++l) {
    const auto& v = loc[l].vertices;
    for (std::size_t i = 0; i + 1 < v.size(); ++i) {
      double len;
      g.Inverse(v[i].lat, v[i].lon, v[i + 1].lat, v[i + 1].lon, len);
      if (std::min(d[l][i], d[l][i + 1]) > dv + len) continue;
      best = std::min(best, oracle_segment(v[i], v[i + 1], p));
    }
  }
  return best;
}

}  // namespace truce::geo::oracle
