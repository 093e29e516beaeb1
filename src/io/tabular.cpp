#include "truce/io/tabular.h"

#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>

#include "truce/core/decimal.h"
#include "truce/core/json_depth.h"

namespace truce::io {

namespace {
enum ObsCol {
  kId,
  kTime,
  kObserver,
  kObsLat,
  kObsLon,
  kKind,
  kBearing,
  kBearingSigma,
  kDist,
  kDistSigma,
  kCount,
  kDirection,
  kNotes
};
enum ObserverCol { kOId, kOLat, kOLon, kOParty, kOType };
}  // namespace

const Schema& observation_schema() {
  static const Schema s{
      "observation",
      {"observation_id", "time", "observer_id", "observer_lat", "observer_lon", "kind", "bearing_deg",
       "bearing_sigma_deg", "distance_m", "distance_sigma_m", "count", "direction", "notes"},
      {"observation_id", "time", "observer_id", "kind"}};
  return s;
}
const Schema& observer_schema() {
  static const Schema s{"observer", {"observer_id", "lat", "lon", "party", "type"}, {"observer_id"}};
  return s;
}

Result<ColumnMap> map_header(const Schema& schema, const std::vector<std::string_view>& header,
                             const std::string& source) {
  ColumnMap m;
  m.index.assign(schema.columns.size(), -1);
  m.width = header.size();
  for (std::size_t i = 0; i < header.size(); ++i) {
    std::string_view h = header[i];
    while (!h.empty() && (h.front() == ' ' || h.front() == '\t')) h.remove_prefix(1);
    while (!h.empty() && (h.back() == ' ' || h.back() == '\t')) h.remove_suffix(1);
    bool known = false;
    for (std::size_t c = 0; c < schema.columns.size(); ++c) {
      if (schema.columns[c] == h) {
        if (m.index[c] >= 0) {
          return Status::Invalid("column '" + std::string(h) + "' appears twice in the header",
                                 Location{source, 1, std::string(h)});
        }
        m.index[c] = static_cast<int>(i);
        known = true;
      }
    }
    if (!known) m.ignored.emplace_back(h);
  }
  for (auto req : schema.required) {
    for (std::size_t c = 0; c < schema.columns.size(); ++c) {
      if (schema.columns[c] == req && m.index[c] < 0) {
        std::string expect;
        for (auto r : schema.required) expect += (expect.empty() ? "" : ",") + std::string(r);
        return Status::Invalid("missing required column '" + std::string(req) +
                                   "' in the header (the header needs at least: " + expect + ")",
                               Location{source, 1, std::string(req)});
      }
    }
  }
  return m;
}

std::optional<FieldError> pick(const ColumnMap& map, const Record& rec, Row& out) {
  if (rec.fields.size() != map.width) {
    return FieldError{"", "",
                      "expected " + std::to_string(map.width) + " fields as in the header, got " +
                          std::to_string(rec.fields.size()) + " (a ragged row, or an unquoted comma)"};
  }
  out.resize(map.index.size());
  for (std::size_t c = 0; c < map.index.size(); ++c) {
    out[c] = map.index[c] >= 0 ? rec.fields[static_cast<std::size_t>(map.index[c])] : std::string_view();
  }
  return std::nullopt;
}

namespace {
// Calls fn(i, c, depth) for each bracket and comma of a JSON text outside its strings, with the
// nesting depth before it; fn returns false to stop.
template <typename Fn>
void scan_structure(std::string_view s, std::size_t from, Fn fn) {
  int depth = 0;
  bool in_str = false;
  for (std::size_t i = from; i < s.size(); ++i) {
    const char c = s[i];
    if (in_str) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_str = false;
    } else if (c == '"') {
      in_str = true;
    } else if (c == '{' || c == '[' || c == '}' || c == ']' || c == ',') {
      if (!fn(i, c, depth)) return;
      if (c == '{' || c == '[')
        ++depth;
      else if (c != ',')
        --depth;
    }
  }
}
}  // namespace

