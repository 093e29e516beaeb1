// Any bytes as an agreement file, and as a rules document: an error or an agreement, never a crash.
#include <cstdint>
#include <string_view>

#include "truce/agreement/agreement.h"
#include "truce/agreement/rules.h"
#include "truce/agreement/term.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto a = truce::agreement::parse_agreement(text, "fuzz.json");
  if (a.ok()) {
    // Whatever parses must also answer the term engine at a few instants.
    for (std::int64_t ms : {0LL, 1604955600000LL, 1700000000000LL, 4102444800000LL})
      (void)truce::agreement::mandate_status(*a, truce::Instant{ms});
  }
  (void)truce::agreement::parse_rules_document(text, "fuzz-rules.json");
  return 0;
}
