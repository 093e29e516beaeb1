// The rules every observation and observer must meet, whatever channel it came by.
#pragma once

#include <optional>
#include <string>

#include "truce/core/observation.h"

namespace truce {

// Which field is wrong, the offending value, and what was expected.
struct FieldError {
  std::string field;
  std::string value;
  std::string reason;
};

inline constexpr std::int64_t kMaxFutureMs = 10 * 60 * 1000;  // clocks drift; more than this is a typo
inline constexpr std::size_t kMaxIdBytes = 128;
inline constexpr std::size_t kMaxNotesBytes = 4096;

// Checks ranges and consistency. `now` bounds how far in the future a report may be.
// Observer registration (an unknown observer needs a position) is the caller's check.
std::optional<FieldError> validate(const Observation& o, Instant now);
std::optional<FieldError> validate(const Observer& o);

}  // namespace truce
