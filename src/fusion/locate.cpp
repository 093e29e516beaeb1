// Location: the origin of one incident from all its bearings and distances.
//
// Weighted least squares over bearing residuals (sigma: stated, plus the unstated compass bias in
// quadrature) and log-distance residuals (distance errors are multiplicative). Started from a
// planar fit, then refined on the WGS84 ellipsoid (the short geodesics of model.h, which
// fusion_test holds to GeographicLib): each step solves in the east/north plane at the current
// point, using geodesic derivatives (d s12 = cos(phi - azi2), d azi1 = sin(phi - azi2) / m12), and
// moves the point along a geodesic.
#include <algorithm>
#include <cmath>
#include <span>
#include <vector>

#include "fusion/model.h"

namespace truce::fusion {

using detail::kDeg;
using detail::Meas;

namespace {

struct GeoEval {
  double chi2 = 0;
  double h[3] = {0, 0, 0};
  double g[2] = {0, 0};
  double range_sum = 0;
  int n_b = 0, n_d = 0;
  std::vector<double> s12, ue,
      un;  // per measurement: range, and the sine and cosine of the azimuth at the point
};

// Resets e, keeping its buffers.
void clear(GeoEval& e) {
  e.chi2 = 0;
  e.h[0] = e.h[1] = e.h[2] = 0;
  e.g[0] = e.g[1] = 0;
  e.range_sum = 0;
  e.n_b = e.n_d = 0;
  e.s12.clear();
  e.ue.clear();
  e.un.clear();
}

void geo_evaluate(std::span<const Meas> m, double lat, double lon, GeoEval& e) {
  clear(e);
  for (const Meas& r : m) {
    double s12 = 0, azi1 = 0, azi2 = 0;
    detail::short_inverse(r.lat, r.lon, lat, lon, s12, azi1, azi2);
    s12 = std::max(1.0, s12);
    const double m12 = s12;  // the reduced length, to (s12 / earth radius)^2 / 6 < 1e-5 within 50 km
    e.range_sum += s12;
    e.s12.push_back(s12);
    const double ue = std::sin(azi2 * kDeg),
                 un = std::cos(azi2 * kDeg);  // along the line of sight, at the point
    e.ue.push_back(ue);
    e.un.push_back(un);
    if (r.has_b) {
      const double res = detail::wrap_pi(r.b - azi1 * kDeg);
      const double w = r.wb;
      const double je = un / m12,
                   jn = -ue / m12;  // moving to the right of the line of sight turns azi1 clockwise
      e.chi2 += res * res * w;
      e.h[0] += je * je * w, e.h[1] += jn * jn * w, e.h[2] += je * jn * w;
      e.g[0] += je * w * res, e.g[1] += jn * w * res;
      ++e.n_b;
    }
    if (r.has_d) {
      const double res = r.ln_d - std::log(s12);
      const double w = r.wd;
      const double je = ue / s12, jn = un / s12;
      e.chi2 += res * res * w;
      e.h[0] += je * je * w, e.h[1] += jn * jn * w, e.h[2] += je * jn * w;
      e.g[0] += je * w * res, e.g[1] += jn * w * res;
      ++e.n_d;
    }
  }
}

// 2-sigma ellipse of the covariance inverse to h (ee, nn, en), scaled by `k`.
std::optional<Ellipse> ellipse_of(const double h[3], double k) {
  const double det = h[0] * h[1] - h[2] * h[2];
  if (!(det > 0)) return std::nullopt;
  const double cee = h[1] / det, cnn = h[0] / det, cen = -h[2] / det;
  const double tr = cee + cnn, diff = cee - cnn;
  const double disc = std::sqrt(std::max(0.0, diff * diff / 4 + cen * cen));
  const double l1 = tr / 2 + disc, l2 = std::max(0.0, tr / 2 - disc);
  Ellipse e;
  e.semi_major_m = 2 * k * std::sqrt(l1);
  e.semi_minor_m = 2 * k * std::sqrt(l2);
  // Major axis direction (east, north) = (cen, l1 - cee) or (l1 - cnn, cen).
  double ve = l1 - cnn, vn = cen;
  if (std::abs(ve) + std::abs(vn) < 1e-12 * (std::abs(l1) + 1e-300)) ve = cen, vn = l1 - cee;
  if (std::abs(ve) + std::abs(vn) == 0) ve = 0, vn = 1;
  double az = std::atan2(ve, vn) / kDeg;
  az = std::fmod(az + 360.0, 180.0);
  e.major_azimuth_deg = az;
  return e;
}

}  // namespace

Incident locate(std::span<const Report> group, const Config& cfg) {
  std::vector<Meas> m;
  m.reserve(group.size());
  for (const Report& r : group) m.push_back(detail::make_meas(r, cfg));
  return detail::locate(m, cfg);
}

Incident detail::locate(std::span<const Meas> m, const Config& cfg, const LatLon* start) {
  Incident inc;
  // Per-thread scratch, reused from one incident to the next.
  thread_local std::vector<std::int32_t> counts;
  thread_local std::vector<std::uint32_t> all, loc;
  thread_local std::vector<Meas> lm_copy;
  thread_local GeoEval e;
  counts.clear();
  inc.members.reserve(m.size());
  for (const Meas& r : m) {
    inc.members.push_back(r.index);
    counts.push_back(r.count);
  }
  std::sort(inc.members.begin(), inc.members.end());
  inc.observers = static_cast<int>(m.size());
  std::sort(counts.begin(), counts.end());
  inc.rounds = counts.empty() ? 0 : counts[counts.size() / 2];
  // all: 0, 1, 2, ... (at least m.size() of them)
  for (auto i = static_cast<std::uint32_t>(all.size()); i < m.size(); ++i) all.push_back(i);
  inc.kind = detail::best_kind(m, std::span<const std::uint32_t>(all).first(m.size()));

  // Members that constrain the origin.
  int n_b = 0, n_d = 0;
  double slat = 0, slon = 0, sw = 0;
  loc.clear();
  for (std::uint32_t i = 0; i < m.size(); ++i) {
    if (!m[i].located) continue;
    loc.push_back(i);
    n_b += m[i].has_b, n_d += m[i].has_d;
    const double w = 1.0 / std::max(1.0, m[i].ce + m[i].cn);
    slat += w * m[i].plat, slon += w * m[i].plon, sw += w;
  }

  bool have_point = false;
  double lat = 0, lon = 0;
  double h[3] = {0, 0, 0};
  std::span<const Meas> lm = m;
  if (loc.size() != m.size()) {
    lm_copy.clear();
    for (auto i : loc) lm_copy.push_back(m[i]);
    lm = lm_copy;
  }
  clear(e);
  if (lm.size() == 1 && lm[0].has_d) {
    // One report with a distance: its own projected point, exactly; the ellipse is long along the bearing.
    const Meas& r = lm[0];
    double azi2 = 0;
    detail::short_direct(r.lat, r.lon, r.b / kDeg, r.d, lat, lon, azi2);
    const double ue = std::sin(azi2 * kDeg), un = std::cos(azi2 * kDeg);
    const double wa = 1.0 / (r.d * r.sl * r.d * r.sl), wc = 1.0 / (r.d * r.sb * r.d * r.sb);
    h[0] = ue * ue * wa + un * un * wc;
    h[1] = un * un * wa + ue * ue * wc;
    h[2] = ue * un * (wa - wc);
    e.n_b = 1, e.n_d = 1;
    e.range_sum = r.d;
    e.s12 = {r.d};
    e.ue = {ue};
    e.un = {un};
  } else if (!lm.empty() && (n_d > 0 || n_b >= 2)) {
    if (start && n_d > 0 && lm.size() == m.size()) {
      lat = start->lat, lon = start->lon;
    } else {
      const detail::Fit f = detail::fit_planar(lm, std::span<const std::uint32_t>(all).first(lm.size()),
                                               slat / sw, slon / sw, cfg);
      lat = f.lat, lon = f.lon;
    }
    geo_evaluate(lm, lat, lon, e);
    // The planar fit is within metres of the solution (its only error is the plane's distortion),
    // so one Gauss-Newton step with exact geodesic residuals and derivatives finishes the job.
    // A step that would not improve the fit (degenerate geometry) is not taken.
    {
      const double tr = e.h[0] + e.h[1];
      const double lam = 1e-9 * tr + 1e-14;
      const double a = e.h[0] + lam, b = e.h[2], d = e.h[1] + lam;
      const double det = a * d - b * b;
      if (det > 0) {
        const double se = (d * e.g[0] - b * e.g[1]) / det, sn = (a * e.g[1] - b * e.g[0]) / det;
        const double len = std::sqrt(se * se + sn * sn);
        if (len > 0.05 && len < 2000.0) {
          double azi2 = 0;
          detail::short_direct(lat, lon, std::atan2(se, sn) / kDeg, len, lat, lon, azi2);
          e.chi2 = std::max(0.0, e.chi2 - (e.g[0] * se + e.g[1] * sn));  // the quadratic model's decrease
        }
      }
    }
    h[0] = e.h[0], h[1] = e.h[1], h[2] = e.h[2];
  }
  if (!e.s12.empty()) {
    inc.chi2 = e.chi2;
    const int dof = e.n_b + e.n_d - 2;
    const double k = dof > 0 ? std::sqrt(std::max(1.0, e.chi2 / dof)) : 1.0;
    inc.ellipse = ellipse_of(h, k);
    have_point = inc.ellipse.has_value() && std::isfinite(lat) && std::isfinite(lon);
    // Bearings alone that barely cross (near-parallel) do not make a point.
    if (have_point && n_d == 0) {
      const double mean_range = e.range_sum / static_cast<double>(std::max<std::size_t>(1, lm.size()));
      if (inc.ellipse->semi_major_m > cfg.max_bearing_only_axis_ratio * mean_range) have_point = false;
    }
    if (have_point) {
      inc.origin = LatLon{lat, lon};
    } else {
      inc.ellipse.reset();
    }
  }
  if (!have_point) {
    // A sector from the sharpest bearing.
    const Meas* best = nullptr;
    for (auto i : loc) {
      if (m[i].has_b && (!best || m[i].sb < best->sb)) best = &m[i];
    }
    if (best) {
      Sector s;
      s.apex = LatLon{best->lat, best->lon};
      s.azimuth_deg = std::fmod(best->b / kDeg + 360.0, 360.0);
      s.half_width_deg = std::min(180.0, 2 * best->sb / kDeg);
      inc.sector = s;
    }
  }

  // Event time: intersection of every report's interval at the origin's range (else its stated one).
  double lo = -1e300, hi = 1e300;
  double cee = 0, cnn = 0, cen = 0;
  const double det = h[0] * h[1] - h[2] * h[2];
  if (have_point && det > 0) cee = h[1] / det, cnn = h[0] / det, cen = -h[2] / det;
  std::size_t li = 0;
  for (std::uint32_t i = 0; i < m.size(); ++i) {
    const Meas& r = m[i];
    const bool in_fit = li < loc.size() && loc[li] == i;
    double rlo = 0, rhi = 30000.0;
    if (have_point && in_fit) {
      const double s12 = e.s12[li], ue = e.ue[li], un = e.un[li];
      const double sr = std::sqrt(std::max(0.0, ue * ue * cee + un * un * cnn + 2 * ue * un * cen));
      rlo = std::max(0.0, s12 - 2 * sr), rhi = s12 + 2 * sr;
    } else if (r.has_d) {
      const double k = std::exp(2 * r.sl);
      rlo = r.d / k, rhi = r.d * k;
    }
    if (in_fit) ++li;
    double a = 0, b = 0;
    detail::event_interval(r, rlo, rhi, cfg, a, b);
    lo = std::max(lo, a), hi = std::min(hi, b);
  }
  if (m.empty()) {
    lo = hi = 0;
  } else if (hi < lo) {
    const double mid = (lo + hi) / 2;
    lo = hi = mid;
  }
  inc.start_s = static_cast<std::int64_t>(std::floor(lo));
  inc.end_s = static_cast<std::int64_t>(std::ceil(hi));
  return inc;
}

}  // namespace truce::fusion
