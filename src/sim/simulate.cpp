#include "truce/sim/simulate.h"

#include <GeographicLib/Geodesic.hpp>
#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstring>

#include "truce/core/decimal.h"
#include "truce/geo/short_geodesic.h"

namespace truce::sim {

namespace {

constexpr double kPi = 3.14159265358979323846;

// xoshiro256** seeded by splitmix64: the same numbers on every platform.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) {
    for (auto& w : s_) {
      seed += 0x9E3779B97F4A7C15ull;
      std::uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
      w = z ^ (z >> 31);
    }
  }
  std::uint64_t next() {
    const std::uint64_t r = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return r;
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0, 1)
  double uniform(double a, double b) { return a + (b - a) * uniform(); }
  int integer(int lo, int hi) { return lo + static_cast<int>(uniform() * (hi - lo + 1)); }  // [lo, hi]
  double normal() {  // Box-Muller, one value per call
    double u = uniform();
    while (u <= 0) u = uniform();
    return std::sqrt(-2.0 * std::log(u)) * std::cos(2 * kPi * uniform());
  }
  bool chance(double p) { return uniform() < p; }
  std::int64_t poisson(double mean) {
    if (mean <= 0) return 0;
    if (mean > 30) return std::max<std::int64_t>(0, std::llround(mean + std::sqrt(mean) * normal()));
    const double l = std::exp(-mean);
    std::int64_t k = 0;
    double p = uniform();
    while (p > l) {
      ++k;
      p *= uniform();
    }
    return k;
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::array<std::uint64_t, 4> s_{};
};

// Per-kind behaviour (the simulated kinds: fire and drones).
struct KindModel {
  Kind kind;
  double weight;                  // share of bursts
  double range_m;                 // detection range
  double min_back_m, max_back_m;  // origin distance behind the line
  double bearing_scale, distance_scale;
  int max_count;
  bool direct;  // direct fire: larger jitter within a burst
};
constexpr std::array<KindModel, 7> kKinds = {{
    {Kind::kSmallArms, 0.30, 2000, 500, 1500, 1.0, 1.0, 60, true},
    {Kind::kHeavyMg, 0.18, 4000, 500, 2500, 1.0, 1.1, 40, true},
    {Kind::kMortar, 0.20, 8000, 1000, 6000, 1.1, 1.2, 12, false},
    {Kind::kExplosion, 0.10, 10000, 500, 10000, 1.3, 1.3, 4, false},
    {Kind::kArtillery, 0.12, 15000, 4000, 15000, 1.2, 1.2, 10, false},
    {Kind::kMlrs, 0.04, 15000, 6000, 15000, 1.5, 1.3, 40, false},
    {Kind::kDrone, 0.06, 5000, 500, 8000, 0.8, 1.0, 1, false},
}};

const KindModel& model(Kind k) {
  for (const auto& m : kKinds)
    if (m.kind == k) return m;
  return kKinds[0];
}

// The ladder observers confuse: small_arms-heavy_mg-mortar-explosion-artillery-mlrs, drone-explosion.
Kind neighbour(Kind k, Rng& r) {
  static constexpr std::array<Kind, 6> ladder = {Kind::kSmallArms, Kind::kHeavyMg,   Kind::kMortar,
                                                 Kind::kExplosion, Kind::kArtillery, Kind::kMlrs};
  if (k == Kind::kDrone) return Kind::kExplosion;
  std::size_t i = 0;
  while (i < ladder.size() && ladder[i] != k) ++i;
  if (i == ladder.size()) return k;
  if (i == 0) return ladder[1];
  if (i == ladder.size() - 1) return ladder[i - 1];
  return r.chance(0.5) ? ladder[i - 1] : ladder[i + 1];
}

// The line of contact as one polyline with cumulative geodesic lengths.
struct Line {
  std::vector<LatLon> v;
  std::vector<double> cum;  // metres from the first vertex
  std::vector<double> az;   // azimuth of each segment at its start
  double length = 0;
};

std::vector<Line> build_lines(const geo::Geography& g) {
  const auto& geod = GeographicLib::Geodesic::WGS84();
  std::vector<Line> out;
  for (const auto& l : g.loc()) {
    if (l.vertices.size() < 2) continue;
    Line line;
    line.v = l.vertices;
    line.cum.push_back(0);
    for (std::size_t i = 1; i < line.v.size(); ++i) {
      double s12 = 0, a1 = 0, a2 = 0;
      geod.Inverse(line.v[i - 1].lat, line.v[i - 1].lon, line.v[i].lat, line.v[i].lon, s12, a1, a2);
      line.cum.push_back(line.cum.back() + s12);
      line.az.push_back(a1);
    }
    line.length = line.cum.back();
    if (line.length > 0) out.push_back(std::move(line));
  }
  return out;
}

// A point at `s` metres along the lines (all lines laid end to end), with the local azimuth.
LatLon along(const std::vector<Line>& lines, double s, double& azimuth) {
  const auto& geod = GeographicLib::Geodesic::WGS84();
  for (const auto& l : lines) {
    if (s > l.length && &l != &lines.back()) {
      s -= l.length;
      continue;
    }
    s = std::clamp(s, 0.0, l.length);
    auto it = std::upper_bound(l.cum.begin(), l.cum.end(), s);
    std::size_t i = static_cast<std::size_t>(it - l.cum.begin());
    i = std::clamp<std::size_t>(i, 1, l.v.size() - 1) - 1;
    double lat = 0, lon = 0, az2 = 0;
    geod.Direct(l.v[i].lat, l.v[i].lon, l.az[i], s - l.cum[i], lat, lon, az2);
    azimuth = az2;
    return LatLon{lat, lon};
  }
  azimuth = 0;
  return {};
}

LatLon move(LatLon p, double azimuth, double distance) {
  double lat = 0, lon = 0;
  GeographicLib::Geodesic::WGS84().Direct(p.lat, p.lon, azimuth, distance, lat, lon);
  return LatLon{lat, lon};
}

}  // namespace

