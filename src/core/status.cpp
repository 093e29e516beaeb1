#include "truce/core/status.h"

namespace truce {

namespace {
// One case per Code: -Wswitch (an error in developer builds) names a code added without a name.
constexpr std::string_view name_of(Code c) {
  switch (c) {
    case Code::kOk:
      return "ok";
    case Code::kInvalidArgument:
      return "invalid_argument";
    case Code::kNotFound:
      return "not_found";
    case Code::kConflict:
      return "conflict";
    case Code::kCorruption:
      return "corruption";
    case Code::kIOError:
      return "io_error";
    case Code::kUnsupported:
      return "unsupported";
    case Code::kInternal:
      return "internal";
  }
  return {};
}
// Every code below kCodeCount has its own non-empty name, and none past it is a code.
constexpr bool every_code_named() {
  for (int i = 0; i < kCodeCount; ++i) {
    const std::string_view n = name_of(static_cast<Code>(i));
    if (n.empty()) return false;
    for (int j = 0; j < i; ++j) {
      if (name_of(static_cast<Code>(j)) == n) return false;
    }
  }
  return name_of(static_cast<Code>(kCodeCount)).empty();
}
static_assert(every_code_named(),
              "every Code below kCodeCount needs its own name in name_of, and kCodeCount must count them");
}  // namespace

std::string_view code_name(Code c) {
  const std::string_view n = name_of(c);
  return n.empty() ? "unknown" : n;
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
