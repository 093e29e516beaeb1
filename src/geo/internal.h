// Private pieces of the geo module: the projected plane, the exact orientation predicate, and the
// two indexes the attribution engine uses. Not part of the public API.
#pragma once

#include <cmath>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "truce/geo/geography.h"

namespace truce::geo {

std::optional<ZoneKind> zone_kind_from_string(std::string_view s);

// A transverse Mercator plane on WGS84 (scale 1 on the central meridian), by the classic series in
// powers of the longitude difference (Snyder, "Map Projections: A Working Manual", eq. 8-9/8-10).
// Within ~4 degrees of the central meridian it agrees with GeographicLib::TransverseMercator to well
// under a millimetre (tests check it); it is used because it costs one sincos per point.
class TmPlane {
 public:
  static constexpr double kMaxLonOffsetDeg = 4.0;  // outside this the series is not trusted
  TmPlane(double lat0_deg, double lon0_deg);
  struct Pt {
    double x, y;         // metres east / north
    double half_inv_rn;  // 1 / (2 rho nu) at the point's latitude, for the scale factor
  };
  // False when the point is outside the trusted band (|lon - lon0| > kMaxLonOffsetDeg or |lat| > 84).
  bool forward(double lat_deg, double lon_deg, Pt& out) const;
  double lon0() const { return lon0_; }
  // Point scale factor at easting x with 1/(2 rho nu) = h: 1 + x^2 h + x^4 h^2 / 6.
  static double scale(double x, double h) {
    const double q = x * x * h;
    return 1 + q + q * q / 6;
  }
  // Geodesic length of the line from p to q whose plane length is d, by Simpson's rule on the
  // inverse scale factor (the surveyors' line scale factor). Good to millimetres up to ~150 km.
  static double geodesic_length(const Pt& p, const Pt& q, double d) {
    const double xm = 0.5 * (p.x + q.x), hm = 0.5 * (p.half_inv_rn + q.half_inv_rn);
    return d * (1 / scale(p.x, p.half_inv_rn) + 4 / scale(xm, hm) + 1 / scale(q.x, q.half_inv_rn)) / 6;
  }

 private:
  double lat0_, lon0_, m0_;
};

// Sign of the orientation of c relative to the directed line a->b: +1 left (counter-clockwise),
// -1 right, 0 collinear. Exact for all finite doubles whose differences do not underflow
// (floating-point filter, then an exact expansion).
int orient2d(double ax, double ay, double bx, double by, double cx, double cy);

// Point in zones, planar on lon/lat: horizontal strips, each listing the edges that span its
// latitudes; a ray cast east with the half-open rule described in geography.h.
class ZoneIndex {
 public:
  void build(const std::vector<Zone>& zones);
  // Calls hit(zone_index) for every zone containing (lat, lon), in ascending zone order.
  template <typename F>
  void locate(double lat, double lon, F&& hit) const;
  std::size_t zone_count() const { return n_zones_; }

