// Private to fusion: the measurement model of one report and the planar least-squares fit that
// correlation uses to price a merge. locate.cpp refines the planar fit on the ellipsoid.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <span>
#include <vector>

#include "truce/fusion/fusion.h"
#include "truce/geo/short_geodesic.h"

namespace truce::fusion::detail {

inline constexpr double kPi = 3.14159265358979323846;
inline constexpr double kDeg = kPi / 180.0;

// Local east/north plane around (lat0, lon0) with the WGS84 radii of curvature there. Accurate to
// ~1e-4 of the distance within 20 km, far below report noise; locate() removes even that.
struct Plane {
  double lat0 = 0, lon0 = 0, kx = 1, ky = 1;  // metres per degree of longitude / latitude
  static Plane at(double lat0, double lon0);
  void to_xy(double lat, double lon, double& x, double& y) const {
    x = (lon - lon0) * kx;
    y = (lat - lat0) * ky;
  }
  void to_ll(double x, double y, double& lat, double& lon) const {
    lat = lat0 + y / ky;
    lon = lon0 + x / kx;
  }
};

// An angle (radians) wrapped to [-pi, pi): fmod(a + pi, 2 pi) - pi, without fmod when a + pi lies in
// [0, 4 pi) (bearings and bearing residuals): there the subtraction of 2 pi is exact (Sterbenz), so
// the result is the same double.
inline double wrap_pi(double a) {
  const double x = a + kPi;
  if (x >= 0 && x < 2 * kPi) return x - kPi;
  if (x >= 2 * kPi && x < 4 * kPi) return (x - 2 * kPi) - kPi;
  double r = std::fmod(x, 2 * kPi);
  if (r < 0) r += 2 * kPi;
  return r - kPi;
}

// Short geodesics (Gauss's mid-latitude formulas; truce/geo/short_geodesic.h).
using geo::short_direct;
using geo::short_inverse;

// One report's measurement model, precomputed.
struct Meas {
  std::uint32_t index = 0;  // Report::index
  std::uint32_t observer = 0;
  std::int64_t t = 0;
  bool on_minute = false;
  bool located = false;  // has a position and at least a bearing
  double lat = 0, lon = 0;
  bool has_b = false, has_d = false;
  double b = 0, sb = 1;   // bearing and effective sigma (radians)
  double wb = 1, wd = 1;  // weights 1 / sb^2 and 1 / sl^2 (set by make_meas)
  double sin_b = 0, cos_b = 1;
  double ln_d = 0, sl = 1;         // log distance and its sigma
  double d = 0;                    // distance used for a projected point (stated, else a nominal one)
  double plat = 0, plon = 0;       // projected point (observer + bearing x distance)
  double pkx = 1, pky = 1;         // the local plane there (Plane::at(plat, plon)): metres per degree
  double ce = 0, cn = 0, cen = 0;  // its covariance in east/north (m^2), linearised
  double pre_lo = 0, pre_hi = 0;   // event-time interval for the stated distance +-2.5 sigma (pre-gate)
  std::uint8_t kind = 0;
  std::int32_t count = 1;  // stated rounds
  double ln_count = 0, var_count = 0;
};

Meas make_meas(const Report& r, const Config& cfg);

// locate() of the reports these measurements were made from (make_meas), without remaking them.
// `start`, when given, is the group's planar fit (correlation's, converged): with a distance among
// the reports, location refines it on the ellipsoid instead of fitting the plane again.
Incident locate(std::span<const Meas> group, const Config& cfg, const LatLon* start = nullptr);

// Planar least-squares origin of a group of measurements.
struct Fit {
  double lat = 0, lon = 0;
  double chi2 = 0;
  double h[3] = {0, 0, 0};  // information matrix (ee, nn, en) in 1/m^2
  bool point = false;       // a usable point (false: no bearing geometry at all)
  double kx = 0, ky = 0;    // Plane::at(lat, lon) when already computed (0: not known)
};
// `start` is the initial guess (lat, lon); members are indices into `m`.
Fit fit_planar(std::span<const Meas> m, std::span<const std::uint32_t> members, double start_lat,
               double start_lon, const Config& cfg);

// The fit of one located report alone: its projected point, which it fits exactly (chi2 0), with
// the information of its bearing (and distance) there, in closed form. Equal to fit_planar() over
// the report started at that point, up to the plane's distortion (~1e-4 of the range).
Fit single_fit(const Meas& r);

// Time interval [lo, hi] (seconds) in which the event lies, given the measurement and the range
// [r_lo, r_hi] from the observer to the origin.
inline void event_interval(const Meas& m, double r_lo, double r_hi, const Config& cfg, double& lo,
                           double& hi) {
  const double tl = r_lo / cfg.sound_speed_m_s, th = r_hi / cfg.sound_speed_m_s;
  lo = static_cast<double>(m.t) - std::min(cfg.delay_cap_s, th + cfg.reaction_max_s) - cfg.time_slack_s;
  hi = static_cast<double>(m.t) - std::min(cfg.delay_cap_s, tl) + 1.0 +
       (m.on_minute ? cfg.minute_rounding_s : 0.0) + cfg.time_slack_s;
}

// atan2 to ~1e-7 rad, several times faster than libm's (bearing noise is degrees).
inline double fast_atan2(double y, double x) {
  const double ax = std::abs(x), ay = std::abs(y);
  const double mx = std::max(ax, ay), mn = std::min(ax, ay);
  if (mx == 0) return 0;
  const double z = mn / mx, z2 = z * z;
  double r =
      z * (0.99997726 + z2 * (-0.33262347 +
                              z2 * (0.19354346 + z2 * (-0.11643287 + z2 * (0.05265332 + z2 * -0.01172120)))));
  if (ay > ax) r = kPi / 2 - r;
  if (x < 0) r = kPi - r;
  return y < 0 ? -r : r;
}

// Natural log of a positive normal double to ~1e-9 (argument reduction to [sqrt(1/2), sqrt(2)]).
inline double fast_log(double x) {
  auto bits = std::bit_cast<std::uint64_t>(x);
  int e = static_cast<int>((bits >> 52) & 0x7ff) - 1023;
  bits = (bits & 0xfffffffffffffULL) | 0x3ff0000000000000ULL;
  double m = std::bit_cast<double>(bits);
  if (m > 1.4142135623730951) m *= 0.5, ++e;
  const double t = (m - 1) / (m + 1), t2 = t * t;
  const double lnm =
      2 * t * (1 + t2 * (1.0 / 3 + t2 * (1.0 / 5 + t2 * (1.0 / 7 + t2 * (1.0 / 9 + t2 / 11)))));
  return lnm + e * 0.6931471805599453;
}

// Bitmask of kinds that may be reported for an event of kind k (k and its neighbours).
std::uint32_t neighbour_mask(std::uint8_t k);
// True when some true kind explains every kind in the mask.
bool kinds_explainable(std::uint32_t mask);
// The kind that explains the most reports (ties: the lower kind).
Kind best_kind(std::span<const Meas> m, std::span<const std::uint32_t> members);

}  // namespace truce::fusion::detail
