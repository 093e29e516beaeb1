// Fusion: location against known geometry (synthetic reports from the GeographicLib direct and
// inverse problems) and correlation cases.
#include "truce/fusion/fusion.h"

#include <gtest/gtest.h>

#include <GeographicLib/Geodesic.hpp>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <random>
#include <set>

#include "fusion/model.h"

namespace truce::fusion {
namespace {

const GeographicLib::Geodesic& geod() { return GeographicLib::Geodesic::WGS84(); }

double distance_m(LatLon a, LatLon b) {
  double s12 = 0;
  geod().Inverse(a.lat, a.lon, b.lat, b.lon, s12);
  return s12;
}

LatLon offset(LatLon p, double azimuth_deg, double dist_m) {
  LatLon q;
  geod().Direct(p.lat, p.lon, azimuth_deg, dist_m, q.lat, q.lon);
  return q;
}

// A report of `target` by an observer at `obs`, event at t_event: exact bearing and distance (plus
// the given errors), reported late by the sound's travel plus `reaction_s`.
Report report_of(std::uint32_t index, std::uint32_t observer, LatLon obs, LatLon target, std::int64_t t_event,
                 double bearing_err_deg = 0, double dist_factor = 1, bool with_distance = true,
                 Kind kind = Kind::kMortar, double reaction_s = 10, int count = 3) {
  double s12 = 0, azi1 = 0, azi2 = 0;
  geod().Inverse(obs.lat, obs.lon, target.lat, target.lon, s12, azi1, azi2);
  Report r;
  r.index = index;
  r.observer = observer;
  r.time_s = t_event + static_cast<std::int64_t>(s12 / 343.0 + reaction_s);
  r.has_position = true;
  r.lat = obs.lat;
  r.lon = obs.lon;
  r.kind = kind;
  r.has_bearing = true;
  r.bearing_deg = std::fmod(azi1 + bearing_err_deg + 720.0, 360.0);
  r.bearing_sigma_deg = 3.0;
  if (with_distance) {
    r.has_distance = true;
    r.distance_m = s12 * dist_factor;
    r.distance_sigma_m = 0.25 * r.distance_m;
  }
  r.count = count;
  return r;
}

const LatLon kTarget{39.90, 46.80};
const std::int64_t kT0 = 1693600000;  // 2023-09-01T20:26:40Z

// Observers around the target, each at `range_m`, at the given azimuths (from the target).
std::vector<LatLon> ring(const std::vector<double>& azimuths, double range_m) {
  std::vector<LatLon> v;
  for (double az : azimuths) v.push_back(offset(kTarget, az, range_m));
  return v;
}

std::set<std::vector<std::uint32_t>> member_sets(const std::vector<Incident>& incs) {
  std::set<std::vector<std::uint32_t>> s;
  for (const auto& i : incs) s.insert(i.members);
  return s;
}

Config single_threaded() {
  Config c;
  c.threads = 1;
  return c;
}

// Location refines on the ellipsoid with short-geodesic formulas instead of the general solution;
// GeographicLib is the reference they must match, far below report noise.
TEST(ShortGeodesic, AgreesWithGeographicLibWithinTheStatedTolerance) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> ulat(-70, 70), ulon(-180, 180), uaz(-180, 180),
      ulog(std::log(10.0), std::log(60000.0));
  double worst_s = 0, worst_az = 0, worst_pos = 0;
  for (int i = 0; i < 20000; ++i) {
    const double lat1 = ulat(rng), lon1 = ulon(rng), az = uaz(rng), s = std::exp(ulog(rng));
    double lat2 = 0, lon2 = 0, azi2_ref = 0;
    geod().Direct(lat1, lon1, az, s, lat2, lon2, azi2_ref);
    double s12_ref = 0, azi1_ref = 0;
    geod().Inverse(lat1, lon1, lat2, lon2, s12_ref, azi1_ref, azi2_ref);
    double s12 = 0, azi1 = 0, azi2 = 0;
    detail::short_inverse(lat1, lon1, lat2, lon2, s12, azi1, azi2);
    auto dang = [](double a, double b) { return std::abs(std::remainder(a - b, 360.0)) * detail::kDeg; };
    worst_s = std::max(worst_s, std::abs(s12 - s12_ref) / (3e-5 * s12_ref + 0.01));
    worst_az = std::max({worst_az, dang(azi1, azi1_ref) / 2e-5, dang(azi2, azi2_ref) / 2e-5});
    double lat3 = 0, lon3 = 0, azi3 = 0;
    detail::short_direct(lat1, lon1, az, s, lat3, lon3, azi3);
    worst_pos = std::max({worst_pos, distance_m(LatLon{lat3, lon3}, LatLon{lat2, lon2}) / (3e-5 * s + 0.01),
                          dang(azi3, azi2_ref) / 2e-5});
  }
  // Each ratio is the worst error over its tolerance: distance 3e-5 relative + 1 cm, azimuth 2e-5 rad.
  EXPECT_LE(worst_s, 1.0);
  EXPECT_LE(worst_az, 1.0);
  EXPECT_LE(worst_pos, 1.0);
  std::printf("short geodesic worst error / tolerance: distance %.3f, azimuth %.3f, direct %.3f\n", worst_s,
              worst_az, worst_pos);
}

TEST(Locate, CrossingBearingsAndDistancesFindTheOriginExactly) {
  auto obs = ring({200, 290, 20}, 6000);
  std::vector<Report> g;
  for (std::uint32_t i = 0; i < obs.size(); ++i) g.push_back(report_of(i, i, obs[i], kTarget, kT0));
  const Incident inc = locate(g, Config{});
  ASSERT_TRUE(inc.origin.has_value());
  EXPECT_LT(distance_m(*inc.origin, kTarget), 0.5);
  EXPECT_NEAR(inc.chi2, 0.0, 1e-6);
  ASSERT_TRUE(inc.ellipse.has_value());
  EXPECT_GT(inc.ellipse->semi_minor_m, 0.0);
  EXPECT_LE(inc.ellipse->semi_minor_m, inc.ellipse->semi_major_m);
  EXPECT_FALSE(inc.sector.has_value());
  EXPECT_EQ(inc.observers, 3);
  // Event time: reports arrive 6000/343 + 10 s late; the interval holds the true time.
  EXPECT_LE(inc.start_s, kT0);
  EXPECT_GE(inc.end_s, kT0);
  EXPECT_LT(inc.end_s - inc.start_s, 60);
}

// Batch fusion starts location from correlation's converged planar fit instead of fitting the plane
// again: the refined origin, ellipse and times must be those of a fit from scratch (to a metre).
TEST(Locate, StartingFromCorrelationsFitGivesTheSameIncident) {
  std::mt19937 rng(5);
  std::normal_distribution<double> bearing_err(0.0, 3.0), dist_err(0.0, 0.25);
  std::uniform_real_distribution<double> az(0.0, 360.0), range(1500.0, 12000.0);
  const Config cfg;
  for (int trial = 0; trial < 200; ++trial) {
    const auto n = static_cast<std::uint32_t>(2 + trial % 4);
    std::vector<detail::Meas> m;
    std::vector<std::uint32_t> all;
    for (std::uint32_t i = 0; i < n; ++i) {
      const LatLon obs = offset(kTarget, az(rng), range(rng));
      m.push_back(detail::make_meas(report_of(i, i, obs, kTarget, kT0, bearing_err(rng),
                                              std::exp(dist_err(rng)), trial % 3 != 0 || i == 0),
                                    cfg));
      all.push_back(i);
    }
    // Correlation's fit of the group: from the first report's projected point, as a merge would.
    const detail::Fit f = detail::fit_planar(m, all, m[0].plat, m[0].plon, cfg);
    ASSERT_TRUE(f.point);
    const LatLon start{f.lat, f.lon};
    const Incident scratch = detail::locate(m, cfg);
    const Incident started = detail::locate(m, cfg, &start);
    ASSERT_EQ(scratch.origin.has_value(), started.origin.has_value()) << trial;
    if (!scratch.origin) continue;
    EXPECT_LT(distance_m(*scratch.origin, *started.origin), 1.0) << trial;
    ASSERT_TRUE(scratch.ellipse && started.ellipse);
    EXPECT_NEAR(started.ellipse->semi_major_m, scratch.ellipse->semi_major_m,
                0.01 * scratch.ellipse->semi_major_m + 1);
    EXPECT_LE(std::abs(started.start_s - scratch.start_s), 1);
    EXPECT_LE(std::abs(started.end_s - scratch.end_s), 1);
  }
}

TEST(Locate, NoisyBearingsLandWithinTheEllipse) {
  auto obs = ring({180, 250, 320, 40}, 5000);
  std::vector<Report> g;
  const double errs[] = {2.0, -1.5, 1.0, -2.5};
  const double fac[] = {1.2, 0.8, 1.1, 0.9};
  for (std::uint32_t i = 0; i < obs.size(); ++i)
    g.push_back(report_of(i, i, obs[i], kTarget, kT0, errs[i], fac[i]));
  const Incident inc = locate(g, Config{});
  ASSERT_TRUE(inc.origin.has_value());
  ASSERT_TRUE(inc.ellipse.has_value());
  const double err = distance_m(*inc.origin, kTarget);
  EXPECT_LT(err, 300.0);
  EXPECT_LT(err, inc.ellipse->semi_major_m);
  // 4 bearings ~3 deg at 5 km: the 2-sigma axes are a few hundred metres, not kilometres.
  EXPECT_LT(inc.ellipse->semi_major_m, 1000.0);
  EXPECT_GT(inc.ellipse->semi_minor_m, 50.0);
}

TEST(Locate, OneReportWithDistanceGivesItsPointAndAnEllipseAlongTheBearing) {
  const LatLon obs = offset(kTarget, 250, 4000);  // the target lies at azimuth 70 from the observer
  std::vector<Report> g = {report_of(7, 1, obs, kTarget, kT0)};
  const Incident inc = locate(g, Config{});
  ASSERT_TRUE(inc.origin.has_value());
  EXPECT_LT(distance_m(*inc.origin, kTarget), 0.01);
  ASSERT_TRUE(inc.ellipse.has_value());
  // 2 sigma along: 2 * 4000 * ~0.25 = ~2000 m; across: 2 * 4000 * sqrt(3^2 + 1^2) deg = ~442 m.
  EXPECT_NEAR(inc.ellipse->semi_major_m, 2000.0, 40.0);
  EXPECT_NEAR(inc.ellipse->semi_minor_m, 441.0, 5.0);
  double az = 0, s12 = 0, azi1 = 0;
  geod().Inverse(obs.lat, obs.lon, kTarget.lat, kTarget.lon, s12, azi1, az);
  EXPECT_NEAR(inc.ellipse->major_azimuth_deg, std::fmod(az + 360.0, 180.0), 0.5);
  EXPECT_EQ(inc.members, std::vector<std::uint32_t>{7});
}

TEST(Locate, BearingOnlyReportGivesASectorAndNoPoint) {
  const LatLon obs = offset(kTarget, 180, 3000);
  std::vector<Report> g = {report_of(0, 0, obs, kTarget, kT0, 0, 1, /*with_distance=*/false)};
  const Incident inc = locate(g, Config{});
  EXPECT_FALSE(inc.origin.has_value());
  EXPECT_FALSE(inc.ellipse.has_value());
  ASSERT_TRUE(inc.sector.has_value());
  EXPECT_NEAR(inc.sector->azimuth_deg, g[0].bearing_deg, 1e-9);
  EXPECT_NEAR(inc.sector->half_width_deg, 2 * std::sqrt(3.0 * 3.0 + 1.0), 1e-9);
  EXPECT_EQ(inc.sector->apex, obs);
}

TEST(Locate, ParallelBearingsWithoutDistancesGiveNoPoint) {
  // Two posts 150 m apart, both sighting a target 12 km away: the bearings are all but parallel,
  // and a 1-degree error makes them cross far away (or behind). No wild point: a sector.
  const LatLon a = offset(kTarget, 180, 12000);
  const LatLon b = offset(a, 90, 150);
  std::vector<Report> g = {report_of(0, 0, a, kTarget, kT0, +0.5, 1, false),
                           report_of(1, 1, b, kTarget, kT0, -0.5, 1, false)};
  const Incident inc = locate(g, Config{});
  EXPECT_FALSE(inc.origin.has_value());
  EXPECT_TRUE(inc.sector.has_value());
}

TEST(Locate, NearParallelBearingsWithDistancesStayNearTheTarget) {
  const LatLon a = offset(kTarget, 180, 12000);
  const LatLon b = offset(a, 90, 150);
  std::vector<Report> g = {report_of(0, 0, a, kTarget, kT0, +1.0, 1.1),
                           report_of(1, 1, b, kTarget, kT0, -1.0, 0.9)};
  const Incident inc = locate(g, Config{});
  ASSERT_TRUE(inc.origin.has_value());
  EXPECT_LT(distance_m(*inc.origin, kTarget), 1500.0);
  ASSERT_TRUE(inc.ellipse.has_value());
  // Elongated along the line of sight (about north-south), bounded by the distances.
  EXPECT_GT(inc.ellipse->semi_major_m, 3 * inc.ellipse->semi_minor_m);
  EXPECT_LT(inc.ellipse->semi_major_m, 6000.0);
}

TEST(Correlate, ReportsOfOneEventFromSeveralObserversFormOneIncident) {
  auto obs = ring({170, 220, 270, 320, 20}, 5000);
  std::vector<Report> r;
  const double errs[] = {2, -3, 1, -1, 2.5};
  const double fac[] = {1.3, 0.8, 1.0, 1.2, 0.75};
  for (std::uint32_t i = 0; i < obs.size(); ++i)
    r.push_back(report_of(i, i, obs[i], kTarget, kT0, errs[i], fac[i]));
  const auto incs = fuse(r, single_threaded());
  ASSERT_EQ(incs.size(), 1u);
  EXPECT_EQ(incs[0].members, (std::vector<std::uint32_t>{0, 1, 2, 3, 4}));
  ASSERT_TRUE(incs[0].origin.has_value());
  EXPECT_LT(distance_m(*incs[0].origin, kTarget), 300.0);
}

// A flood: 4,000 bearing-only reports in 100 s from 40 posts, every one compatible with
// thousands of others. Each keeps only its nearest partners (so pairs grow with the reports, not
// with their square); the choice is made from the reports themselves, so reports elsewhere in time
// do not change it (what incremental fusion relies on), and fusion's invariants still hold.
TEST(Correlate, AFloodKeepsTheNearestPartnersWhateverElseIsFused) {
  auto posts = ring(
      {0,   9,   18,  27,  36,  45,  54,  63,  72,  81,  90,  99,  108, 117, 126, 135, 144, 153, 162, 171,
       180, 189, 198, 207, 216, 225, 234, 243, 252, 261, 270, 279, 288, 297, 306, 315, 324, 333, 342, 351},
      7000);
  std::vector<Report> r;
  std::uint32_t k = 0;
  for (std::int64_t t = 0; t < 100; ++t) {
    for (std::uint32_t p = 0; p < posts.size(); ++p, ++k) {
      Report f = report_of(k, p, posts[p], kTarget, kT0 + t, 0, 1, false);
      f.bearing_deg = std::fmod(37.0 * k, 360.0);
      r.push_back(f);
    }
  }
  const auto flood = fuse(r, single_threaded());
  std::size_t members = 0;
  for (const auto& inc : flood) {
    members += inc.members.size();
    std::set<std::uint32_t> observers;
    for (auto m : inc.members) EXPECT_TRUE(observers.insert(r[m].observer).second) << "an observer twice";
  }
  EXPECT_EQ(members, r.size());  // every report in exactly one incident
  // The same flood with other reports two hours later.
  auto more = r;
  for (std::uint32_t p = 0; p < posts.size(); ++p) {
    more.push_back(report_of(static_cast<std::uint32_t>(more.size()), p, posts[p], kTarget, kT0 + 7200));
  }
  std::vector<std::vector<std::uint32_t>> a, b;
  for (const auto& inc : flood) a.push_back(inc.members);
  for (const auto& inc : fuse(more, single_threaded())) {
    if (inc.members.front() < r.size()) b.push_back(inc.members);
  }
  EXPECT_EQ(a, b);
}

TEST(Correlate, TwoEventsFourMinutesApartStayApart) {
  auto obs = ring({170, 240, 310}, 4000);
  std::vector<Report> r;
  std::uint32_t k = 0;
  for (std::int64_t t : {kT0, kT0 + 240}) {
    for (std::uint32_t i = 0; i < obs.size(); ++i)
      r.push_back(report_of(k++, i + 10, obs[i], kTarget, t, 1.0, 1.1));
  }
  const auto incs = fuse(r, single_threaded());
  EXPECT_EQ(member_sets(incs), (std::set<std::vector<std::uint32_t>>{{0, 1, 2}, {3, 4, 5}}));
}

TEST(Correlate, EpisodesOfOneBurstNinetySecondsApartStayApart) {
  // A burst: three episodes from the same spot, 90-100 s apart, heard by the same four posts with
  // different reaction times. The sound's travel and reaction overlap the gaps; observer identity
  // and the time intervals keep the episodes apart.
  auto obs = ring({150, 210, 280, 340}, 6000);
  std::vector<Report> r;
  std::uint32_t k = 0;
  const std::int64_t starts[] = {kT0, kT0 + 90, kT0 + 190};
  const double reaction[] = {5, 40, 20, 45};
  for (auto t : starts) {
    for (std::uint32_t i = 0; i < obs.size(); ++i) {
      const double react = reaction[(i + k) % 4];
      r.push_back(report_of(k, i, obs[i], kTarget, t, i % 2 ? 1.5 : -1.5, 1.0, true, Kind::kMortar, react));
      ++k;
    }
  }
  const auto incs = fuse(r, single_threaded());
  ASSERT_EQ(incs.size(), 3u);
  for (std::size_t e = 0; e < 3; ++e) {
    EXPECT_EQ(incs[e].members,
              (std::vector<std::uint32_t>{
                  static_cast<std::uint32_t>(4 * e), static_cast<std::uint32_t>(4 * e + 1),
                  static_cast<std::uint32_t>(4 * e + 2), static_cast<std::uint32_t>(4 * e + 3)}))
        << "episode " << e;
  }
}

TEST(Correlate, ExchangeOfFireAcrossTheLineStaysTwoIncidents) {
  // Fire and answer a minute later from 2.5 km away, heard by the same posts.
  const LatLon other = offset(kTarget, 90, 2500);
  auto obs = ring({180, 0}, 4000);
  obs.push_back(offset(kTarget, 45, 3000));
  std::vector<Report> r;
  std::uint32_t k = 0;
  for (std::uint32_t i = 0; i < obs.size(); ++i)
    r.push_back(report_of(k++, i, obs[i], kTarget, kT0, 1.0, 1.1));
  for (std::uint32_t i = 0; i < obs.size(); ++i)
    r.push_back(report_of(k++, i, obs[i], other, kT0 + 60, -1.0, 0.9));
  const auto incs = fuse(r, single_threaded());
  EXPECT_EQ(member_sets(incs), (std::set<std::vector<std::uint32_t>>{{0, 1, 2}, {3, 4, 5}}));
}

TEST(Correlate, FalseReportStaysAlone) {
  auto obs = ring({160, 230, 300, 10}, 5000);
  std::vector<Report> r;
  for (std::uint32_t i = 0; i < obs.size(); ++i) r.push_back(report_of(i, i, obs[i], kTarget, kT0, 1.0, 1.0));
  // A fifth post reports at the same moment, but its bearing points 60 degrees away.
  const LatLon post = offset(kTarget, 100, 4000);
  r.push_back(report_of(4, 4, post, kTarget, kT0, 60.0, 1.0));
  const auto incs = fuse(r, single_threaded());
  EXPECT_EQ(member_sets(incs), (std::set<std::vector<std::uint32_t>>{{0, 1, 2, 3}, {4}}));
}

TEST(Correlate, OneObserverIsNeverTwiceInOneIncident) {
  // One post reports the same spot twice within 30 s (two shots it could not tell apart in time);
  // another post heard one of them.
  const LatLon a = offset(kTarget, 200, 3000), b = offset(kTarget, 300, 3000);
  std::vector<Report> r = {report_of(0, 1, a, kTarget, kT0), report_of(1, 1, a, kTarget, kT0 + 30),
                           report_of(2, 2, b, kTarget, kT0 + 10)};
  const auto incs = fuse(r, single_threaded());
  ASSERT_EQ(incs.size(), 2u);
  for (const auto& inc : incs) {
    std::set<std::uint32_t> observers;
    for (auto m : inc.members) observers.insert(r[m].observer);
    EXPECT_EQ(observers.size(), inc.members.size());
  }
}

TEST(Correlate, KindsNoTrueKindExplainsStayApart) {
  // small_arms and artillery are not neighbours of any one kind: never one event.
  const LatLon a = offset(kTarget, 200, 3000), b = offset(kTarget, 300, 3000);
  std::vector<Report> r = {report_of(0, 1, a, kTarget, kT0, 0, 1, true, Kind::kSmallArms),
                           report_of(1, 2, b, kTarget, kT0, 0, 1, true, Kind::kArtillery)};
  EXPECT_EQ(fuse(r, single_threaded()).size(), 2u);
  // heavy_mg explains small_arms and mortar reports (neighbours confused): one event.
  r[0].kind = Kind::kSmallArms;
  r[1].kind = Kind::kMortar;
  EXPECT_EQ(fuse(r, single_threaded()).size(), 1u);
  EXPECT_TRUE(kinds_neighbour(Kind::kDrone, Kind::kExplosion));
  EXPECT_FALSE(kinds_neighbour(Kind::kDrone, Kind::kMortar));
}

TEST(Correlate, ReportsWithoutPositionStayAloneAndUnlocated) {
  Report r = report_of(0, 0, kTarget, kTarget, kT0);
  r.has_position = false;
  const auto incs = fuse(std::vector<Report>{r}, single_threaded());
  ASSERT_EQ(incs.size(), 1u);
  EXPECT_FALSE(incs[0].origin.has_value());
  EXPECT_FALSE(incs[0].sector.has_value());
}

// The pair sweep checks a report only against reports near it in latitude (and against every
// report of large uncertainty): events at a hundred latitudes 1.1 km apart (whatever the strips'
// edges, some lie between a pair's two projected points), one of them also reported from 20 km
// away with a distance 60 % too long and a 25 % sigma (its projected point 12 km off, its reach
// beyond any strip): each event must still be one incident of all its reports.
TEST(Correlate, PairsAcrossLatitudeStripsAndFarUncertainReportsAreFound) {
  std::vector<Report> r;
  std::set<std::vector<std::uint32_t>> expected;
  std::uint32_t k = 0;
  for (int e = 0; e < 100; ++e) {
    const LatLon src{kTarget.lat + 0.011 * e, kTarget.lon};
    const std::int64_t t = kT0 + 600 * e;
    std::vector<std::uint32_t> group;
    for (double az : {0.0, 180.0}) {
      group.push_back(k);
      r.push_back(
          report_of(k++, static_cast<std::uint32_t>(az > 0), offset(src, az, 3000), src, t, 1.0, 1.1));
    }
    if (e == 50) {
      group.push_back(k);
      r.push_back(report_of(k++, 2, offset(src, 180, 20000), src, t, 0.5, 1.6));
    }
    expected.insert(group);
  }
  Config two;
  two.threads = 2;
  EXPECT_EQ(member_sets(fuse(r, single_threaded())), expected);
  EXPECT_EQ(member_sets(fuse(r, two)), expected);
}

TEST(Correlate, ResultDoesNotDependOnInputOrderOrThreads) {
  // Random events along a line, random noise: fusing in any order, with 1 or 2 threads, gives the
  // same incidents.
  std::mt19937_64 rng(42);
  std::normal_distribution<double> n01(0, 1);
  std::uniform_real_distribution<double> u01(0, 1);
  std::vector<LatLon> posts;
  for (int i = 0; i < 12; ++i) posts.push_back(offset(kTarget, 0, i * 2000.0));
  std::vector<Report> r;
  std::uint32_t k = 0;
  for (int e = 0; e < 150; ++e) {
    const LatLon src = offset(offset(kTarget, 0, u01(rng) * 22000), 90, 1500 + u01(rng) * 5000);
    const std::int64_t t = kT0 + static_cast<std::int64_t>(u01(rng) * 6 * 3600);
    for (std::uint32_t p = 0; p < posts.size(); ++p) {
      if (distance_m(posts[p], src) > 8000 || u01(rng) < 0.4) continue;
      r.push_back(report_of(k++, p, posts[p], src, t, 3 * n01(rng), std::exp(0.25 * n01(rng)), true,
                            Kind::kMortar, u01(rng) * 50));
    }
  }
  Config one = single_threaded(), two;
  two.threads = 2;
  const auto base = member_sets(fuse(r, one));
  std::shuffle(r.begin(), r.end(), rng);
  EXPECT_EQ(member_sets(fuse(r, one)), base);
  EXPECT_EQ(member_sets(fuse(r, two)), base);
  EXPECT_GT(base.size(), 100u);
  // Handing the reports over (they are freed once modelled) gives the same incidents, in order.
  const auto kept = fuse(r, two);
  std::vector<Report> handed = r;
  const auto taken = fuse(std::move(handed), two);
  EXPECT_TRUE(handed.empty());
  ASSERT_EQ(taken.size(), kept.size());
  for (std::size_t i = 0; i < kept.size(); ++i) {
    EXPECT_EQ(taken[i].members, kept[i].members);
    EXPECT_EQ(taken[i].start_s, kept[i].start_s);
    EXPECT_EQ(taken[i].origin.has_value(), kept[i].origin.has_value());
    if (kept[i].origin) {
      EXPECT_EQ(taken[i].origin->lat, kept[i].origin->lat);
    }
  }
}

}  // namespace
}  // namespace truce::fusion
