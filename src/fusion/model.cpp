#include "fusion/model.h"

#include <algorithm>
#include <array>
#include <bit>
#include <limits>

namespace truce::fusion {

namespace {
// Kind ladder of core/observation.h: small_arms(0)-heavy_mg(1)-mortar(2)-explosion(3)-artillery(4)-mlrs(5),
// and drone(6)-explosion(3). movement(7) and other(8) neighbour only themselves.
constexpr std::array<std::uint32_t, 9> kNeighbourMask = {
    0b000000011u,  // small_arms: itself, heavy_mg
    0b000000111u,  // heavy_mg: small_arms, itself, mortar
    0b000001110u,  // mortar: heavy_mg, itself, explosion
    0b001011100u,  // explosion: mortar, itself, artillery, drone
    0b000111000u,  // artillery: explosion, itself, mlrs
    0b000110000u,  // mlrs: artillery, itself
    0b001001000u,  // drone: explosion, itself
    0b010000000u,  // movement
    0b100000000u,  // other
};

}  // namespace

bool kinds_neighbour(Kind a, Kind b) {
  const auto ia = static_cast<std::size_t>(a), ib = static_cast<std::size_t>(b);
  if (ia >= kNeighbourMask.size() || ib >= kNeighbourMask.size()) return false;
  return (kNeighbourMask[ia] >> ib) & 1u;
}

Report make_report(const Observation& o, std::uint32_t index, std::uint32_t observer,
                   std::optional<LatLon> position, const Config& cfg) {
  Report r;
  r.index = index;
  r.observer = observer;
  // Floor division: times before 1970 stay consistent.
  r.time_s = o.time.ms >= 0 ? o.time.ms / 1000 : -((-o.time.ms + 999) / 1000);
  r.time_on_minute = (o.time.ms % 60000) == 0;
  if (position && std::isfinite(position->lat) && std::isfinite(position->lon)) {
    r.has_position = true;
    r.lat = position->lat;
    r.lon = position->lon;
  }
  r.kind = o.kind;
  if (o.bearing_deg && std::isfinite(*o.bearing_deg)) {
    r.has_bearing = true;
    r.bearing_deg = *o.bearing_deg;
    r.bearing_sigma_deg =
        (o.bearing_sigma_deg && *o.bearing_sigma_deg > 0 && std::isfinite(*o.bearing_sigma_deg))
            ? *o.bearing_sigma_deg
            : cfg.default_bearing_sigma_deg;
  }
  if (o.distance_m && std::isfinite(*o.distance_m) && *o.distance_m > 0) {
    r.has_distance = true;
    r.distance_m = *o.distance_m;
    r.distance_sigma_m = (o.distance_sigma_m && *o.distance_sigma_m > 0 && std::isfinite(*o.distance_sigma_m))
                             ? *o.distance_sigma_m
                             : *o.distance_m * cfg.default_distance_rel_sigma;
  }
  r.count = std::max<std::int32_t>(1, o.count);
  return r;
}

namespace detail {

Plane Plane::at(double lat0, double lon0) {
  constexpr double a = 6378137.0, f = 1 / 298.257223563, e2 = f * (2 - f);
  const double s = std::sin(lat0 * kDeg), w = 1 - e2 * s * s;
  const double n = a / std::sqrt(w), m = a * (1 - e2) / (w * std::sqrt(w));
  Plane p;
  p.lat0 = lat0;
  p.lon0 = lon0;
  p.kx = n * std::cos(lat0 * kDeg) * kDeg;
  p.ky = m * kDeg;
  return p;
}

std::uint32_t neighbour_mask(std::uint8_t k) { return k < kNeighbourMask.size() ? kNeighbourMask[k] : 0u; }

namespace {
// kinds_explainable() of every mask of the nine kinds, computed once (correlation asks it for every
// candidate merge).
constexpr std::array<bool, 512> kExplainable = [] {
  std::array<bool, 512> t{};
  for (std::uint32_t mask = 0; mask < t.size(); ++mask) {
    for (std::uint32_t nm : kNeighbourMask) {
      if ((mask & ~nm) == 0) t[mask] = true;
    }
  }
  return t;
}();
}  // namespace

bool kinds_explainable(std::uint32_t mask) { return mask < kExplainable.size() && kExplainable[mask]; }

Kind best_kind(std::span<const Meas> m, std::span<const std::uint32_t> members) {
  std::array<int, 9> votes{};
  std::uint32_t mask = 0;
  for (auto i : members) {
    ++votes[m[i].kind];
    mask |= 1u << m[i].kind;
  }
  // The true kind explains all reports (neighbours confused); among those, the most reported.
  int best = -1, best_votes = -1;
  for (int k = 0; k < 9; ++k) {
    if ((mask & ~kNeighbourMask[static_cast<std::size_t>(k)]) != 0) continue;
    const int v = votes[static_cast<std::size_t>(k)] * 2 + 1;  // own reports count more than neighbours'
    if (v > best_votes) best = k, best_votes = v;
  }
  if (best < 0) best = static_cast<int>(std::max_element(votes.begin(), votes.end()) - votes.begin());
  return static_cast<Kind>(best);
}

Meas make_meas(const Report& r, const Config& cfg) {
  Meas m;
  m.index = r.index;
  m.observer = r.observer;
  m.t = r.time_s;
  m.on_minute = r.time_on_minute;
  m.lat = r.lat;
  m.lon = r.lon;
  m.kind = static_cast<std::uint8_t>(r.kind);
  m.has_b = r.has_bearing && r.has_position;
  m.has_d = r.has_distance && r.has_position;
  m.located = m.has_b;
  if (m.has_b) {
    const double sd = std::max(0.05, r.bearing_sigma_deg);
    m.b = wrap_pi(r.bearing_deg * kDeg);
    m.sin_b = std::sin(m.b);
    m.cos_b = std::cos(m.b);
    m.sb = std::sqrt(sd * sd + cfg.bearing_bias_deg * cfg.bearing_bias_deg) * kDeg;
  }
  if (m.has_d) {
    m.d = std::max(cfg.min_distance_m, r.distance_m);
    // Stated relative sigma plus the rounding of the estimate (to 50 m below 1 km, else 100 m).
    const double rel = std::max(0.02, r.distance_sigma_m / m.d);
    const double step = m.d < 1000 ? 50.0 : 100.0;
    const double rnd = step / std::sqrt(12.0) / m.d;
    m.sl = std::sqrt(rel * rel + rnd * rnd);
    m.ln_d = std::log(m.d);
  } else {
    m.d = 3000.0;  // a nominal range, only for the pre-gate's projected point
    m.sl = 1.0;
  }
  {
    const double k = std::exp(2.5 * m.sl);
    event_interval(m, m.has_d ? m.d / k : 0.0, m.has_d ? m.d * k : 30000.0, cfg, m.pre_lo, m.pre_hi);
  }
  m.wb = 1.0 / (m.sb * m.sb);
  m.wd = 1.0 / (m.sl * m.sl);
  m.count = r.count;
  const double c = std::max(1, r.count);
  {
    // Round counts are small whole numbers: their logarithms are computed once per thread.
    thread_local std::array<double, 128> ln_small = [] {
      std::array<double, 128> t{};
      for (std::size_t i = 1; i < t.size(); ++i) t[i] = std::log(static_cast<double>(i));
      return t;
    }();
    m.ln_count = r.count >= 1 && static_cast<std::size_t>(r.count) < ln_small.size()
                     ? ln_small[static_cast<std::size_t>(r.count)]
                     : std::log(c);
  }
  m.var_count = cfg.count_log_sigma * cfg.count_log_sigma + (0.29 / c) * (0.29 / c);
  if (m.located) {
    // Observers report from a few hundred posts: the plane at each is kept per thread (a small
    // direct-mapped cache on the exact position, so the plane is the one Plane::at gives).
    struct Cached {
      double lat = std::numeric_limits<double>::quiet_NaN(), lon = 0;
      Plane plane;
    };
    thread_local std::array<Cached, 1024> planes;
    const auto bits =
        std::bit_cast<std::uint64_t>(m.lat) * 0x9E3779B97F4A7C15ULL ^ std::bit_cast<std::uint64_t>(m.lon);
    Cached& slot = planes[(bits * 0xC2B2AE3D27D4EB4FULL) >> 54];
    if (!(slot.lat == m.lat && slot.lon == m.lon)) slot = {m.lat, m.lon, Plane::at(m.lat, m.lon)};
    const Plane& pl = slot.plane;
    const double sb = m.sin_b, cb = m.cos_b;
    pl.to_ll(m.d * sb, m.d * cb, m.plat, m.plon);
    const Plane pp = Plane::at(m.plat, m.plon);
    m.pkx = pp.kx, m.pky = pp.ky;
    const double sa = m.d * m.sl, sc = m.d * m.sb;
    // along u = (sin b, cos b), across v = (cos b, -sin b)
    m.ce = sa * sa * sb * sb + sc * sc * cb * cb;
    m.cn = sa * sa * cb * cb + sc * sc * sb * sb;
    m.cen = sa * sa * sb * cb - sc * sc * cb * sb;
  }
  return m;
}

namespace {
struct Eval {
  double chi2 = 0;
  double h[3] = {0, 0, 0};
  double g[2] = {0, 0};
};

// What evaluate() reads of one member, packed (a fit evaluates the same members several times):
// the observer's position in the fit's plane and the measurement.
struct Packed {
  double ox, oy;
  double sin_b, cos_b, wb;
  double ln_d, wd;
  bool has_b, has_d;
};

void pack(std::span<const Meas> m, std::span<const std::uint32_t> members, const Plane& pl,
          std::vector<Packed>& out) {
  out.resize(members.size());
  for (std::size_t k = 0; k < members.size(); ++k) {
    const Meas& r = m[members[k]];
    Packed& q = out[k];
    pl.to_xy(r.lat, r.lon, q.ox, q.oy);
    q.sin_b = r.sin_b, q.cos_b = r.cos_b, q.wb = r.wb;
    q.ln_d = r.ln_d, q.wd = r.wd;
    q.has_b = r.has_b, q.has_d = r.has_d;
  }
}

Eval evaluate(std::span<const Packed> pk, double px, double py) {
  Eval e;
  for (const Packed& r : pk) {
    const double dx = px - r.ox, dy = py - r.oy;
    const double r2 = std::max(1.0, dx * dx + dy * dy), inv_r2 = 1.0 / r2;
    if (r.has_b) {
      // b - azimuth(dx, dy), from the cross and dot products with the bearing's unit vector
      const double res = fast_atan2(r.sin_b * dy - r.cos_b * dx, r.sin_b * dx + r.cos_b * dy);
      const double w = r.wb;
      const double jx = dy * inv_r2, jy = -dx * inv_r2;
      e.chi2 += res * res * w;
      e.h[0] += jx * jx * w;
      e.h[1] += jy * jy * w;
      e.h[2] += jx * jy * w;
      e.g[0] += jx * w * res;
      e.g[1] += jy * w * res;
    }
    if (r.has_d) {
      const double res = r.ln_d - 0.5 * fast_log(r2);
      const double w = r.wd;
      const double jx = dx * inv_r2, jy = dy * inv_r2;
      e.chi2 += res * res * w;
      e.h[0] += jx * jx * w;
      e.h[1] += jy * jy * w;
      e.h[2] += jx * jy * w;
      e.g[0] += jx * w * res;
      e.g[1] += jy * w * res;
    }
  }
  return e;
}
}  // namespace

Fit single_fit(const Meas& r) {
  Fit f;
  f.lat = r.plat, f.lon = r.plon;
  f.kx = r.pkx, f.ky = r.pky;
  // At range d along the bearing (sin b, cos b): the bearing's gradient is across it, (cos b, -sin b) / d,
  // the log-distance's along it, (sin b, cos b) / d (evaluate()'s Jacobians at that point).
  const double wb = 1.0 / (r.sb * r.sb * r.d * r.d);
  f.h[0] = r.cos_b * r.cos_b * wb;
  f.h[1] = r.sin_b * r.sin_b * wb;
  f.h[2] = -r.cos_b * r.sin_b * wb;
  if (r.has_d) {
    const double wd = 1.0 / (r.sl * r.sl * r.d * r.d);
    f.h[0] += r.sin_b * r.sin_b * wd;
    f.h[1] += r.cos_b * r.cos_b * wd;
    f.h[2] += r.sin_b * r.cos_b * wd;
  }
  f.point = true;
  return f;
}

Fit fit_planar(std::span<const Meas> m, std::span<const std::uint32_t> members, double start_lat,
               double start_lon, const Config& /*cfg*/) {
  Fit f;
  const Plane pl = Plane::at(start_lat, start_lon);
  double px = 0, py = 0;
  thread_local std::vector<Packed> pk;
  pack(m, members, pl, pk);
  Eval e = evaluate(pk, px, py);
  for (int it = 0; it < 10; ++it) {
    const double tr = e.h[0] + e.h[1];
    if (!(tr > 0)) break;
    const double lam = 1e-9 * tr + 1e-14;
    const double a = e.h[0] + lam, b = e.h[2], d = e.h[1] + lam;
    const double det = a * d - b * b;
    if (!(det > 0)) break;
    double sx = (d * e.g[0] - b * e.g[1]) / det, sy = (a * e.g[1] - b * e.g[0]) / det;
    // Converged: the next step would move the point by less than a metre (reports carry hundreds),
    // so it is not evaluated.
    if (sx * sx + sy * sy < 1.0) break;
    // Never jump further than 20 km in one step (near-parallel bearings).
    const double len = std::sqrt(sx * sx + sy * sy);
    if (len > 20000.0) sx *= 20000.0 / len, sy *= 20000.0 / len;
    Eval trial;
    bool moved = false;
    for (int h = 0; h < 6; ++h) {
      trial = evaluate(pk, px + sx, py + sy);
      if (trial.chi2 <= e.chi2 + 1e-12) {
        moved = true;
        break;
      }
      sx *= 0.5, sy *= 0.5;
    }
    if (!moved) break;
    px += sx, py += sy;
    e = trial;
  }
  pl.to_ll(px, py, f.lat, f.lon);
  f.chi2 = e.chi2;
  f.h[0] = e.h[0], f.h[1] = e.h[1], f.h[2] = e.h[2];
  f.point = (e.h[0] + e.h[1]) > 0;
  return f;
}

}  // namespace detail
}  // namespace truce::fusion