std::vector<std::string_view> json_array_elements(std::string_view s) {
  std::vector<std::string_view> out;
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  std::size_t i = 0;
  while (i < s.size() && space(s[i])) ++i;
  if (i == s.size() || s[i] != '[') return out;
  std::size_t start = i + 1;
  bool closed = false;
  const auto add = [&](std::size_t end) {
    std::size_t a = start, b = end;
    while (a < b && space(s[a])) ++a;
    while (b > a && space(s[b - 1])) --b;
    if (a < b) out.push_back(s.substr(a, b - a));
  };
  scan_structure(s, i, [&](std::size_t at, char c, int depth) {
    if ((c == '}' || c == ']') && depth == 1) {  // the array's own closing bracket
      add(at);
      closed = true;
      return false;
    }
    if (c == ',' && depth == 1) {
      add(at);
      start = at + 1;
    }
    return true;
  });
  if (!closed) return {};  // not a complete array
  return out;
}

void append_json_string(std::string& out, std::string_view s) {
  bool plain = true;
  for (const unsigned char c : s) {
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
      plain = false;
      break;
    }
  }
  if (!plain) {
    out += nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return;
  }
  out += '"';
  out += s;
  out += '"';
}

std::optional<FieldError> pick_json(const Schema& schema, std::string_view line, int max_depth, Row& out,
                                    std::vector<std::string>& storage, std::vector<std::string>& ignored) {
  if (json_depth(line) > max_depth) {
    return FieldError{"", "", "JSON nested deeper than " + std::to_string(max_depth) + " levels"};
  }
  auto j = nlohmann::json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return FieldError{"", utf8_prefix(line, 60), "expected one JSON object per line"};
  return pick_json_value(schema, j, out, storage, ignored);
}

std::optional<FieldError> pick_json_value(const Schema& schema, const nlohmann::json& j, Row& out,
                                          std::vector<std::string>& storage,
                                          std::vector<std::string>& ignored) {
  if (!j.is_object()) {
    return FieldError{"", utf8_prefix(j.dump(), 60),
                      "expected a JSON object, got " + std::string(j.type_name())};
  }
  storage.assign(schema.columns.size(), std::string());
  out.assign(schema.columns.size(), std::string_view());
  for (auto it = j.begin(); it != j.end(); ++it) {
    std::size_t c = 0;
    while (c < schema.columns.size() && schema.columns[c] != it.key()) ++c;
    if (c == schema.columns.size()) {
      if (std::find(ignored.begin(), ignored.end(), it.key()) == ignored.end() && ignored.size() < 64) {
        ignored.push_back(it.key());
      }
      continue;
    }
    const auto& v = it.value();
    if (v.is_string()) {
      storage[c] = v.get<std::string>();
    } else if (v.is_number()) {
      storage[c] = v.dump();
    } else if (!v.is_null()) {
      return FieldError{it.key(), utf8_prefix(v.dump(), 60),
                        "expected a string or a number, got " + std::string(v.type_name())};
    }
  }
  for (std::size_t c = 0; c < schema.columns.size(); ++c) out[c] = storage[c];
  for (auto req : schema.required) {
    std::size_t c = 0;
    while (schema.columns[c] != req) ++c;
    if (!j.contains(std::string(req))) return FieldError{std::string(req), "", "required key is missing"};
  }
  return std::nullopt;
}

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::optional<FieldError> parse_double(std::string_view field, std::string_view text,
                                       std::optional<double>& out) {
  text = trim(text);
  if (text.empty()) {
    out.reset();
    return std::nullopt;
  }
  double v = 0;
  const char* b = text.data();
  if (*b == '+') ++b;
  auto r = from_chars_double(b, text.data() + text.size(), v);
  if (r.ec != std::errc() || r.ptr != text.data() + text.size() || !std::isfinite(v)) {
    return FieldError{std::string(field), utf8_prefix(text, 60), "expected a number"};
  }
  out = v == 0 ? 0.0 : v;  // -0 is stored and shown as 0
  return std::nullopt;
}