namespace {

// "2023-09-01T21:38:41Z" for whole seconds, caching the date part of the current day.
class TimeText {
 public:
  void append(std::string& out, std::int64_t ms) {
    const std::int64_t sec = ms / 1000 - (ms % 1000 < 0);
    const std::int64_t day = sec / 86400 - (sec % 86400 < 0);
    if (day != day_) {
      day_ = day;
      date_ = format_instant(Instant{day * kDayMs}).substr(0, 11);  // "YYYY-MM-DDT"
    }
    const auto tod = static_cast<int>(sec - day * 86400);
    char b[10] = {static_cast<char>('0' + tod / 36000),
                  static_cast<char>('0' + tod / 3600 % 10),
                  ':',
                  static_cast<char>('0' + tod % 3600 / 600),
                  static_cast<char>('0' + tod % 600 / 60),
                  ':',
                  static_cast<char>('0' + tod % 60 / 10),
                  static_cast<char>('0' + tod % 10),
                  'Z',
                  0};
    out += date_;
    out.append(b, 9);
  }

 private:
  std::int64_t day_ = INT64_MIN;
  std::string date_;
};

struct Obs {
  std::string id;
  LatLon pos;
  double bias_deg;
  double sigma_scale;
  double p_detect;
  bool truncates;
  double az_to_line;  // towards the nearest part of the line (for false reports)
};

struct Event {
  std::int64_t id;
  std::int64_t burst;
  std::int64_t time_ms;
  LatLon origin;
  Kind kind;
  int count;
  std::string party;
};

struct Row {
  std::int64_t time_ms;
  std::uint64_t order;
  std::size_t observer;
  Kind kind;
  double bearing, bearing_sigma, distance, distance_sigma;
  int count;
  std::int64_t event;  // index into the day's events, -1 for a false report
};

void put_int(std::string& s, std::int64_t v) {
  char b[32];
  auto r = std::to_chars(b, b + sizeof b, v);
  s.append(b, r.ptr);
}

// Burst start: night-heavy in local time (accept-reject on an hourly weight).
std::int64_t burst_time(Rng& r, std::int64_t day_start_ms, int offset_h) {
  for (;;) {
    const double t = r.uniform(0, 86400.0);
    const double local_h = std::fmod(t / 3600.0 + offset_h + 24.0, 24.0);
    const double w = 0.5 + 0.5 * std::cos(2 * kPi * (local_h - 2.0) / 24.0);  // peak at 02:00 local
    if (r.uniform() < 0.25 + 0.75 * w) return day_start_ms + static_cast<std::int64_t>(t * 1000.0);
  }
}

}  // namespace

