// build_daily_report: every figure and sentence of the daily report, decided once.
#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <unordered_map>

#include "report/internal.h"
#include "report/places.h"
#include "truce/agreement/term.h"
#include "truce/core/decimal.h"
#include "truce/report/public_view.h"
#include "truce/report/report.h"

namespace truce::report {

namespace {

constexpr std::size_t kKinds = kKindNames.size();

// How heavy a weapon a kind stands for: the ladder a reader of a daily report expects.
int weight(std::string_view kind) {
  if (kind == "mlrs") return 6;
  if (kind == "artillery") return 5;
  if (kind == "mortar") return 4;
  if (kind == "explosion") return 3;
  if (kind == "heavy_mg" || kind == "drone") return 2;
  if (kind == "small_arms") return 1;
  return 0;
}

bool is_fire(std::string_view kind) {
  return kind == "small_arms" || kind == "heavy_mg" || kind == "mortar" || kind == "artillery" ||
         kind == "mlrs";
}

std::string kind_words(std::string_view kind) {
  if (kind == "small_arms") return "small-arms fire";
  if (kind == "heavy_mg") return "heavy machine-gun fire";
  if (kind == "mlrs") return "MLRS fire";
  if (kind == "movement") return "movement";
  return std::string(kind);
}

// "an artillery round was fired", "12 mortar rounds were fired", "small-arms fire was heard".
std::string event_words(std::string_view kind, std::int64_t rounds) {
  const std::int64_t r = std::max<std::int64_t>(rounds, 1);
  const std::string n = std::to_string(r);
  if (kind == "artillery")
    return r == 1 ? "an artillery round was fired" : n + " artillery rounds were fired";
  if (kind == "mortar") return r == 1 ? "a mortar round was fired" : n + " mortar rounds were fired";
  if (kind == "mlrs")
    return r == 1 ? "an MLRS rocket was fired" : "an MLRS salvo of " + n + " rockets was fired";
  if (kind == "explosion") return r == 1 ? "an explosion was heard" : n + " explosions were heard";
  if (kind == "small_arms") return "small-arms fire was heard";
  if (kind == "heavy_mg") return "heavy machine-gun fire was heard";
  if (kind == "drone") return r == 1 ? "a drone was seen" : n + " drones were seen";
  if (kind == "movement") return "movement was seen";
  return "an incident was reported";
}

std::string plural(std::int64_t n, std::string_view one, std::string_view many) {
  return std::to_string(n) + " " + std::string(n == 1 ? one : many);
}

std::string type_words(std::string_view type, std::int64_t n) {
  if (type == "post") return plural(n, "post", "posts");
  if (type == "patrol") return plural(n, "patrol", "patrols");
  if (type == "camera") return plural(n, "camera", "cameras");
  if (type == "acoustic") return plural(n, "acoustic sensor", "acoustic sensors");
  if (type == "uav") return plural(n, "UAV", "UAVs");
  return plural(n, "observer", "observers");
}

double round1(double v) { return round_decimals(v, 1); }
// Coordinates in the model: 1e-6 degrees (~0.1 m).
double coord(double v) { return round_decimals(v, 6); }

std::string coords_text(LatLon p, int decimals) {
  char b[64];
  std::snprintf(b, sizeof b, "%.*f° %c, %.*f° %c", decimals, std::fabs(p.lat), p.lat < 0 ? 'S' : 'N',
                decimals, std::fabs(p.lon), p.lon < 0 ? 'W' : 'E');
  return b;
}

// The public report says where to the nearest kilometre at best.
std::string public_place(const detail::PlaceHit& d) {
  const double km = std::round(d.distance_m / 1000.0);
  if (km < 2) return "near " + d.name;
  return "about " + std::to_string(static_cast<long long>(km)) + " km " +
         std::string(geo::compass16(d.azimuth_deg)) + " of " + d.name;
}

std::vector<Count> sorted_counts(const std::map<std::string, std::int64_t>& m) {
  std::vector<Count> v;
  v.reserve(m.size());
  for (const auto& [k, n] : m) v.push_back({k, n});
  std::stable_sort(v.begin(), v.end(), [](const Count& a, const Count& b) { return a.n > b.n; });
  return v;
}

// Douglas-Peucker on a local plane (lon scaled by cos(lat0)), tolerance in degrees of latitude.
void simplify_into(const std::vector<LatLon>& pts, double tol, double kx, std::vector<LatLon>& out) {
  if (pts.size() <= 2) {
    out = pts;
    return;
  }
  std::vector<char> keep(pts.size(), 0);
  keep.front() = keep.back() = 1;
  std::vector<std::pair<std::size_t, std::size_t>> stack{{0, pts.size() - 1}};
  while (!stack.empty()) {
    auto [a, b] = stack.back();
    stack.pop_back();
    if (b <= a + 1) continue;
    const double ax = pts[a].lon * kx, ay = pts[a].lat, bx = pts[b].lon * kx, by = pts[b].lat;
    const double dx = bx - ax, dy = by - ay, len2 = dx * dx + dy * dy;
    double best = -1;
    std::size_t at = a;
    for (std::size_t i = a + 1; i < b; ++i) {
      const double px = pts[i].lon * kx - ax, py = pts[i].lat - ay;
      double d2;
      if (len2 == 0) {
        d2 = px * px + py * py;
      } else {
        const double t = std::clamp((px * dx + py * dy) / len2, 0.0, 1.0);
        const double ex = px - t * dx, ey = py - t * dy;
        d2 = ex * ex + ey * ey;
      }
      if (d2 > best) best = d2, at = i;
    }
    if (best > tol * tol) {
      keep[at] = 1;
      stack.push_back({a, at});
      stack.push_back({at, b});
    }
  }
  out.clear();
  for (std::size_t i = 0; i < pts.size(); ++i) {
    if (keep[i]) out.push_back({coord(pts[i].lat), coord(pts[i].lon)});
  }
}

bool suitable_place(const geo::Place& p) {
  const std::string& c = p.feature_code;
  if (c.empty()) return true;
  if (c.rfind("PPL", 0) != 0) return false;
  return c != "PPLH" && c != "PPLQ" && c != "PPLW" && c != "PPLX" && c != "PPLCH";
}

struct Work {
  const IncidentInput* in = nullptr;
  ReportIncident out;
  int weight = 0;
};

std::string sentence(const ReportIncident& i, bool is_public, const std::vector<RuleCount>& rules,
                     const std::string& observer_words) {
  std::string s = i.simulated ? "SIMULATED: at " : "At ";
  s += i.time + " UTC " + event_words(i.kind, i.rounds);
  if (i.origin) {
    // "fired from 4.1 km NW of Martuni", "heard 2 km N of Askeran", "seen at 39.81° N, 46.79° E".
    s += is_fire(i.kind) ? " from " : i.place.empty() ? " at " : " ";
    s += !i.place.empty() ? i.place : coords_text(*i.origin, is_public ? 2 : 4);
    s += " (";
    s += i.party.empty() ? "outside the parties' areas" : i.party + "-held area";
    if (i.distance_to_loc_m) {
      s += ", ";
      s += is_public ? "about " + std::to_string(static_cast<long long>(*i.distance_to_loc_m / 1000)) + " km"
                     : geo::format_distance(*i.distance_to_loc_m);
      s += " from the line of contact";
    }
    s += ")";
  } else {
    s += " (origin not located: bearings only)";
  }
  s += "; " + observer_words +
       (i.reports > i.observers ? " in " + plural(i.reports, "report", "reports") : "");
  if (!i.violations.empty()) {
    s += "; breaks ";
    for (std::size_t k = 0; k < i.violations.size(); ++k) {
      const auto& v = i.violations[k];
      if (k) s += k + 1 == i.violations.size() ? " and " : ", ";
      s += "rule " + v.rule;
      // The rule's title reads best in a sentence; the full explanation stays with the incident.
      std::string why;
      for (const auto& r : rules)
        if (r.rule == v.rule) why = r.title;
      if (why.empty()) why = v.explanation;
      if (!why.empty()) s += " (" + why + ")";
    }
  }
  s += "; " + i.status + ".";
  if (!is_public && !i.notes.empty()) s += " Analyst note: " + i.notes;
  return s;
}

}  // namespace

bool is_simulated(const Observation& o) {
  return o.id.rfind("sim-", 0) == 0 || o.channel == "simulated" ||
         o.notes.find("SIMULATED") != std::string::npos;
}

Result<std::int64_t> parse_day(std::string_view text) { return agreement::parse_date(text); }

Result<DailyReport> build_daily_report(const ReportInputs& in, const Options& opts) {
  DailyReport r;
  r.date = format_day(in.day);
  r.is_public = opts.public_view;
  r.mission = !in.mission.empty() ? in.mission : in.agreement ? in.agreement->title : "the mission";
  r.observations = in.observations;
  r.simulated_observations = in.simulated_observations;
  if (opts.public_view && !(opts.public_grid_deg > 0))
    return Status::Invalid("public_grid_deg: expected a positive grid step in degrees");

  std::unordered_map<std::string, const Observer*> observer_by_id;
  for (const auto& o : in.observers) observer_by_id.emplace(o.id, &o);
  std::map<std::string, std::string> rule_titles;
  if (in.agreement) {
    for (const auto& rule : in.agreement->rules) rule_titles[rule.id] = rule.title;
  }

  std::optional<detail::PlaceFinder> finder;
  if (in.gazetteer) finder.emplace(*in.gazetteer);

  // 1. Each incident as the report shows it (redacted here for the public report).
  std::vector<Work> work;
  work.reserve(in.incidents.size());
  std::array<std::int64_t, kKinds> today{};
  std::map<std::string, std::int64_t> by_kind, by_party, by_area, by_rule;
  std::map<std::string, std::int64_t> status_n = {
      {"reported", 0}, {"corroborated", 0}, {"verified", 0}, {"disputed", 0}, {"rejected", 0}};
  const std::int64_t day_lo = in.day * kDayMs;
  for (const auto& inc : in.incidents) {
    const auto kind = kind_from_string(inc.kind);
    if (!kind)
      return Status::Invalid("incident " + inc.id + ": kind \"" + inc.kind + "\": expected one of " +
                             kind_list());
    if (inc.start.ms < day_lo || inc.start.ms >= day_lo + kDayMs)
      return Status::Invalid("incident " + inc.id + " starts at " + format_instant(inc.start) +
                             ": expected a start on " + r.date + " (UTC)");
    Work w;
    w.in = &inc;
    w.weight = weight(inc.kind);
    ReportIncident& o = w.out;
    o.id = inc.id;
    o.time = format_hhmm(inc.start);
    o.start = format_instant(inc.start);
    o.end = format_instant(inc.end);
    o.kind = inc.kind;
    o.party = inc.party;
    o.observers = static_cast<std::int64_t>(inc.observers.size());
    o.reports = inc.reports;
    o.rounds = inc.rounds;
    o.simulated = inc.reports > 0 && inc.simulated_reports >= inc.reports;
    o.status = !inc.review_status.empty() ? inc.review_status
               : o.observers >= 2         ? "corroborated"
                                          : "reported";
    o.violations = inc.violations;
    if (opts.public_view) {
      // The classification's explanation names the precise distance and place: the public
      // edition says which rule, in the rule's own words.
      for (auto& v : o.violations) {
        auto t = rule_titles.find(v.rule);
        v.explanation = t == rule_titles.end() ? "" : t->second;
      }
    }
    if (inc.origin) {
      LatLon p = *inc.origin;
      if (opts.public_view) p = public_view::on_grid(p, opts.public_grid_deg);
      o.origin = LatLon{coord(p.lat), coord(p.lon)};
      if (inc.distance_to_loc_m)
        o.distance_to_loc_m =
            opts.public_view ? static_cast<double>(public_view::whole_km(*inc.distance_to_loc_m)) * 1000.0
                             : round1(*inc.distance_to_loc_m);
      if (!opts.public_view && inc.ellipse) o.ellipse = inc.ellipse;
      if (finder) {
        if (auto d = finder->describe(*o.origin)) {
          o.place = opts.public_view ? public_place(*d) : d->text;
          o.area = d->name;
        }
      }
      if (o.area.empty()) o.area = in.gazetteer ? "no place near" : "no gazetteer";
    } else {
      o.area = "unlocated";
    }
    if (!opts.public_view) {
      o.observer_ids = inc.observers;
      o.notes = inc.review_notes;
    }
    ++today[static_cast<std::size_t>(*kind)];
    ++by_kind[o.kind];
    ++by_party[!o.origin ? "unlocated" : o.party.empty() ? "none" : o.party];
    ++by_area[o.area];
    ++status_n[o.status];
    std::set<std::string> rules_here;
    for (const auto& v : o.violations) rules_here.insert(v.rule);
    for (const auto& rule : rules_here) ++by_rule[rule];
    if (!rules_here.empty()) ++r.incidents_breaking_rules;
    r.located += o.origin.has_value();
    r.simulated_incidents += o.simulated;
    ++r.by_hour[static_cast<std::size_t>(((inc.start.ms - day_lo) / 3'600'000))];
    work.push_back(std::move(w));
  }
  std::stable_sort(work.begin(), work.end(), [](const Work& a, const Work& b) {
    return std::tie(a.in->start.ms, a.in->id) < std::tie(b.in->start.ms, b.in->id);
  });
  r.incidents = static_cast<std::int64_t>(work.size());
  r.by_kind = sorted_counts(by_kind);
  r.by_party = sorted_counts(by_party);
  r.by_area = sorted_counts(by_area);
  for (const char* s : {"reported", "corroborated", "verified", "disputed", "rejected"})
    r.verification.push_back({s, status_n[s]});
  for (const auto& [k, n] : status_n) {
    if (k != "reported" && k != "corroborated" && k != "verified" && k != "disputed" && k != "rejected")
      r.verification.push_back({k, n});
  }
  for (const auto& [rule, n] : by_rule) {
    auto t = rule_titles.find(rule);
    r.violations.push_back({rule, t == rule_titles.end() ? "" : t->second, n});
  }

  // 2. Change and trend.
  std::map<std::int64_t, const DayCount*> hist;
  for (const auto& d : in.history) {
    if (d.day < in.day && d.day >= in.day - 30) hist[d.day] = &d;
  }
  auto total_of = [&](std::int64_t day) -> std::int64_t {
    auto it = hist.find(day);
    if (it == hist.end()) return 0;
    std::int64_t n = 0;
    for (auto c : it->second->by_kind) n += c;
    return n;
  };
  Change& c = r.change;
  c.previous_day = total_of(in.day - 1);
  c.vs_previous_day = r.incidents - c.previous_day;
  if (c.previous_day > 0)
    c.vs_previous_day_pct =
        round1(100.0 * static_cast<double>(c.vs_previous_day) / static_cast<double>(c.previous_day));
  std::int64_t week = 0;
  for (std::int64_t d = in.day - 7; d < in.day; ++d) week += total_of(d);
  const double mean = static_cast<double>(week) / 7.0;
  c.mean_7d = round1(mean);
  c.vs_mean_7d = round1(static_cast<double>(r.incidents) - mean);
  if (week > 0) c.vs_mean_7d_pct = round1(100.0 * (static_cast<double>(r.incidents) - mean) / mean);
  std::array<bool, kKinds> present{};
  std::vector<std::array<std::int64_t, kKinds>> days;
  for (std::int64_t d = in.day - 29; d <= in.day; ++d) {
    std::array<std::int64_t, kKinds> k{};
    if (d == in.day)
      k = today;
    else if (auto it = hist.find(d); it != hist.end())
      k = it->second->by_kind;
    for (std::size_t i = 0; i < kKinds; ++i) present[i] = present[i] || k[i] > 0;
    days.push_back(k);
  }
  for (std::size_t i = 0; i < kKinds; ++i) {
    if (present[i]) r.trend_kinds.emplace_back(kKindNames[i]);
  }
  for (std::size_t j = 0; j < days.size(); ++j) {
    TrendDay t;
    t.date = format_day(in.day - 29 + static_cast<std::int64_t>(j));
    for (std::size_t i = 0; i < kKinds; ++i) {
      if (days[j][i]) t.by_kind.push_back({std::string(kKindNames[i]), days[j][i]});
      t.total += days[j][i];
    }
    r.trend.push_back(std::move(t));
  }

  // 3. Notable incidents: the one most observers saw, the heaviest weapons, one per rule broken
  // (rarest rule first), then the strongest of the rest.
  std::vector<std::size_t> picked;
  std::map<std::size_t, std::vector<std::string>> why;
  auto pick = [&](std::size_t i, std::string reason) {
    if (!why.count(i)) {
      if (picked.size() >= opts.max_notable) return;
      picked.push_back(i);
    }
    why[i].push_back(std::move(reason));
  };
  auto stronger = [&](std::size_t a, std::size_t b) {  // a ranks before b
    const Work &x = work[a], &y = work[b];
    return std::make_tuple(-x.out.observers, -x.weight, -x.out.rounds, a) <
           std::make_tuple(-y.out.observers, -y.weight, -y.out.rounds, b);
  };
  std::vector<std::size_t> order(work.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), stronger);
  if (!order.empty() && work[order[0]].out.observers >= 2)
    pick(order[0], "most observers (" + std::to_string(work[order[0]].out.observers) + ")");
  int heaviest = 0;
  for (const auto& w : work) heaviest = std::max(heaviest, w.weight);
  if (heaviest >= weight("mortar")) {
    int n = 0;
    for (auto i : order) {
      if (work[i].weight == heaviest && n++ < 2)
        pick(i, "heaviest weapon (" + kind_words(work[i].out.kind) + ")");
    }
  }
  std::vector<RuleCount> rarest = r.violations;
  std::stable_sort(rarest.begin(), rarest.end(),
                   [](const RuleCount& a, const RuleCount& b) { return a.incidents < b.incidents; });
  for (const auto& rule : rarest) {
    for (auto i : order) {
      const auto& vs = work[i].out.violations;
      if (std::any_of(vs.begin(), vs.end(), [&](const Violation& v) { return v.rule == rule.rule; })) {
        pick(i, "breaks " + rule.rule);
        break;
      }
    }
  }
  for (auto i : order) {
    if (picked.size() >= opts.max_notable) break;
    if (!why.count(i) && work[i].weight >= weight("mortar"))
      pick(i, "heavy weapon (" + kind_words(work[i].out.kind) + ")");
  }
  std::sort(picked.begin(), picked.end());  // work is in time order
  for (auto i : picked) {
    const ReportIncident& o = work[i].out;
    std::string obs_words;
    std::map<std::string, std::int64_t> types;
    for (const auto& id : work[i].in->observers) {
      auto it = observer_by_id.find(id);
      ++types[it == observer_by_id.end() ? "observer" : std::string(to_string(it->second->type))];
    }
    if (o.observers == 0)
      obs_words = "no registered observer reported it";
    else if (types.size() == 1)
      obs_words = type_words(types.begin()->first, o.observers) + " observed it";
    else {
      obs_words = plural(o.observers, "observer", "observers") + " (";
      bool first = true;
      for (const auto& [t, n] : types) {
        obs_words += (first ? "" : ", ") + type_words(t, n);
        first = false;
      }
      obs_words += ") observed it";
    }
    r.notable.push_back({o.id, why[i], sentence(o, opts.public_view, r.violations, obs_words)});
  }