 private:
  struct Edge {
    double ax, ay, bx, by;
    double minx, maxx;
    std::uint32_t zone;
  };
  std::size_t n_zones_ = 0;
  double x0_ = 0, x1_ = 0, y0_ = 0, y1_ = 0, inv_h_ = 0;
  std::int32_t n_strips_ = 0;
  std::vector<std::uint32_t> offsets_;
  std::vector<Edge> edges_;
  std::int32_t strip(double y) const {
    double s = (y - y0_) * inv_h_;
    if (!(s >= 0)) return 0;
    if (s >= n_strips_) return n_strips_ - 1;
    return static_cast<std::int32_t>(s);
  }
};

// True when the ray from (px, py) east crosses the edge a-b under the half-open rule.
inline bool crosses_east(double ax, double ay, double bx, double by, double minx, double maxx, double px,
                         double py) {
  if ((ay > py) == (by > py)) return false;
  if (px < minx) return true;
  if (px > maxx) return false;
  // lo = endpoint at or below py, hi = above; p strictly west of the edge <=> p left of lo->hi.
  return ay <= py ? orient2d(ax, ay, bx, by, px, py) > 0 : orient2d(bx, by, ax, ay, px, py) > 0;
}

template <typename F>
void ZoneIndex::locate(double lat, double lon, F&& hit) const {
  if (n_zones_ == 0 || !(lon >= x0_) || !(lon < x1_) || !(lat >= y0_) || !(lat < y1_)) return;
  const std::int32_t s = strip(lat);
  std::uint64_t mask_small = 0;
  thread_local std::vector<std::uint8_t> parity;
  const bool small = n_zones_ <= 64;
  if (!small) parity.assign(n_zones_, 0);
  for (std::uint32_t i = offsets_[s], e = offsets_[s + 1]; i < e; ++i) {
    const Edge& g = edges_[i];
    if (crosses_east(g.ax, g.ay, g.bx, g.by, g.minx, g.maxx, lon, lat)) {
      if (small)
        mask_small ^= std::uint64_t{1} << g.zone;
      else
        parity[g.zone] ^= 1;
    }
  }
  if (small) {
    while (mask_small) {
      const int z = __builtin_ctzll(mask_small);
      hit(static_cast<std::uint32_t>(z));
      mask_small &= mask_small - 1;
    }
  } else {
    for (std::uint32_t z = 0; z < n_zones_; ++z)
      if (parity[z]) hit(z);
  }
}

// The LoC in the TM plane: geodesic segments (split where the chord strays > 1 mm from the
// geodesic), in a hierarchy of runs; each node keeps the chord of its run and how far the run
// strays from it, which bounds the distance from below for branch and bound.
class LocIndex {
 public:
  Status build(const std::vector<LocLine>& lines, const TmPlane& plane);
  struct Nearest {
    double distance_m = 0;  // geodesic, metres
    int side = 0;
    bool ok = false;            // false: the point is outside the plane's trusted band
    std::uint32_t segment = 0;  // index of the nearest segment
  };
  Nearest nearest(double lat, double lon) const;
  std::size_t segment_count() const { return segs_.size(); }
  // The end points of segment i (a geodesic), and whether it continues the previous / next one.
  void segment(std::uint32_t i, LatLon& a, LatLon& b) const { a = segs_[i].la, b = segs_[i].lb; }
  bool continues(std::uint32_t i, std::uint32_t j) const {
    return j < segs_.size() && i < segs_.size() && segs_[i].line == segs_[j].line;
  }

 private:
  struct Seg {
    TmPlane::Pt a, b;
    double ux, uy, len;  // unit direction a->b and plane length
    LatLon la, lb;
    std::uint32_t line;
    std::uint32_t prev_ok : 1, next_ok : 1;  // an adjacent segment in the same line exists
  };
  struct Node {
    double ax, ay, ux, uy, len;  // chord of the run: start, unit direction, length
    double slack;                // max distance of the run from its chord (plane metres)
    std::uint32_t lo, hi;        // segment range [lo, hi)
    std::int32_t left = -1, right = -1;
  };
  std::int32_t build_node(std::uint32_t lo, std::uint32_t hi);
  Nearest search(const TmPlane::Pt& p, bool use_seed) const;
  int side_at(std::uint32_t seg, double t, double px, double py) const;
  const TmPlane* plane_ = nullptr;
  std::vector<Seg> segs_;
  std::vector<Node> nodes_;
  std::int32_t root_ = -1;
  double k_max_half_inv_rn_ = 0;  // bounds of the scale factor along the LoC
  double loc_max_abs_x_ = 0;
  // Seeds: a grid over the plane around the LoC; each cell holds the segment nearest its centre,
  // which gives the search a close upper bound from the start.
  double gx0_ = 0, gy0_ = 0, g_inv_ = 0;
  std::int32_t gnx_ = 0, gny_ = 0;
  std::vector<std::uint32_t> seeds_;
};

}  // namespace truce::geo
