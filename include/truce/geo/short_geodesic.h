// Short geodesics on the WGS84 ellipsoid: what fusion and the simulator compute per report, where
// GeographicLib's general solution would dominate their time. GeographicLib is the tests' oracle.
#pragma once

#include <cmath>

namespace truce::geo {

namespace short_geodesic_detail {
inline constexpr double kRad = 3.14159265358979323846 / 180.0;  // radians per degree
}  // namespace short_geodesic_detail

// Short geodesics on the WGS84 ellipsoid (up to ~50 km, the reach of a report) by Gauss's
// mid-latitude formulas, ~20x cheaper than the general solution. GeographicLib stays the reference:
// fusion_test and sim_test check these against GeographicLib::Geodesic (distance within 3e-5 relative + 1 cm,
// azimuths within 2e-5 rad, to 60 km and 70 degrees of latitude), far below report noise (bearings
// carry degrees, distances tens of percent). Degrees in and out, like GeographicLib.
inline void short_inverse(double lat1, double lon1, double lat2, double lon2, double& s12, double& azi1,
                          double& azi2) {
  using short_geodesic_detail::kRad;
  constexpr double a = 6378137.0, f = 1 / 298.257223563, e2 = f * (2 - f);
  const double phim = 0.5 * (lat1 + lat2) * kRad;
  const double sm = std::sin(phim), cm = std::cos(phim), w = 1 - e2 * sm * sm, rw = std::sqrt(w);
  const double nm = a / rw, mm = a * (1 - e2) / (w * rw);
  double dlon = lon2 - lon1;
  if (dlon > 180) dlon -= 360;
  if (dlon < -180) dlon += 360;
  const double dl = dlon * kRad, dp = (lat2 - lat1) * kRad;
  const double x = nm * cm * dl, y = mm * dp;
  s12 = std::sqrt(x * x + y * y);
  const double am = std::atan2(x, y), half = 0.5 * dl * sm;
  azi1 = (am - half) / kRad;
  azi2 = (am + half) / kRad;
}

// The point at distance s12 (metres) along azimuth azi1 (degrees) from (lat1, lon1), and the
// azimuth there; the inverse of short_inverse to ~1e-9 of the distance.
inline void short_direct(double lat1, double lon1, double azi1, double s12, double& lat2, double& lon2,
                         double& azi2) {
  using short_geodesic_detail::kRad;
  constexpr double a = 6378137.0, f = 1 / 298.257223563, e2 = f * (2 - f);
  const double a1 = azi1 * kRad, p1 = lat1 * kRad;
  double dp = 0, dl = 0;
  for (int it = 0; it < 4; ++it) {
    const double phim = p1 + 0.5 * dp;
    const double sm = std::sin(phim), cm = std::cos(phim), w = 1 - e2 * sm * sm, rw = std::sqrt(w);
    const double nm = a / rw, mm = a * (1 - e2) / (w * rw);
    const double am = a1 + 0.5 * dl * sm;
    dp = s12 * std::cos(am) / mm;
    dl = s12 * std::sin(am) / (nm * cm);
  }
  lat2 = lat1 + dp / kRad;
  lon2 = lon1 + dl / kRad;
  azi2 = azi1 + dl * std::sin(p1 + 0.5 * dp) / kRad;
}

}  // namespace truce::geo
