#include "truce/core/status.h"

#include <array>

namespace truce {

namespace {
constexpr std::array<std::string_view, kCodeCount> kCodeNames = {
    "ok", "invalid_argument", "not_found", "conflict", "corruption", "io_error", "unsupported", "internal",
};
static_assert(kCodeNames.size() == static_cast<std::size_t>(Code::kInternal) + 1,
              "every Code needs a name in kCodeNames");
}  // namespace

std::string_view code_name(Code c) {
  auto i = static_cast<std::size_t>(c);
  return i < kCodeNames.size() ? kCodeNames[i] : "unknown";
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  std::string out;
  if (!loc_.source.empty()) {
    out += loc_.source;
    if (loc_.line > 0) out += ":" + std::to_string(loc_.line);
    out += ": ";
  } else if (loc_.line > 0) {
    out += "line " + std::to_string(loc_.line) + ": ";
  }
  if (!loc_.field.empty()) out += "field '" + loc_.field + "': ";
  out += message_;
  return out;
}

}  // namespace truce
