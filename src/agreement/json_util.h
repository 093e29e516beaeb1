// Helpers for reading checked JSON documents: every error names the key path and what was expected.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "truce/core/status.h"

namespace truce::agreement::detail {

using Json = nlohmann::json;

// Parses text with a nesting bound; errors carry the parser's position.
Result<Json> parse_json(std::string_view text, std::string_view source, int max_depth);

// Errors "source: field 'key': message".
Status key_error(std::string_view source, const std::string& key, const std::string& message);

// Short rendering of a value for error messages (at most 60 characters).
std::string show(const Json& v);

// An object's keys must be among `allowed` (catches typos such as "notice_period").
Status only_keys(const Json& obj, const std::vector<std::string_view>& allowed, std::string_view source,
                 const std::string& path);

// Reads obj[key] as a string. Required: absent is an error; optional: absent gives "".
Result<std::string> get_string(const Json& obj, std::string_view key, std::string_view source,
                               const std::string& path, bool required);

std::string join(const std::string& path, std::string_view key);
std::string index(const std::string& path, std::size_t i);

}  // namespace truce::agreement::detail

#include "truce/agreement/rules.h"

namespace truce::agreement::detail {
// Reads an instant: ISO 8601 with a zone, or a date "YYYY-MM-DD" read as 00:00 at `local_offset_min`
// (the agreement's local time) when that is given.
Result<Instant> get_instant(const Json& v, std::string_view source, const std::string& key,
                            std::optional<std::int32_t> local_offset_min);
// The "rules" array of an agreement or rules file.
Result<std::vector<Rule>> parse_rules(const Json& arr, std::string_view source, const std::string& path);
}  // namespace truce::agreement::detail
