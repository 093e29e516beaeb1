// Any bytes as an API batch of observations, read with simdjson and with the JSON tree (the
// oracle): whatever simdjson takes, the tree must read too, with the same row and error for every
// element simdjson does not leave to it, and the same element texts for the quarantine.
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "truce/core/json_depth.h"
#include "truce/io/tabular.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  if (truce::json_depth(text) > 16) return 0;  // refused before either reader, as by the server
  const auto& schema = truce::io::observation_schema();
  truce::io::Row row;
  std::vector<std::string> storage;
  std::size_t count = 0;
  nlohmann::json tree;
  bool tree_read = false;
  const bool read = truce::io::pick_json_array(
      schema, text, 10000, count, row, storage,
      [&](std::size_t i, bool general, const std::optional<truce::FieldError>& e) {
        if (!tree_read) {
          tree = nlohmann::json::parse(text, nullptr, false);
          tree_read = true;
          if (!tree.is_array() || tree.size() != count) std::abort();  // simdjson read what the tree cannot
          if (truce::io::json_array_elements(text).size() != count) std::abort();
        }
        if (general) return;
        truce::io::Row want;
        std::vector<std::string> want_storage, ignored;
        const auto want_e = truce::io::pick_json_value(schema, tree[i], want, want_storage, ignored);
        if (e.has_value() != want_e.has_value()) std::abort();
        if (e && (e->field != want_e->field || e->reason != want_e->reason)) std::abort();
        if (!e && row != want) std::abort();
      });
  (void)read;
  return 0;
}
