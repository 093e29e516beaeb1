// Observations and observers as rows: the columns of a CSV header (or the keys of an NDJSON
// object), mapped by name, and the parse of one row into a value with a precise error.
#pragma once

#include <array>
#include <functional>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "truce/core/validate.h"
#include "truce/io/record_reader.h"

namespace truce::io {

// A schema: column names, which are required. Columns are found by name; their order is free.
struct Schema {
  std::string_view what;  // "observation" / "observer"
  std::vector<std::string_view> columns;
  std::vector<std::string_view> required;
};
const Schema& observation_schema();
const Schema& observer_schema();

// Where each schema column sits in a file's rows (-1 = absent), and the columns truce ignores.
struct ColumnMap {
  std::vector<int> index;            // parallel to Schema::columns
  std::vector<std::string> ignored;  // extra columns, in file order
  std::size_t width = 0;             // fields per row in the file
};
// Fails naming the first missing required column, or a duplicated column.
Result<ColumnMap> map_header(const Schema& schema, const std::vector<std::string_view>& header,
                             const std::string& source);

// Views of one row's values in schema order ("" for absent columns).
using Row = std::vector<std::string_view>;
// Picks a CSV record's values into schema order; a row with the wrong number of fields fails.
std::optional<FieldError> pick(const ColumnMap& map, const Record& rec, Row& out);
// Turns one NDJSON line into schema order. Strings are unescaped into `storage`, which must
// outlive the row. Unknown keys are added to `ignored` (once each).
std::optional<FieldError> pick_json(const Schema& schema, std::string_view line, int max_depth, Row& out,
                                    std::vector<std::string>& storage, std::vector<std::string>& ignored);

// The texts of a JSON array's elements, as they were received (whitespace around them trimmed):
// the evidence kept for a rejected element. For a text that a JSON parser accepted as an array;
// anything else gives an empty result.
std::vector<std::string_view> json_array_elements(std::string_view text);

// Appends `s` as a JSON string literal (quotes, escapes; invalid UTF-8 replaced by U+FFFD).
void append_json_string(std::string& out, std::string_view s);

// An API batch (a JSON array of observation objects) read with simdjson, several times faster
// than a JSON tree. False when `text` is not a JSON array simdjson reads: the caller then parses
// it the general way (which names the error). Otherwise `count` is the array's length and, when it
// is at most `max_elements`, fn(i, general, error, row) is called for each element in order, with
// `row` (and its strings in `storage`) exactly as pick_json_value would give them; `general` is
// true for an element this reader leaves to pick_json_value: anything but an object of distinct
// keys with string, number or null values (or a zero, whose sign a tree and simdjson keep apart).
bool pick_json_array(
    const Schema& schema, std::string_view text, std::size_t max_elements, std::size_t& count, Row& row,
    std::vector<std::string>& storage,
    const std::function<void(std::size_t i, bool general, const std::optional<FieldError>& error)>& fn);

// The same for a JSON value already parsed (an element of an API request body).
std::optional<FieldError> pick_json_value(const Schema& schema, const nlohmann::json& j, Row& out,
                                          std::vector<std::string>& storage,
                                          std::vector<std::string>& ignored);

// Parses a row (schema order) into a value; syntax and range checks, but not registration.
std::optional<FieldError> parse_observation(const Row& row, Instant now, Observation& out);
std::optional<FieldError> parse_observer(const Row& row, Observer& out);

}  // namespace truce::io
