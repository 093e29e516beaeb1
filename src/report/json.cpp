// The report's JSON: the model itself, field for field, in a fixed order.
#include <charconv>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string_view>

#include "truce/report/report.h"

namespace truce::report {

namespace {

using ojson = nlohmann::ordered_json;

ojson counts(const std::vector<Count>& v) {
  ojson o = ojson::object();
  for (const auto& c : v) o[c.key] = c.n;
  return o;
}

// [lon, lat] as GeoJSON orders positions.
ojson point(LatLon p) { return ojson::array({p.lon, p.lat}); }

ojson line(const std::vector<LatLon>& v) {
  ojson a = ojson::array();
  for (const auto& p : v) a.push_back(point(p));
  return a;
}

template <typename T>
ojson opt(const std::optional<T>& v) {
  return v ? ojson(*v) : ojson(nullptr);
}

// The incidents array, written directly in the layout ojson::dump(1) gives (one space per level):
// a day of 10,000 incidents would otherwise spend most of its time building and freeing a tree.
constexpr std::string_view kIncidentsMark = "@@truce-report-incidents@@";

void put_string(std::string& o, std::string_view s) {
  o += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        o += "\\\"";
        break;
      case '\\':
        o += "\\\\";
        break;
      case '\n':
        o += "\\n";
        break;
      case '\r':
        o += "\\r";
        break;
      case '\t':
        o += "\\t";
        break;
      case '\b':
        o += "\\b";
        break;
      case '\f':
        o += "\\f";
        break;
      default:
        if (c < 0x20) {
          char b[8];
          std::snprintf(b, sizeof b, "\\u%04x", c);
          o += b;
        } else {
          o += static_cast<char>(c);
        }
    }
  }
  o += '"';
}

// Shortest round-trip form, as nlohmann writes a double ("3000.0", "39.8213").
void put_double(std::string& o, double v) {
  char b[64];
  auto r = std::to_chars(b, b + sizeof b, v);
  std::string_view t(b, static_cast<std::size_t>(r.ptr - b));
  o += t;
  if (t.find_first_of(".en") == std::string_view::npos) o += ".0";
}

void key(std::string& o, int indent, std::string_view k, bool first = false) {
  if (!first) o += ",\n";
  o.append(static_cast<std::size_t>(indent), ' ');
  o += '"';
  o += k;
  o += "\": ";
}

void write_incidents(std::string& o, const DailyReport& r) {
  if (r.incident_list.empty()) {
    o += "[]";
    return;
  }
  o += "[\n";
  bool first_inc = true;
  for (const auto& i : r.incident_list) {
    if (!first_inc) o += ",\n";
    first_inc = false;
    o += "  {\n";
    key(o, 3, "id", true), put_string(o, i.id);
    key(o, 3, "start"), put_string(o, i.start);
    key(o, 3, "end"), put_string(o, i.end);
    key(o, 3, "kind"), put_string(o, i.kind);
    key(o, 3, "party"), put_string(o, i.party);
    key(o, 3, "lat");
    if (i.origin)
      put_double(o, i.origin->lat);
    else
      o += "null";
    key(o, 3, "lon");
    if (i.origin)
      put_double(o, i.origin->lon);
    else
      o += "null";
    if (i.ellipse) {
      key(o, 3, "ellipse_2sigma");
      o += "{\n";
      key(o, 4, "semi_major_m", true), put_double(o, i.ellipse->semi_major_m);
      key(o, 4, "semi_minor_m"), put_double(o, i.ellipse->semi_minor_m);
      key(o, 4, "major_azimuth_deg"), put_double(o, i.ellipse->major_azimuth_deg);
      o += "\n   }";
    }
    key(o, 3, "distance_to_loc_m");
    if (i.distance_to_loc_m)
      put_double(o, *i.distance_to_loc_m);
    else
      o += "null";
    key(o, 3, "place"), put_string(o, i.place);
    key(o, 3, "area"), put_string(o, i.area);
    key(o, 3, "observers"), o += std::to_string(i.observers);
    key(o, 3, "reports"), o += std::to_string(i.reports);
    key(o, 3, "rounds"), o += std::to_string(i.rounds);
    if (!r.is_public) {
      key(o, 3, "observer_ids");
      if (i.observer_ids.empty()) {
        o += "[]";
      } else {
        o += "[\n";
        for (std::size_t k = 0; k < i.observer_ids.size(); ++k) {
          if (k) o += ",\n";
          o += "    ";
          put_string(o, i.observer_ids[k]);
        }
        o += "\n   ]";
      }
    }
    key(o, 3, "status"), put_string(o, i.status);
    key(o, 3, "violations");
    if (i.violations.empty()) {
      o += "[]";
    } else {
      o += "[\n";
      for (std::size_t k = 0; k < i.violations.size(); ++k) {
        if (k) o += ",\n";
        o += "    {\n";
        key(o, 5, "rule", true), put_string(o, i.violations[k].rule);
        key(o, 5, "explanation"), put_string(o, i.violations[k].explanation);
        o += "\n    }";
      }
      o += "\n   ]";
    }
    if (!r.is_public) key(o, 3, "notes"), put_string(o, i.notes);
    key(o, 3, "simulated"), o += i.simulated ? "true" : "false";
    o += "\n  }";
  }
  o += "\n ]";
}

}  // namespace

