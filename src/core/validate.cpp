#include "truce/core/validate.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>

namespace truce {

namespace {
std::string num(double v) {
  char b[40];
  std::snprintf(b, sizeof b, "%.10g", v);
  return b;
}
std::optional<FieldError> check_id(const char* field, const std::string& id) {
  if (id.empty()) return FieldError{field, "", "required; expected a non-empty id"};
  if (auto e = check_utf8(field, id)) return e;
  if (id.size() > kMaxIdBytes) {
    return FieldError{field, utf8_prefix(id, 40) + "...",
                      "expected at most " + std::to_string(kMaxIdBytes) + " bytes"};
  }
  for (unsigned char c : id) {
    if (c < 0x20 || c == 0x7f) return FieldError{field, id, "expected no control characters"};
  }
  return std::nullopt;
}
std::optional<FieldError> check_position(const char* lat_field, const char* lon_field, const LatLon& p) {
  if (!(p.lat >= -90 && p.lat <= 90))
    return FieldError{lat_field, num(p.lat), "expected a latitude in [-90, 90]"};
  if (!(p.lon >= -180 && p.lon <= 180))
    return FieldError{lon_field, num(p.lon), "expected a longitude in [-180, 180]"};
  return std::nullopt;
}
}  // namespace

std::size_t invalid_utf8_at(std::string_view s) {
  const auto* const b = reinterpret_cast<const unsigned char*>(s.data());
  const auto* p = b;
  const auto* e = p + s.size();
  while (p < e) {
    // Fast path: 8 ASCII bytes at a time.
    if (e - p >= 8) {
      std::uint64_t w;
      std::memcpy(&w, p, 8);
      if ((w & 0x8080808080808080ULL) == 0) {
        p += 8;
        continue;
      }
    }
    const unsigned c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    int n;
    unsigned min;
    unsigned cp;
    if ((c & 0xE0) == 0xC0) {
      n = 1, min = 0x80, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2, min = 0x800, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3, min = 0x10000, cp = c & 0x07;
    } else {
      return static_cast<std::size_t>(p - b);
    }
    if (e - p <= n) return static_cast<std::size_t>(p - b);
    for (int i = 1; i <= n; ++i) {
      if ((p[i] & 0xC0) != 0x80) return static_cast<std::size_t>(p - b);
      cp = (cp << 6) | (p[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return static_cast<std::size_t>(p - b);
    p += n + 1;
  }
  return std::string_view::npos;
}

std::optional<FieldError> check_utf8(std::string_view field, std::string_view text) {
  const std::size_t at = invalid_utf8_at(text);
  if (at == std::string_view::npos) return std::nullopt;
  char hex[8];
  std::snprintf(hex, sizeof hex, "0x%02x", static_cast<unsigned>(static_cast<unsigned char>(text[at])));
  const std::string before =
      at > 40 ? "..." + utf8_prefix(text.substr(at - 40, 40), 40) : std::string(text.substr(0, at));
  return FieldError{
      std::string(field), before,
      "expected UTF-8 text; byte " + std::to_string(at) + " (" + hex + ") is not part of a UTF-8 character"};
}

std::string utf8_prefix(std::string_view s, std::size_t max_bytes) {
  // Invalid bytes, and the pieces of a character cut at either end, are dropped.
  s = s.substr(0, max_bytes);
  std::string out;
  for (;;) {
    const std::size_t bad = invalid_utf8_at(s);
    out.append(s.substr(0, bad));
    if (bad == std::string_view::npos) return out;
    s.remove_prefix(bad + 1);
  }
}

std::optional<FieldError> validate(const Observation& o, Instant now) {
  if (auto e = check_id("observation_id", o.id)) return e;
  if (o.time.ms > now.ms + kMaxFutureMs) {
    return FieldError{
        "time", format_instant(o.time),
        "expected a time no more than 10 minutes in the future (now is " + format_instant(now) + ")"};
  }
  if (auto e = check_id("observer_id", o.observer_id)) return e;
  if (o.observer_pos) {
    if (auto e = check_position("observer_lat", "observer_lon", *o.observer_pos)) return e;
  }
  if (o.bearing_deg && !(*o.bearing_deg >= 0 && *o.bearing_deg < 360)) {
    return FieldError{"bearing_deg", num(*o.bearing_deg),
                      "expected a bearing in [0, 360) degrees (360 is accepted as north and stored as 0)"};
  }
  if (o.bearing_sigma_deg && !(*o.bearing_sigma_deg > 0 && *o.bearing_sigma_deg <= 180)) {
    return FieldError{"bearing_sigma_deg", num(*o.bearing_sigma_deg), "expected a number > 0 and <= 180"};
  }
  if (o.distance_m && !(*o.distance_m > 0 && *o.distance_m <= 1e6)) {
    return FieldError{"distance_m", num(*o.distance_m), "expected a distance > 0 and <= 1000000 metres"};
  }
  if (o.distance_sigma_m && !(*o.distance_sigma_m > 0 && *o.distance_sigma_m <= 1e6)) {
    return FieldError{"distance_sigma_m", num(*o.distance_sigma_m),
                      "expected a number > 0 and <= 1000000 metres"};
  }
  if (o.count < 1) return FieldError{"count", std::to_string(o.count), "expected a whole number >= 1"};
  if (!o.supersedes.empty()) {
    if (auto e = check_id("supersedes", o.supersedes)) return e;
    if (o.supersedes == o.id)
      return FieldError{"supersedes", o.supersedes, "expected the id of another report, not its own"};
  }
  if (auto e = check_utf8("notes", o.notes)) return e;
  if (o.notes.size() > kMaxNotesBytes) {
    return FieldError{"notes", utf8_prefix(o.notes, 40) + "...",
                      "expected at most " + std::to_string(kMaxNotesBytes) + " bytes"};
  }
  return std::nullopt;
}

std::optional<FieldError> validate(const Observer& o) {
  if (auto e = check_id("observer_id", o.id)) return e;
  if (o.position) {
    if (auto e = check_position("lat", "lon", *o.position)) return e;
  }
  if (auto e = check_utf8("party", o.party)) return e;
  if (o.party.size() > 32)
    return FieldError{"party", utf8_prefix(o.party, 40), "expected a party code of at most 32 bytes"};
  return std::nullopt;
}

}  // namespace truce