  // 4. The mandate at the end of the day, humanitarian figures.
  if (in.agreement && in.agreement->term) {
    auto st = agreement::mandate_status(*in.agreement, Instant{day_lo + kDayMs - 1000});
    if (!st.ok()) return st.status();
    r.mandate = agreement::status_line(*in.agreement, *st);
  }
  if (!in.crossings.empty()) {
    const auto s = agreement::summarize(in.crossings, in.baselines, in.day);
    if (!s.days.empty()) {
      Humanitarian h;
      h.as_of = r.date;
      h.total_out = s.total_out;
      h.total_in = s.total_in;
      for (const auto& d : s.days) {
        if (d.first_day == in.day && d.last_day == in.day) h.day_out = d.out_people, h.day_in = d.in_people;
      }
      if (s.baseline) h.baseline_population = s.baseline->population, h.baseline_area = s.baseline->area;
      if (s.share_out) h.share_out_pct = round1(*s.share_out * 100.0);
      h.sources = s.sources;
      r.humanitarian = std::move(h);
    }
  }

  // 5. The map: the area of the line, the posts and the day's incidents.
  double lo_lat = 90, hi_lat = -90, lo_lon = 180, hi_lon = -180;
  auto grow = [&](LatLon p) {
    lo_lat = std::min(lo_lat, p.lat), hi_lat = std::max(hi_lat, p.lat);
    lo_lon = std::min(lo_lon, p.lon), hi_lon = std::max(hi_lon, p.lon);
  };
  for (const auto& l : in.loc)
    for (const auto& v : l.vertices) grow(v);
  if (!opts.public_view) {
    for (const auto& o : in.observers)
      if (o.position) grow(*o.position);
  }
  for (const auto& w : work)
    if (w.out.origin) grow(*w.out.origin);
  if (lo_lat <= hi_lat) {
    const double pad_lat = std::max((hi_lat - lo_lat) * 0.06, 0.01),
                 pad_lon = std::max((hi_lon - lo_lon) * 0.06, 0.01);
    MapModel& m = r.map;
    m.min_lat = coord(lo_lat - pad_lat), m.max_lat = coord(hi_lat + pad_lat);
    m.min_lon = coord(lo_lon - pad_lon), m.max_lon = coord(hi_lon + pad_lon);
    const double kx = std::cos((m.min_lat + m.max_lat) / 2 * 3.14159265358979 / 180);
    const double tol = std::max(m.max_lat - m.min_lat, (m.max_lon - m.min_lon) * kx) / 1500.0;
    {
      for (const auto& z : in.zones) {
        MapZone mz{z.id, std::string(geo::to_string(z.kind)), z.party, {}};
        for (const auto& poly : z.polygons)
          for (const auto& ring : poly) {
            std::vector<LatLon> s;
            simplify_into(ring, tol, kx, s);
            if (s.size() >= 4) mz.rings.push_back(std::move(s));
          }
        m.zones.push_back(std::move(mz));
      }
      for (const auto& l : in.loc) {
        std::vector<LatLon> s;
        simplify_into(l.vertices, tol, kx, s);
        m.loc.push_back(std::move(s));
      }
    }
    auto inside = [&](LatLon p) {
      return p.lat >= m.min_lat && p.lat <= m.max_lat && p.lon >= m.min_lon && p.lon <= m.max_lon;
    };
    if (in.gazetteer) {
      std::vector<const geo::Place*> ps;
      for (const auto& p : in.gazetteer->places())
        if (suitable_place(p) && inside(p.pos)) ps.push_back(&p);
      std::stable_sort(ps.begin(), ps.end(), [](const geo::Place* a, const geo::Place* b) {
        return std::tie(b->population, a->name) < std::tie(a->population, b->name);
      });
      if (ps.size() > opts.max_places_on_map) ps.resize(opts.max_places_on_map);
      for (const auto* p : ps) m.places.push_back({p->name, {coord(p->pos.lat), coord(p->pos.lon)}});
      r.credits = in.gazetteer->credits();
    }
    if (!opts.public_view) {
      for (const auto& o : in.observers)
        if (o.position && inside(*o.position))
          m.posts.push_back({o.id,
                             o.party,
                             std::string(to_string(o.type)),
                             {coord(o.position->lat), coord(o.position->lon)}});
    }
  }
  r.incident_list.reserve(work.size());
  for (auto& w : work) r.incident_list.push_back(std::move(w.out));
  return r;
}

}  // namespace truce::report
