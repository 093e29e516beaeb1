#include "truce/core/validate.h"

#include <cmath>
#include <cstdio>

namespace truce {

namespace {
std::string num(double v) {
  char b[40];
  std::snprintf(b, sizeof b, "%.10g", v);
  return b;
}
std::optional<FieldError> check_id(const char* field, const std::string& id) {
  if (id.empty()) return FieldError{field, "", "required; expected a non-empty id"};
  if (id.size() > kMaxIdBytes) {
    return FieldError{field, id.substr(0, 40) + "...", "expected at most " + std::to_string(kMaxIdBytes) + " bytes"};
  }
  for (unsigned char c : id) {
    if (c < 0x20 || c == 0x7f) return FieldError{field, id, "expected no control characters"};
  }
  return std::nullopt;
}
std::optional<FieldError> check_position(const char* lat_field, const char* lon_field, const LatLon& p) {
  if (!(p.lat >= -90 && p.lat <= 90)) return FieldError{lat_field, num(p.lat), "expected a latitude in [-90, 90]"};
  if (!(p.lon >= -180 && p.lon <= 180)) return FieldError{lon_field, num(p.lon), "expected a longitude in [-180, 180]"};
  return std::nullopt;
}
}  // namespace

std::optional<FieldError> validate(const Observation& o, Instant now) {
  if (auto e = check_id("observation_id", o.id)) return e;
  if (o.time.ms > now.ms + kMaxFutureMs) {
    return FieldError{"time", format_instant(o.time),
                      "expected a time no more than 10 minutes in the future (now is " + format_instant(now) + ")"};
  }
  if (auto e = check_id("observer_id", o.observer_id)) return e;
  if (o.observer_pos) {
    if (auto e = check_position("observer_lat", "observer_lon", *o.observer_pos)) return e;
  }
  if (o.bearing_deg && !(*o.bearing_deg >= 0 && *o.bearing_deg < 360)) {
    return FieldError{"bearing_deg", num(*o.bearing_deg), "expected a bearing in [0, 360) degrees (360 is accepted as north and stored as 0)"};
  }
  if (o.bearing_sigma_deg && !(*o.bearing_sigma_deg > 0 && *o.bearing_sigma_deg <= 180)) {
    return FieldError{"bearing_sigma_deg", num(*o.bearing_sigma_deg), "expected a number > 0 and <= 180"};
  }
  if (o.distance_m && !(*o.distance_m > 0 && *o.distance_m <= 1e6)) {
    return FieldError{"distance_m", num(*o.distance_m), "expected a distance > 0 and <= 1000000 metres"};
  }
  if (o.distance_sigma_m && !(*o.distance_sigma_m > 0 && *o.distance_sigma_m <= 1e6)) {
    return FieldError{"distance_sigma_m", num(*o.distance_sigma_m), "expected a number > 0 and <= 1000000 metres"};
  }
  if (o.count < 1) return FieldError{"count", std::to_string(o.count), "expected a whole number >= 1"};
  if (o.notes.size() > kMaxNotesBytes) {
    return FieldError{"notes", o.notes.substr(0, 40) + "...", "expected at most " + std::to_string(kMaxNotesBytes) + " bytes"};
  }
  return std::nullopt;
}

std::optional<FieldError> validate(const Observer& o) {
  if (auto e = check_id("observer_id", o.id)) return e;
  if (o.position) {
    if (auto e = check_position("lat", "lon", *o.position)) return e;
  }
  if (o.party.size() > 32) return FieldError{"party", o.party.substr(0, 40), "expected a party code of at most 32 bytes"};
  return std::nullopt;
}

}  // namespace truce
