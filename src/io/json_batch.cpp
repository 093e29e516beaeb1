// The API's batches of observations, read with simdjson: the same rows as pick_json_value gives
// from a JSON tree (tests/io compare the two), at a fraction of the cost.
#include <simdjson.h>

#include <nlohmann/json.hpp>

#include "truce/io/tabular.h"

namespace truce::io {

bool pick_json_array(const Schema& schema, std::string_view text, std::size_t max_elements,
                     std::size_t& count, Row& row, std::vector<std::string>& storage,
                     const std::function<void(std::size_t, bool, const std::optional<FieldError>&)>& fn) {
  thread_local simdjson::dom::parser parser;
  // Each handler thread keeps its parser's buffers for the next batch, up to 4 MiB: one large body
  // (up to --max-body) does not leave its buffers in every thread that read one.
  struct Trim {
    ~Trim() {
      if (parser.capacity() > (std::size_t{4} << 20)) parser = simdjson::dom::parser();
    }
  } trim;
  simdjson::dom::element doc;
  if (parser.parse(text.data(), text.size(), /*realloc_if_needed=*/true).get(doc) != simdjson::SUCCESS)
    return false;
  simdjson::dom::array items;
  if (doc.get_array().get(items) != simdjson::SUCCESS) return false;
  count = items.size();
  if (count > max_elements) return true;
  std::vector<bool> present(schema.columns.size());
  std::size_t i = 0;
  for (simdjson::dom::element item : items) {
    const std::size_t at = i++;
    simdjson::dom::object obj;
    if (item.get_object().get(obj) != simdjson::SUCCESS) {
      fn(at, true, std::nullopt);
      continue;
    }
    storage.assign(schema.columns.size(), std::string());
    row.assign(schema.columns.size(), std::string_view());
    present.assign(schema.columns.size(), false);
    bool general = false;
    for (auto field : obj) {
      std::size_t c = 0;
      while (c < schema.columns.size() && schema.columns[c] != field.key) ++c;
      if (c == schema.columns.size()) continue;  // ignored (the API reports no ignored keys)
      if (present[c]) {
        general = true;  // a repeated key: the tree keeps the last one
        break;
      }
      present[c] = true;
      const simdjson::dom::element v = field.value;
      switch (v.type()) {
        case simdjson::dom::element_type::STRING:
          storage[c] = std::string(std::string_view(v));
          break;
        case simdjson::dom::element_type::INT64:
          storage[c] = std::to_string(std::int64_t(v));
          break;
        case simdjson::dom::element_type::UINT64:
          storage[c] = std::to_string(std::uint64_t(v));
          break;
        case simdjson::dom::element_type::DOUBLE: {
          const double d = double(v);
          if (d == 0) {
            general = true;
            break;
          }
          storage[c] = nlohmann::json(d).dump();  // the tree's spelling of a double
          break;
        }
        case simdjson::dom::element_type::NULL_VALUE:
          break;
        default:
          general = true;  // the tree's reader names the type in its error
      }
      if (general) break;
    }
    if (general) {
      fn(at, true, std::nullopt);
      continue;
    }
    for (std::size_t c = 0; c < schema.columns.size(); ++c) row[c] = storage[c];
    std::optional<FieldError> err;
    for (auto req : schema.required) {
      std::size_t c = 0;
      while (schema.columns[c] != req) ++c;
      if (!present[c]) {
        err = FieldError{std::string(req), "", "required key is missing"};
        break;
      }
    }
    fn(at, false, err);
  }
  return true;
}

}  // namespace truce::io
