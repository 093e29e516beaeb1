// UTC instants. truce stores and compares times as milliseconds since 1970-01-01T00:00:00Z.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include "truce/core/status.h"

namespace truce {

struct Instant {
  std::int64_t ms = 0;  // milliseconds since the Unix epoch, UTC
  auto operator<=>(const Instant&) const = default;
};

// The earliest year parse_instant accepts (a year such as 0001 is a typing error, not a report).
inline constexpr int kEarliestYear = 1900;

// Parses ISO 8601 "YYYY-MM-DDTHH:MM[:SS[.fff]]" followed by "Z" or an offset "+HH:MM", "+HHMM",
// "+HH" ('T' may be a space). A time without a zone is an error: truce never guesses a zone.
// A leap second (:60) is refused (truce's timeline is UTC without leap seconds), as is a year
// before kEarliestYear. Error messages say what was expected; the caller adds the location.
Result<Instant> parse_instant(std::string_view text);

// "2023-09-01T21:38:41Z"; milliseconds are written only when non-zero ("...41.250Z").
std::string format_instant(Instant t);

// Days since 1970-01-01 for a proleptic Gregorian date, and back.
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d);
void civil_from_days(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d);

inline constexpr std::int64_t kDayMs = 86'400'000;

// a / b rounded toward negative infinity (b != 0): the day of a negative instant is the one before.
constexpr std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

// The calendar date and time of day of `t` at a UTC offset of `offset_min` minutes.
struct CivilTime {
  std::int64_t year = 1970;
  unsigned month = 1, day = 1;  // 1-12, 1-31
  int hour = 0, minute = 0, second = 0, millisecond = 0;
  std::int64_t day_number = 0;  // days since 1970-01-01 (local)
};
CivilTime civil_time(Instant t, std::int32_t offset_min = 0);

// "2023-09-01" for a day number (days since 1970-01-01).
std::string format_day(std::int64_t day);
// "+03:00", "-05:30", "+00:00".
std::string format_utc_offset(std::int32_t minutes);
// "2025-11-10T00:00:00+03:00": `t` as local time at that offset, to the second.
std::string format_local(Instant t, std::int32_t utc_offset_min);
// "21:38" (UTC).
std::string format_hhmm(Instant t);

// The source of "now". Injected so tests can fix time (e.g. the "no more than 10 minutes in the
// future" rule) without sleeping. Implementations must be thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual Instant now() const = 0;
};
class SystemClock final : public Clock {
 public:
  Instant now() const override;
};
class FixedClock final : public Clock {
 public:
  explicit FixedClock(Instant t) : ms_(t.ms) {}
  Instant now() const override { return Instant{ms_.load(std::memory_order_relaxed)}; }
  // Moves the clock (thread-safe: a server may be reading it).
  void set(Instant t) { ms_.store(t.ms, std::memory_order_relaxed); }
  void advance_ms(std::int64_t ms) { ms_.fetch_add(ms, std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> ms_;
};

}  // namespace truce
