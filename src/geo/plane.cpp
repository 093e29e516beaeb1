// The transverse Mercator series plane and the exact orientation predicate.
#include <cmath>
#include <numbers>

#include "geo/internal.h"

namespace truce::geo {

namespace {
constexpr double kA = 6378137.0;          // WGS84 semi-major axis
constexpr double kF = 1 / 298.257223563;  // WGS84 flattening
constexpr double kE2 = kF * (2 - kF);
constexpr double kEp2 = kE2 / (1 - kE2);
constexpr double kDeg = std::numbers::pi / 180;

// Meridian arc from the equator (Snyder eq. 3-21), from sin and cos of the latitude.
double meridian_arc(double phi, double s, double c) {
  constexpr double e4 = kE2 * kE2, e6 = e4 * kE2;
  constexpr double c0 = 1 - kE2 / 4 - 3 * e4 / 64 - 5 * e6 / 256;
  constexpr double c2 = 3 * kE2 / 8 + 3 * e4 / 32 + 45 * e6 / 1024;
  constexpr double c4 = 15 * e4 / 256 + 45 * e6 / 1024;
  constexpr double c6 = 35 * e6 / 3072;
  const double s2 = 2 * s * c, c2a = c * c - s * s;  // sin 2phi, cos 2phi
  const double s4 = 2 * s2 * c2a, c4a = c2a * c2a - s2 * s2;
  const double s6 = s4 * c2a + c4a * s2;
  return kA * (c0 * phi - c2 * s2 + c4 * s4 - c6 * s6);
}
}  // namespace

TmPlane::TmPlane(double lat0_deg, double lon0_deg) : lat0_(lat0_deg), lon0_(lon0_deg) {
  const double phi = lat0_ * kDeg;
  m0_ = meridian_arc(phi, std::sin(phi), std::cos(phi));
}

bool TmPlane::forward(double lat_deg, double lon_deg, Pt& out) const {
  double dl = lon_deg - lon0_;
  if (dl > 180) dl -= 360;
  if (dl < -180) dl += 360;
  if (!(std::fabs(dl) <= kMaxLonOffsetDeg) || !(std::fabs(lat_deg) <= 84)) return false;
  const double phi = lat_deg * kDeg;
  const double s = std::sin(phi), c = std::cos(phi);
  const double w = 1 - kE2 * s * s;
  const double n = kA / std::sqrt(w);
  const double t = (s / c) * (s / c);
  const double cc = kEp2 * c * c;
  const double a = dl * kDeg * c;
  const double a2 = a * a;
  out.x = n * a * (1 + a2 / 6 * ((1 - t + cc) + a2 / 20 * (5 - 18 * t + t * t + 72 * cc - 58 * kEp2)));
  out.y = meridian_arc(phi, s, c) - m0_ +
          n * (s / c) * a2 *
              (0.5 + a2 / 24 *
                         ((5 - t + 9 * cc + 4 * cc * cc) +
                          a2 / 30 * (61 - 58 * t + t * t + 600 * cc - 330 * kEp2)));
  // rho * nu = a^2 (1 - e^2) / w^2
  out.half_inv_rn = w * w / (2 * kA * kA * (1 - kE2));
  return true;
}

namespace {
inline void two_sum(double a, double b, double& s, double& e) {
  s = a + b;
  const double bb = s - a;
  e = (a - (s - bb)) + (b - bb);
}
inline void two_prod(double a, double b, double& p, double& e) {
  p = a * b;
  e = std::fma(a, b, -p);
}
// Adds x to the nonoverlapping expansion e (increasing magnitude), Shewchuk's Grow-Expansion.
void grow(std::vector<double>& e, double x) {
  double q = x;
  for (double& ei : e) {
    double s, h;
    two_sum(q, ei, s, h);
    ei = h;
    q = s;
  }
  e.push_back(q);
}
int sign_of(double v) { return (v > 0) - (v < 0); }

int orient2d_exact(double ax, double ay, double bx, double by, double cx, double cy) {
  double acx, acx_e, bcy, bcy_e, acy, acy_e, bcx, bcx_e;
  two_sum(ax, -cx, acx, acx_e);
  two_sum(by, -cy, bcy, bcy_e);
  two_sum(ay, -cy, acy, acy_e);
  two_sum(bx, -cx, bcx, bcx_e);
  const double l[2] = {acx, acx_e}, r[2] = {bcy, bcy_e}, l2[2] = {acy, acy_e}, r2[2] = {bcx, bcx_e};
  std::vector<double> e;
  e.reserve(17);
  for (double u : l)
    for (double v : r) {
      double p, pe;
      two_prod(u, v, p, pe);
      grow(e, pe);
      grow(e, p);
    }
  for (double u : l2)
    for (double v : r2) {
      double p, pe;
      two_prod(u, v, p, pe);
      grow(e, -pe);
      grow(e, -p);
    }
  for (auto it = e.rbegin(); it != e.rend(); ++it)
    if (*it != 0) return sign_of(*it);
  return 0;
}
}  // namespace

int orient2d(double ax, double ay, double bx, double by, double cx, double cy) {
  const double detleft = (ax - cx) * (by - cy);
  const double detright = (ay - cy) * (bx - cx);
  const double det = detleft - detright;
  double detsum;
  if (detleft > 0) {
    if (detright <= 0) return sign_of(det);
    detsum = detleft + detright;
  } else if (detleft < 0) {
    if (detright >= 0) return sign_of(det);
    detsum = -detleft - detright;
  } else {
    return sign_of(det);
  }
  const double errbound = 3.3306690738754716e-16 * detsum;
  if (det >= errbound || -det >= errbound) return sign_of(det);
  return orient2d_exact(ax, ay, bx, by, cx, cy);
}

}  // namespace truce::geo