std::vector<Observer> posts_along_loc(const geo::Geography& g, int n, const std::string& party) {
  std::vector<Observer> out;
  const auto lines = build_lines(g);
  double total = 0;
  for (const auto& l : lines) total += l.length;
  if (n <= 0 || total <= 0) return out;
  for (int i = 0; i < n; ++i) {
    double az = 0;
    const LatLon p = along(lines, total * (i + 0.5) / n, az);
    char id[32];
    std::snprintf(id, sizeof id, "SIM-P%02d", i + 1);
    Observer o;
    o.id = id;
    o.position = move(p, az + (i % 2 ? 90.0 : -90.0), 300.0);
    o.party = party;
    o.type = ObserverType::kPost;
    out.push_back(std::move(o));
  }
  return out;
}

Result<Stats> simulate(const geo::Geography& g, const std::vector<Observer>& observers, const Options& o,
                       std::FILE* out, std::FILE* truth) {
  if (!(o.days > 0) || o.days > 36600)
    return Status::Invalid("days: expected a number of days in (0, 36600]");
  if (!(o.bursts_per_day >= 0) || o.bursts_per_day > 1e7)
    return Status::Invalid("bursts per day: expected 0 to 10,000,000");
  if (!(o.false_rate >= 0 && o.false_rate < 1))
    return Status::Invalid("false rate: expected a share in [0, 1)");
  if (!(o.exchange_probability >= 0 && o.exchange_probability <= 1))
    return Status::Invalid("exchange probability: expected [0, 1]");
  if (!(o.kind_confusion >= 0 && o.kind_confusion <= 1))
    return Status::Invalid("kind confusion: expected [0, 1]");
  if (!(o.bearing_sigma_deg > 0 && o.bearing_sigma_deg < 90))
    return Status::Invalid("bearing sigma: expected degrees in (0, 90)");
  if (!(o.distance_rel_sigma > 0 && o.distance_rel_sigma < 3))
    return Status::Invalid("distance sigma: expected (0, 3)");
  const auto lines = build_lines(g);
  double total = 0;
  for (const auto& l : lines) total += l.length;
  if (total <= 0)
    return Status::Invalid("the line of contact is empty: simulate needs a line to place fire along");
  const auto& geod = GeographicLib::Geodesic::WGS84();
  Rng rng(o.seed);

  std::vector<Obs> obs;
  for (const auto& ob : observers) {
    if (!ob.position) continue;
    Obs x;
    x.id = ob.id;
    x.pos = *ob.position;
    const bool mission = ob.party == "MON" || ob.party == "M" || ob.party.empty();
    x.bias_deg = rng.normal() * (mission ? 0.5 : 1.0);
    x.sigma_scale = mission ? rng.uniform(0.6, 0.9) : rng.uniform(0.7, 1.5);
    x.p_detect = mission ? rng.uniform(0.85, 0.95) : rng.uniform(0.45, 0.9);
    x.truncates = rng.chance(0.3);
    // Towards the nearest sampled point of the line.
    double best = 1e300;
    x.az_to_line = 0;
    for (const auto& l : lines) {
      const std::size_t step = std::max<std::size_t>(1, l.v.size() / 400);
      for (std::size_t i = 0; i < l.v.size(); i += step) {
        const double dy = l.v[i].lat - x.pos.lat,
                     dx = (l.v[i].lon - x.pos.lon) * std::cos(x.pos.lat * kPi / 180);
        const double d = dx * dx + dy * dy;
        if (d < best) {
          best = d;
          double s12 = 0, a1 = 0, a2 = 0;
          geod.Inverse(x.pos.lat, x.pos.lon, l.v[i].lat, l.v[i].lon, s12, a1, a2);
          x.az_to_line = a1;
        }
      }
    }
    obs.push_back(std::move(x));
  }
  if (obs.empty())
    return Status::Invalid("no observer with a position: simulate needs posts to report what they see");

  Stats st;
  std::string buf;
  std::string tbuf;
  buf.reserve(1 << 21);
  auto flush = [&](bool force) -> Status {
    if (buf.size() >= (1u << 20) || (force && !buf.empty())) {
      if (std::fwrite(buf.data(), 1, buf.size(), out) != buf.size())
        return Status::IOError(std::string("write failed: ") + std::strerror(errno));
      buf.clear();
    }
    if (truth && (tbuf.size() >= (1u << 20) || (force && !tbuf.empty()))) {
      if (std::fwrite(tbuf.data(), 1, tbuf.size(), truth) != tbuf.size())
        return Status::IOError(std::string("write failed (truth): ") + std::strerror(errno));
      tbuf.clear();
    }
    return Status::Ok();
  };
  buf += kCsvHeader;
  if (truth)
    tbuf += "observation_id,event_id,burst_id,event_time,lat,lon,party,kind,count,distance_to_loc_m\n";

  double kind_total = 0;
  for (const auto& k : kKinds) kind_total += k.weight;
  const std::string prefix = "sim-" + std::to_string(o.seed) + "-";
  std::int64_t next_event = 1, next_burst = 1, next_row = 1;
  const double cos_lat = std::cos(obs.front().pos.lat * kPi / 180);
  const auto ndays = static_cast<std::int64_t>(std::ceil(o.days));
  const std::int64_t end_ms = o.start.ms + static_cast<std::int64_t>(o.days * kDayMs);
  std::vector<Event> events;
  std::vector<Row> rows;
  std::uint64_t order = 0;
  TimeText times;

  // One burst: episodes of one kind from nearly one place. Returns the anchor point along the line.
  auto burst = [&](double s, int side, std::int64_t t0, Kind kind) {
    const std::int64_t b = next_burst++;
    ++st.bursts;
    const KindModel& km = model(kind);
    double az = 0;
    const LatLon on_line = along(lines, s, az);
    double back = rng.uniform(km.min_back_m, km.max_back_m);
    if (km.direct && rng.chance(0.05)) back = rng.uniform(50, 500);
    const LatLon base = move(on_line, az + side * 90.0, back);
    const std::string party = g.attribute(base).party;
    const int episodes = rng.integer(1, 8);
    std::int64_t t = t0;
    Kind k = kind;
    for (int e = 0; e < episodes; ++e) {
      if (e > 0) {
        t += static_cast<std::int64_t>(rng.uniform(90, 900) * 1000);
        if (rng.chance(0.15))
          k = kKinds[static_cast<std::size_t>(rng.integer(0, static_cast<int>(kKinds.size()) - 2))].kind;
      }
      if (t >= end_ms) break;
      const double jitter = model(k).direct ? 80.0 : 40.0;
      Event ev;
      ev.id = next_event++;
      ev.burst = b;
      ev.time_ms = t;
      ev.origin = move(base, rng.uniform(0, 360), std::abs(rng.normal()) * jitter);
      ev.kind = k;
      ev.count = rng.integer(1, model(k).max_count);
      ev.party = party;
      events.push_back(ev);
    }
  };

  for (std::int64_t day = 0; day < ndays; ++day) {
    const std::int64_t day_ms = o.start.ms + day * kDayMs;
    events.clear();
    rows.clear();
    const double share = std::min(1.0, o.days - static_cast<double>(day));
    const std::int64_t nb = rng.poisson(o.bursts_per_day * share);
    for (std::int64_t i = 0; i < nb; ++i) {
      double pick = rng.uniform(0, kind_total);
      std::size_t ki = 0;
      while (ki + 1 < kKinds.size() && pick >= kKinds[ki].weight) pick -= kKinds[ki++].weight;
      const double s = rng.uniform(0, total);
      const int side = rng.chance(0.5) ? 1 : -1;
      const std::int64_t t0 = std::min(burst_time(rng, day_ms, o.local_utc_offset_h),
                                       day_ms + static_cast<std::int64_t>(share * kDayMs) - 1);
      burst(s, side, t0, kKinds[ki].kind);
      if (rng.chance(o.exchange_probability)) {
        ++st.exchanges;
        const double s2 = std::clamp(s + rng.uniform(-1500, 1500), 0.0, total);
        std::size_t kj = ki;
        if (rng.chance(0.4))
          kj = static_cast<std::size_t>(std::clamp(static_cast<int>(ki) + rng.integer(-1, 1), 0, 5));
        burst(s2, -side, t0 + static_cast<std::int64_t>(rng.uniform(60, 1200) * 1000), kKinds[kj].kind);
      }
    }
    std::sort(events.begin(), events.end(), [](const Event& a, const Event& b) {
      return a.time_ms < b.time_ms || (a.time_ms == b.time_ms && a.id < b.id);
    });
    st.events += static_cast<std::int64_t>(events.size());
    // Reports of the genuine events.
    for (std::size_t ei = 0; ei < events.size(); ++ei) {
      const Event& ev = events[ei];
      const KindModel& km = model(ev.kind);
      bool reported = false;
      for (std::size_t oi = 0; oi < obs.size(); ++oi) {
        const Obs& x = obs[oi];
        const double dy = (ev.origin.lat - x.pos.lat) * 111'000.0,
                     dx = (ev.origin.lon - x.pos.lon) * 111'000.0 * cos_lat;
        if (dx * dx + dy * dy > km.range_m * km.range_m * 1.3) continue;
        double d = 0, az1 = 0, az2 = 0;
        geo::short_inverse(x.pos.lat, x.pos.lon, ev.origin.lat, ev.origin.lon, d, az1, az2);
        if (az1 < 0) az1 += 360;
        if (az1 >= 360) az1 -= 360;
        if (d > km.range_m) continue;
        const double ratio = d / km.range_m;
        if (!rng.chance(x.p_detect * (1 - ratio * ratio))) continue;
        reported = true;
        Row r;
        r.order = order++;
        r.observer = oi;
        r.event = static_cast<std::int64_t>(ei);
        const double delay_s = std::min(90.0, d / 343.0 + rng.uniform(0, 50));
        r.time_ms = ev.time_ms + static_cast<std::int64_t>(delay_s * 1000);
        if (x.truncates) r.time_ms -= r.time_ms % 60000;
        r.time_ms -= r.time_ms % 1000;
        r.kind = rng.chance(o.kind_confusion) ? neighbour(ev.kind, rng) : ev.kind;
        const double sigma = o.bearing_sigma_deg * km.bearing_scale * x.sigma_scale;
        r.bearing = std::fmod(az1 + x.bias_deg + rng.normal() * sigma + 720.0, 360.0);
        r.bearing_sigma = std::round(sigma * 10) / 10;
        const double rel = o.distance_rel_sigma * km.distance_scale;
        double est = std::max(50.0, d) * std::exp(rng.normal() * rel);
        est = est < 1000 ? std::max(50.0, std::round(est / 50) * 50) : std::round(est / 100) * 100;
        r.distance = est;
        r.distance_sigma = std::max(10.0, std::round(est * rel / 10) * 10);
        double c = ev.count * std::exp(rng.normal() * 0.25);
        int cnt = std::max(1, static_cast<int>(std::lround(c)));
        if (cnt > 20) cnt = (cnt + 2) / 5 * 5;
        r.count = cnt;
        rows.push_back(r);
      }
      if (reported) ++st.events_reported;
    }
    st.genuine += static_cast<std::int64_t>(rows.size());
    // False reports: a share of all rows.
    const double genuine = static_cast<double>(rows.size());
    const std::int64_t nf = o.false_rate > 0 ? rng.poisson(genuine * o.false_rate / (1 - o.false_rate)) : 0;
    for (std::int64_t i = 0; i < nf; ++i) {
      Row r;
      r.order = order++;
      r.observer = static_cast<std::size_t>(rng.integer(0, static_cast<int>(obs.size()) - 1));
      const Obs& x = obs[r.observer];
      r.event = -1;
      r.time_ms = std::min(burst_time(rng, day_ms, o.local_utc_offset_h), end_ms - 1);
      if (x.truncates) r.time_ms -= r.time_ms % 60000;
      r.time_ms -= r.time_ms % 1000;
      const KindModel& km =
          kKinds[static_cast<std::size_t>(rng.integer(0, static_cast<int>(kKinds.size()) - 1))];
      r.kind = km.kind;
      r.bearing = std::fmod(x.az_to_line + rng.uniform(-75, 75) + 720.0, 360.0);
      const double sigma = o.bearing_sigma_deg * km.bearing_scale * x.sigma_scale;
      r.bearing_sigma = std::round(sigma * 10) / 10;
      const double rel = o.distance_rel_sigma * km.distance_scale;
      double est = km.range_m * rng.uniform(0.15, 0.9);
      est = est < 1000 ? std::max(50.0, std::round(est / 50) * 50) : std::round(est / 100) * 100;
      r.distance = est;
      r.distance_sigma = std::max(10.0, std::round(est * rel / 10) * 10);
      r.count = rng.integer(1, km.max_count);
      rows.push_back(r);
    }
    st.false_reports += nf;
    std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
      return a.time_ms < b.time_ms || (a.time_ms == b.time_ms && a.order < b.order);
    });
    for (const Row& r : rows) {
      const Obs& x = obs[r.observer];
      const std::int64_t n = next_row++;
      const std::size_t mark = buf.size();
      buf += prefix;
      put_int(buf, n);
      buf += ',';
      times.append(buf, r.time_ms);
      buf += ',';
      buf += x.id;
      buf += ',';
      append_fixed(buf, x.pos.lat, 6);
      buf += ',';
      append_fixed(buf, x.pos.lon, 6);
      buf += ',';
      buf += to_string(r.kind);
      buf += ',';
      append_fixed(buf, r.bearing >= 359.95 ? 0.0 : r.bearing, 1);
      buf += ',';
      append_fixed(buf, r.bearing_sigma, 1);
      buf += ',';
      put_int(buf, static_cast<std::int64_t>(r.distance));
      buf += ',';
      put_int(buf, static_cast<std::int64_t>(r.distance_sigma));
      buf += ',';
      put_int(buf, r.count);
      buf += ",,SIMULATED\n";
      if (truth) {
        tbuf.append(buf, mark, prefix.size());
        put_int(tbuf, n);
        tbuf += ',';
        if (r.event >= 0) {
          const Event& ev = events[static_cast<std::size_t>(r.event)];
          put_int(tbuf, ev.id);
          tbuf += ',';
          put_int(tbuf, ev.burst);
          tbuf += ',';
          tbuf += format_instant(Instant{ev.time_ms});
          tbuf += ',';
          append_fixed(tbuf, ev.origin.lat, 6);
          tbuf += ',';
          append_fixed(tbuf, ev.origin.lon, 6);
          tbuf += ',';
          tbuf += ev.party;
          tbuf += ',';
          tbuf += to_string(ev.kind);
          tbuf += ',';
          put_int(tbuf, ev.count);
          tbuf += ',';
          append_fixed(tbuf, g.distance_to_loc(ev.origin), 1);
          tbuf += '\n';
        } else {
          tbuf += ",,,,,,,,\n";
        }
      }
      TRUCE_RETURN_IF_ERROR(flush(false));
    }
    st.rows += static_cast<std::int64_t>(rows.size());
  }
  TRUCE_RETURN_IF_ERROR(flush(true));
  return st;
}

}  // namespace truce::sim
