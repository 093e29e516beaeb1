// Any bytes as one NDJSON line and as one CSV row of the observation schema.
#include <cstdint>
#include <string>

#include "truce/io/tabular.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const auto& schema = truce::io::observation_schema();
  truce::io::Row row;
  std::vector<std::string> storage, ignored;
  truce::Observation o;
  if (!truce::io::pick_json(schema, text, 16, row, storage, ignored)) {
    (void)truce::io::parse_observation(row, truce::Instant{1700000000000}, o);
  }
  // The same bytes split on commas as a CSV row.
  row.assign(schema.columns.size(), std::string_view());
  std::size_t b = 0;
  for (std::size_t c = 0; c < row.size() && b <= text.size(); ++c) {
    const std::size_t e = std::min(text.find(',', b), text.size());
    row[c] = std::string_view(text).substr(b, e - b);
    b = e + 1;
  }
  (void)truce::io::parse_observation(row, truce::Instant{1700000000000}, o);
  (void)truce::parse_instant(text);
  return 0;
}
