// The rules every observation and observer must meet, whatever channel it came by.
#pragma once

#include <optional>
#include <string>
#include <string_view>

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

// The offset of the first byte of s that is not part of a UTF-8 character (overlongs, surrogates
// and code points above U+10FFFF are not), or npos when s is valid UTF-8.
std::size_t invalid_utf8_at(std::string_view s);
inline bool valid_utf8(std::string_view s) { return invalid_utf8_at(s) == std::string_view::npos; }
// The one check of text every channel (files, the JSON API, OpenRosa) goes through: fails with
// "expected UTF-8 text", the offset and value of the bad byte, and the valid text before it.
std::optional<FieldError> check_utf8(std::string_view field, std::string_view text);
// At most max_bytes of s, cut at a character boundary: for error values that quote the input.
std::string utf8_prefix(std::string_view s, std::size_t max_bytes);

// Checks ranges, consistency and that text is UTF-8. `now` bounds how far in the future a report may be.
// Observer registration (an unknown observer needs a position) is the caller's check.
std::optional<FieldError> validate(const Observation& o, Instant now);
std::optional<FieldError> validate(const Observer& o);

}  // namespace truce
