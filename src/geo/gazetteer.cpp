// Gazetteer: GeoNames TSV and GeoJSON points in, "2.4 km SE of Martuni" out.
#include "truce/geo/gazetteer.h"

#include <GeographicLib/Geodesic.hpp>
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>
#include <nlohmann/json.hpp>

#include "truce/core/json_depth.h"

namespace truce::geo {

namespace {

std::vector<std::string_view> split(std::string_view line, char sep) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (;;) {
    const auto p = line.find(sep, start);
    out.push_back(line.substr(start, p == std::string_view::npos ? std::string_view::npos : p - start));
    if (p == std::string_view::npos) break;
    start = p + 1;
  }
  return out;
}

bool parse_double(std::string_view s, double& v) {
  if (s.empty()) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  return r.ec == std::errc() && r.ptr == s.data() + s.size() && std::isfinite(v);
}

bool parse_int(std::string_view s, std::int64_t& v) {
  if (s.empty()) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

Status bad(std::string_view source, std::int64_t line, std::string field, std::string msg) {
  return Status::Invalid(std::move(msg), Location{std::string(source), line, std::move(field)});
}

std::string shown(std::string_view v) { return "\"" + std::string(v.substr(0, 60)) + "\""; }

// Iterates lines (LF or CRLF), 1-based numbers.
template <typename F>
Status for_lines(std::string_view text, F&& fn) {
  std::int64_t no = 0;
  std::size_t pos = 0;
  if (text.substr(0, 3) == "\xEF\xBB\xBF") pos = 3;
  while (pos < text.size()) {
    auto e = text.find('\n', pos);
    std::string_view line = text.substr(pos, e == std::string_view::npos ? std::string_view::npos : e - pos);
    pos = e == std::string_view::npos ? text.size() : e + 1;
    ++no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    TRUCE_RETURN_IF_ERROR(fn(no, line));
  }
  return Status::Ok();
}

constexpr std::size_t kMaxPlaces = 5'000'000;

}  // namespace

std::string_view compass16(double az) {
  static constexpr std::string_view kNames[16] = {"N", "NNE", "NE", "ENE", "E", "ESE", "SE", "SSE",
                                                  "S", "SSW", "SW", "WSW", "W", "WNW", "NW", "NNW"};
  if (!std::isfinite(az)) return "N";
  double a = std::fmod(az, 360.0);
  if (a < 0) a += 360;
  const int i = static_cast<int>(std::floor(a / 22.5 + 0.5)) % 16;
  return kNames[i];
}

std::string format_distance(double m) {
  char buf[32];
  if (m < 1000)
    std::snprintf(buf, sizeof buf, "%.0f m", std::round(m / 10) * 10);
  else if (m < 9950)
    std::snprintf(buf, sizeof buf, "%.1f km", m / 1000);
  else
    std::snprintf(buf, sizeof buf, "%.0f km", m / 1000);
  return buf;
}

Result<Gazetteer> Gazetteer::from_geonames_tsv(std::string_view text, std::string_view source) {
  Gazetteer g;
  static constexpr std::string_view kCols[] = {
      "geonameid",   "name",          "asciiname",    "alternatenames",   "latitude",
      "longitude",   "feature_class", "feature_code", "country_code",     "cc2",
      "admin1_code", "admin2_code",   "admin3_code",  "admin4_code",      "population",
      "elevation",   "dem",           "timezone",     "modification_date"};
  Status st = for_lines(text, [&](std::int64_t no, std::string_view line) -> Status {
    if (line.empty()) return Status::Ok();
    auto f = split(line, '\t');
    if (no == 1 && f[0] == "geonameid") {
      if (f.size() != 19)
        return bad(source, no, "",
                   "header has " + std::to_string(f.size()) + " columns; the GeoNames format has 19");
      for (std::size_t i = 0; i < 19; ++i)
        if (f[i] != kCols[i])
          return bad(source, no, "",
                     "header column " + std::to_string(i + 1) + " is " + shown(f[i]) + ", expected " +
                         shown(kCols[i]));
      return Status::Ok();
    }
    if (f.size() != 19)
      return bad(source, no, "",
                 "expected 19 tab-separated GeoNames columns, got " + std::to_string(f.size()));
    Place p;
    if (!parse_int(f[0], p.source_id) || p.source_id <= 0)
      return bad(source, no, "geonameid", "expected a positive integer, got " + shown(f[0]));
    if (f[1].empty()) return bad(source, no, "name", "empty name");
    p.name = std::string(f[1]);
    if (!parse_double(f[4], p.pos.lat) || p.pos.lat < -90 || p.pos.lat > 90)
      return bad(source, no, "latitude", "expected a number in [-90, 90], got " + shown(f[4]));
    if (!parse_double(f[5], p.pos.lon) || p.pos.lon < -180 || p.pos.lon > 180)
      return bad(source, no, "longitude", "expected a number in [-180, 180], got " + shown(f[5]));
    if (f[6] == "P")
      p.feature_code = std::string(f[7]);
    else
      p.feature_code = std::string(f[6]) + "." + std::string(f[7]);
    p.country = std::string(f[8]);
    if (!f[14].empty() && !parse_int(f[14], p.population))
      return bad(source, no, "population", "expected an integer, got " + shown(f[14]));
    p.credit = std::string(kGeoNamesCredit);
    if (g.places_.size() >= kMaxPlaces)
      return bad(source, no, "", "more than " + std::to_string(kMaxPlaces) + " places");
    g.places_.push_back(std::move(p));
    return Status::Ok();
  });
  if (!st.ok()) return st;
  if (g.places_.empty()) return bad(source, 0, "", "no places");
  return g;
}

Result<Gazetteer> Gazetteer::from_geojson(std::string_view text, std::string_view source,
                                          std::string_view credit) {
  using nlohmann::json;
  const Location loc{std::string(source), 0, ""};
  json doc;
  TRUCE_RETURN_IF_ERROR(check_json_depth(text, 16, source));
  try {
    doc = json::parse(text.begin(), text.end());
  } catch (const std::exception& e) {
    std::string what = e.what();
    auto p = what.find("parse error");
    return Status::Invalid("invalid JSON: " + (p == std::string::npos ? what : what.substr(p)), loc);
  }
  if (!doc.is_object() || doc.value("type", json()) != "FeatureCollection" || !doc.contains("features") ||
      !doc["features"].is_array())
    return Status::Invalid("expected a GeoJSON FeatureCollection with a \"features\" array", loc);
  Gazetteer g;
  const auto& fs = doc["features"];
  for (std::size_t i = 0; i < fs.size(); ++i) {
    const std::string where = "features[" + std::to_string(i) + "]: ";
    const auto& ft = fs[i];
    if (!ft.is_object() || !ft.contains("geometry") || !ft["geometry"].is_object())
      return Status::Invalid(where + "expected a Feature with a geometry", loc);
    const auto& geom = ft["geometry"];
    if (geom.value("type", json()) != "Point")
      return Status::Invalid(where + "expected a Point geometry", loc);
    const auto& c = geom.value("coordinates", json());
    if (!c.is_array() || c.size() < 2 || c.size() > 3 || !c[0].is_number() || !c[1].is_number())
      return Status::Invalid(where + "geometry coordinates: expected a position [lon, lat]", loc);
    Place p;
    p.pos = {c[1].get<double>(), c[0].get<double>()};
    if (!(std::fabs(p.pos.lat) <= 90)) return Status::Invalid(where + "latitude out of range [-90, 90]", loc);
    if (!(std::fabs(p.pos.lon) <= 180))
      return Status::Invalid(where + "longitude out of range [-180, 180]", loc);
    const json props = ft.value("properties", json::object());
    if (!props.is_object()) return Status::Invalid(where + "\"properties\" must be an object", loc);
    for (const char* k : {"name", "NAME", "NAMEASCII"}) {
      if (auto it = props.find(k); it != props.end() && it->is_string() && !it->get<std::string>().empty()) {
        p.name = it->get<std::string>();
        break;
      }
    }
    if (p.name.empty()) return Status::Invalid(where + "no name (property name, NAME or NAMEASCII)", loc);
    for (const char* k : {"population", "POP_MAX"}) {
      if (auto it = props.find(k); it != props.end() && it->is_number()) {
        p.population = static_cast<std::int64_t>(it->get<double>());
        break;
      }
    }
    if (auto it = props.find("feature_code"); it != props.end() && it->is_string())
      p.feature_code = it->get<std::string>();
    else
      p.feature_code = "PPL";
    p.credit = std::string(credit);
    g.places_.push_back(std::move(p));
  }
  if (g.places_.empty()) return Status::Invalid("no places", loc);
  return g;
}

namespace {
constexpr std::string_view kStoredHeader =
    "name\tlat\tlon\tfeature_code\tpopulation\tcountry\tcredit\tsource_id";
std::string clean(std::string_view s) {
  std::string out(s);
  std::replace(out.begin(), out.end(), '\t', ' ');
  std::replace(out.begin(), out.end(), '\n', ' ');
  std::replace(out.begin(), out.end(), '\r', ' ');
  return out;
}
}  // namespace

std::string Gazetteer::serialize() const {
  std::string out(kStoredHeader);
  out += '\n';
  char buf[64];
  for (const auto& p : places_) {
    out += clean(p.name);
    std::snprintf(buf, sizeof buf, "\t%.17g\t%.17g\t", p.pos.lat, p.pos.lon);
    out += buf;
    out += clean(p.feature_code) + "\t" + std::to_string(p.population) + "\t" + clean(p.country) + "\t" +
           clean(p.credit) + "\t" + std::to_string(p.source_id) + "\n";
  }
  return out;
}

Result<Gazetteer> Gazetteer::deserialize(std::string_view text, std::string_view source) {
  Gazetteer g;
  Status st = for_lines(text, [&](std::int64_t no, std::string_view line) -> Status {
    if (no == 1) {
      if (line != kStoredHeader) return bad(source, no, "", "not a stored truce gazetteer (header differs)");
      return Status::Ok();
    }
    if (line.empty()) return Status::Ok();
    auto f = split(line, '\t');
    if (f.size() != 8) return bad(source, no, "", "expected 8 columns, got " + std::to_string(f.size()));
    Place p;
    p.name = std::string(f[0]);
    if (!parse_double(f[1], p.pos.lat) || !parse_double(f[2], p.pos.lon))
      return bad(source, no, "lat", "bad coordinates");
    p.feature_code = std::string(f[3]);
    if (!parse_int(f[4], p.population) || !parse_int(f[7], p.source_id))
      return bad(source, no, "population", "bad integer");
    p.country = std::string(f[5]);
    p.credit = std::string(f[6]);
    g.places_.push_back(std::move(p));
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return g;
}

std::optional<Description> Gazetteer::describe(LatLon q) const {
  // Cheap pre-selection by an equirectangular estimate, then geodesics for the close ones.
  auto suitable = [](const Place& p) {
    const auto& c = p.feature_code;
    if (c.find('.') != std::string::npos) return false;  // not a populated place
    return c != "PPLX" && c != "PPLQ" && c != "PPLH" && c != "PPLW";
  };
  constexpr double kDeg = 3.14159265358979323846 / 180;
  const double cl = std::cos(q.lat * kDeg);
  std::vector<std::pair<double, std::size_t>> approx;
  approx.reserve(places_.size());
  for (std::size_t i = 0; i < places_.size(); ++i) {
    if (!suitable(places_[i])) continue;
    double dl = std::fabs(places_[i].pos.lon - q.lon);
    if (dl > 180) dl = 360 - dl;
    const double dx = dl * std::max(cl, std::cos(places_[i].pos.lat * kDeg)), dy = places_[i].pos.lat - q.lat;
    approx.emplace_back(std::sqrt(dx * dx + dy * dy), i);
  }
  if (approx.empty()) return std::nullopt;
  std::sort(approx.begin(), approx.end());
  const auto& g = GeographicLib::Geodesic::WGS84();
  Description best;
  best.distance_m = std::numeric_limits<double>::infinity();
  const double limit = approx.front().first * 1.05 + 0.01;
  for (const auto& [a, i] : approx) {
    if (a > limit) break;
    double s12, azi1, azi2;
    const auto& p = places_[i];
    g.Inverse(p.pos.lat, p.pos.lon, q.lat, q.lon, s12, azi1, azi2);
    if (s12 < best.distance_m) {
      best.distance_m = s12;
      best.azimuth_deg = azi1 < 0 ? azi1 + 360 : azi1;
      best.place = &p;
    }
  }
  if (best.distance_m < 100)
    best.text = "at " + best.place->name;
  else
    best.text = format_distance(best.distance_m) + " " + std::string(compass16(best.azimuth_deg)) + " of " +
                best.place->name;
  return best;
}

std::vector<std::string> Gazetteer::credits() const {
  std::vector<std::string> out;
  for (const auto& p : places_)
    if (!p.credit.empty() && std::find(out.begin(), out.end(), p.credit) == out.end())
      out.push_back(p.credit);
  return out;
}

}  // namespace truce::geo
