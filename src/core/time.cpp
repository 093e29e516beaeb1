#include "truce/core/time.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>

namespace truce {

std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void civil_from_days(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y = static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2);
}

namespace {

bool digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    const char c = s[i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  return true;
}

unsigned days_in_month(int y, int m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

constexpr std::string_view kExpected =
    "expected an ISO 8601 time with a zone, e.g. 2023-09-01T21:38:41Z or 2023-09-02T01:38:41+04:00";

}  // namespace

Result<Instant> parse_instant(std::string_view s) {
  int y, mo, d, h, mi, sec = 0;
  if (s.size() < 16 || !digits(s, 0, 4, y) || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' ||
      !digits(s, 8, 2, d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !digits(s, 11, 2, h) ||
      s[13] != ':' || !digits(s, 14, 2, mi)) {
    return Status::Invalid(std::string(kExpected));
  }
  std::size_t p = 16;
  int frac_ms = 0;
  if (p < s.size() && s[p] == ':') {
    if (!digits(s, p + 1, 2, sec)) return Status::Invalid(std::string(kExpected));
    p += 3;
    if (p < s.size() && (s[p] == '.' || s[p] == ',')) {
      ++p;
      const std::size_t start = p;
      int scale = 100;
      while (p < s.size() && s[p] >= '0' && s[p] <= '9') {
        frac_ms += (s[p] - '0') * scale;
        scale /= 10;
        ++p;
      }
      if (p == start || p - start > 9) return Status::Invalid(std::string(kExpected));
    }
  }
  if (mo < 1 || mo > 12 || d < 1 || static_cast<unsigned>(d) > days_in_month(y, mo) || h > 23 || mi > 59 ||
      sec > 60) {
    return Status::Invalid("date or time out of range: " + std::string(kExpected));
  }
  // truce's timeline is UTC without leap seconds (as POSIX time): a leap second has no instant of
  // its own, and moving it to :59 would change what was reported without a word.
  if (sec == 60) {
    return Status::Invalid(
        "a leap second (:60) has no time of its own in truce (UTC without leap "
        "seconds): give :59, or the next minute's :00");
  }
  if (y < kEarliestYear) {
    return Status::Invalid("the year " + std::to_string(y) + " is before " + std::to_string(kEarliestYear) +
                           ", the earliest truce accepts");
  }
  int offset_min = 0;
  if (p == s.size()) {
    return Status::Invalid("time has no zone (add Z for UTC or an offset like +04:00)");
  }
  if (s[p] == 'Z' || s[p] == 'z') {
    ++p;
  } else if (s[p] == '+' || s[p] == '-') {
    const int sign = s[p] == '-' ? -1 : 1;
    int oh, om = 0;
    if (!digits(s, p + 1, 2, oh)) return Status::Invalid(std::string(kExpected));
    p += 3;
    if (p < s.size() && s[p] == ':') ++p;
    if (p < s.size()) {
      if (!digits(s, p, 2, om)) return Status::Invalid(std::string(kExpected));
      p += 2;
    }
    if (oh > 18 || om > 59) return Status::Invalid("zone offset out of range: " + std::string(kExpected));
    offset_min = sign * (oh * 60 + om);
  } else {
    return Status::Invalid(std::string(kExpected));
  }
  if (p != s.size()) return Status::Invalid("unexpected text after the time zone: " + std::string(kExpected));
  const std::int64_t days = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  const std::int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - offset_min * 60;
  return Instant{secs * 1000 + frac_ms};
}

CivilTime civil_time(Instant t, std::int32_t offset_min) {
  const std::int64_t local = t.ms + std::int64_t{offset_min} * 60'000;
  CivilTime c;
  c.day_number = floor_div(local, kDayMs);
  const std::int64_t tod = local - c.day_number * kDayMs;  // [0, kDayMs)
  civil_from_days(c.day_number, c.year, c.month, c.day);
  c.hour = static_cast<int>(tod / 3'600'000);
  c.minute = static_cast<int>(tod / 60'000 % 60);
  c.second = static_cast<int>(tod / 1000 % 60);
  c.millisecond = static_cast<int>(tod % 1000);
  return c;
}

std::string format_instant(Instant t) {
  const CivilTime c = civil_time(t);
  char buf[48];
  if (c.millisecond == 0) {
    std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02d:%02d:%02dZ", static_cast<long long>(c.year),
                  c.month, c.day, c.hour, c.minute, c.second);
  } else {
    std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<long long>(c.year),
                  c.month, c.day, c.hour, c.minute, c.second, c.millisecond);
  }
  return buf;
}

std::string format_day(std::int64_t day) {
  std::int64_t y;
  unsigned m, d;
  civil_from_days(day, y, m, d);
  char b[32];
  std::snprintf(b, sizeof b, "%04lld-%02u-%02u", static_cast<long long>(y), m, d);
  return b;
}

std::string format_utc_offset(std::int32_t minutes) {
  const int a = std::abs(minutes);
  char b[16];
  std::snprintf(b, sizeof b, "%c%02d:%02d", minutes < 0 ? '-' : '+', a / 60, a % 60);
  return b;
}

std::string format_local(Instant t, std::int32_t utc_offset_min) {
  const CivilTime c = civil_time(t, utc_offset_min);
  char b[64];
  std::snprintf(b, sizeof b, "%04lld-%02u-%02uT%02d:%02d:%02d", static_cast<long long>(c.year), c.month,
                c.day, c.hour, c.minute, c.second);
  return std::string(b) + format_utc_offset(utc_offset_min);
}

std::string format_hhmm(Instant t) {
  const CivilTime c = civil_time(t);
  char b[16];
  std::snprintf(b, sizeof b, "%02d:%02d", c.hour, c.minute);
  return b;
}

Instant SystemClock::now() const {
  using namespace std::chrono;
  return Instant{duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count()};
}

}  // namespace truce
