// Any bytes as an OpenRosa submission (the xml_submission_file part), then parsed as the row it gives.
#include <cstdint>
#include <string>

#include "truce/io/openrosa.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view xml(reinterpret_cast<const char*>(data), size);
  truce::io::Row row;
  std::vector<std::string> storage;
  truce::io::XformMeta meta;
  truce::Observation o;
  if (!truce::io::parse_xform_submission(xml, row, storage, meta)) {
    if (!truce::io::parse_observation(row, truce::Instant{1700000000000}, o))
      o.supersedes = meta.deprecated_id;
    (void)truce::validate(o, truce::Instant{1700000000000});
    (void)truce::canonical_content(o);
  }
  return 0;
}