std::string to_json(const DailyReport& r) {
  ojson j;
  j["format"] = "truce-daily-report/1";
  j["date"] = r.date;
  j["mission"] = r.mission;
  j["public"] = r.is_public;
  j["times"] = "UTC";
  j["totals"] = {{"incidents", r.incidents},
                 {"located", r.located},
                 {"observations", r.observations},
                 {"simulated_observations", r.simulated_observations},
                 {"simulated_incidents", r.simulated_incidents},
                 {"breaking_rules", r.incidents_breaking_rules}};
  j["by_kind"] = counts(r.by_kind);
  j["by_party"] = counts(r.by_party);
  j["by_area"] = counts(r.by_area);
  const Change& c = r.change;
  j["change"] = {{"previous_day", c.previous_day},
                 {"vs_previous_day", c.vs_previous_day},
                 {"vs_previous_day_pct", opt(c.vs_previous_day_pct)},
                 {"mean_7d", c.mean_7d},
                 {"vs_mean_7d", c.vs_mean_7d},
                 {"vs_mean_7d_pct", opt(c.vs_mean_7d_pct)}};
  j["verification"] = counts(r.verification);
  ojson v = ojson::array();
  for (const auto& x : r.violations)
    v.push_back({{"rule", x.rule}, {"title", x.title}, {"incidents", x.incidents}});
  j["violations"] = v;
  ojson n = ojson::array();
  for (const auto& x : r.notable) n.push_back({{"id", x.id}, {"why", x.why}, {"text", x.text}});
  j["notable"] = n;
  j["by_hour"] = r.by_hour;
  ojson days = ojson::array();
  for (const auto& d : r.trend)
    days.push_back({{"date", d.date}, {"total", d.total}, {"by_kind", counts(d.by_kind)}});
  j["trend"] = {{"kinds", r.trend_kinds}, {"days", days}};
  j["mandate"] = r.mandate;
  if (r.humanitarian) {
    const Humanitarian& h = *r.humanitarian;
    j["humanitarian"] = {{"as_of", h.as_of},
                         {"total_out", h.total_out},
                         {"total_in", h.total_in},
                         {"day_out", opt(h.day_out)},
                         {"day_in", opt(h.day_in)},
                         {"baseline_area", h.baseline_area},
                         {"baseline_population", opt(h.baseline_population)},
                         {"share_out_pct", opt(h.share_out_pct)},
                         {"sources", h.sources}};
  } else {
    j["humanitarian"] = nullptr;
  }
  j["incidents"] = kIncidentsMark;  // written by hand below: the bulk of a busy day
  const MapModel& m = r.map;
  ojson map;
  map["bbox"] = {m.min_lon, m.min_lat, m.max_lon, m.max_lat};
  ojson zones = ojson::array();
  for (const auto& z : m.zones) {
    ojson rings = ojson::array();
    for (const auto& ring : z.rings) rings.push_back(line(ring));
    zones.push_back({{"id", z.id}, {"kind", z.kind}, {"party", z.party}, {"rings", rings}});
  }
  map["zones"] = zones;
  ojson loc = ojson::array();
  for (const auto& l : m.loc) loc.push_back(line(l));
  map["loc"] = loc;
  ojson places = ojson::array();
  for (const auto& p : m.places) places.push_back({{"name", p.name}, {"lat", p.pos.lat}, {"lon", p.pos.lon}});
  map["places"] = places;
  if (!r.is_public) {
    ojson posts = ojson::array();
    for (const auto& p : m.posts)
      posts.push_back(
          {{"id", p.id}, {"party", p.party}, {"type", p.type}, {"lat", p.pos.lat}, {"lon", p.pos.lon}});
    map["posts"] = posts;
  }
  j["map"] = map;
  j["credits"] = r.credits;
  std::string text = j.dump(1);
  const std::string mark = "\"" + std::string(kIncidentsMark) + "\"";
  const auto at = text.find(mark);
  std::string incs;
  incs.reserve(r.incident_list.size() * 700);
  write_incidents(incs, r);
  text.replace(at, mark.size(), incs);
  text += "\n";
  return text;
}

}  // namespace truce::report
