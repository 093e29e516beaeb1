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

// Parses ISO 8601 "YYYY-MM-DDTHH:MM[:SS[.fff]]" followed by "Z" or an offset "+HH:MM", "+HHMM",
// "+HH" ('T' may be a space). A time without a zone is an error: truce never guesses a zone.
// Error messages say what was expected; the caller adds the location.
Result<Instant> parse_instant(std::string_view text);

// "2023-09-01T21:38:41Z"; milliseconds are written only when non-zero ("...41.250Z").
std::string format_instant(Instant t);

// Days since 1970-01-01 for a proleptic Gregorian date, and back.
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d);
void civil_from_days(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d);

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