std::optional<FieldError> parse_position(std::string_view lat_f, std::string_view lon_f, std::string_view lat,
                                         std::string_view lon, std::optional<LatLon>& out) {
  std::optional<double> la, lo;
  if (auto e = parse_double(lat_f, lat, la)) return e;
  if (auto e = parse_double(lon_f, lon, lo)) return e;
  if (la.has_value() != lo.has_value()) {
    return FieldError{std::string(la ? lon_f : lat_f), "",
                      "expected both latitude and longitude, or neither"};
  }
  if (la)
    out = LatLon{*la, *lo};
  else
    out.reset();
  return std::nullopt;
}

// Every field of a row is text before it is anything else: one check, whatever the channel.
std::optional<FieldError> check_row_utf8(const Schema& schema, const Row& row) {
  for (std::size_t c = 0; c < row.size() && c < schema.columns.size(); ++c) {
    if (auto e = check_utf8(schema.columns[c], row[c])) return e;
  }
  return std::nullopt;
}

}  // namespace

std::optional<FieldError> parse_observation(const Row& row, Instant now, Observation& o) {
  if (auto e = check_row_utf8(observation_schema(), row)) return e;
  o.id.assign(trim(row[kId]));
  if (o.id.empty()) return FieldError{"observation_id", "", "required; expected a non-empty id"};
  const std::string_view t = trim(row[kTime]);
  if (t.empty()) return FieldError{"time", "", "required; expected an ISO 8601 time with a zone"};
  auto inst = parse_instant(t);
  if (!inst.ok()) return FieldError{"time", utf8_prefix(t, 60), inst.status().message()};
  o.time = *inst;
  o.observer_id.assign(trim(row[kObserver]));
  if (auto e = parse_position("observer_lat", "observer_lon", row[kObsLat], row[kObsLon], o.observer_pos))
    return e;
  const std::string_view k = trim(row[kKind]);
  auto kind = kind_from_string(k);
  if (!kind) return FieldError{"kind", utf8_prefix(k, 60), "expected one of " + kind_list()};
  o.kind = *kind;
  if (auto e = parse_double("bearing_deg", row[kBearing], o.bearing_deg)) return e;
  if (o.bearing_deg && *o.bearing_deg == 360.0) o.bearing_deg = 0.0;  // compass notation: 360 is north
  if (auto e = parse_double("bearing_sigma_deg", row[kBearingSigma], o.bearing_sigma_deg)) return e;
  if (auto e = parse_double("distance_m", row[kDist], o.distance_m)) return e;
  if (auto e = parse_double("distance_sigma_m", row[kDistSigma], o.distance_sigma_m)) return e;
  const std::string_view c = trim(row[kCount]);
  if (c.empty()) {
    o.count = 1;
  } else {
    std::int32_t n = 0;
    auto r = std::from_chars(c.data(), c.data() + c.size(), n);
    if (r.ec != std::errc() || r.ptr != c.data() + c.size()) {
      return FieldError{"count", utf8_prefix(c, 60), "expected a whole number >= 1"};
    }
    o.count = n;
  }
  const std::string_view d = trim(row[kDirection]);
  auto dir = direction_from_string(d);
  if (!dir) return FieldError{"direction", utf8_prefix(d, 60), "expected incoming, outgoing or empty"};
  o.direction = *dir;
  o.notes.assign(row[kNotes]);
  return validate(o, now);
}

std::optional<FieldError> parse_observer(const Row& row, Observer& o) {
  if (auto e = check_row_utf8(observer_schema(), row)) return e;
  o.id.assign(trim(row[kOId]));
  if (auto e = parse_position("lat", "lon", row[kOLat], row[kOLon], o.position)) return e;
  o.party.assign(trim(row[kOParty]));
  const std::string_view t = trim(row[kOType]);
  if (t.empty()) {
    o.type = ObserverType::kPost;
  } else {
    auto ty = observer_type_from_string(t);
    if (!ty)
      return FieldError{"type", utf8_prefix(t, 60), "expected post, patrol, camera, acoustic, uav or other"};
    o.type = *ty;
  }
  return validate(o);
}

}  // namespace truce::io
